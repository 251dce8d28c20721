//! The advisor's content → typed, allowlisted values. Whatever the endpoint did with the
//! schema, everything is validated again here: a field outside the allowlist, a wrong type or a
//! word outside an enum makes the whole advice a schema violation (fallback, or failure under
//! strict); an integer of the right type but outside its range is clamped into it, with the
//! original recorded, because its intent ("more threads") is still clear.

use serde::Serialize;
use serde_json::Value;

use super::advisor::AdviceError;
use super::schema::{Field, Kind, REASON_MAX_CHARS};

/// One allowlisted value the advisor gave.
#[derive(Debug, Clone, Serialize)]
pub struct Advised {
    /// The schema key (`ctx_size`).
    pub key: &'static str,
    /// The llama-server flag (`--ctx-size`).
    pub flag: &'static str,
    /// The value after clamping, as llama-server reads it.
    pub value: String,
    /// The advisor's own number when it was outside the range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clamped_from: Option<i128>,
    /// Why the range is what it is (for the clamp reason).
    #[serde(skip)]
    pub bound: String,
}

/// Validated advice: the values in allowlist order, and the advisor's reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Advice {
    pub values: Vec<Advised>,
    pub reason: Option<String>,
}

/// Parses and validates `content` against `fields`.
pub fn parse(content: &str, fields: &[Field]) -> Result<Advice, AdviceError> {
    let text = unfence(content.trim());
    let value: Value = serde_json::from_str(text).map_err(|e| AdviceError::NotJson {
        detail: format!("{e} in `{}`", super::advisor::excerpt(text)),
    })?;
    let Value::Object(map) = value else {
        return Err(AdviceError::NotJson {
            detail: format!(
                "expected an object, got `{}`",
                super::advisor::excerpt(text)
            ),
        });
    };
    let schema = |detail: String| AdviceError::Schema { detail };
    let mut advice = Advice::default();
    for (key, v) in &map {
        if key == "reason" {
            match v {
                Value::Null => {}
                Value::String(s) => {
                    advice.reason = Some(s.chars().take(REASON_MAX_CHARS).collect());
                }
                other => return Err(schema(format!("`reason` must be a string, got {other}"))),
            }
            continue;
        }
        if !fields.iter().any(|f| f.key == key) {
            let allowed: Vec<&str> = fields.iter().map(|f| f.key).collect();
            return Err(schema(format!(
                "`{key}` is not a field the advisor may set (allowed: {})",
                allowed.join(", ")
            )));
        }
    }
    for f in fields {
        let Some(v) = map.get(f.key).filter(|v| !v.is_null()) else {
            continue;
        };
        advice.values.push(typed(f, v).map_err(schema)?);
    }
    Ok(advice)
}

fn typed(f: &Field, v: &Value) -> Result<Advised, String> {
    let advised = |value: String, clamped_from: Option<i128>| Advised {
        key: f.key,
        flag: f.flag,
        value,
        clamped_from,
        bound: f.bound.clone(),
    };
    match &f.kind {
        Kind::Int { min, max } => {
            let n = v
                .as_i64()
                .map(i128::from)
                .or_else(|| v.as_u64().map(i128::from))
                .ok_or_else(|| format!("`{}` must be an integer, got {v}", f.key))?;
            let clamped = n.clamp(i128::from(*min), i128::from(*max));
            Ok(advised(clamped.to_string(), (clamped != n).then_some(n)))
        }
        Kind::Choice(words) => {
            let s = v
                .as_str()
                .ok_or_else(|| format!("`{}` must be a string, got {v}", f.key))?;
            if words.contains(&s) {
                Ok(advised(s.to_owned(), None))
            } else {
                Err(format!(
                    "`{}` is `{s}`, not one of {}",
                    f.key,
                    words.join(", ")
                ))
            }
        }
    }
}

/// The object inside a Markdown code fence, for endpoints that ignore the response format
/// but still answer with the object.
fn unfence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}
