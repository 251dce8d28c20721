//! Launching a resolved profile whatever its runtime: the program `[runtime]` names for it
//! (llama-server, or vLLM for a Hugging Face model directory), the argv `render` prints, and the
//! one launch path (preflight, spawn, `/health`, signals) both servers share. `start` and
//! `run` call this.

use super::{LaunchError, LaunchOptions, LaunchOutcome, LaunchSpec, find_llama_server, find_vllm};
use crate::config::Runtime;
use crate::project::ResolvedProfile;
use crate::render::{Rendered, render_profile};

/// The program found for the profile's runtime, with the rendered argv: what will run.
pub fn profile_spec(
    resolved: &ResolvedProfile,
    runtime: &crate::hardware::Runtime,
) -> Result<(Rendered, LaunchSpec), LaunchError> {
    let rendered = render_profile(runtime, resolved);
    let configured = Some(resolved.program(runtime));
    let spec = match resolved.runtime {
        Runtime::LlamaServer => {
            LaunchSpec::from_argv(find_llama_server(configured)?, rendered.argv.clone())?
        }
        Runtime::Vllm => LaunchSpec::for_vllm(find_vllm(configured)?, rendered.argv.clone())?,
    };
    Ok((rendered, spec))
}

/// Launches a resolved profile (llama-server or `vllm serve`) with `opts`: the library entry
/// for verbs that route a model to its server (`start`, `run`). The caller refuses profiles
/// with errors or a [`ResolvedProfile::launch_blocker`] first.
pub fn launch_profile(
    resolved: &ResolvedProfile,
    runtime: &crate::hardware::Runtime,
    opts: &LaunchOptions,
) -> Result<(LaunchSpec, LaunchOutcome), LaunchError> {
    let (_, spec) = profile_spec(resolved, runtime)?;
    let outcome = super::launch(&spec, opts)?;
    Ok((spec, outcome))
}
