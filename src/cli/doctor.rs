//! `profilec doctor [ID] [FILE]`: memory free now per device, risk against the thresholds and
//! (with ID) against the profile's plan, and what to change (docs/doctor.md).

use std::path::PathBuf;

use crate::budget::Program;
use crate::doctor::{
    DEFAULT_MIN_FREE_GIB, DEFAULT_MIN_FREE_RATIO, DoctorReport, Thresholds, doctor,
};
use crate::hardware::memory_now;
use crate::project::open;

#[derive(clap::Args)]
pub struct Args {
    /// Profile id: also check its plan against the memory free now.
    #[arg(add = super::profile_id_candidates())]
    id: Option<String>,
    /// The models.conf holding the profile (default: the nearest one here or above).
    file: Option<PathBuf>,
    /// GiB that must stay free on every device.
    #[arg(long, value_name = "G", default_value_t = DEFAULT_MIN_FREE_GIB)]
    min_free_gib: f64,
    /// Fraction of each device's total that must stay free (0.0–1.0).
    #[arg(long, value_name = "R", default_value_t = DEFAULT_MIN_FREE_RATIO)]
    min_free_ratio: f64,
    /// profilec.toml describing the machine the profile is planned on (default: beside FILE,
    /// else detected).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// The report as JSON (docs/doctor.schema.json).
    #[arg(long)]
    json: bool,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        self.json
    }
}

pub fn run(args: Args) -> i32 {
    if !(args.min_free_gib >= 0.0 && (0.0..=1.0).contains(&args.min_free_ratio)) {
        return super::fail(&crate::error::ErrorReport::usage(
            "usage::bad-threshold",
            "--min-free-gib must be 0 or more and --min-free-ratio between 0 and 1",
            "e.g. `--min-free-gib 2 --min-free-ratio 0.1`",
        ));
    }
    let thresholds = Thresholds {
        min_free_gib: args.min_free_gib,
        min_free_ratio: args.min_free_ratio,
    };
    let now = memory_now();
    let report = match &args.id {
        None => doctor(&now, &thresholds, None),
        Some(id) => {
            let file = match super::conf_file(args.file.clone()) {
                Ok(f) => f,
                Err(code) => return code,
            };
            let mut project = match open(&file, args.hardware.as_deref()) {
                Ok(p) => p,
                Err(e) => return super::fail(&e),
            };
            let resolved = match project.resolve(id, Program::LlamaServer) {
                Ok(r) => r,
                Err(e) => return super::fail(&e),
            };
            doctor(&now, &thresholds, Some(&resolved))
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        super::term::print_fitted(&render_human(&report));
    }
    report.exit_code()
}

/// The report as a table, then the profile's remediation.
pub(crate) fn render_human(r: &DoctorReport) -> String {
    let mut out = format!(
        "{:<8} {:>10} {:>10} {:>10} {:>10} {:>10}  risk\n",
        "device", "total MiB", "used MiB", "free MiB", "floor MiB", "need MiB"
    );
    for d in &r.devices {
        let need = d.need_mib.map_or("-".to_string(), |n| format!("{n:.0}"));
        out.push_str(&format!(
            "{:<8} {:>10} {:>10} {:>10} {:>10} {:>10}  {}\n",
            d.memory.id,
            d.memory.total_mib,
            d.memory.used_mib,
            d.memory.free_mib,
            d.floor_mib,
            need,
            d.risk.as_str()
        ));
    }
    out.push_str(&format!(
        "{:<8} {:>10} {:>10} {:>10}\n",
        "swap", r.swap.total_mib, r.swap.used_mib, r.swap.free_mib
    ));
    if !r.gpus_detected {
        out.push_str("note: NVML did not answer (no NVIDIA driver): RAM only\n");
    }
    for d in r
        .devices
        .iter()
        .filter(|d| d.risk != crate::doctor::Risk::Ok)
    {
        out.push_str(&format!(
            "  {} {}: {}\n",
            d.memory.id,
            d.risk.as_str(),
            d.why
        ));
    }
    if let Some(p) = &r.profile {
        if let Some(e) = &p.error {
            out.push_str(&format!("profile `{}`: no plan: {e}\n", p.id));
        }
        if !p.remediation.is_empty() {
            out.push_str(&format!("to make `{}` fit now:\n", p.id));
            for m in &p.remediation {
                let mark = if m.fits_now { "fits" } else { "not enough" };
                out.push_str(&format!("  - {} ({mark}): {}\n", m.change, m.detail));
            }
        }
    }
    out.push_str(&r.summary);
    out.push('\n');
    out
}
