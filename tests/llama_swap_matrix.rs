//! `render --all --format llama-swap-matrix` (every co-resident set as a llama-swap matrix set)
//! and `check` of a matrix (docs/coresidency.md, "Router preset and llama-swap").

use std::path::Path;

use serde_json::Value;

use crate::coresidency::{assert_valid_llama_swap, tight_rig};
use crate::support::{self, root, stdout_json as json};

fn example() -> String {
    std::fs::read_to_string(root().join("profiles/models.conf")).expect("example")
}

fn matrix_yaml(dir: &Path) -> String {
    support::stdout_ok(&support::profilec_in(
        &["render", "--all", "--format", "llama-swap-matrix"],
        dir,
    ))
}

/// The diagnostics of `check FILE --format json` in `dir` with `code`.
fn diagnostics(dir: &Path, file: &str, code: &str) -> Vec<Value> {
    let v = json(&support::profilec_in(
        &["check", file, "--format", "json"],
        dir,
    ));
    v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == code)
        .cloned()
        .collect()
}

#[test]
fn the_llama_swap_matrix_lists_every_set_that_fits_and_validates() {
    // The tight rig: every pair of the 6 profiles fits, no three do, so 15 sets of two.
    let dir = tight_rig(&example());
    let yaml = matrix_yaml(dir.path());
    let doc = assert_valid_llama_swap(&yaml, "matrix");
    assert!(
        doc.get("groups").is_none(),
        "groups and matrix exclude each other"
    );
    let vars = doc["matrix"]["vars"].as_object().expect("vars");
    assert_eq!(vars.len(), 6);
    assert_eq!(vars["llamagqa"], "llama-gqa");
    let sets = doc["matrix"]["sets"].as_object().expect("sets");
    assert_eq!(sets.len(), 15, "{yaml}");
    let plan = json(&support::profilec_in(
        &["plan", "--sets", "--format", "json"],
        dir.path(),
    ));
    let mut maximal: Vec<Vec<String>> =
        serde_json::from_value(plan["maximal"].clone()).expect("maximal");
    let mut written: Vec<Vec<String>> = sets
        .values()
        .map(|dsl| {
            dsl.as_str()
                .expect("dsl")
                .split(" & ")
                .map(|v| vars[v].as_str().expect("var").to_string())
                .collect()
        })
        .collect();
    maximal.sort();
    written.sort();
    assert_eq!(written, maximal);
    // check reads it back: every set fits, nothing to say.
    std::fs::write(dir.path().join("config.yaml"), &yaml).expect("write");
    let v = json(&support::profilec_in(
        &["check", "config.yaml", "--format", "json"],
        dir.path(),
    ));
    assert_eq!(v["diagnostics"], serde_json::json!([]), "{v:#}");
}

#[test]
fn with_everything_fitting_the_matrix_is_one_set_of_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    support::write_rig_toml(dir.path(), "profiles/profilec.toml", &root().join("models"));
    std::fs::write(dir.path().join("models.conf"), example()).expect("conf");
    let doc = assert_valid_llama_swap(&matrix_yaml(dir.path()), "example");
    let sets = doc["matrix"]["sets"].as_object().expect("sets");
    assert_eq!(sets.len(), 1);
    assert_eq!(
        sets["fits-1"],
        "llamagqa & benchlla & qwen3moe & qwen3nex & gemma3 & splitlla"
    );
}

#[test]
fn check_refuses_matrix_sets_llama_swap_refuses_and_warns_about_combinations_that_do_not_fit() {
    let dir = tight_rig(&example());
    let yaml = matrix_yaml(dir.path());
    let at = yaml.find("  sets:\n").expect("sets") + "  sets:\n".len();
    // `&` binds tighter than `|`: the first set is llama-gqa alone or gemma3 + qwen3moe (fits);
    // the second is two triples (neither fits); then what llama-swap refuses.
    let sets = "    either: llamagqa | gemma3 & qwen3moe\n    \
                triples: (llamagqa | benchlla) & +pair\n    \
                pair: qwen3moe & gemma3\n    \
                unknown: gemma3 & nope\n    \
                loop1: +loop2\n    \
                loop2: +loop1 | gemma3\n    \
                cut: gemma3 &\n";
    let edited = format!("{}{sets}", &yaml[..at]);
    std::fs::write(dir.path().join("config.yaml"), &edited).expect("write");
    let warnings = diagnostics(dir.path(), "config.yaml", "llama-swap::set-does-not-fit");
    let messages: Vec<&str> = warnings
        .iter()
        .map(|d| d["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].starts_with("matrix set `triples` lets gemma3 + llama-gqa + qwen3moe run together, but they do not fit: over on CUDA0 by"),
        "{messages:#?}"
    );
    assert!(
        messages[1].contains("bench-llama-gqa + gemma3 + qwen3moe"),
        "{messages:#?}"
    );
    let line = edited
        .lines()
        .position(|l| l.starts_with("    triples:"))
        .expect("line")
        + 1;
    assert_eq!(warnings[0]["line"], line);
    let errors = diagnostics(dir.path(), "config.yaml", "llama-swap::bad-set");
    let errors: Vec<&str> = errors
        .iter()
        .map(|d| d["message"].as_str().expect("message"))
        .collect();
    for expected in [
        "matrix set `cut`: the expression ends early",
        "matrix set `loop1`: its `+` references form a loop",
        "matrix set `loop2`: its `+` references form a loop",
        "matrix set `unknown` names nope, neither a var nor a model",
    ] {
        assert!(errors.contains(&expected), "{expected}: {errors:#?}");
    }
    assert_eq!(errors.len(), 4, "{errors:#?}");

    // Groups and a matrix in one file: llama-swap reads one or the other.
    let groups = support::stdout_ok(&support::profilec_in(
        &["render", "--all", "--format", "llama-swap"],
        dir.path(),
    ));
    let both = format!(
        "{groups}{}",
        &yaml[yaml.find("matrix:\n").expect("matrix")..]
    );
    std::fs::write(dir.path().join("both.yaml"), both).expect("write");
    let errors = diagnostics(dir.path(), "both.yaml", "llama-swap::bad-set");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("both `groups` and `matrix`")),
        "{errors:#?}"
    );
}
