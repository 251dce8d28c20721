//! The matrix file (TOML): what to run and the criteria a profile must meet (docs/bench.md).
//! Unknown keys and wrong types are errors with their line, reported before anything starts.

use std::path::Path;

use serde::Serialize;
use toml_edit::{Document, Item, Table};

use super::error::{BenchError, LineProblem, read_input};

/// What each profile is run with; the command line overrides the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    /// Times the prompt set is repeated in each cell.
    pub runs: u32,
    /// Parallel requests per cell, one cell per value.
    pub concurrency: Vec<u32>,
    /// Context depths in tokens (filler before each prompt); cells are concurrency × depth.
    pub depth: Vec<u32>,
    /// Default `max_tokens` for prompts that do not set one.
    pub max_tokens: u32,
    /// Warm-up requests before the idle measurement (not recorded).
    pub warmup: u32,
    /// Seconds of idle CPU measured after the warm-up, before the load.
    pub idle_seconds: f64,
    /// Resource sampling interval.
    pub sample_ms: u64,
    /// Per-request deadline.
    pub request_timeout_s: u64,
    pub criteria: Criteria,
}

impl Default for Matrix {
    fn default() -> Self {
        Matrix {
            runs: 1,
            concurrency: vec![1],
            depth: vec![0],
            max_tokens: 32,
            warmup: 1,
            idle_seconds: 2.0,
            sample_ms: 100,
            request_timeout_s: 120,
            criteria: Criteria::default(),
        }
    }
}

/// Limits a profile must meet; an unset limit is not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Criteria {
    /// Server CPU while idle, % of one core.
    pub idle_cpu_pct_max: Option<f64>,
    /// Server CPU under load (worst cell), % of one core.
    pub active_cpu_pct_max: Option<f64>,
    /// Peak resident memory of the server (VmHWM), MiB.
    pub rss_mib_max: Option<f64>,
    /// p95 end-to-end latency of the worst cell, ms.
    pub p95_latency_ms_max: Option<f64>,
    /// Fraction of scored answers that are correct, 0..=1.
    pub correctness_min: Option<f64>,
    /// Mean generation t/s (llama-server's `timings`) of the slowest cell.
    pub gen_tps_min: Option<f64>,
}

pub const CRITERIA_KEYS: [&str; 6] = [
    "idle_cpu_pct_max",
    "active_cpu_pct_max",
    "rss_mib_max",
    "p95_latency_ms_max",
    "correctness_min",
    "gen_tps_min",
];

impl Criteria {
    /// Sets one limit by its key; `Err` names the allowed keys.
    pub fn set(&mut self, key: &str, value: f64) -> Result<(), String> {
        if !value.is_finite() || value < 0.0 {
            return Err(format!("`{key}` must be a number ≥ 0"));
        }
        let slot = match key {
            "idle_cpu_pct_max" => &mut self.idle_cpu_pct_max,
            "active_cpu_pct_max" => &mut self.active_cpu_pct_max,
            "rss_mib_max" => &mut self.rss_mib_max,
            "p95_latency_ms_max" => &mut self.p95_latency_ms_max,
            "correctness_min" => &mut self.correctness_min,
            "gen_tps_min" => &mut self.gen_tps_min,
            _ => {
                return Err(format!(
                    "unknown criterion `{key}` (known: {})",
                    CRITERIA_KEYS.join(", ")
                ));
            }
        };
        *slot = Some(value);
        Ok(())
    }

    /// `--criteria p95_latency_ms_max=2000,correctness_min=0.8` over these limits.
    pub fn apply_cli(&mut self, spec: &str) -> Result<(), BenchError> {
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| BenchError::Criteria(format!("`{pair}` is not KEY=VALUE")))?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| BenchError::Criteria(format!("`{v}` is not a number")))?;
            self.set(k.trim(), v).map_err(BenchError::Criteria)?;
        }
        Ok(())
    }
}

/// Reads a matrix file; every problem at once, with lines.
pub fn load(path: &Path) -> Result<Matrix, BenchError> {
    read_input(path, parse)
}

fn line_of(src: &str, offset: Option<std::ops::Range<usize>>) -> usize {
    let at = offset.map_or(0, |r| r.start).min(src.len());
    src.get(..at).map_or(1, |s| s.matches('\n').count() + 1)
}

