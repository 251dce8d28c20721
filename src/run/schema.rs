//! What the advisor may change, and the JSON schema that says so: generated from profilec's own
//! knowledge (the flag table's cache types and flash-attention modes, the model's trained
//! context, the machine's cores), so the advisor is asked only for fields that neither move
//! weights between devices nor change the model's output quality beyond the allowlist.
//!
//! Not allowlisted, and so never taken from advice: the model, `-ngl`, `-ot`, devices,
//! `--split-mode`/`--tensor-split`/`--main-gpu`, `--fit`, the address, and a context beyond the
//! trained length (docs/run.md).

use serde_json::{Value, json};

use crate::flags::{self, CACHE_TYPES, ValueKind};

/// The name the schema is sent under (`response_format.json_schema.name`).
pub const SCHEMA_NAME: &str = "profilec_run_advice";
/// The longest free-text reason accepted from the advisor (characters).
pub const REASON_MAX_CHARS: usize = 160;

/// The value an allowlisted field takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// An integer in `min..=max`.
    Int { min: u64, max: u64 },
    /// One of these words.
    Choice(Vec<&'static str>),
}

/// One field the advisor may set: its JSON key, the llama-server flag it becomes, its range.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key: &'static str,
    pub flag: &'static str,
    pub kind: Kind,
    /// What the range rests on, for the prompt and for clamp reasons.
    pub bound: String,
}

/// The model facts the ranges depend on.
#[derive(Debug, Clone, Copy)]
pub struct ModelLimits {
    /// The trained context (`n_ctx_train`); 0 when unknown.
    pub n_ctx_train: u64,
}

/// The smallest context and batch profilec plans for (optimize's ladder ends at 256).
const MIN_CTX: u64 = 256;
/// llama.cpp's physical batch sizes beyond this buy nothing on the GPUs it supports and only
/// grow the compute buffers.
const MAX_BATCH: u64 = 8192;
/// Server slots: each one divides the context (`n_ctx_seq = n_ctx / n_parallel`).
const MAX_PARALLEL: u64 = 16;

/// The allowlist for a model on a machine, in the order fields are merged.
pub fn fields(model: ModelLimits, logical_cores: u32) -> Vec<Field> {
    let logical = u64::from(logical_cores.max(1));
    let ctx_max = if model.n_ctx_train > 0 {
        model.n_ctx_train.max(MIN_CTX)
    } else {
        // Unknown training length: llama.cpp's own cap for a 32-bit position.
        1 << 20
    };
    let fa = match flags::lookup("--flash-attn").map(|s| &s.kind) {
        Some(ValueKind::Enum(words)) => words.clone(),
        _ => vec!["on", "off", "auto"],
    };
    vec![
        Field {
            key: "ctx_size",
            flag: "--ctx-size",
            kind: Kind::Int {
                min: MIN_CTX,
                max: ctx_max,
            },
            bound: format!("the model's trained context {}", model.n_ctx_train),
        },
        Field {
            key: "parallel",
            flag: "--parallel",
            kind: Kind::Int {
                min: 1,
                max: MAX_PARALLEL,
            },
            bound: format!("at most {MAX_PARALLEL} server slots"),
        },
        Field {
            key: "batch_size",
            flag: "--batch-size",
            kind: Kind::Int {
                min: 32,
                max: MAX_BATCH,
            },
            bound: format!("32 to {MAX_BATCH} tokens"),
        },
        Field {
            key: "ubatch_size",
            flag: "--ubatch-size",
            kind: Kind::Int {
                min: 32,
                max: MAX_BATCH,
            },
            bound: format!("32 to {MAX_BATCH} tokens, and at most --batch-size"),
        },
        Field {
            key: "threads",
            flag: "--threads",
            kind: Kind::Int {
                min: 1,
                max: logical,
            },
            bound: format!("the machine's {logical} logical cores"),
        },
        Field {
            key: "threads_batch",
            flag: "--threads-batch",
            kind: Kind::Int {
                min: 1,
                max: logical,
            },
            bound: format!("the machine's {logical} logical cores"),
        },
        Field {
            key: "flash_attn",
            flag: "--flash-attn",
            kind: Kind::Choice(fa),
            bound: "llama-server's flash-attention modes".into(),
        },
        Field {
            key: "cache_type_k",
            flag: "--cache-type-k",
            kind: Kind::Choice(CACHE_TYPES.to_vec()),
            bound: "llama-server's KV cache types".into(),
        },
        Field {
            key: "cache_type_v",
            flag: "--cache-type-v",
            kind: Kind::Choice(CACHE_TYPES.to_vec()),
            bound: "llama-server's KV cache types".into(),
        },
    ]
}

/// The JSON schema of one advice object: every allowlisted field required but nullable (null
/// keeps profilec's value), nothing else allowed — the shape OpenAI's strict mode demands and
/// llama.cpp's json-schema converter turns into a grammar (common/json-schema.cpp: a type list
/// is an anyOf, integer bounds become digit rules).
pub fn schema(fields: &[Field]) -> Value {
    let mut props = serde_json::Map::new();
    for f in fields {
        let prop = match &f.kind {
            Kind::Int { min, max } => json!({
                "type": ["integer", "null"],
                "minimum": min,
                "maximum": max,
            }),
            Kind::Choice(words) => {
                let mut values: Vec<Value> = words.iter().map(|w| json!(w)).collect();
                values.push(Value::Null);
                json!({"type": ["string", "null"], "enum": values})
            }
        };
        props.insert(f.key.into(), prop);
    }
    props.insert(
        "reason".into(),
        json!({"type": "string", "maxLength": REASON_MAX_CHARS}),
    );
    let required: Vec<&str> = fields
        .iter()
        .map(|f| f.key)
        .chain(std::iter::once("reason"))
        .collect();
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// The `response_format` llama-server honours: `{"type":"json_schema","json_schema":{name,
/// strict, schema}}` (tools/server/server-common.cpp reads `json_schema.schema`; the flat
/// `{"type":"json_schema","schema":…}` form its README shows is ignored there).
pub fn response_format(schema: &Value) -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": SCHEMA_NAME,
            "strict": true,
            "schema": schema,
        }
    })
}
