//! One profile resolved once for every verb: the launch settings with their origins, the typed
//! options, the opened model, the machine, and — with STRATEGY — the solver's placement applied
//! to both. `plan`, `render`, `start`, `compare` and the model/budget rules read this one value,
//! so the argv that is planned is the argv that is rendered and launched (docs/render.md).

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::vllm::VllmProfile;
use crate::budget::{Plan, PlanError, Program, plan_model};
use crate::config::{Profile, Runtime, Strategy};
use crate::error::{Failure, exit};
use crate::gguf::{GgufError, LoadedModel, ModelCache};
use crate::hardware::{Hardware, Machine};
use crate::place::fit::{FitPrediction, predict};
use crate::place::solver::{Placement, SolveError, solve};
use crate::resolve::{
    Effective, OptionError, Origin, RunOptions, absolute, apply_words, for_launch, from_defaults,
    runtime_of, vllm_for_launch,
};

/// Why a profile's STRATEGY could not be turned into placement flags.
#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
    #[error(
        "STRATEGY {strategy} places layers on the model's tensors, but the model cannot be read: {why}"
    )]
    NoModel { strategy: &'static str, why: String },
    #[error(transparent)]
    Solve(#[from] SolveError),
    #[error("STRATEGY {strategy}: the solver's flags do not read back: {error}")]
    Options {
        strategy: &'static str,
        #[source]
        error: OptionError,
    },
}

impl Failure for StrategyError {
    fn code(&self) -> &'static str {
        match self {
            StrategyError::NoModel { .. } => "strategy::no-model",
            StrategyError::Solve(SolveError::DoesNotFit { .. }) => "strategy::does-not-fit",
            StrategyError::Solve(SolveError::Plan(e)) => e.code(),
            StrategyError::Solve(SolveError::NotApplicable { .. }) => "strategy::not-applicable",
            StrategyError::Options { .. } => "strategy::bad-flags",
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            StrategyError::Solve(SolveError::Plan(e)) => e.exit_code(),
            _ => exit::FAILED,
        }
    }

    fn help(&self) -> String {
        match self {
            StrategyError::NoModel { .. } => {
                "put the model file where MODEL points (relative to [runtime] models_dir), or remove STRATEGY and let --fit place it".into()
            }
            StrategyError::Solve(SolveError::DoesNotFit { .. }) => {
                "see the advice above; `profilec plan ID` shows every device's budget".into()
            }
            StrategyError::Solve(SolveError::Plan(_)) => {
                "the launch itself cannot be planned: fix the options the error names (`profilec plan ID` shows it)".into()
            }
            StrategyError::Solve(_) => {
                "choose a strategy this model and machine support (docs/placement.md), or remove STRATEGY".into()
            }
            StrategyError::Options { .. } => "report this: the solver wrote flags it cannot read".into(),
        }
    }
}

/// Why a resolved profile has no memory plan.
#[derive(Debug, thiserror::Error)]
pub enum ProfilePlanError {
    #[error("the profile has no MODEL")]
    NoModel,
    /// A vLLM profile: its plan is vLLM's arithmetic ([`ResolvedProfile::vllm`]).
    #[error("a vLLM profile has no llama.cpp memory plan (`profilec plan ID` shows vLLM's)")]
    Vllm,
    /// The model file cannot be read.
    #[error("{0}")]
    Model(Rc<GgufError>),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl Failure for ProfilePlanError {
    fn code(&self) -> &'static str {
        match self {
            ProfilePlanError::NoModel => "plan::no-model",
            ProfilePlanError::Vllm => "plan::vllm-profile",
            ProfilePlanError::Model(e) => Failure::code(e.as_ref()),
            ProfilePlanError::Plan(e) => e.code(),
        }
    }

    fn help(&self) -> String {
        match self {
            ProfilePlanError::NoModel => "set MODEL = file.gguf in the profile".into(),
            ProfilePlanError::Vllm => {
                "use `profilec plan ID` for vLLM's own memory arithmetic of this profile".into()
            }
            ProfilePlanError::Model(e) => Failure::help(e.as_ref()),
            ProfilePlanError::Plan(e) => e.help(),
        }
    }

    /// The model file's own code (2 unreadable, 1 not a usable GGUF); 1 for the rest.
    fn exit_code(&self) -> i32 {
        match self {
            ProfilePlanError::NoModel | ProfilePlanError::Vllm => exit::FAILED,
            ProfilePlanError::Model(e) => Failure::exit_code(e.as_ref()),
            ProfilePlanError::Plan(e) => e.exit_code(),
        }
    }
}

