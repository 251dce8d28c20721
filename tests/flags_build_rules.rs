//! Which llama.cpp build's memory rules a plan follows (docs/flags.md, "Against b11434"): an
//! older llama-server's `--version` applies that build's rules (docs/memory-model.md §8.1), a
//! newer one gets one note, profilec.toml's declared build that differs from the binary gets
//! another, and `log --profile` plans with the build that wrote the log.

use std::path::Path;

use crate::flags_build::{fixture, profilec, real_server, text};
use crate::support::{self, root, test_fixture};

/// `profilec plan --model llama-gqa.gguf` on `hardware` following `server`, stdout + stderr.
fn plan(cache: &Path, server: &Path, hardware: &str, extra: &[&str]) -> String {
    let real = real_server().expect("checked by the caller");
    let model = support::fixture("llama-gqa.gguf");
    let hardware = root().join(hardware);
    let mut args = vec![
        "plan",
        "--model",
        model.to_str().unwrap(),
        "--hardware",
        hardware.to_str().unwrap(),
        "--",
        "-c",
        "512",
        "-ctk",
        "f16",
        "-ctv",
        "f16",
    ];
    args.extend_from_slice(extra);
    let out = profilec(cache, server, Some(&real), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// The CPU row's compute column of a human plan.
fn cpu_compute(plan: &str) -> String {
    let row = plan
        .lines()
        .find(|l| l.starts_with("CPU ") && l.contains('.'))
        .unwrap_or_else(|| panic!("no CPU row:\n{plan}"));
    row.split_whitespace().nth(5).unwrap().to_string()
}

#[test]
fn plan_says_once_that_the_build_differs_and_names_changed_memory_defaults() {
    let Some(_) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let newer = fixture("newer-llama-server");
    let out = plan(t.path(), &newer, "profiles/cpu-only.toml", &[]);
    assert_eq!(
        out.matches("follows llama.cpp b11434's memory rules")
            .count(),
        1,
        "{out}"
    );
    assert!(out.contains("llama-server b12000"), "{out}");
    assert!(
        out.contains("changed the default of --parallel from `-1` to `4`"),
        "{out}"
    );
    assert!(!out.contains("planned for llama.cpp"), "{out}");
    let out = plan(t.path(), &newer, "profiles/cpu-only.toml", &["-np", "1"]);
    assert!(
        !out.contains("default of --parallel"),
        "set explicitly: no note\n{out}"
    );
}

#[test]
fn plan_follows_an_older_builds_memory_rules() {
    let Some(real) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let older = fixture("older-llama-server");
    let out = plan(t.path(), &older, "profiles/cpu-only.toml", &[]);
    let note = format!(
        "planned for llama.cpp b8115 (`{} --version`)",
        older.display()
    );
    assert_eq!(out.matches(&note).count(), 1, "{out}");
    assert!(!out.contains("follows llama.cpp b11434"), "{out}");
    // b8115 predates the server's one-logit-row-per-slot reserve (§8.1): another compute
    // buffer than b11434's for the same launch.
    let b11434 = plan(t.path(), &real, "profiles/cpu-only.toml", &[]);
    assert!(!b11434.contains("planned for llama.cpp"), "{b11434}");
    assert_ne!(cpu_compute(&out), cpu_compute(&b11434), "{out}\n{b11434}");
}

#[test]
fn plan_says_when_profilec_toml_declares_another_build_than_the_binary() {
    let Some(real) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    // profiles/profilec.toml declares the seed rig's b8115.
    let out = plan(t.path(), &real, "profiles/profilec.toml", &[]);
    assert!(
        out.contains("planned for llama.cpp b8115 ([runtime] llama_cpp_build)"),
        "{out}"
    );
    let mismatch = format!(
        "profilec.toml declares llama.cpp b8115 ([runtime] llama_cpp_build) but your \
         llama-server b11434 ({}) is b11434: this plan follows b8115's memory rules; set \
         llama_cpp_build = 11434, or remove it to follow the binary",
        real.display()
    );
    assert_eq!(out.matches(&mismatch).count(), 1, "{out}");
}

/// `profilec log LOG --profile llama-gqa` of profiles/models.conf, as JSON and as text.
fn compare_log(cache: &Path, log: &Path) -> (serde_json::Value, String) {
    let conf = root().join("profiles/models.conf");
    let run = |json: bool| {
        let mut cmd = support::profilec();
        cmd.arg("log")
            .arg(log)
            .args(["--profile", "llama-gqa", "--file"])
            .arg(&conf)
            .env("XDG_CACHE_HOME", cache);
        if json {
            cmd.args(["--format", "json"]);
        }
        cmd.output().expect("run")
    };
    (support::stdout_json(&run(true)), text(&run(false).stdout))
}

fn planned_mib(v: &serde_json::Value) -> Vec<f64> {
    v["comparison"]
        .as_array()
        .expect("comparison")
        .iter()
        .map(|d| d["plan_mib"].as_f64().unwrap())
        .collect()
}

#[test]
fn log_profile_plans_with_the_build_that_wrote_the_log() {
    let t = tempfile::tempdir().expect("tempdir");
    let b11434 = test_fixture("logs/llama-dense-gqa_server.log");
    let log = std::fs::read_to_string(&b11434).unwrap();
    assert!(log.contains("build 11434"));
    let other = |n: &str| {
        let path = t.path().join(format!("b{n}.log"));
        std::fs::write(&path, log.replace("build 11434", &format!("build {n}"))).unwrap();
        path
    };
    // profilec.toml declares b8115, but the log is what ran: b11434's rules, no note.
    let (same_json, same) = compare_log(t.path(), &b11434);
    assert!(same.contains("plan vs measured"), "{same}");
    assert!(!same.contains("this log is from"), "{same}");

    let (older_json, older) = compare_log(t.path(), &other("8115"));
    assert!(
        older.contains(
            "note: this log is from llama.cpp b8115; the plan applied the rules of b8115"
        ),
        "{older}"
    );
    assert_ne!(planned_mib(&older_json), planned_mib(&same_json));

    let (newer_json, newer) = compare_log(t.path(), &other("12000"));
    assert!(
        newer.contains("note: this log is from llama.cpp b12000; the plan follows b11434's"),
        "{newer}"
    );
    assert_eq!(planned_mib(&newer_json), planned_mib(&same_json));
}

#[test]
fn plan_together_follows_the_builds_memory_rules() {
    let Some(real) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let conf = root().join("profiles/models.conf");
    let hardware = root().join("profiles/cpu-only.toml");
    let together = |server: &Path| {
        let args = [
            "plan",
            "--together",
            "llama-gqa",
            "bench-llama-gqa",
            conf.to_str().unwrap(),
            "--hardware",
            hardware.to_str().unwrap(),
        ];
        let out = profilec(t.path(), server, Some(&real), &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let b11434 = together(&real);
    let b8115 = together(&fixture("older-llama-server"));
    assert!(
        b11434.contains("together: llama-gqa + bench-llama-gqa"),
        "{b11434}"
    );
    assert_ne!(b11434, b8115, "b8115 reserves more logits than b11434");
}
