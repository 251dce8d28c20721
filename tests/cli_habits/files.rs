//! models.conf found by walking up; which profilec.toml, and why.

use std::path::Path;

use super::{bad_conf, profilec, project, run, text};
use crate::support::{free_port, root};

#[test]
fn walking_up_finds_the_nearest_models_conf() {
    let t = project();
    let proj = t.path().join("proj");
    let sub = proj.join("a/b");
    let out = run(&mut profilec(&sub, &["check"]));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let found = proj.join("models.conf").canonicalize().unwrap();
    assert!(stderr.contains(&found.display().to_string()), "{stderr}");
    // render, plan and start find it too (and the profilec.toml beside it).
    let out = run(&mut profilec(
        &sub,
        &["render", "qwen3moe", "--format", "json"],
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&mut profilec(&sub, &["start", "qwen3moe", "--dry-run"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A closer models.conf wins.
    bad_conf(&proj.join("a"));
    let out = run(&mut profilec(&sub, &["check"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("bad.id"));
    // An explicit FILE is used as given.
    let out = run(&mut profilec(&sub, &["check", "../../models.conf"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("../../models.conf: "));
}

#[test]
fn walking_up_stops_at_the_filesystem_root_with_a_clear_message() {
    let t = tempfile::tempdir().unwrap();
    let start = t.path().canonicalize().unwrap();
    if let Some(above) = start.ancestors().find(|d| d.join("models.conf").is_file()) {
        panic!("cannot test: {} holds a models.conf", above.display());
    }
    for args in [
        &["check"][..],
        &["plan", "x"],
        &["render", "x"],
        &["start", "x"],
    ] {
        let out = run(&mut profilec(&start, args));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("no models.conf in {}", start.display()))
                && stderr.contains("filesystem root")
                && stderr.contains("help: pass the file"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn walking_up_from_the_filesystem_root_says_so() {
    let root_dir = Path::new("/");
    if root_dir.join("models.conf").is_file() {
        panic!("cannot test: / holds a models.conf");
    }
    let out = run(&mut profilec(root_dir, &["check"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no models.conf in / (the filesystem root)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bench_walks_up_to_the_nearest_models_conf() {
    let t = project();
    let proj = t.path().join("proj");
    // Nothing listens there: the summary names the file, then says the warm-up failed.
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = run(&mut profilec(
        &proj.join("a/b"),
        &["bench", "qwen3moe", "--url", &url, "--format", "json"],
    ));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    let found = proj.join("models.conf").canonicalize().unwrap();
    assert_eq!(summary["conf"], found.display().to_string(), "{summary}");
}

#[test]
fn hw_where_says_which_profilec_toml_and_why() {
    let t = project();
    let proj = t.path().join("proj");
    let located = |dir: &Path, envs: &[(&str, &Path)]| {
        let mut c = profilec(dir, &["hw", "--where", "--format", "json"]);
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = run(&mut c);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let beside = located(&proj.join("a/b"), &[]);
    assert_eq!(beside["hardware"]["reason"], "beside-conf", "{beside}");
    // No profilec.toml beside: $PROFILEC_CONFIG, then the user's config directory.
    std::fs::remove_file(proj.join("profilec.toml")).unwrap();
    let xdg = t.path().join("xdg");
    std::fs::create_dir_all(xdg.join("profilec")).unwrap();
    let user_toml = xdg.join("profilec/profilec.toml");
    std::fs::copy(root().join("profiles/cpu-only.toml"), &user_toml).unwrap();
    let user = located(&proj, &[("XDG_CONFIG_HOME", &xdg)]);
    assert_eq!(user["hardware"]["reason"], "user-config", "{user}");
    let env_toml = root().join("profiles/profilec.toml");
    let env = located(
        &proj,
        &[("XDG_CONFIG_HOME", &xdg), ("PROFILEC_CONFIG", &env_toml)],
    );
    assert_eq!(env["hardware"]["reason"], "env", "{env}");
    // plan uses the user's file: the CPU-only box has no CUDA0.
    let plan = run(
        profilec(&proj, &["plan", "qwen3moe", "--format", "json"]).env("XDG_CONFIG_HOME", &xdg)
    );
    assert!(
        !text(&plan.stdout).contains("CUDA0"),
        "{}",
        text(&plan.stdout)
    );
    let human = run(profilec(&proj, &["hw", "--where"]).env("XDG_CONFIG_HOME", &xdg));
    let human = text(&human.stdout);
    assert!(
        human.contains(&user_toml.display().to_string()) && human.contains("config directory"),
        "{human}"
    );
    // A $PROFILEC_CONFIG naming nothing is an error, not silently skipped.
    let missing =
        run(profilec(&proj, &["hw", "--where"]).env("PROFILEC_CONFIG", t.path().join("nope.toml")));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("$PROFILEC_CONFIG names"),
        "{}",
        text(&missing.stderr)
    );
}
