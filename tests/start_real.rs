//! `profilec start` end to end with the real llama-server b11434 on the real Gemma 3 270M:
//! check, render, launch without a shell, /health, one completion, SIGINT, the log parsed and
//! the observation recorded.

use crate::launch_support;
use crate::support;

use std::fs;
use std::time::Duration;

use launch_support::{free_port, real_parts};
use profilec::launch::http;

fn setup(port: u16, model: &std::path::Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = model.parent().expect("model dir");
    let name = model.file_name().expect("file name").to_string_lossy();
    fs::write(
        dir.path().join("models.conf"),
        format!(
            "# test profiles\n[gemma]\nNAME=Gemma 3 270M\nMODEL={name}\nCTX_SIZE=2048\nEXTRA_ARGS=--jinja -np 1 -t 2 --temp 0\n"
        ),
    )
    .expect("models.conf");
    fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "[cpu]\nram_mib = 8192\n\n[runtime]\nmodels_dir = \"{}\"\nhost = \"127.0.0.1\"\nport = {port}\n",
            models.display()
        ),
    )
    .expect("profilec.toml");
    dir
}

#[test]
fn dry_run_prints_the_command_and_starts_nothing() {
    let Some((_server, model)) = real_parts() else {
        return;
    };
    let port = free_port();
    let dir = setup(port, &model);
    let out = support::profilec()
        .args(["start", "gemma"])
        .arg(dir.path().join("models.conf"))
        .arg("--dry-run")
        .output()
        .expect("run");
    support::stdout_ok(&out);
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.contains("--ctx-size 2048"), "{line}");
    assert!(line.contains(&format!("--port {port}")), "{line}");
    let words = profilec::render::sh_split(line.trim()).expect("quoted line");
    assert!(words[0].ends_with("llama-server"), "{words:?}");
    assert!(http::get("127.0.0.1", port, "/health", Duration::from_millis(300)).is_err());
    // The short `start` binary does the same.
    let short = support::start_binary()
        .arg("gemma")
        .arg(dir.path().join("models.conf"))
        .arg("--dry-run")
        .output()
        .expect("run start");
    assert_eq!(short.stdout, out.stdout);
}

#[test]
fn start_serves_a_completion_and_stops_on_sigint() {
    let Some((_server, model)) = real_parts() else {
        return;
    };
    let port = free_port();
    let dir = setup(port, &model);
    let conf = dir.path().join("models.conf");
    let mut started = launch_support::start_profile("gemma", &conf, port, 120);
    launch_support::complete(port, "Hello", 8, Duration::from_secs(60));

    let status = started.stop();
    assert_eq!(status.code(), Some(0));
    let (row, cpu) = launch_support::observed_run(dir.path(), "gemma", port, 2048);
    assert!(cpu["weights_mib"].as_f64().unwrap_or(0.0) > 200.0, "{cpu}");

    // The plan recorded beside the measurement agrees within the memory model's accuracy:
    // weights, KV and output exact to 0.01 MiB, compute within 5 % (docs/accuracy.md).
    launch_support::assert_observed_matches_plan(&row);

    // `log --profile` reads the same log against the same plan.
    let out = support::profilec()
        .arg("log")
        .arg(dir.path().join(".profilec/logs/gemma.log"))
        .args(["--profile", "gemma", "--format", "json", "--file"])
        .arg(&conf)
        .output()
        .expect("log --profile");
    support::stdout_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let kv = v["comparison"]
        .as_array()
        .expect("comparison")
        .iter()
        .find(|d| d["device"] == "CPU" && d["component"] == "kv")
        .expect("CPU kv row");
    assert!(kv["diff_mib"].as_f64().unwrap_or(1.0).abs() <= 0.01, "{kv}");
}
