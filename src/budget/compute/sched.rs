//! ggml-backend's scheduler over a [`Graph`]: which backend runs each node, where the graph is
//! cut into splits, which tensors are copied into a split's backend, and the graph copy that
//! ggml-alloc then sizes (ggml/src/ggml-backend.cpp, `ggml_backend_sched_split_graph`;
//! docs/memory-model.md "Several backends" maps every rule to its pass).
//!
//! Backends are numbered like llama.cpp's `backends` vector: the devices in model order (RPC
//! servers first, then local GPUs), the CPU last.

use super::ir::{Graph, Id, Kind, Tensor};

/// What the scheduler needs to know about a non-CPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// CUDA: may take over large-batch ops whose weights sit in host memory (op offload).
    Cuda,
    /// An RPC server: `offload_op` is NULL, it never takes ops over (ggml-rpc.cpp).
    Rpc,
}

#[derive(Debug, Clone)]
pub struct Backends {
    /// The non-CPU backends in order; the CPU is backend `devices.len()`.
    pub devices: Vec<DeviceKind>,
    /// `--no-op-offload` turns this off (`cparams.op_offload`).
    pub op_offload: bool,
    /// `GGML_SCHED_MAX_COPIES` (4) with pipeline parallelism, else 1.
    pub n_copies: usize,
}

/// `op_offload_min_batch_size` of the CUDA backend (ggml-cuda.cu, `GGML_OP_OFFLOAD_MIN_BATCH`).
const CUDA_MIN_BATCH: u64 = 32;

impl Backends {
    fn cpu(&self) -> usize {
        self.devices.len()
    }

    fn of(&self, dev: Option<usize>) -> usize {
        dev.filter(|&d| d < self.cpu()).unwrap_or(self.cpu())
    }

    fn dev(&self, b: usize) -> Option<usize> {
        (b < self.cpu()).then_some(b)
    }
}

struct Sched<'a> {
    g: &'a Graph,
    be: &'a Backends,
    /// `hv_tensor_backend_ids`: the backend of every tensor, `None` while unassigned.
    at: Vec<Option<usize>>,
}

