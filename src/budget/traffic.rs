//! What an RPC launch sends over the network each time it computes a batch
//! (docs/distributed.md "Network traffic").
//!
//! ggml-backend's scheduler cuts the graph where the backend changes and, before each split
//! runs, copies the split's inputs from the backend that holds them
//! (ggml/src/ggml-backend.cpp, `ggml_backend_sched_compute_splits`): the hidden state at a
//! layer boundary, and the graph inputs (positions, attention masks, KV row indices, the
//! embedding rows) that live on the host. The RPC backend has no asynchronous device copy, so
//! `ggml_backend_tensor_copy` moves each one (ggml/src/ggml-rpc/ggml-rpc.cpp): host → server is
//! one `SET_TENSOR`, server → host one `GET_TENSOR`, server → another server a `GET_TENSOR` to
//! the llama-server host and a `SET_TENSOR` on from there (two network hops), and two devices
//! of one server a `COPY_TENSOR` that moves nothing. Each split is then one `GRAPH_RECOMPUTE`
//! (generation reuses its graph), and the logits come back with one `GET_TENSOR` from the
//! device that holds the output layer (`llama_context::decode`, src/llama-context.cpp).
//! The copies themselves are the memory model's own scheduler replay ([`super::compute::cut`]).

use std::fmt::Write as _;

use serde::Serialize;

use super::compute::{self, sched::Cut};
use super::context::ContextParams;
use super::placement::{DeviceRef, LayerPlacement};
use super::sched_view::SchedView;
use crate::gguf::{Model, ModelFacts};
use crate::hardware::Machine;

/// `sizeof(rpc_tensor)` (ggml-rpc.cpp, packed): every tensor a message names.
const RPC_TENSOR: u64 = 296;
/// A command's header: the command byte and the 8-byte payload size (`send_rpc_cmd`).
const CMD: u64 = 9;
/// `SET_TENSOR` without its data: header, `rpc_tensor`, cache flag, offset
/// (`serialize_set_tensor`).
const SET: u64 = CMD + RPC_TENSOR + 1 + 8;
/// `GET_TENSOR`'s request (`rpc_msg_get_tensor_req`: tensor, offset, size).
const GET: u64 = CMD + RPC_TENSOR + 16;
/// A reply's 8-byte size before its data (`send_msg`).
const REPLY: u64 = 8;
/// `COPY_TENSOR` (source and destination tensors) and its one-byte result.
const COPY: u64 = CMD + 2 * RPC_TENSOR;
const COPY_REPLY: u64 = REPLY + 1;
/// `GRAPH_RECOMPUTE` (`rpc_msg_graph_recompute_req`: the device index).
const RECOMPUTE: u64 = CMD + 4;

/// The network traffic of a launch that puts layers on RPC servers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkTraffic {
    /// One generated token (a batch of one token and one logit row) with the attention masks as
    /// wide as the KV cache: until the context fills, they are narrower (llama.cpp rounds the
    /// used cells up to 256).
    pub per_token: Traffic,
    /// One prompt-processing ubatch of `n_ubatch` tokens with one logit row (the prompt's last
    /// ubatch; the others return none).
    pub per_ubatch: Traffic,
    pub n_ubatch: u64,
    /// Where the hidden state moves to another host, in layer order.
    pub boundaries: Vec<Boundary>,
    pub rule: String,
}

/// Bytes on the wire per RPC server for one batch, both directions, protocol headers included.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Traffic {
    pub hosts: Vec<HostTraffic>,
    /// Sum over the servers, both directions.
    pub total_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HostTraffic {
    /// The server's `HOST:PORT`.
    pub endpoint: String,
    /// llama-server → this server.
    pub sent_bytes: u64,
    /// This server → llama-server.
    pub received_bytes: u64,
    /// Of `received_bytes`: the logit rows, when this server holds the output layer.
    pub logits_bytes: u64,
    /// Commands sent (each split input, each split's graph, the logits read).
    pub messages: u64,
}

/// The hidden state leaving one host for another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Boundary {
    /// `input` (the token embeddings, always on the host) or `blk.N`, the last layer before it.
    pub after: String,
    pub from: String,
    pub to: String,
    /// Network hops: 2 between two servers (through the llama-server host), else 1.
    pub hops: u32,
}

/// The network traffic of `placement` on `machine`, or `None` when no layer and no output sits
/// on an RPC server.
pub fn network(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    view: &SchedView,
    placement: &LayerPlacement,
    machine: &Machine,
) -> Option<NetworkTraffic> {
    let remote = |d: DeviceRef| endpoint(machine, d).is_some();
    if !placement.layers.iter().any(|&d| remote(d)) && !remote(placement.output) {
        return None;
    }
    let batch = |n_tokens: u64| {
        let cut = compute::cut(model, facts, ctx, view.place(), &view.backends, n_tokens, 1);
        traffic(&cut, machine, placement.output, facts.n_vocab)
    };
    Some(NetworkTraffic {
        per_token: batch(1),
        per_ubatch: batch(ctx.n_ubatch),
        n_ubatch: ctx.n_ubatch,
        boundaries: boundaries(placement, machine),
        rule: "the scheduler's split-input copies of a one-token and a one-ubatch graph at a full \
               KV cache (ggml-backend.cpp), each as the RPC messages that move it (ggml-rpc.cpp), \
               plus one GRAPH_RECOMPUTE per split and the logit row from the output device; a \
               graph llama.cpp rebuilds (a new batch shape, the masks widening) is sent whole, \
               about 300 bytes per tensor, which is not counted"
            .into(),
    })
}

