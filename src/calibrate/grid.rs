//! Named sets of settings and running them over models into a JSONL file.
//!
//! The grids vary one factor at a time around [`Settings::default`] (quick) or take the full
//! product of the factors the memory model depends on (full), plus the corner cases the oracle
//! found worth a row each: mixed cache types, odd context sizes, SWA full cache, no mmap, no
//! repack, `-fa auto`, and llama-server with and without a unified KV cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{CalibrateError, FlashAttn, LoadMode, Measurement, RunOptions, Settings, measure_with};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grid {
    /// About ten runs per model: the base point, one change at a time, two server runs.
    Quick,
    /// ctx 512/4096/32768 × ubatch 128/512 × np 1/4 × cache f16/q8_0 × fa on/off, the extras,
    /// and the server runs.
    Full,
    /// llama-server only: sequences, unified KV, a large quantized cache.
    Server,
}

impl FromStr for Grid {
    type Err = CalibrateError;
    fn from_str(s: &str) -> Result<Grid, CalibrateError> {
        match s {
            "quick" => Ok(Grid::Quick),
            "full" => Ok(Grid::Full),
            "server" => Ok(Grid::Server),
            _ => Err(CalibrateError::UnknownGrid {
                name: s.to_string(),
            }),
        }
    }
}

impl Grid {
    pub fn settings(self) -> Vec<Settings> {
        match self {
            Grid::Quick => quick(),
            Grid::Full => full(),
            Grid::Server => server(),
        }
    }
}

/// The settings of a grid by name (`quick`, `full`, `server`).
pub fn grid(name: &str) -> Result<Vec<Settings>, CalibrateError> {
    Ok(name.parse::<Grid>()?.settings())
}

fn cache(ct: &str) -> (String, String) {
    (ct.to_string(), ct.to_string())
}

fn quick() -> Vec<Settings> {
    let b = Settings::default();
    let (q8k, q8v) = cache("q8_0");
    vec![
        b.clone(),
        Settings {
            ctx: 512,
            ..b.clone()
        },
        Settings {
            ctx: 32768,
            ..b.clone()
        },
        Settings {
            flash_attn: FlashAttn::Off,
            ..b.clone()
        },
        Settings {
            ubatch: 128,
            ..b.clone()
        },
        Settings {
            n_parallel: 4,
            ..b.clone()
        },
        Settings {
            cache_k: q8k,
            cache_v: q8v,
            ..b.clone()
        },
    ]
    .into_iter()
    .chain(server_slots(&b))
    .collect()
}

/// llama-server with one sequence, four, and four in one unified cache.
fn server_slots(b: &Settings) -> [Settings; 3] {
    [
        b.clone().server(),
        Settings {
            n_parallel: 4,
            ..b.clone()
        }
        .server(),
        Settings {
            n_parallel: 4,
            kv_unified: true,
            ..b.clone()
        }
        .server(),
    ]
}

fn full() -> Vec<Settings> {
    let b = Settings::default();
    let mut out = Vec::new();
    for ctx in [512, 4096, 32768] {
        for ubatch in [128, 512] {
            for n_parallel in [1, 4] {
                for ct in ["f16", "q8_0"] {
                    for flash_attn in [FlashAttn::On, FlashAttn::Off] {
                        let (cache_k, cache_v) = cache(ct);
                        out.push(Settings {
                            ctx,
                            ubatch,
                            n_parallel,
                            cache_k,
                            cache_v,
                            flash_attn,
                            ..b.clone()
                        });
                    }
                }
            }
        }
    }
    out.extend(extras());
    out.extend(server());
    out
}

/// Corner cases, one row each.
fn extras() -> Vec<Settings> {
    let b = Settings::default();
    vec![
        Settings {
            cache_k: "q8_0".into(),
            flash_attn: FlashAttn::Off,
            ..b.clone()
        },
        Settings {
            cache_k: "q4_0".into(),
            cache_v: "q4_0".into(),
            ..b.clone()
        },
        // n_ctx not divisible by n_seq: llama.cpp rounds the per-sequence context.
        Settings {
            n_parallel: 3,
            ctx: 5000,
            ..b.clone()
        },
        // n_ctx not a multiple of 256: the KV cache is padded.
        Settings {
            ctx: 1000,
            ..b.clone()
        },
        Settings {
            ctx: 32768,
            ubatch: 2048,
            ..b.clone()
        },
        Settings {
            swa_full: true,
            ..b.clone()
        },
        Settings {
            load_mode: LoadMode::None,
            ..b.clone()
        },
        Settings {
            no_repack: true,
            ..b.clone()
        },
        Settings {
            flash_attn: FlashAttn::Auto,
            ..b
        },
    ]
}

