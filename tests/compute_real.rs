//! The compute-buffer model against real llama.cpp b11434 runs measured here: a grid over
//! context 512–32768, ubatch 128/512, -np 1/4, f16/q8_0 caches and flash attention on/off on
//! every measured family. `cargo test --test integration compute_real:: -- --nocapture` prints the error
//! table that docs/memory-model.md ("Compute buffers") quotes.

use crate::compute_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use compute_support::{Case, completion, fixture, gemma, measure_completion, measure_server, open};
use profilec::budget::Program;
use profilec::budget::compute::{self, ComputeEstimate};

const TOLERANCE: f64 = 0.05;

/// (ctx, ub, np, kv type, flash attention).
type Setting = (u64, u64, u64, &'static str, bool);

/// (ctx, ub, np, kv type, flash attention): long and short context, both ubatch sizes, one and
/// four streams, quantized caches only with FA (llama.cpp refuses a quantized V without it).
const GRID: &[Setting] = &[
    (512, 128, 1, "f16", true),
    (4096, 512, 1, "f16", false),
    (32768, 512, 1, "f16", false),
    (8192, 512, 4, "q8_0", true),
    (16384, 128, 4, "f16", false),
];

struct Outcome {
    case: Case,
    program: Program,
    measured: Result<f64, String>,
    est: ComputeEstimate,
}

fn run_all(jobs: Vec<(Case, Program)>) -> Vec<Outcome> {
    let Some(cli) = completion() else {
        return Vec::new();
    };
    let srv = if jobs.iter().any(|(_, p)| *p == Program::LlamaServer) {
        compute_support::server()
    } else {
        None
    };
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let done = Mutex::new(Vec::new());
    // Two at a time: the machine has two cores and each run takes about half a second.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.pop()).ok().flatten();
                    let Some((i, (case, program))) = next else {
                        break;
                    };
                    let (m, f) = open(&case.model);
                    let ctx = case.context(&f, program);
                    let est = compute::estimate(&m, &f, &ctx);
                    let measured = match (program, &srv) {
                        (Program::LlamaServer, Some(bin)) => {
                            measure_server(bin, &case, crate::support::free_port())
                        }
                        (Program::LlamaServer, None) => Err("no llama-server".into()),
                        _ => measure_completion(&cli, &case),
                    };
                    if let Ok(mut d) = done.lock() {
                        d.push((
                            i,
                            Outcome {
                                case,
                                program,
                                measured,
                                est,
                            },
                        ));
                    }
                }
            });
        }
    });
    let mut v = done.into_inner().unwrap_or_default();
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, o)| o).collect()
}

fn grid(model: PathBuf, label: &'static str) -> Vec<(Case, Program)> {
    // llama.cpp refuses q8_0 (block 32) when the head size is not a multiple of 32: the tiny
    // fixtures with 16-wide heads run that case with f16.
    let (_, facts) = open(&model);
    let q8_ok = facts.n_embd_head_k % 32 == 0 && facts.n_embd_head_v % 32 == 0;
    GRID.iter()
        .map(|&(ctx, ub, np, kv, fa)| {
            let kv = if q8_ok { kv } else { "f16" };
            (
                Case {
                    model: model.clone(),
                    label,
                    ctx,
                    ub,
                    np,
                    kv,
                    fa,
                },
                Program::LlamaCompletion,
            )
        })
        .collect()
}

/// Prints per-case lines and the per-family table; returns the cases over tolerance.
fn report(outcomes: &[Outcome]) -> Vec<String> {
    let mut table: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    let mut bad = Vec::new();
    for o in outcomes {
        let prog = match o.program {
            Program::LlamaServer => "server",
            Program::LlamaCompletion => "completion",
        };
        let line = format!("{:10} {}", prog, o.case.describe());
        match &o.measured {
            Ok(meas) => {
                let err = o.est.cpu_mib - meas;
                let rel = if *meas > 0.0 { err.abs() / meas } else { 0.0 };
                println!(
                    "{line:70} est {:9.2} meas {:9.2} err {:+7.2} ({:+.2} %) peak {}",
                    o.est.cpu_mib,
                    meas,
                    err,
                    100.0 * err / meas.max(1e-9),
                    o.est.peak_graph
                );
                let key = format!("{} [{}]", o.case.label, o.est.family);
                let row = table.entry(key).or_insert((0, 0.0, 0.0));
                row.0 += 1;
                row.1 = row.1.max(err.abs());
                row.2 = row.2.max(rel);
                if rel > TOLERANCE {
                    bad.push(format!(
                        "{line}: estimated {:.2} MiB, llama.cpp measured {meas:.2} MiB ({:+.1} %, allowed {} %)",
                        o.est.cpu_mib,
                        100.0 * err / meas,
                        100.0 * TOLERANCE
                    ));
                }
            }
            Err(e) => bad.push(format!("{line}: no measurement: {e}")),
        }
    }
    println!("\n| model [family] | runs | max abs err MiB | max rel err % |");
    println!("|---|---:|---:|---:|");
    for (k, (n, abs, rel)) in &table {
        println!("| {k} | {n} | {abs:.2} | {:.2} |", rel * 100.0);
    }
    bad
}

