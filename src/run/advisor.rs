//! One chat completion against the `[llm]` endpoint (any OpenAI-compatible `/chat/completions`),
//! asking for advice in the schema's shape. Every way it can go wrong is a typed
//! [`AdviceError`] with a short reason for `--smart-run-debug`; nothing here panics or waits
//! longer than `[llm] timeout_secs`. The API key is read from the environment variable
//! `[llm] api_key_env` names and is never printed or recorded.

use std::io::Read;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::hardware::Llm;

/// The most of a reply read (a chat completion with one small JSON object is a few KiB).
const MAX_REPLY_BYTES: u64 = 1 << 20;
/// Generated tokens allowed for the advice object.
const MAX_TOKENS: u32 = 512;

/// Why there is no usable advice: each is a fallback reason (or, under strict, the failure).
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum AdviceError {
    #[error("advisor {url} refused the connection or is unreachable: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("advisor {url} did not answer within {secs} s ([llm] timeout_secs)")]
    Timeout { url: String, secs: u64 },
    #[error("advisor {url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("advisor {url} sent a reply that is not a chat completion: {detail}")]
    BadResponse { url: String, detail: String },
    #[error("the advice is not one JSON object: {detail}")]
    NotJson { detail: String },
    #[error("the advice violates the schema: {detail}")]
    Schema { detail: String },
}

impl AdviceError {
    /// The stable code of the failure (`run::advice-…`).
    pub fn code(&self) -> &'static str {
        match self {
            AdviceError::Unreachable { .. } => "run::advice-unreachable",
            AdviceError::Timeout { .. } => "run::advice-timeout",
            AdviceError::Status { .. } => "run::advice-http-status",
            AdviceError::BadResponse { .. } => "run::advice-bad-response",
            AdviceError::NotJson { .. } => "run::advice-not-json",
            AdviceError::Schema { .. } => "run::advice-schema",
        }
    }

    pub fn help(&self) -> String {
        match self {
            AdviceError::Unreachable { .. } => "check `[llm] base_url` in profilec.toml (`profilec hw --where` shows which file), or run without --smart-run".into(),
            AdviceError::Timeout { .. } => "raise `[llm] timeout_secs` in profilec.toml, or run without --smart-run".into(),
            AdviceError::Status { status: 401 | 403, .. } => "set the API key in the variable `[llm] api_key_env` names".into(),
            AdviceError::Status { .. } => "check `[llm] model` and `[llm] base_url`; the advisor's own message is above".into(),
            AdviceError::BadResponse { .. } => "`[llm] base_url` must be an OpenAI-compatible API root (the part before /chat/completions)".into(),
            AdviceError::NotJson { .. } | AdviceError::Schema { .. } => "the advisor ignored the response format; use a model or server that supports json_schema output, or run without --smart-run-strict to fall back to the static plan".into(),
        }
    }
}

/// The advisor's reply: who answered, and the content (the advice text).
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    /// The completion's `id`.
    pub id: Option<String>,
    /// The completion's `created` (Unix seconds).
    pub created: Option<u64>,
    /// The model that answered, as the endpoint names it.
    pub model: Option<String>,
    pub content: String,
}

/// The request: the chat messages and the response format.
pub struct Request<'a> {
    pub llm: &'a Llm,
    pub system: &'a str,
    pub user: &'a str,
    pub response_format: &'a Value,
}

/// `<base_url>/chat/completions`.
pub fn endpoint(llm: &Llm) -> String {
    format!("{}/chat/completions", llm.base_url.trim_end_matches('/'))
}

/// Asks once; the whole exchange is bounded by `[llm] timeout_secs`.
pub fn ask(req: &Request<'_>) -> Result<Reply, AdviceError> {
    let url = endpoint(req.llm);
    let secs = req.llm.timeout_secs.max(1);
    let timeout = Duration::from_secs(secs);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let body = json!({
        "model": req.llm.model,
        "messages": [
            {"role": "system", "content": req.system},
            {"role": "user", "content": req.user},
        ],
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
        "stream": false,
        "response_format": req.response_format,
    });
    let mut call = agent.post(&url).header("Content-Type", "application/json");
    let key = std::env::var(&req.llm.api_key_env)
        .ok()
        .filter(|k| !k.trim().is_empty());
    if let Some(key) = &key {
        call = call.header("Authorization", &format!("Bearer {}", key.trim()));
    }
    let mut resp = call
        .send(body.to_string())
        .map_err(|e| transport(&url, secs, &e))?;
    let status = resp.status().as_u16();
    let mut text = String::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_REPLY_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| read_error(&url, secs, &e))?;
    if status != 200 {
        return Err(AdviceError::Status {
            url,
            status,
            body: excerpt(&text),
        });
    }
    parse_completion(&url, &text)
}

fn parse_completion(url: &str, text: &str) -> Result<Reply, AdviceError> {
    let bad = |detail: String| AdviceError::BadResponse {
        url: url.to_owned(),
        detail,
    };
    let v: Value =
        serde_json::from_str(text).map_err(|e| bad(format!("{e} in `{}`", excerpt(text))))?;
    let content = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(format!(
                "no choices[0].message.content in `{}`",
                excerpt(text)
            ))
        })?;
    Ok(Reply {
        id: v.get("id").and_then(Value::as_str).map(str::to_owned),
        created: v.get("created").and_then(Value::as_u64),
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        content: content.to_owned(),
    })
}

/// A transport error as the reason the user sees: timeouts apart from unreachable endpoints.
fn transport(url: &str, secs: u64, e: &ureq::Error) -> AdviceError {
    match e {
        ureq::Error::Timeout(_) => AdviceError::Timeout {
            url: url.to_owned(),
            secs,
        },
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => AdviceError::Timeout {
            url: url.to_owned(),
            secs,
        },
        other => AdviceError::Unreachable {
            url: url.to_owned(),
            detail: other.to_string(),
        },
    }
}

fn read_error(url: &str, secs: u64, e: &std::io::Error) -> AdviceError {
    // ureq reports its global deadline while the body is read as an io::Error wrapping Timeout.
    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
        || e.to_string().to_ascii_lowercase().contains("timeout");
    if timed_out {
        AdviceError::Timeout {
            url: url.to_owned(),
            secs,
        }
    } else {
        AdviceError::BadResponse {
            url: url.to_owned(),
            detail: format!("the reply could not be read: {e}"),
        }
    }
}

/// The first 200 characters of a body, on one line.
pub fn excerpt(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if text.chars().count() > 200 {
        format!("{one_line}…")
    } else {
        one_line
    }
}
