//! `plan` as a library function: the memory plan of a resolved profile's argv, the placement
//! (applied for STRATEGY, suggested for a hand-pinned FIT=off profile), fit's prediction when
//! fit places, and the exit-code policy; the human rendering of all of it.

use serde::Serialize;

use super::{ProfilePlanError, ResolvedProfile};
use crate::budget::{self, Plan};
use crate::hardware::Machine;
use crate::place::fit::FitPrediction;
use crate::place::solver::Placement;

/// Everything `plan` reports for one launch.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    #[serde(flatten)]
    pub plan: Plan,
    /// The arguments whose memory `plan` is: exactly what `render` prints (after the program).
    pub argv: Vec<String>,
    /// The solver's placement (STRATEGY: applied to `argv`; FIT=off without STRATEGY: a
    /// suggestion), or `{"error": …}` saying why nothing fits. (`placement` is the plan's layer
    /// placement.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement_strategy: Option<Outcome<Placement>>,
    /// What llama.cpp's --fit will do (FIT profiles): its flags, per-GPU layers, log, RAM check
    /// and findings. `plan` inside is the memory plan under fit's result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_prediction: Option<Outcome<FitPrediction>>,
    /// Errors `check` finds in the profile.
    #[serde(skip)]
    pub profile_errors: usize,
    /// The profile's STRATEGY found no placement: `argv` is launched by nobody.
    #[serde(skip)]
    pub strategy_failed: bool,
}

/// A result as the JSON shows it: the value, or `{"error": …}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome<T> {
    Ok(T),
    Err { error: String },
}

impl<T> Outcome<T> {
    fn of<E: std::fmt::Display>(r: Result<T, E>) -> Outcome<T> {
        match r {
            Ok(v) => Outcome::Ok(v),
            Err(e) => Outcome::Err {
                error: e.to_string(),
            },
        }
    }

    pub fn ok(&self) -> Option<&T> {
        match self {
            Outcome::Ok(v) => Some(v),
            Outcome::Err { .. } => None,
        }
    }
}

/// Plans `resolved`; `profile_errors` is how many errors `check` found inside the profile.
pub fn plan_report(
    resolved: &ResolvedProfile,
    profile_errors: usize,
) -> Result<PlanReport, ProfilePlanError> {
    let plan = resolved.plan()?;
    let placement_strategy = match &resolved.pinned {
        Some(Ok(p)) => Some(Outcome::Ok(p.clone())),
        Some(Err(e)) => Some(Outcome::Err {
            error: e.to_string(),
        }),
        None => resolved.suggestion().map(Outcome::of),
    };
    let fit_prediction = match &placement_strategy {
        None => resolved.fit_prediction().map(Outcome::of),
        Some(_) => None,
    };
    Ok(PlanReport {
        plan,
        argv: resolved.argv(),
        placement_strategy,
        fit_prediction,
        profile_errors,
        strategy_failed: resolved.launch_blocker().is_some(),
    })
}

impl PlanReport {
    /// A FIT profile fits when fit's placement does, not when all layers on the GPUs would; a
    /// STRATEGY that found no placement does not fit.
    pub fn fits(&self) -> bool {
        match &self.fit_prediction {
            Some(Outcome::Ok(f)) => f.fits,
            _ => self.plan.fits && !self.strategy_failed,
        }
    }

    /// 0 fits and the profile is clean, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.fits() || self.profile_errors > 0)
    }

    /// The human report: the plan's table, then the placement and fit's prediction.
    pub fn render_human(&self) -> String {
        self.render_human_in(&budget::Layout::default())
    }

    /// The plan's text laid out for a terminal (bars within its width, colors).
    pub fn render_human_in(&self, layout: &budget::Layout) -> String {
        let mut out = budget::render_human_in(&self.plan, layout);
        match &self.placement_strategy {
            None => {}
            Some(Outcome::Ok(p)) => {
                out.push_str(&format!("\nplacement: strategy {}\n", p.strategy.as_str()));
                out.push_str(&format!("  flags: {}\n", p.flags.join(" ")));
                for r in &p.rationale {
                    out.push_str(&format!("  - {r}\n"));
                }
            }
            Some(Outcome::Err { error }) => out.push_str(&format!("\nplacement: {error}\n")),
        }
        if let Some(f) = &self.fit_prediction {
            out.push_str(&render_fit(f));
        }
        out
    }
}

fn render_fit(f: &Outcome<FitPrediction>) -> String {
    let p = match f {
        Outcome::Ok(p) => p,
        Outcome::Err { error } => return format!("\nfit prediction: {error}\n"),
    };
    let mut out = String::from("\nfit prediction (llama.cpp --fit at load time):\n");
    let layers: Vec<String> = p
        .devices
        .iter()
        .map(|d| match d.overflowing {
            0 => format!("{} {}", d.device, d.layers),
            n => format!("{} {} ({n} overflowing)", d.device, d.layers),
        })
        .collect();
    out.push_str(&format!(
        "  n_ctx {}, n_gpu_layers {}: {}{}\n",
        p.n_ctx,
        p.n_gpu_layers,
        layers.join(", "),
        if p.fits { "" } else { " (does not fit)" }
    ));
    if !p.flags.is_empty() {
        out.push_str(&format!("  fit adds: {}\n", p.flags.join(" ")));
    }
    out.push_str("  fit would print (-lv 4):\n");
    for l in &p.log {
        out.push_str(&format!("    {l}\n"));
    }
    for f in &p.findings {
        out.push_str(&format!("  - {f}\n"));
    }
    out
}

/// The note `plan` adds when the machine was detected rather than declared.
pub fn detected_note(m: &Machine) -> String {
    if m.is_cpu_only() {
        "hardware: detected (no GPU found, CPU only); pass --hardware profilec.toml to plan for another machine".into()
    } else {
        "hardware: detected; pass --hardware profilec.toml to plan for another machine".into()
    }
}
