//! The harness against the real llama.cpp b11434 and the real Gemma 3 270M Q4_K_M.
//!
//! Missing binaries or model fail these tests with the install step (tests/support.rs has the
//! skip policy). Numbers are checked against rules (cells = n_ctx, buffers present,
//! breakdown agrees with the buffer lines), never against hard-coded measurements.

use std::path::{Path, PathBuf};

use crate::support;
use std::time::Duration;

use profilec::calibrate::{
    self, FlashAttn, INSTALL_LLAMA_CPP, Measurement, Program, RunOptions, Settings,
};
use profilec::startup_log::{KvKind, Outcome, Program as LogProgram};

const TIMEOUT: Duration = Duration::from_secs(60);

/// llama.cpp's bin folder and the real model, or `None` when the developer opted out
/// (tests/support.rs has the skip policy).
fn real_parts() -> Option<(PathBuf, PathBuf)> {
    let model = support::real_model()?;
    let dir = match calibrate::find_bin_dir() {
        Ok(d) => d,
        Err(e) => return support::skip_or_fail(&format!("{e}\nto fix: {INSTALL_LLAMA_CPP}")),
    };
    for p in [Program::Completion, Program::Server] {
        if !dir.join(p.binary()).is_file() {
            return support::skip_or_fail(&format!(
                "{} not found in {}\nto fix: {INSTALL_LLAMA_CPP}",
                p.binary(),
                dir.display()
            ));
        }
    }
    Some((dir, model))
}

fn process_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn assert_roundtrips(m: &Measurement) {
    let line = m.to_json_line();
    assert!(!line.contains('\n'));
    let back = Measurement::from_json_line(&line).expect("a row reads back");
    assert_eq!(&back, m);
}

#[test]
fn completion_run_is_measured() {
    let Some((bins, model)) = real_parts() else {
        return;
    };
    // 1000 is not a multiple of 256: llama.cpp pads the context, and the cache follows n_ctx.
    let settings = Settings {
        ctx: 1000,
        ..Settings::default()
    };
    let m = calibrate::measure(&bins, &model, &settings, TIMEOUT).expect("the run starts");
    assert!(m.ok, "run failed: {:?}", m.error);
    assert_eq!(m.rc, Some(0));
    assert_eq!(m.error, None);
    assert!(!m.timed_out);
    assert!(m.seconds > 0.0 && m.seconds < TIMEOUT.as_secs_f64());
    assert!(process_gone(m.pid));
    assert_eq!(
        Some(m.model_file.as_str()),
        model.file_name().and_then(|n| n.to_str())
    );
    assert!(m.argv[0].ends_with("llama-completion"));
    for pair in [
        ["-c", "1000"],
        ["-lv", "4"],
        ["-fit", "off"],
        ["-ngl", "0"],
        ["-n", "1"],
    ] {
        assert!(
            m.argv.windows(2).any(|w| w == pair),
            "{pair:?} missing in {:?}",
            m.argv
        );
    }

    let r = m.report.as_ref().expect("the log parses");
    assert_eq!(r.outcome, Outcome::Loaded);
    assert_eq!(r.program, Some(LogProgram::LlamaCompletion));
    // llama-completion's log does not name its build; the row does.
    assert_eq!(m.llama_cpp.as_ref().and_then(|v| v.build), Some(11434));
    let mapped = r.model_buffer("CPU_Mapped").expect("CPU_Mapped line");
    assert!(
        mapped > 200.0 && mapped < m.model_bytes as f64 / 1048576.0 + 1.0,
        "{mapped}"
    );

    let n_ctx = r.context.n_ctx.expect("n_ctx line");
    assert!(
        n_ctx >= 1000 && n_ctx.is_multiple_of(256),
        "n_ctx {n_ctx} is not 1000 padded"
    );
    let full = r
        .kv_cache(KvKind::NonSwa)
        .expect("Gemma 3 has a full-attention cache");
    assert_eq!(full.cells, Some(n_ctx));
    assert_eq!(full.k_type, "f16");
    let swa = r.kv_cache(KvKind::Swa).expect("and a sliding-window cache");
    assert!(swa.cells.is_some_and(|c| c > 0 && c <= n_ctx));

    // llama-completion reserves logits for a whole batch, the server for one per sequence.
    assert_eq!(r.context.n_outputs_max, r.context.n_batch);
    assert_eq!(r.context.n_ubatch, Some(512));
    assert!(r.compute_buffer("CPU").is_some_and(|c| c > 0.0));
    assert!(r.output_buffers.iter().any(|b| b.mib > 0.0));
    assert_roundtrips(&m);
}

