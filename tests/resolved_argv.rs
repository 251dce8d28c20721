//! What runs is what was planned: for every bundled profile, every corpus profile and STRATEGY
//! A–D on every fixture, the argv `render --format json` prints is the argv whose memory `plan
//! --format json` reported, flag for flag; with STRATEGY the solver's flags are in it (origin
//! `strategy`) and the solver's memory is the memory of that argv.

use crate::support::{self, root};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::profilec_in as profilec;
use crate::support::stdout_json as json;

fn words(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|w| w.as_str().unwrap_or_default().to_string())
        .collect()
}

/// A profile's rendered argv next to the argv plan evaluated.
struct Both {
    render: Output,
    plan: Output,
}

fn both(dir: &Path, id: &str, conf: &str, hardware: Option<&Path>) -> Both {
    let hw = hardware.map(|h| h.to_string_lossy().into_owned());
    let mut extra: Vec<&str> = Vec::new();
    if let Some(h) = &hw {
        extra.extend(["--hardware", h.as_str()]);
    }
    let mut r = vec!["render", id, conf, "--format", "json"];
    r.extend(&extra);
    let mut p = vec!["plan", id, conf, "--format", "json"];
    p.extend(&extra);
    Both {
        render: profilec(&r, dir),
        plan: profilec(&p, dir),
    }
}

/// When `render` renders the profile, `plan` must report the memory of exactly that argv.
/// Returns whether the profile was rendered.
fn assert_same_argv(b: &Both, what: &str) -> bool {
    if b.render.status.code() != Some(0) {
        return false;
    }
    let rendered = json(&b.render);
    assert!(
        matches!(b.plan.status.code(), Some(0 | 1)),
        "{what}: plan failed where render succeeded: {}",
        String::from_utf8_lossy(&b.plan.stderr)
    );
    let plan = json(&b.plan);
    assert_eq!(
        words(&plan["argv"]),
        words(&rendered["argv"]),
        "{what}: plan evaluated another argv than render prints"
    );
    // `arguments` is the same argv, flag by flag, with origins.
    let flat: Vec<String> = rendered["arguments"]
        .as_array()
        .expect("arguments")
        .iter()
        .flat_map(|a| {
            std::iter::once(a["flag"].as_str().unwrap_or_default().to_string())
                .chain(words(&a["values"]))
        })
        .collect();
    assert_eq!(flat, words(&rendered["argv"]), "{what}: arguments vs argv");
    true
}

/// profilec.toml of the reference rig with `models_dir` pointing at `models`.
fn rig_toml(dir: &Path, models: &Path) {
    let toml = std::fs::read_to_string(root().join("profiles/profilec.toml")).expect("rig");
    let toml = toml.replace(
        r#"models_dir = "../models""#,
        &format!("models_dir = {:?}", models.display().to_string()),
    );
    std::fs::write(dir.join("profilec.toml"), toml).expect("write toml");
}

/// `[id]` headers of a models.conf with the text of each section (for de-duplication).
fn sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(id) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            out.push((id.trim().to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut()
            && !t.starts_with('#')
        {
            body.push_str(t);
            body.push('\n');
        }
    }
    out
}

#[test]
fn bundled_profiles_plan_what_they_render_on_any_hardware() {
    let conf = root().join("profiles/models.conf");
    let text = std::fs::read_to_string(&conf).expect("models.conf");
    let conf_s = conf.to_string_lossy().into_owned();
    let cpu_only = root().join("profiles/cpu-only.toml");
    for (id, _) in sections(&text) {
        for hw in [None, Some(cpu_only.as_path())] {
            let b = both(&root(), &id, &conf_s, hw);
            let what = format!("[{id}] with --hardware {hw:?}");
            assert!(
                assert_same_argv(&b, &what),
                "{what}: render refused: {}",
                String::from_utf8_lossy(&b.render.stderr)
            );
        }
    }
}

/// Fixtures llama.cpp really loads, without the later shards of the split set.
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("models"))
        .expect("models/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".gguf") && !n.contains("-00002-") && !n.contains("-00003-"))
        .collect();
    names.sort();
    names
}

