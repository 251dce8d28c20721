//! `profilec run`: precedence, the static fallback and strict mode against a real HTTP server on
//! 127.0.0.1 written here that misbehaves on purpose (garbage, HTTP 500, too slow, schema
//! violations, a refused connection), and the validation, clamping and re-planning of advice it
//! serves well-formed. The real advisor (llama-server + Gemma) is tests/run_real.rs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::{fixture, profilec};

/// What the fake advisor answers to the one request it serves.
#[derive(Clone)]
pub enum Reply {
    /// Status and raw body.
    Raw(u16, String),
    /// A chat completion whose message content is this text.
    Content(String),
    /// Waits this long before answering (the client's timeout is shorter).
    Slow(Duration),
}

/// An HTTP server on 127.0.0.1 that answers one request, then stops; dropping it unblocks and
/// joins its thread, so no test leaves it behind.
pub struct FakeAdvisor {
    pub port: u16,
    thread: Option<JoinHandle<Option<String>>>,
}

impl FakeAdvisor {
    pub fn start(reply: Reply) -> FakeAdvisor {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let (stream, _) = listener.accept().ok()?;
            serve(stream, &reply)
        });
        FakeAdvisor {
            port,
            thread: Some(thread),
        }
    }

    /// The request body the server received (`None` if no request came).
    pub fn request(mut self) -> Option<String> {
        let t = self.thread.take()?;
        unblock(self.port);
        t.join().ok().flatten()
    }
}

impl Drop for FakeAdvisor {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            unblock(self.port);
            let _ = t.join();
        }
    }
}

/// A connection that ends a pending `accept` (the thread then sees an empty request).
fn unblock(port: u16) {
    let _ = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(1),
    );
}

fn serve(stream: TcpStream, reply: &Reply) -> Option<String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, text) = match reply {
        Reply::Raw(s, t) => (*s, t.clone()),
        Reply::Content(c) => (200, completion(c)),
        Reply::Slow(d) => {
            std::thread::sleep(*d);
            (200, completion("{}"))
        }
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    Some(body)
}

/// An OpenAI chat completion carrying `content`.
pub fn completion(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-fake-1",
        "object": "chat.completion",
        "created": 1764400000,
        "model": "fake-advisor",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    })
    .to_string()
}

/// A directory with a models.conf (`[tiny]`: the llama-gqa fixture, 512 context) and a
/// CPU-only profilec.toml whose `[llm]` points at `port`; `capacity_mib` is what llama.cpp may
/// use on the CPU.
pub fn project(port: u16, capacity_mib: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let models = fixture("llama-gqa.gguf");
    let models_dir = models.parent().unwrap();
    std::fs::write(
        dir.path().join("models.conf"),
        "[tiny]\nNAME=Tiny\nDESCRIPTION=fixture\nSPEED=~1 t/s\nMODEL=llama-gqa.gguf\nCTX_SIZE=512\nEXTRA_ARGS=--parallel 1 --threads 2\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "[cpu]\nram_mib = {}\nos_reserve_mib = 1024\ncores_physical = 2\ncores_logical = 4\n\n\
             [runtime]\nmodels_dir = {:?}\n\n\
             [llm]\nmodel = \"advisor-under-test\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\n\
             api_key_env = \"PROFILEC_TEST_NO_KEY\"\ntimeout_secs = 2\n",
            1024 + capacity_mib,
            models_dir.display().to_string()
        ),
    )
    .unwrap();
    dir
}

