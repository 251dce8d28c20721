//! Attention and feed-forward blocks (`build_attn_mha`, `build_ffn`, `build_moe_ffn` in
//! src/llama-graph.cpp, and the per-arch builders in src/models/).

use super::alloc::{EXTERNAL, Id};
use super::family::Family;
use super::graph::{Builder, Cache, F32};
use crate::gguf::LayerFacts;

impl Builder<'_> {
    fn cache_of(&self, l: &LayerFacts) -> Option<Cache> {
        if l.is_swa { self.swa } else { self.full }
    }

    /// Q/K/V projections, norms, rope, the cache writes and `build_attn_mha`, then `wo`.
    /// `build_attn` expands Q's whole chain first, then V and K (K and V with an SWA cache),
    /// so each chain runs to its end before the next projection.
    pub(super) fn attention(&mut self, l: &LayerFacts, x: Id) -> Id {
        let t = self.t;
        let (dk, dv) = (u64::from(l.n_embd_head_k), u64::from(l.n_embd_head_v));
        let (h, hkv) = (u64::from(l.n_head), u64::from(l.n_head_kv));
        let bias = self.has_tensor(".attn_q.bias");
        let qk_norm = self.has_tensor(".attn_q_norm.weight");
        // Qwen3-Next projects Q together with its output gate.
        let gated = self.fam == Family::Qwen3Next;
        let qs = dk * h * t * F32;
        let wq = self.w(".attn_q.weight");
        let q_full = self.op(if gated { 2 * qs } else { qs }, &[wq, x]);
        let mut q = q_full;
        if bias {
            q = self.ip(qs, &[q, EXTERNAL]);
        }
        // The reshape (or the query half of Q+gate) is a view: the next op cannot run in place.
        q = self.view(q);
        if qk_norm {
            q = self.ip(qs, &[q]);
            q = self.ip(qs, &[q, EXTERNAL]);
        }
        q = self.ip(qs, &[q, self.pos]);
        if self.fam == Family::Gemma3 {
            q = self.ip(qs, &[q]);
        }
        let (k, v) = if self.swa.is_some() {
            let k = self.key(x, dk * hkv * t * F32, bias, qk_norm);
            (k, self.value(x, dv * hkv * t * F32, bias))
        } else {
            let v = self.value(x, dv * hkv * t * F32, bias);
            (self.key(x, dk * hkv * t * F32, bias, qk_norm), v)
        };
        let Some(c) = self.cache_of(l) else {
            return self.op(self.facts.n_embd * t * F32, &[EXTERNAL, q, k, v]);
        };
        // set_rows into the cache: views of the (external) cache that read the new rows. The
        // attention reads other views of the cache, so the writes are roots of their own.
        let kv = self.view(k);
        let k_cache = self.cache();
        self.g.view_with(k_cache, &[kv, c.k_idxs]);
        let vv = self.view(v);
        let v_cache = self.cache();
        self.g.view_with(v_cache, &[vv, c.v_idxs]);
        let qp = self.view(q);
        let mut o = self.attn_core(qp, c, dv, h, None);
        if gated {
            // The gate (a view of Q+gate, alive until here) is made contiguous after attention.
            let gv = self.view(q_full);
            let g = self.op(qs, &[gv]);
            let g = self.ip(qs, &[g]);
            o = self.ip(dv * h * t * F32, &[o, g]);
        }
        let wo = self.w(".attn_output.weight");
        let mut out = self.op(self.facts.n_embd * t * F32, &[wo, o]);
        if self.fam == Family::GptOss {
            out = self.ip(self.facts.n_embd * t * F32, &[out, EXTERNAL]);
        }
        out
    }

    fn key(&mut self, x: Id, ks: u64, bias: bool, qk_norm: bool) -> Id {
        let wk = self.w(".attn_k.weight");
        let mut k = self.op(ks, &[wk, x]);
        if bias {
            k = self.ip(ks, &[k, EXTERNAL]);
        }
        k = self.view(k);
        if qk_norm {
            k = self.ip(ks, &[k]);
            k = self.ip(ks, &[k, EXTERNAL]);
        }
        self.ip(ks, &[k, self.pos])
    }

    fn value(&mut self, x: Id, vs: u64, bias: bool) -> Id {
        let wv = self.w(".attn_v.weight");
        let mut v = self.op(vs, &[wv, x]);
        if bias {
            v = self.ip(vs, &[v, EXTERNAL]);
        }
        self.view(v)
    }

    /// `build_attn_mha`: flash attention writes `[dv, H, T]`; otherwise `kq = [n_kv, T, H]`
    /// (the dominant term at long context), soft_max in place, `kqv`, and a `cont`. With MLA
    /// (`v_mla` = the decompressed head size) V is a plain view of the K cache: without flash
    /// attention it is first made contiguous (`v_cont`, `rank × n_kv` per stream, computed before
    /// `kq`), and `wv_b` decompresses the result per head.
    fn attn_core(&mut self, q: Id, c: Cache, dv: u64, h: u64, v_mla: Option<u64>) -> Id {
        let t = self.t;
        let cache = self.cache();
        if self.ctx.flash_attn {
            let mask = self.fa_mask(c);
            let o = self.op(dv * h * t * F32, &[q, cache, cache, mask]);
            let Some(dm) = v_mla else {
                return self.view(o);
            };
            let o = self.view(o);
            let wv_b = self.w(".attn_v_b.weight");
            let o = self.op(dm * h * t * F32, &[wv_b, o]);
            let o = self.view(o);
            let o = self.op(dm * h * t * F32, &[o]);
            return self.view(o);
        }
        let v = match v_mla {
            Some(_) => {
                // A copy in the cache's own type (F16 unless `-ctk` says otherwise).
                let n = dv * c.n_kv * self.ctx.n_stream.max(1);
                let bytes = crate::gguf::GgmlType::from_name(&self.ctx.type_k)
                    .filter(|ty| !ty.is_quantized)
                    .map_or(2 * n, |ty| ty.type_size * n);
                self.op(bytes, &[cache])
            }
            None => cache,
        };
        let kq = self.op(c.n_kv * t * h * F32, &[cache, q]);
        let kq = self.ip(c.n_kv * t * h * F32, &[kq, c.mask]);
        let mut kqv = self.op(dv * t * h * F32, &[v, kq]);
        let mut width = dv;
        if let Some(dm) = v_mla {
            let wv_b = self.w(".attn_v_b.weight");
            kqv = self.op(dm * t * h * F32, &[wv_b, kqv]);
            width = dm;
        }
        let kv = self.view(kqv);
        self.op(width * h * t * F32, &[kv])
    }

    /// DeepSeek2 multi-head latent attention with the absorbed K (`src/models/deepseek2.cpp`):
    /// the cache holds `kv_lora_rank + rope` per token, one KV head. Q's chain, then V (the
    /// normed latent) and K (latent + roped `k_pe`), as `build_attn` expands them.
    pub(super) fn mla(&mut self, l: &LayerFacts, x: Id) -> Id {
        let t = self.t;
        let (rank, rope) = match self.facts.attention {
            crate::gguf::AttentionKind::Mla {
                kv_lora_rank,
                rope_dim,
            } => (kv_lora_rank, rope_dim),
            _ => (0, 0),
        };
        let h = u64::from(l.n_head);
        // Q is `n_head × n_embd_head_k_mla` (nope + rope), not the cache's `key_length`
        // (rank + rope): src/models/deepseek2.cpp creates `wq_b` as `{q_lora_rank, n_head *
        // n_embd_head_k_mla}`.
        let meta = |key: &str| {
            self.model
                .metadata
                .u64(&format!("{}.attention.{key}", self.facts.arch))
        };
        let dk = meta("key_length_mla").unwrap_or(u64::from(l.n_embd_head_k));
        let dv = meta("value_length_mla").unwrap_or(u64::from(l.n_embd_head_v));
        let q = if self.has_tensor(".attn_q_a.weight") {
            let r = self
                .model
                .metadata
                .u64(&format!("{}.attention.q_lora_rank", self.facts.arch))
                .unwrap_or(rank);
            let wqa = self.w(".attn_q_a.weight");
            let qa = self.op(r * t * F32, &[wqa, x]);
            let qa = self.ip(r * t * F32, &[qa]);
            let qa = self.ip(r * t * F32, &[qa, EXTERNAL]);
            let wqb = self.w(".attn_q_b.weight");
            self.op(dk * h * t * F32, &[wqb, qa])
        } else {
            let wq = self.w(".attn_q.weight");
            self.op(dk * h * t * F32, &[wq, x])
        };
        let q = self.view(q);
        let q_nope = self.view(q);
        let wk_b = self.w(".attn_k_b.weight");
        let absorbed = self.op(rank * h * t * F32, &[wk_b, q_nope]);
        let absorbed = self.view(absorbed);
        let q_pe = self.view(q);
        let q_pe = self.ip(rope * h * t * F32, &[q_pe, self.pos]);
        let q = self.op((rank + rope) * h * t * F32, &[absorbed, q_pe]);
        let wkv = self.w(".attn_kv_a_mqa.weight");
        let kv_pe = self.op((rank + rope) * t * F32, &[wkv, x]);
        let kv_c = self.view(kv_pe);
        let kv_c = self.ip(rank * t * F32, &[kv_c]);
        let kv_c = self.ip(rank * t * F32, &[kv_c, EXTERNAL]);
        let v = self.view(kv_c);
        let k_pe = self.view(kv_pe);
        let k_pe = self.ip(rope * t * F32, &[k_pe, self.pos]);
        let k = self.op((rank + rope) * t * F32, &[v, k_pe]);
        let Some(c) = self.full else {
            return self.op(self.facts.n_embd * t * F32, &[EXTERNAL, q, k, v]);
        };
        let kv = self.view(k);
        let k_cache = self.cache();
        self.g.view_with(k_cache, &[kv, c.k_idxs]);
        let qp = self.view(q);
        let o = self.attn_core(qp, c, rank, h, Some(dv));
        let wo = self.w(".attn_output.weight");
        self.op(self.facts.n_embd * t * F32, &[wo, o])
    }

    /// `build_ffn` with gate, up and down; `which` = "" or "_shexp" (the shared expert).
    pub(super) fn dense_ffn(&mut self, n_ff: u64, x: Id, which: &str) -> Id {
        let t = self.t;
        let wg = self.w(&format!(".ffn_gate{which}.weight"));
        let mut gate = self.op(n_ff * t * F32, &[wg, x]);
        if !self.ctx.fused_glu {
            // `ggml_mul(ggml_silu(gate), up)`: silu in place, then up, then the product in
            // the gate's block (`ContextParams::fused_glu`).
            gate = self.ip(n_ff * t * F32, &[gate]);
        }
        let wu = self.w(&format!(".ffn_up{which}.weight"));
        let up = self.op(n_ff * t * F32, &[wu, x]);
        let act = if self.ctx.fused_glu {
            self.op(n_ff * t * F32, &[gate, up])
        } else {
            self.ip(n_ff * t * F32, &[gate, up])
        };
        let wd = self.w(&format!(".ffn_down{which}.weight"));
        self.op(self.facts.n_embd * t * F32, &[wd, act])
    }

    /// `build_moe_ffn`: router, top-k, per-expert up/gate/down over `n_used` copies of each
    /// token, weighting, and the sum over experts; then the shared expert(s).
    pub(super) fn moe(&mut self, x: Id) -> Id {
        let t = self.t;
        let e = self.facts.n_embd;
        let Some(ex) = self.facts.experts.clone() else {
            return self.dense_ffn(0, x, "");
        };
        let (ne, nu, nf) = (u64::from(ex.count), u64::from(ex.used.max(1)), ex.n_ff_exp);
        let biased = self.has_tensor(".ffn_gate_exps.bias");
        // The router and its bias are named: `-ot blk\.N\.ffn.*=CPU` moves them with the experts,
        // and then the router matmul is op-offloaded like them.
        let router = self.w(".ffn_gate_inp.weight");
        let mut logits = self.op(ne * t * F32, &[router, x]);
        if self.has_tensor(".ffn_gate_inp.bias") {
            let b = self.w(".ffn_gate_inp.bias");
            logits = self.ip(ne * t * F32, &[logits, b]);
        }
        // gpt-oss takes the soft_max after the top-k (SOFTMAX_WEIGHT): probs are the logits.
        let probs = if self.fam == Family::GptOss {
            logits
        } else {
            self.ip(ne * t * F32, &[logits])
        };
        let mut sel_src = probs;
        if self.has_tensor(".exp_probs_b.bias") {
            let b = self.w(".exp_probs_b.bias");
            sel_src = self.ip(ne * t * F32, &[probs, b]);
        }
        let sorted = self.op(ne * t * 4, &[sel_src]);
        let topk = self.view(sorted);
        let pv = self.view(probs);
        // The weights pass through reshapes (views) between ops, so none of them runs in place.
        let mut w = self.op(nu * t * F32, &[pv, topk]);
        if self.fam == Family::GptOss {
            let wr = self.view(w);
            w = self.ip(nu * t * F32, &[wr]);
            w = self.view(w);
        }
        if self.fam.normalises_expert_weights() {
            let wr = self.view(w);
            let sum = self.op(t * F32, &[wr]);
            let sum = self.ip(t * F32, &[sum]);
            w = self.ip(nu * t * F32, &[wr, sum]);
            w = self.view(w);
        }
        let w_scale = self
            .model
            .metadata
            .f64(&format!("{}.expert_weights_scale", self.facts.arch))
            .unwrap_or(0.0);
        if w_scale != 0.0 && w_scale != 1.0 {
            w = self.ip(nu * t * F32, &[w]);
        }
        self.g.expand(w);
        let xr = self.view(x);
        let big = nf * nu * t * F32;
        let act = if self.ctx.fused_glu {
            // The activation reads gate then up, so llama.cpp's graph computes the gate first.
            let wg = self.w(".ffn_gate_exps.weight");
            let mut gate = self.op(big, &[wg, xr, topk]);
            if biased {
                let b = self.w(".ffn_gate_exps.bias");
                gate = self.ip(big, &[gate, b, topk]);
            }
            let wu = self.w(".ffn_up_exps.weight");
            let mut up = self.op(big, &[wu, xr, topk]);
            if biased {
                let b = self.w(".ffn_up_exps.bias");
                up = self.ip(big, &[up, b, topk]);
            }
            self.op(big, &[gate, up])
        } else {
            // Older builds: `ggml_mul(up, ggml_silu(gate))` visits up first; silu runs in place
            // and the product takes up's block (`ContextParams::fused_glu`).
            let wu = self.w(".ffn_up_exps.weight");
            let up = self.op(big, &[wu, xr, topk]);
            let wg = self.w(".ffn_gate_exps.weight");
            let gate = self.op(big, &[wg, xr, topk]);
            let gate = self.ip(big, &[gate]);
            self.ip(big, &[up, gate])
        };
        let wd = self.w(".ffn_down_exps.weight");
        let mut down = self.op(e * nu * t * F32, &[wd, act, topk]);
        if biased {
            let b = self.w(".ffn_down_exps.bias");
            down = self.ip(e * nu * t * F32, &[down, b, topk]);
        }
        let down = self.ip(e * nu * t * F32, &[down, w]);
        self.g.expand(down);
        let views: Vec<Id> = (0..nu)
            .map(|_| {
                let v = self.view(down);
                self.g.expand(v);
                v
            })
            .collect();
        let mut acc = views.first().copied().unwrap_or(down);
        for &v in views.iter().skip(1) {
            acc = self.ip(e * t * F32, &[acc, v]);
        }
        let n_sh = if ex.n_ff_shexp > 0 {
            ex.n_ff_shexp
        } else {
            ex.n_ff_exp * u64::from(ex.shared_count)
        };
        if ex.shared_count == 0 && ex.n_ff_shexp == 0 {
            return acc;
        }
        let mut sh = self.dense_ffn(n_sh, x, "_shexp");
        if self.has_tensor(".ffn_gate_inp_shexp.weight") {
            // Qwen2-MoE writes its sigmoid as silu(x) / x: both ops read the projection.
            let wgi = self.w(".ffn_gate_inp_shexp.weight");
            let gi = self.op(t * F32, &[wgi, x]);
            let u = self.ip(t * F32, &[gi]);
            let gate = if self.fam == Family::Qwen2Moe {
                self.ip(t * F32, &[u, gi])
            } else {
                u
            };
            sh = self.ip(e * t * F32, &[sh, gate]);
        }
        self.ip(e * t * F32, &[acc, sh])
    }
}
