//! config.json → the facts vLLM derives from it, by vLLM's own rules (v0.11.0; see docs/vllm.md
//! for the source of each rule): KV heads (`ModelConfig.get_total_num_kv_heads`), head size
//! (`get_head_size`, MLA = `kv_lora_rank + qk_rope_head_dim`), which layers slide
//! (`is_interleaved` + the model files' `layer_types`), experts, quantization, and the derived
//! maximum length (`_get_and_verify_max_len`).

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::SafetensorsError;
pub use super::max_len::MaxLen;
use super::max_len::max_len;

/// Model types whose attention vLLM runs as MLA (`ModelConfig.is_deepseek_mla`).
const MLA_TYPES: &[&str] = &[
    "deepseek_v2",
    "deepseek_v3",
    "deepseek_v32",
    "deepseek_mtp",
    "kimi_k2",
    "longcat_flash",
];

/// Decoder-only attention model types whose KV rules are modelled here.
const KNOWN_TYPES: &[&str] = &[
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "gemma3",
    "gemma3_text",
    "deepseek_v2",
    "deepseek_v3",
    "kimi_k2",
    "gpt_oss",
    "phi3",
    "granite",
    "olmo2",
    "glm4",
    "glm4_moe",
    "exaone",
    "internlm2",
    "starcoder2",
    "cohere",
    "cohere2",
];

/// Multi-head latent attention dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mla {
    pub kv_lora_rank: u64,
    pub qk_rope_head_dim: u64,
    pub qk_nope_head_dim: u64,
    pub v_head_dim: u64,
}

/// Routed experts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Experts {
    pub count: u64,
    pub per_token: u64,
    pub shared: u64,
    pub intermediate_size: u64,
}

/// `quantization_config`, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quantization {
    /// `quant_method` (fp8, awq, gptq, compressed-tensors, mxfp4, …).
    pub method: String,
    /// bits / group size / format, as written.
    pub detail: String,
}

/// Everything vLLM's memory arithmetic reads from config.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HfConfig {
    pub model_type: String,
    pub architectures: Vec<String>,
    /// `text_config` when the text model is nested (multimodal checkpoints).
    pub nested_text_config: bool,
    pub n_layers: u64,
    pub hidden_size: u64,
    pub intermediate_size: u64,
    pub vocab_size: u64,
    pub n_heads: u64,
    pub n_kv_heads: u64,
    /// The config key the KV head count came from (vLLM's order of keys).
    pub kv_heads_key: String,
    pub head_size: u64,
    pub mla: Option<Mla>,
    pub sliding_window: Option<u64>,
    /// One entry per layer: true when the layer uses the sliding window.
    pub sliding_layers: Vec<bool>,
    pub experts: Option<Experts>,
    pub quantization: Option<Quantization>,
    /// `torch_dtype` (or `dtype`) as written; vLLM's `--dtype auto` starts from it.
    pub torch_dtype: Option<String>,
    pub max_len: MaxLen,
    pub tie_word_embeddings: bool,
}

impl HfConfig {
    /// Layers using the sliding window.
    pub fn n_sliding(&self) -> u64 {
        self.sliding_layers.iter().filter(|s| **s).count() as u64
    }
}

/// Reads `config.json` (vLLM reads tokenizer_config.json's `model_max_length` only for pooling
/// models, which are not served here).
pub fn read_config(dir: &Path) -> Result<HfConfig, SafetensorsError> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(SafetensorsError::NoConfig {
            path: dir.to_owned(),
        });
    }
    let root = super::checkpoint::read_json(&path)?;
    parse_config(&path, &root)
}

