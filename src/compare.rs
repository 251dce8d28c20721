//! Plan against measurement: what profilec predicted per device and component, beside what
//! llama.cpp reported in its startup log. The calibration loop's unit of truth.

use serde::Serialize;

use crate::budget::{DevicePlan, Plan};
use crate::startup_log::{DeviceMemory, StartupReport};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentDiff {
    pub device: String,
    pub component: &'static str,
    pub plan_mib: f64,
    pub measured_mib: f64,
    /// measured − plan.
    pub diff_mib: f64,
    /// (measured − plan) / measured, in percent; `None` when nothing was measured.
    pub diff_pct: Option<f64>,
}

/// Every component of every device that either side has.
pub fn compare(plan: &Plan, report: &StartupReport) -> Vec<ComponentDiff> {
    let mut names: Vec<String> = plan.devices.iter().map(|d| d.name.clone()).collect();
    for m in &report.per_device {
        if !names.contains(&m.device) {
            names.push(m.device.clone());
        }
    }
    let mut out = Vec::new();
    for name in names {
        let p = plan.device(&name);
        let m = report.per_device.iter().find(|d| d.device == name);
        let side =
            |component, planned: fn(&DevicePlan) -> f64, measured: fn(&DeviceMemory) -> f64| {
                (component, p.map_or(0.0, planned), m.map_or(0.0, measured))
            };
        let pairs: [(&'static str, f64, f64); 5] = [
            side(
                "weights",
                |d| d.weights_mib + d.weights_repack_mib,
                |d| d.weights_mib,
            ),
            side("kv", |d| d.kv_mib, |d| d.kv_mib),
            side("recurrent", |d| d.recurrent_mib, |d| d.recurrent_mib),
            side("compute", |d| d.compute_mib, |d| d.compute_mib),
            side("output", |d| d.output_mib, |d| d.output_mib),
        ];
        for (component, plan_mib, measured_mib) in pairs {
            if plan_mib == 0.0 && measured_mib == 0.0 {
                continue;
            }
            let diff = measured_mib - plan_mib;
            out.push(ComponentDiff {
                device: name.clone(),
                component,
                plan_mib,
                measured_mib,
                diff_mib: (diff * 100.0).round() / 100.0,
                diff_pct: (measured_mib > 0.0)
                    .then(|| (diff / measured_mib * 1000.0).round() / 10.0),
            });
        }
    }
    out
}

/// A small table for people.
pub fn render_diffs(diffs: &[ComponentDiff]) -> String {
    let mut s = String::from("device   component      plan MiB  measured MiB    diff MiB\n");
    for d in diffs {
        s.push_str(&format!(
            "{:<8} {:<12} {:>10.2} {:>13.2} {:>+11.2}{}\n",
            d.device,
            d.component,
            d.plan_mib,
            d.measured_mib,
            d.diff_mib,
            d.diff_pct
                .map_or(String::new(), |p| format!(" ({p:+.1} %)"))
        ));
    }
    s
}

/// When the log is from another build than b11434, a line saying which build's memory rules
/// the plan followed (`plan.llama_cpp_build`: b11434's, or an older build's as
/// docs/memory-model.md §8.1 lists them): the differences then include what else changed
/// between the builds (docs/flags.md).
pub fn build_note(report: &StartupReport, plan: &Plan) -> Option<String> {
    let logged = report.build.as_ref()?.number;
    let shipped = crate::flags::probe::SHIPPED_BUILD;
    let planned = plan.llama_cpp_build.unwrap_or(shipped);
    if logged == shipped && planned == shipped {
        return None;
    }
    Some(if logged == planned {
        format!(
            "note: this log is from llama.cpp b{logged}; the plan applied the rules of b{logged} \
             that docs/memory-model.md §8.1 lists and follows b11434 otherwise, so these \
             differences include what else changed between the two builds"
        )
    } else {
        format!(
            "note: this log is from llama.cpp b{logged}; the plan follows b{planned}'s memory \
             rules, so these differences include what changed between the two builds"
        )
    })
}
