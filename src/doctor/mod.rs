//! `doctor`: memory free right now against thresholds and, for a profile, against its plan —
//! risk per device, the highest risk, and what to change when the profile does not fit now
//! (docs/doctor.md). The reading of the machine is an input ([`MemoryNow`]), so the same
//! function serves `doctor`, `start`'s pre-launch check, the management API and tests.

mod remedy;

use serde::Serialize;

pub use remedy::Remedy;

use crate::budget::Plan;
use crate::hardware::{DeviceKind, DeviceMemory, MemoryNow, SwapMemory};
use crate::project::ResolvedProfile;

/// Default `--min-free-gib`: what a desktop and a CUDA context want left over.
pub const DEFAULT_MIN_FREE_GIB: f64 = 1.0;
/// Default `--min-free-ratio`.
pub const DEFAULT_MIN_FREE_RATIO: f64 = 0.05;

/// How much must stay free on every device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub min_free_gib: f64,
    /// Of the device's total, 0.0–1.0.
    pub min_free_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_free_gib: DEFAULT_MIN_FREE_GIB,
            min_free_ratio: DEFAULT_MIN_FREE_RATIO,
        }
    }
}

impl Thresholds {
    /// The MiB that must stay free on a device of `total_mib`: the larger of the two.
    pub fn floor_mib(&self, total_mib: u64) -> u64 {
        let abs = (self.min_free_gib.max(0.0) * 1024.0).round() as u64;
        let rel = (self.min_free_ratio.clamp(0.0, 1.0) * total_mib as f64).round() as u64;
        abs.max(rel)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Ok,
    Warn,
    Critical,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Ok => "ok",
            Risk::Warn => "warn",
            Risk::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceReport {
    /// id, kind, name, total/free/used MiB now.
    #[serde(flatten)]
    pub memory: DeviceMemory,
    /// The MiB the thresholds keep free on this device.
    pub floor_mib: u64,
    /// What the profile's plan puts here (with a profile only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_mib: Option<f64>,
    pub risk: Risk,
    pub why: String,
}

/// The profile part of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileCheck {
    pub id: String,
    /// Every device's plan fits in what is free now (thresholds aside).
    pub fits_now: bool,
    /// `fit` when llama.cpp's --fit places the model (its prediction on free memory is used),
    /// else `plan`.
    pub planned_by: &'static str,
    /// Changes to the profile that would make it fit now, each checked against free memory.
    pub remediation: Vec<Remedy>,
    /// Why no plan could be made (the model is missing, the options are out of range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorReport {
    pub thresholds: Thresholds,
    pub devices: Vec<DeviceReport>,
    pub swap: SwapMemory,
    pub gpus_detected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileCheck>,
    /// The highest risk of any device.
    pub risk: Risk,
    /// One line: the highest risk and where.
    pub summary: String,
}

impl DoctorReport {
    /// 0 ok, 1 warn or critical (scripts: `doctor && start`).
    pub fn exit_code(&self) -> i32 {
        i32::from(self.risk != Risk::Ok)
    }

