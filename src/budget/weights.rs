//! Weights per device and buffer, tensor by tensor, with llama.cpp b11434's rules
//! (`select_weight_buft`, `make_cpu_buft_list`, `get_mapping_range`; docs/memory-model.md §2).

use std::collections::BTreeMap;

use serde::Serialize;

use super::placement::{DeviceRef, LayerPlacement};
use crate::flags::{Backend, BufferType, place};
use crate::gguf::{Model, Tensor, TensorRole, tensor_layer, tensor_role};
use crate::hardware::Machine;
use crate::resolve::RunOptions;

/// Alignment of the CPU buffer type (`TENSOR_ALIGNMENT`).
const CPU_ALIGN: u64 = 32;
/// Alignment of the CUDA buffer type (`ggml_backend_cuda_buffer_type_get_alignment`).
const CUDA_ALIGN: u64 = 128;
/// CUDA pads quantized rows to this many elements (`MATRIX_ROW_PADDING`).
const CUDA_ROW_PADDING: u64 = 512;

/// The buffer a weight lands in, named as llama.cpp's load log prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum WeightBuffer {
    /// mmap'd file range (`-lm mmap`/auto), host memory.
    #[serde(rename = "CPU_Mapped")]
    CpuMapped,
    /// Weights re-laid out for the x86 AVX2 kernels: a copy in host memory.
    #[serde(rename = "CPU_REPACK")]
    CpuRepack,
    /// `-lm none` without a GPU.
    #[serde(rename = "CPU")]
    Cpu,
    /// `-lm none` with a CUDA device: pinned host memory.
    #[serde(rename = "CUDA_Host")]
    CudaHost,
    /// A GPU's own buffer.
    #[serde(rename = "GPU")]
    Gpu,
}

/// Why a tensor went where it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightRule {
    /// `token_embd` and other input tensors: always host (`dev_input = cpu`).
    Input,
    /// The layer's device from `-ngl`/`-ts`/`-sm`.
    Layer,
    /// The output layer's device (`dev_output`).
    OutputLayer,
    /// The first matching `-ot` / `-cmoe` / `-ncmoe` rule (its pattern).
    Override(String),
    /// Tied embeddings: `token_embd` duplicated for the output layer (on a GPU, or in
    /// `CPU_REPACK` when the host repacks it).
    TiedOutput,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorPlacement {
    pub name: String,
    pub device: DeviceRef,
    pub buffer: WeightBuffer,
    /// Bytes this tensor adds to its buffer (padded where llama.cpp pads). For `CPU_Mapped` the
    /// buffer is the file range instead, see [`WeightsEstimate`].
    pub bytes: u64,
    pub rule: WeightRule,
}

/// One weight buffer on one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightBufferSize {
    pub device: DeviceRef,
    /// `CPU_Mapped`, `CPU_REPACK`, `CPU`, `CUDA_Host`, `CUDA0`…
    pub name: String,
    pub buffer: WeightBuffer,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightsEstimate {
    pub tensors: Vec<TensorPlacement>,
    pub buffers: Vec<WeightBufferSize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightsError {
    #[error(
        "-ot pattern `{pattern}` sends `{tensor}` to {target}, which this machine does not have"
    )]
    UnknownDevice {
        pattern: String,
        tensor: String,
        target: String,
    },
}

impl WeightsEstimate {
    /// Bytes of all weight buffers of `device` except `CPU_REPACK`.
    pub fn plain_bytes(&self, device: DeviceRef) -> u64 {
        self.buffers
            .iter()
            .filter(|b| b.device == device && b.buffer != WeightBuffer::CpuRepack)
            .fold(0u64, |a, b| a.saturating_add(b.bytes))
    }

    pub fn repack_bytes(&self, device: DeviceRef) -> u64 {
        self.buffers
            .iter()
            .filter(|b| b.device == device && b.buffer == WeightBuffer::CpuRepack)
            .fold(0u64, |a, b| a.saturating_add(b.bytes))
    }

