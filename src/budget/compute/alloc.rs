//! A replay of ggml-alloc (`ggml/src/ggml-alloc.c`, `ggml_gallocr_alloc_graph_impl` and
//! `ggml_dyn_tallocr`) over a list of tensor sizes, so the compute buffer is the allocator's own
//! high-water mark rather than a formula.

/// `TENSOR_ALIGNMENT` of the CPU buffer type; GPU buffer types use larger alignments, which
/// change the result by a few KiB at most.
pub const ALIGN: u64 = 32;

fn pad(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

pub use super::ir::{EXTERNAL, Graph, Id, Tensor};

/// `ggml_dyn_tallocr` with one chunk: free blocks sorted by offset, the last one unbounded.
#[derive(Debug, Clone)]
pub struct DynAlloc {
    free: Vec<(u64, u64)>,
    pub max: u64,
}

const INFINITE: u64 = 1 << 62;

impl Default for DynAlloc {
    fn default() -> DynAlloc {
        DynAlloc::new()
    }
}

impl DynAlloc {
    pub fn new() -> DynAlloc {
        DynAlloc {
            free: vec![(0, INFINITE)],
            max: 0,
        }
    }

    /// Forgets every allocation but keeps the high-water mark (the next `graph_reserve`).
    pub fn reset(&mut self) {
        self.free = vec![(0, INFINITE)];
    }

    fn alloc(&mut self, size: u64) -> u64 {
        let size = pad(size);
        let last = self.free.len().saturating_sub(1);
        // Best fit among every block but the last; the last (growing) block otherwise.
        let best = self.free[..last]
            .iter()
            .enumerate()
            .filter(|(_, b)| b.1 >= size)
            .min_by_key(|(i, b)| (b.1, std::cmp::Reverse(*i)))
            .map_or(last, |(i, _)| i);
        let Some(block) = self.free.get_mut(best) else {
            return 0;
        };
        let off = block.0;
        block.0 += size;
        block.1 -= size;
        if block.1 == 0 {
            self.free.remove(best);
        }
        self.max = self.max.max(off + size);
        off
    }

    fn release(&mut self, off: u64, size: u64) {
        let size = pad(size);
        let n = self.free.len();
        for i in 0..n {
            let (b_off, b_size) = self.free[i];
            if b_off + b_size == off {
                self.free[i].1 += size;
                if i + 1 < n && self.free[i].0 + self.free[i].1 == self.free[i + 1].0 {
                    self.free[i].1 += self.free[i + 1].1;
                    self.free.remove(i + 1);
                }
                return;
            }
            if off + size == b_off {
                self.free[i].0 = off;
                self.free[i].1 += size;
                if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == off {
                    self.free[i - 1].1 += self.free[i].1;
                    self.free.remove(i);
                }
                return;
            }
        }
        let at = self.free.iter().position(|b| b.0 >= off).unwrap_or(n);
        self.free.insert(at, (off, size));
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    n_children: u32,
    n_views: u32,
    allocated: bool,
    addr: u64,
}

/// Replays the allocation of `g`, each tensor in the allocator of its backend (`allocs[dev]`,
/// with `dev_index` mapping a tensor's device to an allocator).
pub fn replay(g: &Graph, allocs: &mut [DynAlloc], dev_index: &dyn Fn(Option<usize>) -> usize) {
    replay_traced(g, allocs, dev_index, None);
}

/// One allocation of a traced replay: tensor, its size and offset, and whether it took its
/// parent's block in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub id: Id,
    pub size: u64,
    pub offset: u64,
    pub inplace: bool,
}

/// [`replay`] that also records every allocation in order, to compare a graph against
/// ggml-alloc's own placement when a family is off (a debugging aid, not used for estimates).
pub fn replay_traced(
    g: &Graph,
    allocs: &mut [DynAlloc],
    dev_index: &dyn Fn(Option<usize>) -> usize,
    trace: Option<&mut Vec<Placed>>,
) {
    let mut st = vec![State::default(); g.tensors.len()];
    let t = |id: Id| g.tensors.get(id);
    for &n in &g.nodes {
        if let Some(v) = t(n).and_then(|x| x.view_of)
            && let Some(s) = st.get_mut(v)
        {
            s.n_views += 1;
        }
        for &p in t(n).map_or(&[][..], |x| &x.srcs) {
            if let Some(s) = st.get_mut(p) {
                s.n_children += 1;
            }
        }
    }
    let mut ctx = Replay {
        g,
        st,
        allocs,
        dev_index,
        trace,
    };
    let leafs = g
        .leafs
        .clone()
        .unwrap_or_else(|| super::leafs::leaf_order(g));
    for i in leafs {
        ctx.allocate(i);
    }
    for &n in &g.nodes {
        let srcs = t(n).map_or(&[][..], |x| &x.srcs);
        for &p in srcs {
            ctx.allocate(p);
        }
        ctx.allocate(n);
        for &p in srcs {
            ctx.release_parent(p);
        }
    }
}

struct Replay<'a> {
    g: &'a Graph,
    st: Vec<State>,
    allocs: &'a mut [DynAlloc],
    dev_index: &'a dyn Fn(Option<usize>) -> usize,
    trace: Option<&'a mut Vec<Placed>>,
}