    /// `start`'s rule: a profile whose plan does not fit in the memory free now is not
    /// launched (without `--force`); a warning alone does not stop it.
    pub fn blocks_launch(&self) -> bool {
        self.profile.as_ref().is_some_and(|p| !p.fits_now)
    }
}

/// The report for `now` under `thresholds`, and for `profile` (resolved on the machine's
/// declared or detected hardware) if given.
pub fn doctor(
    now: &MemoryNow,
    thresholds: &Thresholds,
    profile: Option<&ResolvedProfile>,
) -> DoctorReport {
    let planned = profile.map(|p| plan_now(p, now));
    let need_of = |id: &str| -> Option<f64> {
        let (_, _, plan) = planned.as_ref()?;
        let plan = plan.as_ref().ok()?;
        Some(plan.device(id).map_or(0.0, |d| d.total_mib))
    };
    let mut devices: Vec<DeviceReport> = now
        .devices
        .iter()
        .map(|d| {
            let floor = thresholds.floor_mib(d.total_mib);
            let need = need_of(&d.id);
            let (risk, why) = device_risk(d.free_mib, floor, need);
            DeviceReport {
                memory: d.clone(),
                floor_mib: floor,
                need_mib: need,
                risk,
                why,
            }
        })
        .collect();
    // A device the plan uses that is not there now (a declared GPU on another machine); an RPC
    // server is remote and not read here.
    if let Some((_, _, Ok(plan))) = &planned {
        for d in &plan.devices {
            if d.total_mib > 0.0 && now.device(&d.name).is_none() && !d.name.starts_with("RPC") {
                devices.push(absent_device(&d.name, d.total_mib));
            }
        }
    }
    let profile = planned.map(|(resolved, planned_by, plan)| {
        let fits_now = devices.iter().all(|d| {
            d.need_mib
                .is_none_or(|need| need <= d.memory.free_mib as f64 && d.memory.total_mib > 0)
        });
        let below_floor = devices
            .iter()
            .any(|d| d.need_mib.is_some() && d.risk != Risk::Ok);
        let (remediation, error) = match &plan {
            Ok(_) if !below_floor => (Vec::new(), None),
            Ok(_) => (remedy::remedies(resolved, now, thresholds), None),
            Err(e) => (Vec::new(), Some(e.clone())),
        };
        ProfileCheck {
            id: resolved.id.clone().unwrap_or_default(),
            fits_now: fits_now && plan.is_ok(),
            planned_by,
            remediation,
            error,
        }
    });
    let mut risk = devices.iter().map(|d| d.risk).max().unwrap_or(Risk::Ok);
    if profile.as_ref().is_some_and(|p| p.error.is_some()) {
        risk = Risk::Critical;
    }
    let summary = summary(&devices, risk, profile.as_ref());
    DoctorReport {
        thresholds: *thresholds,
        devices,
        swap: now.swap.clone(),
        gpus_detected: now.gpus_detected,
        profile,
        risk,
        summary,
    }
}

/// The plan of `p` against what is free now: llama.cpp's --fit prediction when fit places the
/// model (fit itself reads free memory at load time), else the plan of the argv.
fn plan_now<'a>(
    p: &'a ResolvedProfile,
    now: &MemoryNow,
) -> (&'a ResolvedProfile, &'static str, Result<Plan, String>) {
    let mut at_now = p.clone();
    at_now.machine = p.machine.with_free(now);
    match at_now.fit_prediction() {
        Some(Ok(f)) => (p, "fit", Ok(f.plan)),
        Some(Err(e)) => (p, "fit", Err(e)),
        None => (p, "plan", at_now.plan().map_err(|e| e.to_string())),
    }
}

fn device_risk(free: u64, floor: u64, need: Option<f64>) -> (Risk, String) {
    match need {
        None if free < floor / 2 => (
            Risk::Critical,
            format!("{free} MiB free is under half the {floor} MiB the thresholds keep free"),
        ),
        None if free < floor => (
            Risk::Warn,
            format!("{free} MiB free is below the {floor} MiB the thresholds keep free"),
        ),
        None => (Risk::Ok, format!("{free} MiB free (floor {floor} MiB)")),
        Some(need) if need > free as f64 => (
            Risk::Critical,
            format!(
                "the plan needs {need:.0} MiB here but only {free} MiB is free: {:.0} MiB short",
                need - free as f64
            ),
        ),
        Some(need) if free as f64 - need < floor as f64 => (
            Risk::Warn,
            format!(
                "the plan needs {need:.0} MiB of {free} MiB free, leaving {:.0} MiB, below the {floor} MiB floor",
                free as f64 - need
            ),
        ),
        Some(need) => (
            Risk::Ok,
            format!(
                "the plan needs {need:.0} MiB of {free} MiB free, leaving {:.0} MiB",
                free as f64 - need
            ),
        ),
    }
}

fn absent_device(id: &str, need: f64) -> DeviceReport {
    DeviceReport {
        memory: DeviceMemory::new(id, DeviceKind::Gpu, "(not present now)", 0, 0),
        floor_mib: 0,
        need_mib: Some(need),
        risk: Risk::Critical,
        why: format!(
            "the plan puts {need:.0} MiB on {id}, which this machine does not have now (the \
             hardware file declares it)"
        ),
    }
}

fn summary(devices: &[DeviceReport], risk: Risk, profile: Option<&ProfileCheck>) -> String {
    if let Some(e) = profile.and_then(|p| p.error.as_ref()) {
        return format!("critical: no plan for the profile: {e}");
    }
    let worst: Vec<&str> = devices
        .iter()
        .filter(|d| d.risk == risk)
        .map(|d| d.memory.id.as_str())
        .collect();
    match (risk, profile) {
        (Risk::Ok, Some(p)) => format!("ok: `{}` fits in the memory free now", p.id),
        (Risk::Ok, None) => "ok: every device has more free than the thresholds".into(),
        (Risk::Critical, Some(p)) => format!(
            "critical: `{}` does not fit in the memory free now on {}",
            p.id,
            worst.join(", ")
        ),
        (Risk::Warn, Some(p)) if p.fits_now => format!(
            "warn: `{}` fits now but leaves less than the floor free on {}",
            p.id,
            worst.join(", ")
        ),
        (r, _) => format!(
            "{}: less free than the thresholds ask on {}",
            r.as_str(),
            worst.join(", ")
        ),
    }
}
