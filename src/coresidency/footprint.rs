//! What one loaded profile holds on each device when it runs as its own process, as
//! llama-server's router (one child process per loaded model, tools/server/server-models.cpp)
//! and llama-swap (one `cmd` per model) run it.

use serde::Serialize;

use crate::budget::{self, DeviceRef, Plan, PlanError, Program};
use crate::config::Profile;
use crate::gguf::{Model, ModelFacts};
use crate::hardware::{Hardware, Machine};
use crate::place::fit::predict;
use crate::resolve::{RunOptions, resolve};

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
                .any(|&i| DeviceRef::Gpu(i).to_string() == d.name);
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

/// The plan of what `render`/`start` launch for `profile` on an otherwise empty machine.
pub fn profile_plan(profile: &Profile, hw: &Hardware) -> Result<Plan, String> {
    let dir = std::path::absolute(&hw.runtime.models_dir)
        .unwrap_or_else(|_| hw.runtime.models_dir.clone());
    plan_launch(
        &resolve(profile, &hw.defaults, &dir).options(),
        &hw.machine(),
    )
}

/// The plan of a launch with `opts` on an otherwise empty `machine`: with `--fit` on (and a
/// GPU), the plan under fit's predicted placement (docs/placement.md); else the plan of the
/// flags as given.
pub fn plan_launch(opts: &RunOptions, machine: &Machine) -> Result<Plan, String> {
    let Some(path) = opts.model.clone() else {
        return Err("no MODEL".into());
    };
    let model = Model::open(&path).map_err(|e| e.to_string())?;
    let facts = ModelFacts::from_model(&model).map_err(|e| e.to_string())?;
    let program = Program::LlamaServer;
    if opts.fit && !machine.is_cpu_only() {
        return predict(&model, &facts, &path, opts, machine, program)
            .map(|p| p.plan)
            .map_err(|e| e.to_string());
    }
    budget::plan_model(&model, &facts, path, opts, machine, program)
        .map_err(|e: PlanError| e.to_string())
}

/// Every profile's footprint, and the profiles that could not be planned (no model file here,
/// a launch llama.cpp would refuse) with the reason.
pub fn footprints<'a>(
    profiles: impl IntoIterator<Item = &'a Profile>,
    hw: &Hardware,
) -> (Vec<Footprint>, Vec<Unplanned>) {
    let overhead = hw.runtime.cuda_overhead_mib;
    let mut planned = Vec::new();
    let mut unplanned = Vec::new();
    for p in profiles {
        match profile_plan(p, hw) {
            Ok(plan) => planned.push(footprint(&p.id.value, &plan, overhead)),
            Err(why) => unplanned.push(Unplanned {
                id: p.id.value.clone(),
                why,
            }),
        }
    }
    (planned, unplanned)
}
