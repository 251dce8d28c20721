//! `profilec bench` run options with the real llama-server and Gemma 3 270M: context depth
//! (`--depth`, exact in the server's tokens, capped at the slot's context before launch) and a
//! low-priority server (`--nice`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bench_inputs::{bench, conf, gemma_project, nothing_written};
use crate::bench_real::{bench_in, child_of, num, wait_or_kill};
use crate::support;

#[test]
fn depth_cells_put_exactly_that_many_filler_tokens_before_each_prompt() {
    let Some(dir) = gemma_project() else {
        return;
    };
    let out = bench_in(
        dir.path(),
        &[
            "gemma-a",
            "--name",
            "d",
            "--concurrency",
            "1",
            "--depth",
            "0,256",
        ],
    )
    .output()
    .expect("run bench");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary on stdout");
    let cells = summary["profiles"][0]["cells"].as_array().unwrap();
    let keys: Vec<(u64, u64)> = cells
        .iter()
        .map(|c| (num(c, "/concurrency") as u64, num(c, "/depth") as u64))
        .collect();
    assert_eq!(keys, vec![(1, 0), (1, 256)], "{summary:#}");
    assert_eq!(num(&cells[0], "/depth_tokens"), 0.0);
    assert_eq!(num(&cells[1], "/depth_tokens"), 256.0, "{summary:#}");
    // Per prompt, the server prefilled the filler on top of the same prompt (the filler is
    // joined to it by a blank line, one or two tokens).
    let lines: Vec<Value> = std::fs::read_to_string(dir.path().join("out/d/responses.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    for shallow in lines.iter().filter(|l| l["depth"] == 0) {
        let deep = lines
            .iter()
            .find(|l| l["depth"] == 256 && l["prompt"] == shallow["prompt"])
            .expect("the same prompt at depth 256");
        let grew = num(deep, "/timings/prompt_n") - num(shallow, "/timings/prompt_n");
        assert!((256.0..=259.0).contains(&grew), "{shallow}\n{deep}");
    }
}

#[test]
fn a_depth_beyond_the_slot_context_is_refused_before_launch() {
    let Some(model) = support::real_model() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    conf(dir.path(), &model, support::free_port(), 8192);
    // CTX_SIZE 2048 over -np 2 slots: 1024 tokens a request, all of it filler here.
    let out = bench(dir.path(), &["--depth", "0,1024"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--depth 1024") && err.contains("1024") && err.contains("CTX_SIZE"),
        "{err}"
    );
    nothing_written(dir.path());
}

/// Field 19 of /proc/PID/stat (nice), counted after the parenthesised command name.
fn nice_of(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    rest.split_whitespace().nth(19 - 3)?.parse().ok()
}

#[test]
fn nice_launches_the_server_at_that_niceness_and_records_it() {
    let Some(dir) = gemma_project() else {
        return;
    };
    let mut run = bench_in(
        dir.path(),
        &[
            "gemma-a",
            "--name",
            "n",
            "--concurrency",
            "1",
            "--nice",
            "7",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn bench");
    let until = Instant::now() + Duration::from_secs(120);
    let nice = loop {
        if let Some(n) = child_of(run.id()).and_then(nice_of) {
            break Some(n);
        }
        if Instant::now() > until || matches!(run.try_wait(), Ok(Some(_))) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let code = wait_or_kill(&mut run, Duration::from_secs(180));
    assert_eq!(nice, Some(7), "the launched llama-server's nice value");
    assert_eq!(code, Some(0));
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/n/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["nice"], 7, "{summary:#}");
}
