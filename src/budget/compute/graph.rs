//! The intermediate tensors of one llama.cpp graph (`llm_build_*` for the family), in execution
//! order, ready for the allocator replay. Sizes are bytes; F32 unless a comment says otherwise.

use std::collections::HashMap;

use super::alloc::{EXTERNAL, Graph, Id};
use super::family::Family;
use super::ir::Kind;
use crate::budget::ContextParams;
use crate::gguf::{LayerFacts, Model, ModelFacts};

pub const F32: u64 = 4;

/// One graph reserve: `n_tokens` in the ubatch, `n_seqs` sequences, `n_outputs` logit rows.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub n_tokens: u64,
    pub n_seqs: u64,
    pub n_outputs: u64,
}

/// Where each weight lives and what a copy of it takes: tensor name → (backend, bytes);
/// `None` = the host.
pub type WeightMap = HashMap<String, (Option<usize>, u64)>;

/// Where each part of the graph's weights and caches live; all `None` for the CPU-only estimate.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    pub layers: &'a [Option<usize>],
    pub output: Option<usize>,
    /// Each layer's KV / recurrent cache device (`-nkvo` keeps them on the host); empty = the
    /// layer's device.
    pub kv: &'a [Option<usize>],
    /// Named weights (`-ot` overrides, sizes for op-offload copies); without it every weight is
    /// on its layer's device with no size.
    pub weights: Option<&'a WeightMap>,
}

impl Placement<'_> {
    pub const CPU: Placement<'static> = Placement {
        layers: &[],
        output: None,
        kv: &[],
        weights: None,
    };
}

/// A KV cache as the graph sees it: cells per stream and its per-graph inputs.
#[derive(Debug, Clone, Copy)]
pub struct Cache {
    pub n_kv: u64,
    pub mask: Id,
    /// The in-graph F16 cast of an F32 mask (`ContextParams::fa_mask_cast`), once made.
    pub mask_f16: Option<Id>,
    pub k_idxs: Id,
    pub v_idxs: Id,
}

pub struct Builder<'a> {
    pub g: Graph,
    pub model: &'a Model,
    pub facts: &'a ModelFacts,
    pub ctx: &'a ContextParams,
    pub fam: Family,
    pub shape: Shape,
    /// Tokens flowing through the current layer (n_outputs after the last layer's gather).
    pub t: u64,
    pub dev: Option<usize>,
    pub full: Option<Cache>,
    pub swa: Option<Cache>,
    pub s_copy: Option<Id>,
    pub pos: Id,
    pub place: Placement<'a>,
    /// The layer being built (`None` outside the repeating layers).
    pub il: Option<usize>,
    /// One size-less weight per device for the small weights the graph does not name.
    pub implicit: Vec<(Option<usize>, Id)>,
}

/// Cells per stream of the SWA cache (`llama_kv_cache_iswa`).
pub fn swa_cells(facts: &ModelFacts, ctx: &ContextParams) -> u64 {
    if ctx.swa_full {
        return ctx.n_ctx_seq;
    }
    let window = facts.swa.as_ref().map_or(0, |s| s.window);
    let per = if ctx.unified { ctx.n_seq } else { 1 };
    let want = (window * per + ctx.n_ubatch).div_ceil(256) * 256;
    ctx.n_ctx_seq.min(want)
}

impl<'a> Builder<'a> {
    /// The mask flash attention reads: the F16 input, or on older builds the F16 cast of the
    /// F32 input, made at its first reader (where ggml's graph order puts it: just before the
    /// first attention, on that layer's backend) and shared by every later layer.
    pub fn fa_mask(&mut self, c: Cache) -> Id {
        if !self.ctx.fa_mask_cast {
            return c.mask;
        }
        if let Some(m) = c.mask_f16 {
            return m;
        }
        let size = self.g.tensors.get(c.mask).map_or(0, |t| t.size / 2);
        let m = self.op(size, &[c.mask]);
        for slot in [&mut self.full, &mut self.swa] {
            if let Some(x) = slot.as_mut().filter(|x| x.mask == c.mask) {
                x.mask_f16 = Some(m);
            }
        }
        m
    }