/// A profile (or an ad-hoc model + arguments) ready to plan, render and launch.
#[derive(Debug, Clone)]
pub struct ResolvedProfile {
    /// The profile id (`None` for `plan --model`).
    pub id: Option<String>,
    /// Every launch argument with its origin; with a solved STRATEGY its flags are in here.
    pub effective: Effective,
    /// The typed view of `effective`: what the memory model evaluates.
    pub options: RunOptions,
    /// The model the options name; `None` when there is no MODEL.
    pub model_path: Option<PathBuf>,
    /// The opened model (once per path per project: [`ModelCache`]).
    pub model: Option<Result<Rc<LoadedModel>, Rc<GgufError>>>,
    pub machine: Machine,
    pub program: Program,
    /// The profile's STRATEGY.
    pub strategy: Option<Strategy>,
    /// With a STRATEGY that pins placement: the solver's placement, whose flags are applied.
    pub pinned: Option<Result<Placement, Rc<StrategyError>>>,
    /// The server this profile launches. For [`Runtime::Vllm`] the launch is [`Self::vllm`];
    /// `effective` and `options` are then empty (llama-server flags do not apply).
    pub runtime: Runtime,
    /// A vLLM profile's `vllm serve` launch and model (`None` for llama-server).
    pub vllm: Option<VllmProfile>,
}

/// The flags a solver layout sets (`place::solver::Layout`): replaced, not merged, by a STRATEGY.
const LAYOUT_FLAGS: &[&str] = &[
    "--fit",
    "--n-gpu-layers",
    "--split-mode",
    "--main-gpu",
    "--tensor-split",
    "--override-tensor",
    "--cpu-moe",
    "--n-cpu-moe",
];

/// Whether a profile's placement comes from the solver: any STRATEGY letter, or `auto` with
/// FIT=off (the solver's choice accepted). FIT=on with `auto` or no STRATEGY: fit places.
fn pins(strategy: Option<Strategy>, fit: bool) -> bool {
    match strategy {
        None => false,
        Some(Strategy::Auto) => !fit,
        Some(_) => true,
    }
}

impl ResolvedProfile {
    /// Resolves `profile` on `hw`: `[defaults]` ← keys ← EXTRA_ARGS ← `[runtime]` address, MODEL
    /// against `[runtime] models_dir`, then the STRATEGY's placement.
    pub fn of_profile(
        profile: &Profile,
        hw: &Hardware,
        program: Program,
        models: &mut ModelCache,
    ) -> Result<ResolvedProfile, OptionError> {
        let models_dir = absolute(&hw.runtime.models_dir);
        Self::of_profile_in(profile, hw, &models_dir, program, models)
    }

    /// [`Self::of_profile`] with MODEL under `models_dir` (`check --models-dir`, or the
    /// models directory beside the file): what `check`'s budget rules judge.
    pub fn of_profile_in(
        profile: &Profile,
        hw: &Hardware,
        models_dir: &Path,
        program: Program,
        models: &mut ModelCache,
    ) -> Result<ResolvedProfile, OptionError> {
        if runtime_of(profile, Some(models_dir)) == Runtime::Vllm {
            let vllm = VllmProfile::new(vllm_for_launch(profile, hw, models_dir));
            let mut r = Self::new(Effective::default(), None, hw.machine(), program, models)?;
            r.id = Some(profile.id.value.clone());
            r.model_path = vllm.launch.model.clone();
            r.runtime = Runtime::Vllm;
            r.vllm = Some(vllm);
            return Ok(r);
        }
        let effective = for_launch(profile, hw, models_dir);
        let strategy = profile.strategy.as_ref().map(|s| s.value);
        let machine = hw.machine_for(effective.value("--rpc"));
        let mut r = Self::new(effective, None, machine, program, models)?;
        r.id = Some(profile.id.value.clone());
        r.strategy = strategy;
        if pins(strategy, r.options.fit) {
            r.pin(strategy.unwrap_or(Strategy::Auto));
        }
        Ok(r)
    }

    /// An ad-hoc launch: `model` with llama-server arguments (`plan --model M -- ARGS`).
    pub fn of_args(
        model: &Path,
        args: &[String],
        machine: Machine,
        program: Program,
        models: &mut ModelCache,
    ) -> Result<ResolvedProfile, OptionError> {
        let mut effective = Effective::default();
        apply_words(&mut effective, args, Origin::ExtraArgs);
        Self::new(effective, Some(model), machine, program, models)
    }

    /// A model file launched with `[defaults]` and `args` (origin `placement`): the launch
    /// `optimize` searches from and `run --model` starts.
    pub fn of_model(
        model: &Path,
        hw: &Hardware,
        args: &[String],
        program: Program,
        models: &mut ModelCache,
    ) -> Result<ResolvedProfile, OptionError> {
        let mut effective = from_defaults(&hw.defaults);
        let path = absolute(model);
        effective.set_flag("--model", &[&path.to_string_lossy()], Origin::CommandLine);
        apply_words(&mut effective, args, Origin::Placement);
        Self::new(effective, Some(&path), hw.machine(), program, models)
    }

