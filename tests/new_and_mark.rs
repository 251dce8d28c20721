//! `new` and `mark-tested` on copies of every corpus models.conf: `new` only adds lines at the
//! end, `mark-tested` changes only SPEED and drops the NOT YET TESTED line, and the result
//! checks with no new error.

use crate::support;
use crate::support::root;
use std::fs;
use std::path::Path;

use profilec::check::check_source;
use profilec::diag::Severity;

fn profilec(args: &[&str], file: &Path) -> std::process::Output {
    support::profilec()
        .args(args)
        .arg(file)
        .output()
        .expect("run profilec")
}

fn errors(text: &str, models: &Path) -> usize {
    check_source(text, Some(models))
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

#[test]
fn new_then_mark_tested_on_every_corpus_version() {
    let corpus = root().join("tests/fixtures/corpus");
    let mut files: Vec<_> = fs::read_dir(&corpus)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains("models.conf."))
        .collect();
    files.sort();
    assert_eq!(files.len(), 23);
    for original in files {
        let dir = tempfile::tempdir().expect("tempdir");
        let models = dir.path().join("models");
        fs::create_dir_all(models.join("Qwen3-Next")).expect("models dir");
        fs::copy(
            root().join("models/qwen3next-hybrid.gguf"),
            models.join("Qwen3-Next/qwen3next-hybrid.gguf"),
        )
        .expect("fixture");
        let conf = dir.path().join("models.conf");
        let before = fs::read_to_string(&original).expect("read");
        fs::write(&conf, &before).expect("copy");

        let out = support::profilec()
            .args(["new", "--bench", "--id", "next-test", "--file"])
            .arg(&conf)
            .arg(models.join("Qwen3-Next/qwen3next-hybrid.gguf"))
            .output()
            .expect("new");
        support::stdout_ok_for(&out, &original.display().to_string());
        let after_new = fs::read_to_string(&conf).expect("read");
        assert!(
            after_new.starts_with(&before),
            "{}: bytes before the insertion changed",
            original.display()
        );
        let added = &after_new[before.len()..];
        assert!(added.contains("[next-test]\n") && added.contains("[bench-next-test]\n"));
        assert!(
            added.contains("MODEL=Qwen3-Next/qwen3next-hybrid.gguf\n"),
            "{added}"
        );
        assert!(
            added.contains("--no-context-shift"),
            "hybrid model: {added}"
        );
        assert!(added.contains("# NOT YET TESTED"));
        assert_eq!(
            errors(&after_new, &models),
            errors(&before, &models),
            "{}",
            original.display()
        );

        let out = profilec(&["mark-tested", "next-test", "--speed", "~42 t/s"], &conf);
        support::stdout_ok(&out);
        let after_mark = fs::read_to_string(&conf).expect("read");
        let old: Vec<&str> = after_new.lines().collect();
        let new: Vec<&str> = after_mark.lines().collect();
        let removed: Vec<&&str> = old.iter().filter(|l| !new.contains(l)).collect();
        let inserted: Vec<&&str> = new.iter().filter(|l| !old.contains(l)).collect();
        assert_eq!(inserted, vec![&"SPEED=~42 t/s"], "{}", original.display());
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(removed.iter().any(|l| l.starts_with("SPEED=~estimated")));
        assert!(removed.iter().any(|l| l.contains("NOT YET TESTED")));
        assert!(after_mark.starts_with(&before));
        assert_eq!(errors(&after_mark, &models), errors(&before, &models));
    }
}

#[test]
fn new_refuses_an_existing_id_and_leaves_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    fs::create_dir_all(&models).expect("dir");
    fs::copy(
        root().join("models/llama-gqa.gguf"),
        models.join("llama-gqa.gguf"),
    )
    .expect("fixture");
    let conf = dir.path().join("models.conf");
    let text = "[mine]\nNAME=x\nMODEL=llama-gqa.gguf\r\n";
    fs::write(&conf, text).expect("write");
    let out = support::profilec()
        .args(["new", "--id", "mine", "--file"])
        .arg(&conf)
        .arg(models.join("llama-gqa.gguf"))
        .output()
        .expect("new");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(fs::read_to_string(&conf).expect("read"), text);
}

