//! `profilec start` of a vLLM profile. vLLM cannot run here (no GPU, docs/vllm.md), so the test
//! writes a stand-in `vllm`: a real process (python3) that records its argv, serves `/health` on
//! the `--host`/`--port` it is given and records the signal that stops it. What is proven: the
//! program is found (`[runtime] vllm`, then PATH), the argv launched is render's, the health wait
//! sees it ready, SIGINT reaches it, and a server that dies while loading is reported.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use profilec::launch::http;

use crate::support::{free_port, profilec, root};

/// The stand-in: argv to `argv.json` beside itself, `/health` → 200, SIGINT/SIGTERM → the
/// signal number to `signal`, exit 0. With STANDIN_FAIL set in its directory it dies at once.
const STANDIN: &str = r#"#!/usr/bin/env python3
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
with open(os.path.join(here, "argv.json.tmp"), "w") as f:
    json.dump(args, f)
os.rename(os.path.join(here, "argv.json.tmp"), os.path.join(here, "argv.json"))
if os.path.exists(os.path.join(here, "STANDIN_FAIL")):
    print("ValueError: To serve at least one request with the models's max seq len", flush=True)
    sys.exit(1)
host = args[args.index("--host") + 1]
port = int(args[args.index("--port") + 1])
class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
server = HTTPServer((host, port), Health)
def stop(sig, frame):
    with open(os.path.join(here, "signal"), "w") as f:
        f.write(str(sig))
    os._exit(0)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
print("INFO:     Application startup complete.", flush=True)
server.serve_forever()
"#;

struct Setup {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// A project with one vLLM profile on models/hf/llama; the stand-in in `bin/`, named in
/// `[runtime] vllm` when `configured`.
fn setup(configured: bool) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).expect("bin");
    let program = bin.join("vllm");
    fs::write(&program, STANDIN).expect("stand-in");
    let mut perms = fs::metadata(&program).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&program, perms).expect("chmod");
    let port = free_port();
    fs::write(
        dir.path().join("models.conf"),
        "[tiny]\nNAME=tiny llama on vLLM\nMODEL=hf/llama\nCTX_SIZE=2048\nEXTRA_ARGS=--enforce-eager --served-model-name tiny\n",
    )
    .expect("models.conf");
    let vllm = if configured {
        format!("vllm = \"{}\"\n", program.display())
    } else {
        String::new()
    };
    fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "[[gpu]]\nid = \"CUDA0\"\nname = \"NVIDIA GeForce RTX 4090\"\ntotal_mib = 24564\n\
             [cpu]\nram_mib = 8192\n[runtime]\nmodels_dir = \"{}\"\nhost = \"127.0.0.1\"\nport = {port}\n{vllm}",
            root().join("models").display()
        ),
    )
    .expect("profilec.toml");
    Setup { dir, bin, port }
}

/// SIGINTs the `profilec start` (and so the stand-in) if the test fails first.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGINT);
            let _ = self.0.wait();
        }
    }
}

fn rendered_argv(dir: &Path) -> Vec<String> {
    let out = profilec()
        .current_dir(dir)
        .args(["render", "tiny", "--format", "json"])
        .output()
        .expect("render");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("render JSON");
    serde_json::from_value(v["argv"].clone()).expect("argv")
}

