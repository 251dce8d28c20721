//! Typed reads of single TOML values, each problem a `hw::` diagnostic at the value's span.
//! A bad or missing value yields `None` and the caller falls back to the documented default, so
//! one typo never hides the other problems in the file.

use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

use crate::diag::Diagnostic;

/// One table being read: its name for messages (`[cpu]`, `[[gpu]] #2`) and where it starts.
pub(super) struct Section<'a> {
    pub table: &'a dyn TableLike,
    pub name: String,
    pub span: Option<Range<usize>>,
}

impl Section<'_> {
    pub fn value_span(&self, key: &str) -> Option<Range<usize>> {
        self.table.get(key).and_then(Item::span)
    }

    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.table.get_key_value(key).and_then(|(k, _)| k.span())
    }

    fn at(&self, key: &str, d: Diagnostic) -> Diagnostic {
        match self.value_span(key).or_else(|| self.span.clone()) {
            Some(s) => d.at(s),
            None => d,
        }
    }

    /// Reports keys that are not in `known`, suggesting the closest known one.
    pub fn check_keys(&self, known: &[&str], diags: &mut Vec<Diagnostic>) {
        for (key, _) in self.table.iter() {
            if known.contains(&key) {
                continue;
            }
            // The root's keys are the section names.
            let noun = if self.span.is_none() && self.name == "profilec.toml" {
                "section"
            } else {
                "key"
            };
            let mut d = Diagnostic::error(
                "hw::unknown-key",
                format!("unknown {noun} `{key}` in {}", self.name),
            )
            .label(format!("not a known {noun}"));
            d = match did_you_mean(key, known) {
                Some(s) => d.help(format!("did you mean `{s}`? (see docs/hardware.md)")),
                None => d.help(format!(
                    "known keys in {}: {} (see docs/hardware.md)",
                    self.name,
                    known.join(", ")
                )),
            };
            if let Some(s) = self.key_span(key) {
                d = d.at(s);
            }
            diags.push(d);
        }
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.table.get(key).and_then(Item::as_value)
    }

    fn wrong_type(&self, key: &str, want: &str, example: &str) -> Diagnostic {
        let found = match self.table.get(key) {
            Some(Item::Value(v)) => v.type_name(),
            Some(Item::Table(_)) => "table",
            Some(Item::ArrayOfTables(_)) => "array of tables",
            _ => "nothing",
        };
        let d = Diagnostic::error(
            "hw::wrong-type",
            format!("{} `{key}` must be {want}, found {found}", self.name),
        )
        .label(format!("expected {want}"))
        .help(format!("write it like `{key} = {example}`"));
        self.at(key, d)
    }

    /// A non-negative integer (sizes in MiB, counts).
    pub fn u64(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Option<u64> {
        self.table.get(key)?;
        let Some(n) = self.value(key).and_then(Value::as_integer) else {
            diags.push(self.wrong_type(key, "an integer", "8192"));
            return None;
        };
        match u64::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                let d = Diagnostic::error(
                    "hw::negative-value",
                    format!("{} `{key}` is negative ({n})", self.name),
                )
                .label("must be 0 or more")
                .help("sizes are MiB and counts are whole numbers; neither can be below zero");
                diags.push(self.at(key, d));
                None
            }
        }
    }

    /// A size that must be there and above 0 (`total_mib`); 0 when it is missing or bad.
    pub fn required_size(&self, key: &str, example: &str, diags: &mut Vec<Diagnostic>) -> u64 {
        let size = self.u64(key, diags);
        if size.is_none() && self.table.get(key).is_none() {
            diags.push(self.missing(key, example));
        }
        if size == Some(0) {
            diags.push(self.out_of_range(key, "above 0"));
        }
        size.unwrap_or(0)
    }

    pub fn u32(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Option<u32> {
        let n = self.u64(key, diags)?;
        match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                diags.push(self.out_of_range(key, "at most 4294967295"));
                None
            }
        }
    }

    pub fn out_of_range(&self, key: &str, want: &str) -> Diagnostic {
        let d = Diagnostic::error(
            "hw::out-of-range",
            format!("{} `{key}` is out of range", self.name),
        )
        .label(format!("must be {want}"))
        .help(format!("set `{key}` to a value that is {want}"));
        self.at(key, d)
    }

    /// A speed factor: any number (integers allowed), strictly positive.
    pub fn speed(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Option<f64> {
        self.table.get(key)?;
        let v = self.value(key);
        let Some(x) = v
            .and_then(Value::as_float)
            .or_else(|| v.and_then(Value::as_integer).map(|i| i as f64))
        else {
            diags.push(self.wrong_type(key, "a number", "1.0"));
            return None;
        };
        if x.is_finite() && x > 0.0 {
            Some(x)
        } else {
            diags.push(self.out_of_range(key, "a number above 0 (the fastest GPU is 1.0)"));
            None
        }
    }

    pub fn string(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Option<String> {
        self.table.get(key)?;
        match self.value(key).and_then(Value::as_str) {
            Some(s) => Some(s.to_owned()),
            None => {
                diags.push(self.wrong_type(key, "a string", "\"…\""));
                None
            }
        }
    }

    pub fn bool(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Option<bool> {
        self.table.get(key)?;
        match self.value(key).and_then(Value::as_bool) {
            Some(b) => Some(b),
            None => {
                diags.push(self.wrong_type(key, "true or false", "true"));
                None
            }
        }
    }

    pub fn missing(&self, key: &str, example: &str) -> Diagnostic {
        let d = Diagnostic::error("hw::missing-key", format!("{} has no `{key}`", self.name))
            .label(format!("`{key}` is required here"))
            .help(format!("add `{key} = {example}`"));
        match &self.span {
            Some(s) => d.at(s.clone()),
            None => d,
        }
    }
}

/// The closest candidate within a small edit distance, for "did you mean".
pub(super) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_lowercase(), c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let known = ["ram_mib", "os_reserve_mib", "cores_physical"];
        assert_eq!(did_you_mean("ram_mb", &known), Some("ram_mib"));
        assert_eq!(did_you_mean("RAM_MIB", &known), Some("ram_mib"));
        assert_eq!(did_you_mean("swap", &known), None);
    }
}