    pub fn buffer(&self, name: &str) -> Option<u64> {
        self.buffers
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.bytes)
    }
}

/// Places every tensor of `model` and sizes the buffers.
pub fn estimate(
    model: &Model,
    opts: &RunOptions,
    placement: &LayerPlacement,
    machine: &Machine,
) -> Result<WeightsEstimate, WeightsError> {
    let has_cuda = machine.has_cuda();
    let mmap = opts.load_mode != "none";
    let mut tensors = Vec::with_capacity(model.tensors.len());
    for t in &model.tensors {
        let (device, rule) = tensor_device(t, opts, placement, machine)?;
        let buffer = match device {
            DeviceRef::Gpu(_) => WeightBuffer::Gpu,
            DeviceRef::Cpu => cpu_buffer(t, opts.repack, has_cuda, mmap),
        };
        let bytes = match buffer {
            WeightBuffer::Gpu => device_alloc_size(t, device, machine),
            WeightBuffer::CpuRepack => t.n_bytes,
            _ => pad(t.n_bytes, CPU_ALIGN),
        };
        tensors.push(TensorPlacement {
            name: t.name.clone(),
            device,
            buffer,
            bytes,
            rule,
        });
    }
    if let Some(copy) = tied_output_copy(model, opts, placement, machine) {
        tensors.push(copy);
    }
    let buffers = buffer_sizes(model, &tensors, machine);
    Ok(WeightsEstimate { tensors, buffers })
}

/// Tied embeddings (no `output.weight`): the arch's loader creates the output matrix again from
/// `token_embd` with `TENSOR_DUPLICATED` (src/models/llama.cpp l.41–45, the same in every arch),
/// probed as a MUL_MAT in the output layer's buffer-type list. `create_tensor`
/// (src/llama-model-loader.cpp, "if duplicated, check if the original tensor was allocated in the
/// same buffer type context") reuses `token_embd` only when that list picks the same buffer type
/// (GET_ROWS), so a second copy is allocated on a GPU output layer, and on the host when the
/// MUL_MAT probe picks `CPU_REPACK` (a Q4_0/Q4_K/IQ4_NL/MXFP4 embedding, rows % 8 == 0) while
/// GET_ROWS kept `token_embd` in the mapping.
fn tied_output_copy(
    model: &Model,
    opts: &RunOptions,
    placement: &LayerPlacement,
    machine: &Machine,
) -> Option<TensorPlacement> {
    if model.tensors.iter().any(|t| t.name == "output.weight") {
        return None;
    }
    let embd = model
        .tensors
        .iter()
        .find(|t| t.name == "token_embd.weight")?;
    let (buffer, bytes) = match placement.output {
        DeviceRef::Gpu(_) => (
            WeightBuffer::Gpu,
            device_alloc_size(embd, placement.output, machine),
        ),
        DeviceRef::Cpu if !machine.has_cuda() && opts.repack && repack_kernel_on_avx2(embd) => {
            (WeightBuffer::CpuRepack, embd.n_bytes)
        }
        DeviceRef::Cpu => return None,
    };
    Some(TensorPlacement {
        name: "output.weight (tied token_embd)".into(),
        device: placement.output,
        buffer,
        bytes,
        rule: WeightRule::TiedOutput,
    })
}

