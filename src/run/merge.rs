//! Precedence and safety: user flags > advice > static. Each advised value is applied on its own
//! and the result planned again (the memory model, and fit's prediction when fit places); a
//! value that does not fit, or that the flag table or llama-server's own rules refuse, is
//! rejected with its reason and the rest is kept. `--auto-batch` is the static side's batch
//! search on the same check.

use serde::Serialize;

use super::advice::Advice;
use super::baseline::with_effective;
use crate::diag::Severity;
use crate::flags::parse_args;
use crate::project::{ResolvedProfile, plan_report};
use crate::resolve::{FlashAttn, Origin};

/// Who decided a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Static,
    Llm,
    User,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Static => "static",
            Source::Llm => "llm",
            Source::User => "user",
        }
    }
}

/// One decision about one flag: the value that runs, who set it, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub flag: String,
    /// The value in the final argv (`None`: the flag is absent, llama-server's default).
    pub value: Option<String>,
    pub source: Source,
    pub reason: String,
}

/// Whether a launch fits, and if not, which device is over by how much.
pub fn fit_verdict(r: &ResolvedProfile) -> Result<(), String> {
    let report = plan_report(r, 0).map_err(|e| format!("cannot be planned: {e}"))?;
    if report.fits() {
        return Ok(());
    }
    let plan = match &report.fit_prediction {
        Some(crate::project::Outcome::Ok(f)) => &f.plan,
        _ => &report.plan,
    };
    let over: Vec<String> = plan
        .devices
        .iter()
        .filter(|d| d.total_mib > d.capacity_mib)
        .map(|d| format!("{}: {} over", d.name, size(d.total_mib - d.capacity_mib)))
        .collect();
    Err(if over.is_empty() {
        "does not leave fit's margin (--fit-target) free".into()
    } else {
        format!("does not fit {}", over.join(", "))
    })
}

/// The per-device totals, to compare a candidate against the current launch.
fn totals(r: &ResolvedProfile) -> Option<Vec<f64>> {
    r.plan()
        .ok()
        .map(|p| p.devices.iter().map(|d| d.total_mib).collect())
}

fn size(mib: f64) -> String {
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

/// `flag value` set on `r` (origin `origin`), accepted when llama-server would take it and the
/// launch still fits — or, when `r` itself does not fit, when no device grows.
fn try_set(
    r: &ResolvedProfile,
    flag: &str,
    value: &str,
    origin: Origin,
) -> Result<ResolvedProfile, String> {
    let parsed = parse_args(&format!("{flag} {value}"));
    if let Some(d) = parsed
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        return Err(d.message.clone());
    }
    let mut eff = r.effective.clone();
    eff.set_flag(flag, &[value], origin);
    let candidate = with_effective(r, eff).map_err(|e| e.to_string())?;
    if let Some(why) = refused_by_llama(&candidate) {
        return Err(why);
    }
    match (fit_verdict(r), fit_verdict(&candidate)) {
        (_, Ok(())) => Ok(candidate),
        (Ok(()), Err(why)) => Err(why),
        (Err(_), Err(why)) => {
            let grows = match (totals(r), totals(&candidate)) {
                (Some(a), Some(b)) => a.iter().zip(&b).any(|(x, y)| y > x),
                _ => true,
            };
            if grows { Err(why) } else { Ok(candidate) }
        }
    }
}

/// Combinations llama-server b11434 refuses at start-up.
fn refused_by_llama(r: &ResolvedProfile) -> Option<String> {
    let o = &r.options;
    // src/llama-context.cpp: "V cache quantization requires flash_attn".
    let v_quantized = !matches!(o.cache_type_v.as_str(), "f16" | "f32" | "bf16");
    if v_quantized && o.flash_attn == FlashAttn::Off {
        return Some(format!(
            "a quantized V cache ({}) needs flash attention, which is off",
            o.cache_type_v
        ));
    }
    None
}

