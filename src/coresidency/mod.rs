//! Many models on one machine (docs/coresidency.md): which profiles can be loaded at the same
//! time. llama-server's router mode starts one child process per loaded model and llama-swap
//! one `cmd` per model, so each loaded profile costs its own plan — weights, KV, compute and
//! host buffers — plus its own CUDA context on every GPU it opens. Summed per device against
//! capacity, that says which combinations fit ([`together`]), every maximal set that fits and
//! the largest safe `--models-max` ([`co_resident_sets`]).
//!
//! Each footprint is the profile's plan on an otherwise empty machine. A `--fit` profile loaded
//! next to others sees less free memory, so llama.cpp's fit then places it differently (fewer
//! GPU layers, a smaller context) or fails: "does not fit together" means "not as planned".

mod footprint;
mod preset_rule;
mod roles;
mod sets;
mod together;
mod verbs;

pub use footprint::{
    DeviceUse, Footprint, Unplanned, args_plan, footprint, footprints, launch_plan,
    process_overhead,
};
pub use preset_rule::{ROUTER_DEFAULT_MODELS_MAX, check_preset_models_max};
pub use roles::{RoleGroup, RoleOf, role_group};
pub use sets::{
    Counterexample, DEFAULT_STEP_LIMIT, ModelsMax, Sets, co_resident_sets, safe_models_max,
};
pub use together::{DeviceSum, MemberMib, Together, fits, render_human, together};
pub use verbs::{TogetherError, plan_sets, plan_together, render_sets_human, resolve_all, sets_of};
