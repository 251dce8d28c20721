//! Remote headers (docs/remote.md): `plan`, `inspect` and `new` of `hf://…` and URLs against a
//! real HTTP server on 127.0.0.1 (tests/http_support), counting the bytes it serves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::http_support::{Fault, HubServer};
use crate::support::stderr_of as stderr;
use crate::support::{fixture, free_port, generated_models, profilec, root};

const SPLIT: &str = "llama-3.1-8b-shaped-q4_k_m";
const MIB: u64 = 1 << 20;
const KEY_TINY: &str = "org/tiny/llama-gqa.gguf";

/// The split, header-only Llama 3.1 8B (scripts/make_split_header_model.py), written once.
fn split_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| generated_models("make_split_header_model.py", "header-models/split"))
}

fn shard(i: u32) -> PathBuf {
    split_dir().join(format!("{SPLIT}-{i:05}-of-00003.gguf"))
}

fn key(i: u32) -> String {
    format!("org/llama/Q4_K_M/{SPLIT}-{i:05}-of-00003.gguf")
}

fn with_hub(cmd: &mut Command, hub: &HubServer) -> Output {
    cmd.env("HF_ENDPOINT", hub.endpoint())
        .env_remove("HF_TOKEN")
        .output()
        .expect("profilec runs")
}

