//! The one error protocol (docs/diagnostics.md, "Errors and exit codes"): every verb's error has
//! a code, a message, a help and an exit code, printed as `error[code]` + `help:` for people and
//! as `{"error": {…}}` under `--format json`; and the user-facing findings of issue 12.

use std::path::Path;
use std::process::Output;

use crate::support::stderr_of as stderr;
use crate::support::{fixture, profilec, root, start_binary};

fn run(args: &[&str], dir: &Path) -> Output {
    profilec()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run profilec")
}

/// `check --format json ARGS`: the one object it printed.
fn check_json(args: &[&str], dir: &Path) -> serde_json::Value {
    let o = run(&[&["check", "--format", "json"], args].concat(), dir);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&o)))
}

/// `text` as models.conf in a fresh directory, checked as JSON.
fn check_conf(text: &str) -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("models.conf"), text).expect("write");
    let v = check_json(&["models.conf"], dir.path());
    (dir, v)
}

/// A directory with the two-GPU profilec.toml of profiles/ whose models_dir is the fixtures.
fn project(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = std::fs::read_to_string(root().join("profiles/profilec.toml")).expect("toml");
    let toml: String = toml
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("models_dir") {
                format!(
                    "models_dir = {:?}",
                    root().join("models").display().to_string()
                )
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect();
    std::fs::write(dir.path().join("profilec.toml"), toml).expect("write toml");
    std::fs::write(dir.path().join("models.conf"), conf).expect("write conf");
    dir
}

/// The `{"error": {…}}` object a verb printed on stdout, checked for the protocol's shape.
fn error_object(o: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {text}\nstderr: {}", stderr(o)));
    let e = &v["error"];
    for key in ["code", "message", "help"] {
        assert!(e[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {v}");
    }
    assert_eq!(
        e["exit_code"].as_i64(),
        o.status.code().map(i64::from),
        "{v}"
    );
    v["error"].clone()
}

#[test]
fn every_json_verb_prints_its_error_as_one_json_object() {
    let dir = project("[a]\nNAME=A\nMODEL=llama-gqa.gguf\n");
    let d = dir.path();
    let cases: [(&[&str], &str, i32); 6] = [
        (
            &["inspect", "--format", "json", "no-such.gguf"],
            "gguf::io",
            2,
        ),
        (
            &["plan", "nope", "--format", "json"],
            "usage::unknown-profile",
            2,
        ),
        (
            &["render", "nope", "--format", "json"],
            "usage::unknown-profile",
            2,
        ),
        (&["log", "--format", "json", "no-such.log"], "io::read", 2),
        (
            &["hw", "--hardware", "no-such.toml", "--format", "json"],
            "io::read",
            2,
        ),
        (
            &["plan", "--model", "models.conf", "--format", "json"],
            "gguf::not-gguf",
            1,
        ),
    ];
    for (args, code, exit) in cases {
        let o = run(args, d);
        assert_eq!(o.status.code(), Some(exit), "{args:?}: {}", stderr(&o));
        let e = error_object(&o);
        assert_eq!(e["code"], code, "{args:?}");
    }
}

#[test]
fn human_errors_name_their_code_and_help() {
    let dir = project("[a]\nNAME=A\nMODEL=llama-gqa.gguf\n");
    let o = run(&["render", "aa"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("error[usage::unknown-profile]: no profile `aa`"),
        "{err}"
    );
    assert!(err.contains("\n  help: did you mean `a`?"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn plan_and_inspect_agree_on_a_file_that_is_not_a_gguf() {
    let dir = project("[a]\nNAME=A\nMODEL=llama-gqa.gguf\n");
    let inspect = run(&["inspect", "models.conf"], dir.path());
    let plan = run(&["plan", "--model", "models.conf"], dir.path());
    assert_eq!(inspect.status.code(), Some(1), "{}", stderr(&inspect));
    assert_eq!(
        plan.status.code(),
        inspect.status.code(),
        "{}",
        stderr(&plan)
    );
    assert!(
        stderr(&plan).contains("error[gguf::not-gguf]"),
        "{}",
        stderr(&plan)
    );
}

#[test]
fn check_json_gives_an_unreadable_file_its_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("latin1.conf");
    std::fs::write(&bad, b"[a]\nNAME=x\nMODEL=caf\xe9.gguf\n").expect("write");
    let o = run(
        &["check", "--format", "json", "latin1.conf", "missing.conf"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 2, "{text}");
    let codes: Vec<&str> = objects
        .iter()
        .map(|v| v["diagnostics"][0]["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["io::not-utf8", "io::read"]);
    assert_eq!(objects[0]["file"], "latin1.conf");
    let at = &objects[0]["diagnostics"][0];
    assert_eq!(
        (at["line"].as_u64(), at["column"].as_u64()),
        (Some(3), Some(10)),
        "{text}"
    );
    assert_eq!(objects[0]["profiles"], 0);
    assert_eq!(objects[1]["diagnostics"][0]["severity"], "error");
}

#[test]
fn not_utf8_is_reported_at_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("models.conf"),
        b"[a]\nNAME=x\nMODEL=caf\xe9.gguf\n",
    )
    .expect("write");
    let o = run(&["check", "models.conf"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("error[io::not-utf8]"), "{err}");
    assert!(err.contains("line 3, column 10"), "{err}");
}

#[test]
fn start_help_says_start_once() {
    let o = start_binary().arg("--help").output().expect("start --help");
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("Usage: start [OPTIONS] [ID] [FILE]"),
        "{help}"
    );
    assert!(!help.contains("start start"), "{help}");
}

#[test]
fn run_is_listed_in_help() {
    let o = profilec().arg("--help").output().expect("--help");
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.lines().any(|l| l.trim_start().starts_with("run ")),
        "{help}"
    );
}

#[test]
fn new_with_a_bad_id_names_the_rule_not_a_bug() {
    let dir = project("");
    let model = fixture("llama-gqa.gguf");
    let model = model.to_str().expect("utf-8 path");
    let o = run(&["new", model, "--id", "bad.id"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("error[usage::invalid-id]"), "{err}");
    assert!(err.contains("try --id bad-id"), "{err}");
    assert!(!err.contains("report"), "{err}");
    let conf = std::fs::read_to_string(dir.path().join("models.conf")).expect("conf");
    assert_eq!(conf, "");
}

#[test]
fn new_ctx_beyond_what_llama_server_reads_is_refused() {
    let dir = project("");
    let model = fixture("llama-gqa.gguf");
    let model = model.to_str().expect("utf-8 path");
    let o = run(&["new", model, "--ctx", "99999999999"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("error[usage::ctx-out-of-range]"), "{err}");
    assert!(err.contains("2147483647"), "{err}");
    let conf = std::fs::read_to_string(dir.path().join("models.conf")).expect("conf");
    assert!(!conf.contains("99999999999"), "{conf}");
}

#[test]
fn a_lowercase_key_is_told_keys_are_upper_case() {
    let (_dir, v) = check_conf("[a]\nNAME=A\nMODEL=a.gguf\nctx_size=4096\n");
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "conf::unknown-key", "{v}");
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("upper case (`CTX_SIZE`)")),
        "{v}"
    );
}

#[test]
fn a_conf_with_lowercase_keys_says_it_was_checked_as_a_preset() {
    let (dir, v) = check_conf("[a]\nmodel=a.gguf\nctx-size=4096\n");
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "conf::lowercase-keys", "{v}");
    assert_eq!(d["severity"], "warning");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(
        d["help"].as_str().is_some_and(|h| h.contains("`MODEL=`")),
        "{v}"
    );
    // Said to be a preset, the same file checks without the warning.
    let o = run(
        &[
            "check",
            "--format",
            "json",
            "--dialect",
            "preset",
            "models.conf",
        ],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        v["diagnostics"]
            .as_array()
            .is_some_and(|a| a.iter().all(|d| d["code"] != "conf::lowercase-keys")),
        "{v}"
    );
}

#[test]
fn ot_to_a_device_the_machine_lacks_names_the_devices_not_experts() {
    let dir = project(
        "[d]\nNAME=d\nMODEL=llama-gqa.gguf\nFIT=off\nN_GPU_LAYERS=99\nEXTRA_ARGS=-ot x=CUDA9\n",
    );
    let v = check_json(&["models.conf"], dir.path());
    let diags = v["diagnostics"].as_array().cloned().unwrap_or_default();
    let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(!codes.contains(&"place::no-expert-tensors"), "{v}");
    let unknown = diags
        .iter()
        .find(|d| d["code"] == "place::unknown-device")
        .unwrap_or_else(|| panic!("no place::unknown-device: {v}"));
    assert!(
        unknown["message"]
            .as_str()
            .is_some_and(|m| m.contains("CUDA9")),
        "{v}"
    );
    let o = run(&["check", "models.conf"], dir.path());
    assert!(
        stderr(&o).contains("the machine has CUDA0, CUDA1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn optimize_with_a_broken_hardware_file_shows_its_diagnostics_then_one_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bad.toml"), "[cpu]\nram_mb = 64\n").expect("write");
    let model = fixture("llama-gqa.gguf");
    let model = model.to_str().expect("utf-8 path");
    let o = run(
        &["optimize", "--model", model, "--hardware", "bad.toml"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("did you mean `ram_mib`?"), "{err}");
    assert!(
        err.contains("error[hw::invalid-file]: bad.toml has errors"),
        "{err}"
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn new_with_a_line_break_in_the_model_path_names_the_path_not_a_bug() {
    // A file name with a newline cannot be one models.conf value; `new` said "this is a bug in
    // profilec: please report it".
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).expect("models/");
    let model = models.join("bad\nname.gguf");
    std::fs::copy(fixture("llama-gqa.gguf"), &model).expect("model");
    crate::support::write_rig_toml(dir.path(), "profiles/profilec.toml", &models);
    let o = run(&["new", model.to_str().expect("utf-8 path")], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[new::unwritable-path]"), "{err}");
    assert!(err.contains("rename the file"), "{err}");
    assert!(!err.contains("report"), "{err}");
    assert!(!dir.path().join("models.conf").exists());
}
