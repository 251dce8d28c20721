//! llama-swap's `matrix` (the solver-based alternative to `groups`, data/llama-swap-config-schema.json
//! `matrixConfig`): `vars` give models short names and each of `sets` is a DSL expression of
//! models that may run at the same time. When a model is requested, llama-swap picks a set that
//! holds it and stops the running models outside that set; a model in no set runs alone
//! (llama-swap proxy/matrix.go, `MatrixSolver.Solve`). So writing every maximal co-resident set
//! as a set lets every combination that fits run, and nothing else — unlike disjoint `groups`.
//!
//! The DSL (llama-swap proxy/config/matrix_dsl.go): identifiers (letters, digits, `_`, `-`, `.`),
//! `&` (together), `|` (either), parentheses, `+name` (another set's combinations); `&` binds
//! tighter than `|`. llama-swap refuses more than 1000 combinations in all.

use std::collections::BTreeMap;

use serde::Serialize;

use super::llama_swap::Ordered;
use crate::coresidency::Sets;

/// llama-swap's bound on the combinations all sets expand to.
pub const MAX_COMBINATIONS: usize = 1000;
/// `vars` keys: letters and digits, 1 to 8 of them.
const VAR_MAX: usize = 8;

#[derive(Serialize)]
pub struct Matrix {
    pub vars: Ordered<String>,
    pub sets: Ordered<String>,
}

/// The matrix of `sets` over the models `ids` (file order), or `None` when no two profiles fit
/// together (every model then runs alone, llama-swap's rule for a model in no set). At most
/// [`MAX_COMBINATIONS`] sets are written; a subset of the sets is still safe, only less
/// permissive, and the second value says how many were left out.
pub fn matrix_of(sets: &Sets, ids: &[String]) -> (Option<Matrix>, usize) {
    let shared: Vec<&Vec<String>> = sets.maximal.iter().filter(|s| s.len() >= 2).collect();
    if shared.is_empty() {
        return (None, 0);
    }
    let names = var_names(ids);
    let name_of = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
    let written = shared.len().min(MAX_COMBINATIONS);
    let set_entries = shared[..written]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let dsl: Vec<String> = s.iter().map(name_of).collect();
            (format!("fits-{}", i + 1), dsl.join(" & "))
        })
        .collect();
    // Every model in a set gets a var (the schema asks for at least one).
    let vars = ids
        .iter()
        .filter(|id| shared[..written].iter().any(|s| s.contains(id)))
        .map(|id| (name_of(id), id.clone()))
        .collect();
    (
        Some(Matrix {
            vars: Ordered(vars),
            sets: Ordered(set_entries),
        }),
        shared.len() - written,
    )
}

/// A short name per id: its letters and digits, at most 8; `m<N>` when that is empty, taken,
/// or another model's id (llama-swap reads a var before a model name).
fn var_names(ids: &[String]) -> BTreeMap<String, String> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let short: String = id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(VAR_MAX)
            .collect();
        let clashes = |n: &str| {
            n.is_empty() || names.values().any(|v| v == n) || ids.iter().any(|o| o != id && o == n)
        };
        let name = if clashes(&short) {
            (i + 1..)
                .map(|k| format!("m{k}"))
                .find(|n| !clashes(n))
                .unwrap_or_default()
        } else {
            short
        };
        names.insert(id.clone(), name);
    }
    names
}

/// Every combination `dsl` names, each sorted and without repeats; `refs` holds the
/// combinations of the sets it may name with `+`.
pub fn expand(
    dsl: &str,
    refs: &BTreeMap<String, Vec<Vec<String>>>,
) -> Result<Vec<Vec<String>>, String> {
    let tokens = tokenize(dsl)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        refs,
    };
    let mut combos = p.either()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(format!("unexpected `{}`", t.text()));
    }
    for c in &mut combos {
        c.sort();
        c.dedup();
    }
    Ok(combos)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Ref(String),
    And,
    Or,
    Open,
    Close,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Ident(s) => s.clone(),
            Token::Ref(s) => format!("+{s}"),
            Token::And => "&".into(),
            Token::Or => "|".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn tokenize(dsl: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = dsl.chars().peekable();
    while let Some(&c) = chars.peek() {
        let simple = match c {
            '&' => Some(Token::And),
            '|' => Some(Token::Or),
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            _ => None,
        };
        if c.is_whitespace() || simple.is_some() {
            chars.next();
            tokens.extend(simple);
            continue;
        }
        let is_ref = c == '+';
        if is_ref {
            chars.next();
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek().filter(|c| is_ident(**c)) {
            word.push(c);
            chars.next();
        }
        if word.is_empty() {
            return Err(if is_ref {
                "`+` without a set name".into()
            } else {
                format!("unexpected `{c}`")
            });
        }
        tokens.push(if is_ref {
            Token::Ref(word)
        } else {
            Token::Ident(word)
        });
    }
    if tokens.is_empty() {
        return Err("empty expression".into());
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    refs: &'a BTreeMap<String, Vec<Vec<String>>>,
}

impl Parser<'_> {
    fn eat(&mut self, t: &Token) -> bool {
        let hit = self.tokens.get(self.pos) == Some(t);
        self.pos += usize::from(hit);
        hit
    }

    /// `a | b | …`: the union of the alternatives.
    fn either(&mut self) -> Result<Vec<Vec<String>>, String> {
        let mut out = self.together()?;
        while self.eat(&Token::Or) {
            out.extend(self.together()?);
            bounded(out.len())?;
        }
        Ok(out)
    }

    /// `a & b & …`: every combination of one choice from each.
    fn together(&mut self) -> Result<Vec<Vec<String>>, String> {
        let mut out = self.atom()?;
        while self.eat(&Token::And) {
            let right = self.atom()?;
            bounded(out.len() * right.len())?;
            out = out
                .iter()
                .flat_map(|l| right.iter().map(move |r| [l.clone(), r.clone()].concat()))
                .collect();
        }
        Ok(out)
    }

    fn atom(&mut self) -> Result<Vec<Vec<String>>, String> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match t {
            Some(Token::Ident(name)) => Ok(vec![vec![name]]),
            Some(Token::Ref(set)) => self
                .refs
                .get(&set)
                .cloned()
                .ok_or_else(|| format!("`+{set}` names no set of the matrix")),
            Some(Token::Open) => {
                let inner = self.either()?;
                if self.eat(&Token::Close) {
                    Ok(inner)
                } else {
                    Err("missing `)`".into())
                }
            }
            Some(t) => Err(format!("unexpected `{}`", t.text())),
            None => Err("the expression ends early".into()),
        }
    }
}

fn bounded(n: usize) -> Result<(), String> {
    if n > MAX_COMBINATIONS {
        Err(format!(
            "more than {MAX_COMBINATIONS} combinations, llama-swap's limit"
        ))
    } else {
        Ok(())
    }
}