    pub fn op(&mut self, size: u64, srcs: &[Id]) -> Id {
        self.node(size, srcs, false)
    }

    /// An op llama.cpp may run in place (`ggml_op_can_inplace`).
    pub fn ip(&mut self, size: u64, srcs: &[Id]) -> Id {
        self.node(size, srcs, true)
    }

    /// `EXTERNAL` among `srcs` is a small weight of the current layer (a norm, a bias).
    fn node(&mut self, size: u64, srcs: &[Id], inplace: bool) -> Id {
        let srcs: Vec<Id> = srcs
            .iter()
            .map(|&s| {
                if s == EXTERNAL {
                    self.implicit_weight()
                } else {
                    s
                }
            })
            .collect();
        let id = self.g.op(size, &srcs, inplace, self.dev);
        if let Some(t) = self.g.tensors.get_mut(id) {
            t.batch = self.t;
        }
        id
    }

    /// llama.cpp's graph callback fixes a layer's unweighted `norm` op to the layer's device
    /// when the whole model is offloaded or the ubatch is small (src/llama-context.cpp,
    /// `graph_get_cb`: `n_tokens < 32 || full_offload`), so the layer's first norm runs on its
    /// own device and only the previous layer's output crosses. Without it the scheduler's
    /// expansion would run it on the previous layer's device and copy both the normed rows
    /// and the residual (measured over RPC: one extra `n_embd × n_ubatch` input, four times
    /// with pipeline copies). The layer's other norms sit between ops of their own layer and
    /// land there anyway.
    fn pin(&mut self, id: Id) {
        let full_offload = self.place.output.is_some();
        if self.il.is_some()
            && (self.shape.n_tokens < 32 || full_offload)
            && let Some(t) = self.g.tensors.get_mut(id)
        {
            t.pinned = true;
        }
    }

    /// A `get_rows` from a weight (the token embeddings): CUDA never offloads it (batch 0).
    pub fn get_rows(&mut self, size: u64, weight: Id, rows: Id) -> Id {
        let id = self.g.op(size, &[weight, rows], false, self.dev);
        if let Some(t) = self.g.tensors.get_mut(id) {
            t.batch = 0;
        }
        id
    }

    fn implicit_weight(&mut self) -> Id {
        let dev = self.dev;
        if let Some(&(_, id)) = self.implicit.iter().find(|(d, _)| *d == dev) {
            return id;
        }
        let id = self.g.external(0, Kind::Weight, dev);
        self.implicit.push((dev, id));
        id
    }

    /// The weight `name` (`blk.{il}.` is prefixed to a name starting with `.`), where
    /// `-ngl`/`-ot` put it and its size; a weight the file lacks stands on the current device.
    pub fn w(&mut self, name: &str) -> Id {
        let full = match (name.strip_prefix('.'), self.il) {
            (Some(rest), Some(il)) => format!("blk.{il}.{rest}"),
            _ => name.to_string(),
        };
        let found = self.place.weights.and_then(|m| m.get(&full)).copied();
        match found {
            Some((dev, bytes)) => self.g.external(bytes, Kind::Weight, dev),
            None => self.implicit_weight(),
        }
    }

    /// The current layer's KV or recurrent cache (read by attention, written by `set_rows`).
    pub fn cache(&mut self) -> Id {
        let dev = match self.il {
            Some(il) if !self.place.kv.is_empty() => self.place.kv.get(il).copied().flatten(),
            _ => self.dev,
        };
        self.g.external(0, Kind::Cache, dev)
    }

    pub fn view(&mut self, src: Id) -> Id {
        self.g.view(src)
    }

