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
        let w_in = self.w(".shortconv.in_proj.weight");
        let bcx = self.op(3 * e * t * F32, &[w_in, x]);
        let bcx_v = self.view(bcx);
        let bcx_t = self.op(3 * e * t * F32, &[bcx_v]);
        let (b, c, xx) = (self.view(bcx_t), self.view(bcx_t), self.view(bcx_t));
        let bx = self.op(e * t * F32, &[b, xx]);
        let s_copy = self.s_copy.unwrap_or(EXTERNAL);
        let state = self.cache();
        let conv = self.op(e * l_state * ns * F32, &[state, s_copy]);
        let conv_v = self.view(conv);
        let cat = self.op(e * (l_state + t / ns) * ns * F32, &[conv_v, bx]);
        let cat_v = self.view(cat);
        let state = self.cache();
        self.g.view_with(state, &[cat_v]);
        let y = self.op(e * t * F32, &[cat, EXTERNAL]);
        let y = self.op(e * t * F32, &[c, y]);
        let y = self.op(e * t * F32, &[y]);
        let w_out = self.w(".shortconv.out_proj.weight");
        self.op(e * t * F32, &[w_out, y])
    }

    /// `build_rs`: gathers the `n_seqs` states of one recurrent cache (`size` bytes each); the
    /// result stays alive through its views until the last reader. The copy of the extra
    /// states back into the cache is a root of its own.
    fn gather_states(&mut self, size: u64) -> Id {
        let ns = self.shape.n_seqs.max(1);
        let s_copy = self.s_copy.unwrap_or(EXTERNAL);
        let state = self.cache();
        let all = self.op(size * ns, &[state, s_copy]);
        let out = self.view(all);
        let extra = self.view(all);
        let state = self.cache();
        self.g.view_with(state, &[extra]);
        out
    }

    /// Gated DeltaNet layer with the fused `ggml_gated_delta_net` op (what the CPU backend runs),
    /// in the order llama.cpp's expands produce (`build_layer_attn_linear`): conv state gather,
    /// qkv projection, `[state | new]` concat and its state write, SSM state gather, the causal
    /// conv, L2-normed (and head-repeated) Q and K, the beta/alpha gates, the fused recurrence
    /// (output + new state in one tensor) and its state write, then the gated norm with z and
    /// the output projection. Returns a reshape (a view) of the projection.
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
        let conv_states = self.gather_states((d_conv - 1) * ch * F32);
        let conv_states = self.view(conv_states);
        // Separate qkv and z projections (`attn_qkv` + `attn_gate`), or one fused `ssm_in` whose
        // q, k, v are made contiguous and concatenated while z waits for the gated norm.
        let (qkv, z_src) = if self.has_tensor(".attn_qkv.weight") {
            let w_qkv = self.w(".attn_qkv.weight");
            let qkv = self.op(ch * t * F32, &[w_qkv, x]);
            (self.view(qkv), None)
        } else {
            let w_in = self.w(".ssm_in.weight");
            let mixed = self.op((2 * key_dim + 2 * d_inner) * t * F32, &[w_in, x]);
            let mr = self.view(mixed);
            let (qv, kv, vv) = (self.view(mr), self.view(mr), self.view(mr));
            let q = self.op(key_dim * t * F32, &[qv]);
            let k = self.op(key_dim * t * F32, &[kv]);
            let qk = self.op(2 * key_dim * t * F32, &[q, k]);
            let v = self.op(d_inner * t * F32, &[vv]);
            (self.op(ch * t * F32, &[qk, v]), Some(mr))
        };
        let qkv_t = self.view(qkv);
        let conv_in = self.op((d_conv - 1 + t / ns) * ch * ns * F32, &[conv_states, qkv_t]);
        let last = self.view(conv_in);
        let conv_state = self.cache();
        self.g.view_with(conv_state, &[last]);
        let state = self.gather_states(head_v * head_v * h_v * F32);
        let state = self.view(state);
        let conv = self.op(ch * t * F32, &[conv_in, EXTERNAL]);
        let conv = self.ip(ch * t * F32, &[conv]);
        let mut qk = [EXTERNAL; 2];
        for slot in &mut qk {
            let v = self.view(conv);
            let n = self.ip(key_dim * t * F32, &[v]);
            let mut r = self.ip(key_dim * t * F32, &[n]);
            if h_v != n_group {
                let rv = self.view(r);
                let rep = self.op(d_state * h_v * t * F32, &[rv]);
                r = self.view(rep);
            }
            *slot = r;
        }
        let v = self.view(conv);
        let w_ba = self.w(".ssm_ba.weight");
        let ba = self.op(2 * h_v * t * F32, &[w_ba, x]);
        let bar = self.view(ba);
        let av = self.view(bar);
        let a = self.op(h_v * t * F32, &[av]);
        let a = self.ip(h_v * t * F32, &[a, EXTERNAL]);
        let a = self.ip(h_v * t * F32, &[a]);
        let gate = self.ip(h_v * t * F32, &[a, EXTERNAL]);
        let gate = self.view(gate);
        let bv = self.view(bar);
        let b = self.op(h_v * t * F32, &[bv]);
        let beta = self.ip(h_v * t * F32, &[b]);
        let beta = self.view(beta);
        let state = self.view(state);
        let out = self.op(
            (head_v * h_v * t + head_v * head_v * h_v * ns) * F32,
            &[qk[0], qk[1], v, gate, beta, state],
        );
        let new_state = self.view(out);
        let ssm_state = self.cache();
        self.g.view_with(ssm_state, &[new_state]);
        let o = self.view(out);
        let n = self.ip(d_inner * t * F32, &[o]);
        let n = self.ip(d_inner * t * F32, &[n, EXTERNAL]);
        let z = match z_src {
            None => {
                let w_gate = self.w(".attn_gate.weight");
                let z = self.op(d_inner * t * F32, &[w_gate, x]);
                self.view(z)
            }
            Some(mr) => {
                let zv = self.view(mr);
                let z = self.op(d_inner * t * F32, &[zv]);
                self.view(z)
            }
        };
        let zs = self.ip(d_inner * t * F32, &[z]);
        let y = self.ip(d_inner * t * F32, &[n, zs]);
        let y = self.view(y);
        let w_out = self.w(".ssm_out.weight");
        let out = self.op(e * t * F32, &[w_out, y]);
        self.view(out)
    }
}
