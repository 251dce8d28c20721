//! Shared by the solver and fit tests: the shaped header-only models and the reference rig.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use profilec::budget::Program;
use profilec::config::Strategy;
use profilec::gguf::{Model, ModelFacts};
use profilec::hardware::{self, Machine};
use profilec::place::solver::{Placement, SolveError};
use profilec::resolve::{Effective, Origin, RunOptions, apply_args};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes the header models once per test binary (each binary its own directory, so two
/// binaries never write the same file at once).
pub fn models() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        let name = exe
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("solver")
            .to_string();
        let dir = root().join("target/header-models-solver").join(name);
        let status = Command::new("python3")
            .arg(root().join("scripts/make_header_models.py"))
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("python3 runs (install Python 3 and `pip install gguf==0.19.0`)");
        assert!(
            status.success(),
            "scripts/make_header_models.py failed: `pip install gguf==0.19.0`"
        );
        dir.join("shaped")
    })
}

pub fn rig() -> Machine {
    hardware::load(&root().join("profiles/profilec.toml"))
        .expect("reference rig")
        .hardware
        .machine()
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
