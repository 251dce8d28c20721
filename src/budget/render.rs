//! Human rendering of a plan: one table row per device with a bar of its components against
//! capacity, then what does not fit.

use std::fmt::Write;

use super::plan::{DevicePlan, Plan};

const BAR: usize = 40;

/// Bar glyphs per component, in the order the table lists them.
const PARTS: [(char, &str); 7] = [
    ('W', "weights"),
    ('P', "repack"),
    ('K', "KV"),
    ('R', "recurrent"),
    ('C', "compute"),
    ('O', "output"),
    ('X', "overhead"),
];

fn parts(d: &DevicePlan) -> [f64; 7] {
    [
        d.weights_mib,
        d.weights_repack_mib,
        d.kv_mib,
        d.recurrent_mib,
        d.compute_mib,
        d.output_mib,
        d.overhead_mib,
    ]
}

fn bar(d: &DevicePlan) -> String {
    let scale = d.capacity_mib.max(d.total_mib).max(1.0);
    let mut s = String::new();
    let mut acc = 0.0;
    let mut drawn = 0usize;
    for ((glyph, _), v) in PARTS.iter().zip(parts(d)) {
        acc += v;
        let upto = ((acc / scale) * BAR as f64).round() as usize;
        while drawn < upto.min(BAR) {
            s.push(*glyph);
            drawn += 1;
        }
    }
    let cap = ((d.capacity_mib / scale) * BAR as f64).round() as usize;
    while drawn < cap.min(BAR) {
        s.push('.');
        drawn += 1;
    }
    s
}

pub fn render_human(p: &Plan) -> String {
    let mut out = String::new();
    let c = &p.context;
    let _ = writeln!(out, "plan for {} ({})", p.model, p.program.as_str());
    let _ = writeln!(
        out,
        "  n_ctx {} ({} per stream × {} stream(s)), n_seq {}, batch {}/{}, flash attention {}, K {} V {}",
        c.n_ctx,
        c.n_ctx_seq,
        c.n_stream,
        c.n_seq,
        c.n_batch,
        c.n_ubatch,
        if c.flash_attn { "on" } else { "off" },
        c.type_k,
        c.type_v
    );
    let _ = writeln!(
        out,
        "\n{:<6} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>10}",
        "device",
        "weights",
        "repack",
        "KV",
        "recurr.",
        "compute",
        "output",
        "overhd",
        "total",
        "capacity"
    );
    for d in &p.devices {
        let _ = writeln!(
            out,
            "{:<6} {:>10.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8.2} {:>8.0} {:>10.2} {:>10.0}",
            d.name,
            d.weights_mib,
            d.weights_repack_mib,
            d.kv_mib,
            d.recurrent_mib,
            d.compute_mib,
            d.output_mib,
            d.overhead_mib,
            d.total_mib,
            d.capacity_mib
        );
    }
    let _ = writeln!(out);
    for d in &p.devices {
        let pct = if d.capacity_mib > 0.0 {
            d.total_mib / d.capacity_mib * 100.0
        } else {
            f64::INFINITY
        };
        let _ = writeln!(out, "{:<6} [{}] {:>5.1}%", d.name, bar(d), pct);
    }
    let legend: Vec<String> = PARTS.iter().map(|(g, n)| format!("{g}={n}")).collect();
    let _ = writeln!(out, "       {} .=free", legend.join(" "));
    for k in &p.kv_caches {
        let _ = writeln!(
            out,
            "KV {:?}: {} cells × {} layers × {} stream(s) = {:.2} MiB (K {:.2}, V {:.2})",
            k.kind, k.cells, k.layers, k.streams, k.size_mib, k.k_mib, k.v_mib
        );
    }
    let _ = writeln!(out);
    if p.fits {
        let _ = writeln!(out, "fits: yes");
    } else {
        for d in p.devices.iter().filter(|d| d.total_mib > d.capacity_mib) {
            let largest = PARTS
                .iter()
                .zip(parts(d))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(("weights", 0.0), |((_, n), v)| (*n, v));
            let _ = writeln!(
                out,
                "does not fit: {} needs {:.2} MiB of {:.0} MiB (over by {:.2} MiB); largest component: {} ({:.2} MiB)",
                d.name,
                d.total_mib,
                d.capacity_mib,
                d.total_mib - d.capacity_mib,
                largest.0,
                largest.1
            );
        }
    }
    for n in &p.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}
