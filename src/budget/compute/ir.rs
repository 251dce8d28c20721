//! The tensors of one graph as the allocator and the scheduler see them: sizes, sources, views,
//! and where externally allocated tensors (weights, caches) live.

/// Index of a tensor in a [`Graph`].
pub type Id = usize;

/// The stand-in for a tensor outside the compute buffer whose location does not matter: never
/// allocated, never freed. The builder turns it into the current layer's weight when an op
/// reads it ([`Graph::op`] callers pass it; see `graph::Builder::op`).
pub const EXTERNAL: Id = 0;

/// What a tensor is, for the scheduler (ggml/src/ggml-backend.cpp, `ggml_backend_sched_split_graph`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A computed tensor (an op), or a graph input when [`Tensor::input`] is set.
    Op,
    /// A view op (`ggml_is_view_op`: view, reshape, permute, transpose): no memory, no backend
    /// of its own, skipped by the scheduler's expansion and split passes.
    ViewOp,
    /// An op whose result is a view of another tensor but that computes (`set_rows` or `cpy`
    /// into a cache): the scheduler assigns and splits it like any op.
    WritesInto,
    /// A model weight (buffer usage `WEIGHTS`): ops reading it run where it lives.
    Weight,
    /// A pre-allocated non-weight tensor (KV or recurrent cache).
    Cache,
    /// The scheduler's `input_dep` (GGML_OP_NONE): keeps its source alive until the copy.
    Dep,
}

#[derive(Debug, Clone)]
pub struct Tensor {
    pub size: u64,
    pub srcs: Vec<Id>,
    /// The op may write into a dying parent (`ggml_op_can_inplace`).
    pub inplace: bool,
    /// Views have no memory; they keep the tensor they view alive.
    pub view_of: Option<Id>,
    pub input: bool,
    /// Outputs are never freed.
    pub output: bool,
    /// Stands in for `ggml_are_same_layout`: in-place reuse needs equal layouts.
    pub layout: u64,
    /// Backend that runs (and holds) the tensor; `None` = the CPU backend. For weights and
    /// caches: where their buffer is. For ops: set by the scheduler (`sched::schedule`).
    pub dev: Option<usize>,
    pub kind: Kind,
    /// Rows the op processes as CUDA's `get_op_batch_size` counts them (0 for `get_rows`).
    pub batch: u64,
    /// The graph callback fixed the op's backend to `dev` before the scheduler runs
    /// (`ggml_backend_sched_set_tensor_backend`; see `graph::Builder::pin`).
    pub pinned: bool,
}

impl Tensor {
    /// Never allocated by ggml-alloc: weights, caches and the scheduler's dependency nodes.
    pub fn external(&self) -> bool {
        matches!(self.kind, Kind::Weight | Kind::Cache | Kind::Dep)
    }

    fn new(size: u64, srcs: &[Id], kind: Kind, dev: Option<usize>) -> Tensor {
        Tensor {
            size,
            srcs: srcs.to_vec(),
            inplace: false,
            view_of: None,
            input: false,
            output: false,
            layout: size,
            dev,
            kind,
            batch: 0,
            pinned: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Graph {
    pub tensors: Vec<Tensor>,
    /// Execution order of the non-input tensors.
    pub nodes: Vec<Id>,
    pub inputs: Vec<Id>,
    /// `ggml_build_forward_expand` calls on tensors something else reads (or on an input):
    /// `(nodes.len() at the call, tensor)`. They only change the order of `graph->leafs`.
    pub expanded: Vec<(usize, Id)>,
    /// The leaf allocation order when the scheduler fixed it (its copy of the graph keeps the
    /// original graph's leafs); `None` = derive it from the graph (`leafs::leaf_order`).
    pub leafs: Option<Vec<Id>>,
}

impl Default for Graph {
    fn default() -> Graph {
        Graph::new()
    }
}

impl Graph {
    pub fn new() -> Graph {
        Graph {
            tensors: vec![Tensor::new(0, &[], Kind::Weight, None)],
            nodes: Vec::new(),
            inputs: Vec::new(),
            expanded: Vec::new(),
            leafs: None,
        }
    }

    pub(super) fn push(&mut self, t: Tensor) -> Id {
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    pub fn input(&mut self, size: u64, dev: Option<usize>) -> Id {
        let mut t = Tensor::new(size, &[], Kind::Op, dev);
        t.input = true;
        let id = self.push(t);
        self.inputs.push(id);
        id
    }

    /// A weight or cache living in a backend's own buffer (`size` = what a copy would take).
    pub fn external(&mut self, size: u64, kind: Kind, dev: Option<usize>) -> Id {
        self.push(Tensor::new(size, &[], kind, dev))
    }

    pub fn op(&mut self, size: u64, srcs: &[Id], inplace: bool, dev: Option<usize>) -> Id {
        let mut t = Tensor::new(size, srcs, Kind::Op, dev);
        t.inplace = inplace;
        let id = self.push(t);
        self.nodes.push(id);
        id
    }

    /// A view of `src` whose own sources are `srcs` (a `set_rows` into a cache is a view of the
    /// cache that reads the new rows).
    pub fn view_with(&mut self, src: Id, srcs: &[Id]) -> Id {
        let base = self.tensors.get(src).cloned();
        let (size, layout, root, dev, writes) = base.map_or((0, 0, EXTERNAL, None, true), |b| {
            (
                b.size,
                b.layout,
                b.view_of.unwrap_or(src),
                b.dev,
                srcs.len() > 1 || (b.external() && srcs != [src]),
            )
        });
        let kind = if writes {
            Kind::WritesInto
        } else {
            Kind::ViewOp
        };
        let mut t = Tensor::new(size, srcs, kind, dev);
        t.layout = layout;
        t.view_of = Some(root);
        let id = self.push(t);
        self.nodes.push(id);
        id
    }

    pub fn view(&mut self, src: Id) -> Id {
        self.view_with(src, &[src])
    }

    /// `ggml_build_forward_expand(gf, id)` at this point of the graph.
    pub fn expand(&mut self, id: Id) {
        self.expanded.push((self.nodes.len(), id));
    }

    pub fn mark_output(&mut self, id: Id) {
        if let Some(t) = self.tensors.get_mut(id) {
            t.output = true;
        }
    }
}