/// Merges validated advice into `r`: user-set flags are kept, values equal to the current one
/// are noted, every other value is tried on its own.
pub fn merge_advice(
    mut r: ResolvedProfile,
    advice: &Advice,
    user: &[&'static str],
) -> (ResolvedProfile, Vec<Decision>) {
    let mut decisions = Vec::new();
    for a in &advice.values {
        let canonical = crate::flags::lookup(a.flag).map_or(a.flag, |s| s.canonical);
        let current = r.effective.value(a.flag).map(str::to_owned);
        if user.contains(&canonical) {
            decisions.push(Decision {
                flag: a.flag.into(),
                value: current.clone(),
                source: Source::User,
                reason: format!("given after --: the advised {} is not used", a.value),
            });
            continue;
        }
        let mut value = a.value.clone();
        let mut notes = Vec::new();
        if let Some(n) = a.clamped_from {
            notes.push(format!("clamped from {n} to {value} ({})", a.bound));
        }
        // llama.cpp caps the physical batch at the logical one (common/common.cpp); say so
        // rather than let it happen silently.
        if a.key == "ubatch_size"
            && let Ok(u) = value.parse::<u64>()
            && u > r.options.batch
        {
            let b = r.options.batch;
            notes.push(format!("clamped from {u} to --batch-size {b}"));
            value = b.to_string();
        }
        if current.as_deref() == Some(value.as_str()) {
            notes.push("same as the static value".into());
            decisions.push(Decision {
                flag: a.flag.into(),
                value: Some(value),
                source: Source::Llm,
                reason: notes.join("; "),
            });
            continue;
        }
        match try_set(&r, a.flag, &value, Origin::Advice) {
            Ok(next) => {
                r = next;
                notes.insert(0, "advice accepted, planned: fits".into());
                decisions.push(Decision {
                    flag: a.flag.into(),
                    value: Some(value),
                    source: Source::Llm,
                    reason: notes.join("; "),
                });
            }
            Err(why) => decisions.push(Decision {
                flag: a.flag.into(),
                value: current,
                source: Source::Static,
                reason: format!("{} {value} {why}; the static value is kept", &a.flag[2..]),
            }),
        }
    }
    (r, decisions)
}

/// Physical batch sizes `--auto-batch` tries, largest first.
const UBATCH_LADDER: [u64; 8] = [4096, 2048, 1024, 512, 256, 128, 64, 32];

/// How many of the fitting physical batch sizes `--measure` compares (the largest ones).
const MEASURED: usize = 3;

/// `--auto-batch`: the largest `-ub` (with `-b` at least as large) whose compute buffers fit
/// every device by the memory model. The user's own `-ub` wins; a user `-b` caps the search.
/// With `measure`, llama-bench compares the largest fitting sizes and the fastest is kept.
pub fn auto_batch(
    r: ResolvedProfile,
    user: &[&'static str],
    measure: bool,
) -> (ResolvedProfile, Vec<Decision>) {
    if user.contains(&"--ubatch-size") {
        let decision = Decision {
            flag: "--ubatch-size".into(),
            value: r.effective.value("--ubatch-size").map(str::to_owned),
            source: Source::User,
            reason: "given after --: --auto-batch does not search".into(),
        };
        return (r, vec![decision]);
    }
    let user_batch = user.contains(&"--batch-size").then_some(r.options.batch);
    let n_ctx = r.plan().map(|p| p.n_ctx).unwrap_or(u64::MAX).max(32);
    let mut fitting: Vec<(u64, u64, ResolvedProfile)> = Vec::new();
    for &u in UBATCH_LADDER
        .iter()
        .filter(|&&u| u <= n_ctx && user_batch.is_none_or(|b| u <= b))
    {
        let mut eff = r.effective.clone();
        eff.set_flag("--ubatch-size", &[&u.to_string()], Origin::Placement);
        let b = user_batch.unwrap_or_else(|| r.options.batch.max(u));
        if user_batch.is_none() {
            eff.set_flag("--batch-size", &[&b.to_string()], Origin::Placement);
        }
        if let Ok(candidate) = with_effective(&r, eff)
            && fit_verdict(&candidate).is_ok()
        {
            fitting.push((u, b, candidate));
            if !measure || fitting.len() == MEASURED {
                break;
            }
        }
    }
    if fitting.is_empty() {
        let decision = Decision {
            flag: "--ubatch-size".into(),
            value: r.effective.value("--ubatch-size").map(str::to_owned),
            source: Source::Static,
            reason: "auto-batch: no physical batch size fits every device; left as it was".into(),
        };
        return (r, vec![decision]);
    }
    let mut reason = format!(
        "auto-batch: the largest of {} that fits every device",
        UBATCH_LADDER.map(|x| x.to_string()).join("/")
    );
    let mut pick = 0;
    if measure {
        let sizes: Vec<u64> = fitting.iter().map(|f| f.0).collect();
        let batch = fitting.iter().map(|f| f.1).max().unwrap_or(512);
        match super::measure::sweep(&r, &sizes, batch) {
            Ok(sweep) => {
                let measured: Vec<String> = sweep
                    .results
                    .iter()
                    .map(|(u, ts)| format!("{u}: {ts:.1} t/s"))
                    .collect();
                if let Some((best, _)) = sweep.fastest() {
                    pick = sizes.iter().position(|&u| u == best).unwrap_or(0);
                }
                reason = format!(
                    "auto-batch --measure: the fastest prompt processing of the fitting sizes by {} ({})",
                    sweep.program.display(),
                    measured.join(", ")
                );
            }
            Err(e) => {
                reason =
                    format!("{reason}; --measure failed, the memory model's choice is kept: {e}");
            }
        }
    }
    let (u, b, candidate) = fitting.swap_remove(pick);
    let compute = candidate.plan().ok().map(|p| {
        p.devices
            .iter()
            .map(|d| format!("{} compute {:.0} MiB", d.name, d.compute_mib))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let decisions = vec![
        Decision {
            flag: "--ubatch-size".into(),
            value: Some(u.to_string()),
            source: Source::Static,
            reason: format!("{reason} ({})", compute.unwrap_or_default()),
        },
        Decision {
            flag: "--batch-size".into(),
            value: Some(b.to_string()),
            source: if user_batch.is_some() {
                Source::User
            } else {
                Source::Static
            },
            reason: "auto-batch: at least the physical batch".into(),
        },
    ];
    (candidate, decisions)
}
