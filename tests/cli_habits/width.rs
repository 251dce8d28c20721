//! No line wider than the terminal: long models.conf lines, long profile ids and long paths.

use std::path::Path;

use super::{profilec, run, strip_ansi, text};
use crate::support::{root, test_fixture};

const LONG_ID: &str = "qwen3moe-with-a-really-long-profile-identifier-for-width-tests";
const UNKNOWN_FLAGS: &str =
    "EXTRA_ARGS=--this-flag-does-not-exist 3 --ctx-size 4096 --another-unknown-one --and-more";

/// The reference project under a long directory name, with a long profile id and a profile
/// whose EXTRA_ARGS line holds three unknown flags; returns the project directory.
fn long_project(t: &Path) -> std::path::PathBuf {
    let proj = t.join("a-very-long-directory-name-that-goes-on-and-on/and-on-further-still");
    std::fs::create_dir_all(proj.join("sub")).unwrap();
    let conf = std::fs::read_to_string(root().join("profiles/models.conf")).unwrap();
    let conf = conf.replace("[qwen3moe]", &format!("[{LONG_ID}]"))
        + &format!("\n[unknown-flags]\nNAME=Unknown flags\nMODEL=qwen3moe.gguf\n{UNKNOWN_FLAGS}\n");
    std::fs::write(proj.join("models.conf"), conf).unwrap();
    let toml = std::fs::read_to_string(root().join("profiles/profilec.toml")).unwrap();
    let models = root().join("models");
    let toml = toml.replace(
        "\"../models\"",
        &format!("{:?}", models.display().to_string()),
    );
    std::fs::write(proj.join("profilec.toml"), toml).unwrap();
    proj
}

fn too_wide(out: &str, width: usize) -> Vec<String> {
    out.lines()
        .map(strip_ansi)
        .filter(|l| textwrap::core::display_width(l) > width)
        .collect()
}

#[test]
fn long_lines_paths_and_ids_stay_within_columns() {
    let t = tempfile::tempdir().unwrap();
    let proj = long_project(t.path());
    // From a subdirectory: models.conf is found above and named by its (long) absolute path.
    let sub = proj.join("sub");
    let log = test_fixture("logs/gemma3-270m_server_lv4.log");
    let runs: &[&[&str]] = &[
        &["check"],
        &["plan", LONG_ID],
        &["plan", "--together", LONG_ID, "qwen3next"],
        &["plan", "--sets"],
        &["render", "nope"],
        &["hw"],
        &["hw", "--where"],
        &["doctor"],
        &["flags"],
        &["log", log.to_str().unwrap()],
        &["--version"],
    ];
    for width in [40, 300] {
        for args in runs {
            let out = run(profilec(&sub, args)
                .args(["--color", "always"])
                .env("COLUMNS", width.to_string()));
            if args[0] == "plan" {
                assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
            }
            for stream in [&out.stdout, &out.stderr] {
                let shown = text(stream);
                assert_eq!(
                    too_wide(&shown, width),
                    Vec::<String>::new(),
                    "{args:?} in {width} columns:\n{shown}"
                );
            }
        }
    }
    let check = |width: usize| {
        let out = run(profilec(&sub, &["check"]).env("COLUMNS", width.to_string()));
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        strip_ansi(&text(&out.stderr))
    };
    // Narrow: the line is cut around each flag, labels wrap, and nothing is lost but source.
    let narrow = check(40);
    assert!(narrow.contains("--another-unknown-one"), "{narrow}");
    assert!(!narrow.contains(UNKNOWN_FLAGS), "{narrow}");
    let words = narrow.split_whitespace().collect::<Vec<_>>();
    assert!(
        words.contains(&"\"invalid") && words.contains(&"argument\""),
        "the label survives, wrapped:\n{narrow}"
    );
    assert!(
        narrow.contains("╭─[…"),
        "the long path loses its start:\n{narrow}"
    );
    // Wide: the whole line and the whole path.
    let wide = check(300);
    assert!(wide.contains(UNKNOWN_FLAGS), "{wide}");
    assert!(
        wide.contains(&format!("╭─[{}:", proj.join("models.conf").display())),
        "{wide}"
    );
}
