//! The flag table of the user's llama-server build (docs/flags.md, "Following your llama-server
//! build"): the real b11434 `--help` parses to the shipped table, a newer build (a fixture that
//! edits the real help) changes what `check` accepts and what `plan` says, and binaries that are
//! not llama-server (garbage, a hang) leave the shipped table in use with a note.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use profilec::flags::help::{merge, parse_help};
use profilec::flags::rows::{parse_tsv, to_tsv};

use crate::support::{self, test_fixture};

const SHIPPED: &str = include_str!("../data/llama-server-flags.tsv");

/// The real b11434 llama-server; `None` is a skip the support policy allowed.
pub(crate) fn real_server() -> Option<PathBuf> {
    support::real_server()
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    test_fixture(&format!("flags/{name}"))
}

/// `profilec ARGS` with its own cache directory, `$LLAMA_SERVER` = `server`, and the real
/// llama-server for the newer-build fixture to edit.
pub(crate) fn profilec(cache: &Path, server: &Path, real: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = support::profilec();
    cmd.args(args)
        .env("XDG_CACHE_HOME", cache)
        .env("LLAMA_SERVER", server);
    if let Some(real) = real {
        cmd.env("PROFILEC_TEST_REAL_SERVER", real);
    }
    cmd.output().expect("run profilec")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn real_b11434_help_parses_to_the_shipped_table() {
    let Some(real) = real_server() else { return };
    let out = Command::new(real)
        .arg("--help")
        .output()
        .expect("run llama-server --help");
    let parsed = parse_help(&text(&out.stdout)).expect("llama-server's help");
    let shipped = parse_tsv(SHIPPED);
    assert_eq!(parsed.len(), shipped.len());
    let mut kind_differences = Vec::new();
    for s in &shipped {
        let p = parsed
            .iter()
            .find(|p| p.canonical() == s.canonical())
            .unwrap_or_else(|| panic!("{} missing from --help", s.canonical()));
        // Everything --help prints is exactly the table: spellings in order, arity, hint,
        // environment variable, default and the help text itself.
        assert_eq!(
            (&p.flags, &p.takes_value, &p.value_hint, &p.env),
            (&s.flags, &s.takes_value, &s.value_hint, &s.env),
            "{}",
            s.canonical()
        );
        assert_eq!((&p.default, &p.short_help), (&s.default, &s.short_help));
        if p.value_kind != s.value_kind {
            kind_differences.push((p.value_kind.as_str(), s.value_kind.as_str(), s.canonical()));
        }
    }
    // The one column --help does not print: the kind of value, which the shipped table has from
    // the handlers in llama.cpp common/arg.cpp. From the hint alone, `N` is an integer or a float
    // (parsed as `float`, which accepts both), and an enum whose choices are in the prose, not
    // the hint (`-lm MODE`, `--numa TYPE`), or a hint that names no type is `string`.
    for (parsed, shipped, option) in &kind_differences {
        let explained = match *parsed {
            "float" => matches!(*shipped, "int" | "int|auto|all" | "string"),
            "string" => shipped.starts_with("enum ") || *option == "--logit-bias",
            _ => false,
        };
        assert!(
            explained,
            "{option}: --help reads as {parsed}, the table says {shipped}"
        );
    }
    assert_eq!(kind_differences.len(), 71, "{kind_differences:?}");
    // With the shipped kinds merged in, the help gives the shipped table byte for byte: the
    // update command of docs/flags.md reproduces data/llama-server-flags.tsv.
    assert_eq!(to_tsv(&merge(parsed, &shipped)), SHIPPED);
}

#[test]
fn flags_write_reproduces_the_shipped_table() {
    let Some(real) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let written = t.path().join("table.tsv");
    // Without --from: the llama-server `start` would run ($LLAMA_SERVER here).
    let out = profilec(
        t.path(),
        &real,
        None,
        &["flags", "--diff", "--write", written.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("llama-server b11434"), "{stdout}");
    assert!(stdout.contains("0 added, 0 removed, 0 changed"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), SHIPPED);
}

/// A models.conf whose EXTRA_ARGS use a flag the newer build removed and one it added.
pub(crate) fn conf(dir: &Path) -> PathBuf {
    let path = dir.join("models.conf");
    std::fs::write(
        &path,
        "[kv]\nNAME=KV\nMODEL=a.gguf\nEXTRA_ARGS=--jinja -nkvo --kv-compress 2\n",
    )
    .unwrap();
    path
}

pub(crate) fn codes(out: &Output) -> (Vec<String>, String) {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    let codes = diags
        .iter()
        .filter(|d| d["code"].as_str().unwrap_or("").starts_with("args::"))
        .map(|d| {
            format!(
                "{} {}",
                d["code"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    (codes, v["flags_table"].as_str().unwrap_or("").to_string())
}

#[test]
fn a_newer_build_changes_what_check_accepts() {
    let Some(real) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let conf = conf(t.path());
    let check = |server: &Path| {
        profilec(
            t.path(),
            server,
            Some(&real),
            &["check", "--format", "json", conf.to_str().unwrap()],
        )
    };

    let newer = check(&fixture("newer-llama-server"));
    assert_eq!(newer.status.code(), Some(1), "{}", text(&newer.stderr));
    let (found, table) = codes(&newer);
    assert_eq!(
        found,
        [format!(
            "args::not-in-build `-nkvo` is not an option of your llama-server b12000 ({})",
            fixture("newer-llama-server").display()
        )],
        "--kv-compress is accepted, -nkvo is an error naming the build"
    );
    assert!(table.contains("llama-server b12000"), "{table}");
    let json: serde_json::Value = serde_json::from_slice(&newer.stdout).unwrap();
    let help = json["diagnostics"][0]["help"].as_str().unwrap();
    // The build's only new spelling, --kv-compress, is no rename of -nkvo; -kvu is close in
    // spelling but another option (--kv-unified): no "did you mean".
    assert!(
        help.starts_with("b11434 had `--kv-offload`; this build removed or renamed it"),
        "{help}"
    );

    let b11434 = check(&real);
    let (found, table) = codes(&b11434);
    assert_eq!(found, ["args::unknown-flag unknown flag `--kv-compress`"]);
    assert!(table.contains("llama-server b11434"), "{table}");
}

#[test]
fn flags_diff_lists_what_the_newer_build_changed_and_is_cached() {
    let Some(real) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let newer = fixture("newer-llama-server");
    let args = ["flags", "--from", newer.to_str().unwrap(), "--diff"];
    let first = profilec(t.path(), &newer, Some(&real), &args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    for line in [
        "1 added, 1 removed, 1 changed",
        "+ --kv-compress",
        "- -kvo --kv-offload -nkvo --no-kv-offload",
        "~ --parallel default: `-1` → `4`",
    ] {
        assert!(stdout.contains(line), "{line} missing:\n{stdout}");
    }
    assert!(!stdout.contains("(cached)"), "{stdout}");
    let again = text(&profilec(t.path(), &newer, Some(&real), &args).stdout);
    assert!(
        again.contains("(cached)"),
        "second run reads the cache:\n{again}"
    );
    let entries = std::fs::read_dir(t.path().join("profilec"))
        .unwrap()
        .count();
    assert_eq!(entries, 1, "one entry per binary, no temp files left");
}

#[test]
fn garbage_is_a_note_and_the_shipped_table() {
    let t = tempfile::tempdir().expect("tempdir");
    let garbage = fixture("garbage-llama-server");
    let out = profilec(
        t.path(),
        &garbage,
        None,
        &["flags", "--from", garbage.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is not llama-server's help"), "{stderr}");
    assert!(stderr.contains("shipped flag table"), "{stderr}");

    let conf = conf(t.path());
    let out = profilec(t.path(), &garbage, None, &["check", conf.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("flags: the shipped flag table (llama.cpp b11434)")
            && stderr.contains("is not llama-server's help"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown flag `--kv-compress`"), "{stderr}");
    assert!(!stderr.contains("-nkvo` is not"), "{stderr}");
}

#[test]
fn a_hanging_binary_times_out_and_is_killed() {
    let t = tempfile::tempdir().expect("tempdir");
    let pidfile = t.path().join("child.pid");
    let conf = conf(t.path());
    let started = Instant::now();
    let out = support::profilec()
        .args(["check", conf.to_str().unwrap()])
        .env("XDG_CACHE_HOME", t.path())
        .env("LLAMA_SERVER", fixture("hang-llama-server"))
        .env("PROFILEC_TEST_PIDFILE", &pidfile)
        .output()
        .expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("did not finish within 10 s (killed)"),
        "{stderr}"
    );
    assert!(stderr.contains("flags: the shipped flag table"), "{stderr}");
    assert!(stderr.contains("unknown flag `--kv-compress`"), "{stderr}");
    // The script's own child went with it (killed as a process group).
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !running(pid),
        "the hung script's child {pid} is still running"
    );
}

/// Whether `pid` exists and is not a zombie waiting for its (new) parent to reap it.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}
