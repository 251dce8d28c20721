//! `profilec check` on preset files through the real binary: dialect detection, exit codes,
//! JSON positions, and the preset `profilec render` writes.

use crate::support;
use std::fs;
use std::path::PathBuf;

use crate::support::stdout_json as json;
use profilec::preset::{Dialect, detect};

fn fixture(name: &str) -> PathBuf {
    crate::support::test_fixture(&format!("presets/{name}"))
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn rendered_preset_checks_clean() {
    let text = support::render_preset(&support::root().join("profiles/models.conf"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("router.ini");
    fs::write(&path, &text).expect("write");
    assert_eq!(detect(&text), Dialect::Preset);
    let out = support::profilec()
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .expect("check");
    let v = json(&out);
    assert_eq!(v["diagnostics"], serde_json::json!([]), "{v}");
    assert_eq!(v["profiles"], 6);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn docs_examples_fail_only_on_mmap() {
    // docs/preset.md (b11434) still writes `mmap = 1`, but that build has no `--mmap`
    // (it became `--load-mode`): llama-server refuses both files with "option 'mmap' not
    // recognized in preset '*'". Everything else in them checks clean.
    for (name, line) in [("docs-preset-hf.ini", 3), ("docs-preset-named.ini", 2)] {
        let out = support::profilec()
            .args(["check", "--format", "json"])
            .arg(fixture(name))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{name}");
        let v = json(&out);
        assert_eq!(codes(&v), ["preset::unknown-key"], "{name}: {v}");
        let d = &v["diagnostics"][0];
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(line), Some(1))
        );
        assert_eq!(v["profiles"], 2);
    }
}

#[test]
fn docs_examples_without_mmap_check_clean() {
    for name in ["docs-preset-hf.ini", "docs-preset-named.ini"] {
        let text = fs::read_to_string(fixture(name)).expect("read");
        let fixed: String = text
            .lines()
            .filter(|l| !l.starts_with("mmap"))
            .map(|l| format!("{l}\n"))
            .collect();
        let report = profilec::preset::check_preset_source(fixed, None);
        assert!(
            report.diagnostics.is_empty(),
            "{name}: {:#?}",
            report.diagnostics
        );
    }
}

#[test]
fn server_readme_example() {
    let out = support::profilec()
        .args(["check", "--format", "json"])
        .arg(fixture("server-readme.ini"))
        .output()
        .expect("run");
    let v = json(&out);
    // It sets `model-draft` twice on purpose (to show both path styles); the router names
    // the HF-cache section without a file, which is a note, and /Users/abc is not here.
    assert_eq!(
        codes(&v),
        [
            "preset::no-model",
            "preset::duplicate-key",
            "preset::model-not-checked"
        ],
        "{v}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn dialect_flag_and_detection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.ini");
    fs::write(&path, "[m]\nhf = org/repo\njinja = yes\n").expect("write");
    for dialect in ["auto", "preset"] {
        let out = support::profilec()
            .args(["check", "--format", "json", "--dialect", dialect])
            .arg(&path)
            .output()
            .expect("run");
        assert_eq!(codes(&json(&out)), ["preset::invalid-bool"], "{dialect}");
        assert_eq!(out.status.code(), Some(1));
    }
    // Forced to models.conf, the same text is read with models.conf rules.
    let out = support::profilec()
        .args(["check", "--format", "json", "--dialect", "models-conf"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        codes(&json(&out))
            .iter()
            .all(|c| c.starts_with("conf::") || c.starts_with("model::"))
    );
    // Warnings fail only with --deny-warnings.
    fs::write(&path, "[m]\nhf = org/repo\nport = 1\n").expect("write");
    let run = |deny: bool| {
        let mut c = support::profilec();
        c.args(["check", "--dialect", "preset"]).arg(&path);
        if deny {
            c.arg("--deny-warnings");
        }
        c.output().expect("run").status.code()
    };
    assert_eq!((run(false), run(true)), (Some(0), Some(1)));
    let out = support::profilec()
        .args(["check", "--dialect", "preset"])
        .arg(dir.path().join("missing.ini"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_models_conf_in_the_corpus_stays_models_conf() {
    let corpus = crate::support::root().join("tests/fixtures/corpus");
    let mut n = 0;
    for entry in fs::read_dir(&corpus).expect("corpus") {
        let path = entry.expect("entry").path();
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        assert_eq!(detect(&text), Dialect::ModelsConf, "{}", path.display());
        n += 1;
    }
    let conf = crate::support::root().join("profiles/models.conf");
    assert_eq!(
        detect(&fs::read_to_string(conf).expect("read")),
        Dialect::ModelsConf
    );
    assert!(n >= 20, "{n} corpus files");
    for name in [
        "docs-preset-hf.ini",
        "docs-preset-named.ini",
        "server-readme.ini",
    ] {
        let text = fs::read_to_string(fixture(name)).expect("read");
        assert_eq!(detect(&text), Dialect::Preset, "{name}");
    }
    // Env-name keys alone are a preset; a lowercase typo in a models.conf is not.
    assert_eq!(detect("[m]\nLLAMA_ARG_HF_REPO = a/b\n"), Dialect::Preset);
    assert_eq!(
        detect("[m]\nNAME=M\nMODEL=m.gguf\nctx_size=1\n"),
        Dialect::ModelsConf
    );
}
