//! `profilec plan --model DIR -- VLLM_ARGS` and `plan ID` of a vLLM profile: the vLLM plan of a
//! Hugging Face model directory.

use std::fmt::Write as _;
use std::path::Path;

use crate::hardware::Machine;
use crate::project::{ResolvedProfile, VllmPlanError};
use crate::resolve::vllm_gpus;
use crate::safetensors;
use crate::vllm::{self, VllmPlan};

const GIB: f64 = 1073741824.0;

/// `plan --model DIR -- ARGS`.
pub fn run(dir: &Path, args: &[String], machine: &Machine, json: bool) -> i32 {
    let model = match safetensors::inspect(dir) {
        Ok(m) => m,
        Err(e) => return super::fail(&e),
    };
    let plan = vllm::plan(&model, args, &vllm_gpus(machine), None).map_err(VllmPlanError::from);
    show(plan, args, json)
}

/// `plan ID` of a vLLM profile: vLLM's arithmetic on the profile's `vllm serve` flags.
pub fn run_profile(resolved: &ResolvedProfile, json: bool) -> i32 {
    let Some(v) = &resolved.vllm else {
        return 2;
    };
    show(v.plan(&resolved.machine), &resolved.argv(), json)
}

/// Prints a plan (human or JSON, with the argv it plans) or why there is none; exit 0 when one
/// request of max_model_len fits, 1 when vLLM would refuse to start.
fn show(plan: Result<VllmPlan, VllmPlanError>, argv: &[String], json: bool) -> i32 {
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return super::fail(&e),
    };
    if json {
        match serde_json::to_string_pretty(&serde_json::json!({
            "runtime": "vllm",
            "argv": argv,
            "plan": plan,
            "vllm_lines": plan.vllm_lines(),
        })) {
            Ok(s) => println!("{s}"),
            Err(e) => return super::internal("cannot encode JSON", e),
        }
    } else {
        print!("{}", super::term::get().stdout.fit(&human(&plan)));
    }
    i32::from(plan.result.is_none())
}

fn human(p: &VllmPlan) -> String {
    let mut o = String::new();
    let b = &p.budget;
    let g = |x: f64| format!("{:.2} GiB", x / GIB);
    let _ = writeln!(
        o,
        "vLLM {} plan: tensor parallel {} on {} ({} total), dtype {}, KV cache {} ({} B/elem), block {}",
        p.vllm_version,
        p.tensor_parallel,
        p.gpu.name,
        g(p.gpu.total as f64),
        p.model_dtype,
        p.kv_cache_dtype,
        p.kv_dtype_bytes,
        p.block_size
    );
    let _ = writeln!(
        o,
        "max_model_len {}, max_num_batched_tokens {}, max_num_seqs {}",
        p.max_model_len, p.max_num_batched_tokens, p.max_num_seqs
    );
    let _ = writeln!(
        o,
        "per rank: requested {} (× {}) − weights {} − activation peak {} (estimate) − non-torch {} (estimate) = {}{}",
        g(b.requested as f64),
        b.gpu_memory_utilization,
        g(b.weights as f64),
        g(b.activation_peak as f64),
        g(b.non_torch as f64),
        g(b.available as f64),
        if b.available_given { " (given)" } else { "" }
    );
    let _ = writeln!(
        o,
        "KV layers: {} full, {} sliding window, {} MLA; {} KV heads per rank; one request of {} tokens needs {}",
        p.layers_full,
        p.layers_sliding,
        p.layers_mla,
        p.kv_heads_per_rank,
        p.max_model_len,
        g(p.needed as f64)
    );
    if let Some(l) = &p.layout {
        let _ = writeln!(
            o,
            "KV groups: {} of {} layers, page {} bytes{}",
            l.groups.len(),
            l.group_size,
            l.page_size(),
            if l.padding_layers > 0 {
                format!(", {} padding layers", l.padding_layers)
            } else {
                String::new()
            }
        );
    }
    for w in &p.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    let _ = writeln!(o, "vLLM would log:");
    for line in p.vllm_lines() {
        let _ = writeln!(o, "  {line}");
    }
    o
}
