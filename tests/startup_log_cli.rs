//! `profilec log` through the built binary: exit codes and the JSON object.

use crate::support;
use std::path::PathBuf;
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    crate::support::test_fixture(&format!("logs/{name}"))
}

fn profilec(args: &[&std::ffi::OsStr]) -> Output {
    support::profilec()
        .arg("log")
        .args(args)
        .output()
        .expect("run profilec")
}

fn run(name: &str, format: &str) -> Output {
    let p = fixture(name);
    profilec(&[p.as_os_str(), "--format".as_ref(), format.as_ref()])
}

#[test]
fn exit_codes_follow_the_outcome() {
    for (name, code) in [
        ("gemma3-swa-real-270m_server.log", 0),
        ("gemma3-270m_server_lv4.log", 0),
        ("gemma3-270m_completion_lv4.log", 0),
        ("llama-dense_server_default-verbosity.log", 0),
        ("gemma3-270m_server_oom-kv.log", 1),
        ("gemma3-270m_server_oom-weights.log", 1),
        ("server_missing-model.log", 1),
        ("server_truncated-model.log", 1),
        ("llama-quantV-faoff-error_completion.log", 1),
    ] {
        for format in ["human", "json"] {
            let out = run(name, format);
            assert_eq!(out.status.code(), Some(code), "{name} --format {format}");
        }
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let p = fixture("no-such.log");
    let out = profilec(&[p.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read") && err.contains("no-such.log"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_log_is_rejected_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("Cargo.toml");
    std::fs::copy(crate::support::root().join("Cargo.toml"), &p).expect("copy");
    let out = profilec(&[p.as_os_str()]);
    // Read, but not a log: 1, as `inspect` exits 1 for a file that is not a GGUF; 2 is for a
    // file that cannot be read (docs/startup-log.md).
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a llama.cpp log"), "{err}");
    assert!(err.contains("help:"), "{err}");
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").expect("write");
    let out = profilec(&[empty.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the log is empty"));
}

#[test]
fn json_is_one_object_with_the_logged_numbers() {
    let out = run("gemma3-swa-real-270m_server.log", "json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["outcome"], "loaded");
    assert_eq!(v["program"], "llama-server");
    assert_eq!(v["model_buffers"][1]["name"], "CPU_REPACK");
    assert_eq!(v["model_buffers"][1]["mib"], 12.66);
    assert_eq!(v["kv_caches"][0]["kind"], "non-swa");
    assert_eq!(v["kv_caches"][0]["cells"], 4096);
    assert_eq!(v["kv_caches"][1]["kind"], "swa");
    assert_eq!(v["graph"]["splits"], 1);
    assert_eq!(v["memory_breakdown"][0]["self"], 285);
    assert_eq!(v["per_device"][0]["total_mib"], 299.1);
    // Two decimals as printed, not float noise.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"mib\": 235.16"), "{text}");

    let out = run("gemma3-270m_server_oom-kv.log", "json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["outcome"], "failed");
    assert_eq!(v["failure"]["kind"], "out-of-memory");
    assert_eq!(v["failure"]["oom"]["allocation"], "kv-cache");
    assert_eq!(v["failure"]["oom"]["requested_bytes"], 16106127360u64);
    assert_eq!(v["failure"]["oom"]["requested_mib"], 15360.0);
}

#[test]
fn json_round_trips_into_the_report_type() {
    let out = run("gemma3-270m_server_lv4_fit-auto-ctx.log", "json");
    let r: profilec::startup_log::StartupReport =
        serde_json::from_slice(&out.stdout).expect("deserialises");
    let direct =
        profilec::startup_log::read_log(&fixture("gemma3-270m_server_lv4_fit-auto-ctx.log"))
            .expect("parses");
    assert_eq!(r, direct);
}

#[test]
fn human_output_has_a_row_per_device_and_the_failure() {
    let out = run("gemma3-swa-real-270m_server.log", "human");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("outcome:   loaded, listening on http://127.0.0.1:50835"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("CPU "))
        .expect("CPU row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cols,
        ["CPU", "247.82", "27.00", "0.00", "23.28", "1.00", "299.10"]
    );

    let out = run("gemma3-270m_server_oom-weights.log", "human");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAILED (out of memory) at line 129"),
        "{text}"
    );
    assert!(
        text.contains("222.51 MiB (233316864 bytes) for model weights in a CPU buffer"),
        "{text}"
    );

    let out = run("gemma3-270m_server_default-verbosity.log", "human");
    assert!(String::from_utf8_lossy(&out.stdout).contains("-lv 4"));
}
