//! `vllm serve` arguments as a profile writes them in EXTRA_ARGS: words split like llama-server's
//! (on whitespace, no quoting: `flags::tokenize`), each flag looked up in the pinned flag table
//! ([`super::flags`]) with the spelling rules of vLLM's `FlexibleArgumentParser`
//! (vllm/utils/__init__.py: `--a_b` = `--a-b`, `--flag=value`) and argparse's
//! `BooleanOptionalAction` (`--no-flag`). The table has no arity column: a negatable flag is a
//! switch, the flags of [`super::options::SINGLE_VALUE`] take one word, any other flag the words
//! up to the next flag (vLLM's list flags take several).

use std::ops::Range;

use super::flags::{Flag, flags};
use crate::flags::{Token, tokenize};

/// One word of the value, with its byte span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Range<usize>,
}

impl From<Token<'_>> for Word {
    fn from(t: Token<'_>) -> Self {
        Word {
            text: t.text.to_owned(),
            span: t.span,
        }
    }
}

/// One flag and the words it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeArg {
    /// The flag word as written (with `=value` when written inline).
    pub written: Word,
    /// The table's long name (`--tensor-parallel-size` for `-tp`), `None` when unknown.
    pub name: Option<&'static str>,
    /// `--no-NAME`.
    pub negated: bool,
    /// The value after `=`, then the words that follow.
    pub values: Vec<String>,
    /// The following words taken as values (their spans).
    pub value_words: Vec<Word>,
    /// The known flag nearest to an unknown one, for "did you mean".
    pub nearest: Option<&'static str>,
}

impl ServeArg {
    /// The argv words of this argument, exactly as written.
    pub fn words(&self) -> Vec<String> {
        std::iter::once(self.written.text.clone())
            .chain(self.value_words.iter().map(|w| w.text.clone()))
            .collect()
    }

    /// From the flag to its last value word.
    pub fn span(&self) -> Range<usize> {
        let end = self
            .value_words
            .last()
            .map_or(self.written.span.end, |w| w.span.end);
        self.written.span.start..end
    }
}

/// EXTRA_ARGS of a vLLM profile, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeArgs {
    pub args: Vec<ServeArg>,
    /// Words that belong to no flag (before the first flag, or after a switch): vLLM would
    /// read the first as the model and stop at the second ("unrecognized arguments").
    pub stray: Vec<Word>,
}

impl ServeArgs {
    /// The last setting of the flag with long name `name`.
    pub fn last(&self, name: &str) -> Option<&ServeArg> {
        self.args.iter().rev().find(|a| a.name == Some(name))
    }

    /// Every word, in order: what goes on the command line.
    pub fn words(&self) -> Vec<String> {
        let mut all: Vec<(usize, Vec<String>)> = self
            .args
            .iter()
            .map(|a| (a.written.span.start, a.words()))
            .chain(
                self.stray
                    .iter()
                    .map(|w| (w.span.start, vec![w.text.clone()])),
            )
            .collect();
        all.sort_by_key(|(at, _)| *at);
        all.into_iter().flat_map(|(_, w)| w).collect()
    }
}

/// A word meant as a flag: a dash and a letter (`-1`, `-.5` and `-` are values).
fn is_flag(word: &str) -> bool {
    crate::flags::tokens::looks_like_flag(word)
}

/// Parses an EXTRA_ARGS value of a vLLM profile.
pub fn parse(line: &str) -> ServeArgs {
    let table = flags();
    let mut out = ServeArgs::default();
    let mut words = tokenize(line).into_iter().map(Word::from).peekable();
    while let Some(word) = words.next() {
        if !is_flag(&word.text) {
            out.stray.push(word);
            continue;
        }
        let (name_part, inline) = match word.text.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (word.text.clone(), None),
        };
        let found = lookup(&table, &name_part);
        let switch = found.as_ref().is_some_and(|(f, _)| f.negatable);
        let mut arg = ServeArg {
            written: word,
            name: found.as_ref().map(|(f, _)| f.name),
            negated: found.as_ref().is_some_and(|(_, neg)| *neg),
            values: inline.into_iter().collect(),
            value_words: Vec::new(),
            nearest: None,
        };
        if found.is_none() {
            arg.nearest = nearest(&table, &name_part);
        }
        let single = arg
            .name
            .is_some_and(|n| super::options::SINGLE_VALUE.contains(&n));
        if !switch && arg.values.is_empty() {
            while let Some(next) = words.next_if(|w| !is_flag(&w.text)) {
                arg.values.push(next.text.clone());
                arg.value_words.push(next);
                if single {
                    break;
                }
            }
        }
        out.args.push(arg);
    }
    out
}

/// The table row of a flag spelling, and whether it is the `--no-` form.
fn lookup(table: &[Flag<'static>], written: &str) -> Option<(Flag<'static>, bool)> {
    // `-O3`, `-O.level=3`: compilation-config's short form takes its value attached.
    if written.starts_with("-O") && !written.starts_with("--") {
        return table
            .iter()
            .find(|f| f.aliases.contains(&"-O"))
            .map(|f| (f.clone(), false));
    }
    let dashed = match written.strip_prefix("--") {
        Some(rest) => format!("--{}", rest.replace('_', "-")),
        None => written.to_owned(),
    };
    if let Some(f) = table
        .iter()
        .find(|f| f.name == dashed || f.aliases.contains(&dashed.as_str()))
    {
        return Some((f.clone(), false));
    }
    let positive = format!("--{}", dashed.strip_prefix("--no-")?);
    table
        .iter()
        .find(|f| f.negatable && f.name == positive)
        .map(|f| (f.clone(), true))
}

fn nearest(table: &[Flag<'static>], written: &str) -> Option<&'static str> {
    let dashed = written.replace('_', "-");
    table
        .iter()
        .map(|f| (strsim::levenshtein(&dashed, f.name), f.name))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_values_and_switches() {
        let p = parse(
            "-tp 2 --max_model_len=8192 --enforce-eager --no-enable-prefix-caching --served-model-name a b -O3",
        );
        let names: Vec<_> = p.args.iter().map(|a| a.name).collect();
        assert_eq!(
            names,
            [
                Some("--tensor-parallel-size"),
                Some("--max-model-len"),
                Some("--enforce-eager"),
                Some("--enable-prefix-caching"),
                Some("--served-model-name"),
                Some("--compilation-config"),
            ]
        );
        assert_eq!(p.args[1].values, ["8192"]);
        assert!(p.args[3].negated);
        assert_eq!(p.args[4].values, ["a", "b"]);
        assert!(p.stray.is_empty());
        assert_eq!(
            p.words().join(" "),
            "-tp 2 --max_model_len=8192 --enforce-eager --no-enable-prefix-caching --served-model-name a b -O3"
        );
    }

    #[test]
    fn unknown_flags_and_stray_words() {
        let p = parse("model --max-modle-len 4096 --enforce-eager x");
        assert_eq!(
            p.stray.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["model", "x"]
        );
        assert_eq!(p.args[0].name, None);
        assert_eq!(p.args[0].nearest, Some("--max-model-len"));
        assert_eq!(p.args[0].values, ["4096"]);
        assert_eq!(
            &"model --max-modle-len 4096"[p.args[0].span()],
            "--max-modle-len 4096"
        );
    }
}