/// Replaces `from` by `to` in the project's profilec.toml.
pub fn edit_toml(dir: &Path, from: &str, to: &str) {
    let toml = dir.join("profilec.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(from, to);
    std::fs::write(&toml, text).unwrap();
}

/// `profilec run tiny ARGS` inside `dir`, with a hang guard.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = profilec()
        .current_dir(dir)
        .args(["run", "tiny"])
        .args(args)
        .env_remove("PROFILEC_TEST_NO_KEY")
        .output()
        .expect("profilec runs");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "run took {:?}: a hang",
        started.elapsed()
    );
    out
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The argv `start --dry-run` prints for the same profile.
fn start_dry_run(dir: &Path) -> String {
    let out = profilec()
        .current_dir(dir)
        .args(["start", "tiny", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

pub fn trace_rows(dir: &Path) -> Vec<serde_json::Value> {
    let path: PathBuf = dir.join(".profilec/runs.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn strict_without_smart_run_is_a_usage_error() {
    let dir = project(1, 4096);
    let out = run_in(dir.path(), &["--smart-run-strict", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--smart-run"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dry_run_prints_exactly_what_start_runs() {
    let dir = project(1, 4096);
    let out = run_in(dir.path(), &["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), start_dry_run(dir.path()));
    let rows = trace_rows(dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["source"], "static");
    assert_eq!(rows[0]["dry_run"], true);
}

#[test]
fn user_flags_after_dashdash_beat_the_profile() {
    let dir = project(1, 4096);
    let out = run_in(
        dir.path(),
        &["--dry-run", "--smart-run-debug", "--", "-c", "1024"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let argv = text(&out.stdout);
    assert!(argv.contains("--ctx-size 1024"), "{argv}");
    assert!(!argv.contains("--ctx-size 512"), "{argv}");
    assert!(
        text(&out.stderr).contains("source=user field=--ctx-size value=1024"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn invalid_user_flags_are_refused_not_dropped() {
    let dir = project(1, 4096);
    let out = run_in(
        dir.path(),
        &["--dry-run", "--", "--flash-attn", "sometimes"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("run::flags"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

/// Each misbehaviour: the static argv and `source=static` with the reason's code; under strict,
/// exit 1, nothing on stdout, the same code.
fn falls_back(reply: Reply, code: &str) {
    for strict in [false, true] {
        let advisor = FakeAdvisor::start(reply.clone());
        let dir = project(advisor.port, 4096);
        let static_argv = start_dry_run(dir.path());
        let mut args = vec!["--smart-run", "--smart-run-debug", "--dry-run"];
        if strict {
            args.push("--smart-run-strict");
        }
        let out = run_in(dir.path(), &args);
        let err = text(&out.stderr);
        assert!(err.contains("source=static"), "{err}");
        assert!(err.contains(code), "expected {code}: {err}");
        if strict {
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(out.stdout.is_empty(), "strict launches nothing");
        } else {
            assert!(out.status.success(), "{err}");
            assert_eq!(text(&out.stdout), static_argv);
        }
        let rows = trace_rows(dir.path());
        assert_eq!(rows.last().unwrap()["source"], "static");
        assert_eq!(rows.last().unwrap()["failed"], strict);
    }
}

#[test]
fn garbage_body_falls_back() {
    falls_back(
        Reply::Raw(200, "<html>not json \u{0}\u{1}".into()),
        "run::advice-bad-response",
    );
}

#[test]
fn http_500_falls_back() {
    falls_back(
        Reply::Raw(500, r#"{"error":"overloaded"}"#.into()),
        "run::advice-http-status",
    );
}

#[test]
fn a_reply_slower_than_the_timeout_falls_back() {
    falls_back(Reply::Slow(Duration::from_secs(5)), "run::advice-timeout");
}

#[test]
fn advice_outside_the_schema_falls_back() {
    // Placement is not the advisor's to change: not in the schema, so the whole advice goes.
    falls_back(
        Reply::Content(r#"{"n_gpu_layers": 99, "reason": "more GPU"}"#.into()),
        "run::advice-schema",
    );
    falls_back(
        Reply::Content(r#"{"ctx_size": "huge", "reason": "x"}"#.into()),
        "run::advice-schema",
    );
    falls_back(
        Reply::Content(r#"{"cache_type_k": "q3_k", "reason": "x"}"#.into()),
        "run::advice-schema",
    );
}

#[test]
fn content_that_is_not_json_falls_back() {
    falls_back(
        Reply::Content("Sure! Use more threads.".into()),
        "run::advice-not-json",
    );
}

#[test]
fn a_refused_connection_falls_back() {
    // A port that was just free: nothing listens there.
    let port = crate::support::free_port();
    for strict in [false, true] {
        let dir = project(port, 4096);
        let mut args = vec!["--smart-run", "--smart-run-debug", "--dry-run"];
        if strict {
            args.push("--smart-run-strict");
        }
        let out = run_in(dir.path(), &args);
        let err = text(&out.stderr);
        assert!(err.contains("run::advice-unreachable"), "{err}");
        assert_eq!(out.status.code(), Some(if strict { 1 } else { 0 }), "{err}");
    }
}

#[test]
fn the_request_carries_the_schema_in_the_shape_llama_server_honours() {
    let advisor = FakeAdvisor::start(Reply::Content(r#"{"reason": "ok"}"#.into()));
    let dir = project(advisor.port, 4096);
    let out = run_in(dir.path(), &["--smart-run", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: serde_json::Value = serde_json::from_str(&advisor.request().unwrap()).unwrap();
    assert_eq!(body["model"], "advisor-under-test");
    let rf = &body["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["strict"], true);
    assert_eq!(rf["json_schema"]["name"], "profilec_run_advice");
    let schema = &rf["json_schema"]["schema"];
    assert_eq!(schema["additionalProperties"], false);
    let props = schema["properties"].as_object().unwrap();
    for placement in [
        "n_gpu_layers",
        "model",
        "override_tensor",
        "device",
        "tensor_split",
    ] {
        assert!(
            !props.contains_key(placement),
            "{placement} is not allowlisted"
        );
    }
    // Ranges from profilec's knowledge: the fixture's trained context, the machine's cores,
    // the flag table's cache types.
    assert_eq!(props["ctx_size"]["maximum"], 4096);
    assert_eq!(props["threads"]["maximum"], 4);
    let kinds = props["cache_type_k"]["enum"].as_array().unwrap();
    assert!(kinds.contains(&serde_json::json!("q8_0")));
    assert!(
        props["flash_attn"]["enum"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("auto"))
    );
    // The local model path never leaves the machine.
    let prompt = body["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("llama-gqa.gguf"));
    assert!(
        !prompt.contains(&fixture("").display().to_string()),
        "{prompt}"
    );
}

/// `run tiny --smart-run --smart-run-debug --dry-run EXTRA` against an advisor answering
/// `advice`, on a machine with `capacity_mib` for llama.cpp: the project, stderr and stdout of a
/// run that succeeded.
fn advised(advice: &str, capacity_mib: u64, extra: &[&str]) -> (tempfile::TempDir, String, String) {
    let advisor = FakeAdvisor::start(Reply::Content(advice.into()));
    let dir = project(advisor.port, capacity_mib);
    let mut args = vec!["--smart-run", "--smart-run-debug", "--dry-run"];
    args.extend(extra);
    let out = run_in(dir.path(), &args);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("source=llm model=advisor-under-test"), "{err}");
    (dir, err, text(&out.stdout))
}

#[test]
fn out_of_range_advice_is_clamped_and_the_user_still_wins() {
    let advice = r#"{"threads": 4096, "threads_batch": 3, "ubatch_size": 9000, "batch_size": 256, "reason": "go"}"#;
    let (dir, err, argv) = advised(advice, 4096, &["--smart-run-strict", "--", "-tb", "1"]);
    assert!(
        err.contains("response_id=chatcmpl-fake-1 created=1764400000"),
        "{err}"
    );
    // threads: 4096 → the machine's 4 logical cores.
    assert!(argv.contains("--threads 4"), "{argv}");
    assert!(err.contains("clamped from 4096 to 4"), "{err}");
    // ubatch: 9000 → the schema's 8192 → the advised batch 256.
    assert!(argv.contains("--batch-size 256"), "{argv}");
    assert!(argv.contains("--ubatch-size 256"), "{argv}");
    // The user's -tb 1 beats the advised 3.
    assert!(argv.contains("--threads-batch 1"), "{argv}");
    assert!(
        err.contains("source=user field=--threads-batch value=1"),
        "{err}"
    );
    let row = trace_rows(dir.path()).pop().unwrap();
    assert_eq!(row["source"], "llm");
    assert_eq!(row["advice"]["reply"]["id"], "chatcmpl-fake-1");
    let merged: Vec<String> = serde_json::from_value(row["merged_argv"].clone()).unwrap();
    assert_eq!(argv.split_whitespace().skip(1).collect::<Vec<_>>(), merged);
}

#[test]
fn advice_that_does_not_fit_is_rejected_field_by_field() {
    // 20 MiB for llama.cpp on the CPU: a 4096-token physical batch needs ~50 MiB of compute.
    let advice =
        r#"{"batch_size": 4096, "ubatch_size": 4096, "threads": 3, "reason": "bigger batches"}"#;
    // llama.cpp caps the batch at the context: a 4096-token one needs a 4096 context.
    let (_dir, err, argv) = advised(advice, 20, &["--", "-c", "4096"]);
    assert!(
        err.contains("source=static field=--ubatch-size") && err.contains("does not fit CPU:"),
        "{err}"
    );
    assert!(!argv.contains("--ubatch-size 4096"), "{argv}");
    // The rest is kept.
    assert!(argv.contains("--threads 3"), "{argv}");
}

#[test]
fn auto_batch_takes_the_largest_ubatch_that_fits() {
    let dir = project(1, 20);
    let out = run_in(
        dir.path(),
        &[
            "--auto-batch",
            "--smart-run-debug",
            "--dry-run",
            "--",
            "-c",
            "4096",
        ],
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let argv: Vec<String> = text(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let ub: u64 = argv[argv.iter().position(|a| a == "--ubatch-size").unwrap() + 1]
        .parse()
        .unwrap();
    assert!(err.contains("auto-batch: the largest"), "{err}");
    // By the memory model: this physical batch fits the 20 MiB, twice it does not.
    let fits = |ub: u64| {
        let out = profilec()
            .current_dir(dir.path())
            .args(["plan", "--model"])
            .arg(fixture("llama-gqa.gguf"))
            .args(["--hardware", "profilec.toml", "--format", "json", "--"])
            .args(["-c", "4096", "-np", "1", "-t", "2", "-b"])
            .arg(ub.to_string())
            .arg("-ub")
            .arg(ub.to_string())
            .output()
            .unwrap();
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["fits"].as_bool().unwrap()
    };
    assert!(fits(ub), "ubatch {ub} was chosen but does not fit");
    assert!(
        !fits(ub * 2),
        "ubatch {} fits too: {ub} is not the largest",
        ub * 2
    );
}

#[test]
fn a_model_directory_for_vllm_is_not_run_yet() {
    let out = profilec()
        .args(["run", "--model"])
        .arg(fixture("hf/llama"))
        .arg("--dry-run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("run::vllm-not-supported"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_model_dry_run_launches_optimizes_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    let out = profilec()
        .current_dir(dir.path())
        .args(["run", "--model"])
        .arg(fixture("llama-gqa.gguf"))
        .args(["--hardware"])
        .arg(crate::support::root().join("profiles/cpu-only.toml"))
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let argv = text(&out.stdout);
    assert!(argv.contains("--model "), "{argv}");
    assert!(argv.contains("--ctx-size 4096"), "{argv}");
    assert!(argv.contains("--threads "), "{argv}");
    // What optimize planned: one slot, and f16 caches because cpu-only.toml's q8_0 does not
    // divide this model's 16-wide heads (llama.cpp would refuse the context).
    assert!(argv.contains("--parallel 1"), "{argv}");
    assert!(
        argv.contains("--cache-type-k f16") && argv.contains("--cache-type-v f16"),
        "{argv}"
    );
    assert_eq!(trace_rows(dir.path()).len(), 1);
}
