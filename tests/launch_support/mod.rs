//! Shared by tests/launch_*.rs: where the real llama-server and Gemma 3 270M are, and the
//! failure message that says how to get them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use profilec::launch::{self, LaunchOptions, LaunchSpec};

use crate::support;

pub use crate::support::free_port;

/// The real llama-server and Gemma model, or `None` when the developer opted out
/// (tests/support.rs has the skip policy).
pub fn real_parts() -> Option<(PathBuf, PathBuf)> {
    Some((support::real_server()?, support::real_model()?))
}

/// The small, fast llama-server argv the tests use.
pub fn gemma_spec(server: &Path, model: &Path, port: u16) -> LaunchSpec {
    let args = [
        "-m",
        &model.to_string_lossy(),
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "-c",
        "2048",
        "-t",
        "2",
        "-np",
        "1",
    ]
    .map(str::to_owned)
    .to_vec();
    LaunchSpec::from_argv(server, args).expect("valid argv")
}

/// Short timeouts: Gemma 270M loads in 1–4 s even on a busy 2-core machine.
pub fn quick_options(log: &Path) -> LaunchOptions {
    let mut o = LaunchOptions::new(log);
    o.health_timeout = Duration::from_secs(60);
    o.poll_interval = Duration::from_millis(50);
    o.stop_grace = Duration::from_secs(5);
    o
}

pub fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// An observed.jsonl row's measured CPU buffers agree with the plan recorded beside them, within
/// the memory model's accuracy: weights, KV and output to 0.01 MiB, compute within 5 %
/// (docs/accuracy.md).
pub fn assert_observed_matches_plan(row: &serde_json::Value) {
    assert_device_matches_plan(row, "CPU");
}

/// [`assert_observed_matches_plan`] for one device (`CPU`, `RPC1`).
pub fn assert_device_matches_plan(row: &serde_json::Value, device: &str) {
    let cpu_of = |list: &serde_json::Value, key: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|d| d[key] == device))
            .cloned()
            .unwrap_or_else(|| panic!("no {device} row in {list}"))
    };
    let cpu = cpu_of(&row["measured"], "device");
    let plan_cpu = cpu_of(&row["plan"]["devices"], "name");
    println!("{device}: plan {plan_cpu}\n{device}: measured {cpu}");
    let p = |k: &str| plan_cpu[k].as_f64().unwrap_or(f64::NAN);
    let m = |k: &str| cpu[k].as_f64().unwrap_or(f64::NAN);
    assert!(
        (p("weights_mib") + p("weights_repack_mib") - m("weights_mib")).abs() <= 0.01,
        "{plan_cpu} vs {cpu}"
    );
    for k in ["kv_mib", "output_mib"] {
        assert!((p(k) - m(k)).abs() <= 0.01, "{k}: {plan_cpu} vs {cpu}");
    }
    assert!(m("compute_mib") > 0.0, "{cpu}");
    assert!(
        (p("compute_mib") - m("compute_mib")).abs() <= 0.05 * m("compute_mib"),
        "{plan_cpu} vs {cpu}"
    );
}

/// After `profilec start ID` has exited: the server no longer answers, its log says it was
/// listening, and `.profilec/observed.jsonl` beside the models.conf in `dir` has one row for a
/// loaded server of `n_ctx` cells. Returns that row and its measured CPU buffers.
pub fn observed_run(
    dir: &Path,
    id: &str,
    port: u16,
    n_ctx: u64,
) -> (serde_json::Value, serde_json::Value) {
    assert!(
        launch::http::get("127.0.0.1", port, "/health", Duration::from_millis(500)).is_err(),
        "server still up"
    );
    let log =
        std::fs::read_to_string(dir.join(format!(".profilec/logs/{id}.log"))).expect("log file");
    assert!(log.contains("listening"), "{log}");
    let observed = std::fs::read_to_string(dir.join(".profilec/observed.jsonl")).expect("observed");
    let row: serde_json::Value =
        serde_json::from_str(observed.lines().next().expect("row")).expect("json row");
    assert_eq!(row["profile"], id);
    assert_eq!(row["outcome"], "loaded");
    assert_eq!(row["n_ctx"], n_ctx);
    let cpu = row["measured"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["device"] == "CPU"))
        .cloned()
        .expect("CPU row");
    (row, cpu)
}

