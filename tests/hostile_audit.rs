//! Issue 12 re-tried on a later main: variants of its findings that still got through, each
//! test named after the finding it extends (the originals are in tests/hostile.rs).

use std::fs;

use crate::support::{self, profilec_in as run, stderr_of as stderr};

/// A project with llama-gqa (heads 16 wide) in models/ and the reference rig's profilec.toml
/// beside `conf`, whose `[defaults]` set `cache-type-k = "q8_0"` and flash attention on.
fn rig_project(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    fs::create_dir_all(&models).expect("models/");
    fs::copy(support::fixture("llama-gqa.gguf"), models.join("m.gguf")).expect("model");
    support::write_rig_toml(dir.path(), "profiles/profilec.toml", &models);
    fs::write(dir.path().join("models.conf"), conf).expect("models.conf");
    dir
}

/// `check --format json`: (code, line) of every error.
fn errors(dir: &std::path::Path) -> Vec<(String, u64)> {
    let o = run(&["check", "models.conf", "--format", "json"], dir);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn q8_0_k_cache_from_the_toml_defaults_is_an_error_in_check_as_in_plan() {
    // `plan` refused it ("`profilec check` shows where they are set") while check passed: the
    // budget rules dropped the plan's error.
    let dir = rig_project(
        "[a]\nNAME=A\nMODEL=m.gguf\nCTX_SIZE=4096\n\n\
         [b]\nNAME=B\nMODEL=m.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=-ctk f16 -ctv f16\n\n\
         [c]\nNAME=C\nMODEL=m.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=-ctk q8_0 -ctv f16\n",
    );
    // a: at MODEL, named as the toml's; b overrides it; c: once, at its own `-ctk`.
    assert_eq!(
        errors(dir.path()),
        [
            ("budget::bad-kv".to_string(), 3),
            ("model::kv-block-size".to_string(), 16)
        ]
    );
    let json = run(&["check", "models.conf", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let d = &v["diagnostics"][0];
    let human = stderr(&run(&["check", "models.conf"], dir.path()));
    assert!(
        human.contains("`--cache-type-k q8_0` comes from profilec.toml's [defaults]"),
        "{human}"
    );
    assert!(
        d["help"]
            .as_str()
            .is_some_and(|h| h.contains("override it in this profile's EXTRA_ARGS")),
        "{d}"
    );
    let plan = run(&["plan", "a", "models.conf"], dir.path());
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    assert!(
        stderr(&plan).contains("budget::bad-kv"),
        "{}",
        stderr(&plan)
    );
}

#[test]
fn check_refuses_parallel_beyond_256_and_a_context_beyond_the_model_as_plan_does() {
    // `-np 100000 -c 1e8` and CTX_SIZE=1e9: plan refuses both (llama-server refuses more than
    // LLAMA_MAX_SEQ sequences); check gave a warning about the trained context only.
    let dir = rig_project(
        "[p]\nNAME=P\nMODEL=m.gguf\nEXTRA_ARGS=-ctk f16 -np 100000 -c 100000000\n\n\
         [c]\nNAME=C\nMODEL=m.gguf\nCTX_SIZE=1000000000\nEXTRA_ARGS=-ctk f16\n\n\
         [v]\nNAME=V\nMODEL=m.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=-ctk f16 -ctv q4_0 -fa off\n",
    );
    assert_eq!(
        errors(dir.path()),
        [
            ("budget::out-of-range".to_string(), 4),
            ("budget::out-of-range".to_string(), 9),
            ("budget::bad-kv".to_string(), 16)
        ]
    );
    let human = stderr(&run(&["check", "models.conf"], dir.path()));
    assert!(human.contains("--parallel 100000 is beyond"), "{human}");
    assert!(human.contains("--ctx-size 1000000000 is beyond"), "{human}");
    assert!(human.contains("turn flash attention on"), "{human}");
    for id in ["p", "c", "v"] {
        let plan = run(&["plan", id, "models.conf"], dir.path());
        assert_eq!(plan.status.code(), Some(1), "{id}: {}", stderr(&plan));
    }
}

#[test]
fn mark_tested_refuses_control_bytes_in_the_speed() {
    // An escape sequence in SPEED went into models.conf and straight to the terminal.
    let text = "# NOT YET TESTED\n[a]\nNAME=A\nMODEL=a.gguf\n";
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("models.conf"), text).expect("models.conf");
    let o = run(
        &[
            "mark-tested",
            "a",
            "--speed",
            "~1 t/s\u{1b}[2J",
            "models.conf",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!o.stderr.contains(&0x1b), "ESC reached the terminal");
    assert!(stderr(&o).contains("U+001B"), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("models.conf")).expect("read"),
        text
    );
}

#[test]
fn new_keeps_the_group_of_the_file_it_rewrites() {
    // The rename of a rewritten models.conf gave it the writer's group.
    use std::os::unix::fs::MetadataExt;
    let dir = rig_project("[x]\nNAME=X\nMODEL=m.gguf\n");
    let conf = dir.path().join("models.conf");
    let other = if fs::metadata(&conf).expect("meta").gid() == 1 {
        2
    } else {
        1
    };
    if std::os::unix::fs::chown(&conf, None, Some(other)).is_err() {
        // Only root (or a member of another group) can give the file another group.
        eprintln!("skipped: cannot chgrp the test file");
        return;
    }
    let model = dir.path().join("models/m.gguf");
    let o = run(
        &[
            "new",
            "--id",
            "n",
            "--file",
            "models.conf",
            model.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::read_to_string(&conf).expect("read").contains("[n]"));
    assert_eq!(fs::metadata(&conf).expect("meta").gid(), other);
}

#[test]
fn a_fifo_as_model_is_named_a_named_pipe_by_check_and_plan_without_a_hang() {
    // `inspect FIFO` was fixed; as a profile's MODEL, check and render said "not found".
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("models")).expect("models/");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("models/m.gguf"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    fs::write(
        dir.path().join("models.conf"),
        "[f]\nNAME=F\nMODEL=m.gguf\n",
    )
    .expect("models.conf");
    for (args, code) in [
        (&["check", "models.conf"][..], 1),
        (&["render", "f", "models.conf"], 1),
        (&["plan", "f", "models.conf"], 2),
    ] {
        let o = support::output_within(support::profilec().args(args).current_dir(dir.path()));
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("a named pipe (FIFO)"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(
            !stderr(&o).contains("not found"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn check_refuses_parallel_beyond_256_without_a_profilec_toml() {
    // The plan's refusal needs the machine; without a profilec.toml `-np 300` passed check while
    // llama-server exits at load (LLAMA_MAX_SEQ).
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("models.conf"),
        "[a]\nNAME=A\nMODEL=m.gguf\nEXTRA_ARGS=-np 300\n\n[b]\nNAME=B\nMODEL=m.gguf\nEXTRA_ARGS=-np 256\n",
    )
    .expect("models.conf");
    assert_eq!(
        errors(dir.path()),
        [("budget::out-of-range".to_string(), 4)],
        "only -np 300 is refused"
    );
    let human = stderr(&run(&["check", "models.conf"], dir.path()));
    // miette wraps the help to the width: compare the words.
    let words = human.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("--parallel 300 is beyond"), "{human}");
    assert!(words.contains("use --parallel 256 or fewer"), "{human}");
}