    /// Whether the model has a tensor for layer 0 (or the first layer that has it).
    pub fn has_tensor(&self, suffix: &str) -> bool {
        self.model
            .tensors
            .iter()
            .any(|t| t.name.starts_with("blk.") && t.name.ends_with(suffix))
    }

    pub fn build(mut self) -> Graph {
        let place = self.place;
        let (e, v) = (self.facts.n_embd, self.facts.n_vocab);
        let t = self.shape.n_tokens;
        let n_out = self.shape.n_outputs;
        let fa = self.ctx.flash_attn;
        // Inputs live on the CPU backend (ggml-backend's scheduler pins graph inputs there).
        self.dev = None;
        let tokens = self.g.input(4 * t, None);
        // [embd input, mixed tokens, mixed slots, mixed embd input] (`ContextParams::embd_select`).
        let select = self.ctx.embd_select.then(|| {
            [
                self.g.input(e * t * F32, None),
                self.g.input(4 * t, None),
                self.g.input(8 * t, None),
                self.g.input(e * t * F32, None),
            ]
        });
        self.pos = self.g.input(4 * t, None);
        let mask_elt = if fa && !self.ctx.fa_mask_cast { 2 } else { 4 };
        let v_max = self
            .facts
            .layers
            .iter()
            .filter(|l| l.has_kv)
            .map(|l| l.n_embd_v_gqa)
            .max()
            .unwrap_or(0);
        let v_idx_rows = if fa || self.is_mla() { 1 } else { v_max };
        let any_swa = self.facts.layers.iter().any(|l| l.has_kv && l.is_swa);
        let any_full = self.facts.layers.iter().any(|l| l.has_kv && !l.is_swa);
        let cache = |b: &mut Builder, n_kv: u64| Cache {
            n_kv,
            mask: b.g.input(n_kv * t * mask_elt, None),
            mask_f16: None,
            k_idxs: b.g.input(8 * t, None),
            v_idxs: b.g.input(8 * t * v_idx_rows, None),
        };
        if any_full {
            let cells = self.ctx.n_ctx_seq;
            self.full = Some(cache(&mut self, cells));
        }
        if any_swa {
            let cells = swa_cells(self.facts, self.ctx);
            self.swa = Some(cache(&mut self, cells));
        }
        let out_ids = self.g.input(4 * n_out, None);
        // build_inp_embd: ggml_build_forward_select expands the token rows, the embd input and
        // the mixed path (set_rows into a dup; a view nobody consumes keeps both alive for the
        // whole graph), then the result is expanded once more.
        let tok_embd = self.w("token_embd.weight");
        let embd = self.get_rows(e * t * F32, tok_embd, tokens);
        self.g.expand(embd);
        if let Some([embd_in, mixed_tok, mixed_slots, mixed_embd]) = select {
            self.g.expand(embd_in);
            let n1 = self.get_rows(e * t * F32, tok_embd, mixed_tok);
            let n2 = self.op(e * t * F32, &[mixed_embd]);
            self.g.view_with(n2, &[n1, mixed_slots, n2]);
        }
        let mut cur = embd;
        if self.fam == Family::Gemma3 {
            // Token rows scaled by sqrt(n_embd) through an input column (`inp_scale_rows`).
            let scale_rows = self.g.input(4 * t, None);
            cur = self.ip(e * t * F32, &[cur, scale_rows]);
        }
        self.g.expand(cur);
        if self.facts.layers.iter().any(|l| l.is_recurrent) {
            self.s_copy = Some(self.g.input(4 * self.shape.n_seqs, None));
        }
        let layers: Vec<LayerFacts> = self
            .facts
            .layers
            .iter()
            .filter(|l| !l.is_nextn)
            .cloned()
            .collect();
        let n_layer = layers.len();
        let gather_after = self.fam.gathers_after_layers();
        self.t = t;
        for (il, layer) in layers.iter().enumerate() {
            self.dev = place.layers.get(il).copied().flatten();
            self.il = Some(il);
            let last = il + 1 == n_layer;
            cur = self.layer(layer, cur, (last && !gather_after).then_some(out_ids));
        }
        self.dev = place.output;
        self.il = None;
        let gather = gather_after || n_layer == 0;
        // Qwen3-Next normalises first (the MTP head reads the normed rows of every token).
        let norm_first = gather && self.fam == Family::Qwen3Next;
        if gather && !norm_first {
            cur = self.op(e * n_out * F32, &[cur, out_ids]);
            self.t = n_out;
        }
        let et = e * self.t * F32;
        let x = self.ip(et, &[cur]);
        let mut x = self.ip(et, &[x, EXTERNAL]);
        if norm_first {
            x = self.op(e * n_out * F32, &[x, out_ids]);
            self.t = n_out;
        }
        let out_w = if self.has_named("output.weight") {
            self.w("output.weight")
        } else if self.dev.is_some() {
            // Tied embeddings: llama.cpp loads a copy of token_embd with the output layer.
            self.implicit_weight()
        } else {
            tok_embd
        };
        let logits = self.op(v * self.t * F32, &[out_w, x]);
        self.g.mark_output(logits);
        self.g
    }

