//! Rules for the lines that describe what was allocated: weights, context parameters, KV cache,
//! recurrent state, compute and output buffers, graph, offload. Each rule takes the text after
//! the log prefix and returns whether it used the line. Old and new function names are both
//! accepted (`llm_load_tensors`/`load_tensors`, `llama_new_context_with_model`/`llama_context`).

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::parser::State;
use super::report::{Buffer, Graph, KvCache, KvKind, Offload, RecurrentState};

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pat).expect("pattern is a valid regex"));
    };
}

re!(
    MODEL_BUFFER,
    r"(?:^|\s)(?:llm_)?load_tensors:\s+(\S+) (?:model )?buffer size =\s*([\d.]+) MiB"
);
re!(
    LOAD_MODE,
    r"loading model tensors, this can take a while\.\.\. \((.+)\)$"
);
re!(OFFLOADED, r"offloaded (\d+)/(\d+) layers to GPU");
re!(
    OFFLOADING_REPEATING,
    r"offloading (\d+) repeating layers to GPU"
);
re!(
    OFFLOADING_OUTPUT,
    r"offloading (?:output|non-repeating) layers? to GPU"
);
re!(
    CTX_PARAM,
    r"(?:llama_context|llama_new_context_with_model|llama_init_from_model):\s+(n_ctx|n_ctx_seq|n_ctx_per_seq|n_batch|n_ubatch|n_seq_max|n_outputs_max|flash_attn|kv_unified)\s*=\s*(\S+)"
);
re!(
    CTX_TRAIN_CMP,
    r"n_ctx_(?:seq|per_seq) \((\d+)\) [<>] n_ctx_train \((\d+)\)"
);
re!(
    CTX_TRAIN_META,
    r"(?:print_info|llm_load_print_meta): n_ctx_train\s*=\s*(\d+)"
);
re!(
    FA_RESOLVED,
    r"Flash Attention (enabled|was auto, set to (?:enabled|disabled)|.*set to disabled)"
);
re!(
    OUTPUT_BUFFER,
    r"(\S+)\s+output buffer size =\s*([\d.]+) MiB"
);
re!(KV_BUFFER, r"(\S+) KV buffer size =\s*([\d.]+) MiB");
re!(KV_CREATE, r"creating\s+(non-SWA|SWA) KV cache");
re!(
    KV_SIZE,
    r"size =\s*([\d.]+) MiB \(\s*(\d+) cells,\s*(\d+) layers,\s*(\d+)(?:/(\d+))? seqs\), K \(([\w]+)\):\s*([\d.]+) MiB(?:, V \(([\w]+)\):\s*([\d.]+) MiB)?"
);
re!(
    KV_SELF_OLD,
    r"KV self size\s*=\s*([\d.]+) MiB, K \(([\w]+)\):\s*([\d.]+) MiB, V \(([\w]+)\):\s*([\d.]+) MiB"
);
re!(RS_BUFFER, r"(\S+) RS buffer size =\s*([\d.]+) MiB");
re!(
    RS_SIZE,
    r"size =\s*([\d.]+) MiB \(\s*(\d+) cells,\s*(\d+) layers,\s*(\d+) seqs(?:\s+(\d+) rs_seq)?\), R \((\w+)\):\s*([\d.]+) MiB, S \((\w+)\):\s*([\d.]+) MiB(?:, P \(\w+\):\s*([\d.]+) MiB)?"
);
re!(
    COMPUTE_BUFFER,
    r"(\S+) compute buffer size =\s*([\d.]+) MiB"
);
re!(
    GRAPH_NEW,
    r"graph(?: \(pp bs=(\d+), tg bs=(\d+)\))?: nodes = (\d+)(?: / (\d+))?, splits = (\d+)(?: / (\d+))?"
);
re!(GRAPH_NODES_OLD, r"graph nodes\s*=\s*(\d+)");
re!(
    GRAPH_SPLITS_OLD,
    r"graph splits\s*=\s*(\d+)(?: \(with bs=(\d+)\),\s*(\d+) \(with bs=1\))?"
);