fn tensor_device(
    t: &Tensor,
    opts: &RunOptions,
    placement: &LayerPlacement,
    machine: &Machine,
) -> Result<(DeviceRef, WeightRule), WeightsError> {
    let role = tensor_role(&t.name);
    // Input tensors are created in the input layer's context before overrides are consulted
    // only for repeating/output layers; token_embd stays on the host either way.
    if role == TensorRole::Input || t.name.starts_with("token_embd_norm") {
        return Ok((DeviceRef::Cpu, WeightRule::Input));
    }
    if let Some(rule) = place(&opts.overrides, &t.name) {
        let device = match rule.buffer {
            BufferType::Cpu => DeviceRef::Cpu,
            // CUDA numbering starts after the RPC servers (src/llama.cpp puts them first).
            BufferType::Device {
                backend: Backend::Cuda,
                index,
            } if machine.has_cuda() => {
                let n_rpc = machine.gpus.iter().filter(|g| g.is_rpc()).count();
                let i = n_rpc + index as usize;
                if i >= machine.gpus.len() {
                    return Err(WeightsError::UnknownDevice {
                        pattern: rule.pattern.clone(),
                        tensor: t.name.clone(),
                        target: rule.buffer.to_string(),
                    });
                }
                DeviceRef::Gpu(i)
            }
            other => {
                return Err(WeightsError::UnknownDevice {
                    pattern: rule.pattern.clone(),
                    tensor: t.name.clone(),
                    target: other.to_string(),
                });
            }
        };
        return Ok((device, WeightRule::Override(rule.pattern.clone())));
    }
    if let Some(il) = tensor_layer(&t.name) {
        return Ok((placement.layer(il as usize), WeightRule::Layer));
    }
    // rope_freqs is created with layer 0 (the other layers hold duplicates of it).
    if t.name.starts_with("rope_freqs") {
        return Ok((placement.layer(0), WeightRule::Layer));
    }
    Ok((placement.output, WeightRule::OutputLayer))
}

/// The CPU buffer-type list is ACCEL → the first GPU's host type → extra types (`CPU_REPACK`) →
/// `CPU`; the first that supports the weight's op wins. A CUDA host type supports every op, so
/// with a GPU nothing is repacked, and with mmap host-type weights stay in the mapping.
fn cpu_buffer(t: &Tensor, repack: bool, has_cuda: bool, mmap: bool) -> WeightBuffer {
    // An RPC device has no host buffer type, so with only RPC devices the CPU list is the
    // CPU-only one and repacking happens (src/llama-model.cpp, `make_cpu_buft_list`).
    if has_cuda {
        return if mmap {
            WeightBuffer::CpuMapped
        } else {
            WeightBuffer::CudaHost
        };
    }
    if repack && repacks_on_avx2(t) {
        return WeightBuffer::CpuRepack;
    }
    if mmap {
        WeightBuffer::CpuMapped
    } else {
        WeightBuffer::Cpu
    }
}

/// `ggml_repack_get_optimal_repack_type` on x86_64 with AVX2 (no AVX512: Q2_K is not repacked),
/// for the op the loader probes with (`LLM_TENSOR_INFOS`): MUL_MAT on 2-D projection matrices,
/// MUL_MAT_ID on 3-D expert stacks; never `token_embd` (GET_ROWS), norms, convolutions, routers.
pub fn repacks_on_avx2(t: &Tensor) -> bool {
    let name = t.name.as_str();
    let n = t.dims.len();
    if name.starts_with("token_embd") || name.starts_with("per_layer_token_embd") {
        return false;
    }
    let base = name.strip_suffix(".weight").unwrap_or("");
    let is_exps = n == 3 && (base.ends_with("_exps") || base.ends_with("_chexps"));
    let is_mat = n == 2
        && !base.is_empty()
        && !name.contains("norm")
        && !name.contains("conv")
        && !name.contains("ffn_gate_inp");
    if !(is_exps || is_mat) {
        return false;
    }
    repack_kernel_on_avx2(t)
}

/// The type and row condition of `ggml_repack_get_optimal_repack_type` on x86 AVX2
/// (ggml/src/ggml-cpu/repack.cpp ~l.4974–5100), whatever the op.
fn repack_kernel_on_avx2(t: &Tensor) -> bool {
    let rows_ok = t.dims.get(1).is_some_and(|ne1| ne1 % 8 == 0);
    rows_ok && matches!(t.ggml_type.name, "Q4_0" | "Q4_K" | "IQ4_NL" | "MXFP4")
}

