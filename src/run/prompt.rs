//! What the advisor is told: the model, the machine, the static launch and its memory plan,
//! the fields it may set (with their ranges) and the ones the user fixed.

use serde_json::{Value, json};

use super::schema::{Field, Kind};
use crate::project::ResolvedProfile;

pub const SYSTEM: &str = "You tune llama.cpp's llama-server for one model on one machine. \
    You are given the model, the machine, the launch profilec planned (its argv and memory plan \
    per device) and the fields you may change with their allowed ranges. Answer with one JSON \
    object in the given schema and nothing else. Use null for every field you would leave as \
    planned. Never exceed a device's capacity: profilec re-plans your values and rejects any \
    that do not fit. Fields fixed by the user are ignored whatever you answer.";

/// The user message: one JSON document, so the advisor reads numbers, not prose.
pub fn user_message(r: &ResolvedProfile, fields: &[Field], user: &[&'static str]) -> String {
    let model = r.loaded().ok().map(|m| {
        json!({
            "file": m.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "architecture": m.facts.arch,
            "layers": m.facts.n_layer,
            "trained_context": m.facts.n_ctx_train,
            "params_total": m.facts.params.total,
            "params_active": m.facts.params.active,
            "file_mib": (m.model.file_bytes() as f64 / 1048576.0).round(),
        })
    });
    let devices: Vec<Value> = r
        .machine
        .devices()
        .map(|d| json!({"device": d.id, "name": d.name, "capacity_mib": d.capacity_mib}))
        .collect();
    let plan = r.plan().ok().map(|p| {
        p.devices
            .iter()
            .map(|d| {
                json!({
                    "device": d.name,
                    "planned_mib": d.total_mib.round(),
                    "capacity_mib": d.capacity_mib.round(),
                    "kv_mib": d.kv_mib.round(),
                    "compute_mib": d.compute_mib.round(),
                })
            })
            .collect::<Vec<_>>()
    });
    let allowed: Vec<Value> = fields
        .iter()
        .map(|f| {
            let range = match &f.kind {
                Kind::Int { min, max } => json!({"min": min, "max": max}),
                Kind::Choice(words) => json!(words),
            };
            json!({
                "field": f.key,
                "flag": f.flag,
                "current": r.effective.value(f.flag),
                "allowed": range,
            })
        })
        .collect();
    let doc = json!({
        "model": model,
        "machine": devices,
        "planned_argv": argv_without_paths(r),
        "memory_plan": plan,
        "fields_you_may_set": allowed,
        "fixed_by_user": user,
    });
    // Compact: every token of the prompt is prefill time on the advisor.
    doc.to_string()
}

/// The argv with the model's directory left out: the advisor may be a remote service and needs
/// only the file name.
fn argv_without_paths(r: &ResolvedProfile) -> Vec<String> {
    let mut out = r.argv();
    for i in 1..out.len() {
        if out[i - 1] == "--model" {
            let name = std::path::Path::new(&out[i])
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            if let Some(name) = name {
                out[i] = name;
            }
        }
    }
    out
}
