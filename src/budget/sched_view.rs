//! The launch as ggml-backend's scheduler sees it: each layer's, KV cache's and weight's backend
//! and the backends themselves. The compute buffers (`plan`) and the network traffic
//! ([`super::traffic`]) replay the same view.

use super::compute::{Backends, DeviceKind, Placement, WeightMap};
use super::placement::{DeviceRef, LayerPlacement};
use super::weights::WeightsEstimate;
use crate::gguf::ModelFacts;
use crate::hardware::Machine;
use crate::resolve::RunOptions;

pub struct SchedView {
    layers: Vec<Option<usize>>,
    kv: Vec<Option<usize>>,
    weights: WeightMap,
    output: Option<usize>,
    pub backends: Backends,
}

impl SchedView {
    pub fn new(
        facts: &ModelFacts,
        placement: &LayerPlacement,
        w: &WeightsEstimate,
        opts: &RunOptions,
        machine: &Machine,
    ) -> SchedView {
        let n_gpus = machine.gpus.len();
        let to_gpu = |d: &DeviceRef| match d {
            DeviceRef::Gpu(i) => Some(*i).filter(|&i| i < n_gpus),
            DeviceRef::Cpu => None,
        };
        let devices = machine
            .gpus
            .iter()
            .map(|g| {
                if g.is_rpc() {
                    DeviceKind::Rpc
                } else {
                    DeviceKind::Cuda
                }
            })
            .collect();
        // src/llama-context.cpp (`llama_context::llama_context`): pipeline parallelism needs
        // several devices, every layer and the output offloaded, layer split, KV offload and
        // no -ot, and every device with async compute and events: CUDA (ggml-cuda.cu
        // `ggml_backend_cuda_device_get_props`, unless built with GGML_CUDA_NO_PEER_COPY) and
        // RPC (ggml-rpc.cpp) both have them. Measured over RPC (tests/compute_rpc.rs); no public
        // CUDA log here has a full-offload multi-GPU launch without -ot (docs/memory-model.md §8).
        let pipeline = n_gpus > 1
            && placement.n_gpu_layers > u64::from(facts.n_layer)
            && opts.split_mode == crate::resolve::SplitMode::Layer
            && opts.kv_offload
            && opts.overrides.is_empty();
        SchedView {
            layers: placement.layers.iter().map(to_gpu).collect(),
            kv: placement.kv.iter().map(to_gpu).collect(),
            weights: w
                .tensors
                .iter()
                .map(|t| (t.name.clone(), (to_gpu(&t.device), t.bytes)))
                .collect(),
            output: to_gpu(&placement.output),
            backends: Backends {
                devices,
                op_offload: opts.op_offload,
                n_copies: if pipeline { 4 } else { 1 },
            },
        }
    }

    pub fn place(&self) -> Placement<'_> {
        Placement {
            layers: &self.layers,
            output: self.output,
            kv: &self.kv,
            weights: Some(&self.weights),
        }
    }
}
