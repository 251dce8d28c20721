//! ROLES: one profile per role (`check` shows both places otherwise), `start --role`, and the
//! router preset's `alias`, which the real llama-server b11434 router routes by.

use std::fs;
use std::time::Duration;

use crate::support::{self, profilec};

const TWO: &str = "[chat]\nNAME=Chat\nMODEL=llama-gqa.gguf\nROLES=general\n\
                   EXTRA_ARGS=-ctk f16 -ctv f16\n\n[coder]\nNAME=Coder\nMODEL=qwen3moe.gguf\n\
                   ROLES=coding,review\nEXTRA_ARGS=-ctk f16 -ctv f16\n";

fn conf(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = crate::doctor::project_dir(text, "");
    let file = dir.path().join("models.conf");
    (dir, file)
}

#[test]
fn a_role_on_two_profiles_is_an_error_naming_both() {
    let (_dir, file) = conf(&format!(
        "{TWO}\n[other]\nNAME=O\nMODEL=llama-gqa.gguf\nROLES=coding\n"
    ));
    let out = profilec()
        .args(["check", "--format", "json"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let text = v.to_string();
    assert!(text.contains("conf::duplicate-role"), "{text}");
    assert!(
        text.contains("is on `[coder]` and again on `[other]`"),
        "{text}"
    );
    // Both places: the second ROLES line (16) and the first (10).
    let human = profilec().arg("check").arg(&file).output().expect("run");
    let err = String::from_utf8_lossy(&human.stderr);
    assert!(err.contains("models.conf:16:"), "{err}");
    assert!(err.contains("first given to `[coder]` here"), "{err}");
    assert!(err.contains("10 │ ROLES=coding,review"), "{err}");
}

#[test]
fn bad_role_values_and_a_role_named_like_an_id() {
    let (_dir, file) = conf(
        "[a]\nNAME=A\nMODEL=llama-gqa.gguf\nROLES=gen eral,b\n\n[b]\nNAME=B\nMODEL=llama-gqa.gguf\n",
    );
    let out = profilec().arg("check").arg(&file).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("conf::bad-value") && err.contains("role `gen eral`"),
        "{err}"
    );
    let (_dir, file) =
        conf("[a]\nNAME=A\nMODEL=llama-gqa.gguf\nROLES=b\n\n[b]\nNAME=B\nMODEL=llama-gqa.gguf\n");
    let out = profilec().arg("check").arg(&file).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conf::role-is-id"), "{err}");
}

#[test]
fn start_role_launches_the_profile_with_that_role() {
    let (_dir, file) = conf(TWO);
    let out = profilec()
        .args(["start", "--role", "review"])
        .arg(&file)
        .arg("--dry-run")
        .output()
        .expect("run");
    let line = String::from_utf8_lossy(&out.stdout);
    support::stdout_ok(&out);
    assert!(line.contains("qwen3moe.gguf"), "{line}");
    let out = profilec()
        .args(["start", "--role", "nobody"])
        .arg(&file)
        .arg("--dry-run")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    // Like an unknown profile id: a wrong command line (docs/diagnostics.md, exit codes).
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no profile has role `nobody`"), "{err}");
    assert!(err.contains("coding, general, review"), "{err}");
}

#[test]
fn the_preset_writes_roles_as_aliases() {
    let (_dir, file) = conf(TWO);
    let text = support::render_preset(&file);
    let chat = text.split("[chat]").nth(1).expect("chat section");
    assert!(chat.contains("alias = general\n"), "{text}");
    assert!(text.contains("alias = coding,review\n"), "{text}");
    let report = profilec::preset::check_preset_source(text.as_str(), None);
    assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);
}

/// The real router lists each role as an alias and answers a request that names the role with
/// the profile's model.
#[test]
fn the_router_routes_a_role_to_its_model() {
    let Some(server) = support::real_server() else {
        return;
    };
    let Some(model) = support::real_model() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("router.ini");
    let name = model
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    fs::write(
        dir.path().join("models.conf"),
        format!(
            "[gemma]\nNAME=Gemma\nMODEL={name}\nCTX_SIZE=1024\nROLES=coding\n\
             EXTRA_ARGS=-np 1 -t 2 --temp 0\n"
        ),
    )
    .expect("conf");
    fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "[cpu]\nram_mib = 8192\n\n[runtime]\nmodels_dir = \"{}\"\n",
            model.parent().expect("dir").display()
        ),
    )
    .expect("toml");
    let text = support::render_preset(&dir.path().join("models.conf"));
    fs::write(&ini, text).expect("ini");
    let mut router = support::start_router(&server, &ini, &["--models-max", "1"], dir.path());
    let body = router.models_when_ready(Duration::from_secs(60));
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let entry = &v["data"][0];
    assert_eq!(entry["id"], "gemma", "{body}");
    assert_eq!(entry["aliases"], serde_json::json!(["coding"]), "{body}");
    let r = profilec::launch::http::post_json(
        "127.0.0.1",
        router.port,
        "/v1/completions",
        r#"{"model": "coding", "prompt": "Hello", "max_tokens": 4}"#,
        Duration::from_secs(120),
    )
    .expect("completion through the alias");
    assert_eq!(r.status, 200, "{}", r.body);
    let answer: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    assert!(answer["choices"][0]["text"].is_string(), "{answer}");
    drop(router);
}
