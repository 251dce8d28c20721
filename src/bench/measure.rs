//! One profile: launch (or attach), sample resources, warm up, measure idle CPU, then each
//! concurrency cell; if the server dies the profile ends there with what was measured.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::client::{Client, Exchange};
use super::depth::{self, Filler};
use super::output::{Record, RunWriter};
use super::prepare::{Target, argv_hash};
use super::sampler::{Sampler, cpu_pct, peak_rss_mib};
use super::stats::{Failed, Measured, Percentiles, evaluate, mean};
use super::{BenchRequest, Event, Progress};
use crate::launch::{LaunchOptions, LaunchOutcome, ServerHandle, describe_status, http};

/// One concurrency level at one context depth of one profile.
#[derive(Debug, Clone, Serialize)]
pub struct CellSummary {
    pub concurrency: u32,
    /// Requested context depth (filler tokens before each prompt).
    pub depth: u32,
    /// The filler's length in the server's tokens (equal to `depth` unless the tokenizer could
    /// not cut it there; `None` when the filler could not be built).
    pub depth_tokens: Option<u64>,
    pub requests: usize,
    pub errors: usize,
    pub ttft_ms: Option<Percentiles>,
    pub latency_ms: Option<Percentiles>,
    /// Mean of llama-server's `predicted_per_second` over the cell's requests.
    pub gen_tps_mean: Option<f64>,
    /// Mean of llama-server's `prompt_per_second`.
    pub prompt_tps_mean: Option<f64>,
    /// The same decode rate measured on this side from the stream (a cross-check).
    pub wall_gen_tps_mean: Option<f64>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub active_cpu_pct: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub correctness: Option<f64>,
}

/// A profile's decision and the numbers behind it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileResult {
    pub id: String,
    pub ran: String,
    pub argv_hash: String,
    pub argv: Vec<String>,
    pub pid: Option<u32>,
    /// Why the run of this profile did not complete; `None` when it did.
    pub failure: Option<String>,
    /// What the criteria are checked on.
    #[serde(flatten)]
    pub measured: Measured,
    /// Shallowest, lowest-concurrency cell's mean generation t/s (what `mark-tested --from-bench` writes).
    pub speed_tps: Option<f64>,
    pub passed: bool,
    pub failed_criteria: Vec<Failed>,
    pub cells: Vec<CellSummary>,
}

