//! Recurrent blocks of hybrid models: LFM2's short convolution (`src/models/lfm2.cpp`) and the
//! gated DeltaNet of Qwen3-Next / Qwen3.5 (`src/models/qwen3next.cpp`, `delta-net-base.cpp`).

use super::alloc::{EXTERNAL, Id};
use super::graph::{Builder, F32};

impl Builder<'_> {
    fn meta(&self, key: &str) -> u64 {
        self.model
            .metadata
            .u64(&format!("{}.{key}", self.facts.arch))
            .unwrap_or(0)
    }

    /// `build_shortconv_block`: in_proj to B, C, x; `B*x`, concat with the conv state, the
    /// depthwise conv, `C*y`, out_proj.
    pub(super) fn shortconv(&mut self, x: Id) -> Id {
        let t = self.t;
        let e = self.facts.n_embd;
        let ns = self.shape.n_seqs.max(1);
        let l_state = self.facts.recurrent.as_ref().map_or(0, |r| r.n_embd_r) / e.max(1);
        let bcx = self.op(3 * e * t * F32, &[EXTERNAL, x]);
        let bcx_v = self.view(bcx);
        let bcx_t = self.op(3 * e * t * F32, &[bcx_v]);
        let (b, c, xx) = (self.view(bcx_t), self.view(bcx_t), self.view(bcx_t));
        let bx = self.op(e * t * F32, &[b, xx]);
        let s_copy = self.s_copy.unwrap_or(EXTERNAL);
        let conv = self.op(e * l_state * ns * F32, &[EXTERNAL, s_copy]);
        let conv_v = self.view(conv);
        let cat = self.op(e * (l_state + t / ns) * ns * F32, &[conv_v, bx]);
        let cat_v = self.view(cat);
        self.g.view_with(EXTERNAL, &[cat_v]);
        let y = self.op(e * t * F32, &[cat, EXTERNAL]);
        let y = self.op(e * t * F32, &[c, y]);
        let y = self.op(e * t * F32, &[y]);
        self.op(e * t * F32, &[EXTERNAL, y])
    }

    /// Gated DeltaNet layer with the fused `ggml_gated_delta_net` op (what the CPU backend runs):
    /// qkv and z projections, beta/alpha gates, the causal conv over `[state | new]`, L2 norms,
    /// head repeat, the fused recurrence (output + new state in one tensor), gated norm, out.
    pub(super) fn deltanet(&mut self, x: Id) -> Id {
        let t = self.t;
        let e = self.facts.n_embd;
        let ns = self.shape.n_seqs.max(1);
        let d_conv = self.meta("ssm.conv_kernel").max(1);
        let d_inner = self.meta("ssm.inner_size");
        let d_state = self.meta("ssm.state_size");
        let n_group = self.meta("ssm.group_count").max(1);
        let h_v = self.meta("ssm.time_step_rank").max(1);
        let key_dim = d_state * n_group;
        let head_v = d_inner / h_v;
        let ch = 2 * key_dim + d_inner;
        let qkv = self.op(ch * t * F32, &[EXTERNAL, x]);
        let z = self.op(d_inner * t * F32, &[EXTERNAL, x]);
        let ba = self.op(2 * h_v * t * F32, &[EXTERNAL, x]);
        let bv = self.view(ba);
        let b = self.op(h_v * t * F32, &[bv]);
        let beta = self.ip(h_v * t * F32, &[b]);
        let av = self.view(ba);
        let a = self.op(h_v * t * F32, &[av]);
        let a = self.ip(h_v * t * F32, &[a, EXTERNAL]);
        let a = self.ip(h_v * t * F32, &[a]);
        let gate = self.ip(h_v * t * F32, &[a, EXTERNAL]);
        let s_copy = self.s_copy.unwrap_or(EXTERNAL);
        let conv_state = self.op((d_conv - 1) * ch * ns * F32, &[EXTERNAL, s_copy]);
        let qkv_t = self.view(qkv);
        let conv_in = self.op((d_conv - 1 + t / ns) * ch * ns * F32, &[conv_state, qkv_t]);
        let cv = self.view(conv_in);
        self.g.view_with(EXTERNAL, &[cv]);
        let state = self.op(head_v * head_v * h_v * ns * F32, &[EXTERNAL, s_copy]);
        let conv = self.op(ch * t * F32, &[conv_in, EXTERNAL]);
        let conv = self.ip(ch * t * F32, &[conv]);
        let (qv, kv, vv) = (self.view(conv), self.view(conv), self.view(conv));
        let mut q = self.op(key_dim * t * F32, &[qv]);
        let mut k = self.op(key_dim * t * F32, &[kv]);
        if h_v != n_group {
            q = self.op(d_state * h_v * t * F32, &[q]);
            k = self.op(d_state * h_v * t * F32, &[k]);
        }
        let out = self.op(
            (head_v * h_v * t + head_v * head_v * h_v * ns) * F32,
            &[q, k, vv, gate, beta, state],
        );
        let ov = self.view(out);
        self.g.view_with(EXTERNAL, &[ov]);
        let o = self.view(out);
        let n = self.op(d_inner * t * F32, &[o]);
        let n = self.ip(d_inner * t * F32, &[n, EXTERNAL]);
        let zs = self.ip(d_inner * t * F32, &[z]);
        let y = self.ip(d_inner * t * F32, &[n, zs]);
        self.op(e * t * F32, &[EXTERNAL, y])
    }
}
