//! EXTRA_ARGS → typed llama-server arguments, with diagnostics whose spans are relative to
//! the value (the caller shifts them to the file with [`Diagnostic::shifted`]).

use std::ops::Range;

use super::active::{self, TableSource};
use super::ot_lint;
use super::suggest;
use super::table::{self, FlagSpec, TABLE, ValueKind};
use super::tokens::{Token, looks_like_flag, tokenize};
use super::values::{self, TypedValue};
use crate::diag::Diagnostic;

/// One value word and where it is in EXTRA_ARGS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueToken {
    pub text: String,
    pub span: Range<usize>,
}

/// One flag with its value(s).
#[derive(Debug, Clone)]
pub struct ParsedArg {
    pub spec: &'static FlagSpec,
    /// The spelling as written (`-ot`, `--ctx_size`).
    pub name: String,
    pub name_span: Range<usize>,
    /// Written as a negation (`--no-context-shift`, `-nkvo`).
    pub negated: bool,
    pub value: Option<ValueToken>,
    /// The second value of a two-value flag (`--control-vector-layer-range`).
    pub value2: Option<ValueToken>,
    /// The value as llama-server reads it; `None` for switches and for invalid values.
    pub typed: Option<TypedValue>,
}

impl ParsedArg {
    /// From the flag name to the end of its last value.
    pub fn span(&self) -> Range<usize> {
        let end = self
            .value2
            .as_ref()
            .or(self.value.as_ref())
            .map_or(self.name_span.end, |v| v.span.end);
        self.name_span.start..end
    }
}

/// Everything read from one EXTRA_ARGS value.
#[derive(Debug, Clone, Default)]
pub struct ParsedArgs {
    pub args: Vec<ParsedArg>,
    pub diagnostics: Vec<Diagnostic>,
}

// llama.cpp flags that llama-server b11434 does not accept, with what to do instead.
const NOT_FOR_SERVER: &[(&str, &str)] = &[
    (
        "--no-mmap",
        "mmap is set with `--load-mode` (`-lm none` loads without mmap)",
    ),
    ("--mmap", "mmap is set with `--load-mode` (`-lm mmap`)"),
    (
        "--mlock",
        "mlock is set with `--load-mode` (`-lm mlock` or `-lm mmap+mlock`)",
    ),
    (
        "-no-cnv",
        "conversation mode is a llama-cli option; llama-server always serves chat over HTTP",
    ),
    (
        "--no-conversation",
        "conversation mode is a llama-cli option; llama-server always serves chat over HTTP",
    ),
    (
        "-cnv",
        "conversation mode is a llama-cli option; llama-server always serves chat over HTTP",
    ),
    (
        "--conversation",
        "conversation mode is a llama-cli option; llama-server always serves chat over HTTP",
    ),
    ("-i", "interactive mode is a llama-cli option"),
    ("--interactive", "interactive mode is a llama-cli option"),
    (
        "-p",
        "prompts go in the HTTP request, not on the llama-server command line",
    ),
    (
        "--prompt",
        "prompts go in the HTTP request, not on the llama-server command line",
    ),
    (
        "-f",
        "prompts go in the HTTP request, not on the llama-server command line",
    ),
    (
        "--file",
        "prompts go in the HTTP request, not on the llama-server command line",
    ),
    (
        "-sys",
        "system prompts go in the HTTP request (or the chat template)",
    ),
    (
        "--system-prompt",
        "system prompts go in the HTTP request (or the chat template)",
    ),
    (
        "--image",
        "images go in the HTTP request; load the projector with `--mmproj`",
    ),
    ("-st", "single-turn mode is a llama-cli option"),
    ("--single-turn", "single-turn mode is a llama-cli option"),
    (
        "--prompt-cache",
        "llama-server caches prompts itself (`--cache-prompt`, `--cache-reuse`)",
    ),
];

