//! The `[[gpu]]` entries of profilec.toml: one table per GPU, in CUDA order.

use std::ops::Range;

use toml_edit::Table;

use super::Gpu;
use super::fields::Section;
use crate::diag::Diagnostic;

const GPU_KEYS: &[&str] = &[
    "id",
    "name",
    "total_mib",
    "reserved_mib",
    "speed",
    "drives_display",
    "pci_bus_id",
];
pub(super) fn read_gpus<'a>(
    tables: impl Iterator<Item = &'a Table>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Gpu> {
    let mut gpus: Vec<Gpu> = Vec::new();
    let mut id_spans: Vec<Option<Range<usize>>> = Vec::new();
    for (i, table) in tables.enumerate() {
        let s = Section {
            table,
            name: format!("[[gpu]] #{}", i + 1),
            span: table.span(),
        };
        s.check_keys(GPU_KEYS, diags);
        let id = s.string("id", diags);
        if id.is_none() && table.get("id").is_none() {
            diags.push(s.missing("id", &format!("\"CUDA{i}\"")));
        }
        let id = id.unwrap_or_else(|| format!("CUDA{i}"));
        let id_span = s.value_span("id");
        check_id(&s, i, &id, id_span.clone(), &gpus, &id_spans, diags);
        let total = s.u64("total_mib", diags);
        if total.is_none() && table.get("total_mib").is_none() {
            diags.push(s.missing("total_mib", "24564"));
        }
        let total = match total {
            Some(0) => {
                diags.push(s.out_of_range("total_mib", "above 0"));
                0
            }
            t => t.unwrap_or(0),
        };
        let mut reserved = s.u64("reserved_mib", diags).unwrap_or(0);
        if reserved > total && total > 0 {
            let mut d = Diagnostic::error(
                "hw::reserved-exceeds-total",
                format!("{} reserves {reserved} MiB of a {total} MiB GPU", s.name),
            )
            .label(format!("more than total_mib = {total}"))
            .help("reserved_mib is the part of total_mib other programs hold; it cannot exceed it");
            if let Some(sp) = s.value_span("reserved_mib") {
                d = d.at(sp);
            }
            if let Some(sp) = s.value_span("total_mib") {
                d = d.related(sp, "total declared here");
            }
            diags.push(d);
            reserved = total;
        }
        gpus.push(Gpu {
            name: s.string("name", diags).unwrap_or_else(|| id.clone()),
            id,
            total_mib: total,
            reserved_mib: reserved,
            speed: s.speed("speed", diags).unwrap_or(1.0),
            drives_display: s.bool("drives_display", diags).unwrap_or(false),
            pci_bus_id: s.string("pci_bus_id", diags),
            span: s.span.clone(),
        });
        id_spans.push(id_span);
    }
    gpus
}

/// ids must be CUDA0..N-1 in order (after RPC0..K-1 for llama.cpp RPC servers): llama.cpp names
/// devices by CUDA index, and `-ot …=CUDA1`, `--main-gpu` and `--tensor-split` all refer to that
/// numbering.
fn check_id(
    s: &Section,
    i: usize,
    id: &str,
    span: Option<Range<usize>>,
    before: &[Gpu],
    before_spans: &[Option<Range<usize>>],
    diags: &mut Vec<Diagnostic>,
) {
    let Some(span) = span else { return };
    if let Some(j) = before.iter().position(|g| g.id == id) {
        let mut d = Diagnostic::error(
            "hw::duplicate-gpu-id",
            format!("GPU id `{id}` appears twice"),
        )
        .at(span)
        .label("second definition")
        .help(format!(
            "each [[gpu]] needs its own id; this one is #{} so it is `CUDA{i}`",
            i + 1
        ));
        if let Some(Some(first)) = before_spans.get(j) {
            d = d.related(first.clone(), "first defined here");
        }
        diags.push(d);
        return;
    }
    // llama.cpp puts RPC servers in front of the local GPUs (`llama_prepare_model_devices` in
    // src/llama.cpp), so RPC entries come first and CUDA numbering starts after them.
    let n_rpc = before.iter().filter(|g| g.id.starts_with("RPC")).count();
    let want = if id.starts_with("RPC") && n_rpc == i {
        format!("RPC{i}")
    } else {
        format!("CUDA{}", i - n_rpc)
    };
    if id != want {
        diags.push(
            Diagnostic::error(
                "hw::gpu-id-order",
                format!("{} has id `{id}`, but GPUs must be listed as CUDA0, CUDA1, … in order", s.name),
            )
            .at(span)
            .label(format!("expected `{want}`"))
            .help(format!(
                "list the [[gpu]] entries in CUDA order (the order llama.cpp numbers them) and set id = \"{want}\"",
            )),
        );
    }
}
