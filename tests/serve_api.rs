//! `profilec serve`: the management API over real HTTP on 127.0.0.1 — the token, the error
//! statuses, the models/plan/doctor responses, provisioning with one download per file, the
//! OpenAPI document, and a bounded load benchmark.

use std::fs;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::serve_support::{FileServer, Server, TOKEN, call};
use crate::support::{assert_schema, profilec, root};

/// Two profiles over the fixtures (one with roles), one whose model is missing.
fn project() -> tempfile::TempDir {
    crate::doctor::project_dir(
        "[chat]\nNAME=Chat\nMODEL=llama-gqa.gguf\nROLES=general\nEXTRA_ARGS=-ctk f16 -ctv f16\n\n\
         [coder]\nNAME=Coder\nMODEL=qwen3moe.gguf\nROLES=coding\nEXTRA_ARGS=-ctk f16 -ctv f16\n\n\
         [absent]\nNAME=Absent\nMODEL=not-here.gguf\n",
        "",
    )
}

#[test]
fn no_token_or_a_wrong_one_is_401_without_details() {
    let dir = project();
    let server = Server::start(&dir.path().join("models.conf"), Some(TOKEN), &[]);
    for token in [None, Some("wrong"), Some("test-token-0123456789abcdeX")] {
        let (status, body) = call("GET", &server.url("/api/v1/models"), token, None);
        assert_eq!(status, 401, "{token:?}");
        assert!(body.is_empty(), "401 has no body: {body}");
    }
    // Unknown paths are 401 too without the token: nothing is revealed.
    let (status, _) = call("GET", &server.url("/api/v1/secret"), None, None);
    assert_eq!(status, 401);
    let (status, _) = call("GET", &server.url("/api/v1/models"), Some(TOKEN), None);
    assert_eq!(status, 200);
}

