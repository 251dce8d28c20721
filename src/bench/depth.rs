//! Context depth, as llama-benchy means it: each request of a cell is preceded by N tokens of
//! filler context. The filler is deterministic text cut to exactly N tokens with the server's
//! own tokenizer (`/tokenize`, `/detokenize` in tools/server/server.cpp), and every prompt is
//! checked against the slot's context (`/props` → `default_generation_settings.n_ctx`) before
//! the cell sends anything (docs/bench.md).

use serde_json::{Value, json};

use super::client::Client;

/// The filler for one depth.
#[derive(Debug, Clone, Default)]
pub struct Filler {
    pub text: String,
    /// Its length in the server's tokens (equals the requested depth unless the tokenizer
    /// would not round-trip any cut to it; then the closest below).
    pub tokens: u64,
}

/// Sentences that vary (numbers), so the filler is not one repeated token run.
fn source_text(words: u64) -> String {
    let mut s = String::new();
    let mut i: u64 = 0;
    while (s.len() as u64) < words * 8 + 64 {
        i += 1;
        s.push_str(&format!(
            "Note {i}: the archive lists shelf {} in row {} with {} boxes of letters. ",
            i * 7 % 97,
            i % 13,
            i * 3 % 41
        ));
    }
    s
}

fn tokenize(client: &Client, text: &str) -> Result<Vec<Value>, String> {
    let v = client.post_json("/tokenize", &json!({"content": text, "add_special": false}))?;
    v.get("tokens")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("/tokenize answered without `tokens`: {v}"))
}

fn detokenize(client: &Client, tokens: &[Value]) -> Result<String, String> {
    let v = client.post_json("/detokenize", &json!({"tokens": tokens}))?;
    v.get("content")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("/detokenize answered without `content`: {v}"))
}

/// Filler text of exactly `depth` tokens (the cut is re-tokenized to check; a cut that merges
/// differently is shortened until it round-trips).
pub fn filler(client: &Client, depth: u32) -> Result<Filler, String> {
    if depth == 0 {
        return Ok(Filler::default());
    }
    let want = u64::from(depth);
    let mut words = want;
    let ids = loop {
        let ids = tokenize(client, &source_text(words))?;
        if ids.len() as u64 >= want {
            break ids;
        }
        if words > want * 64 {
            return Err(format!("could not build {depth} tokens of filler"));
        }
        words *= 2;
    };
    let mut cut = usize::try_from(want).unwrap_or(usize::MAX).min(ids.len());
    let mut best = Filler::default();
    for _ in 0..8 {
        let text = detokenize(client, ids.get(..cut).unwrap_or(&ids))?;
        let n = tokenize(client, &text)?.len() as u64;
        if n <= want && n > best.tokens {
            best = Filler { text, tokens: n };
        }
        if n == want {
            break;
        }
        let over = n.abs_diff(want).max(1);
        cut = if n > want {
            cut.saturating_sub(usize::try_from(over).unwrap_or(1))
        } else {
            cut + usize::try_from(over).unwrap_or(1)
        }
        .clamp(1, ids.len());
    }
    Ok(best)
}

/// `messages` with the filler in front of the first user message's text.
pub fn with_filler(messages: &Value, filler: &Filler) -> Value {
    let mut m = messages.clone();
    if filler.text.is_empty() {
        return m;
    }
    let first_user = m.as_array_mut().and_then(|a| {
        a.iter_mut()
            .find(|x| x.get("role").and_then(Value::as_str) == Some("user"))
    });
    if let Some(content) = first_user.and_then(|u| u.get_mut("content")) {
        match content {
            Value::String(s) => *s = format!("{}\n\n{s}", filler.text),
            Value::Array(parts) => {
                parts.insert(0, json!({"type": "text", "text": filler.text}));
            }
            _ => {}
        }
    }
    m
}

/// The context one request may use on this server (per slot).
pub fn slot_ctx(client: &Client) -> Result<u64, String> {
    let v = client.get_json("/props")?;
    v.pointer("/default_generation_settings/n_ctx")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("/props has no default_generation_settings.n_ctx: {v}"))
}

/// Tokens the server will prefill for `messages`: the chat template applied
/// (`/apply-template`), then tokenized with the special tokens the completion adds.
pub fn prompt_tokens(client: &Client, messages: &Value) -> Result<u64, String> {
    let v = client.post_json("/apply-template", &json!({"messages": messages}))?;
    let prompt = v
        .get("prompt")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("/apply-template answered without `prompt`: {v}"))?;
    let t = client.post_json(
        "/tokenize",
        &json!({"content": prompt, "add_special": true}),
    )?;
    t.get("tokens")
        .and_then(Value::as_array)
        .map(|a| a.len() as u64)
        .ok_or_else(|| format!("/tokenize answered without `tokens`: {t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_goes_before_the_first_user_text() {
        let f = Filler {
            text: "CTX".into(),
            tokens: 1,
        };
        let m = json!([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]);
        let got = with_filler(&m, &f);
        assert_eq!(got.pointer("/1/content"), Some(&json!("CTX\n\nq")));
        assert_eq!(got.pointer("/0/content"), Some(&json!("s")));
        assert_eq!(with_filler(&m, &Filler::default()), m);
    }
}
