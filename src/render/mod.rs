//! From a checked profile to exactly what llama-server will be given: one canonical argv (no
//! duplicate flags, paths resolved), and the formats other tools need (a start.sh line, the
//! docker `.env` flow of the corpus, JSON, llama-server's router preset INI, a llama-swap
//! config.yaml).

mod env;
mod llama_swap;
mod llama_swap_check;
mod llama_swap_matrix;
mod llama_swap_matrix_check;
mod preset;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use env::{EnvError, to_env, to_env_for};
pub use llama_swap::{LlamaSwapError, SwapStyle, exclusive_groups, to_llama_swap};
pub use llama_swap_check::{SwapReport, check_llama_swap};
pub use llama_swap_matrix::{MAX_COMBINATIONS, expand as expand_matrix_set};
pub use preset::{PresetModel, models_max_comment, to_preset, to_router_preset};

use crate::project::ResolvedProfile;
use crate::resolve::{Effective, VllmLaunch};

/// A launch as data: the program and its arguments, plus environment variables to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub program: PathBuf,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// `argv` flag by flag, with where each came from.
    pub arguments: Vec<Argument>,
}

/// One flag of the argv and its values, with its origin: `default` (llama-server's or
/// profilec.toml's `[defaults]`/`[runtime]`), `key` (a profile key, named in `key`),
/// `extra_args`, or `strategy` (the solver's placement for STRATEGY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Argument {
    pub flag: String,
    pub values: Vec<String>,
    pub origin: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'static str>,
}

impl Rendered {
    /// One POSIX-shell line: every word quoted where the shell would change it, so splitting the
    /// line the way `sh` does gives back `program` and `argv` exactly. A word with a control
    /// character is refused: single quotes keep it from the shell but not from the terminal
    /// (an ESC would be interpreted on print), and `$'…'` is not POSIX sh.
    pub fn to_sh(&self) -> Result<String, ControlChar> {
        let program = self.program.to_string_lossy().into_owned();
        if let Some(e) = ControlChar::find(&program, None) {
            return Err(e);
        }
        let mut flag = None;
        for word in &self.argv {
            if let Some(e) = ControlChar::find(word, flag.as_deref()) {
                return Err(e);
            }
            flag = Some(word.clone()).filter(|w| w.starts_with('-'));
        }
        Ok(std::iter::once(program)
            .chain(self.argv.iter().cloned())
            .map(|w| shell_quote(&w))
            .collect::<Vec<_>>()
            .join(" "))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// The launch of resolved settings: `program` is what `[runtime] llama_server` names (found on
/// PATH at start time when it is a bare name).
pub fn render(program: &Path, eff: &Effective) -> Rendered {
    Rendered {
        program: program.to_path_buf(),
        argv: eff.argv(),
        env: BTreeMap::new(),
        arguments: eff
            .settings
            .iter()
            .map(|s| Argument {
                flag: s.flag().to_string(),
                values: s.values.clone(),
                origin: s.origin.kind(),
                key: s.origin.key(),
            })
            .collect(),
    }
}

/// A launch word that `render --format sh` will not print: it holds a control character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} contains the control character U+{code:04X}, which a shell line would carry raw to the terminal",
    match flag { Some(f) => format!("the value of `{f}` ({word:?})"), None => format!("the word {word:?}") }
)]
pub struct ControlChar {
    /// The word, with control characters escaped as Rust does (`\u{1b}`).
    pub word: String,
    /// The flag the word is a value of, when it follows one.
    pub flag: Option<String>,
    pub code: u32,
}

impl ControlChar {
    fn find(word: &str, flag: Option<&str>) -> Option<ControlChar> {
        // A tab is harmless in quotes and on a terminal; every other C0/C1 control is not.
        let c = word.chars().find(|&c| c.is_control() && c != '\t')?;
        Some(ControlChar {
            word: word.escape_debug().to_string(),
            flag: flag.map(str::to_string),
            code: u32::from(c),
        })
    }
}

impl crate::error::Failure for ControlChar {
    fn code(&self) -> &'static str {
        "render::control-char"
    }

    fn help(&self) -> String {
        "remove the control character from the profile (`profilec check` shows the line), or \
         render with `--format json`, which escapes it"
            .into()
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }
}

/// The launch of a resolved profile with the program `[runtime]` names for its runtime
/// (`llama_server`, or `vllm` for a vLLM profile: `vllm serve MODEL_DIR …`).
pub fn render_profile(runtime: &crate::hardware::Runtime, r: &ResolvedProfile) -> Rendered {
    match &r.vllm {
        Some(v) => render_vllm(r.program(runtime), &v.launch),
        None => render(r.program(runtime), &r.effective),
    }
}

/// `vllm serve MODEL_DIR ARGS…`; `arguments` lists the flags with their origins (the
/// subcommand and the model directory are positional, outside `arguments`).
pub fn render_vllm(program: &Path, launch: &VllmLaunch) -> Rendered {
    Rendered {
        program: program.to_path_buf(),
        argv: launch.argv(),
        env: BTreeMap::new(),
        arguments: launch
            .settings
            .iter()
            .map(|s| Argument {
                flag: s.flag.clone(),
                values: s.values.clone(),
                origin: s.origin.kind(),
                key: s.origin.key(),
            })
            .collect(),
    }
}

/// Quotes `word` for a POSIX shell only where the shell would change it (the inverse of
/// [`sh_split`] word by word).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Splits `line` the way a POSIX shell splits words (quotes and backslashes; no expansion),
/// the inverse of [`Rendered::to_sh`] for its output. `None` for an unterminated quote.
pub fn sh_split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => word.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            ch @ ('$' | '`' | '"' | '\\') => word.push(ch),
                            '\n' => {}
                            ch => {
                                word.push('\\');
                                word.push(ch);
                            }
                        },
                        ch => word.push(ch),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(ch) => word.push(ch),
                }
            }
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            ch => {
                in_word = true;
                word.push(ch);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}