fn num<T: std::str::FromStr>(c: &Captures, i: usize) -> Option<T> {
    c.get(i).and_then(|m| m.as_str().parse().ok())
}

fn text(c: &Captures, i: usize) -> Option<String> {
    c.get(i).map(|m| m.as_str().to_string())
}

fn buffer(c: &Captures) -> Option<Buffer> {
    Some(Buffer {
        name: text(c, 1)?,
        mib: num(c, 2)?,
    })
}

pub(super) fn apply(st: &mut State, body: &str) -> bool {
    weights(st, body) || context(st, body) || kv(st, body) || compute(st, body)
}

fn weights(st: &mut State, body: &str) -> bool {
    if let Some(c) = MODEL_BUFFER.captures(body) {
        if let Some(b) = buffer(&c) {
            st.report.model_buffers.push(b);
            st.report.memory_lines = true;
        }
        return true;
    }
    if let Some(c) = LOAD_MODE.captures(body) {
        st.report.load_mode = text(&c, 1);
        return true;
    }
    if let Some(c) = OFFLOADED.captures(body) {
        let off = st.offload();
        off.offloaded = num(&c, 1).unwrap_or(0);
        off.total = num(&c, 2).unwrap_or(0);
        return true;
    }
    if let Some(c) = OFFLOADING_REPEATING.captures(body) {
        st.offload().repeating = num(&c, 1);
        return true;
    }
    if OFFLOADING_OUTPUT.is_match(body) {
        st.offload().output_layer = true;
        return true;
    }
    false
}

fn context(st: &mut State, body: &str) -> bool {
    if let Some(c) = CTX_PARAM.captures(body) {
        let value = c.get(2).map_or("", |m| m.as_str());
        let ctx = &mut st.report.context;
        match c.get(1).map_or("", |m| m.as_str()) {
            "n_ctx" => ctx.n_ctx = value.parse().ok(),
            "n_ctx_seq" | "n_ctx_per_seq" => ctx.n_ctx_seq = value.parse().ok(),
            "n_batch" => ctx.n_batch = value.parse().ok(),
            "n_ubatch" => ctx.n_ubatch = value.parse().ok(),
            "n_seq_max" => ctx.n_seq_max = value.parse().ok(),
            "n_outputs_max" => ctx.n_outputs_max = value.parse().ok(),
            "flash_attn" => {
                ctx.flash_attn = Some(value.to_string());
                ctx.flash_attn_effective = match value {
                    "enabled" | "1" | "true" | "on" => Some(true),
                    "disabled" | "0" | "false" | "off" => Some(false),
                    _ => None,
                };
            }
            "kv_unified" => {
                ctx.kv_unified = match value {
                    "true" | "1" => Some(true),
                    "false" | "0" => Some(false),
                    _ => None,
                }
            }
            _ => {}
        }
        return true;
    }
    if let Some(c) = CTX_TRAIN_CMP.captures(body) {
        st.report.context.n_ctx_train = num(&c, 2);
        return true;
    }
    if let Some(c) = CTX_TRAIN_META.captures(body) {
        st.report.context.n_ctx_train = num(&c, 1);
        return true;
    }
    if let Some(c) = FA_RESOLVED.captures(body) {
        let how = c.get(1).map_or("", |m| m.as_str());
        st.report.context.flash_attn_effective = Some(!how.ends_with("disabled"));
        return true;
    }
    if let Some(c) = OUTPUT_BUFFER.captures(body) {
        if let Some(b) = buffer(&c) {
            st.report.output_buffers.push(b);
            st.report.memory_lines = true;
        }
        return true;
    }
    false
}