fn plan_json(model: &str, hub: &HubServer) -> String {
    let o = with_hub(
        profilec()
            .args(["plan", "--format", "json", "--hardware"])
            .arg(root().join("profiles/profilec.toml"))
            .args(["--model", model, "--", "-c", "8192"]),
        hub,
    );
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", stderr(&o));
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn plan_of_a_split_hub_model_reads_only_headers_and_equals_the_local_plan() {
    let hub = HubServer::start();
    for i in 1..=3 {
        hub.add(&key(i), &shard(i), Fault::None);
    }
    let remote = plan_json(&format!("hf://{}", key(1)), &hub);
    let local = plan_json(&shard(1).display().to_string(), &hub);
    // The same plan, the model's location aside.
    let dir = split_dir().display().to_string();
    assert_eq!(remote.replace("hf://org/llama/Q4_K_M", &dir), local);
    assert!(
        remote.contains("\"weights") || remote.len() > 1000,
        "{remote}"
    );
    // Tensor data is never fetched: shards 2 and 3 cost under 2 MiB each, the first its header
    // (the 128k-token tokenizer) plus under 2 MiB.
    let header_of_first = header_len(&shard(1));
    assert!(
        header_of_first > MIB,
        "the tokenizer makes a real header: {header_of_first}"
    );
    assert!(hub.bytes_for(&key(1)) < header_of_first + 2 * MIB);
    for i in 2..=3 {
        let served = hub.bytes_for(&key(i));
        assert!(served < 2 * MIB, "shard {i}: {served} bytes");
    }
    let files: u64 = (1..=3)
        .map(|i| std::fs::metadata(shard(i)).unwrap().len())
        .sum();
    assert!(
        hub.bytes_served() * 100 < files,
        "served {} of {files}",
        hub.bytes_served()
    );
}

/// Where the tensor data of a local GGUF starts (its header's length).
fn header_len(path: &Path) -> u64 {
    let f = profilec::gguf::read_file(path).expect("read local shard");
    f.data_offset
}

#[test]
fn inspect_of_a_hub_model_follows_the_redirect_and_sends_the_token_only_to_the_hub() {
    let hub = HubServer::start();
    let storage = HubServer::start();
    for server in [&hub, &storage] {
        server.add(KEY_TINY, &fixture("llama-gqa.gguf"), Fault::None);
    }
    hub.redirect_to(&storage.endpoint());
    let o = profilec()
        .args([
            "inspect",
            "--format",
            "json",
            "hf://org/tiny/llama-gqa.gguf@main",
        ])
        .env("HF_ENDPOINT", hub.endpoint())
        .env("HF_TOKEN", "hf_test_token")
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let remote: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let l = profilec()
        .args(["inspect", "--format", "json"])
        .arg(fixture("llama-gqa.gguf"))
        .output()
        .expect("runs");
    let local: serde_json::Value = serde_json::from_slice(&l.stdout).expect("json");
    assert_eq!(remote["facts"], local["facts"]);
    let log = hub.requests();
    assert!(
        log[0]
            .0
            .starts_with("GET /org/tiny/resolve/main/llama-gqa.gguf"),
        "{log:?}"
    );
    assert_eq!(log[0].1.as_deref(), Some("Bearer hf_test_token"));
    // The bytes come from the storage host, which never sees the token.
    let fetched = storage.requests();
    assert!(
        !fetched.is_empty() && hub.bytes_served() == 0,
        "{log:?} {fetched:?}"
    );
    assert!(
        fetched.iter().all(|(_, auth)| auth.is_none()),
        "the token leaked to the storage host: {fetched:?}"
    );
}

fn inspect_error(source: &str, hub: &HubServer, timeout: Option<&str>) -> (i32, String) {
    let mut cmd = profilec();
    cmd.args(["inspect", source]);
    if let Some(t) = timeout {
        cmd.env("PROFILEC_HTTP_TIMEOUT", t);
    }
    let o = with_hub(&mut cmd, hub);
    (o.status.code().unwrap_or(-1), stderr(&o))
}

#[test]
fn bad_remote_input_gets_a_clear_error() {
    let hub = HubServer::start();
    let readme = root().join("README.md");
    hub.add("org/tiny/readme.gguf", &readme, Fault::None);
    hub.add(
        "org/tiny/stalled.gguf",
        &fixture("llama-gqa.gguf"),
        Fault::Stall,
    );

    let (code, err) = inspect_error("hf://org/tiny/missing.gguf", &hub, None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error[remote::not-found]") && err.contains("HTTP 404"),
        "{err}"
    );

    let (code, err) = inspect_error("hf://org/tiny/readme.gguf", &hub, None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[gguf::not-gguf]"), "{err}");

    let (code, err) = inspect_error("hf://org/tiny/stalled.gguf", &hub, Some("1"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[remote::timeout]"), "{err}");

    let down = format!("http://127.0.0.1:{}/raw/x.gguf", free_port());
    let (code, err) = inspect_error(&down, &hub, None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[remote::unreachable]"), "{err}");

    let (code, err) = inspect_error("hf://org-only.gguf", &hub, None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[remote::bad-source]"), "{err}");
}

#[test]
fn a_hostile_header_claiming_a_huge_string_stops_at_the_transfer_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hostile.gguf");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"GGUF");
    bytes.extend_from_slice(&3u32.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes()); // tensors
    bytes.extend_from_slice(&1u64.to_le_bytes()); // one kv
    bytes.extend_from_slice(&(3u64 << 30).to_le_bytes()); // a 3 GiB key
    std::fs::write(&path, &bytes).expect("write");
    // Sparse: the file claims 4 GiB, so the claimed length passes the size check.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(4 << 30))
        .expect("extend");
    let hub = HubServer::start();
    hub.add("org/bad/hostile.gguf", &path, Fault::None);
    let (code, err) = inspect_error("hf://org/bad/hostile.gguf", &hub, None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[remote::header-too-large]"), "{err}");
    let cap = profilec::remote::HEADER_BUDGET + profilec::remote::CHUNK;
    assert!(hub.bytes_served() <= cap, "{} bytes", hub.bytes_served());
}

#[test]
fn new_from_the_hub_writes_source_and_the_model_path_pull_gives_it() {
    let hub = HubServer::start();
    hub.add(
        "org/tiny/llama-gqa.gguf",
        &fixture("llama-gqa.gguf"),
        Fault::None,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("models.conf");
    std::fs::write(
        dir.path().join("profilec.toml"),
        "[runtime]\nmodels_dir = \"models\"\n",
    )
    .expect("toml");
    let o = with_hub(
        profilec()
            .args([
                "new",
                "hf://org/tiny/llama-gqa.gguf",
                "--id",
                "tiny",
                "--file",
            ])
            .arg(&conf),
        &hub,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("next: profilec pull tiny"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(&conf).expect("written");
    assert!(
        text.contains("\nMODEL=llama-gqa.gguf\nSOURCE=hf://org/tiny/llama-gqa.gguf\n"),
        "{text}"
    );
    // The profile checks (a model not pulled yet is a warning), and pull installs it.
    std::fs::create_dir_all(dir.path().join("models")).expect("models dir");
    let c = profilec().arg("check").arg(&conf).output().expect("check");
    assert!(c.status.success(), "{}", stderr(&c));
    assert!(
        stderr(&c).contains("model::not-pulled")
            || String::from_utf8_lossy(&c.stdout).contains("model::not-pulled")
    );
    let p = with_hub(
        profilec().args(["pull", "--json", "--file"]).arg(&conf),
        &hub,
    );
    assert!(p.status.success(), "{}", stderr(&p));
    let installed = dir.path().join("models/llama-gqa.gguf");
    assert_eq!(
        std::fs::read(&installed).expect("installed"),
        std::fs::read(fixture("llama-gqa.gguf")).expect("fixture")
    );
}