#[test]
fn server_run_is_measured_and_stopped() {
    let Some((bins, model)) = real_parts() else {
        return;
    };
    let settings = Settings {
        n_parallel: 2,
        ..Settings::default()
    }
    .server();
    let m = calibrate::measure(&bins, &model, &settings, TIMEOUT).expect("the run starts");
    assert!(m.ok, "run failed: {:?}", m.error);
    assert_eq!(m.rc, Some(0), "SIGINT is a clean shutdown");
    assert!(process_gone(m.pid), "llama-server {} still runs", m.pid);
    assert!(m.argv[0].ends_with("llama-server"));
    assert!(m.argv.windows(2).any(|w| w == ["--host", "127.0.0.1"]));

    let r = m.report.as_ref().expect("the log parses");
    assert_eq!(r.program, Some(LogProgram::LlamaServer));
    assert_eq!(r.verbosity, Some(4));
    assert_eq!(r.build.as_ref().map(|b| b.number), Some(11434));
    assert!(
        r.listening
            .as_deref()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
    );
    assert!(r.model_buffer("CPU_Mapped").is_some_and(|v| v > 200.0));
    assert_eq!(r.context.n_seq_max, Some(2));
    assert_eq!(r.context.n_outputs_max, Some(2));
    let full = r.kv_cache(KvKind::NonSwa).expect("full-attention cache");
    assert_eq!(full.seqs, Some(2));
    // Not unified: one stream per sequence, each with its share of the context.
    assert_eq!(full.streams, Some(2));
    assert_eq!(full.cells.map(|c| c * 2), r.context.n_ctx);

    // The exit table is printed only after SIGINT; its Host model column is the mapped file.
    let host = r
        .memory_breakdown
        .iter()
        .find(|row| row.name == "Host")
        .expect("memory breakdown printed at exit");
    let mapped = r.model_buffer("CPU_Mapped").unwrap_or_default();
    assert!(
        (host.model as f64 - mapped).abs() < 1.0,
        "{} vs {mapped}",
        host.model
    );
    assert_roundtrips(&m);
}

#[test]
fn rejected_setting_is_a_failed_row() {
    let Some((bins, model)) = real_parts() else {
        return;
    };
    let settings = Settings {
        cache_v: "q8_0".into(),
        flash_attn: FlashAttn::Off,
        ..Settings::default()
    };
    let m = calibrate::measure(&bins, &model, &settings, TIMEOUT).expect("a row, not an Err");
    assert!(!m.ok);
    assert_ne!(m.rc, Some(0));
    let err = m.error.as_deref().unwrap_or_default();
    assert!(
        err.contains("quantized V cache requires flash_attn"),
        "{err}"
    );
    let r = m.report.as_ref().expect("the log parses");
    assert_eq!(r.outcome, Outcome::Failed);
    assert_roundtrips(&m);
}

#[test]
fn timeout_kills_the_server_and_keeps_the_row() {
    let Some((bins, model)) = real_parts() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let options = RunOptions {
        timeout: Duration::from_millis(150),
        log_dir: Some(dir.path().to_path_buf()),
    };
    let m = calibrate::measure_with(&bins, &model, &Settings::default().server(), &options)
        .expect("a row, not an Err");
    assert!(m.timed_out);
    assert!(!m.ok);
    assert_eq!(m.rc, None);
    assert_eq!(m.signal, Some(9));
    assert!(
        m.error
            .as_deref()
            .is_some_and(|e| e.starts_with("timed out after 0.1"))
    );
    assert!(process_gone(m.pid));
    let log = m.log_file.as_deref().expect("log kept");
    assert!(Path::new(log).starts_with(dir.path()) && Path::new(log).is_file());
}

#[test]
fn jobs_write_one_json_line_each_failures_included() {
    let Some((bins, model)) = real_parts() else {
        return;
    };
    let jobs = vec![
        (
            model.clone(),
            Settings {
                ctx: 512,
                ..Settings::default()
            },
        ),
        (
            model.clone(),
            Settings {
                cache_v: "q4_0".into(),
                flash_attn: FlashAttn::Off,
                ..Settings::default()
            },
        ),
    ];
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let summary = calibrate::run_jobs(
        &bins,
        &jobs,
        &RunOptions {
            timeout: TIMEOUT,
            log_dir: None,
        },
        &mut out,
        &mut |m| seen.push(m.ok),
    )
    .expect("runs");
    assert_eq!((summary.runs, summary.ok, summary.failed), (2, 1, 1));
    assert_eq!(seen, [true, false]);
    let text = String::from_utf8(out).expect("utf-8");
    let rows: Vec<Measurement> = text
        .lines()
        .map(|l| Measurement::from_json_line(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].settings, jobs[0].1);
    assert_eq!(rows[1].settings.cache_v, "q4_0");
    assert!(!rows[1].ok && rows[1].error.is_some());

    // A job whose model is missing stops the run with a typed error after the rows before it.
    let mut out = Vec::new();
    let bad = vec![
        jobs[0].clone(),
        (model.with_file_name("nope.gguf"), Settings::default()),
    ];
    let err = calibrate::run_jobs(&bins, &bad, &RunOptions::default(), &mut out, &mut |_| {})
        .expect_err("missing model");
    assert!(matches!(
        err,
        calibrate::CalibrateError::ModelNotFound { .. }
    ));
    assert_eq!(String::from_utf8_lossy(&out).lines().count(), 1);
}
