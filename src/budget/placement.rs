//! Which device holds each layer: llama.cpp's `-ngl` / `-ts` / `-sm` / `--main-gpu` rules
//! (`llama_model_base::load_tensors` in llama.cpp src/llama-model.cpp; docs/memory-model.md
//! §2.1). This is the small, stable interface the weights, KV and compute estimates all read.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::config::GpuLayers;
use crate::gguf::ModelFacts;
use crate::hardware::Machine;
use crate::resolve::{RunOptions, SplitMode};

/// A device of the [`Machine`]: a GPU by its slot in `Machine::gpus` (llama.cpp's device
/// order: RPC servers first, then CUDA), or the host. The typed key the memory model, the
/// placement searches and the rules compare; the printed name (`CUDA1`, `RPC0`, `CPU`) is
/// `Machine::gpu_id` (a plan row's `name`), what every plan and log line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceRef {
    Gpu(usize),
    Cpu,
}

impl DeviceRef {
    pub fn is_gpu(self) -> bool {
        matches!(self, DeviceRef::Gpu(_))
    }

    pub fn is_cpu(self) -> bool {
        self == DeviceRef::Cpu
    }

    /// The GPU slot, `None` for the host.
    pub fn gpu(self) -> Option<usize> {
        match self {
            DeviceRef::Gpu(i) => Some(i),
            DeviceRef::Cpu => None,
        }
    }
}

impl fmt::Display for DeviceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRef::Gpu(i) => write!(f, "CUDA{i}"),
            DeviceRef::Cpu => f.write_str("CPU"),
        }
    }
}

impl Serialize for DeviceRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Per layer, where its repeating weights and its KV / recurrent state live.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerPlacement {
    /// `model.dev_layer(il)` for every block (`block_count` entries, nextn blocks included).
    pub layers: Vec<DeviceRef>,
    /// Where each layer's KV cache and recurrent state go: the layer's device, or the CPU with
    /// `-nkvo`.
    pub kv: Vec<DeviceRef>,
    /// `dev_output`: the output norm and `output.weight` (layer index `n_layer`).
    pub output: DeviceRef,
    /// `-ngl` as llama.cpp applies it: `min(ngl, n_layer + 1)` units on GPU.
    pub n_gpu_layers: u64,
    /// The GPUs llama.cpp uses for layers (`-sm none` keeps only `--main-gpu`).
    pub gpus: Vec<usize>,
    /// Cumulative split fractions over `gpus`, as `upper_bound` reads them.
    pub splits: Vec<f64>,
}

/// Why a placement cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("--main-gpu {index} names a GPU the machine does not have ({count} GPU(s))")]
    MainGpu { index: u64, count: usize },
    #[error("--tensor-split has {given} values but the machine has {count} GPU(s)")]
    TensorSplit { given: usize, count: usize },
}

impl LayerPlacement {
    /// Places the layers of `facts` on `machine` as llama.cpp b11434 would without `--fit`.
    /// `-ngl auto` offloads everything when there is a GPU (what llama.cpp does when fit is off);
    /// the caller notes that fit may choose differently.
    pub fn new(
        facts: &ModelFacts,
        opts: &RunOptions,
        machine: &Machine,
    ) -> Result<LayerPlacement, PlacementError> {
        let n_layer = u64::from(facts.n_layer);
        let count = machine.gpus.len();
        let gpus: Vec<usize> = if count == 0 {
            Vec::new()
        } else if opts.split_mode == SplitMode::None {
            let index = opts.main_gpu;
            let i = usize::try_from(index)
                .ok()
                .filter(|&i| i < count)
                .ok_or(PlacementError::MainGpu { index, count })?;
            vec![i]
        } else {
            (0..count).collect()
        };
        let ngl = match opts.gpu_layers {
            _ if gpus.is_empty() => 0,
            GpuLayers::Count(n) => u64::from(n),
            GpuLayers::Auto | GpuLayers::All => n_layer + 1,
        };
        let splits = split_fractions(opts, machine, &gpus)?;
        let act = ngl.min(n_layer + 1);
        let i_gpu_start = (n_layer + 1).saturating_sub(ngl);
        let dev = |il: u64| -> DeviceRef {
            if il < i_gpu_start || il - i_gpu_start >= act || gpus.is_empty() {
                return DeviceRef::Cpu;
            }
            // In f32 like llama.cpp: `float(il - i_gpu_start) / act_gpu_layers`, so a layer on
            // a split point (3/5 with -ts 2,1,2) goes to the next device.
            let x = (il - i_gpu_start) as f32 / act as f32;
            // std::upper_bound: the first split strictly greater than x.
            let k = splits
                .iter()
                .position(|&s| s as f32 > x)
                .unwrap_or(gpus.len() - 1);
            gpus.get(k).copied().map_or(DeviceRef::Cpu, DeviceRef::Gpu)
        };
        let layers: Vec<DeviceRef> = (0..n_layer).map(dev).collect();
        let kv = if opts.kv_offload {
            layers.clone()
        } else {
            vec![DeviceRef::Cpu; layers.len()]
        };
        Ok(LayerPlacement {
            output: dev(n_layer),
            layers,
            kv,
            n_gpu_layers: act,
            gpus,
            splits,
        })
    }

    /// The device of block `il` (CPU for an index past the end).
    pub fn layer(&self, il: usize) -> DeviceRef {
        self.layers.get(il).copied().unwrap_or(DeviceRef::Cpu)
    }

    pub fn kv_device(&self, il: usize) -> DeviceRef {
        self.kv.get(il).copied().unwrap_or(DeviceRef::Cpu)
    }
}

/// `-ts` normalised to cumulative fractions; without `-ts` (or all zeros) llama.cpp splits by
/// each device's free memory, for which the planner uses the declared capacity.
fn split_fractions(
    opts: &RunOptions,
    machine: &Machine,
    gpus: &[usize],
) -> Result<Vec<f64>, PlacementError> {
    if gpus.is_empty() {
        return Ok(Vec::new());
    }
    let given: Vec<f64> = opts.tensor_split.iter().map(|v| v.max(0.0)).collect();
    let use_given = given.iter().any(|&v| v > 0.0);
    if use_given && given.len() > machine.gpus.len() {
        return Err(PlacementError::TensorSplit {
            given: given.len(),
            count: machine.gpus.len(),
        });
    }
    let weights: Vec<f64> = gpus
        .iter()
        .map(|&i| {
            if use_given {
                given.get(i).copied().unwrap_or(0.0)
            } else {
                machine.gpus.get(i).map_or(0.0, |g| g.capacity_mib as f64)
            }
        })
        .collect();
    // llama.cpp sums the cumulative split points in f32, then divides each by the total
    // (src/llama-model.cpp, `load_tensors`); the f32 values decide ties in `upper_bound`.
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        // Every device reports nothing: one GPU takes all, like a single-device split.
        let mut s = vec![0.0; gpus.len()];
        if let Some(last) = s.last_mut() {
            *last = 1.0;
        }
        return Ok(s);
    }
    let mut acc = 0.0f32;
    let cumulative: Vec<f32> = weights
        .iter()
        .map(|&w| {
            acc += w as f32;
            acc
        })
        .collect();
    Ok(cumulative.iter().map(|&c| f64::from(c / acc)).collect())
}