#[test]
fn new_dry_run_prints_a_diff_and_keeps_crlf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    fs::create_dir_all(&models).expect("dir");
    fs::copy(root().join("models/gemma3-swa.gguf"), models.join("g.gguf")).expect("fixture");
    let conf = dir.path().join("models.conf");
    let text = "# mine\r\n[a]\r\nNAME=A\r\nMODEL=g.gguf";
    fs::write(&conf, text).expect("write");
    let out = support::profilec()
        .args(["new", "--dry-run", "--file"])
        .arg(&conf)
        .arg(models.join("g.gguf"))
        .output()
        .expect("new");
    support::stdout_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("+NAME="));
    assert_eq!(
        fs::read_to_string(&conf).expect("read"),
        text,
        "dry run writes nothing"
    );
    let out = support::profilec()
        .args(["new", "--file"])
        .arg(&conf)
        .arg(models.join("g.gguf"))
        .output()
        .expect("new");
    assert_eq!(out.status.code(), Some(0));
    let after = fs::read_to_string(&conf).expect("read");
    assert!(
        after.starts_with("# mine\r\n[a]\r\nNAME=A\r\nMODEL=g.gguf\r\n\r\n# ---"),
        "{after:?}"
    );
    assert!(
        !after.replace("\r\n", "").contains('\n'),
        "every added line ends in CRLF"
    );
}

#[test]
fn a_model_outside_the_models_dir_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("models")).expect("dir");
    let conf = dir.path().join("models.conf");
    let out = support::profilec()
        .args(["new", "--file"])
        .arg(&conf)
        .arg(root().join("models/llama-gqa.gguf"))
        .output()
        .expect("new");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside the models directory"));
    assert!(!conf.exists());
}

#[test]
fn new_plans_the_profile_on_the_reference_rig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("models.conf");
    let out = support::profilec()
        .args(["new", "--dry-run", "--hardware"])
        .arg(root().join("profiles/profilec.toml"))
        .arg("--file")
        .arg(&conf)
        .arg(root().join("models/qwen3moe.gguf"))
        .output()
        .expect("new");
    support::stdout_ok(&out);
    let diff = String::from_utf8_lossy(&out.stdout);
    // Trained context 4096 fits; the whole model fits CUDA0, so strategy A pins it there.
    assert!(diff.contains("+CTX_SIZE=4096\n"), "{diff}");
    assert!(diff.contains("strategy A (one GPU"), "{diff}");
    assert!(diff.contains("--split-mode none --main-gpu 0"), "{diff}");
    assert!(diff.contains("+#   CUDA0 "), "budget per device: {diff}");
    // The rig's q8_0 default cannot serve 16-wide heads: the scaffold says so and uses f16.
    assert!(diff.contains("-ctk f16 -ctv f16"), "{diff}");
    assert!(diff.contains("using f16 caches"), "{diff}");
}

/// The budget `new` writes into the comment block is the plan of the profile it writes: `plan`
/// of the new profile (resolved like `render` and `start`) gives the same MiB on every device.
#[test]
fn new_budget_is_the_plan_of_the_written_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("models.conf");
    let hw = root().join("profiles/profilec.toml");
    let out = support::profilec()
        .args(["new", "--hardware"])
        .arg(&hw)
        .arg("--file")
        .arg(&conf)
        .arg(root().join("models/qwen3moe.gguf"))
        .output()
        .expect("new");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&conf).expect("written");
    // `#   CUDA0        515 /  24308 MiB (weights 1, KV 2, compute 13)`
    let budget: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect();
    assert!(!budget.is_empty(), "{text}");
    let id = profilec::config::load(profilec::syntax::Document::parse(text.clone()))
        .0
        .profiles[0]
        .id
        .value
        .clone();
    let out = support::profilec()
        .args(["plan", &id])
        .arg(&conf)
        .arg("--hardware")
        .arg(&hw)
        .args(["--format", "json"])
        .output()
        .expect("plan");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    for (name, mib) in &budget {
        let d = plan["devices"]
            .as_array()
            .and_then(|ds| ds.iter().find(|d| d["name"] == name.as_str()))
            .unwrap_or_else(|| panic!("{name} not in the plan: {plan:#}"));
        let total = d["total_mib"].as_f64().expect("total");
        assert_eq!(&format!("{total:.0}"), mib, "{name}: {text}");
    }
}