fn server() -> Vec<Settings> {
    let b = Settings::default();
    let long_q8 = Settings {
        ctx: 32768,
        n_parallel: 4,
        cache_k: "q8_0".into(),
        cache_v: "q8_0".into(),
        ..b.clone()
    }
    .server();
    server_slots(&b).into_iter().chain([long_q8]).collect()
}

/// Expert-placement runs for MoE models: `-ot`, `--n-cpu-moe`, `-cmoe`. On a CPU-only run they
/// move nothing between devices but change the buffer types (and so what gets repacked).
pub fn moe_extras() -> Vec<Settings> {
    let b = Settings::default();
    let with = |extra: &[&str]| Settings {
        extra: extra.iter().map(|s| s.to_string()).collect(),
        ..b.clone()
    };
    vec![
        with(&["-ot", "exps=CPU"]),
        with(&["--n-cpu-moe", "2"]),
        with(&["-cmoe"]),
        Settings {
            no_repack: true,
            ..with(&["-ot", "ffn_(up|gate)_exps=CPU"])
        },
        Settings {
            load_mode: LoadMode::None,
            ..with(&["-ot", "exps=CPU"])
        },
    ]
}

/// The grid's settings for one model: MoE models (file name containing `moe`, as the fixtures
/// are named) also get [`moe_extras`].
pub fn settings_for_model(grid: Grid, model: &Path) -> Vec<Settings> {
    let mut s = grid.settings();
    let name = model
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.contains("moe") {
        s.extend(moe_extras());
    }
    s
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridSummary {
    pub runs: usize,
    pub ok: usize,
    pub failed: usize,
}

/// Measures every model under every setting of `grid` (with [`settings_for_model`]); see
/// [`run_jobs`].
pub fn run_grid(
    bin_dir: &Path,
    models: &[PathBuf],
    grid: Grid,
    options: &RunOptions,
    out: &mut dyn Write,
    on_row: &mut dyn FnMut(&Measurement),
) -> Result<GridSummary, CalibrateError> {
    let jobs: Vec<(PathBuf, Settings)> = models
        .iter()
        .flat_map(|m| {
            settings_for_model(grid, m)
                .into_iter()
                .map(move |s| (m.clone(), s))
        })
        .collect();
    run_jobs(bin_dir, &jobs, options, out, on_row)
}

/// Runs each (model, settings) pair in order, writing one JSON line per run to `out` (flushed
/// after each, so an interrupted grid keeps its rows) and handing each row to `on_row` for
/// progress output. Stops at the first error that prevents runs altogether (missing binary or
/// model, unwritable output); failed runs are rows, not errors.
pub fn run_jobs(
    bin_dir: &Path,
    jobs: &[(PathBuf, Settings)],
    options: &RunOptions,
    out: &mut dyn Write,
    on_row: &mut dyn FnMut(&Measurement),
) -> Result<GridSummary, CalibrateError> {
    if let Some(dir) = &options.log_dir {
        std::fs::create_dir_all(dir).map_err(|source| CalibrateError::Io {
            what: "cannot create the log directory",
            path: dir.clone(),
            source,
        })?;
    }
    let mut summary = GridSummary::default();
    for (model, settings) in jobs {
        let m = measure_with(bin_dir, model, settings, options)?;
        writeln!(out, "{}", m.to_json_line())
            .and_then(|()| out.flush())
            .map_err(|source| CalibrateError::Write { source })?;
        summary.runs += 1;
        if m.ok {
            summary.ok += 1;
        } else {
            summary.failed += 1;
        }
        on_row(&m);
    }
    Ok(summary)
}