fn kv(st: &mut State, body: &str) -> bool {
    if let Some(c) = KV_BUFFER.captures(body) {
        if let Some(b) = buffer(&c) {
            st.report.kv_buffers.push(b);
            st.report.memory_lines = true;
        }
        return true;
    }
    if let Some(c) = KV_CREATE.captures(body) {
        st.kv_kind = Some(match c.get(1).map_or("", |m| m.as_str()) {
            "SWA" => KvKind::Swa,
            _ => KvKind::NonSwa,
        });
        return true;
    }
    if let Some(c) = KV_SIZE.captures(body) {
        if let (Some(size_mib), Some(k_type), Some(k_mib)) = (num(&c, 1), text(&c, 6), num(&c, 7)) {
            let (seqs, streams) = match c.get(5) {
                Some(_) => (num(&c, 4), num(&c, 5)),
                None => (num(&c, 4), None),
            };
            st.report.kv_caches.push(KvCache {
                kind: st.kv_kind.take().unwrap_or(KvKind::Full),
                size_mib,
                cells: num(&c, 2),
                layers: num(&c, 3),
                seqs,
                streams,
                k_type,
                k_mib,
                v_type: text(&c, 8),
                v_mib: num(&c, 9),
            });
        }
        return true;
    }
    if let Some(c) = KV_SELF_OLD.captures(body) {
        if let (Some(size_mib), Some(k_type), Some(k_mib)) = (num(&c, 1), text(&c, 2), num(&c, 3)) {
            st.report.kv_caches.push(KvCache {
                kind: KvKind::Full,
                size_mib,
                cells: None,
                layers: None,
                seqs: None,
                streams: None,
                k_type,
                k_mib,
                v_type: text(&c, 4),
                v_mib: num(&c, 5),
            });
        }
        return true;
    }
    if let Some(c) = RS_BUFFER.captures(body) {
        if let Some(b) = buffer(&c) {
            st.report.recurrent_buffers.push(b);
            st.report.memory_lines = true;
        }
        return true;
    }
    if let Some(c) = RS_SIZE.captures(body) {
        let rs = (|| {
            Some(RecurrentState {
                size_mib: num(&c, 1)?,
                cells: num(&c, 2)?,
                layers: num(&c, 3)?,
                seqs: num(&c, 4)?,
                rs_seq: num(&c, 5),
                r_type: text(&c, 6)?,
                r_mib: num(&c, 7)?,
                s_type: text(&c, 8)?,
                s_mib: num(&c, 9)?,
                p_mib: num(&c, 10),
            })
        })();
        if let Some(rs) = rs {
            st.report.recurrent.push(rs);
        }
        return true;
    }
    false
}

fn compute(st: &mut State, body: &str) -> bool {
    if let Some(c) = COMPUTE_BUFFER.captures(body) {
        if let Some(b) = buffer(&c) {
            st.report.compute_buffers.push(b);
            st.report.memory_lines = true;
        }
        return true;
    }
    if let Some(c) = GRAPH_NEW.captures(body) {
        let two = c.get(4).is_some();
        st.report.graph = Some(Graph {
            nodes: num(&c, 3),
            splits: num(&c, 5),
            nodes_tg: if two { num(&c, 4) } else { None },
            splits_tg: num(&c, 6),
            pp_batch: num(&c, 1),
            tg_batch: num(&c, 2),
        });
        return true;
    }
    if let Some(c) = GRAPH_NODES_OLD.captures(body) {
        st.report.graph.get_or_insert_with(Graph::default).nodes = num(&c, 1);
        return true;
    }
    if let Some(c) = GRAPH_SPLITS_OLD.captures(body) {
        let g = st.report.graph.get_or_insert_with(Graph::default);
        g.splits = num(&c, 1);
        g.pp_batch = num(&c, 2);
        g.splits_tg = num(&c, 3);
        return true;
    }
    false
}

impl State {
    fn offload(&mut self) -> &mut Offload {
        self.report.offload.get_or_insert(Offload {
            offloaded: 0,
            total: 0,
            repeating: None,
            output_layer: false,
        })
    }
}
