//! Pinned placement (FIT=off): strategies A–D of DESIGN.md §6, searched with the memory model so
//! that no device goes over its budget (capacity − `--fit-target` margin). The searches keep the
//! most layers on the fastest GPUs (hardware `speed`) and use as few devices as fit. When nothing
//! fits, the error says which device, by how much, which component, and what would make it fit.
//!
//! ```text
//! A  one GPU                --split-mode none --main-gpu N
//! B  dense over GPUs        --tensor-split c0,c1 (layer counts)
//! C  MoE within the GPUs    -ot blk\.(R0)\.=CUDA0,blk\.(R1)\.=CUDA1
//! D  MoE beyond VRAM        -ot blk\.(R0)\.=CUDA0,blk\.(R1)\.=CUDA1,exps=CPU
//! ```

mod advice;
mod strategies;

use std::path::Path;

use serde::Serialize;

use crate::place::eval::{Evaluator, margins};
pub use crate::place::eval::{Layout, Overrun};

use crate::budget::{Plan, PlanError, Program};
use crate::config::Strategy;
use crate::gguf::{Model, ModelFacts};
use crate::hardware::Machine;
use crate::resolve::RunOptions;

/// A placement that fits: the argv additions and the plan they give.
#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub strategy: Strategy,
    /// Added to the launch after the profile's own arguments (later flags win).
    pub flags: Vec<String>,
    pub plan: Plan,
    /// Layers per GPU (CUDA order) that the flags pin.
    pub gpu_layers: Vec<(String, u32)>,
    pub rationale: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{}", advice::describe(.strategy, .overruns, .advice))]
    DoesNotFit {
        /// The last strategy tried.
        strategy: Strategy,
        overruns: Vec<Overrun>,
        advice: Vec<String>,
    },
    #[error("strategy {strategy} needs {need}; this model/machine has {have}")]
    NotApplicable {
        strategy: &'static str,
        need: &'static str,
        have: String,
    },
}

/// Solves `strategy` (`Auto`: A, else C/D for MoE or B for dense) for the model on `machine`,
/// starting from the profile's options `base` (context, cache types, batch sizes stay).
pub fn solve(
    model: &Model,
    facts: &ModelFacts,
    path: &Path,
    base: &RunOptions,
    machine: &Machine,
    program: Program,
    strategy: Strategy,
) -> Result<Placement, SolveError> {
    let eval = Evaluator {
        model,
        facts,
        path,
        machine,
        program,
        margins: margins(&base.fit_target, machine.gpus.len()),
        base: base.clone(),
    };
    strategies::solve(&eval, strategy)
}
