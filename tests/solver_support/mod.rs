//! Shared by the solver and fit tests: the shaped header-only models and the reference rig.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use profilec::budget::Program;
use profilec::config::Strategy;
use profilec::gguf::{Model, ModelFacts};
use profilec::hardware::Machine;
use profilec::place::solver::{Placement, SolveError};
use profilec::resolve::{Effective, Origin, RunOptions, apply_args};

/// The shaped header models of scripts/make_header_models.py.
pub fn models() -> PathBuf {
    crate::support::header_models().join("shaped")
}

pub use crate::support::reference_rig as rig;

/// A project on the reference rig over the shaped models: its profilec.toml, and `conf` as
/// models.conf.
pub fn rig_project(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::support::write_rig_toml(dir.path(), "profiles/profilec.toml", &models());
    std::fs::write(dir.path().join("models.conf"), conf).expect("write conf");
    dir
}

/// `profilec plan ID models.conf --format FORMAT` in `dir`: the exit code and stdout.
pub fn plan_cli(dir: &Path, id: &str, format: &str) -> (i32, String) {
    let out = crate::support::profilec_in(&["plan", id, "models.conf", "--format", format], dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The options a profile on the rig has: the rig's [defaults] are what the corpus ran with
/// (fit-target 128,1024 among them), then `args`.
pub fn options(args: &str) -> RunOptions {
    let mut eff = Effective::default();
    apply_args(
        &mut eff,
        &format!("--fit-target 128,1024 {args}"),
        Origin::ExtraArgs,
    );
    eff.options().expect("options")
}

pub fn open(file: &str) -> (Model, ModelFacts, PathBuf) {
    let path = models().join(file);
    let model = Model::open(&path).expect("shaped model");
    let facts = ModelFacts::from_model(&model).expect("facts");
    (model, facts, path)
}

pub fn solve(file: &str, args: &str, strategy: Strategy) -> Result<Placement, SolveError> {
    solve_on(file, args, strategy, &rig())
}

pub fn solve_on(
    file: &str,
    args: &str,
    strategy: Strategy,
    machine: &Machine,
) -> Result<Placement, SolveError> {
    let (model, facts, path) = open(file);
    profilec::place::solver::solve(
        &model,
        &facts,
        &path,
        &options(args),
        machine,
        Program::LlamaServer,
        strategy,
    )
}

/// Layers the flags pin to GPUs (whole layers; for A and B the output layer counts as one).
pub fn layers_on_gpus(p: &Placement) -> u32 {
    p.gpu_layers.iter().map(|(_, c)| c).sum()
}

pub fn counts(p: &Placement) -> Vec<u32> {
    p.gpu_layers.iter().map(|(_, c)| *c).collect()
}

pub fn is(p: &Placement, s: Strategy) -> bool {
    p.strategy == s
}
