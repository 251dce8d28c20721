//! `render`: the sh line round-trips through a real POSIX shell, the env flow refuses what
//! dotenv/word splitting would mangle, and the router preset has one section per profile.

use crate::support;
use std::path::PathBuf;
use std::process::Command;

use profilec::check::check_source;
use profilec::render::{Rendered, sh_split, to_env};
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_./=-]{1,12}",
        Just("blk\\.([0-9]|1[01])\\.=CUDA0,exps=CPU".to_string()),
        Just("$(touch /tmp/profilec-pwned)".to_string()),
        Just("it's \"quoted\"".to_string()),
        Just("a b\tc".to_string()),
        Just("back\\slash".to_string()),
        Just("*".to_string()),
        Just(String::new()),
        any::<String>().prop_filter("no NUL", |s| !s.contains('\0')),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sh_line_splits_back_to_the_argv(argv in prop::collection::vec(word(), 0..8)) {
        let r = Rendered { program: PathBuf::from("/usr/bin/llama-server"), argv: argv.clone(), env: Default::default(), arguments: Vec::new() };
        let hostile = argv.iter().any(|w| w.chars().any(|c| c.is_control() && c != '\t'));
        match r.to_sh() {
            Ok(line) => {
                prop_assert!(!hostile, "a control character reached the sh line");
                let words = sh_split(&line).expect("balanced quotes");
                prop_assert_eq!(&words[0], "/usr/bin/llama-server");
                prop_assert_eq!(&words[1..], &argv[..]);
            }
            Err(e) => prop_assert!(hostile, "refused a clean argv: {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The real shell is the oracle: `sh -c 'printf "%s\0" LINE'` prints the words it split.
    #[test]
    fn a_real_posix_shell_agrees(argv in prop::collection::vec(word().prop_filter("no control", |w| !w.chars().any(|c| c.is_control() && c != '\t')), 1..6)) {
        let r = Rendered { program: PathBuf::from("llama-server"), argv: argv.clone(), env: Default::default(), arguments: Vec::new() };
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\0' {}", r.to_sh().expect("no control characters")))
            .output()
            .expect("sh");
        let printed = String::from_utf8(out.stdout).expect("utf-8");
        let words: Vec<&str> = printed.split_terminator('\0').collect();
        prop_assert_eq!(words[0], "llama-server");
        prop_assert_eq!(words[1..].to_vec(), argv.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

#[test]
fn env_flow_writes_only_set_keys_and_refuses_unsafe_values() {
    let report = check_source(
        "[a]\nNAME=A\nMODEL=m.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=--jinja -ot exps=CPU\n",
        None,
    );
    assert_eq!(
        to_env(&report.conf.profiles[0], &[]).expect("env"),
        "MODEL=m.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=--jinja -ot exps=CPU\n"
    );
    let report = check_source(
        "[a]\nNAME=A\nMODEL=my model.gguf\nEXTRA_ARGS=--alias $HOME --chat-template-kwargs '{}' #x\n",
        None,
    );
    let errors = to_env(&report.conf.profiles[0], &[]).expect_err("unsafe");
    let keys: Vec<_> = errors.iter().map(|e| e.key).collect();
    assert_eq!(keys, vec!["MODEL", "EXTRA_ARGS"]);
    assert!(errors[1].why.contains("comment"), "{}", errors[1].why);
}

#[test]
fn preset_through_the_binary() {
    let root = support::root();
    let text = support::render_preset(&root.join("profiles/models.conf"));
    assert!(text.contains("\n[*]\n"), "{text}");
    for id in [
        "llama-gqa",
        "bench-llama-gqa",
        "qwen3moe",
        "qwen3next",
        "gemma3",
        "split-llama",
    ] {
        assert!(text.contains(&format!("\n[{id}]\n")), "{id} in {text}");
    }
    assert!(
        text.contains(&format!("model = {}/models/qwen3moe.gguf", root.display())),
        "{text}"
    );
    assert!(text.contains("override-tensor = exps=CPU"), "{text}");
    assert!(
        !text.contains("port ="),
        "router-only options stay out: {text}"
    );
}

#[test]
fn render_refuses_a_profile_with_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("models.conf");
    std::fs::write(
        &conf,
        "[a]\nNAME=A\nMODEL=m.gguf\nEXTRA_ARGS=--ctx-size=4096\n",
    )
    .expect("write");
    let out = support::profilec()
        .args(["render", "a"])
        .arg(&conf)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("args::equals-value"));
    let out = support::profilec()
        .args(["render", "b"])
        .arg(&conf)
        .output()
        .expect("run");
    // An id the file does not have is a usage error, as for every verb (docs/diagnostics.md).
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `a`"));
}
