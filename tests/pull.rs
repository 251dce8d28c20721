//! `profilec pull` (docs/remote.md) against a real HTTP server on 127.0.0.1 (tests/http_support):
//! resume after a dropped connection, a corrupted body refused, short disk space refused, the
//! exact `--json` report, concurrent pulls of one file.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::http_support::{Fault, HubServer, sha256_file};
use crate::support::{fixture, profilec};
use profilec::pull::{Action, FreeSpace, PullRequest, pull_with};
use profilec::remote::{Client, DEFAULT_TIMEOUT};

const KEY: &str = "org/tiny/llama-gqa.gguf";

struct Setup {
    dir: tempfile::TempDir,
    hub: HubServer,
}

impl Setup {
    /// A models.conf with `profiles`, a profilec.toml whose models_dir is `models/`, and the
    /// hub serving llama-gqa.gguf with `fault`.
    fn new(profiles: &str, fault: Fault) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("models.conf"), profiles).expect("conf");
        std::fs::write(
            dir.path().join("profilec.toml"),
            "[runtime]\nmodels_dir = \"models\"\n",
        )
        .expect("toml");
        let hub = HubServer::start();
        hub.add(KEY, &fixture("llama-gqa.gguf"), fault);
        Setup { dir, hub }
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("models.conf")
    }

    fn model(&self, name: &str) -> PathBuf {
        self.dir.path().join("models").join(name)
    }

    fn pull(&self, args: &[&str]) -> Output {
        profilec()
            .arg("pull")
            .args(args)
            .arg("--file")
            .arg(self.conf())
            .env("HF_ENDPOINT", self.hub.endpoint())
            .env_remove("HF_TOKEN")
            .output()
            .expect("profilec pull runs")
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let o = self.pull(&all);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
        })
    }
}

const ONE: &str =
    "[tiny]\nMODEL=llama-gqa.gguf\nSOURCE=hf://org/tiny/llama-gqa.gguf\nROLES=general\n";

fn size() -> u64 {
    std::fs::metadata(fixture("llama-gqa.gguf")).unwrap().len()
}

fn fixture_sha() -> String {
    sha256_file(&fixture("llama-gqa.gguf"))
}

fn same_as_fixture(path: &Path) -> bool {
    std::fs::read(path).ok() == std::fs::read(fixture("llama-gqa.gguf")).ok()
}

#[test]
fn pull_resumes_after_the_server_drops_the_connection_halfway() {
    let s = Setup::new(ONE, Fault::DropOnceAfter(size() / 2));
    let v = s.json(&[]);
    assert_eq!(v["actions"][0]["action"], "resumed", "{v:#}");
    assert!(same_as_fixture(&s.model("llama-gqa.gguf")));
    assert!(!s.model("llama-gqa.gguf.part").exists());
    // Half, then the other half: nothing fetched twice (the probes cost one byte each).
    let served = s.hub.bytes_for(KEY);
    assert!(
        served >= size() && served <= size() + 4,
        "{served} of {}",
        size()
    );
}

#[test]
fn pull_continues_a_part_file_left_by_an_earlier_run() {
    let s = Setup::new(ONE, Fault::None);
    let half = size() / 2;
    let bytes = std::fs::read(fixture("llama-gqa.gguf")).unwrap();
    std::fs::create_dir_all(s.model("")).unwrap();
    std::fs::write(s.model("llama-gqa.gguf.part"), &bytes[..half as usize]).unwrap();
    let v = s.json(&[]);
    assert_eq!(v["actions"][0]["action"], "resumed", "{v:#}");
    assert_eq!(v["actions"][0]["bytes_downloaded"], size() - half);
    assert!(same_as_fixture(&s.model("llama-gqa.gguf")));
}

