//! Measuring a candidate layout with the memory model, and the budget every layout is held to:
//! the harness the solver's searches and the fit prediction share.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::budget::{
    Component, DevicePlan, DeviceRef, Plan, PlanError, Program, estimate_weights, mib, plan_model,
};
use crate::config::GpuLayers;
use crate::flags::OtRule;
use crate::gguf::{Model, ModelFacts};
use crate::hardware::Machine;
use crate::resolve::{RunOptions, SplitMode};

/// Everything a search needs to plan one candidate layout (the solver's and fit's harness).
pub struct Evaluator<'a> {
    pub model: &'a Model,
    pub facts: &'a ModelFacts,
    pub path: &'a Path,
    pub machine: &'a Machine,
    pub program: Program,
    /// The profile's options; a layout replaces only the placement fields.
    pub base: RunOptions,
    /// Per-GPU free-memory margin in MiB (`--fit-target`, broadcast).
    pub margins: Vec<u64>,
}

/// The placement part of the launch options.
#[derive(Debug, Clone)]
pub struct Layout {
    pub gpu_layers: GpuLayers,
    pub split_mode: SplitMode,
    pub main_gpu: u64,
    pub tensor_split: Vec<f64>,
    /// The `-ot` rules in the order llama.cpp tries them (empty: none).
    pub ot: Vec<OtRule>,
}

impl Layout {
    pub fn all_layers() -> Layout {
        Layout {
            gpu_layers: GpuLayers::All,
            split_mode: SplitMode::Layer,
            main_gpu: 0,
            tensor_split: Vec::new(),
            ot: Vec::new(),
        }
    }
}

/// One device over its budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overrun {
    /// The device's printed name (`CUDA0`, `RPC0`, `CPU`).
    pub device: String,
    #[serde(skip)]
    pub device_ref: DeviceRef,
    pub total_mib: f64,
    pub budget_mib: f64,
    pub over_mib: f64,
    /// The largest component on the device.
    pub largest: Component,
    pub largest_mib: f64,
}

/// `--fit-target` per GPU: one value applies to every GPU, a missing entry is llama.cpp's 1024.
pub fn margins(fit_target: &[u64], n_gpus: usize) -> Vec<u64> {
    (0..n_gpus)
        .map(|i| match fit_target {
            [one] => *one,
            list => list.get(i).copied().unwrap_or(1024),
        })
        .collect()
}

impl Evaluator<'_> {
    pub fn options(&self, layout: &Layout) -> RunOptions {
        let mut o = self.base.clone();
        o.gpu_layers = layout.gpu_layers;
        o.split_mode = layout.split_mode;
        o.main_gpu = layout.main_gpu;
        o.tensor_split = layout.tensor_split.clone();
        o.overrides = layout.ot.clone();
        o
    }

    pub fn plan(&self, layout: &Layout) -> Result<Plan, PlanError> {
        self.plan_options(&self.options(layout))
    }

    pub fn plan_options(&self, opts: &RunOptions) -> Result<Plan, PlanError> {
        plan_model(
            self.model,
            self.facts,
            PathBuf::from(self.path),
            opts,
            self.machine,
            self.program,
        )
    }

    /// What device `d` may hold: capacity minus the margin (GPUs, by llama.cpp's device
    /// order as common/fit.cpp indexes `margins`), capacity (CPU).
    pub fn budget(&self, d: &DevicePlan) -> f64 {
        let margin = d
            .device
            .gpu()
            .and_then(|i| self.margins.get(i))
            .copied()
            .unwrap_or(0);
        d.capacity_mib - margin as f64
    }

    /// Plans a layout and lists the devices over budget.
    pub fn check(&self, layout: &Layout) -> Result<(Plan, Vec<Overrun>), PlanError> {
        let opts = self.options(layout);
        let plan = self.plan_options(&opts)?;
        let over = self.overruns(&opts, &plan)?;
        Ok((plan, over))
    }

    /// MiB of host weights that are really resident: with mmap llama.cpp reports the whole file
    /// range as `CPU_Mapped`, but the pages of tensors copied to a GPU are page cache the kernel
    /// drops, not memory that swaps. Without mmap the buffers are the resident bytes.
    pub fn cpu_resident_weights_mib(
        &self,
        opts: &RunOptions,
        plan: &Plan,
    ) -> Result<f64, PlanError> {
        let w = estimate_weights(self.model, opts, &plan.placement, self.machine)?;
        let bytes: u64 = w
            .tensors
            .iter()
            .filter(|t| t.device == DeviceRef::Cpu)
            .map(|t| t.bytes)
            .sum();
        Ok(mib(bytes))
    }

    /// The host row with resident weights in place of the mapped file range.
    pub fn cpu_row(&self, opts: &RunOptions, plan: &Plan) -> Result<Option<DevicePlan>, PlanError> {
        let Some(cpu) = plan.cpu() else {
            return Ok(None);
        };
        let resident = self.cpu_resident_weights_mib(opts, plan)?;
        let mut row = cpu.clone();
        row.total_mib = round2(cpu.total_mib - cpu.weights_mib - cpu.weights_repack_mib + resident);
        row.weights_mib = resident;
        row.weights_repack_mib = 0.0;
        Ok(Some(row))
    }

    pub fn overruns(&self, opts: &RunOptions, plan: &Plan) -> Result<Vec<Overrun>, PlanError> {
        let cpu = self.cpu_row(opts, plan)?;
        Ok(plan
            .devices
            .iter()
            .map(|d| {
                if d.device.is_cpu() {
                    cpu.as_ref().unwrap_or(d)
                } else {
                    d
                }
            })
            .filter_map(|d| {
                let budget = self.budget(d);
                (d.total_mib > budget).then(|| {
                    let (largest, largest_mib) = Component::largest(d, &Component::ALL);
                    Overrun {
                        device: d.name.clone(),
                        device_ref: d.device,
                        total_mib: d.total_mib,
                        budget_mib: budget,
                        over_mib: round2(d.total_mib - budget),
                        largest,
                        largest_mib,
                    }
                })
            })
            .collect())
    }

    pub fn device_fits(&self, plan: &Plan, device: DeviceRef) -> bool {
        plan.at(device)
            .is_none_or(|d| d.total_mib <= self.budget(d))
    }

    /// MiB of weights on the GPUs, weighted by each GPU's speed (what the searches maximise).
    pub fn gpu_weight_mib(plan: &Plan) -> f64 {
        plan.gpus()
            .map(|d| d.weights_mib + d.weights_repack_mib)
            .sum()
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The largest `n` in `lo..=hi` with `ok(n)`, assuming `ok` holds up to some point and then
/// fails (more layers on a device never use less of it). `None` when even `lo` fails.
pub fn max_true(
    lo: u32,
    hi: u32,
    mut ok: impl FnMut(u32) -> Result<bool, PlanError>,
) -> Result<Option<u32>, PlanError> {
    if !ok(lo)? {
        return Ok(None);
    }
    let (mut good, mut bad) = (lo, hi.saturating_add(1));
    if ok(hi)? {
        return Ok(Some(hi));
    }
    bad = bad.min(hi);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if ok(mid)? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Ok(Some(good))
}