impl Sched<'_> {
    fn t(&self, id: Id) -> Option<&Tensor> {
        self.g.tensors.get(id)
    }

    fn is_view_op(&self, id: Id) -> bool {
        self.t(id).is_some_and(|t| t.kind == Kind::ViewOp)
    }

    /// The backend whose buffer holds `id` if it is pre-allocated (a weight, a cache, or a view
    /// of one): `ggml_backend_sched_backend_from_buffer`.
    fn buffer_backend(&self, id: Id) -> Option<usize> {
        let t = self.t(id)?;
        let base = match t.view_of {
            Some(root) => self.t(root)?,
            None => t,
        };
        base.external().then(|| self.be.of(base.dev))
    }

    /// `ggml_backend_sched_buffer_supported`: every backend here has a buffer type of its own
    /// (CUDA does not accept host memory, the CPU accepts only host memory), so a tensor is
    /// usable in place only on the backend that holds it.
    fn holder(&self, id: Id) -> Option<usize> {
        self.buffer_backend(id).or_else(|| {
            let own = self.at.get(id).copied().flatten();
            own.or_else(|| {
                let root = self.t(id)?.view_of?;
                self.at.get(root).copied().flatten()
            })
        })
    }

    /// `supports_op`: devices run every op; the CPU rejects ops reading another device's buffer.
    fn supports(&self, b: usize, node: Id) -> bool {
        if b != self.be.cpu() {
            return true;
        }
        self.t(node).is_none_or(|t| {
            t.srcs
                .iter()
                .all(|&s| self.buffer_backend(s).is_none_or(|h| h == b))
        })
    }

    /// Pass 1 for one tensor (`ggml_backend_sched_backend_id_from_cur`).
    fn pass1_backend(&self, id: Id) -> Option<usize> {
        let t = self.t(id)?;
        if let Some(b) = self.buffer_backend(id) {
            return Some(b);
        }
        if t.pinned {
            return Some(self.be.of(t.dev));
        }
        if t.input {
            return Some(self.be.cpu());
        }
        for &s in &t.srcs {
            let Some(src) = self.t(s) else { continue };
            if src.kind != Kind::Weight {
                continue;
            }
            let b = self.be.of(src.dev);
            if self.be.op_offload && b == self.be.cpu() {
                let taker = self.be.devices.iter().position(|&d| {
                    // CUDA's `offload_op`: enough rows to pay for the weight's upload.
                    d == DeviceKind::Cuda && t.batch >= CUDA_MIN_BATCH
                });
                if let Some(gpu) = taker {
                    return Some(gpu);
                }
            }
            return Some(b);
        }
        None
    }

    fn assign(&mut self) {
        let g = self.g;
        for (id, t) in g.tensors.iter().enumerate() {
            if t.input || t.external() {
                self.at[id] = self.pass1_backend(id);
            }
        }
        for &n in &g.nodes {
            if self.at[n].is_none() {
                self.at[n] = self.pass1_backend(n);
            }
        }
        // Pass 2: spread the devices over their neighbours (down, up), then every backend.
        let order: Vec<Id> = g
            .nodes
            .iter()
            .copied()
            .filter(|&n| !self.is_view_op(n))
            .collect();
        let cpu = self.be.cpu();
        for skip_cpu in [true, false] {
            self.expand(order.iter().copied(), skip_cpu.then_some(cpu));
            self.expand(order.iter().rev().copied(), skip_cpu.then_some(cpu));
        }
        // Pass 3: a node still unassigned goes where most of its inputs already are. (The
        // upgrade half of pass 3 needs two backends sharing a buffer type, which never
        // happens among CPU, CUDA and RPC.)
        for &n in &order {
            if self.at[n].is_some() {
                continue;
            }
            let srcs = g.tensors.get(n).map_or(&[][..], |t| &t.srcs);
            let mut best: Option<(usize, usize)> = None;
            for b in 0..=cpu {
                if !self.supports(b, n) {
                    continue;
                }
                let count = srcs.iter().filter(|&&s| self.holder(s) == Some(b)).count();
                if best.is_none_or(|(c, _)| count > c) {
                    best = Some((count, b));
                }
            }
            self.at[n] = best.map(|(_, b)| b);
        }
        // Pass 4: views follow what they view; leafs follow their first reader.
        for &n in &g.nodes {
            if self.at[n].is_none()
                && let Some(root) = self.t(n).and_then(|t| t.view_of)
            {
                self.at[n] = self.at.get(root).copied().flatten();
            }
            let srcs = g.tensors.get(n).map_or(&[][..], |t| &t.srcs);
            for &s in srcs {
                if self.at.get(s).copied().flatten().is_some() {
                    continue;
                }
                let via_view = g.tensors.get(s).and_then(|t| t.view_of);
                self.at[s] = match via_view {
                    Some(root) => self.at.get(root).copied().flatten(),
                    None => self.at[n],
                };
            }
            if self.at[n].is_none() {
                self.at[n] = (0..=cpu).find(|&b| self.supports(b, n));
            }
        }
    }

    fn expand(&mut self, order: impl Iterator<Item = Id>, skip: Option<usize>) {
        let mut cur: Option<usize> = None;
        for n in order {
            match self.at[n] {
                Some(b) => cur = (Some(b) != skip).then_some(b),
                None => {
                    if let Some(b) = cur
                        && self.supports(b, n)
                    {
                        self.at[n] = Some(b);
                    }
                }
            }
        }
    }
}

/// One split: its backend, its first node (an index into `Graph::nodes`) and the tensors it
/// copies in from other backends.
struct Split {
    backend: usize,
    start: usize,
    inputs: Vec<Id>,
}

/// One split input copy: `bytes` from the backend that holds the tensor to the split's backend
/// (`ggml_backend_sched_compute_splits` copies it before the split runs, every graph compute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copy {
    pub from: usize,
    pub to: usize,
    pub bytes: u64,
}

/// What the scheduler's cut of one graph moves between backends: every split input copy and
/// the backend of every split (each split is one `graph_compute` call on its backend).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cut {
    pub copies: Vec<Copy>,
    pub split_backends: Vec<usize>,
}

