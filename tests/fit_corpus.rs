//! fit's prediction on the reference rig with header-only models shaped like the corpus models,
//! against the FIT-era runs of the seed repo (seed-repo-notes §4 rows 31–38; docs/placement.md).

use crate::solver_support;

use profilec::budget::Program;
use profilec::place::fit::{FitPrediction, predict};
use solver_support::{open, options, rig};

/// A FIT profile of the corpus: q8_0 cache, flash attention, llama.cpp's default batches, and
/// `-np 1` (every corpus profile has `--jinja -np 1`).
fn fit(file: &str, args: &str) -> FitPrediction {
    let (model, facts, path) = open(file);
    predict(
        &model,
        &facts,
        &path,
        &options(&format!("-np 1 -ctk q8_0 -ctv q8_0 -fa on {args}")),
        &rig(),
        Program::LlamaServer,
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"))
}

const UNITS_27B: u32 = 65;

#[test]
fn a_model_that_fits_keeps_every_layer_and_changes_nothing() {
    let p = fit("glm-4.7-flash-q4_k_m.gguf", "-c 131072");
    assert!(p.fits);
    assert_eq!(p.n_gpu_layers, 48);
    assert!(p.flags.is_empty(), "{:?}", p.flags);
    assert_eq!(
        p.log,
        ["targets for free memory can be met on all devices, no changes needed"]
    );
    assert_eq!(p.ram.swap_risk_mib(), 0.0);
}

#[test]
fn dense_27b_q8_at_262144_offloads_layers_to_the_cpu() {
    // Corpus row 37: FIT auto, "57/65 layers GPU, 8 CPU" (the model here says fewer; see
    // docs/placement.md). The context is the user's: fit does not touch it.
    let p = fit("qwen3.5-27b-ud-q8_k_xl.gguf", "-c 262144");
    assert!(p.fits);
    assert_eq!(p.n_ctx, 262144);
    assert_eq!(p.ctx_reduced_from, None);
    assert!(p.n_gpu_layers < UNITS_27B && p.n_gpu_layers > UNITS_27B / 2);
    let counts: Vec<u32> = p.devices.iter().map(|d| d.layers).collect();
    assert_eq!(counts.iter().sum::<u32>(), p.n_gpu_layers);
    // Back to front: the last GPU holds the output layer, the dedicated 4090 the most layers.
    assert!(counts[0] > counts[1], "{counts:?}");
    assert_eq!(
        p.flags[..4],
        [
            "-ngl".to_string(),
            p.n_gpu_layers.to_string(),
            "-ts".into(),
            format!("{},{}", counts[0], counts[1])
        ]
    );
    assert!(p.overrides.is_none(), "a dense model gets no overrides");
    assert!(
        p.log
            .contains(&"context size set by user to 262144 -> no change".to_string())
    );
    assert!(
        p.log
            .contains(&"filling dense layers back-to-front:".to_string())
    );
    // Every GPU is within capacity − its --fit-target (128 on CUDA0, 1024 on CUDA1).
    for (d, margin) in p
        .plan
        .devices
        .iter()
        .filter(|d| d.name != "CPU")
        .zip([128.0, 1024.0])
    {
        assert!(
            d.total_mib <= d.capacity_mib - margin,
            "{}: {}",
            d.name,
            d.total_mib
        );
    }
}

#[test]
fn dense_27b_q6_goes_whole_to_the_gpus_with_pipeline_copies() {
    // Row 38 (FIT auto, 81 % / 90 %, 1.3 GiB of weights on the CPU). Fit fills CUDA1 first
    // (21 layers, not yet a full offload), then CUDA0 takes the remaining 44: with the output
    // on a GPU, no -ot and -sm layer, llama.cpp turns pipeline parallelism on (four copies of
    // every split input, src/llama-context.cpp), which raises CUDA1's compute after its fill, so
    // CUDA1 ends under its 1024 MiB target while within its memory (common/fit.cpp checks only
    // the device it is filling). The corpus row's 1.3 GiB on the CPU is the embeddings (0.97
    // GiB) plus about one layer: the rig's run likely kept 64 of 65 units on the GPUs, where
    // pipeline parallelism is off; docs/memory-model.md §8 discusses it.
    let p = fit("qwen3.5-27b-ud-q6_k_xl.gguf", "-c 262144");
    assert_eq!(p.n_gpu_layers, UNITS_27B);
    assert!(!p.fits, "CUDA1 misses its target once the copies appear");
    for d in p.plan.devices.iter().filter(|d| d.name != "CPU") {
        assert!(d.total_mib <= d.capacity_mib, "{}: {}", d.name, d.total_mib);
    }
    assert!(p.ram.weights_mib < 1.5 * 1024.0, "{:?}", p.ram);
}

#[test]
fn an_automatic_context_is_reduced_to_a_multiple_of_256() {
    // Fit's first projection is the full offload without overrides, so pipeline parallelism
    // is on (four copies of every split input): with 128,1024 the total is short by ~1.3 GiB
    // and the automatic context shrinks; with 2048 on both GPUs it shrinks further.
    let p = fit("qwen3.5-35b-a3b-ud-q6_k_xl.gguf", "");
    let first = p.n_ctx;
    assert_eq!(p.ctx_reduced_from, Some(262144));
    assert!(first < 262144 && first.is_multiple_of(256), "{first}");
    let p = fit("qwen3.5-35b-a3b-ud-q6_k_xl.gguf", "--fit-target 2048");
    let from = p.ctx_reduced_from.expect("reduced");
    assert_eq!(from, 262144);
    assert!(
        p.n_ctx < first && p.n_ctx >= 4096 && p.n_ctx.is_multiple_of(256),
        "{}",
        p.n_ctx
    );
    assert_eq!(p.flags[..2], ["-c".to_string(), p.n_ctx.to_string()]);
    assert!(
        p.log
            .iter()
            .any(|l| l.starts_with("context size reduced from 262144 to "))
    );
    // Not even the smallest context makes the 122B Q4 (65 GiB of weights) fit the GPUs: fit goes
    // down to --fit-ctx, then moves experts to the CPU.
    let p = fit("qwen3.5-122b-a10b-ud-q4_k_xl.gguf", "--fit-ctx 8192");
    assert_eq!(p.n_ctx, 8192);
    let ot = p.overrides.as_deref().unwrap_or("");
    assert!(ot.contains("_(ch|)exps=CPU"), "{ot}");
}

#[test]
fn moe_35b_converts_to_full_layers_with_one_overflowing_layer() {
    // Row 33: FIT auto at 262144, both GPUs nearly full, no experts on the CPU.
    let p = fit("qwen3.5-35b-a3b-ud-q6_k_xl.gguf", "-c 262144");
    assert!(p.fits);
    assert_eq!(p.n_gpu_layers, 41);
    assert!(p.log.iter().any(|l| {
        l.starts_with("with only dense weights in device memory there is a total surplus")
    }));
    let first = &p.devices[0];
    assert_eq!(first.overflowing, 1);
    // The one overflowing layer of CUDA0 sends its FFN to CUDA1, not to the CPU.
    let ot = p.overrides.as_deref().expect("overflow override");
    assert!(ot.ends_with("=CUDA1"), "{ot}");
    assert!(!ot.contains("=CPU"), "{ot}");
    assert!(p.ram.weights_mib < 1024.0);
}

#[test]
fn moe_80b_keeps_dense_parts_on_gpus_and_experts_on_the_cpu() {
    // Row 31: --fit-target unset (1024 on both), experts of most layers on the CPU.
    let p = fit(
        "qwen3-next-80b-a3b-ud-q5_k_xl.gguf",
        "-c 262144 --fit-target 1024",
    );
    assert!(p.fits);
    assert_eq!(p.n_gpu_layers, 49, "every dense part fits the GPUs");
    let ot = p.overrides.as_deref().expect("experts to the CPU");
    assert!(
        ot.contains(r"blk\.47\.ffn_(up|down|gate_up|gate)_(ch|)exps=CPU"),
        "{ot}"
    );
    assert!(p.ram.weights_mib > 20.0 * 1024.0, "{:?}", p.ram);
    assert_eq!(p.ram.swap_risk_mib(), 0.0);
    assert_eq!(p.recommended_fit_target, [128, 1024]);
    assert!(
        p.findings
            .iter()
            .any(|f| f.starts_with("--fit-target 128,1024"))
    );
}

#[test]
fn the_122b_q4_shows_swap_risk_on_64_gb() {
    // Row 36: ran with ~4 GB RAM free and swapped.
    let p = fit("qwen3.5-122b-a10b-ud-q4_k_xl.gguf", "-c 262144");
    assert!(p.fits, "fit places it on the GPUs");
    assert!(p.ram.swap_risk_mib() > 0.0, "{:?}", p.ram);
    assert!(
        p.findings.iter().any(|f| f.starts_with("swap risk: ")),
        "{:?}",
        p.findings
    );
}

#[test]
fn user_placement_disables_fits_layer_search() {
    let p = fit("qwen3.5-27b-ud-q8_k_xl.gguf", "-c 262144 -ngl 99");
    assert_eq!(
        p.disabled_by.as_deref(),
        Some("-ngl 99 (n_gpu_layers set by the user)")
    );
    assert!(
        !p.fits,
        "all 65 layers do not fit and fit will not move them"
    );
    assert!(p.log.last().is_some_and(|l| l.ends_with(", abort")));
    let p = fit("qwen3.5-35b-a3b-ud-q6_k_xl.gguf", "-c 262144 -cmoe");
    assert!(
        p.disabled_by
            .is_some_and(|d| d.starts_with("-ot/--cpu-moe"))
    );
}

#[test]
fn fit_off_is_not_predicted() {
    let (model, facts, path) = open("glm-4.7-flash-q4_k_m.gguf");
    let r = predict(
        &model,
        &facts,
        &path,
        &options("--fit off"),
        &rig(),
        Program::LlamaServer,
    );
    assert!(matches!(r, Err(profilec::place::fit::FitError::Off)));
}

#[test]
fn split_mode_none_fits_on_the_main_gpu_alone() {
    // llama.cpp keeps one device with -sm none; fit then offloads to the CPU, not to CUDA1.
    let p = fit("glm-4.7-flash-q8_0.gguf", "-c 131072 --split-mode none");
    assert!(p.fits);
    assert_eq!(p.devices.len(), 1);
    assert_eq!(p.devices[0].device, "CUDA0");
    // Every layer's dense part stays on CUDA0; the experts of the later layers go to the CPU.
    assert_eq!(p.n_gpu_layers, 48);
    assert!(p.devices[0].overflowing > 0, "{:?}", p.devices);
    assert!(
        p.overrides
            .as_deref()
            .is_some_and(|o| o.ends_with("_(ch|)exps=CPU"))
    );
    assert!(!p.flags.iter().any(|f| f == "-ts"), "{:?}", p.flags);
    assert_eq!(p.plan.device("CUDA1").map(|d| d.total_mib), Some(0.0));
}
