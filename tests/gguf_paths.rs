//! Paths that are not regular files (issue 12's "Smaller" list): `inspect` on a named pipe used
//! to block forever in open(2), and a directory was reported as a truncated GGUF (a directory is
//! now read as a safetensors model directory, docs/vllm.md).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;

/// Runs `profilec ARGS`, killing it if it is still running after `limit`.
fn run_with_limit(args: &[&std::ffi::OsStr], limit: Duration) -> std::process::Output {
    let mut child = support::profilec()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn profilec");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("profilec {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn inspect_of_a_fifo_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("model.gguf");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let out = run_with_limit(
        &["inspect".as_ref(), fifo.as_os_str()],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a named pipe (FIFO), not a GGUF file"),
        "{err}"
    );
}

#[test]
fn inspect_of_an_empty_directory_asks_for_config_json_not_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with_limit(
        &["inspect".as_ref(), dir.path().as_os_str()],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.json"), "{err}");
    assert!(!err.contains("truncated"), "{err}");
}