#[test]
fn start_launches_renders_argv_waits_for_health_and_forwards_sigint() {
    let s = setup(true);
    let argv = rendered_argv(s.dir.path());
    assert_eq!(argv[0], "serve");
    let child = profilec()
        .current_dir(s.dir.path())
        .args(["start", "tiny", "--quiet", "--timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while http::get("127.0.0.1", s.port, "/health", Duration::from_secs(2))
        .map_or(true, |r| r.status != 200)
    {
        assert!(
            guard.0.try_wait().expect("wait").is_none(),
            "start exited early"
        );
        assert!(Instant::now() < deadline, "no /health within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let launched: Vec<String> =
        serde_json::from_slice(&fs::read(s.bin.join("argv.json")).expect("argv.json"))
            .expect("argv JSON");
    assert_eq!(launched, argv, "the argv launched is the argv rendered");

    kill(Pid::from_raw(guard.0.id() as i32), Signal::SIGINT).expect("SIGINT");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "start did not end after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "the stand-in exits 0 on SIGINT");
    let signal = fs::read_to_string(s.bin.join("signal")).expect("the stand-in saw a signal");
    assert_eq!(signal, (Signal::SIGINT as i32).to_string());
}

#[test]
fn vllm_is_found_on_path_and_a_dying_server_is_reported() {
    let s = setup(false);
    let path = format!(
        "{}:{}",
        s.bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dry = profilec()
        .current_dir(s.dir.path())
        .env("PATH", &path)
        .env_remove("VLLM")
        .args(["start", "tiny", "--dry-run"])
        .output()
        .expect("dry run");
    let line = String::from_utf8_lossy(&dry.stdout).trim().to_owned();
    let words = profilec::render::sh_split(&line).expect("one sh line");
    assert_eq!(Path::new(&words[0]), s.bin.join("vllm"), "{line}");
    assert_eq!(words[1..], rendered_argv(s.dir.path())[..]);

    fs::write(s.bin.join("STANDIN_FAIL"), "").expect("fail marker");
    let out = profilec()
        .current_dir(s.dir.path())
        .env("PATH", &path)
        .env_remove("VLLM")
        .args(["start", "tiny", "--quiet", "--timeout", "60"])
        .output()
        .expect("start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("ValueError: To serve at least one request"),
        "the log tail is shown: {err}"
    );
}

#[test]
fn no_vllm_anywhere_is_a_clear_error() {
    let s = setup(false);
    let out = profilec()
        .current_dir(s.dir.path())
        .env("PATH", "/nonexistent")
        .env_remove("VLLM")
        .args(["start", "tiny"])
        .output()
        .expect("start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("vllm not found"), "{err}");
    assert!(err.contains("pip install vllm==0.11.0"), "{err}");
}

/// The library entry `run` uses: [`profilec::launch::launch_profile`] in handle mode.
#[test]
fn launch_profile_runs_a_vllm_profile_from_the_library() {
    let s = setup(true);
    let mut project =
        profilec::project::open(&s.dir.path().join("models.conf"), None).expect("project");
    let resolved = project
        .resolve("tiny", profilec::budget::Program::LlamaServer)
        .expect("resolved");
    assert_eq!(resolved.runtime, profilec::config::Runtime::Vllm);
    let opts = profilec::launch::LaunchOptions::new(s.dir.path().join("vllm.log"));
    let (spec, outcome) =
        profilec::launch::launch_profile(&resolved, &project.hardware.runtime, &opts)
            .expect("launched");
    assert_eq!(spec.args, resolved.argv());
    assert_eq!(spec.port, s.port);
    let profilec::launch::LaunchOutcome::Running(handle) = outcome else {
        panic!("handle mode returns the running server");
    };
    handle.stop().expect("stopped");
    let signal = fs::read_to_string(s.bin.join("signal")).expect("the stand-in saw a signal");
    assert_eq!(signal, (Signal::SIGINT as i32).to_string());
}

/// `run ID` of a vLLM profile is `start`'s launch: the same command under `--dry-run`; the
/// llama-server tuning (`--auto-batch`, `--smart-run`, flags after `--`) is refused, not ignored.
#[test]
fn run_routes_a_vllm_profile_to_starts_launch() {
    let s = setup(true);
    let dry = |verb: &str, extra: &[&str]| {
        profilec()
            .current_dir(s.dir.path())
            .args([verb, "tiny", "--dry-run"])
            .args(extra)
            .output()
            .expect("dry run")
    };
    let start = dry("start", &[]);
    let run = dry("run", &[]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&start.stdout)
    );
    let line = String::from_utf8_lossy(&run.stdout).trim().to_owned();
    let words = profilec::render::sh_split(&line).expect("one sh line");
    assert_eq!(words[1..], rendered_argv(s.dir.path())[..]);

    let tuned = dry("run", &["--auto-batch"]);
    let err = String::from_utf8_lossy(&tuned.stderr);
    assert_eq!(tuned.status.code(), Some(1), "{err}");
    assert!(err.contains("run::vllm-tuning"), "{err}");
    assert!(err.contains("--auto-batch"), "{err}");
}