/// config.json's parsed value → facts. `path` names the file in errors.
pub fn parse_config(path: &Path, root: &Value) -> Result<HfConfig, SafetensorsError> {
    let err = |key: &str, reason: &str| SafetensorsError::Json {
        path: path.to_owned(),
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    if !root.is_object() {
        return Err(err("(file)", "config.json is not a JSON object"));
    }
    let nested = root.get("text_config").is_some_and(Value::is_object);
    let text = if nested { &root["text_config"] } else { root };
    let k = |key: &str| {
        if nested {
            format!("text_config.{key}")
        } else {
            key.to_owned()
        }
    };
    let opt_u64 = |v: &Value, key: &str| -> Result<Option<u64>, SafetensorsError> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x.as_u64().map(Some).ok_or_else(|| {
                err(
                    &k(key),
                    &format!("expected a non-negative integer, found {x}"),
                )
            }),
        }
    };
    let req_u64 = |key: &str| -> Result<u64, SafetensorsError> {
        opt_u64(text, key)?.ok_or_else(|| err(&k(key), "missing (vLLM needs it)"))
    };
    let model_type = text
        .get("model_type")
        .or_else(|| root.get("model_type"))
        .and_then(Value::as_str)
        .ok_or_else(|| err("model_type", "missing"))?
        .to_owned();
    let architectures: Vec<String> = root
        .get("architectures")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if !KNOWN_TYPES.contains(&model_type.as_str()) {
        return Err(SafetensorsError::UnknownArchitecture {
            path: path.to_owned(),
            model_type,
            architectures: architectures.join(", "),
        });
    }
    let n_layers = req_u64("num_hidden_layers")?;
    let hidden_size = req_u64("hidden_size")?;
    let n_heads = req_u64("num_attention_heads")?;
    if n_layers == 0 || n_heads == 0 || n_layers > 10_000 {
        return Err(err(
            &k("num_hidden_layers"),
            "layers and heads must be between 1 and 10000",
        ));
    }
    // ModelConfig.get_total_num_kv_heads: multi_query → 1, then the first of these keys.
    let (n_kv_heads, kv_heads_key) =
        if text.get("multi_query").and_then(Value::as_bool) == Some(true) {
            (1, k("multi_query"))
        } else {
            let mut found = (n_heads, k("num_attention_heads"));
            for key in [
                "n_head_kv",
                "num_kv_heads",
                "num_key_value_heads",
                "multi_query_group_num",
            ] {
                if let Some(n) = opt_u64(text, key)? {
                    found = (n, k(key));
                    break;
                }
            }
            found
        };
    let mla = if MLA_TYPES.contains(&model_type.as_str()) {
        match opt_u64(text, "kv_lora_rank")? {
            Some(kv_lora_rank) => Some(Mla {
                kv_lora_rank,
                qk_rope_head_dim: opt_u64(text, "qk_rope_head_dim")?.unwrap_or(0),
                qk_nope_head_dim: opt_u64(text, "qk_nope_head_dim")?.unwrap_or(0),
                v_head_dim: opt_u64(text, "v_head_dim")?.unwrap_or(0),
            }),
            None => None,
        }
    } else {
        None
    };
    // ModelConfig.get_head_size.
    let head_size = match &mla {
        Some(m) => m.kv_lora_rank + m.qk_rope_head_dim,
        None => match opt_u64(text, "head_dim")? {
            Some(h) => h,
            None => match opt_u64(text, "hidden_size_per_head")? {
                Some(h) => h,
                None => hidden_size / n_heads,
            },
        },
    };
    let sliding_window = match opt_u64(text, "sliding_window")? {
        // transformers' Qwen2/Qwen3 configs drop the window when use_sliding_window is false.
        Some(_) if text.get("use_sliding_window").and_then(Value::as_bool) == Some(false) => None,
        w => w,
    };
    let sliding_layers = sliding_layers(text, n_layers, sliding_window, &k)
        .map_err(|(key, reason)| err(&key, &reason))?;
    let experts = experts(text, &opt_u64)?;
    let quantization = root
        .get("quantization_config")
        .or_else(|| text.get("quantization_config"))
        .filter(|q| q.is_object())
        .map(quantization);
    let torch_dtype = ["torch_dtype", "dtype"].iter().find_map(|key| {
        root.get(*key)
            .or_else(|| text.get(*key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let max_len = max_len(text, &model_type, &k).map_err(|(key, reason)| err(&key, &reason))?;
    Ok(HfConfig {
        intermediate_size: opt_u64(text, "intermediate_size")?.unwrap_or(4 * hidden_size),
        vocab_size: opt_u64(text, "vocab_size")?.unwrap_or(0),
        tie_word_embeddings: root
            .get("tie_word_embeddings")
            .or_else(|| text.get("tie_word_embeddings"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        model_type,
        architectures,
        nested_text_config: nested,
        n_layers,
        hidden_size,
        n_heads,
        n_kv_heads,
        kv_heads_key,
        head_size,
        mla,
        sliding_window,
        sliding_layers,
        experts,
        quantization,
        torch_dtype,
        max_len,
    })
}

/// A config key and what is wrong with it.
pub(super) type KeyErr = (String, String);
/// Reads an optional non-negative integer key, naming the key when it is something else.
type OptU64<'a> = &'a dyn Fn(&Value, &str) -> Result<Option<u64>, SafetensorsError>;

/// Which layers slide. Interleaved models (`layer_types` holds both kinds, vllm
/// transformers_utils/config.py `is_interleaved`) slide where `layer_types` says
/// `sliding_attention` (gemma2/gemma3/llama/gpt_oss model files); older Gemma 3 configs give
/// `sliding_window_pattern` instead (transformers: layer i slides unless (i+1) % pattern == 0).
/// Otherwise the model-level window (CacheConfig.sliding_window) applies to every layer.
fn sliding_layers(
    text: &Value,
    n_layers: u64,
    window: Option<u64>,
    k: &dyn Fn(&str) -> String,
) -> Result<Vec<bool>, KeyErr> {
    let n = n_layers as usize;
    let Some(_) = window else {
        return Ok(vec![false; n]);
    };
    if let Some(types) = text.get("layer_types").and_then(Value::as_array) {
        let kinds: Vec<&str> = types.iter().map(|t| t.as_str().unwrap_or("")).collect();
        if kinds.len() != n {
            return Err((
                k("layer_types"),
                format!("{} entries for {n} layers (num_hidden_layers)", kinds.len()),
            ));
        }
        if let Some(bad) = kinds
            .iter()
            .find(|t| !matches!(**t, "sliding_attention" | "full_attention"))
        {
            return Err((
                k("layer_types"),
                format!("layer type `{bad}` (linear/recurrent layers are not modelled)"),
            ));
        }
        return Ok(kinds.iter().map(|t| *t == "sliding_attention").collect());
    }
    if let Some(p) = text.get("sliding_window_pattern").and_then(Value::as_u64) {
        if p == 0 {
            return Err((k("sliding_window_pattern"), "must be at least 1".into()));
        }
        return Ok((0..n_layers).map(|i| (i + 1) % p != 0).collect());
    }
    Ok(vec![true; n])
}

fn experts(text: &Value, opt_u64: OptU64<'_>) -> Result<Option<Experts>, SafetensorsError> {
    let mut count = None;
    for key in ["num_experts", "n_routed_experts", "num_local_experts"] {
        if let Some(n) = opt_u64(text, key)? {
            count = Some(n);
            break;
        }
    }
    let Some(count) = count.filter(|c| *c > 1) else {
        return Ok(None);
    };
    Ok(Some(Experts {
        count,
        per_token: opt_u64(text, "num_experts_per_tok")?
            .or(opt_u64(text, "experts_per_token")?)
            .unwrap_or(1),
        shared: opt_u64(text, "n_shared_experts")?.unwrap_or(0),
        intermediate_size: opt_u64(text, "moe_intermediate_size")?
            .or(opt_u64(text, "intermediate_size")?)
            .unwrap_or(0),
    }))
}

fn quantization(q: &Value) -> Quantization {
    let method = q
        .get("quant_method")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let mut parts = Vec::new();
    for key in [
        "bits",
        "group_size",
        "fmt",
        "format",
        "weight_block_size",
        "activation_scheme",
    ] {
        if let Some(v) = q.get(key).filter(|v| !v.is_null()) {
            parts.push(format!("{key}={v}"));
        }
    }
    if q.get("kv_cache_scheme").is_some_and(|v| !v.is_null()) {
        parts.push("kv_cache_scheme set".into());
    }
    Quantization {
        method,
        detail: parts.join(", "),
    }
}
