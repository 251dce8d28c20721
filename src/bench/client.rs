//! One streamed chat completion against llama-server's `/v1/chat/completions` (SSE), timed on
//! this side (first token, end to end) and with the server's own `timings` from the last event
//! (tools/server/server-task.cpp puts them on the final chunk).
//!
//! ureq (blocking, no TLS) instead of the minimal client in src/launch/http.rs: a stream must be
//! read as it arrives, through chunked transfer encoding, under a per-request deadline.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

/// What llama-server reported about one request (`timings`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerTimings {
    pub prompt_n: u64,
    pub cache_n: u64,
    pub prompt_ms: f64,
    pub prompt_per_second: f64,
    pub predicted_n: u64,
    pub predicted_ms: f64,
    pub predicted_per_second: f64,
}

/// One finished (or failed) request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exchange {
    /// Time to the first generated content, ms; `None` if none arrived.
    pub ttft_ms: Option<f64>,
    pub latency_ms: f64,
    /// Content chunks received (about one per generated token).
    pub chunks: u64,
    /// Decode rate seen on this side: chunks after the first over the time they took.
    pub wall_gen_tps: Option<f64>,
    pub timings: Option<ServerTimings>,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub answer: String,
    pub finish_reason: Option<String>,
    pub error: Option<String>,
}

/// A reusable client for one base URL (`http://host:port`).
pub struct Client {
    agent: ureq::Agent,
    base: String,
    url: String,
}

impl Client {
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .build()
            .into();
        let base = base_url.trim_end_matches('/').to_owned();
        Client {
            agent,
            url: format!("{base}/v1/chat/completions"),
            base,
        }
    }

    /// `POST base+path` with a JSON body; the answer as JSON (non-200 is an error).
    pub fn post_json(&self, path: &str, body: &Value) -> Result<Value, String> {
        let resp = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .send(body.to_string());
        json_of(path, resp)
    }

    /// `GET base+path`; the answer as JSON.
    pub fn get_json(&self, path: &str) -> Result<Value, String> {
        json_of(path, self.agent.get(&format!("{}{path}", self.base)).call())
    }

    /// Sends `messages` at temperature 0 and reads the stream to its end.
    pub fn chat(&self, messages: &Value, max_tokens: u32) -> Exchange {
        let body = json!({
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": true,
            "stream_options": {"include_usage": true},
            "cache_prompt": false,
        });
        let start = Instant::now();
        let mut ex = Exchange::default();
        if let Err(e) = self.stream(&body.to_string(), start, &mut ex) {
            ex.error = Some(e);
        }
        ex.latency_ms = ms(start.elapsed());
        ex
    }

    fn stream(&self, body: &str, start: Instant, ex: &mut Exchange) -> Result<(), String> {
        let mut resp = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let reader = BufReader::new(resp.body_mut().as_reader());
        if status != 200 {
            let text: String = reader
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
                .join(" ");
            return Err(format!(
                "HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        let mut first: Option<Instant> = None;
        let mut last = start;
        let mut done = false;
        for line in reader.lines() {
            let line = line.map_err(|e| format!("stream broken: {e}"))?;
            let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                continue;
            };
            if data == "[DONE]" {
                done = true;
                break;
            }
            let event: Value =
                serde_json::from_str(data).map_err(|e| format!("bad event: {e}: {data}"))?;
            if let Some(err) = event.get("error") {
                return Err(format!("server error: {err}"));
            }
            if let Some(choice) = event.pointer("/choices/0") {
                if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str)
                    && !text.is_empty()
                {
                    let now = Instant::now();
                    first.get_or_insert(now);
                    last = now;
                    ex.chunks += 1;
                    ex.answer.push_str(text);
                }
                if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
                    ex.finish_reason = Some(r.to_owned());
                }
            }
            if let Some(u) = event.get("usage") {
                ex.tokens_in = u.get("prompt_tokens").and_then(Value::as_u64);
                ex.tokens_out = u.get("completion_tokens").and_then(Value::as_u64);
            }
            if let Some(t) = event.get("timings") {
                ex.timings = Some(timings(t));
            }
        }
        if let Some(f) = first {
            ex.ttft_ms = Some(ms(f - start));
            let span = (last - f).as_secs_f64();
            if ex.chunks > 1 && span > 0.0 {
                ex.wall_gen_tps = Some((ex.chunks - 1) as f64 / span);
            }
        }
        if !done {
            return Err("the stream ended without [DONE] (server gone?)".into());
        }
        Ok(())
    }
}

fn json_of(
    path: &str,
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Value, String> {
    let mut resp = resp.map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .map_err(|e| format!("{path}: {e}"))?;
    if status != 200 {
        let head: String = text.chars().take(300).collect();
        return Err(format!("{path}: HTTP {status}: {head}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))
}

fn timings(t: &Value) -> ServerTimings {
    let f = |k: &str| t.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
    ServerTimings {
        prompt_n: n("prompt_n"),
        cache_n: n("cache_n"),
        prompt_ms: f("prompt_ms"),
        prompt_per_second: f("prompt_per_second"),
        predicted_n: n("predicted_n"),
        predicted_ms: f("predicted_ms"),
        predicted_per_second: f("predicted_per_second"),
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