/// Polls `http://127.0.0.1:port/health` until it answers 200; panics (with what the process
/// printed on stderr) when `child` exits first or `limit` passes. For tests that spawn
/// `profilec start`/`run` and talk to the server it launched.
pub fn wait_for_health(child: &mut std::process::Child, port: u16, limit: Duration, what: &str) {
    let deadline = std::time::Instant::now() + limit;
    while !launch::http::get("127.0.0.1", port, "/health", Duration::from_secs(2))
        .is_ok_and(|r| r.status == 200)
    {
        let exited = child.try_wait().expect("wait").is_some();
        if exited || std::time::Instant::now() > deadline {
            if !exited {
                let _ = child.kill();
                let _ = child.wait();
            }
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!(
                "{what} {} before /health answered (limit {limit:?}): {err}",
                if exited {
                    "exited"
                } else {
                    "was still starting"
                }
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A rig directory for one profile `[gemma-rpc]` over the rpc-servers at `endpoints`:
/// models.conf (`model`, `CTX_SIZE=ctx`, all layers offloaded, FIT=off,
/// `EXTRA_ARGS=--rpc LIST extra`), profilec.toml with the local CPU and the runtime address, and
/// the `[[rpc]]` hosts recorded by `profilec hw --rpc LIST --write`.
pub fn rpc_rig(
    endpoints: &[String],
    model: &Path,
    port: u16,
    ctx: u32,
    extra: &str,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = endpoints.join(",");
    let name = model.file_name().expect("file").to_string_lossy();
    std::fs::write(
        dir.path().join("models.conf"),
        format!(
            "[gemma-rpc]\nNAME=Gemma over two hosts\nMODEL={name}\nCTX_SIZE={ctx}\nN_GPU_LAYERS=99\nFIT=off\n\
             EXTRA_ARGS=--rpc {list} {extra}\n"
        ),
    )
    .expect("models.conf");
    let toml = dir.path().join("profilec.toml");
    std::fs::write(
        &toml,
        format!(
            "[cpu]\nram_mib = 8192\nos_reserve_mib = 1024\n\n[runtime]\nmodels_dir = \"{}\"\nhost = \"127.0.0.1\"\nport = {port}\n\n",
            model.parent().expect("dir").display()
        ),
    )
    .expect("profilec.toml");
    let out = support::output_within(
        support::profilec()
            .args(["hw", "--rpc", &list, "--write"])
            .arg(&toml),
    );
    assert!(out.status.success(), "{out:?}");
    dir
}

/// `POST /completion` of `prompt` for `n_predict` tokens to the server on `port`: asserts it
/// answers 200 with a non-empty `content` and returns the JSON body.
pub fn complete(port: u16, prompt: &str, n_predict: u32, limit: Duration) -> serde_json::Value {
    let request = serde_json::json!({"prompt": prompt, "n_predict": n_predict}).to_string();
    let r = launch::http::post_json("127.0.0.1", port, "/completion", &request, limit)
        .expect("completion");
    assert_eq!(r.status, 200, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert!(!body["content"].as_str().unwrap_or("").is_empty(), "{body}");
    body
}

/// A running `profilec start ID CONF --quiet --timeout SECS` whose server answered /health.
/// Dropping it sends SIGINT to a start still running, so a failing assertion never leaves a
/// server holding the port.
pub struct Started(pub std::process::Child);

/// Spawns `profilec start id conf` (the profile serves on `port`) and waits up to `timeout_secs`
/// for /health.
pub fn start_profile(id: &str, conf: &Path, port: u16, timeout_secs: u64) -> Started {
    let child = support::profilec()
        .args(["start", id])
        .arg(conf)
        .args(["--quiet", "--timeout", &timeout_secs.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn profilec start");
    let mut started = Started(child);
    wait_for_health(
        &mut started.0,
        port,
        Duration::from_secs(timeout_secs),
        "profilec start",
    );
    started
}

impl Started {
    /// SIGINT, as a user's Ctrl-C; returns how `profilec start` exited.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        kill(Pid::from_raw(self.0.id() as i32), Signal::SIGINT).expect("SIGINT");
        self.0.wait().expect("wait")
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.stop();
        }
    }
}
