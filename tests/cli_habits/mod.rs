//! The habits of a command-line tool, through the binary: completions for every shell, man
//! pages and `--version` (`shell`); color (`--color`, NO_COLOR, CLICOLOR_FORCE), width
//! (COLUMNS) and closed pipes (`output`); JSON-only stdout for every verb that has JSON (`json`); models.conf found by walking up and
//! the profilec.toml search, `hw --where` (`files`).

mod completion;
mod files;
mod json;
mod output;
mod shell;
mod width;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{self, root};

/// profilec in `dir`, with no color or width settings inherited from the caller's terminal and
/// no user config directory of the caller's.
pub(super) fn profilec(dir: &Path, args: &[&str]) -> Command {
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

pub(super) fn run(c: &mut Command) -> Output {
    c.output().expect("profilec runs")
}

pub(super) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A project: `proj/models.conf` and `proj/profilec.toml` (the reference rig) with `models/`
/// beside `proj/` as the rig's `models_dir = "../models"` expects; `proj/a/b` is a subdirectory.
pub(super) fn project() -> tempfile::TempDir {
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
pub(super) fn verbs() -> Vec<String> {
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

pub(super) fn has_escapes(o: &Output) -> bool {
    o.stdout.contains(&0x1b) || o.stderr.contains(&0x1b)
}

pub(super) fn bad_conf(dir: &Path) -> PathBuf {
    let p = dir.join("models.conf");
    std::fs::write(&p, "[bad.id]\nNAME=x\nMODEL=x.gguf\n").unwrap();
    p
}

pub(super) fn strip_ansi(line: &str) -> String {
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
