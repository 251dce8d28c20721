//! Co-residency as a user meets it (docs/coresidency.md): the same id twice, a vLLM profile, a
//! search at its limit, nothing that fits, ROLES as the per-role-group answer and as llama-swap
//! `aliases`, and `check` of a llama-swap group that does not fit.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::coresidency::{assert_valid_llama_swap, tight_rig};
use crate::support::{self, root, stdout_json as json};

fn example() -> String {
    std::fs::read_to_string(root().join("profiles/models.conf")).expect("example")
}

/// The example with `general` on llama-gqa and `coding` on qwen3next.
fn example_with_roles() -> String {
    let text = example();
    let gqa = "MODEL=llama-gqa.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=--jinja -np 1 --temp";
    assert!(
        text.contains(gqa),
        "the example's llama-gqa profile changed"
    );
    text.replacen(gqa, &gqa.replace(".gguf\n", ".gguf\nROLES=general\n"), 1)
        .replacen(
            "MODEL=qwen3next-hybrid.gguf\n",
            "MODEL=qwen3next-hybrid.gguf\nROLES=coding\n",
            1,
        )
}

/// A directory with `conf` beside the reference rig whose models are the fixtures.
fn rig(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    support::write_rig_toml(dir.path(), "profiles/profilec.toml", &root().join("models"));
    std::fs::write(dir.path().join("models.conf"), conf).expect("write conf");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    support::profilec_in(args, dir)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const VLLM: &str = "[vl]\nNAME=vLLM\nRUNTIME=vllm\nMODEL=hf/llama\nCTX_SIZE=2048\n\n";

#[test]
fn together_refuses_the_same_id_twice() {
    let dir = rig(&example());
    let out = run(
        dir.path(),
        &["plan", "--together", "llama-gqa", "gemma3", "llama-gqa"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = support::stderr_of(&out);
    assert!(
        err.contains("error[usage::duplicate-id]")
            && err.contains("`llama-gqa` is named twice")
            && err.contains("copy its section under a new id"),
        "{err}"
    );
}

#[test]
fn a_vllm_profile_is_refused_by_together_and_left_out_of_the_sets() {
    let dir = rig(&format!("{VLLM}{}", example()));
    let out = run(dir.path(), &["plan", "--together", "llama-gqa", "vl"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = support::stderr_of(&out);
    assert!(
        err.contains("error[plan::vllm-profile]: profile `vl` is a vLLM profile")
            && err.contains("`profilec plan vl` shows vLLM's own memory"),
        "{err}"
    );
    // plan --sets answers for what `render --all` writes: the vLLM profile is named, not counted.
    let out = run(dir.path(), &["plan", "--sets"]);
    let human = support::stdout_ok(&out);
    assert!(
        human.contains("left out: vl (a vLLM profile")
            && human.contains("safe --models-max 6: all 6 profiles fit together"),
        "{human}"
    );
    let v = json(&run(dir.path(), &["plan", "--sets", "--format", "json"]));
    assert_eq!(v["vllm"], serde_json::json!(["vl"]));
    assert_eq!(v["unplanned"], serde_json::json!([]));
    assert_eq!(v["models_max"]["value"], 6);
}

#[test]
fn a_vllm_profile_first_leaves_every_preset_section_with_its_own_model() {
    let dir = rig(&format!("{VLLM}{}", example()));
    let preset = support::stdout_ok(&run(dir.path(), &["render", "--all", "--format", "preset"]));
    let section = |id: &str| -> String {
        let start = preset
            .find(&format!("\n[{id}]\n"))
            .unwrap_or_else(|| panic!("no [{id}]:\n{preset}"));
        let rest = &preset[start + 1..];
        let end = rest[1..].find("\n[").map_or(rest.len(), |e| e + 1);
        rest[..end].to_string()
    };
    assert!(!preset.contains("[vl]"), "{preset}");
    for (id, model) in [
        ("llama-gqa", "llama-gqa.gguf"),
        ("qwen3moe", "qwen3moe.gguf"),
        ("gemma3", "gemma3-swa.gguf"),
        ("split-llama", "split-llama-00001-of-00003.gguf"),
    ] {
        let s = section(id);
        assert!(s.contains(&format!("/{model}\n")), "[{id}]:\n{s}");
    }
}

#[test]
fn plan_sets_at_its_limit_says_the_list_is_partial_and_still_gives_models_max() {
    let dir = tight_rig(&example());
    let out = run(dir.path(), &["plan", "--sets", "--limit", "5"]);
    let human = support::stdout_ok(&out);
    assert!(
        human.contains("search stopped at its limit of 5 fit evaluations")
            && human.contains("pass --limit N"),
        "{human}"
    );
    let v = json(&run(
        dir.path(),
        &["plan", "--sets", "--limit", "5", "--format", "json"],
    ));
    assert_eq!(v["complete"], false);
    assert_eq!(v["steps"], 6, "one evaluation past the limit stops it");
    // The safe value needs no search: every 2 fit, some 3 do not.
    assert_eq!(v["models_max"]["value"], 2);
}

#[test]
fn plan_sets_with_nothing_that_fits_says_no_profile_fits_even_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = "[[gpu]]\nid = \"CUDA0\"\nname = \"small\"\ntotal_mib = 400\nreserved_mib = 0\n\n\
                [cpu]\nram_mib = 65536\nos_reserve_mib = 4096\n\n[runtime]\n";
    std::fs::write(
        dir.path().join("profilec.toml"),
        format!("{toml}models_dir = {:?}\n", root().join("models")),
    )
    .expect("toml");
    std::fs::write(
        dir.path().join("models.conf"),
        "[a]\nNAME=A\nMODEL=llama-gqa.gguf\nCTX_SIZE=4096\nN_GPU_LAYERS=99\nFIT=off\n\
         EXTRA_ARGS=-ctk f16 -ctv f16\n\n[b]\nNAME=B\nMODEL=qwen3moe.gguf\nCTX_SIZE=4096\n\
         N_GPU_LAYERS=99\nFIT=off\nEXTRA_ARGS=-ctk f16 -ctv f16\n",
    )
    .expect("conf");
    let out = run(dir.path(), &["plan", "--sets"]);
    let human = support::stdout_ok(&out);
    assert!(
        human.contains("none: no profile fits even alone")
            && human.contains("safe --models-max 1: a profile does not fit even alone"),
        "{human}"
    );
    let v = json(&run(dir.path(), &["plan", "--sets", "--format", "json"]));
    assert_eq!(v["maximal"], serde_json::json!([]));
    assert_eq!(v["models_max"]["proven"], 0);
    assert_eq!(v["models_max"]["value"], 1, "0 would mean unlimited");
}

#[test]
fn plan_sets_says_whether_the_profiles_with_roles_fit_together() {
    let dir = rig(&example_with_roles());
    let human = support::stdout_ok(&run(dir.path(), &["plan", "--sets"]));
    assert!(
        human.contains(
            "per role group: the 2 profiles with ROLES, llama-gqa (general), qwen3next (coding), fit together: every role can be served at once"
        ),
        "{human}"
    );
    // Three roles on the tight rig, where only pairs fit.
    let three = example_with_roles().replacen(
        "MODEL=gemma3-swa.gguf\n",
        "MODEL=gemma3-swa.gguf\nROLES=review\n",
        1,
    );
    let dir = tight_rig(&three);
    let v = json(&run(dir.path(), &["plan", "--sets", "--format", "json"]));
    let g = &v["role_group"];
    assert_eq!(
        g["members"],
        serde_json::json!(["llama-gqa", "qwen3next", "gemma3"])
    );
    assert_eq!(g["fits"], false);
    assert_eq!(g["models_max"], 2);
    assert_eq!(
        g["roles"][2],
        serde_json::json!({"role": "review", "id": "gemma3"})
    );
    assert!(
        g["why"].as_str().is_some_and(|w| w
            .contains("do not fit together, but every 2 of them do")
            && w.contains("on CUDA0")),
        "{g}"
    );
}

#[test]
fn the_llama_swap_aliases_are_the_roles_and_validate() {
    let dir = rig(&example_with_roles());
    let out = run(dir.path(), &["render", "--all", "--format", "llama-swap"]);
    let doc = assert_valid_llama_swap(&support::stdout_ok(&out), "ROLES");
    assert_eq!(
        doc["models"]["llama-gqa"]["aliases"],
        serde_json::json!(["general"])
    );
    assert_eq!(
        doc["models"]["qwen3next"]["aliases"],
        serde_json::json!(["coding"])
    );
    assert!(doc["models"]["gemma3"].get("aliases").is_none(), "{doc:#}");
}

#[test]
fn the_llama_swap_groups_put_the_role_profiles_together_when_they_fit() {
    // On the tight rig only pairs fit; llama-gqa + qwen3next is one of them, and without the
    // roles the groups would split them (gemma3 + split-llama, qwen3moe + qwen3next, …).
    let dir = tight_rig(&example_with_roles());
    let out = run(dir.path(), &["render", "--all", "--format", "llama-swap"]);
    let doc = assert_valid_llama_swap(&support::stdout_ok(&out), "tight rig");
    let groups: Vec<Value> = doc["groups"]
        .as_object()
        .expect("groups")
        .values()
        .cloned()
        .collect();
    assert_eq!(
        groups[0]["members"],
        serde_json::json!(["llama-gqa", "qwen3next"])
    );
    for g in &groups {
        assert_eq!(g["members"].as_array().map(Vec::len), Some(2), "{g}");
    }
}

#[test]
fn check_warns_where_a_llama_swap_group_does_not_fit_and_how_to_fix_it() {
    let dir = tight_rig(&example());
    let out = run(dir.path(), &["render", "--all", "--format", "llama-swap"]);
    let yaml = support::stdout_ok(&out);
    let groups = yaml.find("\ngroups:\n").expect("groups");
    // A hand-made group of three (named like a model, which the warning must not point at).
    let edited = format!(
        "{}\ngroups:\n  llama-gqa:\n    swap: false\n    members:\n    - llama-gqa\n    - qwen3moe\n    - gemma3\n",
        &yaml[..groups]
    );
    std::fs::write(dir.path().join("config.yaml"), &edited).expect("write");
    let v = json(&run(
        dir.path(),
        &["check", "config.yaml", "--format", "json"],
    ));
    let d: Vec<&Value> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "llama-swap::group-does-not-fit")
        .collect();
    assert_eq!(d.len(), 1, "{v:#}");
    let message = d[0]["message"].as_str().expect("message");
    assert!(
        message.starts_with(
            "group `llama-gqa` runs llama-gqa + qwen3moe + gemma3 together (swap: false), but they do not fit: over on CUDA0 by"
        ),
        "{message}"
    );
    assert!(
        d[0]["help"]
            .as_str()
            .is_some_and(|h| h.contains("split the group, set `swap: true`")),
        "{:#}",
        d[0]
    );
    let human = support::stderr_of(&run(dir.path(), &["check", "config.yaml"]));
    let lines: Vec<&str> = edited.lines().collect();
    let under = lines.iter().position(|l| *l == "groups:").expect("groups");
    let line = under + 2;
    assert_eq!(lines[line - 1], "  llama-gqa:");
    assert!(
        human.contains(&format!("config.yaml:{line}:3")),
        "the warning points at the group, line {line}:\n{human}"
    );
    // The file render wrote (pairs that fit) is quiet.
    std::fs::write(dir.path().join("config.yaml"), &yaml).expect("write");
    let v = json(&run(
        dir.path(),
        &["check", "config.yaml", "--format", "json"],
    ));
    assert_eq!(v["diagnostics"], serde_json::json!([]), "{v:#}");
}

/// The `; models-max …` header line of the preset `render --all` writes in `dir`.
fn preset_why(dir: &Path) -> String {
    let preset = support::stdout_ok(&run(dir, &["render", "--all", "--format", "preset"]));
    assert!(
        preset.contains("; run: llama-server --models-preset THIS_FILE --models-max 1\n"),
        "{preset}"
    );
    preset
        .lines()
        .find_map(|l| l.strip_prefix("; models-max "))
        .unwrap_or_else(|| panic!("no models-max line:\n{preset}"))
        .to_string()
}

#[test]
fn the_preset_says_why_models_max_is_one() {
    // 1000 MiB usable on CUDA0: each profile fits alone (one CUDA context), no two do.
    let dir = tight_rig(&example());
    let toml = dir.path().join("profilec.toml");
    let text = std::fs::read_to_string(&toml).expect("toml");
    std::fs::write(&toml, text.replace("total_mib = 1536", "total_mib = 1256")).expect("toml");
    let why = preset_why(dir.path());
    assert!(
        why.starts_with("1: not every pair of the 6 profiles fits together: ")
            && why.contains("do not fit together on CUDA0")
            && why.ends_with("so the router must hold one model at a time"),
        "{why}"
    );
    // No model file here (a models.conf for another machine): nothing is known of any pair.
    let toml = std::fs::read_to_string(&toml).expect("toml");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let models = toml
        .lines()
        .find(|l| l.starts_with("models_dir"))
        .expect("models_dir")
        .to_string();
    std::fs::write(
        elsewhere.path().join("profilec.toml"),
        toml.replace(&models, "models_dir = \"no-models-here\""),
    )
    .expect("toml");
    std::fs::write(elsewhere.path().join("models.conf"), example()).expect("conf");
    let why = preset_why(elsewhere.path());
    assert!(
        why.contains("could not be planned (cannot read ")
            && why.contains("make their MODEL files readable here and render again"),
        "{why}"
    );
}
