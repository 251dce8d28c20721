//! `--format json` (`--json` for pull and doctor): stdout is JSON and nothing else, for a report
//! and for an error, on every verb whose command definition offers JSON.

use std::collections::BTreeMap;
use std::path::Path;

use super::{profilec, project, run, text};
use crate::support::{fixture, free_port, test_fixture};

/// Verb → the words that ask it for JSON, read from the command definition (a `--format` with
/// a `json` value, or a `--json` flag), so a verb that gains JSON is covered here.
fn json_verbs() -> BTreeMap<String, Vec<&'static str>> {
    let mut found = BTreeMap::new();
    for verb in profilec::cli::command().get_subcommands() {
        for arg in verb.get_arguments() {
            let words = match arg.get_long() {
                Some("format")
                    if arg
                        .get_possible_values()
                        .iter()
                        .any(|v| v.get_name() == "json") =>
                {
                    vec!["--format", "json"]
                }
                Some("json") => vec!["--json"],
                _ => continue,
            };
            found.insert(verb.get_name().to_owned(), words);
        }
    }
    found
}

/// What a run must print: a report, or `{"error": …}` (for check, a file-wide error
/// diagnostic: it prints one object per file).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    Report,
    Error,
}

struct Case {
    args: Vec<String>,
    expect: Expect,
    /// Run where no models.conf is in reach (instead of the project).
    nowhere: bool,
    env: Vec<(&'static str, String)>,
}

fn case(expect: Expect, args: &[&str]) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        expect,
        nowhere: false,
        env: Vec::new(),
    }
}

/// Reports and errors for each verb; each verb needs at least one of each.
fn cases() -> BTreeMap<&'static str, Vec<Case>> {
    use Expect::{Error, Report};
    let model = fixture("qwen3moe.gguf").display().to_string();
    let log = test_fixture("logs/gemma3-270m_server_lv4.log")
        .display()
        .to_string();
    // Nothing listens there: bench's warm-up fails and its summary says so.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let nowhere = |mut c: Case| {
        c.nowhere = true;
        c
    };
    let with_env = |mut c: Case, k: &'static str, v: &str| {
        c.env.push((k, v.to_owned()));
        c
    };
    BTreeMap::from([
        (
            "check",
            vec![
                case(Report, &["check"]),
                case(Error, &["check", "nope.conf"]),
                nowhere(case(Error, &["check"])),
            ],
        ),
        (
            "inspect",
            vec![
                case(Report, &["inspect", &model]),
                case(Error, &["inspect", "nope.gguf"]),
            ],
        ),
        (
            "hw",
            vec![
                case(Report, &["hw"]),
                case(Report, &["hw", "--where"]),
                case(Error, &["hw", "--hardware", "nope.toml"]),
                // No profilec.toml beside a models.conf: $PROFILEC_CONFIG is read, and is wrong.
                nowhere(with_env(
                    case(Error, &["hw", "--where"]),
                    "PROFILEC_CONFIG",
                    "/nope.toml",
                )),
            ],
        ),
        (
            "log",
            vec![
                case(Report, &["log", &log]),
                case(Error, &["log", "nope.log"]),
            ],
        ),
        (
            "render",
            vec![
                case(Report, &["render", "qwen3moe"]),
                case(Report, &["render", "--all"]),
                case(Error, &["render", "nope"]),
                nowhere(case(Error, &["render", "qwen3moe"])),
            ],
        ),
        (
            "bench",
            vec![
                case(Report, &["bench", "qwen3moe", "--url", &closed]),
                case(Error, &["bench", "nope"]),
                // A usage error clap reports: no id.
                case(Error, &["bench"]),
                nowhere(case(Error, &["bench", "qwen3moe", "--url", &closed])),
            ],
        ),
        (
            "flags",
            vec![
                case(Report, &["flags"]),
                with_env(case(Error, &["flags"]), "LLAMA_SERVER", "/nonexistent"),
            ],
        ),
        (
            "plan",
            vec![
                case(Report, &["plan", "qwen3moe"]),
                case(Report, &["plan", "--together", "llama-gqa", "qwen3next"]),
                case(Report, &["plan", "--sets"]),
                case(Report, &["plan", "--model", &model]),
                case(Error, &["plan", "nope"]),
                case(Error, &["plan", "qwen3moe", "--no-such-flag"]),
                case(Error, &["plan", "--model", "nope.gguf"]),
                nowhere(case(Error, &["plan", "qwen3moe"])),
            ],
        ),
        (
            "doctor",
            vec![
                case(Report, &["doctor"]),
                case(Error, &["doctor", "nope"]),
                case(Error, &["doctor", "--min-free-gib", "lots"]),
            ],
        ),
        (
            "pull",
            vec![case(Report, &["pull"]), case(Error, &["pull", "nope"])],
        ),
    ])
}

/// The JSON documents of `stdout` (one, or one per file / profile as `jq` reads a stream).
fn documents(stdout: &str) -> Result<Vec<serde_json::Value>, serde_json::Error> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter()
        .collect()
}

fn is_error(doc: &serde_json::Value) -> bool {
    doc.get("error").is_some()
        || doc["diagnostics"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["severity"] == "error"))
}

#[test]
fn format_json_stdout_is_only_json_for_every_verb_that_has_it() {
    let t = project();
    let proj = t.path().join("proj");
    let empty = tempfile::tempdir().unwrap();
    let outside = empty.path().canonicalize().unwrap();
    if let Some(above) = outside
        .ancestors()
        .find(|d| d.join("models.conf").is_file())
    {
        panic!("cannot test: {} holds a models.conf", above.display());
    }
    let verbs = json_verbs();
    let cases = cases();
    assert!(verbs.len() >= 10, "verbs with JSON: {verbs:?}");
    for (verb, words) in &verbs {
        let runs = cases
            .get(verb.as_str())
            .unwrap_or_else(|| panic!("`{verb}` offers JSON ({words:?}): add its cases here"));
        for expect in [Expect::Report, Expect::Error] {
            assert!(
                runs.iter().any(|c| c.expect == expect),
                "`{verb}` needs a {expect:?} case"
            );
        }
        for c in runs {
            let dir: &Path = if c.nowhere { &outside } else { &proj };
            let mut args: Vec<&str> = c.args.iter().map(String::as_str).collect();
            args.extend(words);
            let mut cmd = profilec(dir, &args);
            // Color forced on: JSON must still carry no escape codes.
            cmd.env("CLICOLOR_FORCE", "1");
            for (k, v) in &c.env {
                cmd.env(k, v);
            }
            let out = run(&mut cmd);
            let stdout = text(&out.stdout);
            let docs = documents(&stdout).unwrap_or_else(|e| {
                panic!(
                    "{args:?}: stdout is not JSON ({e}):\n{stdout}\nstderr:\n{}",
                    text(&out.stderr)
                )
            });
            assert!(!docs.is_empty(), "{args:?}: nothing on stdout");
            let failed = docs.iter().any(is_error);
            assert_eq!(
                failed,
                c.expect == Expect::Error,
                "{args:?} (exit {:?}): {stdout}",
                out.status.code()
            );
            if c.expect == Expect::Error {
                assert_ne!(out.status.code(), Some(0), "{args:?}");
            }
        }
    }
    // optimize has no flag: its output is always JSON.
    let model = fixture("qwen3moe.gguf");
    let out = run(&mut profilec(
        &proj,
        &["optimize", "--model", model.to_str().unwrap()],
    ));
    assert!(documents(&text(&out.stdout)).is_ok_and(|d| d.len() == 1));
}