#[test]
fn strategies_a_to_d_render_the_flags_plan_evaluated() {
    let dir = tempfile::tempdir().expect("tempdir");
    rig_toml(dir.path(), &root().join("models"));
    let mut pinned = 0;
    for model in fixtures() {
        for strategy in ["A", "B", "C", "D"] {
            // The fixtures' 16-wide heads need f16 caches (q8_0 blocks are 32 wide).
            std::fs::write(
                dir.path().join("models.conf"),
                format!(
                    "[p]\nNAME=P\nMODEL={model}\nCTX_SIZE=4096\nSTRATEGY={strategy}\n\
                     EXTRA_ARGS=-np 1 -ctk f16 -ctv f16 -ts 3,1\n"
                ),
            )
            .expect("conf");
            let b = both(dir.path(), "p", "models.conf", None);
            let what = format!("{model} STRATEGY={strategy}");
            if !assert_same_argv(&b, &what) {
                // Only a strategy the model cannot take is refused, by both verbs (render
                // --format json prints its error as JSON on stdout).
                let err = String::from_utf8_lossy(&b.render.stdout);
                assert!(
                    err.contains("needs a MoE model") || err.contains("does not fit"),
                    "{what}: {err}"
                );
                assert_eq!(b.plan.status.code(), Some(1), "{what}");
                assert!(json(&b.plan)["placement_strategy"]["error"].is_string());
                continue;
            }
            pinned += 1;
            let rendered = json(&b.render);
            let plan = json(&b.plan);
            let from_strategy: Vec<&Value> = rendered["arguments"]
                .as_array()
                .expect("arguments")
                .iter()
                .filter(|a| a["origin"] == "strategy")
                .collect();
            assert!(
                from_strategy.iter().any(|a| a["flag"] == "--fit"),
                "{what}: {rendered}"
            );
            // The profile's own `-ts 3,1` gave way to the solver's placement.
            let placement: Vec<&Value> = rendered["arguments"]
                .as_array()
                .expect("arguments")
                .iter()
                .filter(|a| a["flag"] == "--tensor-split" || a["flag"] == "--override-tensor")
                .collect();
            assert!(
                placement.iter().all(|a| a["origin"] == "strategy"),
                "{what}: {rendered}"
            );
            let p = &plan["placement_strategy"];
            assert_eq!(p["strategy"], strategy, "{what}");
            // The memory the solver accepted is the memory of the argv.
            assert_eq!(p["plan"]["devices"], plan["devices"], "{what}");
            let argv = words(&rendered["argv"]);
            for flag in words(&p["flags"]) {
                assert!(argv.contains(&flag), "{what}: {flag} missing from {argv:?}");
            }
        }
    }
    assert!(pinned >= 8, "only {pinned} fixture/strategy pairs placed");
}

/// Corpus MODEL paths on fixtures llama.cpp loads: MoE names on the hybrid MoE fixture, the
/// rest on the dense one (both with 32-wide heads, so the corpus' q8_0 caches plan), split
/// names as split sets of the same shard count.
fn corpus_model(models: &Path, name: &str) {
    let moe = ["A3B", "A10B", "gpt-oss", "GLM", "Next", "MOE", "MoE"]
        .iter()
        .any(|k| name.contains(k));
    let fixture = root().join("models").join(if moe {
        "qwen3next-hybrid.gguf"
    } else {
        "gemma3-swa.gguf"
    });
    let path = models.join(name);
    if path.exists() {
        return;
    }
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    if name.contains("-00001-of-") {
        let status = Command::new("python3")
            .arg(root().join("scripts/split_gguf.py"))
            .arg(&fixture)
            .arg(&path)
            .status()
            .expect("python3 runs (pip install gguf==0.19.0 numpy)");
        assert!(status.success(), "scripts/split_gguf.py {name}");
    } else {
        std::fs::copy(&fixture, &path).expect("copy fixture");
    }
}

#[test]
fn corpus_profiles_plan_what_they_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    rig_toml(dir.path(), &models);
    let mut seen = HashSet::new();
    let (mut rendered, mut refused) = (0, 0);
    for file in support::corpus_files() {
        let text = std::fs::read_to_string(&file).expect("corpus file");
        for line in text.lines() {
            if let Some(m) = line.trim().strip_prefix("MODEL=")
                && !m.trim().is_empty()
                && !m.contains("..")
                && !m.starts_with('/')
            {
                corpus_model(&models, m.trim());
            }
        }
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        std::fs::write(dir.path().join(&name), &text).expect("copy conf");
        for (id, body) in sections(&text) {
            if !seen.insert(body) {
                continue;
            }
            let b = both(dir.path(), &id, &name, None);
            if assert_same_argv(&b, &format!("{name} [{id}]")) {
                rendered += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert!(rendered > 50, "{rendered} rendered, {refused} refused");
}

/// `plan` and `render` take MODEL from the same place for any `--hardware`: a profilec.toml in
/// another directory whose `models_dir` holds another copy of the model is what both use (not
/// the models directory beside models.conf).
#[test]
fn plan_and_render_take_model_from_the_given_hardwares_models_dir() {
    let other = tempfile::tempdir().expect("tempdir");
    let models = other.path().join("elsewhere");
    std::fs::create_dir(&models).expect("models dir");
    std::fs::copy(
        root().join("models/llama-gqa.gguf"),
        models.join("llama-gqa.gguf"),
    )
    .expect("copy model");
    rig_toml(other.path(), &models);
    let hw = other.path().join("profilec.toml");
    let conf = root().join("profiles/models.conf");
    let b = both(
        &root(),
        "llama-gqa",
        &conf.to_string_lossy(),
        Some(hw.as_path()),
    );
    assert!(
        assert_same_argv(&b, "llama-gqa with a models_dir elsewhere"),
        "render refused: {}",
        String::from_utf8_lossy(&b.render.stderr)
    );
    let want = models.join("llama-gqa.gguf").to_string_lossy().into_owned();
    let argv = words(&json(&b.render)["argv"]);
    let at = argv.iter().position(|a| a == "--model").expect("--model");
    assert_eq!(argv.get(at + 1), Some(&want), "{argv:?}");
    assert_eq!(json(&b.plan)["model"].as_str(), Some(want.as_str()));
}
