//! The run's files: `responses.jsonl` (appended as requests finish, so a crash keeps what was
//! measured), `metrics_samples.csv`, `summary.json` (the decision), and `scoreboard.json` one
//! level up, keyed by profile id and argv hash.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BenchRequest;
use super::client::Exchange;
use super::error::BenchError;
use super::matrix::Matrix;
use super::measure::ProfileResult;
use super::sampler::{Sample, SamplerCost};
use crate::fsutil::write_atomic;

/// One line of responses.jsonl.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub profile: String,
    pub ran: String,
    pub concurrency: u32,
    /// Filler tokens before the prompt (the cell's context depth).
    pub depth: u32,
    pub run: u32,
    pub prompt: String,
    /// `None`: the prompt has no expectation, or the request failed.
    pub correct: Option<bool>,
    #[serde(flatten)]
    pub exchange: Exchange,
}

/// `out/<name>` (default `run-<unix seconds>`), created fresh: an existing run is never mixed in.
pub fn claim_run_dir(out: &Path, name: Option<&str>) -> Result<PathBuf, BenchError> {
    let werr = |path: &Path| {
        let path = path.to_owned();
        move |source| BenchError::Write { path, source }
    };
    std::fs::create_dir_all(out).map_err(werr(out))?;
    let base = name.map_or_else(
        || {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("run-{secs}")
        },
        str::to_owned,
    );
    for n in 1..1000 {
        let dir = if n == 1 {
            out.join(&base)
        } else {
            out.join(format!("{base}-{n}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(werr(&dir)(e)),
        }
    }
    Err(werr(out)(std::io::Error::other(
        "too many runs with this name",
    )))
}

/// Appends records and samples as they come; write errors are kept and reported at the end.
pub struct RunWriter {
    responses: Mutex<File>,
    samples: File,
    costs: Vec<SamplerCost>,
}

impl RunWriter {
    pub fn create(dir: &Path) -> Result<RunWriter, BenchError> {
        let open = |name: &str| {
            let path = dir.join(name);
            File::create(&path).map_err(|source| BenchError::Write { path, source })
        };
        let mut samples = open("metrics_samples.csv")?;
        let _ = writeln!(samples, "profile,t_ms,cpu_s,cpu_pct,rss_kib,hwm_kib");
        Ok(RunWriter {
            responses: Mutex::new(open("responses.jsonl")?),
            samples,
            costs: Vec::new(),
        })
    }

    pub fn response(&self, r: &Record) {
        if let (Ok(line), Ok(mut f)) = (serde_json::to_string(r), self.responses.lock()) {
            let _ = writeln!(f, "{line}");
            let _ = f.flush();
        }
    }

    /// `cpu_pct` is over the interval since the previous sample.
    pub fn samples(&mut self, profile: &str, samples: &[Sample]) {
        let mut prev: Option<&Sample> = None;
        for s in samples {
            let pct = prev
                .filter(|p| s.t_ms > p.t_ms)
                .map(|p| (s.cpu_s - p.cpu_s) / ((s.t_ms - p.t_ms) / 1000.0) * 100.0);
            let pct = pct.map_or(String::new(), |p| format!("{p:.1}"));
            let _ = writeln!(
                self.samples,
                "{profile},{:.1},{:.3},{pct},{},{}",
                s.t_ms, s.cpu_s, s.rss_kib, s.hwm_kib
            );
            prev = Some(s);
        }
        let _ = self.samples.flush();
    }

    pub fn add_cost(&mut self, c: SamplerCost) {
        self.costs.push(c);
    }

    /// All sampler threads together: CPU seconds over wall seconds.
    pub fn sampler_cost(&self) -> Option<SamplerCost> {
        let cpu_s: f64 = self.costs.iter().map(|c| c.cpu_s).sum();
        let wall_s: f64 = self.costs.iter().map(|c| c.wall_s).sum();
        (wall_s > 0.0).then(|| SamplerCost {
            cpu_s,
            wall_s,
            cpu_pct: cpu_s / wall_s * 100.0,
        })
    }
}

/// summary.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub run: String,
    pub conf: String,
    pub url: Option<String>,
    /// Every profile ran to the end and met every criterion.
    pub passed: bool,
    /// The first profile failure, if any (each profile has its own `failure`).
    pub failure: Option<String>,
    pub prompts: usize,
    /// Niceness the servers ran at (`--nice`); `None`: profilec's own.
    #[serde(default)]
    pub nice: Option<i32>,
    pub matrix: Value,
    pub sampler: Option<Value>,
    pub profiles: Vec<Value>,
}

impl Summary {
    pub fn new(
        run_dir: &Path,
        req: &BenchRequest,
        results: Vec<ProfileResult>,
        cost: Option<SamplerCost>,
    ) -> Summary {
        let failure = results
            .iter()
            .find_map(|r| r.failure.as_ref().map(|f| format!("{}: {f}", r.id)));
        Summary {
            run: run_dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            conf: req.conf.display().to_string(),
            url: req.url.clone(),
            passed: !results.is_empty() && results.iter().all(|r| r.passed),
            failure,
            prompts: req.prompts.len(),
            nice: req.nice,
            matrix: to_value::<Matrix>(&req.matrix),
            sampler: cost.map(|c| {
                serde_json::json!({"interval_ms": req.matrix.sample_ms, "cpu_s": c.cpu_s, "wall_s": c.wall_s, "cpu_pct_of_one_core": c.cpu_pct})
            }),
            profiles: results.iter().map(to_value).collect(),
        }
    }
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub fn write_summary(run_dir: &Path, s: &Summary) -> Result<(), BenchError> {
    let path = run_dir.join("summary.json");
    let text = serde_json::to_string_pretty(s).unwrap_or_default() + "\n";
    write_atomic(&path, &text).map_err(|source| BenchError::Write { path, source })
}

/// Adds this run to `out/scoreboard.json` under `<id>@<argv hash>`; other rows stay as they were.
pub fn update_scoreboard(out: &Path, s: &Summary) -> Result<(), BenchError> {
    let path = out.join("scoreboard.json");
    let mut board: BTreeMap<String, Value> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| BenchError::Write {
            path: path.clone(),
            source: std::io::Error::other(format!("existing scoreboard is not valid JSON: {e}")),
        })?,
        Err(_) => BTreeMap::new(),
    };
    for p in &s.profiles {
        let field = |k: &str| p.get(k).cloned().unwrap_or(Value::Null);
        let id = field("id").as_str().unwrap_or_default().to_owned();
        let hash = field("argv_hash").as_str().unwrap_or_default().to_owned();
        let row = board
            .entry(format!("{id}@{hash}"))
            .or_insert_with(|| serde_json::json!({"profile": id, "argv_hash": hash, "argv": field("argv"), "runs": []}));
        let entry = serde_json::json!({
            "run": s.run,
            "passed": field("passed"),
            "failure": field("failure"),
            "speed_tps": field("speed_tps"),
            "gen_tps": field("gen_tps"),
            "p95_latency_ms": field("p95_latency_ms"),
            "peak_rss_mib": field("peak_rss_mib"),
            "idle_cpu_pct": field("idle_cpu_pct"),
            "active_cpu_pct": field("active_cpu_pct"),
            "correctness": field("correctness"),
        });
        if let Some(runs) = row.get_mut("runs").and_then(Value::as_array_mut) {
            runs.push(entry.clone());
        }
        if let Some(obj) = row.as_object_mut() {
            obj.insert("latest".into(), entry);
        }
    }
    let text = serde_json::to_string_pretty(&board).unwrap_or_default() + "\n";
    write_atomic(&path, &text).map_err(|source| BenchError::Write { path, source })
}