/// Assigns every tensor a backend, cuts the graph into splits with their input copies, and
/// returns the scheduler's graph copy (what `ggml_gallocr_reserve_n` sizes), each tensor's
/// `dev` set to its backend, and the number of splits.
pub fn schedule(g: &Graph, be: &Backends) -> (Graph, usize) {
    let (g, cut) = schedule_cut(g, be);
    (g, cut.split_backends.len())
}

/// [`schedule`] with the copies and splits it made.
pub fn schedule_cut(g: &Graph, be: &Backends) -> (Graph, Cut) {
    let mut s = Sched {
        g,
        be,
        at: vec![None; g.tensors.len()],
    };
    s.assign();
    let cpu = be.cpu();
    let backend = |at: &[Option<usize>], id: Id| at.get(id).copied().flatten().unwrap_or(cpu);
    let mut out = g.clone();
    for (id, t) in out.tensors.iter_mut().enumerate() {
        t.dev = be.dev(backend(&s.at, id));
    }
    let n_copies = be.n_copies.max(1);
    // Pass 5: splits and copies. A copy is made once per (tensor, backend) for the graph.
    let mut copies: std::collections::HashMap<(Id, usize), Vec<Id>> = Default::default();
    let mut splits: Vec<Split> = Vec::new();
    let mut moved = Vec::new();
    for (i, &n) in g.nodes.iter().enumerate() {
        if s.is_view_op(n) {
            continue;
        }
        let b = backend(&s.at, n);
        let srcs = g.tensors.get(n).map_or(&[][..], |t| &t.srcs);
        let foreign_weight = || {
            srcs.iter().any(|&src| {
                g.tensors.get(src).is_some_and(|t| t.kind == Kind::Weight)
                    && backend(&s.at, src) != b
            })
        };
        let new_split = match splits.last() {
            None => true,
            Some(sp) => sp.backend != b || (!sp.inputs.is_empty() && foreign_weight()),
        };
        if new_split {
            let start = if splits.is_empty() { 0 } else { i };
            splits.push(Split {
                backend: b,
                start,
                inputs: Vec::new(),
            });
        }
        let mut new_srcs = srcs.to_vec();
        for src in &mut new_srcs {
            let holder = s.holder(*src).unwrap_or_else(|| backend(&s.at, *src));
            if holder == b {
                continue;
            }
            let key = (*src, b);
            if let std::collections::hash_map::Entry::Vacant(slot) = copies.entry(key) {
                let base = out.tensors.get(*src).cloned();
                let (size, layout) = base.map_or((0, 0), |t| (t.size, t.layout));
                let ids: Vec<Id> = (0..n_copies)
                    .map(|_| {
                        out.push(Tensor {
                            size,
                            srcs: Vec::new(),
                            inplace: false,
                            view_of: None,
                            input: n_copies > 1,
                            output: n_copies > 1,
                            layout,
                            dev: be.dev(b),
                            kind: Kind::Op,
                            batch: 0,
                            pinned: false,
                        })
                    })
                    .collect();
                slot.insert(ids);
                moved.push(Copy {
                    from: holder,
                    to: b,
                    bytes: size,
                });
                if let Some(sp) = splits.last_mut() {
                    sp.inputs.push(*src);
                }
            }
            if let Some(c) = copies.get(&key).and_then(|v| v.first()) {
                *src = *c;
            }
        }
        if let Some(t) = out.tensors.get_mut(n) {
            t.srcs = new_srcs;
        }
    }
    let cut = Cut {
        copies: moved,
        split_backends: splits.iter().map(|sp| sp.backend).collect(),
    };
    // The graph copy: per split, each input's dependency node and its copy, then the nodes.
    let mut nodes = Vec::with_capacity(g.nodes.len() + 2 * copies.len());
    for (k, sp) in splits.iter().enumerate() {
        let end = splits.get(k + 1).map_or(g.nodes.len(), |nx| nx.start);
        for &input in &sp.inputs {
            let dep = out.push(Tensor {
                size: 0,
                srcs: vec![input],
                inplace: false,
                view_of: None,
                input: false,
                output: false,
                layout: 0,
                dev: be.dev(backend(&s.at, input)),
                kind: Kind::Dep,
                batch: 0,
                pinned: false,
            });
            nodes.push(dep);
            if let Some(&c) = copies.get(&(input, sp.backend)).and_then(|v| v.first()) {
                nodes.push(c);
            }
        }
        nodes.extend(g.nodes.get(sp.start..end).unwrap_or(&[]).iter().copied());
    }
    let original_leafs = super::leafs::leaf_order(g);
    let mut leafs = Vec::new();
    if n_copies > 1 {
        // Pass 6 and the graph copy's leafs: every graph input and every split input in all
        // copies, allocated first and never freed (inputs flagged as outputs).
        for &leaf in &original_leafs {
            if let Some(t) = out.tensors.get_mut(leaf) {
                t.output = true;
            }
            leafs.push(leaf);
            let base = out.tensors.get(leaf).cloned();
            for _ in 1..n_copies {
                if let Some(mut t) = base.clone() {
                    t.srcs.clear();
                    leafs.push(out.push(t));
                }
            }
        }
        for sp in &splits {
            for &input in &sp.inputs {
                if let Some(v) = copies.get(&(input, sp.backend)) {
                    leafs.extend(v.iter().copied());
                }
            }
        }
    }
    leafs.extend(original_leafs);
    out.nodes = nodes;
    out.leafs = Some(leafs);
    (out, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a 512-row matmul whose weight sits in host memory runs.
    fn backend_of_host_weight_op(devices: Vec<DeviceKind>, op_offload: bool) -> Option<usize> {
        let mut g = Graph::new();
        let x = g.input(4 * 512, None);
        let w = g.external(1 << 20, Kind::Weight, None);
        let y = g.op(4 * 512, &[w, x], false, None);
        if let Some(t) = g.tensors.get_mut(y) {
            t.batch = 512;
        }
        let be = Backends {
            devices,
            op_offload,
            n_copies: 1,
        };
        let (out, _) = schedule(&g, &be);
        out.tensors.get(y).and_then(|t| t.dev)
    }

    #[test]
    fn op_offload_sends_large_host_weight_ops_to_the_first_cuda_device_only() {
        let cuda = || vec![DeviceKind::Rpc, DeviceKind::Cuda];
        // ggml-cuda.cu `offload_op` takes it; RPC has no `offload_op`, so CUDA (backend 1) does.
        assert_eq!(backend_of_host_weight_op(cuda(), true), Some(1));
        // --no-op-offload: `sched->op_offload` is false, the op runs with its weight.
        assert_eq!(backend_of_host_weight_op(cuda(), false), None);
        // RPC devices alone never take it.
        assert_eq!(
            backend_of_host_weight_op(vec![DeviceKind::Rpc, DeviceKind::Rpc], true),
            None
        );
    }

    #[test]
    fn a_pinned_norm_stays_on_its_layer_device() {
        // Layer 0 on device 0 ends in `a`; layer 1's norm reads it and is pinned to device 1.
        let mut g = Graph::new();
        let x = g.input(64, None);
        let w0 = g.external(0, Kind::Weight, Some(0));
        let a = g.op(64, &[w0, x], false, Some(0));
        let norm = g.op(64, &[a], true, Some(1));
        let w1 = g.external(0, Kind::Weight, Some(1));
        let b = g.op(64, &[norm, w1], true, Some(1));
        let be = Backends {
            devices: vec![DeviceKind::Rpc, DeviceKind::Rpc],
            op_offload: true,
            n_copies: 1,
        };
        let (free, _) = schedule(&g, &be);
        assert_eq!(free.tensors.get(norm).and_then(|t| t.dev), Some(0));
        if let Some(t) = g.tensors.get_mut(norm) {
            t.pinned = true;
        }
        let (pinned, _) = schedule(&g, &be);
        assert_eq!(pinned.tensors.get(norm).and_then(|t| t.dev), Some(1));
        assert_eq!(pinned.tensors.get(b).and_then(|t| t.dev), Some(1));
    }
}