/// Runs one profile; never fails as a whole: problems become `failure`.
pub fn profile(
    t: &Target,
    req: &BenchRequest,
    run_dir: &Path,
    writer: &mut RunWriter,
    progress: Progress,
) -> ProfileResult {
    let mut server: Option<ServerHandle> = None;
    if let Some(spec) = &t.spec {
        progress(Event::Phase(format!("{}: launching", t.ran)));
        let mut opts = LaunchOptions::new(run_dir.join(format!("server-{}.log", t.ran)));
        opts.health_timeout = req.health_timeout;
        opts.nice = req.nice;
        match crate::launch::launch(spec, &opts) {
            Ok(LaunchOutcome::Running(h)) => server = Some(h),
            Ok(LaunchOutcome::Exited(_)) => {}
            Err(e) => return empty(t, None, format!("launch failed: {e} ({})", e.help())),
        }
    }
    let pid = server.as_ref().map(ServerHandle::pid);
    let sampler = pid.map(|p| Sampler::start(p, Duration::from_millis(req.matrix.sample_ms)));
    let client = Client::new(
        &t.base_url,
        Duration::from_secs(req.matrix.request_timeout_s),
    );
    let gone = || match pid {
        Some(p) => !alive(p),
        None => !healthy(&t.base_url),
    };
    let mut failure = None;
    progress(Event::Phase(format!("{}: warm-up and idle", t.ran)));
    for _ in 0..req.matrix.warmup {
        if let Some(p) = req.prompts.first() {
            let ex = client.chat(&p.messages, p.max_tokens.unwrap_or(req.matrix.max_tokens));
            if let Some(e) = ex.error {
                failure = Some(format!("warm-up request failed: {e}"));
                break;
            }
        }
    }
    let now = |s: &Option<Sampler>| s.as_ref().map_or(0.0, Sampler::now_ms);
    let idle_from = now(&sampler);
    if failure.is_none() {
        std::thread::sleep(Duration::from_secs_f64(req.matrix.idle_seconds));
    }
    let idle_to = now(&sampler);
    let mut windows = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    for &d in &req.matrix.depth {
        if failure.is_some() {
            break;
        }
        progress(Event::Phase(format!("{}: depth {d}: filler", t.ran)));
        let filler =
            match depth::filler(&client, d).and_then(|f| fits(&client, req, &f).map(|()| f)) {
                Ok(f) => f,
                Err(e) => {
                    failure = Some(format!("depth {d}: {e}"));
                    break;
                }
            };
        for &c in &req.matrix.concurrency {
            if failure.is_some() {
                break;
            }
            progress(Event::Phase(format!(
                "{}: depth {d}, concurrency {c}",
                t.ran
            )));
            let from = now(&sampler);
            let (cell, aborted) = cell(t, req, &client, (c, d, &filler), &gone, writer, progress);
            windows.push((c, d, filler.tokens, from, now(&sampler)));
            records.extend(cell);
            if aborted {
                failure = Some("the server stopped answering during the run".into());
            }
        }
    }
    let samples = sampler.map(|s| {
        let (samples, cost) = s.finish();
        writer.add_cost(cost);
        samples
    });
    if let Some(mut h) = server {
        // A server killed mid-run may still be tearing down (threads, mappings) when its
        // requests fail; waiting a moment lets the failure name how it ended, not only that it
        // went silent (on a loaded machine the exit lagged the failed requests).
        let mut exited = h.try_wait();
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while failure.is_some() && matches!(exited, Ok(None)) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
            exited = h.try_wait();
        }
        if let Ok(Some(status)) = exited {
            failure = Some(format!(
                "the server exited during the run ({}); see server-{}.log",
                describe_status(status),
                t.ran
            ));
        }
        let _ = h.stop();
    }
    let samples = samples.unwrap_or_default();
    writer.samples(&t.ran, &samples);
    let cells: Vec<CellSummary> = windows
        .iter()
        .map(|&(c, d, d_tokens, from, to)| {
            let mine: Vec<&Record> = records
                .iter()
                .filter(|r| r.concurrency == c && r.depth == d)
                .collect();
            summarize(
                (c, d, d_tokens),
                &mine,
                cpu_pct(&samples, from, to),
                peak_rss_mib(&samples, from, to),
            )
        })
        .collect();
    let errors: usize = cells.iter().map(|c| c.errors).sum();
    if failure.is_none() && errors > 0 {
        failure = Some(format!("{errors} request(s) failed; see responses.jsonl"));
    }
    let scored: Vec<f64> = records
        .iter()
        .filter_map(|r| r.correct.map(|b| if b { 1.0 } else { 0.0 }))
        .collect();
    let measured = Measured {
        idle_cpu_pct: cpu_pct(&samples, idle_from, idle_to),
        active_cpu_pct: max_of(cells.iter().map(|c| c.active_cpu_pct)),
        peak_rss_mib: peak_rss_mib(&samples, 0.0, f64::MAX),
        p95_latency_ms: max_of(cells.iter().map(|c| c.latency_ms.map(|p| p.p95))),
        correctness: mean(&scored),
        gen_tps: cells
            .iter()
            .filter_map(|c| c.gen_tps_mean)
            .min_by(f64::total_cmp),
    };
    let failed_criteria = evaluate(&req.matrix.criteria, &measured);
    let speed_tps = cells
        .iter()
        .min_by_key(|c| (c.depth, c.concurrency))
        .and_then(|c| c.gen_tps_mean);
    let mut result = empty(t, pid, String::new());
    result.failure = failure;
    result.passed = result.failure.is_none() && failed_criteria.is_empty();
    result.measured = measured;
    result.speed_tps = speed_tps;
    result.failed_criteria = failed_criteria;
    result.cells = cells;
    result
}

