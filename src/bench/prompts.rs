//! The prompt set: JSONL, one request per line with the answer it should get (docs/bench.md).
//! Every problem is reported with its line number before anything is launched.

use std::path::Path;

use regex::Regex;
use serde_json::Value;

use super::error::{BenchError, LineProblem, read_input};

/// What a correct answer looks like.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The trimmed answer equals this (case-insensitive).
    Exact(String),
    /// The answer contains this (case-insensitive).
    Contains(String),
    /// The answer matches this regex somewhere.
    Regex(Regex),
    /// The first word of the answer (punctuation stripped) is this option (case-insensitive).
    Choice(String),
}

#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: String,
    /// Chat messages as sent (`prompt` becomes one user message).
    pub messages: Value,
    pub expect: Option<Expect>,
    pub max_tokens: Option<u32>,
    /// 1-based line in the prompts file.
    pub line: usize,
}

/// Reads and validates a prompts file; all problems at once.
pub fn load(path: &Path) -> Result<Vec<Prompt>, BenchError> {
    read_input(path, parse)
}

pub fn parse(text: &str) -> Result<Vec<Prompt>, Vec<LineProblem>> {
    let mut prompts: Vec<Prompt> = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw, line) {
            Ok(p) => {
                if let Some(first) = prompts.iter().find(|q| q.id == p.id) {
                    problems.push(LineProblem::new(
                        line,
                        format!("id `{}` already used on line {}", p.id, first.line),
                    ));
                }
                prompts.push(p);
            }
            Err(msg) => problems.push(LineProblem::new(line, msg)),
        }
    }
    if prompts.is_empty() && problems.is_empty() {
        problems.push(LineProblem::new(1, "the file has no prompts".to_owned()));
    }
    if problems.is_empty() {
        Ok(prompts)
    } else {
        Err(problems)
    }
}

fn parse_line(raw: &str, line: usize) -> Result<Prompt, String> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| format!("not a JSON object: {e} (column {})", e.column()))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    for key in obj.keys() {
        if !["id", "messages", "prompt", "expect", "max_tokens"].contains(&key.as_str()) {
            return Err(format!(
                "unknown key `{key}` (allowed: id, messages, prompt, expect, max_tokens)"
            ));
        }
    }
    let id = match obj.get("id") {
        None => format!("line-{line}"),
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("`id` must be a non-empty string".into()),
    };
    let messages = match (obj.get("messages"), obj.get("prompt")) {
        (Some(_), Some(_)) => return Err("give either `messages` or `prompt`, not both".into()),
        (None, None) => return Err("needs `messages` (chat) or `prompt` (one user turn)".into()),
        (None, Some(Value::String(p))) => {
            serde_json::json!([{"role": "user", "content": p}])
        }
        (None, Some(_)) => return Err("`prompt` must be a string".into()),
        (Some(m), None) => check_messages(m)?,
    };
    let expect = obj.get("expect").map(parse_expect).transpose()?;
    let max_tokens = match obj.get("max_tokens") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=65536).contains(&n) => u32::try_from(n).ok(),
            _ => return Err("`max_tokens` must be an integer in 1..=65536".into()),
        },
    };
    Ok(Prompt {
        id,
        messages,
        expect,
        max_tokens,
        line,
    })
}

fn check_messages(m: &Value) -> Result<Value, String> {
    let list = m
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or("`messages` must be a non-empty array of {role, content}")?;
    for (i, msg) in list.iter().enumerate() {
        let role = msg.get("role").and_then(Value::as_str);
        let content = msg.get("content").and_then(Value::as_str);
        if !matches!(role, Some("system" | "user" | "assistant")) || content.is_none() {
            return Err(format!(
                "messages[{i}] needs `role` (system, user or assistant) and a string `content`"
            ));
        }
    }
    Ok(m.clone())
}

fn parse_expect(v: &Value) -> Result<Expect, String> {
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or("`expect` must be one of {\"exact\"|\"contains\"|\"regex\"|\"choice\": \"…\"}")?;
    let (kind, value) = obj.iter().next().ok_or("empty `expect`")?;
    let text = value
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("`expect.{kind}` must be a non-empty string"))?;
    match kind.as_str() {
        "exact" => Ok(Expect::Exact(text.to_owned())),
        "contains" => Ok(Expect::Contains(text.to_owned())),
        "choice" => Ok(Expect::Choice(text.trim().to_owned())),
        "regex" => Regex::new(text)
            .map(Expect::Regex)
            .map_err(|e| format!("`expect.regex` does not compile: {e}")),
        other => Err(format!(
            "unknown expectation `{other}` (use exact, contains, regex or choice)"
        )),
    }
}

impl Expect {
    /// Whether `answer` is correct.
    pub fn matches(&self, answer: &str) -> bool {
        let a = answer.trim();
        match self {
            Expect::Exact(e) => a.to_lowercase() == e.trim().to_lowercase(),
            Expect::Contains(e) => a.to_lowercase().contains(&e.to_lowercase()),
            Expect::Regex(r) => r.is_match(a),
            Expect::Choice(c) => a
                .split_whitespace()
                .next()
                .map(|w| w.trim_matches(|ch: char| !ch.is_alphanumeric()))
                .is_some_and(|w| w.eq_ignore_ascii_case(c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_carry_line_numbers() {
        let text = "{\"id\":\"a\",\"prompt\":\"hi\"}\n\n{\"prompt\": 3}\n{\"id\":\"a\",\"prompt\":\"x\",\"expect\":{\"regex\":\"(\"}}\nnot json\n";
        let p = parse(text).unwrap_err();
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![3, 4, 5], "{p:?}");
    }

    #[test]
    fn scoring() {
        assert!(Expect::Exact("Paris".into()).matches(" paris \n"));
        assert!(Expect::Contains("4".into()).matches("The answer is 4."));
        assert!(Expect::Choice("B".into()).matches("B) blue"));
        assert!(!Expect::Choice("B".into()).matches("Because A"));
        assert!(Expect::Regex(Regex::new(r"\b7\b").unwrap()).matches("it is 7"));
    }
}