pub fn parse(src: &str) -> Result<Matrix, Vec<LineProblem>> {
    let doc = Document::parse(src).map_err(|e| {
        let msg = e.message().trim().to_owned();
        vec![LineProblem::new(
            line_of(src, e.span()),
            format!("TOML syntax: {msg}"),
        )]
    })?;
    let mut m = Matrix::default();
    let mut problems = Vec::new();
    let root = doc.as_table();
    for (key, item) in root.iter() {
        let line = line_of(src, root.key(key).and_then(|k| k.span()).or(item.span()));
        let mut bad = |what: &str| {
            problems.push(LineProblem::new(line, format!("`{key}` must be {what}")));
        };
        match key {
            "runs" => match positive(item) {
                Some(n) => m.runs = n,
                None => bad("an integer ≥ 1"),
            },
            "max_tokens" => match positive(item) {
                Some(n) => m.max_tokens = n,
                None => bad("an integer ≥ 1"),
            },
            "warmup" => match item.as_integer().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => m.warmup = n,
                None => bad("an integer ≥ 0"),
            },
            "concurrency" => {
                let list: Option<Vec<u32>> = item.as_array().map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_integer().and_then(|n| u32::try_from(n).ok()))
                        .filter(|n| *n >= 1)
                        .collect()
                });
                match (list, item.as_array().map(|a| a.len())) {
                    (Some(l), Some(n)) if !l.is_empty() && l.len() == n => m.concurrency = l,
                    _ => bad("a non-empty array of integers ≥ 1, e.g. [1, 4]"),
                }
            }
            "depth" => {
                let list: Option<Vec<u32>> = item.as_array().map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_integer().and_then(|n| u32::try_from(n).ok()))
                        .collect()
                });
                match (list, item.as_array().map(|a| a.len())) {
                    (Some(l), Some(n)) if !l.is_empty() && l.len() == n => m.depth = l,
                    _ => bad("a non-empty array of token counts ≥ 0, e.g. [0, 4096]"),
                }
            }
            "idle_seconds" => match number(item) {
                Some(s) if (0.0..=600.0).contains(&s) => m.idle_seconds = s,
                _ => bad("a number of seconds in 0..=600"),
            },
            "sample_ms" => match item.as_integer() {
                Some(n @ 10..=10_000) => m.sample_ms = n.unsigned_abs(),
                _ => bad("an integer in 10..=10000"),
            },
            "request_timeout_s" => match item.as_integer() {
                Some(n @ 1..=86_400) => m.request_timeout_s = n.unsigned_abs(),
                _ => bad("an integer in 1..=86400"),
            },
            "criteria" => match item.as_table() {
                Some(t) => criteria(src, t, &mut m.criteria, &mut problems),
                None => bad("a table: [criteria]"),
            },
            other => problems.push(LineProblem::new(
                line,
                format!(
                    "unknown key `{other}` (known: runs, concurrency, depth, max_tokens, warmup, idle_seconds, sample_ms, request_timeout_s, [criteria])"
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(m)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

fn criteria(src: &str, t: &Table, c: &mut Criteria, problems: &mut Vec<LineProblem>) {
    for (key, item) in t.iter() {
        let line = line_of(src, t.key(key).and_then(|k| k.span()).or(item.span()));
        let result = match number(item) {
            Some(v) => c.set(key, v),
            None => Err(format!("`{key}` must be a number")),
        };
        if let Err(msg) = result {
            problems.push(LineProblem::new(line, msg));
        }
    }
}

fn positive(item: &Item) -> Option<u32> {
    item.as_integer()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= 1)
}

fn number(item: &Item) -> Option<f64> {
    item.as_float()
        .or_else(|| item.as_integer().map(|n| n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_matrix_and_reports_lines() {
        let m = parse(
            "runs = 2\nconcurrency = [1, 2]\ndepth = [0, 256]\n[criteria]\ncorrectness_min = 0.5\n",
        )
        .unwrap();
        assert_eq!((m.runs, m.concurrency.clone()), (2, vec![1, 2]));
        assert_eq!(m.depth, vec![0, 256]);
        assert_eq!(m.criteria.correctness_min, Some(0.5));
        let p = parse("runs = 0\n\nconcurrency = []\n[criteria]\nspeed = 3\n").unwrap_err();
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 3, 5], "{p:?}");
        assert_eq!(parse("depth = [-1]\n").unwrap_err()[0].line, 1);
        let p = parse("runs = 1\nconcurrency = [1\n").unwrap_err();
        assert_eq!(p[0].line, 2, "{p:?}");
    }
}
