//! `profilec bench` refuses bad input before anything starts: malformed prompts and matrix
//! files (with line numbers), a taken port, a profile the plan says does not fit.

use std::fs;
use std::net::TcpListener;
use std::path::Path;

use crate::support;

/// A models.conf with two Gemma profiles (the second with a `bench-` twin) and a profilec.toml declaring `ram_mib` of RAM.
pub fn conf(dir: &Path, model: &Path, port: u16, ram_mib: u64) {
    let name = model.file_name().expect("name").to_string_lossy();
    fs::write(
        dir.join("models.conf"),
        format!(
            "[gemma-a]\nNAME=Gemma A\n# NOT YET TESTED\nSPEED=~estimated\nMODEL={name}\nCTX_SIZE=2048\nEXTRA_ARGS=--jinja -np 2 -t 1\n\n\
             [gemma-b]\nNAME=Gemma B\nMODEL={name}\nCTX_SIZE=2048\nEXTRA_ARGS=--jinja -np 2 -t 2\n\n\
             [bench-gemma-b]\nNAME=Gemma B bench\nMODEL={name}\nCTX_SIZE=2048\nEXTRA_ARGS=--jinja -np 2 -t 2 -b 256 -ub 256\n"
        ),
    )
    .expect("models.conf");
    fs::write(
        dir.join("profilec.toml"),
        format!(
            "[cpu]\nram_mib = {ram_mib}\n\n[runtime]\nmodels_dir = \"{}\"\nhost = \"127.0.0.1\"\nport = {port}\n",
            model.parent().expect("dir").display()
        ),
    )
    .expect("profilec.toml");
}

/// A project for a real bench run: [`conf`] over the real Gemma on a free port with 8 GiB of
/// RAM; `None` (the skip policy of tests/support.rs) without llama-server or the model.
pub fn gemma_project() -> Option<tempfile::TempDir> {
    let (Some(_), Some(model)) = (support::real_server(), support::real_model()) else {
        return None;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    conf(dir.path(), &model, support::free_port(), 8192);
    Some(dir)
}

pub fn bench(dir: &Path, extra: &[&str]) -> std::process::Output {
    support::profilec()
        .args(["bench", "gemma-a", "--file"])
        .arg(dir.join("models.conf"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .expect("run profilec bench")
}

pub fn nothing_written(dir: &Path) {
    assert!(
        !dir.join("out").exists(),
        "nothing may be written before the checks pass"
    );
}

/// Runs bench with `flag FILE`, FILE holding `text`, on a profile whose model does not exist:
/// the input files are checked before the profile. Returns stderr; nothing may be written.
fn refused_input(flag: &str, file: &str, text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    conf(
        dir.path(),
        &dir.path().join("none.gguf"),
        support::free_port(),
        8192,
    );
    let path = dir.path().join(file);
    fs::write(&path, text).unwrap();
    let out = bench(dir.path(), &[flag, path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    nothing_written(dir.path());
    err
}

#[test]
fn malformed_prompts_are_reported_by_line_before_anything_starts() {
    let err = refused_input(
        "--prompts",
        "p.jsonl",
        "{\"id\":\"ok\",\"prompt\":\"hi\"}\n{\"id\":\"x\",\"prompt\":\"hi\",\"expect\":{\"near\":\"y\"}}\n\n{not json\n",
    );
    assert!(
        err.contains("p.jsonl:2: unknown expectation `near`"),
        "{err}"
    );
    assert!(err.contains("p.jsonl:4: not a JSON object"), "{err}");
    assert!(!err.contains("p.jsonl:1:"), "{err}");
}

#[test]
fn malformed_matrix_is_reported_by_line_before_anything_starts() {
    let err = refused_input(
        "--matrix",
        "m.toml",
        "runs = 1\nconcurrency = [1, 0]\n\n[criteria]\ncorrectness_min = 0.5\nlatency = 3\n",
    );
    assert!(err.contains("m.toml:2: `concurrency` must be"), "{err}");
    assert!(
        err.contains("m.toml:6: unknown criterion `latency`"),
        "{err}"
    );
    let err = refused_input("--matrix", "m.toml", "runs = [\n");
    assert!(err.contains("m.toml:1: TOML syntax"), "{err}");
}

#[test]
fn a_taken_port_is_refused_before_launch() {
    let (Some(_), Some(model)) = (support::real_server(), support::real_model()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().unwrap().port();
    conf(dir.path(), &model, port, 8192);
    let out = bench(dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{port}")) && err.contains("in use"),
        "{err}"
    );
    nothing_written(dir.path());
}

#[test]
fn a_profile_that_does_not_fit_is_refused_with_the_plans_reason() {
    let Some(model) = support::real_model() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    conf(dir.path(), &model, support::free_port(), 64);
    let out = bench(dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not fit: CPU needs"), "{err}");
    assert!(err.contains("cannot be benchmarked"), "{err}");
    nothing_written(dir.path());
}