    /// Sets `words` (later flags win, as on a command line) and reads the options back from
    /// the argv, so the options stay the typed view of exactly what is launched.
    pub fn apply(&mut self, words: &[String], origin: Origin) -> Result<(), OptionError> {
        let mut effective = self.effective.clone();
        apply_words(&mut effective, words, origin);
        self.options = effective.options()?;
        self.effective = effective;
        Ok(())
    }

    fn new(
        effective: Effective,
        model: Option<&Path>,
        machine: Machine,
        program: Program,
        models: &mut ModelCache,
    ) -> Result<ResolvedProfile, OptionError> {
        let options = effective.options()?;
        let model_path = model
            .map(Path::to_path_buf)
            .or_else(|| options.model.clone());
        let model = model_path.as_deref().map(|p| models.open(p));
        Ok(ResolvedProfile {
            id: None,
            effective,
            options,
            model_path,
            model,
            machine,
            program,
            strategy: None,
            pinned: None,
            runtime: Runtime::LlamaServer,
            vllm: None,
        })
    }

    /// Solves `strategy` and applies its flags (origin `strategy`): the options are read back
    /// from the argv, so what the plan evaluates is what the argv says.
    fn pin(&mut self, strategy: Strategy) {
        let letter = strategy.as_str();
        let result = match self.loaded() {
            Err(why) => Err(StrategyError::NoModel {
                strategy: letter,
                why,
            }),
            Ok(m) => self.solve(&m, strategy).map_err(StrategyError::from),
        };
        let result = result.and_then(|placement| {
            let mut effective = self.effective.clone();
            // The solver's layout owns every placement field: the profile's own placement
            // flags go, so the argv says only what the solver evaluated.
            for flag in LAYOUT_FLAGS {
                effective.remove(flag);
            }
            apply_words(&mut effective, &placement.flags, Origin::Strategy);
            let options = effective
                .options()
                .map_err(|error| StrategyError::Options {
                    strategy: letter,
                    error,
                })?;
            self.effective = effective;
            self.options = options;
            Ok(placement)
        });
        self.pinned = Some(result.map_err(Rc::new));
    }

    /// The opened model, or why there is none.
    pub fn loaded(&self) -> Result<Rc<LoadedModel>, String> {
        match &self.model {
            None => Err("the profile has no MODEL".into()),
            Some(Ok(m)) => Ok(Rc::clone(m)),
            Some(Err(e)) => Err(e.to_string()),
        }
    }

    /// The arguments after the program name: exactly what `render` prints and `start` runs.
    pub fn argv(&self) -> Vec<String> {
        match &self.vllm {
            Some(v) => v.launch.argv(),
            None => self.effective.argv(),
        }
    }

    /// The program `[runtime]` names for this profile's runtime (a bare name is looked up on
    /// PATH at launch).
    pub fn program<'a>(&self, runtime: &'a crate::hardware::Runtime) -> &'a Path {
        match self.runtime {
            Runtime::LlamaServer => &runtime.llama_server,
            Runtime::Vllm => &runtime.vllm,
        }
    }

    /// Why this profile must not be launched as resolved: a STRATEGY that found no placement.
    pub fn launch_blocker(&self) -> Option<&StrategyError> {
        match &self.pinned {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }

    /// The memory plan of [`Self::argv`].
    pub fn plan(&self) -> Result<Plan, ProfilePlanError> {
        if self.vllm.is_some() {
            return Err(ProfilePlanError::Vllm);
        }
        let m = match &self.model {
            None => return Err(ProfilePlanError::NoModel),
            Some(Err(e)) => return Err(ProfilePlanError::Model(Rc::clone(e))),
            Some(Ok(m)) => m,
        };
        plan_model(
            &m.model,
            &m.facts,
            m.path.clone(),
            &self.options,
            &self.machine,
            self.program,
        )
        .map_err(ProfilePlanError::from)
    }

    /// The solver's suggestion for a profile that pins placement by hand (FIT=off, no
    /// STRATEGY): shown by `plan`, not applied.
    pub fn suggestion(&self) -> Option<Result<Placement, SolveError>> {
        if self.options.fit || self.pinned.is_some() || self.machine.is_cpu_only() {
            return None;
        }
        let m = self.loaded().ok()?;
        Some(self.solve(&m, Strategy::Auto))
    }

    /// The pinned solver on this profile's model, options, machine and program.
    fn solve(&self, m: &LoadedModel, strategy: Strategy) -> Result<Placement, SolveError> {
        solve(
            &m.model,
            &m.facts,
            &m.path,
            &self.options,
            &self.machine,
            self.program,
            strategy,
        )
    }

    /// What llama.cpp's `--fit` will do at load time, when it is on and there is a GPU.
    pub fn fit_prediction(&self) -> Option<Result<FitPrediction, String>> {
        if !self.options.fit || self.machine.is_cpu_only() {
            return None;
        }
        let m = self.loaded().ok()?;
        Some(
            predict(
                &m.model,
                &m.facts,
                &m.path,
                &self.options,
                &self.machine,
                self.program,
            )
            .map_err(|e| e.to_string()),
        )
    }
}