/// Reads `run_dir/summary.json`.
pub fn read_summary(run_dir: &Path) -> Result<Summary, BenchError> {
    let path = run_dir.join("summary.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| BenchError::NoRun(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| BenchError::NoRun(format!("{}: not a bench summary: {e}", path.display())))
}

/// The SPEED value a run measured for `id`: `~N t/s`, from the shallowest, lowest-concurrency cell's mean
/// generation rate as llama-server timed it. Refused when that profile's run failed.
pub fn measured_speed(run_dir: &Path, id: &str) -> Result<String, BenchError> {
    let s = read_summary(run_dir)?;
    let p = s
        .profiles
        .iter()
        .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| {
            BenchError::NoRun(format!("{} has no results for `{id}`", run_dir.display()))
        })?;
    if let Some(f) = p.get("failure").and_then(Value::as_str) {
        return Err(BenchError::NoRun(format!(
            "the run of `{id}` in {} did not complete: {f}",
            run_dir.display()
        )));
    }
    let tps = p
        .get("speed_tps")
        .and_then(Value::as_f64)
        .filter(|t| *t > 0.0)
        .ok_or_else(|| {
            BenchError::NoRun(format!(
                "no generation speed for `{id}` in {}",
                run_dir.display()
            ))
        })?;
    Ok(if tps >= 10.0 {
        format!("~{tps:.0} t/s")
    } else {
        format!("~{tps:.1} t/s")
    })
}
