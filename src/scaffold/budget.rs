//! The memory model's answer for a new profile: the largest context that fits, whether one GPU
//! is enough (strategy A), and the per-device budget for the comment block.

use std::path::Path;

use super::Budget;
use crate::budget::{Plan, PlanError, Program, plan_model};
use crate::gguf::{Model, ModelFacts};
use crate::hardware::Hardware;
use crate::resolve::{Origin, apply_words, from_defaults};

const MIN_CTX: u64 = 4096;

/// What a candidate launch adds to `[defaults]`, and to the new profile's EXTRA_ARGS.
#[derive(Debug, Clone, Copy, Default)]
struct Candidate {
    /// `-ctk f16 -ctv f16`: the cache type of `[defaults]` does not divide the head size.
    f16_cache: bool,
    /// `--split-mode none --main-gpu 0` (strategy A).
    one_gpu: bool,
}

impl Candidate {
    /// The EXTRA_ARGS words this candidate writes.
    fn flags(self) -> Vec<String> {
        let mut out = Vec::new();
        if self.f16_cache {
            out.extend(["-ctk", "f16", "-ctv", "f16"]);
        }
        if self.one_gpu {
            out.extend(["--split-mode", "none", "--main-gpu", "0"]);
        }
        out.into_iter().map(String::from).collect()
    }
}

/// Plans `model` with the machine's `[defaults]`, from the trained context down (halving) to
/// 4096 tokens, or at `ctx` when given. `None` when even the smallest context does not fit.
pub fn plan_budget(
    model: &Model,
    facts: &ModelFacts,
    path: &Path,
    hw: &Hardware,
    ctx: Option<u64>,
) -> Option<Budget> {
    let machine = hw.machine();
    let mut extra_flags: Vec<String> = Vec::new();
    let mut rationale = Vec::new();
    // The machine's `[defaults]` once, checked; each candidate is the words the profile will
    // hold (CTX_SIZE, the `-np 1` every new profile has, the candidate's flags), read back as
    // options the way `plan` and `render` read the written profile.
    let base = from_defaults(&hw.defaults);
    base.options().ok()?;
    // `Err(None)`: the candidate's options cannot be read (not after the check above).
    let run = |ctx: u64, layout: Candidate| -> Result<Plan, Option<PlanError>> {
        let mut eff = base.clone();
        let mut words = vec![
            "--ctx-size".to_string(),
            ctx.to_string(),
            "-np".into(),
            "1".into(),
        ];
        words.extend(layout.flags());
        apply_words(&mut eff, &words, Origin::Placement);
        let opts = eff.options().map_err(|_| None)?;
        plan_model(
            model,
            facts,
            path.to_path_buf(),
            &opts,
            &machine,
            Program::LlamaServer,
        )
        .map_err(Some)
    };
    let ladder: Vec<u64> = match ctx {
        Some(c) => vec![c],
        None => std::iter::successors(Some(facts.n_ctx_train.max(MIN_CTX)), |c| {
            (*c / 2 >= MIN_CTX).then_some(*c / 2)
        })
        .collect(),
    };
    let first = *ladder.first()?;
    // A cache type whose blocks do not divide the head size is refused by llama.cpp: fall back
    // to f16 for this model and say so.
    let mut written = Candidate::default();
    if let Err(Some(PlanError::Kv(e))) = run(first, written) {
        rationale.push(format!("{e}; using f16 caches for this model"));
        written.f16_cache = true;
    }
    for &c in &ladder {
        let Ok(plan) = run(c, written) else { continue };
        if !plan.fits {
            continue;
        }
        if c < facts.n_ctx_train {
            rationale.push(format!(
                "context {c}: the largest power-of-two step below the trained {} that fits",
                facts.n_ctx_train
            ));
        } else {
            rationale.push(format!("context {c}: the trained context fits"));
        }
        let mut strategy = "FIT (llama.cpp places layers at load time)".to_string();
        let one_gpu = Candidate {
            one_gpu: true,
            ..written
        };
        let mut shown = plan;
        if machine.gpus.len() > 1
            && let Ok(single) = run(c, one_gpu)
            && single.fits
        {
            strategy = "A (one GPU: everything fits CUDA0)".into();
            rationale.push(
                "--split-mode none --main-gpu 0: the whole model fits CUDA0, so fit must not spread it over both GPUs"
                    .into(),
            );
            written = one_gpu;
            shown = single;
        }
        let devices = shown
            .devices
            .iter()
            .filter(|d| d.total_mib > 0.0)
            .map(|d| {
                format!(
                    "{:<6} {:>9.0} / {:>6.0} MiB (weights {:.0}, KV {:.0}, compute {:.0})",
                    d.name,
                    d.total_mib,
                    d.capacity_mib,
                    d.weights_mib + d.weights_repack_mib,
                    d.kv_mib,
                    d.compute_mib
                )
            })
            .collect();
        extra_flags.extend(written.flags());
        return Some(Budget {
            ctx: c,
            devices,
            strategy,
            rationale,
            keys: Vec::new(),
            extra_flags,
        });
    }
    None
}
