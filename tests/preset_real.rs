//! The real llama-server b11434 in router mode reads the preset `profilec render` writes and
//! `profilec check` accepts: `GET /models` lists exactly its sections. No model is loaded
//! (router mode starts a model only on request), so this needs only the binary.

use crate::support;
use std::time::Duration;

use profilec::preset::check_preset_source;

#[test]
fn router_lists_the_rendered_sections() {
    let Some(server) = support::real_server() else {
        return;
    };
    let text = support::render_preset(&support::root().join("profiles/models.conf"));
    let report = check_preset_source(text.as_str(), None);
    assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);
    let mut expected: Vec<String> = report.preset.models().map(|s| s.name.clone()).collect();
    expected.sort();

    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("router.ini");
    std::fs::write(&ini, &text).expect("write");
    let mut router = support::start_router(&server, &ini, &[], dir.path());
    let body = router.models_when_ready(Duration::from_secs(60));
    drop(router);
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let mut ids: Vec<String> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    assert_eq!(ids, expected, "{body}");
}
