//! `profilec check` through the real binary: exit codes, JSON shape, --deny-warnings.

use crate::support;
use std::fs;
use std::path::Path;
use std::process::Output;

fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("models.conf");
    fs::write(&path, text).expect("write conf");
    path
}

/// `profilec check ARGS PATH`, run to its end.
fn check(args: &[&str], path: &Path) -> Output {
    support::profilec()
        .arg("check")
        .args(args)
        .arg(path)
        .output()
        .expect("run profilec check")
}

#[test]
fn clean_file_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "[a]\nNAME=A\nMODEL=a.gguf\n");
    let out = check(&[], &path);
    support::stdout_ok(&out);
}

#[test]
fn errors_exit_one_and_json_has_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "[a]\nNAME=A\nMODEL=a.gguf\nCTX_SZE=1\n");
    let out = check(&["--format", "json"], &path);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["profiles"], 1);
    assert_eq!(v["file"], path.display().to_string());
    let d = v["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["code"] == "conf::unknown-key")
        .expect("unknown key reported");
    assert_eq!(d["severity"], "error");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(
        (d["end_line"].as_u64(), d["end_column"].as_u64()),
        (Some(4), Some(8))
    );
    assert!(d["help"].as_str().unwrap_or("").contains("CTX_SIZE"));
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "[a]\nMODEL=a.gguf\n");
    let out = check(&[], &path);
    assert_eq!(out.status.code(), Some(0));
    let out = check(&["--deny-warnings"], &path);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn missing_file_and_bad_usage_exit_two() {
    let out = support::profilec()
        .args(["check", "/nonexistent/models.conf"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = support::profilec()
        .args(["check", "--format", "xml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn non_utf8_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("models.conf");
    fs::write(&path, b"[a]\nNAME=\xff\n").expect("write");
    let out = check(&[], &path);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
}

#[test]
fn human_output_points_at_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "[a]\nNAME=A\nMODEL = a.gguf\n");
    let out = check(&[], &path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conf::space-around-equals"), "{err}");
    assert!(err.contains("models.conf:3:6"), "{err}");
    assert!(err.contains("1 profiles, 1 errors, 0 warnings"), "{err}");
}
