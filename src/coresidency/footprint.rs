//! What one loaded profile holds on each device when it runs as its own process, as
//! llama-server's router (one child process per loaded model, tools/server/server-models.cpp)
//! and llama-swap (one `cmd` per model) run it.

use serde::Serialize;

use std::path::PathBuf;

use crate::budget::{DeviceRef, Plan, Program};
use crate::gguf::ModelCache;
use crate::hardware::Machine;
use crate::project::ResolvedProfile;
use crate::resolve::{Effective, Origin, apply_words};

/// One profile's memory per device as a separate process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Footprint {
    pub id: String,
    /// Devices in the machine's order (GPUs, then CPU), MiB.
    pub devices: Vec<DeviceUse>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceUse {
    pub name: String,
    /// The plan's total here, with the process overhead of [`process_overhead`] instead of the
    /// plan's "active GPU" overhead.
    pub mib: f64,
    /// The process overhead included in `mib` (CUDA context + cuBLAS; 0 on the CPU).
    pub overhead_mib: f64,
}

impl Footprint {
    pub fn mib(&self, device: &str) -> f64 {
        self.devices
            .iter()
            .find(|d| d.name == device)
            .map_or(0.0, |d| d.mib)
    }
}

/// Why a profile has no footprint: it is left out of every co-residency answer, and said so.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unplanned {
    pub id: String,
    pub why: String,
}

/// The process overhead of a plan on each device: every llama.cpp process opens a CUDA context
/// on each GPU of the model's device list — every GPU, or the main GPU alone with `-sm none`
/// (src/llama.cpp `llama_model_load_from_file_impl` reads each device's free memory, and
/// common/common.cpp notes that "device enumeration creates a primary context on CUDA
/// backends") — whether or not a layer lands there. The single plan counts it only on GPUs that
/// hold weights or KV (docs/memory-model.md, "Overhead").
pub fn process_overhead(plan: &Plan, overhead_mib: u64) -> Vec<(String, f64)> {
    plan.devices
        .iter()
        .map(|d| {
            let opened = plan
                .placement
                .gpus
                .iter()
                .any(|&i| DeviceRef::Gpu(i) == d.device);
            (
                d.name.clone(),
                if opened { overhead_mib as f64 } else { 0.0 },
            )
        })
        .collect()
}

/// The footprint of `plan` run as its own process.
pub fn footprint(id: &str, plan: &Plan, overhead_mib: u64) -> Footprint {
    let overhead = process_overhead(plan, overhead_mib);
    let devices = plan
        .devices
        .iter()
        .zip(overhead)
        .map(|(d, (_, o))| DeviceUse {
            name: d.name.clone(),
            mib: round2(d.total_mib - d.overhead_mib + o),
            overhead_mib: o,
        })
        .collect();
    Footprint {
        id: id.to_string(),
        devices,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The plan of what `render`/`start` launch for a resolved profile, on an otherwise empty
/// machine: with `--fit` on (and a GPU), the plan under fit's predicted placement
/// (docs/placement.md); else the plan of its argv (a STRATEGY's flags included).
pub fn launch_plan(r: &ResolvedProfile) -> Result<Plan, String> {
    if let Some(e) = r.launch_blocker() {
        return Err(e.to_string());
    }
    match r.fit_prediction() {
        Some(fit) => fit.map(|p| p.plan),
        None => r.plan().map_err(|e| e.to_string()),
    }
}

/// The plan of llama-server launched with `args` (a preset section, a llama-swap `cmd`).
pub fn args_plan(
    args: &[String],
    machine: &Machine,
    models: &mut ModelCache,
) -> Result<Plan, String> {
    let mut eff = Effective::default();
    apply_words(&mut eff, args, Origin::ExtraArgs);
    let Some(model) = eff.value("--model").map(PathBuf::from) else {
        return Err("no --model".into());
    };
    let r = ResolvedProfile::of_args(&model, args, machine.clone(), Program::LlamaServer, models)
        .map_err(|e| e.to_string())?;
    launch_plan(&r)
}

/// Every resolved profile's footprint, and the profiles that could not be planned (no model
/// file here, a STRATEGY without a placement, a launch llama.cpp would refuse) with the reason.
pub fn footprints(
    resolved: &[ResolvedProfile],
    overhead_mib: u64,
) -> (Vec<Footprint>, Vec<Unplanned>) {
    let mut planned = Vec::new();
    let mut unplanned = Vec::new();
    for r in resolved {
        let id = r.id.clone().unwrap_or_default();
        match launch_plan(r) {
            Ok(plan) => planned.push(footprint(&id, &plan, overhead_mib)),
            Err(why) => unplanned.push(Unplanned { id, why }),
        }
    }
    (planned, unplanned)
}
