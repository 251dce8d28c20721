//! `profilec bench`: launch profiles exactly as `start` does, load them with a prompt set at
//! several concurrencies, measure what llama-server reports and what the process costs, score
//! the answers, decide with criteria, and write the run's files (docs/bench.md).
//!
//! Stages: [`prepare`] checks every input and every profile (the same check → render → spec
//! → preflight path as `start`) before anything is launched; [`run`] launches one profile at a
//! time, measures it ([`measure`]) and writes [`output`].

mod client;
mod depth;
mod error;
mod matrix;
mod measure;
mod output;
mod plot;
mod prepare;
mod prompts;
mod sampler;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

pub use client::{Client, Exchange, ServerTimings};
pub use error::{BenchError, LineProblem};
pub use matrix::{CRITERIA_KEYS, Criteria, Matrix};
pub use measure::{CellSummary, ProfileResult};
pub use output::{Summary, measured_speed, read_summary};
pub use plot::{Point, points, render_svg, write_plot};
pub use prepare::{Target, argv_hash, prepare};
pub use prompts::{Expect, Prompt};
pub use sampler::{Sample, Sampler, SamplerCost};
pub use stats::{Failed, Measured, Percentiles};

/// Reads a prompts file (JSONL), every problem with its line.
pub fn load_prompts(path: &std::path::Path) -> Result<Vec<Prompt>, BenchError> {
    prompts::load(path)
}

/// Parses prompts held in memory (the built-in set); `name` is used in messages.
pub fn parse_prompts(text: &str, name: &str) -> Result<Vec<Prompt>, BenchError> {
    prompts::parse(text).map_err(|problems| BenchError::Input {
        path: PathBuf::from(name),
        problems,
    })
}

/// One line per profile for people: decision, speed, p95, RSS, correctness, failed criteria.
pub fn describe(p: &serde_json::Value) -> String {
    let s = |k: &str| p.get(k).and_then(serde_json::Value::as_str).unwrap_or("?");
    let n = |k: &str| {
        p.get(k)
            .and_then(serde_json::Value::as_f64)
            .map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
    };
    let mut line = format!(
        "{} [{}]: {:.4} t/s {}  p95 {} ms  peak RSS {} MiB  idle CPU {}%  correct {}",
        if p.get("passed") == Some(&serde_json::Value::Bool(true)) {
            "pass"
        } else {
            "FAIL"
        },
        s("ran"),
        "gen",
        n("speed_tps"),
        n("p95_latency_ms"),
        n("peak_rss_mib"),
        n("idle_cpu_pct"),
        n("correctness"),
    );
    if let Some(f) = p.get("failure").and_then(serde_json::Value::as_str) {
        line.push_str(&format!("\n  failure: {f}"));
    }
    for c in p
        .get("failed_criteria")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        line.push_str(&format!("\n  criterion not met: {c}"));
    }
    line
}

/// Reads a matrix file (TOML), every problem with its line.
pub fn load_matrix(path: &std::path::Path) -> Result<Matrix, BenchError> {
    matrix::load(path)
}

/// Everything a bench run needs, already validated by its loaders.
#[derive(Debug, Clone)]
pub struct BenchRequest {
    pub conf: PathBuf,
    pub hardware: Option<PathBuf>,
    /// Production profile ids; each runs as its `bench-<id>` twin when the file has one.
    pub ids: Vec<String>,
    pub prompts: Vec<Prompt>,
    pub matrix: Matrix,
    /// Runs go to `out/<run-name>/`; `out/scoreboard.json` aggregates them.
    pub out: PathBuf,
    pub run_name: Option<String>,
    /// Attach to a running server instead of launching (no resource sampling then).
    pub url: Option<String>,
    pub health_timeout: Duration,
    /// Niceness the launched servers run at (`--nice`); `None` keeps profilec's.
    pub nice: Option<i32>,
}

/// What the progress callback is told.
#[derive(Debug, Clone)]
pub enum Event {
    /// Requests the whole run will send (warm-ups excluded).
    Total(u64),
    /// What is happening now, e.g. `gemma: launching`.
    Phase(String),
    /// One request finished.
    Request,
}

pub type Progress<'a> = &'a (dyn Fn(Event) + Sync);

/// The outcome: where the files are and the decision.
#[derive(Debug, Clone)]
pub struct BenchOutcome {
    pub run_dir: PathBuf,
    pub summary: Summary,
}

impl BenchOutcome {
    /// 0 when every profile ran to the end and met every criterion, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.summary.passed { 0 } else { 1 }
    }
}

/// Checks everything, then runs every profile in turn. A profile whose server dies ends that
/// profile's measurement (what was measured is kept); later profiles still run.
pub fn run(req: &BenchRequest, progress: Progress) -> Result<BenchOutcome, BenchError> {
    let targets = prepare(req)?;
    let run_dir = output::claim_run_dir(&req.out, req.run_name.as_deref())?;
    let mut writer = output::RunWriter::create(&run_dir)?;
    let per_cell = u64::from(req.matrix.runs) * req.prompts.len() as u64;
    let cells = (req.matrix.concurrency.len() * req.matrix.depth.len()) as u64;
    progress(Event::Total(per_cell * cells * targets.len() as u64));
    let mut results = Vec::new();
    for target in &targets {
        let result = measure::profile(target, req, &run_dir, &mut writer, progress);
        results.push(result);
    }
    let summary = output::Summary::new(&run_dir, req, results, writer.sampler_cost());
    output::write_summary(&run_dir, &summary)?;
    output::update_scoreboard(&req.out, &summary)?;
    Ok(BenchOutcome { run_dir, summary })
}