#[test]
fn a_corrupted_body_leaves_no_file_at_the_model_path() {
    let s = Setup::new(ONE, Fault::Corrupt);
    let o = s.pull(&["--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["actions"][0]["action"], "failed", "{v:#}");
    assert_eq!(v["actions"][0]["code"], "pull::sha-mismatch");
    assert_eq!(v["actions"][0]["verified_against"], "hub");
    assert!(!s.model("llama-gqa.gguf").exists());
    assert!(!s.model("llama-gqa.gguf.part").exists());
}

#[test]
fn short_disk_space_is_refused_before_downloading() {
    let s = Setup::new(ONE, Fault::None);
    let mut request = PullRequest::new(s.conf());
    request.free_space = FreeSpace::Assume(size() - 1);
    let client = Client::new(&s.hub.endpoint(), None, DEFAULT_TIMEOUT);
    let report = pull_with(&request, &client).expect("pull runs");
    match &report.actions[0].action {
        Action::Failed { code, reason, .. } => {
            assert_eq!(code, "pull::no-space");
            assert!(reason.contains("free"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(s.hub.bytes_for(KEY) <= 1, "only the probe's byte");
    assert!(!s.model("llama-gqa.gguf").exists());
    // With the space there, the same request installs it.
    request.free_space = FreeSpace::Assume(size());
    let report = pull_with(&request, &client).expect("pull runs");
    assert_eq!(report.actions[0].action, Action::Downloaded);
}

#[test]
fn json_report_is_exact() {
    let conf = format!(
        "{ONE}\n[local]\nMODEL=have.gguf\n\n[gone]\nMODEL=nowhere.gguf\n\n[pinned]\nMODEL=tiny-copy.gguf\nSOURCE=hf://org/tiny/llama-gqa.gguf\nSHA256={}\nROLES=coding\n",
        "0".repeat(64)
    );
    let s = Setup::new(&conf, Fault::None);
    std::fs::create_dir_all(s.model("")).unwrap();
    std::fs::copy(fixture("llama-gqa.gguf"), s.model("have.gguf")).unwrap();
    let o = s.pull(&["--json"]);
    assert_eq!(o.status.code(), Some(1), "two profiles fail");
    let models = s.model("");
    let m = |n: &str| models.join(n).display().to_string();
    let sha = fixture_sha();
    let expected = serde_json::json!({
        "actions": [
            {"id": "tiny", "roles": ["general"], "model": m("llama-gqa.gguf"),
             "source": "hf://org/tiny/llama-gqa.gguf", "action": "downloaded",
             "bytes_downloaded": size(), "sha256": [sha], "verified_against": "hub"},
            {"id": "local", "roles": [], "model": m("have.gguf"), "source": null,
             "action": "present", "bytes_downloaded": 0, "sha256": [], "verified_against": null},
            {"id": "gone", "roles": [], "model": m("nowhere.gguf"), "source": null,
             "action": "failed", "code": "pull::no-source",
             "reason": format!("MODEL {} is missing and profile `gone` has no SOURCE", m("nowhere.gguf")),
             "help": "add SOURCE=hf://ORG/REPO/FILE.gguf to the profile, or put the file at MODEL",
             "bytes_downloaded": 0, "sha256": [], "verified_against": null},
            {"id": "pinned", "roles": ["coding"], "model": m("tiny-copy.gguf"),
             "source": "hf://org/tiny/llama-gqa.gguf", "action": "failed",
             "code": "pull::sha-mismatch",
             "reason": format!("SHA256= of {} is {} but hf://org/tiny/llama-gqa.gguf has SHA-256 {sha}", m("tiny-copy.gguf"), "0".repeat(64)),
             "help": "the file on the hub changed: pin the revision (hf://…@COMMIT) or update SHA256",
             "bytes_downloaded": 0, "sha256": [], "verified_against": null},
        ]
    });
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(got, expected);
    // Roles filter, and --force re-verifies what is there.
    let v = s.json(&["--roles", "general", "--force"]);
    assert_eq!(v["actions"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["actions"][0]["action"], "verified");
    assert_eq!(v["actions"][0]["verified_against"], "hub");
    // A second plain run finds it present.
    assert_eq!(s.json(&["tiny"])["actions"][0]["action"], "present");
}

#[test]
fn a_url_source_is_verified_against_sha256_of_models_conf() {
    let s = Setup::new("", Fault::None);
    let conf = format!(
        "[url]\nMODEL=from-url.gguf\nSOURCE={}/raw/{KEY}\nSHA256={}\n",
        s.hub.endpoint(),
        fixture_sha().to_uppercase()
    );
    std::fs::write(s.conf(), conf).unwrap();
    let v = s.json(&[]);
    assert_eq!(v["actions"][0]["action"], "downloaded", "{v:#}");
    assert_eq!(v["actions"][0]["verified_against"], "SHA256");
    assert!(same_as_fixture(&s.model("from-url.gguf")));
}

#[test]
fn concurrent_pulls_of_one_file_download_it_once() {
    let s = Setup::new(ONE, Fault::None);
    let client = Client::new(&s.hub.endpoint(), None, DEFAULT_TIMEOUT);
    let request = PullRequest::new(s.conf());
    let actions: Vec<Action> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    pull_with(&request, &client).expect("pull").actions[0]
                        .action
                        .clone()
                })
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("thread"))
            .collect()
    });
    assert!(actions.contains(&Action::Downloaded), "{actions:?}");
    assert!(actions.contains(&Action::Present), "{actions:?}");
    assert!(s.hub.bytes_for(KEY) <= size() + 2);
}

#[test]
fn unknown_ids_and_roles_are_usage_errors() {
    let s = Setup::new(ONE, Fault::None);
    let o = s.pull(&["nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pull::unknown-profile"));
    let o = s.pull(&["--roles", "vision"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pull::unknown-role"));
}
