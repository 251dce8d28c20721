//! The human summary of a report: a few header lines, one table row per device, then details.

use std::fmt::Write;

use super::report::{Allocation, Buffer, FailureKind, FitStatus, KvKind, Outcome, StartupReport};

/// How many warning/error lines the summary quotes before it only counts them.
const QUOTED_LINES: usize = 5;

pub fn render_human(r: &StartupReport) -> String {
    let mut out = String::new();
    header(&mut out, r);
    outcome(&mut out, r);
    setup(&mut out, r);
    table(&mut out, r);
    details(&mut out, r);
    notes(&mut out, r);
    out
}

fn header(out: &mut String, r: &StartupReport) {
    let program = r.program.map_or("llama.cpp", |p| p.as_str());
    let _ = write!(out, "{program}");
    if let Some(b) = &r.build {
        let _ = write!(out, ", build {} ({})", b.number, b.commit);
    }
    if let Some(v) = r.verbosity {
        let _ = write!(out, ", verbosity {v}");
    }
    out.push('\n');
    if let Some(path) = &r.model_path {
        let _ = write!(out, "model:     {path}");
        if let Some(mode) = &r.load_mode {
            let _ = write!(out, " ({mode})");
        }
        out.push('\n');
    }
    for d in &r.devices {
        let _ = write!(out, "device:    {}", d.name);
        if let Some(desc) = &d.description {
            let _ = write!(out, " {desc}");
        }
        match (d.total_mib, d.free_mib) {
            (Some(t), Some(f)) => {
                let _ = write!(out, " ({t} MiB, {f} MiB free)");
            }
            (None, Some(f)) => {
                let _ = write!(out, " ({f} MiB free)");
            }
            _ => {}
        }
        out.push('\n');
    }
}

fn outcome(out: &mut String, r: &StartupReport) {
    match r.outcome {
        Outcome::Loaded => {
            out.push_str("outcome:   loaded");
            if let Some(addr) = &r.listening {
                let _ = write!(out, ", listening on {addr}");
            }
            out.push('\n');
        }
        Outcome::Incomplete => {
            out.push_str("outcome:   incomplete: the log ends before the model finished loading\n");
        }
        Outcome::Failed => {
            let Some(f) = &r.failure else {
                out.push_str("outcome:   FAILED\n");
                return;
            };
            let kind = match f.kind {
                FailureKind::OutOfMemory => "out of memory",
                FailureKind::ModelFile => "model file",
                FailureKind::Other => "error",
            };
            let when = if f.after_load { " after loading" } else { "" };
            let _ = writeln!(
                out,
                "outcome:   FAILED{when} ({kind}) at line {}: {}",
                f.line, f.message
            );
            if let Some(oom) = &f.oom {
                out.push_str("           could not allocate");
                match (oom.requested_mib, oom.requested_bytes) {
                    (Some(m), Some(b)) => {
                        let _ = write!(out, " {m:.2} MiB ({b} bytes)");
                    }
                    (Some(m), None) => {
                        let _ = write!(out, " {m:.2} MiB");
                    }
                    _ => {}
                }
                if let Some(what) = oom.allocation {
                    let what = match what {
                        Allocation::ModelWeights => "model weights",
                        Allocation::KvCache => "the KV cache",
                        Allocation::Compute => "compute buffers",
                        Allocation::Output => "the output buffer",
                    };
                    let _ = write!(out, " for {what}");
                }
                if let Some(b) = &oom.buffer_type {
                    let _ = write!(out, " in a {b} buffer");
                }
                if let Some(d) = &oom.device {
                    let _ = write!(out, " on {d}");
                }
                out.push('\n');
            }
        }
    }
}