/// Parses EXTRA_ARGS the way llama-server parses its argv.
pub fn parse_args(src: &str) -> ParsedArgs {
    let tokens = tokenize(src);
    let mut out = ParsedArgs::default();
    let mut i = 0;
    while let Some(tok) = tokens.get(i) {
        i += 1;
        if !looks_like_flag(tok.text) {
            let prev = out.args.last().filter(|a| a.span().end <= tok.span.start);
            out.diagnostics.push(stray(tok, prev));
            continue;
        }
        let (name, inline) = match tok.text.split_once('=') {
            Some((n, v)) if table::lookup(n).is_some() => (n, Some(v)),
            _ => (tok.text, None),
        };
        let Some(spec) = table::lookup(name) else {
            out.diagnostics.push(unknown(tok));
            // Its value, if any, would only repeat the problem as a stray value.
            if tokens.get(i).is_some_and(|t| !looks_like_flag(t.text)) {
                i += 1;
            }
            continue;
        };
        let name_span = tok.span.start..tok.span.start + name.len();
        let negated = spec.is_negation(name) || spec.is_negation(&name.replace('_', "-"));
        let mut arg = ParsedArg {
            spec,
            name: name.to_string(),
            name_span: name_span.clone(),
            negated,
            value: None,
            value2: None,
            typed: None,
        };
        if spec.removed {
            out.diagnostics.push(
                Diagnostic::error(
                    "args::removed-flag",
                    format!("`{name}` has been removed from llama-server"),
                )
                .at(name_span.clone())
                .label("llama-server refuses to start with this flag")
                .help(
                    spec.help
                        .trim_start_matches("the argument has been removed. ")
                        .to_string(),
                ),
            );
        } else if spec.deprecated {
            out.diagnostics.push(
                Diagnostic::warning("args::deprecated-flag", format!("`{name}` is deprecated"))
                    .at(name_span.clone())
                    .label("llama-server accepts it but ignores it")
                    .help(format!("remove `{name}`")),
            );
        }
        if let Some(v) = inline {
            out.diagnostics
                .push(equals_value(name, v, tok.span.clone(), spec));
            if spec.arity() == 1 {
                let vspan = name_span.end + 1..tok.span.end;
                set_value(&mut arg, v, vspan, &mut out.diagnostics);
            }
        } else {
            for n in 0..spec.arity() {
                match tokens.get(i).filter(|t| !looks_like_flag(t.text)) {
                    Some(v) => {
                        i += 1;
                        if n == 0 {
                            set_value(&mut arg, v.text, v.span.clone(), &mut out.diagnostics);
                        } else {
                            set_value2(&mut arg, v, &mut out.diagnostics);
                        }
                    }
                    None => {
                        out.diagnostics
                            .push(missing(spec, name, &name_span, tokens.get(i)));
                        break;
                    }
                }
            }
        }
        check_repeat(&out.args, &arg, &mut out.diagnostics);
        out.args.push(arg);
    }
    let rules = out.tensor_overrides();
    out.diagnostics.extend(ot_lint::lint_shadowing(&rules));
    // `check` keeps every profile's parse for the whole run: no growth slack (a two-flag line
    // would otherwise hold room for four, ~340 bytes per profile on a 50 MB file).
    out.args.shrink_to_fit();
    out
}

fn set_value(arg: &mut ParsedArg, text: &str, span: Range<usize>, diags: &mut Vec<Diagnostic>) {
    let checked = values::check(arg.spec, text, span.clone());
    diags.extend(checked.diagnostics);
    arg.typed = checked.value;
    arg.value = Some(ValueToken {
        text: text.to_string(),
        span,
    });
}

fn set_value2(arg: &mut ParsedArg, v: &Token<'_>, diags: &mut Vec<Diagnostic>) {
    let checked = values::check(arg.spec, v.text, v.span.clone());
    diags.extend(checked.diagnostics);
    arg.typed = match (arg.typed.take(), checked.value) {
        (Some(TypedValue::Int(a)), Some(TypedValue::Int(b))) => Some(TypedValue::IntPair(a, b)),
        _ => None,
    };
    arg.value2 = Some(ValueToken {
        text: v.text.to_string(),
        span: v.span.clone(),
    });
}

/// Every flag spelling of the active table, prepared once per table for "did you mean".
fn flag_words() -> std::sync::Arc<suggest::Dictionary> {
    type Cached = Option<(usize, std::sync::Arc<suggest::Dictionary>)>;
    static WORDS: std::sync::Mutex<Cached> = std::sync::Mutex::new(None);
    let table = active::table();
    let key = std::ptr::from_ref(table) as usize;
    let mut cached = WORDS.lock().unwrap_or_else(|e| e.into_inner());
    match &*cached {
        Some((k, words)) if *k == key => words.clone(),
        _ => {
            let words = std::sync::Arc::new(suggest::Dictionary::new(table.all_aliases()));
            *cached = Some((key, words.clone()));
            words
        }
    }
}

fn unknown(tok: &Token<'_>) -> Diagnostic {
    if let Some((_, why)) = NOT_FOR_SERVER.iter().find(|(n, _)| *n == tok.text) {
        return Diagnostic::error(
            "args::not-for-server",
            format!("`{}` is not a llama-server option", tok.text),
        )
        .at(tok.span.clone())
        .label("llama-server refuses to start: \"invalid argument\"")
        .help(format!("remove it: {why}"));
    }
    if let Some(d) = not_in_build(tok) {
        return d;
    }
    let d = Diagnostic::error("args::unknown-flag", format!("unknown flag `{}`", tok.text))
        .at(tok.span.clone())
        .label("llama-server refuses to start: \"invalid argument\"");
    match flag_words().closest(tok.text) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help("remove it; `llama-server --help` lists the flags this build accepts"),
    }
}