#[test]
fn compute_buffer_matches_real_llama_cpp_within_5_percent() {
    let Some(gemma) = gemma() else { return };
    let mut jobs = Vec::new();
    for (file, label) in [
        ("llama-gqa.gguf", "llama-gqa"),
        ("qwen3moe.gguf", "qwen3moe"),
        ("qwen2moe-shexp.gguf", "qwen2moe-shexp"),
        ("gemma3-swa.gguf", "gemma3-swa"),
        ("lfm2-hybrid.gguf", "lfm2-hybrid"),
    ] {
        jobs.extend(grid(fixture(file), label));
    }
    jobs.extend(grid(gemma.clone(), "gemma-3-270m"));
    // llama-server reserves n_seq output rows instead of n_batch: once per family.
    for (model, label) in [
        (fixture("llama-gqa.gguf"), "llama-gqa"),
        (fixture("qwen3moe.gguf"), "qwen3moe"),
        (fixture("qwen2moe-shexp.gguf"), "qwen2moe-shexp"),
        (fixture("lfm2-hybrid.gguf"), "lfm2-hybrid"),
        (gemma, "gemma-3-270m"),
    ] {
        let case = Case {
            model,
            label,
            ctx: 8192,
            ub: 512,
            np: 4,
            kv: "f16",
            fa: false,
        };
        jobs.push((case, Program::LlamaServer));
    }
    let outcomes = run_all(jobs);
    if outcomes.is_empty() {
        return;
    }
    let bad = report(&outcomes);
    for o in &outcomes {
        assert!(
            o.est.exact_family,
            "{} used a stand-in family",
            o.case.label
        );
    }
    assert!(bad.is_empty(), "out of tolerance:\n{}", bad.join("\n"));
}

/// Families modelled from llama.cpp's source only, measured on their fixtures, all asserted
/// within 5 %: gpt-oss, deepseek2 (MLA with q-LoRA, the GLM-4.7-Flash shape) and qwen3next
/// (gated DeltaNet hybrid). Besides the two common settings, the settings that used to be off:
/// deepseek2 without flash attention (the contiguous copy of the latent V) and qwen3next at a
/// small context (the graph order of the DeltaNet block).
#[test]
fn source_only_families_are_reported() {
    let common: &[Setting] = &[(512, 128, 1, "f16", true), (8192, 512, 1, "f16", false)];
    let probes: &[(&str, &[Setting])] = &[
        (
            "deepseek2-mla.gguf",
            &[(512, 128, 1, "f16", false), (16384, 128, 4, "f16", false)],
        ),
        (
            "qwen3next-hybrid.gguf",
            &[(512, 512, 1, "f16", true), (512, 128, 1, "f16", false)],
        ),
        ("gpt-oss-mxfp4.gguf", &[]),
    ];
    let mut jobs = Vec::new();
    for &(file, extra) in probes {
        for &(ctx, ub, np, kv, fa) in common.iter().chain(extra) {
            let case = Case {
                model: fixture(file),
                label: "source-only",
                ctx,
                ub,
                np,
                kv,
                fa,
            };
            jobs.push((case, Program::LlamaCompletion));
        }
    }
    let outcomes = run_all(jobs);
    for o in &outcomes {
        let name = o
            .case
            .model
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        match &o.measured {
            Ok(m) => println!(
                "{:?} {}: est {:.2} MiB, measured {m:.2} MiB ({:+.1} %)",
                name,
                o.case.describe(),
                o.est.cpu_mib,
                100.0 * (o.est.cpu_mib - m) / m
            ),
            Err(e) => println!(
                "{:?} {}: llama.cpp did not load it ({}); est {:.2} MiB",
                name,
                o.case.describe(),
                e.lines().last().unwrap_or(""),
                o.est.cpu_mib
            ),
        }
        // Every fixture here loads in llama.cpp b11434: a failed run is a broken fixture.
        let m = o
            .measured
            .as_ref()
            .unwrap_or_else(|e| panic!("{name:?}: llama.cpp must load this fixture: {e}"));
        assert!(o.est.exact_family, "{name:?} used a stand-in family");
        let rel = (o.est.cpu_mib - m).abs() / m;
        assert!(
            rel <= TOLERANCE,
            "{} {}: est {} vs measured {m}",
            o.est.family,
            o.case.describe(),
            o.est.cpu_mib
        );
    }
}