fn setup(out: &mut String, r: &StartupReport) {
    let c = &r.context;
    if let Some(n_ctx) = c.n_ctx {
        let _ = write!(out, "context:   n_ctx {n_ctx}");
        if let Some(s) = c.n_ctx_seq {
            let _ = write!(out, " (per sequence {s}");
            if let Some(t) = c.n_ctx_train {
                let _ = write!(out, ", trained {t}");
            }
            out.push(')');
        }
        for (name, v) in [
            ("n_batch", c.n_batch),
            ("n_ubatch", c.n_ubatch),
            ("n_seq_max", c.n_seq_max),
        ] {
            if let Some(v) = v {
                let _ = write!(out, ", {name} {v}");
            }
        }
        if let Some(fa) = &c.flash_attn {
            let _ = write!(out, ", flash_attn {fa}");
            if fa == "auto" {
                match c.flash_attn_effective {
                    Some(true) => out.push_str(" (on)"),
                    Some(false) => out.push_str(" (off)"),
                    None => {}
                }
            }
        }
        if c.kv_unified == Some(true) {
            out.push_str(", kv_unified");
        }
        out.push('\n');
    }
    if let Some(o) = &r.offload {
        let _ = writeln!(out, "offload:   {}/{} layers on GPU", o.offloaded, o.total);
    }
    if let Some(g) = &r.graph {
        let pair = |a: Option<u32>, b: Option<u32>| match (a, b) {
            (Some(a), Some(b)) => format!("{a} / {b}"),
            (Some(a), None) => a.to_string(),
            _ => "?".to_string(),
        };
        let _ = writeln!(
            out,
            "graph:     {} nodes, {} splits",
            pair(g.nodes, g.nodes_tg),
            pair(g.splits, g.splits_tg)
        );
    }
    if let Some(f) = &r.fit {
        let status = match f.status {
            FitStatus::Succeeded => "succeeded",
            FitStatus::Aborted => "aborted",
            FitStatus::Error => "error",
            FitStatus::Unknown => "started",
        };
        let _ = write!(out, "fit:       {status}");
        if let Some(why) = &f.reason {
            let _ = write!(out, ": {why}");
        }
        if f.no_changes {
            out.push_str(", no changes needed");
        }
        if let (Some(a), Some(b)) = (f.ctx_reduced_from, f.ctx_reduced_to) {
            let _ = write!(out, ", context reduced from {a} to {b}");
        }
        if let Some(p) = f.projected_mib {
            let _ = write!(out, " (projected {p} MiB)");
        }
        out.push('\n');
    }
}

fn table(out: &mut String, r: &StartupReport) {
    if r.per_device.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{:<12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "MiB", "weights", "KV", "recurrent", "compute", "output", "total"
    );
    for d in &r.per_device {
        let _ = writeln!(
            out,
            "{:<12} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            d.device,
            d.weights_mib,
            d.kv_mib,
            d.recurrent_mib,
            d.compute_mib,
            d.output_mib,
            d.total_mib
        );
    }
}

fn list(bufs: &[Buffer]) -> String {
    bufs.iter()
        .map(|b| format!("{} {:.2}", b.name, b.mib))
        .collect::<Vec<_>>()
        .join(", ")
}

fn details(out: &mut String, r: &StartupReport) {
    if !r.model_buffers.is_empty() {
        let _ = writeln!(out, "\nweights:   {}", list(&r.model_buffers));
    }
    for kv in &r.kv_caches {
        let kind = match kv.kind {
            KvKind::Full => "KV cache",
            KvKind::NonSwa => "KV non-SWA",
            KvKind::Swa => "KV SWA",
        };
        let _ = write!(out, "{kind:<11}");
        if let (Some(cells), Some(layers)) = (kv.cells, kv.layers) {
            let _ = write!(out, "{cells} cells, {layers} layers, ");
        }
        let _ = write!(out, "K {} {:.2}", kv.k_type, kv.k_mib);
        if let (Some(t), Some(m)) = (&kv.v_type, kv.v_mib) {
            let _ = write!(out, " + V {t} {m:.2}");
        }
        let _ = writeln!(out, " = {:.2} MiB", kv.size_mib);
    }
    for rs in &r.recurrent {
        let _ = writeln!(
            out,
            "recurrent: {} cells, {} layers, {} seqs: R {:.2} + S {:.2} = {:.2} MiB",
            rs.cells, rs.layers, rs.seqs, rs.r_mib, rs.s_mib, rs.size_mib
        );
    }
    if !r.compute_buffers.is_empty() {
        let _ = writeln!(out, "compute:   {}", list(&r.compute_buffers));
    }
    if !r.memory_breakdown.is_empty() {
        out.push_str("breakdown (MiB, self = model + context + compute):\n");
        for row in &r.memory_breakdown {
            let _ = write!(
                out,
                "  {:<12} {} = {} + {} + {}",
                row.name, row.self_mib, row.model, row.context, row.compute
            );
            if let (Some(t), Some(f)) = (row.total, row.free) {
                let _ = write!(out, "  (total {t}, free {f})");
            }
            out.push('\n');
        }
    }
}

fn notes(out: &mut String, r: &StartupReport) {
    if !r.memory_lines && r.outcome != Outcome::Failed {
        out.push_str(
            "\nno buffer-size lines in this log: llama.cpp prints them only at `-lv 4`; \
             rerun llama-server with `-lv 4` to see memory per device\n",
        );
    }
    for (title, lines) in [("warnings", &r.warnings), ("errors", &r.errors)] {
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}: {}", lines.len());
        for l in lines.iter().take(QUOTED_LINES) {
            let _ = writeln!(out, "  line {}: {}", l.line, l.text);
        }
        if lines.len() > QUOTED_LINES {
            let _ = writeln!(out, "  … {} more", lines.len() - QUOTED_LINES);
        }
    }
}
