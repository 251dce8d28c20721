//! The real llama-server b11434 in router mode reads the preset `profilec render` writes and
//! `profilec check` accepts: `GET /models` lists exactly its sections. No model is loaded
//! (router mode starts a model only on request), so this needs only the binary.

use crate::support;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use profilec::launch::http;
use profilec::preset::check_preset_source;

#[test]
fn router_lists_the_rendered_sections() {
    let Some(server) = support::real_server() else {
        return;
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let out = support::profilec()
        .args(["render", "--all", "--format", "preset"])
        .arg(Path::new(root).join("profiles/models.conf"))
        .output()
        .expect("render");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let report = check_preset_source(text.as_str(), None);
    assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);
    let mut expected: Vec<String> = report.preset.models().map(|s| s.name.clone()).collect();
    expected.sort();

    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("router.ini");
    std::fs::write(&ini, &text).expect("write");
    let port = support::free_port();
    let log = dir.path().join("router.log");
    let mut child = Command::new(&server)
        .arg("--models-preset")
        .arg(&ini)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .env("HF_HUB_OFFLINE", "1")
        .env("LLAMA_CACHE", dir.path().join("cache"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start llama-server");
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        if let Ok(Some(status)) = child.try_wait() {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("llama-server exited ({status}):\n{err}");
        }
        match http::get("127.0.0.1", port, "/models", Duration::from_secs(2)) {
            Ok(r) if r.status == 200 => break r.body,
            _ if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("router did not answer GET /models within 60 s");
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
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
