//! From a checked profile to exactly what llama-server will be given: one canonical argv (no
//! duplicate flags, paths resolved), and the formats other tools need (a start.sh line, the
//! docker `.env` flow of the corpus, JSON, llama-server's router preset INI, a llama-swap
//! config.yaml).

mod env;
mod llama_swap;
mod llama_swap_check;
mod preset;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use env::{EnvError, to_env};
pub use llama_swap::{LlamaSwapError, exclusive_groups, to_llama_swap};
pub use llama_swap_check::{SwapReport, check_llama_swap};
pub use preset::{models_max_comment, to_preset, to_router_preset};

use crate::config::Profile;
use crate::hardware::Hardware;
use crate::launch::shell_quote;
use crate::resolve::{Effective, Origin, resolve};

/// A launch as data: the program and its arguments, plus environment variables to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub program: PathBuf,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Rendered {
    /// One POSIX-shell line: every word quoted where the shell would change it, so splitting the
    /// line the way `sh` does gives back `program` and `argv` exactly.
    pub fn to_sh(&self) -> String {
        std::iter::once(self.program.to_string_lossy().into_owned())
            .chain(self.argv.iter().cloned())
            .map(|w| shell_quote(&w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// The effective options of a profile on this machine, with the server's address from
/// `[runtime]` made explicit (so `start` and the log agree on where it listens).
pub fn effective(profile: &Profile, hw: &Hardware) -> Effective {
    let mut eff = resolve(profile, &hw.defaults, &absolute(&hw.runtime.models_dir));
    if eff.get("--host").is_none() {
        eff.set_flag("--host", &[&hw.runtime.host], Origin::Defaults);
    }
    if eff.get("--port").is_none() {
        eff.set_flag("--port", &[&hw.runtime.port.to_string()], Origin::Defaults);
    }
    // b11434 prints its buffer sizes only at -lv 4; without them `start` cannot record what was
    // allocated (`log`, observed.jsonl). A profile's own verbosity wins.
    if eff.get("--log-verbosity").is_none() && eff.get("--log-verbose").is_none() {
        eff.set_flag("--log-verbosity", &["4"], Origin::Defaults);
    }
    eff
}

/// An absolute, `..`-free path, so the command works from any directory (the router preset is
/// read by a server started elsewhere). Lexical: symlinks are left as the user wrote them.
pub fn absolute(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The launch of a profile: `program` is what `[runtime] llama_server` names (found on PATH
/// at start time when it is a bare name).
pub fn render(profile: &Profile, hw: &Hardware) -> Rendered {
    Rendered {
        program: hw.runtime.llama_server.clone(),
        argv: effective(profile, hw).argv(),
        env: BTreeMap::new(),
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