    fn has_named(&self, name: &str) -> bool {
        self.place.weights.is_some_and(|m| m.contains_key(name))
    }

    pub fn is_mla(&self) -> bool {
        matches!(self.facts.attention, crate::gguf::AttentionKind::Mla { .. })
    }

    /// One transformer block; `gather` = the last layer's `out_ids` (keep only output rows).
    fn layer(&mut self, l: &LayerFacts, inp: Id, gather: Option<Id>) -> Id {
        let e = self.facts.n_embd;
        let et = e * self.t * F32;
        let mut inp_sa = inp;
        let x = self.ip(et, &[inp]);
        self.pin(x);
        let x = self.ip(et, &[x, EXTERNAL]);
        let mut x = if l.is_recurrent {
            match self.fam {
                Family::Qwen3Next => self.deltanet(x),
                _ => self.shortconv(x),
            }
        } else if self.is_mla() {
            self.mla(l, x)
        } else {
            self.attention(l, x)
        };
        let n = self.shape.n_outputs;
        // Gemma 3 gathers the output rows before its post-attention norm.
        let gemma = self.fam == Family::Gemma3;
        if let Some(ids) = gather.filter(|_| gemma) {
            x = self.op(e * n * F32, &[x, ids]);
            self.t = n;
        }
        if gemma {
            let et = e * self.t * F32;
            x = self.ip(et, &[x]);
            x = self.ip(et, &[x, EXTERNAL]);
        }
        if let Some(ids) = gather {
            if !gemma {
                x = self.op(e * n * F32, &[x, ids]);
            }
            inp_sa = self.op(e * n * F32, &[inp_sa, ids]);
            self.t = n;
        }
        let et = e * self.t * F32;
        let ffn_inp = self.ip(et, &[x, inp_sa]);
        let x = self.ip(et, &[ffn_inp]);
        // The pre-FFN norm's weight is named (`ffn_norm`, or `post_attention_norm` where that is
        // the pre-FFN norm): `-ot blk\.N\.ffn.*=CPU` puts it on the host, and the norm's mul then
        // runs where llama.cpp runs it (op offload to the first GPU at large batches).
        let norm = if self.has_tensor(".ffn_norm.weight") {
            self.w(".ffn_norm.weight")
        } else {
            self.w(".post_attention_norm.weight")
        };
        let x = self.ip(et, &[x, norm]);
        let mut x = if l.is_moe {
            self.moe(x)
        } else {
            self.dense_ffn(l.n_ff, x, "")
        };
        if self.fam == Family::Gemma3 {
            x = self.ip(et, &[x]);
            x = self.ip(et, &[x, EXTERNAL]);
        }
        self.ip(et, &[x, ffn_inp])
    }
}
