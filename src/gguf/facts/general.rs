//! `general.*` strings and the sampling recommendations some GGUFs carry
//! (`general.sampling.*`, written by convert_hf_to_gguf from generation_config.json).

use serde::Serialize;

use crate::gguf::value::Metadata;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GeneralInfo {
    pub name: Option<String>,
    pub basename: Option<String>,
    pub finetune: Option<String>,
    pub size_label: Option<String>,
    /// `general.file_type` as llama.cpp names it (`Q4_K_M`), or `type N` if unknown.
    pub quantization: Option<String>,
    pub file_type: Option<u64>,
}

impl GeneralInfo {
    pub fn from_metadata(m: &Metadata) -> GeneralInfo {
        let s = |k: &str| m.str(k).map(str::to_string);
        let file_type = m.u64("general.file_type");
        GeneralInfo {
            name: s("general.name"),
            basename: s("general.basename"),
            finetune: s("general.finetune"),
            size_label: s("general.size_label"),
            quantization: file_type
                .map(|t| ftype_name(t).map_or(format!("type {t}"), String::from)),
            file_type,
        }
    }
}

/// `llama_ftype` names (llama.h `LLAMA_FTYPE_MOSTLY_*`).
pub fn ftype_name(t: u64) -> Option<&'static str> {
    Some(match t {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => return None,
    })
}

/// Recommended sampler settings (`general.sampling.*`); absent keys stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sampling {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xtc_probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xtc_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty_last_n: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty_repeat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirostat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirostat_tau: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirostat_eta: Option<f64>,
}

impl Sampling {
    pub fn from_metadata(m: &Metadata) -> Sampling {
        let f = |k: &str| m.f64(&format!("general.sampling.{k}"));
        let i = |k: &str| {
            m.get(&format!("general.sampling.{k}"))
                .and_then(|v| v.as_i64())
        };
        Sampling {
            sequence: m.str("general.sampling.sequence").map(str::to_string),
            top_k: i("top_k"),
            top_p: f("top_p"),
            min_p: f("min_p"),
            xtc_probability: f("xtc_probability"),
            xtc_threshold: f("xtc_threshold"),
            temp: f("temp"),
            penalty_last_n: i("penalty_last_n"),
            penalty_repeat: f("penalty_repeat"),
            mirostat: i("mirostat"),
            mirostat_tau: f("mirostat_tau"),
            mirostat_eta: f("mirostat_eta"),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Sampling::default()
    }
}