/// Sends the prompt set `runs` times with `c` requests in flight, each behind the depth's
/// filler; stops early (`true`) when a request fails and the server is gone.
fn cell(
    t: &Target,
    req: &BenchRequest,
    client: &Client,
    (c, d, filler): (u32, u32, &Filler),
    gone: &(dyn Fn() -> bool + Sync),
    writer: &RunWriter,
    progress: Progress,
) -> (Vec<Record>, bool) {
    let jobs: Vec<(u32, usize)> = (0..req.matrix.runs)
        .flat_map(|r| (0..req.prompts.len()).map(move |i| (r, i)))
        .collect();
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let out = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..c {
            s.spawn(|| {
                while !abort.load(Ordering::Relaxed) {
                    let Some(&(run, i)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let Some(p) = req.prompts.get(i) else { break };
                    let messages = depth::with_filler(&p.messages, filler);
                    let ex: Exchange =
                        client.chat(&messages, p.max_tokens.unwrap_or(req.matrix.max_tokens));
                    let failed = ex.error.is_some();
                    let correct = match (&p.expect, failed) {
                        (Some(e), false) => Some(e.matches(&ex.answer)),
                        _ => None,
                    };
                    let rec = Record {
                        profile: t.id.clone(),
                        ran: t.ran.clone(),
                        concurrency: c,
                        depth: d,
                        run,
                        prompt: p.id.clone(),
                        correct,
                        exchange: ex,
                    };
                    writer.response(&rec);
                    if let Ok(mut v) = out.lock() {
                        v.push(rec);
                    }
                    progress(Event::Request);
                    if failed && gone() {
                        abort.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let records = out.into_inner().unwrap_or_default();
    (records, abort.load(Ordering::Relaxed))
}

fn summarize(
    (c, depth, depth_tokens): (u32, u32, u64),
    recs: &[&Record],
    active_cpu_pct: Option<f64>,
    peak_rss_mib: Option<f64>,
) -> CellSummary {
    let ok: Vec<&Exchange> = recs
        .iter()
        .map(|r| &r.exchange)
        .filter(|e| e.error.is_none())
        .collect();
    let timing = |f: fn(&super::client::ServerTimings) -> f64| {
        let v: Vec<f64> = ok
            .iter()
            .filter_map(|e| e.timings.as_ref().map(f))
            .collect();
        mean(&v)
    };
    let scored: Vec<f64> = recs
        .iter()
        .filter_map(|r| r.correct.map(|b| if b { 1.0 } else { 0.0 }))
        .collect();
    let ttft: Vec<f64> = ok.iter().filter_map(|e| e.ttft_ms).collect();
    let latency: Vec<f64> = ok.iter().map(|e| e.latency_ms).collect();
    let wall: Vec<f64> = ok.iter().filter_map(|e| e.wall_gen_tps).collect();
    CellSummary {
        concurrency: c,
        depth,
        depth_tokens: Some(depth_tokens),
        requests: recs.len(),
        errors: recs.len() - ok.len(),
        ttft_ms: Percentiles::of(&ttft),
        latency_ms: Percentiles::of(&latency),
        gen_tps_mean: timing(|t| t.predicted_per_second),
        prompt_tps_mean: timing(|t| t.prompt_per_second),
        wall_gen_tps_mean: mean(&wall),
        tokens_in: ok.iter().filter_map(|e| e.tokens_in).sum(),
        tokens_out: ok.iter().filter_map(|e| e.tokens_out).sum(),
        active_cpu_pct,
        peak_rss_mib,
        correctness: mean(&scored),
    }
}

/// Every prompt at this depth fits the server's slot context: filler + templated prompt +
/// `max_tokens` ≤ `n_ctx` per slot. Checked before the depth's first request.
fn fits(client: &Client, req: &BenchRequest, filler: &Filler) -> Result<(), String> {
    let n_ctx = depth::slot_ctx(client)?;
    for p in &req.prompts {
        let prompt = depth::prompt_tokens(client, &depth::with_filler(&p.messages, filler))?;
        let generate = u64::from(p.max_tokens.unwrap_or(req.matrix.max_tokens));
        if prompt + generate > n_ctx {
            return Err(format!(
                "prompt `{}` (line {}) needs {prompt} prompt tokens (with {} filler) + {generate} to \
                 generate = {} > the slot's context of {n_ctx} tokens; lower --depth or \
                 max_tokens, or raise the profile's CTX_SIZE",
                p.id,
                p.line,
                filler.tokens,
                prompt + generate
            ));
        }
    }
    Ok(())
}

fn max_of(it: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    it.flatten().max_by(f64::total_cmp)
}

fn empty(t: &Target, pid: Option<u32>, failure: String) -> ProfileResult {
    ProfileResult {
        id: t.id.clone(),
        ran: t.ran.clone(),
        argv_hash: argv_hash(&t.argv),
        argv: t.argv.clone(),
        pid,
        failure: (!failure.is_empty()).then_some(failure),
        measured: Measured::default(),
        speed_tps: None,
        passed: false,
        failed_criteria: Vec::new(),
        cells: Vec::new(),
    }
}

/// The process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .and_then(|i| s.get(i + 2..i + 3))
            .is_some_and(|state| state != "Z")
    })
}

fn healthy(base_url: &str) -> bool {
    let hostport = base_url.trim_start_matches("http://");
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "80"));
    let port = port.parse().unwrap_or(80);
    http::get(host, port, "/health", Duration::from_secs(2)).is_ok_and(|r| r.status == 200)
}
