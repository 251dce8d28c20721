//! The docker `.env` flow of the corpus (start.sh → `.env` → docker compose → Dockerfile CMD).
//! compose reads unquoted dotenv values (` #` starts a comment, `$` interpolates, quotes are
//! syntax) and the Dockerfile expands `${ARGS}` unquoted (word splitting), so some values cannot
//! survive that path: they are refused here instead of being silently mangled.

use crate::config::{Profile, Runtime};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}={value}: {why}")]
pub struct EnvError {
    pub key: &'static str,
    pub value: String,
    pub why: String,
}

impl crate::error::Failure for EnvError {
    fn code(&self) -> &'static str {
        "render::env-value"
    }
    fn help(&self) -> String {
        "the .env flow cannot carry this value; launch with `profilec start` (no shell, no dotenv) or change the value".into()
    }
    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }
}

/// The `.env` lines start.sh would write for this profile (only non-empty keys, raw values).
/// `placement`: the STRATEGY's flags, appended to EXTRA_ARGS (later flags win in llama-server).
pub fn to_env(profile: &Profile, placement: &[String]) -> Result<String, Vec<EnvError>> {
    to_env_for(profile, placement, Runtime::LlamaServer)
}

/// [`to_env`] for a profile of `runtime`: a vLLM profile writes `RUNTIME=vllm` and leaves out
/// the keys that do not apply to it (N_GPU_LAYERS, FIT, FIT_TARGET), so a compose file can pick
/// the vLLM image and pass MODEL, CTX_SIZE (`--max-model-len`) and EXTRA_ARGS to `vllm serve`.
pub fn to_env_for(
    profile: &Profile,
    placement: &[String],
    runtime: Runtime,
) -> Result<String, Vec<EnvError>> {
    let vllm = runtime == Runtime::Vllm;
    let extra: Vec<String> = profile
        .extra_args
        .as_ref()
        .map(|v| v.value.clone())
        .into_iter()
        .chain((!placement.is_empty()).then(|| placement.join(" ")))
        .collect();
    let mut pairs: Vec<(&'static str, Option<String>)> = vec![
        ("RUNTIME", vllm.then(|| runtime.as_str().to_owned())),
        ("MODEL", profile.model.as_ref().map(|v| v.value.clone())),
        (
            "CTX_SIZE",
            profile.ctx_size.as_ref().map(|v| v.value.to_string()),
        ),
        (
            "N_GPU_LAYERS",
            profile.n_gpu_layers.as_ref().map(|v| v.value.to_string()),
        ),
        (
            "FIT",
            profile
                .fit
                .as_ref()
                .map(|v| if v.value { "on" } else { "off" }.to_string()),
        ),
        (
            "FIT_TARGET",
            profile.fit_target.as_ref().map(|v| {
                v.value
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        ),
        ("EXTRA_ARGS", (!extra.is_empty()).then(|| extra.join(" "))),
    ];
    if vllm {
        pairs.retain(|(k, _)| !matches!(*k, "N_GPU_LAYERS" | "FIT" | "FIT_TARGET"));
    }
    let mut out = String::new();
    let mut errors = Vec::new();
    for (key, value) in pairs {
        let Some(value) = value else { continue };
        if let Some(why) = unsafe_for_env(key, &value) {
            errors.push(EnvError { key, value, why });
            continue;
        }
        out.push_str(key);
        out.push('=');
        out.push_str(&value);
        out.push('\n');
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn unsafe_for_env(key: &str, value: &str) -> Option<String> {
    if value.contains(" #") || value.contains("\t#") {
        return Some(
            "` #` starts a comment in a dotenv file; the rest of the value would be dropped".into(),
        );
    }
    if value.contains('$') {
        return Some("docker compose interpolates `$` in .env values".into());
    }
    if let Some(q) = value.chars().find(|c| matches!(c, '\'' | '"' | '`')) {
        return Some(format!(
            "`{q}` is dotenv syntax and the Dockerfile's unquoted ${{ARGS}} would not keep it as part of one argument"
        ));
    }
    if key == "MODEL" && value.chars().any(char::is_whitespace) {
        return Some(
            "a space inside the model path would split it into two arguments in the Dockerfile CMD"
                .into(),
        );
    }
    if value.contains('\n') || value.contains('\r') {
        return Some("a line break cannot be written to a .env value".into());
    }
    None
}
