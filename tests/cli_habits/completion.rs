//! Completion as each shell asks for it: profile ids for every argument that takes one, in
//! every shell's protocol; the static scripts load in a real shell.

use std::path::Path;
use std::process::Command;

use super::{profilec, project, run, text, verbs};
use crate::support::root;

/// `[verb, --flag]` (or `[verb]` for a positional) of every argument that takes the ids of
/// existing profiles, read from the command definition (`new --id` names a profile to create).
fn id_arguments() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for verb in profilec::cli::command()
        .get_subcommands()
        .filter(|v| v.get_name() != "new")
    {
        for arg in verb.get_arguments() {
            if !["id", "ids", "together", "profile"].contains(&arg.get_id().as_str()) {
                continue;
            }
            let mut words = vec![verb.get_name().to_owned()];
            if let Some(long) = arg.get_long() {
                words.push(format!("--{long}"));
            }
            found.push(words);
        }
    }
    found
}

/// What profilec answers when `shell` asks to complete the last of `words` (the environment
/// its registration script sets), one candidate per line as (value, description).
fn ask(shell: &str, dir: &Path, words: &[String]) -> Vec<(String, Option<String>)> {
    let mut args = vec!["--", "profilec"];
    args.extend(words.iter().map(String::as_str));
    let mut c = profilec(dir, &args);
    c.env("PROFILEC_COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n");
    let out = run(&mut c);
    assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
    // zsh separates the description with `:`, fish and powershell with a tab.
    let sep = if shell == "zsh" { ':' } else { '\t' };
    text(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(sep) {
            Some((v, d)) => (v.to_owned(), Some(d.to_owned())),
            None => (l.to_owned(), None),
        })
        .collect()
}

#[test]
fn every_shell_completes_profile_ids_for_every_argument_that_takes_one() {
    let t = project();
    let sub = t.path().join("proj/a/b");
    let arguments = id_arguments();
    for expected in [
        &["plan"][..],
        &["plan", "--together"],
        &["bench"],
        &["log", "--profile"],
    ] {
        assert!(
            arguments.iter().any(|a| a == expected),
            "{expected:?} not found in {arguments:?}"
        );
    }
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        for words in &arguments {
            let mut words = words.clone();
            words.push("qw".into());
            let offered = ask(shell, &sub, &words);
            let values: Vec<&str> = offered.iter().map(|(v, _)| v.as_str()).collect();
            assert_eq!(values, ["qwen3moe", "qwen3next"], "{shell} {words:?}");
            if ["zsh", "fish", "powershell"].contains(&shell) {
                assert_eq!(
                    offered[0].1.as_deref(),
                    Some("Qwen3 MoE (fixture)"),
                    "{shell} {words:?}: the NAME describes the id"
                );
            }
        }
    }
}

#[test]
fn static_scripts_quote_every_value_description() {
    // clap_complete's fish and zsh generators put a value's description inside double quotes
    // without escaping them: one `"` in a doc comment broke `source` (fish: "too many
    // arguments").
    for verb in profilec::cli::command().get_subcommands() {
        for arg in verb.get_arguments() {
            for value in arg.get_possible_values() {
                let help = value.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(
                    !help.contains('"'),
                    "{} --{}: the help of `{}` has a double quote: {help}",
                    verb.get_name(),
                    arg.get_id(),
                    value.get_name()
                );
            }
        }
    }
    // fish itself loads the script (installed by .ci/run from Debian).
    let Some(offered) = fish_complete(&root(), &["completions", "fish", "--static"], "profilec ")
    else {
        return;
    };
    for verb in verbs() {
        assert!(
            offered.lines().any(|l| l.split('\t').next() == Some(&verb)),
            "{verb}: {offered}"
        );
    }
}

#[test]
fn fish_completes_profile_ids_through_profilec() {
    let t = project();
    let sub = t.path().join("proj/a/b");
    let Some(offered) = fish_complete(&sub, &["completions", "fish"], "profilec plan qw") else {
        return;
    };
    assert_eq!(
        offered,
        "qwen3moe\tQwen3 MoE (fixture)\nqwen3next\tQwen3-Next hybrid (fixture)\n"
    );
}

/// What real fish offers for `line` after sourcing the script `profilec ARGS` prints, in `dir`;
/// `None` when fish is missing and the developer opted out of such tests.
fn fish_complete(dir: &Path, args: &[&str], line: &str) -> Option<String> {
    let Some(fish) = which("fish") else {
        return crate::support::skip_or_fail("fish is not installed (.ci/run installs it)");
    };
    let script = run(&mut profilec(dir, args));
    let scripts = tempfile::tempdir().unwrap();
    let path = scripts.path().join("profilec.fish");
    std::fs::write(&path, &script.stdout).unwrap();
    let out = profilec(dir, &[])
        .get_envs()
        .fold(Command::new(fish), |mut f, (k, v)| {
            match v {
                Some(v) => f.env(k, v),
                None => f.env_remove(k),
            };
            f
        })
        .current_dir(dir)
        .args([
            "--no-config",
            "-c",
            &format!("source {}; complete -C '{line}'", path.display()),
        ])
        .output()
        .expect("fish runs");
    assert_eq!(text(&out.stderr), "", "fish could not load the script");
    Some(text(&out.stdout))
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
