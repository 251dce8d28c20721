//! `--auto-batch --measure`: a short llama-bench sweep on this machine over the physical batch
//! sizes the memory model lets fit — prompt processing only (`-n 0`), one repetition — so the
//! fastest of them is kept. llama-bench runs without a shell, its output in a temp file, under a
//! hard deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::GpuLayers;
use crate::launch::find_program;
use crate::project::ResolvedProfile;

/// A sweep of a few small prompts on a loaded machine takes seconds; a hung process is killed.
const DEADLINE: Duration = Duration::from_secs(180);

/// Prompt-processing speed per physical batch size (tokens/s), as llama-bench measured it.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub program: PathBuf,
    pub results: Vec<(u64, f64)>,
}

impl Sweep {
    pub fn fastest(&self) -> Option<(u64, f64)> {
        self.results
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// Measures `ubatches` for the model and threads of `r` with `batch` as the logical batch.
pub fn sweep(r: &ResolvedProfile, ubatches: &[u64], batch: u64) -> Result<Sweep, String> {
    let model = r.model_path.as_deref().ok_or("the launch has no model")?;
    let program = find_program("llama-bench", None, "LLAMA_BENCH").map_err(|e| e.to_string())?;
    let list: Vec<String> = ubatches.iter().map(u64::to_string).collect();
    let prompt = ubatches.iter().copied().max().unwrap_or(512);
    let mut cmd = Command::new(&program);
    cmd.arg("-m")
        .arg(model)
        .args([
            "-p",
            &prompt.to_string(),
            "-n",
            "0",
            "-r",
            "1",
            "-o",
            "json",
        ])
        .args(["-b", &batch.to_string(), "-ub", &list.join(",")]);
    if let Some(t) = r.effective.value("--threads") {
        cmd.args(["-t", t]);
    }
    if let GpuLayers::Count(n) = r.options.gpu_layers {
        cmd.args(["-ngl", &n.to_string()]);
    }
    let out = tempfile_path();
    let file = std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let result = run_to_end(cmd.stdout(file).stderr(Stdio::null()), &program);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    result?;
    let rows: Vec<Value> = serde_json::from_str(&text)
        .map_err(|e| format!("llama-bench printed no JSON table ({e})"))?;
    let results = rows
        .iter()
        .filter_map(|row| Some((row["n_ubatch"].as_u64()?, row["avg_ts"].as_f64()?)))
        .collect::<Vec<_>>();
    if results.is_empty() {
        return Err("llama-bench measured nothing".into());
    }
    Ok(Sweep { program, results })
}

fn run_to_end(cmd: &mut Command, program: &Path) -> Result<(), String> {
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("llama-bench failed ({status})")),
            Ok(None) if started.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("llama-bench took over {} s", DEADLINE.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for llama-bench: {e}")),
        }
    }
}

fn tempfile_path() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "profilec-bench-{}-{nanos}.json",
        std::process::id()
    ))
}
