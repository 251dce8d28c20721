//! `run --smart-run` against a real OpenAI-compatible advisor: llama-server b11434 serving the
//! real Gemma 3 270M, asked with the json_schema response format. A 270M model gives poor
//! advice; the point is the path: its answer arrives in the schema's shape, is validated,
//! clamped and re-planned (`source=llm`), and the user's flag beats it.

use std::time::{Duration, Instant};

use crate::launch_support::{free_port, gemma_spec, quick_options, real_parts, wait_for_health};
use crate::run_advice::{edit_toml, project, text, trace_rows};
use crate::support::profilec;
use profilec::launch::{self, LaunchOutcome};

#[test]
fn gemma_as_the_advisor_is_accepted_clamped_and_beaten_by_the_user() {
    let Some((server, model)) = real_parts() else {
        return;
    };
    let logs = tempfile::tempdir().unwrap();
    let port = free_port();
    let spec = gemma_spec(&server, &model, port);
    let outcome = launch::launch(&spec, &quick_options(&logs.path().join("advisor.log")))
        .unwrap_or_else(|e| panic!("{e}\n{}", e.help()));
    let LaunchOutcome::Running(advisor) = outcome else {
        panic!("handle mode returns a running server")
    };
    let dir = project(port, 4096);
    // Grammar-constrained sampling over Gemma's 262k-token vocabulary runs at ~1 token/s on a
    // busy 2-core machine; the advice is ~90 tokens.
    edit_toml(dir.path(), "timeout_secs = 2", "timeout_secs = 600");

    let started = Instant::now();
    let out = profilec()
        .current_dir(dir.path())
        .args([
            "run",
            "tiny",
            "--smart-run",
            "--smart-run-debug",
            "--smart-run-strict",
        ])
        .args(["--dry-run", "--", "-c", "1024", "-b", "512"])
        .output()
        .unwrap();
    eprintln!("advice took {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(660), "hang guard");
    drop(advisor);
    let err = text(&out.stderr);
    eprintln!("{err}");
    assert!(out.status.success(), "{err}");
    // The configured model took part: source=llm, its name, the response's id and time.
    assert!(err.contains("source=llm model=advisor-under-test"), "{err}");
    assert!(err.contains("response_id=chatcmpl-"), "{err}");
    assert!(!err.contains("created=-"), "{err}");

    let argv: Vec<String> = text(&out.stdout)
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect();
    let value = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .map(|i| argv[i + 1].clone())
    };
    // The user's -c 1024 and -b 512 beat whatever the advisor said.
    assert_eq!(value("--ctx-size").as_deref(), Some("1024"), "{argv:?}");
    assert_eq!(value("--batch-size").as_deref(), Some("512"), "{argv:?}");
    assert!(
        err.contains("source=user field=--ctx-size value=1024"),
        "{err}"
    );

    let row = trace_rows(dir.path()).pop().unwrap();
    assert_eq!(row["source"], "llm");
    let content = row["advice"]["reply"]["content"].as_str().unwrap();
    eprintln!("gemma advised: {content}");
    // The reply is one JSON object with only allowlisted keys: the grammar held.
    let reply: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(content).expect("json_schema output is one object");
    let allowed = [
        "ctx_size",
        "parallel",
        "batch_size",
        "ubatch_size",
        "threads",
        "threads_batch",
        "flash_attn",
        "cache_type_k",
        "cache_type_v",
        "reason",
    ];
    assert!(
        reply.keys().all(|k| allowed.contains(&k.as_str())),
        "{content}"
    );
    // Whatever was taken is within the safe ranges: threads within the 4 logical cores, the
    // physical batch at most the logical one (clamped when the advice said more).
    let num = |flag: &str| value(flag).and_then(|v| v.parse::<u64>().ok());
    if let Some(t) = num("--threads") {
        assert!((1..=4).contains(&t), "{argv:?}");
    }
    if let (Some(b), Some(ub)) = (num("--batch-size"), num("--ubatch-size")) {
        assert!(ub <= b, "{argv:?}");
    }
    let advised_ub = reply.get("ubatch_size").and_then(serde_json::Value::as_u64);
    let merged_b = num("--batch-size");
    match (advised_ub, merged_b) {
        (Some(ub), Some(b)) if ub > b => {
            assert!(
                err.contains(&format!("clamped from {ub} to --batch-size {b}")),
                "{err}"
            );
            eprintln!("clamped: the advised ubatch {ub} to the user's batch {b}");
        }
        _ => eprintln!("nothing to clamp in this answer (advised ubatch {advised_ub:?})"),
    }
    assert_eq!(row["merged_argv"], serde_json::json!(argv));
}

#[test]
fn auto_batch_measure_keeps_the_fastest_size_that_fits() {
    if crate::support::real_server().is_none() {
        return;
    }
    // 20 MiB for llama.cpp: 4096 and 2048 do not fit a 4096 context, smaller sizes do.
    let dir = project(1, 20);
    let out = profilec()
        .current_dir(dir.path())
        .args([
            "run",
            "tiny",
            "--auto-batch",
            "--measure",
            "--smart-run-debug",
        ])
        .args(["--dry-run", "--", "-c", "4096"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    eprintln!("{err}");
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("field=--ubatch-size"))
        .expect("an auto-batch decision");
    assert!(line.contains("llama-bench ("), "{line}");
    // Every measured size is one the memory model let fit; the chosen one was measured.
    let measured: Vec<u64> = line
        .split("llama-bench (")
        .nth(1)
        .unwrap()
        .split(", ")
        .filter_map(|m| m.split(':').next()?.trim().parse().ok())
        .collect();
    assert!(
        !measured.is_empty() && measured.iter().all(|&u| u <= 1024),
        "{line}"
    );
    let argv = text(&out.stdout);
    let chosen: u64 = argv
        .split_whitespace()
        .skip_while(|w| *w != "--ubatch-size")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(measured.contains(&chosen), "{chosen} not in {measured:?}");
}

/// The `profilec run` process; killed if the test fails before it stops it.
struct RunProcess(std::process::Child);

impl Drop for RunProcess {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn the_seed_launch_runs_through_starts_path() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if crate::support::real_server().is_none() {
        return;
    }
    // The advisor's port 1 refuses: the fallback path, then the launch.
    let dir = project(1, 20);
    let port = free_port();
    edit_toml(
        dir.path(),
        "[runtime]\n",
        &format!("[runtime]\nport = {port}\n"),
    );
    let child = profilec()
        .current_dir(dir.path())
        .args([
            "run",
            "tiny",
            "--smart-run",
            "--smart-run-debug",
            "--auto-batch",
        ])
        .args(["--quiet", "--timeout", "120"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn profilec run");
    let mut child = RunProcess(child);
    wait_for_health(&mut child.0, port, Duration::from_secs(120), "profilec run");
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGINT).expect("SIGINT");
    let status = child.0.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("run::advice-unreachable"), "{err}");
    // What ran is what the trace says was merged, and start's record of it is there.
    let row = trace_rows(dir.path()).pop().unwrap();
    assert_eq!(row["dry_run"], false);
    let observed = std::fs::read_to_string(dir.path().join(".profilec/observed.jsonl")).unwrap();
    let observed: serde_json::Value =
        serde_json::from_str(observed.lines().last().unwrap()).unwrap();
    assert_eq!(observed["profile"], "tiny");
    assert_eq!(observed["argv"], row["merged_argv"]);
    assert!(text(observed["argv"].to_string().as_bytes()).contains("--ubatch-size"));
}