#[test]
fn wrong_method_is_405_and_malformed_json_is_400_with_the_reason() {
    let dir = project();
    let server = Server::start(&dir.path().join("models.conf"), Some(TOKEN), &[]);
    let (status, _) = call("DELETE", &server.url("/api/v1/models"), Some(TOKEN), None);
    assert_eq!(status, 405);
    let (status, _) = call(
        "GET",
        &server.url("/api/v1/models/provision"),
        Some(TOKEN),
        None,
    );
    assert_eq!(status, 405);
    let url = server.url("/api/v1/models/provision");
    let (status, body) = call("POST", &url, Some(TOKEN), Some(r#"{"roles": ["coding""#));
    assert_eq!(status, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(v["code"], "api::bad-json");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("EOF while parsing"),
        "{v}"
    );
    let (status, body) = call("POST", &url, Some(TOKEN), Some(r#"{"roles": "coding"}"#));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid type"), "{body}");
    let (status, body) = call(
        "POST",
        &url,
        Some(TOKEN),
        Some(r#"{"roles": [], "forse": true}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown field `forse`"), "{body}");
    let (status, body) = call("POST", &url, Some(TOKEN), Some(r#"{"roles": ["nobody"]}"#));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("pull::unknown-role"), "{body}");
}

#[test]
fn models_plan_and_doctor() {
    let dir = project();
    let server = Server::start(&dir.path().join("models.conf"), None, &["--no-auth"]);
    let (status, body) = call("GET", &server.url("/api/v1/models"), None, None);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let models = v["models"].as_array().expect("models");
    let ids: Vec<&str> = models.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["chat", "coder", "absent"]);
    assert_eq!(models[1]["roles"], serde_json::json!(["coding"]));
    assert_eq!(models[0]["status"], "present");
    assert_eq!(models[2]["status"], "missing");
    assert!(models[2]["plan_error"].is_string(), "{}", models[2]);
    let plan = &models[0]["plan"];
    assert_eq!(plan["fits"], true, "{plan}");
    assert_eq!(plan["devices"][0]["name"], "CPU");
    assert!(plan["devices"][0]["total_mib"].as_f64().unwrap_or(0.0) > 0.0);

    let (status, body) = call("GET", &server.url("/api/v1/models/chat/plan"), None, None);
    assert_eq!(status, 200, "{body}");
    let p: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let cli = profilec()
        .args(["plan", "chat"])
        .arg(dir.path().join("models.conf"))
        .args(["--format", "json"])
        .output()
        .expect("plan");
    let c: serde_json::Value = serde_json::from_slice(&cli.stdout).expect("plan JSON");
    assert_eq!(p["argv"], c["argv"]);
    assert_eq!(p["devices"], c["devices"]);
    let (status, body) = call("GET", &server.url("/api/v1/models/nope/plan"), None, None);
    assert_eq!(status, 404);
    assert!(body.contains("project::unknown-profile"), "{body}");
    let (status, _) = call("GET", &server.url("/api/v1/models/absent/plan"), None, None);
    assert_eq!(status, 422);

    let (status, body) = call("GET", &server.url("/api/v1/doctor?id=chat"), None, None);
    assert_eq!(status, 200, "{body}");
    let d: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_schema(&d, "docs/doctor.schema.json");
    assert_eq!(d["profile"]["id"], "chat");
    let (status, body) = call(
        "GET",
        &server.url("/api/v1/doctor?min_free_ratio=3"),
        None,
        None,
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = call("GET", &server.url("/api/v1/nothing"), None, None);
    assert_eq!(status, 404, "{body}");
}

#[test]
fn serve_refuses_to_start_without_a_token_unless_loopback_and_no_auth() {
    let dir = project();
    let conf = dir.path().join("models.conf");
    let run = |args: &[&str], token: Option<&str>| {
        let mut cmd = profilec();
        cmd.arg("serve")
            .arg(&conf)
            .args(args)
            .env_remove("PROFILEC_API_TOKEN");
        if let Some(t) = token {
            cmd.env("PROFILEC_API_TOKEN", t);
        }
        cmd.output().expect("run")
    };
    let out = run(&["--bind", "127.0.0.1:1"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PROFILEC_API_TOKEN is not set"));
    let out = run(&["--bind", "0.0.0.0:1", "--no-auth"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only allowed on a loopback"));
    let out = run(&["--bind", "127.0.0.1:1", "--no-auth"], Some(TOKEN));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_server_stops_on_sigterm() {
    let dir = project();
    let mut server = Server::start(&dir.path().join("models.conf"), Some(TOKEN), &[]);
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn concurrent_provisions_of_one_file_download_it_once() {
    let files = FileServer::start(root().join("models/llama-gqa.gguf"));
    // The models folder is the test's own: the download lands there, never in the repository.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("models.conf"),
        format!(
            "[chat]\nNAME=Chat\nMODEL=llama-gqa.gguf\nROLES=general\n\
             SOURCE=http://127.0.0.1:{}/llama-gqa.gguf\nEXTRA_ARGS=-ctk f16 -ctv f16\n",
            files.port
        ),
    )
    .expect("models.conf");
    fs::write(
        dir.path().join("profilec.toml"),
        "[cpu]\nram_mib = 65536\n\n[runtime]\nmodels_dir = \"models\"\n",
    )
    .expect("profilec.toml");
    let server = Server::start(&dir.path().join("models.conf"), Some(TOKEN), &[]);
    let url = server.url("/api/v1/models/provision");
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| call("POST", &url, Some(TOKEN), Some(r#"{"roles": ["general"]}"#))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut actions = Vec::new();
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
        actions.push(v["actions"][0]["action"].as_str().unwrap_or("").to_string());
    }
    actions.sort();
    assert_eq!(
        actions,
        ["downloaded", "present", "present", "present"],
        "{answers:?}"
    );
    assert_eq!(
        files.downloads.load(Ordering::SeqCst),
        1,
        "one transfer of the file"
    );
    let want = fs::read(root().join("models/llama-gqa.gguf")).expect("fixture");
    let got = fs::read(dir.path().join("models/llama-gqa.gguf")).expect("installed model");
    assert!(got == want, "the installed file is the served file");
}

#[test]
fn openapi_document_is_current() {
    let generated = profilec::serve::openapi_json();
    let path = root().join("docs/api/openapi.json");
    let on_disk = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/api/openapi.json is not what the code generates: run \
         `cargo run --quiet -- serve --openapi > docs/api/openapi.json`"
    );
    let v: serde_json::Value = serde_json::from_str(&generated).expect("JSON");
    for p in [
        "/api/v1/models",
        "/api/v1/models/{id}/plan",
        "/api/v1/doctor",
        "/api/v1/models/provision",
    ] {
        assert!(v["paths"][p].is_object(), "{p} missing");
    }
}

/// Benchmark, not a check of speed: 2,000 GET /api/v1/models, 32 at a time, on loopback;
/// prints p50/p99 (docs/performance.md). `cargo test --test integration serve_api::load -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run by hand, see docs/performance.md"]
fn load_models_2000_requests_32_concurrent() {
    const REQUESTS: usize = 2000;
    const CONCURRENCY: usize = 32;
    let dir = project();
    let server = Server::start(&dir.path().join("models.conf"), Some(TOKEN), &[]);
    let url = server.url("/api/v1/models");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                s.spawn(|| {
                    let agent = crate::serve_support::agent();
                    let mut mine = Vec::new();
                    while next.fetch_add(1, Ordering::SeqCst) < REQUESTS {
                        let t = Instant::now();
                        let r = agent
                            .get(&url)
                            .header("Authorization", format!("Bearer {TOKEN}"))
                            .call()
                            .expect("request");
                        assert_eq!(r.status().as_u16(), 200);
                        let _ = r.into_body().read_to_string();
                        mine.push(t.elapsed());
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let wall = started.elapsed();
    assert_eq!(latencies.len(), REQUESTS);
    latencies.sort();
    let at =
        |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).min(latencies.len()) - 1];
    println!(
        "GET /api/v1/models: {REQUESTS} requests, {CONCURRENCY} concurrent, {:.1} s wall, \
         {:.0} req/s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        wall.as_secs_f64(),
        REQUESTS as f64 / wall.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
}
