//! A vLLM profile resolved (docs/vllm.md "Profiles"): its `vllm serve` launch, the model
//! directory read without its weights, and vLLM's memory arithmetic over the `[[gpu]]` list.

use crate::error::{Failure, exit};
use std::path::Path;
use std::rc::Rc;

use crate::hardware::Machine;
use crate::resolve::{VllmLaunch, vllm_gpus as gpus};
use crate::safetensors::{self, HfModel, SafetensorsError};
use crate::vllm::{self, VllmPlan};

/// The vLLM half of a `ResolvedProfile`.
#[derive(Debug, Clone)]
pub struct VllmProfile {
    pub launch: VllmLaunch,
    /// config.json and the shard headers; `None` when the profile has no MODEL.
    pub model: Option<Result<Rc<HfModel>, Rc<SafetensorsError>>>,
}

/// Why a vLLM profile has no plan.
#[derive(Debug, thiserror::Error)]
pub enum VllmPlanError {
    #[error("the profile has no MODEL")]
    NoModel,
    #[error("{0}")]
    Model(Rc<SafetensorsError>),
    #[error("vLLM {v} would not start: {0}", v = vllm::VLLM_VERSION)]
    Plan(#[from] vllm::PlanError),
}

impl Failure for VllmPlanError {
    fn help(&self) -> String {
        match self {
            VllmPlanError::NoModel => "set MODEL to the model directory (config.json and *.safetensors), relative to [runtime] models_dir".into(),
            VllmPlanError::Model(e) => e.help(),
            VllmPlanError::Plan(e) => e.help(),
        }
    }

    /// A stable code (`profilec plan` prints it; `check` reports the same situations).
    fn code(&self) -> &'static str {
        match self {
            VllmPlanError::NoModel => "vllm::no-model",
            VllmPlanError::Model(e) => e.code(),
            VllmPlanError::Plan(vllm::PlanError::MaxLenTooLong { .. }) => "vllm::ctx-too-long",
            VllmPlanError::Plan(_) => "vllm::cannot-start",
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            VllmPlanError::Model(m) => m.exit_code(),
            _ => exit::FAILED,
        }
    }
}

impl VllmProfile {
    pub fn new(launch: VllmLaunch) -> Self {
        let model = launch.model.as_deref().map(open);
        VllmProfile { launch, model }
    }

    /// vLLM's plan of this launch on `machine` (tensor parallel over its GPUs in order; every
    /// rank planned for the smallest card, with a warning when they differ).
    pub fn plan(&self, machine: &Machine) -> Result<VllmPlan, VllmPlanError> {
        let model = match &self.model {
            None => return Err(VllmPlanError::NoModel),
            Some(Err(e)) => return Err(VllmPlanError::Model(Rc::clone(e))),
            Some(Ok(m)) => m,
        };
        Ok(vllm::plan(
            model,
            &self.launch.serve_args(),
            &gpus(machine),
            None,
        )?)
    }
}

fn open(dir: &Path) -> Result<Rc<HfModel>, Rc<SafetensorsError>> {
    safetensors::inspect(dir).map(Rc::new).map_err(Rc::new)
}
