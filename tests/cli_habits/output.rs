//! Color, width, JSON-only stdout and closed pipes.

use std::process::Command;

use super::{bad_conf, has_escapes, profilec, project, run, strip_ansi, text};

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