/// A device buffer's size for `t`: CUDA pads (below); an RPC server running the CPU backend
/// reports the CPU buffer type's alignment and plain `ggml_nbytes` (ggml-rpc.cpp,
/// `ggml_backend_rpc_buffer_type_get_alloc_size` asks the server only for special tensors).
fn device_alloc_size(t: &Tensor, device: DeviceRef, machine: &Machine) -> u64 {
    match device {
        DeviceRef::Gpu(i) if machine.gpus.get(i).is_some_and(|g| g.is_rpc()) => {
            pad(t.n_bytes, CPU_ALIGN)
        }
        _ => cuda_alloc_size(t),
    }
}

/// `ggml_backend_cuda_buffer_type_get_alloc_size`: quantized rows padded to 512 elements, then
/// the buffer alignment.
fn cuda_alloc_size(t: &Tensor) -> u64 {
    let mut size = t.n_bytes;
    let ne0 = t.dims.first().copied().unwrap_or(0);
    let ty = t.ggml_type;
    if ty.is_quantized && ne0 % CUDA_ROW_PADDING != 0 && ty.block_size > 0 {
        let missing = CUDA_ROW_PADDING - ne0 % CUDA_ROW_PADDING;
        size = size.saturating_add(missing / ty.block_size * ty.type_size);
    }
    pad(size, CUDA_ALIGN)
}

fn buffer_sizes(
    model: &Model,
    tensors: &[TensorPlacement],
    machine: &Machine,
) -> Vec<WeightBufferSize> {
    let mut sums: BTreeMap<(DeviceRef, WeightBuffer), u64> = BTreeMap::new();
    // CPU_Mapped: one buffer per file over [min offset, max end) of its mapped tensors; repacked
    // tensors lying inside that range still count in it.
    let mut ranges: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for (p, t) in tensors.iter().zip(&model.tensors) {
        if p.buffer == WeightBuffer::CpuMapped {
            let end = t.data_offset.saturating_add(t.n_bytes);
            let r = ranges.entry(t.shard).or_insert((t.data_offset, end));
            r.0 = r.0.min(t.data_offset);
            r.1 = r.1.max(end);
        } else {
            let e = sums.entry((p.device, p.buffer)).or_default();
            *e = e.saturating_add(p.bytes);
        }
    }
    // The tied output copy has no tensor in the file: it was appended after the zip ran out
    // (a GPU buffer or CPU_REPACK, never the mapping).
    for p in tensors.iter().skip(model.tensors.len()) {
        let e = sums.entry((p.device, p.buffer)).or_default();
        *e = e.saturating_add(p.bytes);
    }
    let mut out: Vec<WeightBufferSize> = sums
        .into_iter()
        .map(|((device, buffer), bytes)| WeightBufferSize {
            device,
            name: match buffer {
                WeightBuffer::Gpu => match device {
                    DeviceRef::Gpu(i) => machine.gpu_id(i),
                    DeviceRef::Cpu => device.to_string(),
                },
                other => buffer_name(other).to_string(),
            },
            buffer,
            bytes,
        })
        .collect();
    // One CPU_Mapped buffer per shard file, as the load log prints them.
    out.extend(ranges.values().map(|(lo, hi)| WeightBufferSize {
        device: DeviceRef::Cpu,
        name: buffer_name(WeightBuffer::CpuMapped).to_string(),
        buffer: WeightBuffer::CpuMapped,
        bytes: hi.saturating_sub(*lo),
    }));
    out
}

fn buffer_name(b: WeightBuffer) -> &'static str {
    match b {
        WeightBuffer::CpuMapped => "CPU_Mapped",
        WeightBuffer::CpuRepack => "CPU_REPACK",
        WeightBuffer::Cpu => "CPU",
        WeightBuffer::CudaHost => "CUDA_Host",
        WeightBuffer::Gpu => "GPU",
    }
}

pub(crate) fn pad(x: u64, n: u64) -> u64 {
    x.div_ceil(n).saturating_mul(n)
}
