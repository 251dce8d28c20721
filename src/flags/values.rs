//! Checking one value against its flag's kind, as llama-server would parse it.

use std::ops::Range;

use super::ot::{self, OtRule};
use super::table::{CACHE_TYPES, FlagSpec, ListKind, ValueKind};
use crate::diag::Diagnostic;

/// A value read the way llama-server reads it.
#[derive(Debug, Clone)]
pub enum TypedValue {
    Int(i64),
    Float(f64),
    Text(String),
    /// An enum word or cache type, as spelt in the table.
    Choice(&'static str),
    Auto,
    All,
    Ints(Vec<i64>),
    Floats(Vec<f64>),
    Names(Vec<String>),
    /// `--lora-scaled` / `--control-vector-scaled`: `(file, scale)`.
    ScaledFiles(Vec<(String, f64)>),
    /// `--override-kv`: `(key, type, value)`.
    KvOverrides(Vec<(String, String, String)>),
    /// `-ot` rules, spans relative to the whole EXTRA_ARGS value.
    TensorOverrides(Vec<OtRule>),
    IntPair(i64, i64),
}

pub struct Checked {
    pub value: Option<TypedValue>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks `text` (at `span` in EXTRA_ARGS) as the value of `spec`.
pub fn check(spec: &FlagSpec, text: &str, span: Range<usize>) -> Checked {
    let mut diagnostics = Vec::new();
    let value = match &spec.kind {
        ValueKind::Switch | ValueKind::Bool => None,
        ValueKind::String | ValueKind::Path => Some(TypedValue::Text(text.to_string())),
        ValueKind::Int | ValueKind::IntPair => {
            int(spec, text, span, &mut diagnostics).map(TypedValue::Int)
        }
        ValueKind::Float => float(spec, text, span, &mut diagnostics).map(TypedValue::Float),
        ValueKind::IntAutoAll => match text {
            "auto" => Some(TypedValue::Auto),
            "all" => Some(TypedValue::All),
            _ => int(spec, text, span, &mut diagnostics).map(TypedValue::Int),
        },
        ValueKind::Enum(choices) => choice(
            spec,
            text,
            span,
            choices,
            "args::invalid-choice",
            &mut diagnostics,
        ),
        ValueKind::CacheType => choice(
            spec,
            text,
            span,
            CACHE_TYPES,
            "args::invalid-cache-type",
            &mut diagnostics,
        ),
        ValueKind::List(kind) => list(spec, *kind, text, span, &mut diagnostics),
    };
    Checked { value, diagnostics }
}

fn invalid(spec: &FlagSpec, text: &str, span: Range<usize>, expected: &str) -> Diagnostic {
    Diagnostic::error("args::invalid-value", format!("`{text}` is not {expected}"))
        .at(span)
        .label(format!("{} expects {expected}", spec.canonical))
        .help(format!(
            "write {expected} here ({} {})",
            spec.canonical, spec.value_hint
        ))
}

/// `std::stoi`: optional sign and decimal digits, within i32. llama.cpp ignores trailing
/// junk (`2048k` reads as 2048), which is never what was meant, so it is an error here.
fn int(spec: &FlagSpec, text: &str, span: Range<usize>, out: &mut Vec<Diagnostic>) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<i32>() {
        Ok(v) if ok => Some(i64::from(v)),
        _ if ok => {
            // Digits only, but past i32: `std::stoi` throws out_of_range.
            out.push(
                Diagnostic::error(
                    "args::invalid-value",
                    format!("`{text}` is out of range for {}", spec.canonical),
                )
                .at(span)
                .label("larger than a 32-bit int")
                .help(format!(
                    "llama-server reads {} as a 32-bit int ({} to {}) and refuses to start \
                     with a larger number; write a smaller one",
                    spec.canonical,
                    i32::MIN,
                    i32::MAX
                )),
            );
            None
        }
        _ => {
            let mut d = invalid(spec, text, span, "an integer");
            let prefix_len =
                text.len() - digits.len() + digits.bytes().take_while(u8::is_ascii_digit).count();
            if let Some(p) = text.get(..prefix_len).filter(|p| p.parse::<i32>().is_ok()) {
                d = d.help(format!(
                    "write an integer; llama-server would silently read `{text}` as {p}"
                ));
            }
            out.push(d);
            None
        }
    }
}

fn float(
    spec: &FlagSpec,
    text: &str,
    span: Range<usize>,
    out: &mut Vec<Diagnostic>,
) -> Option<f64> {
    match text.parse::<f64>() {
        Ok(v) => Some(v),
        Err(_) => {
            out.push(invalid(spec, text, span, "a number"));
            None
        }
    }
}

fn choice(
    spec: &FlagSpec,
    text: &str,
    span: Range<usize>,
    choices: &[&'static str],
    code: &'static str,
    out: &mut Vec<Diagnostic>,
) -> Option<TypedValue> {
    if let Some(c) = choices.iter().find(|c| **c == text) {
        return Some(TypedValue::Choice(c));
    }
    let list = choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let close = super::suggest::closest(text, choices.iter().copied());
    let help = match close {
        Some(c) => format!("did you mean `{c}`? {} accepts {list}", spec.canonical),
        None => format!("{} accepts {list}", spec.canonical),
    };
    out.push(
        Diagnostic::error(
            code,
            format!("`{text}` is not a valid value for {}", spec.canonical),
        )
        .at(span)
        .label("not one of the allowed values")
        .help(help),
    );
    None
}

fn list(
    spec: &FlagSpec,
    kind: ListKind,
    text: &str,
    span: Range<usize>,
    out: &mut Vec<Diagnostic>,
) -> Option<TypedValue> {
    if kind == ListKind::TensorOverrides {
        let parsed = ot::parse_ot(text);
        out.extend(
            parsed
                .diagnostics
                .into_iter()
                .map(|d| d.shifted(span.start)),
        );
        let rules = parsed
            .rules
            .into_iter()
            .map(|r| r.shifted(span.start))
            .collect();
        return Some(TypedValue::TensorOverrides(rules));
    }
    // `-ts` also accepts `/` between proportions (llama.cpp splits on `,/`).
    let seps: &[char] = if kind == ListKind::Floats {
        &[',', '/']
    } else {
        &[',']
    };
    let before = out.len();
    let mut start = span.start;
    let mut items = Vec::new();
    for item in text.split(seps) {
        let item_span = start..start + item.len();
        start = item_span.end + 1;
        items.push((item, item_span));
    }
    let value = match kind {
        ListKind::Floats => TypedValue::Floats(
            items
                .into_iter()
                .filter_map(|(t, s)| float(spec, t, s, out))
                .collect(),
        ),
        ListKind::Ints => TypedValue::Ints(
            items
                .into_iter()
                .filter_map(|(t, s)| int(spec, t, s, out))
                .collect(),
        ),
        ListKind::Names => {
            for (t, s) in &items {
                if t.is_empty() {
                    out.push(invalid(spec, t, s.clone(), "a name").label("empty list item"));
                }
            }
            TypedValue::Names(items.into_iter().map(|(t, _)| t.to_string()).collect())
        }
        ListKind::ScaledFiles => TypedValue::ScaledFiles(
            items
                .into_iter()
                .filter_map(|(t, s)| {
                    let Some((file, scale)) = t.rsplit_once(':') else {
                        out.push(invalid(spec, t, s, "`FILE:SCALE`"));
                        return None;
                    };
                    let scale_span = s.start + file.len() + 1..s.end;
                    float(spec, scale, scale_span, out).map(|v| (file.to_string(), v))
                })
                .collect(),
        ),
        ListKind::KvOverrides => TypedValue::KvOverrides(
            items
                .into_iter()
                .filter_map(|(t, s)| kv_override(spec, t, s, out))
                .collect(),
        ),
        ListKind::TensorOverrides => return None,
    };
    (out.len() == before).then_some(value)
}

// llama.cpp `string_parse_kv_override`: KEY=TYPE:VALUE, a key under 128 bytes, TYPE int, float,
// bool or str. Numbers go through `atol`/`atof`, so a malformed one silently becomes 0.
fn kv_override(
    spec: &FlagSpec,
    t: &str,
    s: Range<usize>,
    out: &mut Vec<Diagnostic>,
) -> Option<(String, String, String)> {
    let shape = "`KEY=TYPE:VALUE` with TYPE int, float, bool or str";
    let Some((key, rest)) = t
        .split_once('=')
        .filter(|(k, _)| !k.is_empty() && k.len() < 128)
    else {
        out.push(invalid(spec, t, s, shape));
        return None;
    };
    let Some((ty, v)) = rest.split_once(':') else {
        out.push(invalid(spec, t, s, shape));
        return None;
    };
    let problem = match ty {
        "int" if v.parse::<i64>().is_err() => {
            Some("an integer (llama-server would silently use 0)")
        }
        "float" if v.parse::<f64>().is_err() => {
            Some("a number (llama-server would silently use 0)")
        }
        "bool" if v != "true" && v != "false" => Some("`true` or `false`"),
        "int" | "float" | "bool" | "str" => None,
        _ => Some(shape),
    };
    if let Some(expected) = problem {
        let vs = if expected == shape {
            s
        } else {
            s.end - v.len()..s.end
        };
        let text = if expected == shape { t } else { v };
        out.push(invalid(spec, text, vs, expected));
        return None;
    }
    Some((key.to_string(), ty.to_string(), v.to_string()))
}
