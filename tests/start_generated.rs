//! `profilec start` end to end on a generated model: the real llama-server b11434 serving
//! models/llama-gqa.gguf (written by scripts/make_fixtures.py). Same path as tests/start_real.rs
//! (check, render, launch, /health, one completion, SIGINT, the log parsed and the observation
//! recorded), but on a file whose every tensor we chose, so the plan is checked on a model that
//! is not the one the memory model was tuned on.

use crate::launch_support;
use crate::support;

use std::fs;
use std::time::Duration;

use crate::support::models_dir;
use launch_support::free_port;

// f16 caches (llama-server's default): the fixtures' 16-wide heads cannot take a q8_0 cache.
fn setup(port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("models.conf"),
        "# generated-model profiles\n[tiny]\nNAME=tiny llama GQA\nMODEL=llama-gqa.gguf\n\
         CTX_SIZE=2048\nEXTRA_ARGS=-np 1 -t 2 --temp 0\n",
    )
    .expect("models.conf");
    fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "[cpu]\nram_mib = 8192\n\n[runtime]\nmodels_dir = \"{}\"\nhost = \"127.0.0.1\"\nport = {port}\n",
            models_dir().display()
        ),
    )
    .expect("profilec.toml");
    dir
}

#[test]
fn start_serves_the_generated_llama_and_matches_its_plan() {
    if support::real_server().is_none() {
        return;
    }
    let port = free_port();
    let dir = setup(port);
    let conf = dir.path().join("models.conf");
    let mut started = launch_support::start_profile("tiny", &conf, port, 120);

    // Before the fixtures carried <0xXX> byte tokens, tokenizing this prompt failed (llama-server
    // answered 400 "unordered_map::at"; llama-completion aborted).
    let body = launch_support::complete(port, "hello world", 4, Duration::from_secs(60));
    assert_eq!(body["tokens_predicted"], 4, "{body}");

    let status = started.stop();
    assert_eq!(status.code(), Some(0));
    let (row, cpu) = launch_support::observed_run(dir.path(), "tiny", port, 2048);
    // 4 layers x 2048 cells x (K + V) x 2 KV heads x 16 x f16 = exactly 1 MiB.
    assert_eq!(cpu["kv_mib"].as_f64(), Some(1.0), "{cpu}");
    assert!(cpu["weights_mib"].as_f64().unwrap_or(0.0) > 0.2, "{cpu}");

    // Weights, KV and output exact to 0.01 MiB, compute within 5 % (docs/accuracy.md).
    launch_support::assert_observed_matches_plan(&row);
}