impl Replay<'_> {
    fn alloc_of(&mut self, id: Id) -> Option<&mut DynAlloc> {
        let dev = self.g.tensors.get(id)?.dev;
        let i = (self.dev_index)(dev);
        self.allocs.get_mut(i)
    }

    fn allocate(&mut self, id: Id) {
        let Some(t) = self.g.tensors.get(id) else {
            return;
        };
        if t.external() || t.view_of.is_some() || self.st[id].allocated {
            return;
        }
        self.st[id].allocated = true;
        if t.inplace {
            for &p in &t.srcs {
                let Some(pt) = self.g.tensors.get(p) else {
                    continue;
                };
                // A view is never `allocated` in ggml-alloc, so `ggml_gallocr_is_own` rejects
                // it: an op on a view (a reshape, a permute) always gets a block of its own.
                let own = !pt.external() && pt.view_of.is_none() && self.st[p].allocated;
                if !own || pt.output || pt.layout != t.layout || pt.dev != t.dev {
                    continue;
                }
                if self.st[p].n_children != 1 || self.st[p].n_views != 0 {
                    continue;
                }
                // Reuse the dying parent's block.
                let (addr, osize) = (self.st[p].addr, pt.size);
                self.st[id].addr = addr;
                self.st[p].allocated = false;
                if osize > t.size {
                    let (keep, all) = (pad(t.size), pad(osize));
                    if let Some(a) = self.alloc_of(id) {
                        a.release(addr + keep, all - keep);
                    }
                }
                self.record(id, t.size, addr, true);
                return;
            }
        }
        let size = t.size;
        let addr = self.alloc_of(id).map_or(0, |a| a.alloc(size));
        self.st[id].addr = addr;
        self.record(id, size, addr, false);
    }

    fn record(&mut self, id: Id, size: u64, offset: u64, inplace: bool) {
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.push(Placed {
                id,
                size,
                offset,
                inplace,
            });
        }
    }

    fn free(&mut self, id: Id) {
        let Some(t) = self.g.tensors.get(id) else {
            return;
        };
        if t.output {
            return;
        }
        let (addr, size) = (self.st[id].addr, t.size);
        if let Some(a) = self.alloc_of(id) {
            a.release(addr, size);
        }
        self.st[id].allocated = false;
    }

    fn release_parent(&mut self, p: Id) {
        let Some(pt) = self.g.tensors.get(p) else {
            return;
        };
        let s = &mut self.st[p];
        s.n_children = s.n_children.saturating_sub(1);
        if s.n_children != 0 || s.n_views != 0 {
            return;
        }
        match pt.view_of {
            Some(v) => {
                let vs = &mut self.st[v];
                vs.n_views = vs.n_views.saturating_sub(1);
                if vs.n_views == 0 && vs.n_children == 0 && vs.allocated {
                    self.free(v);
                }
            }
            None if s.allocated => self.free(p),
            None => {}
        }
    }
}
