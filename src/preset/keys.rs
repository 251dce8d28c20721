//! Which llama-server option a preset key names. llama.cpp `get_map_key_opt` maps every
//! spelling of every option with its leading dashes removed (`c`, `ctx-size`, `no-mmproj`),
//! every env name (`LLAMA_ARG_CTX_SIZE`, and `LLAMA_ARG_NO_…` for negatable flags) and the
//! preset-only options of `common_params_add_preset_options`. Matching is exact: unlike argv,
//! `ctx_size` is not `ctx-size` here.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::flags::{FlagSpec, TABLE, ValueKind};

/// The reserved key llama.cpp skips in every section.
pub const VERSION_KEY: &str = "version";

/// What a key resolves to.
#[derive(Debug, Clone, Copy)]
pub struct KeyTarget {
    pub spec: &'static FlagSpec,
    /// A negative spelling (`no-mmproj`, `nkvo`): llama.cpp reverses its truthy value.
    pub negated: bool,
    /// An `LLAMA_ARG_NO_…` env name: it maps to the flag, but llama.cpp does NOT reverse it.
    pub negative_env: bool,
    /// `load-on-startup`, `stop-timeout`, `dedup-cache-models`: read by the router, never
    /// passed to the model's llama-server.
    pub preset_only: bool,
}

/// Resolves a key exactly as llama-server's preset loader does.
pub fn resolve(key: &str) -> Option<KeyTarget> {
    KEYS.get(key).copied()
}

/// Every key spelling that is not an env name, for "did you mean".
pub fn spellings() -> impl Iterator<Item = &'static str> {
    SPELLINGS.iter().copied()
}

static PRESET_ONLY: LazyLock<Vec<FlagSpec>> = LazyLock::new(|| {
    let spec =
        |name: &'static str, env: &'static str, kind: ValueKind, hint: &'static str| FlagSpec {
            aliases: vec![name],
            canonical: name,
            negations: Vec::new(),
            kind,
            kind_text: hint,
            value_hint: hint,
            env: Some(env),
            help: "",
            default: None,
            accumulates: false,
            removed: false,
            deprecated: false,
        };
    // Their values are read with `is_truthy` / `std::stoi` by the router (server-models.cpp).
    vec![
        spec(
            "load-on-startup",
            "__PRESET_LOAD_ON_STARTUP",
            ValueKind::Bool,
            "true|false",
        ),
        spec(
            "stop-timeout",
            "__PRESET_STOP_TIMEOUT",
            ValueKind::Int,
            "SECONDS",
        ),
        spec(
            "dedup-cache-models",
            "__PRESET_DEDUP_CACHE_MODELS",
            ValueKind::Bool,
            "0|1",
        ),
    ]
});

static KEYS: LazyLock<HashMap<String, KeyTarget>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    let mut add = |key: String, spec: &'static FlagSpec, negated, negative_env, preset_only| {
        // A later option overwrites an earlier one with the same key, as `mapping[k] = opt`.
        map.insert(
            key,
            KeyTarget {
                spec,
                negated,
                negative_env,
                preset_only,
            },
        );
    };
    let table: &'static crate::flags::FlagTable = &TABLE;
    let preset_only: &'static Vec<FlagSpec> = &PRESET_ONLY;
    let all = table
        .specs
        .iter()
        .map(|s| (s, false))
        .chain(preset_only.iter().map(|s| (s, true)));
    for (spec, only) in all {
        if let Some(env) = spec.env {
            add(env.to_string(), spec, false, false, only);
            if !spec.negations.is_empty() {
                let neg = env.replace("LLAMA_ARG_", "LLAMA_ARG_NO_");
                add(neg, spec, false, true, only);
            }
        }
        for alias in &spec.aliases {
            let key = alias.trim_start_matches('-').to_string();
            add(key, spec, spec.is_negation(alias), false, only);
        }
    }
    map
});

static SPELLINGS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let table: &'static crate::flags::FlagTable = &TABLE;
    let preset_only: &'static Vec<FlagSpec> = &PRESET_ONLY;
    table
        .specs
        .iter()
        .chain(preset_only.iter())
        .flat_map(|s| s.aliases.iter().map(|a| a.trim_start_matches('-')))
        .collect()
});
