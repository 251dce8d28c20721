//! `profile`: one profile resolved once for every verb ([`ResolvedProfile`]) — the launch
//! settings with their origins, the typed options, the opened model, the machine and, with
//! STRATEGY, the solver's placement. It sits below `check` so the model and budget rules judge
//! the very value `plan`, `render` and `start` use (docs/architecture.md).

mod resolved;
mod vllm;

pub use resolved::{ProfilePlanError, ResolvedProfile, StrategyError};
pub use vllm::{VllmPlanError, VllmProfile};
