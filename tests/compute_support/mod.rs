//! Shared by tests/compute_*.rs: running real llama.cpp b11434 and reading its compute buffer.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use profilec::budget::{ContextParams, Program};
use profilec::calibrate::{self, FlashAttn, Settings};
use profilec::gguf::{Model, ModelFacts};
use profilec::resolve::{Effective, Origin, apply_words};

pub use crate::support::{
    fixture, real_completion as completion, real_model as gemma, real_server as server,
};

/// One launch setting of the grid.
#[derive(Debug, Clone)]
pub struct Case {
    pub model: PathBuf,
    pub label: &'static str,
    pub ctx: u64,
    pub ub: u64,
    pub np: u64,
    pub kv: &'static str,
    pub fa: bool,
}

impl Case {
    /// The case as the library's calibration settings for `program` (`-b 2048`, and the flags
    /// every calibration run pins: `-t 2 -fit off -ngl 0 -lv 4`).
    pub fn settings(&self, program: calibrate::Program) -> Settings {
        let fa = if self.fa {
            FlashAttn::On
        } else {
            FlashAttn::Off
        };
        Settings {
            program,
            ctx: self.ctx as u32,
            ubatch: self.ub as u32,
            batch: 2048,
            n_parallel: self.np as u32,
            cache_k: self.kv.to_string(),
            cache_v: self.kv.to_string(),
            flash_attn: fa,
            ..Settings::default()
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} -c {} -ub {} -np {} -ctk/-ctv {} -fa {}",
            self.label,
            self.ctx,
            self.ub,
            self.np,
            self.kv,
            if self.fa { "on" } else { "off" }
        )
    }

    /// llama.cpp's context numbers for this case, from the library's own resolution of the
    /// case's argv (docs/memory-model.md §1): completion reserves `n_batch` output rows,
    /// llama-server one per sequence.
    pub fn context(&self, facts: &ModelFacts, program: Program) -> ContextParams {
        // llama-server's argv: llama-completion's prompt words are not launch settings.
        let argv = self
            .settings(calibrate::Program::Server)
            .argv(&self.model, 0);
        let mut eff = Effective::default();
        apply_words(&mut eff, &argv, Origin::ExtraArgs);
        let options = eff
            .options()
            .unwrap_or_else(|e| panic!("{}: {e}", argv.join(" ")));
        ContextParams::new(&options, facts, program)
    }
}

/// The CPU compute buffer llama.cpp printed, parsed with `startup_log::parse`.
fn compute_mib(log: &str) -> Result<f64, String> {
    let r = profilec::startup_log::parse(log).map_err(|e| e.to_string())?;
    r.compute_buffers
        .iter()
        .find(|b| b.name == "CPU")
        .map(|b| b.mib)
        .ok_or_else(|| {
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            format!("no CPU compute buffer line; log tail:\n{}", tail.join("\n"))
        })
}

/// Runs llama-completion (`-n 1`, no warmup) and returns the measured compute buffer. A run
/// whose log stops before the buffer line (seen once in CI: the log ended inside
/// `sched_reserve`) is run once more before it counts; the error names both exit statuses.
pub fn measure_completion(bin: &Path, case: &Case) -> Result<f64, String> {
    let argv = case
        .settings(calibrate::Program::Completion)
        .argv(&case.model, 0);
    let run = || -> Result<f64, String> {
        let out = Command::new(bin)
            .args(&argv)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let mut log = String::from_utf8_lossy(&out.stderr).into_owned();
        log.push_str(&String::from_utf8_lossy(&out.stdout));
        compute_mib(&log).map_err(|e| format!("{} ({e})", out.status))
    };
    run().or_else(|first| run().map_err(|second| format!("{first}\nrun again: {second}")))
}

/// Starts llama-server, reads its log until the compute buffer is printed, then stops it.
pub fn measure_server(bin: &Path, case: &Case, port: u16) -> Result<f64, String> {
    let argv = case
        .settings(calibrate::Program::Server)
        .argv(&case.model, port);
    let mut child = Command::new(bin)
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            log.push_str(&line);
            log.push('\n');
            if line.contains("compute buffer size") || Instant::now() > deadline {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    compute_mib(&log)
}

pub fn open(path: &Path) -> (Model, ModelFacts) {
    let m = Model::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f = ModelFacts::from_model(&m).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m, f)
}
