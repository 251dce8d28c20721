//! Metadata values. Small arrays (per-layer head counts, SWA patterns) are kept; large ones (a
//! 262k-token vocabulary, BPE merges) keep only their element type and length.

use std::collections::BTreeMap;

use serde::Serialize;

/// Arrays of numbers or bools up to this length are kept in memory (per-layer arrays are at most
/// a few hundred entries).
pub const MAX_KEPT_ARRAY: u64 = 4096;
/// String arrays up to this length are kept (`general.tags`, `general.languages`); longer ones
/// (tokens, merges) are only counted.
pub const MAX_KEPT_STRING_ARRAY: u64 = 64;

/// GGUF value type ids (gguf.h `gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    pub fn from_id(id: u32) -> Option<ValueType> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// Encoded size of a fixed-size value; `None` for strings and arrays.
    pub fn fixed_size(self) -> Option<u64> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetaValue {
    Int(i128),
    Float(f64),
    Bool(bool),
    String(String),
    Array(MetaArray),
}

/// An array value. `values` is `None` when the array was too long to keep; `len` is always exact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetaArray {
    pub elem: ValueType,
    pub len: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<MetaValue>>,
}

impl MetaValue {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            MetaValue::Int(i) => u64::try_from(*i).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            MetaValue::Int(i) => i64::try_from(*i).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            MetaValue::Float(f) => Some(*f),
            MetaValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            MetaValue::Bool(b) => Some(*b),
            MetaValue::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}

/// All metadata key/value pairs of one file, by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Metadata {
    pub entries: BTreeMap<String, MetaValue>,
}

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.entries.get(key)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.as_u64()
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// Length of an array value (kept or not).
    pub fn array_len(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            MetaValue::Array(a) => Some(a.len),
            _ => None,
        }
    }

    /// The kept elements of an array value.
    pub fn array(&self, key: &str) -> Option<&[MetaValue]> {
        match self.get(key)? {
            MetaValue::Array(a) => a.values.as_deref(),
            _ => None,
        }
    }
}