/// A b11434 flag the user's build does not have: it was removed or renamed since.
fn not_in_build(tok: &Token<'_>) -> Option<Diagnostic> {
    let Some(TableSource::Build { build, .. }) = active::source() else {
        return None;
    };
    let old = TABLE.lookup(tok.text)?;
    let d = Diagnostic::error(
        "args::not-in-build",
        format!(
            "`{}` is not an option of your {}",
            tok.text,
            build.describe()
        ),
    )
    .at(tok.span.clone())
    .label("llama-server refuses to start: \"invalid argument\"");
    // A renamed option has a spelling b11434 did not have; any other close spelling is an
    // unrelated option (`-nkvo` is two edits from `-kvu`, --kv-unified).
    let new_spellings: Vec<&str> = active::table()
        .all_aliases()
        .filter(|a| TABLE.lookup(a).is_none())
        .collect();
    let close = suggest::closest(tok.text, new_spellings.iter().copied())
        .or_else(|| suggest::closest(old.canonical, new_spellings.iter().copied()));
    let hint = close
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Some(d.help(format!(
        "{hint}b11434 had `{}`; this build removed or renamed it: remove it, or see \
         `profilec flags --diff` and `llama-server --help` for its replacement",
        old.canonical
    )))
}

fn equals_value(name: &str, v: &str, span: Range<usize>, spec: &FlagSpec) -> Diagnostic {
    let fix = if spec.arity() == 0 {
        name.to_string()
    } else {
        format!("{name} {v}")
    };
    Diagnostic::error(
        "args::equals-value",
        format!("llama-server does not accept `{name}=...`"),
    )
    .at(span)
    .label("read as one unknown argument: \"invalid argument\"")
    .help(format!(
        "write `{fix}` (flag and value separated by a space)"
    ))
}

fn missing(
    spec: &FlagSpec,
    name: &str,
    name_span: &Range<usize>,
    next: Option<&Token<'_>>,
) -> Diagnostic {
    let label = match next {
        Some(t) => format!("followed by the flag `{}`, not a value", t.text),
        None => "nothing follows it".to_string(),
    };
    let what = match &spec.kind {
        ValueKind::Enum(c) => c.join("|"),
        _ => spec.value_hint.to_string(),
    };
    Diagnostic::error("args::missing-value", format!("`{name}` needs a value"))
        .at(name_span.clone())
        .label(label)
        .help(format!("write `{name} {what}`"))
}

fn stray(tok: &Token<'_>, prev: Option<&ParsedArg>) -> Diagnostic {
    let d = Diagnostic::error(
        "args::stray-value",
        format!("`{}` does not belong to any flag", tok.text),
    )
    .at(tok.span.clone())
    .label("llama-server takes no positional arguments");
    match prev {
        Some(p) if p.spec.arity() == 0 && p.value.is_none() => {
            let neg = p
                .spec
                .negations
                .first()
                .map(|n| format!(", `{n}` to disable it"))
                .unwrap_or_default();
            d.help(format!(
                "`{}` is a switch and takes no value: write `{}` alone{neg}",
                p.name, p.name
            ))
        }
        _ if tok.text.contains('=') => d.help(format!(
            "if this is a tensor override, write `-ot {}`",
            tok.text
        )),
        _ => d.help("remove it, or put the flag it is meant for in front of it"),
    }
}

fn check_repeat(seen: &[ParsedArg], arg: &ParsedArg, diags: &mut Vec<Diagnostic>) {
    let Some(first) = seen.iter().find(|a| std::ptr::eq(a.spec, arg.spec)) else {
        return;
    };
    let name = arg.spec.canonical;
    if arg.spec.accumulates {
        diags.push(
            Diagnostic::note("args::repeated-list-flag", format!("`{name}` is given more than once; the values add up"))
                .at(arg.name_span.clone())
                .related(first.name_span.clone(), "first given here")
                .help("llama-server appends them but prints a deprecation warning; join the values with `,` in one flag"),
        );
    } else {
        let last = arg
            .value
            .as_ref()
            .map(|v| format!(" (`{}`)", v.text))
            .unwrap_or_default();
        diags.push(
            Diagnostic::warning(
                "args::repeated-flag",
                format!("`{name}` is given more than once; the last one wins{last}"),
            )
            .at(arg.name_span.clone())
            .related(first.name_span.clone(), "overridden value given here")
            .help(format!("keep only one `{name}`")),
        );
    }
}