fn endpoint(machine: &Machine, d: DeviceRef) -> Option<&str> {
    match d {
        DeviceRef::Gpu(i) => machine.gpus.get(i)?.endpoint.as_deref(),
        DeviceRef::Cpu => None,
    }
}

fn name(machine: &Machine, d: DeviceRef) -> String {
    match d {
        DeviceRef::Gpu(i) => machine
            .gpus
            .get(i)
            .map_or_else(|| d.to_string(), |g| g.id.clone()),
        DeviceRef::Cpu => "CPU".into(),
    }
}

/// Backend index (devices in order, the CPU last) → device.
fn device(machine: &Machine, backend: usize) -> DeviceRef {
    if backend < machine.gpus.len() {
        DeviceRef::Gpu(backend)
    } else {
        DeviceRef::Cpu
    }
}

fn traffic(cut: &Cut, machine: &Machine, output: DeviceRef, n_vocab: u64) -> Traffic {
    let mut hosts: Vec<HostTraffic> = Vec::new();
    let mut at = |e: &str| -> usize {
        if let Some(i) = hosts.iter().position(|h| h.endpoint == e) {
            return i;
        }
        hosts.push(HostTraffic {
            endpoint: e.to_string(),
            ..HostTraffic::default()
        });
        hosts.len() - 1
    };
    let mut moves: Vec<(usize, u64, u64, u64)> = Vec::new();
    let get = |i: usize, bytes: u64| (i, GET, REPLY.saturating_add(bytes), 0);
    for c in &cut.copies {
        let from = endpoint(machine, device(machine, c.from));
        let to = endpoint(machine, device(machine, c.to));
        match (from, to) {
            (None, None) => {}
            (None, Some(t)) => moves.push((at(t), SET.saturating_add(c.bytes), 0, 0)),
            (Some(f), None) => moves.push(get(at(f), c.bytes)),
            (Some(f), Some(t)) if f == t => moves.push((at(f), COPY, COPY_REPLY, 0)),
            (Some(f), Some(t)) => {
                moves.push(get(at(f), c.bytes));
                moves.push((at(t), SET.saturating_add(c.bytes), 0, 0));
            }
        }
    }
    for &b in &cut.split_backends {
        if let Some(e) = endpoint(machine, device(machine, b)) {
            moves.push((at(e), RECOMPUTE, 0, 0));
        }
    }
    if let Some(e) = endpoint(machine, output) {
        let logits = n_vocab.saturating_mul(4);
        let (i, sent, received, _) = get(at(e), logits);
        moves.push((i, sent, received, logits));
    }
    for (i, sent, received, logits) in moves {
        if let Some(h) = hosts.get_mut(i) {
            h.sent_bytes = h.sent_bytes.saturating_add(sent);
            h.received_bytes = h.received_bytes.saturating_add(received);
            h.logits_bytes = h.logits_bytes.saturating_add(logits);
            h.messages += 1;
        }
    }
    let total_bytes = hosts.iter().fold(0u64, |a, h| {
        a.saturating_add(h.sent_bytes)
            .saturating_add(h.received_bytes)
    });
    Traffic { hosts, total_bytes }
}

/// The host changes along the layers: the token embeddings (the host), each block, the output.
fn boundaries(placement: &LayerPlacement, machine: &Machine) -> Vec<Boundary> {
    let mut stages: Vec<(String, DeviceRef)> = vec![("input".into(), DeviceRef::Cpu)];
    stages.extend(
        placement
            .layers
            .iter()
            .enumerate()
            .map(|(il, &d)| (format!("blk.{il}"), d)),
    );
    stages.push(("output".into(), placement.output));
    stages
        .windows(2)
        .filter_map(|w| {
            let [(after, a), (_, b)] = w else { return None };
            let (ea, eb) = (endpoint(machine, *a), endpoint(machine, *b));
            (ea != eb).then(|| Boundary {
                after: after.clone(),
                from: name(machine, *a),
                to: name(machine, *b),
                hops: if ea.is_some() && eb.is_some() { 2 } else { 1 },
            })
        })
        .collect()
}

fn kib(bytes: u64) -> String {
    let k = bytes as f64 / 1024.0;
    if k >= 1024.0 {
        format!("{:.2} MiB", k / 1024.0)
    } else {
        format!("{k:.1} KiB")
    }
}

/// The plan's network section.
pub fn render(n: &NetworkTraffic) -> String {
    let mut out = String::from("\nnetwork (RPC), both directions, protocol included:\n");
    let mut row = |label: String, t: &Traffic| {
        let _ = writeln!(out, "  {label}: {}", kib(t.total_bytes));
        for h in &t.hosts {
            let logits = match h.logits_bytes {
                0 => String::new(),
                b => format!(" ({} of it logits)", kib(b)),
            };
            let _ = writeln!(
                out,
                "    {}: sent {}, received {}{logits}, {} messages",
                h.endpoint,
                kib(h.sent_bytes),
                kib(h.received_bytes),
                h.messages
            );
        }
    };
    row("per generated token (full context)".into(), &n.per_token);
    row(
        format!("per prompt ubatch of {}", n.n_ubatch),
        &n.per_ubatch,
    );
    let b: Vec<String> = n
        .boundaries
        .iter()
        .map(|b| {
            let via = if b.hops == 2 { ", via this host" } else { "" };
            format!("{} → {} after {}{via}", b.from, b.to, b.after)
        })
        .collect();
    let _ = writeln!(out, "  host boundaries: {}", b.join("; "));
    out
}
