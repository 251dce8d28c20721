//! Every fixture in models/ read by our reader equals what gguf-py's GGUFReader reports
//! (models/*.expect.json, written by scripts/make_fixtures.py).

use std::path::{Path, PathBuf};

use crate::support::models_dir as models;
use profilec::gguf::{self, MetaValue};
use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(models())
        .expect("models/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    v.sort();
    v
}

fn expectation(gguf: &Path) -> Value {
    let p = gguf.with_extension("expect.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("expectation exists")).expect("json")
}

#[test]
fn there_are_thirteen_fixture_files() {
    assert_eq!(fixtures().len(), 13, "{:?}", fixtures());
}

#[test]
fn tensor_tables_equal_gguf_py() {
    for path in fixtures() {
        let exp = expectation(&path);
        let file = gguf::read_file(&path).expect("fixture reads");
        let tensors = exp["tensors"].as_array().expect("tensors");
        assert_eq!(file.tensors.len(), tensors.len(), "{}", path.display());
        for (t, e) in file.tensors.iter().zip(tensors) {
            assert_eq!(t.name, e["name"].as_str().unwrap_or_default());
            assert_eq!(
                t.ggml_type.name,
                e["type"].as_str().unwrap_or_default(),
                "{}",
                t.name
            );
            let ne: Vec<u64> = e["ne"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            assert_eq!(t.dims, ne, "{}", t.name);
            assert_eq!(Some(t.n_elements), e["n_elements"].as_u64(), "{}", t.name);
            assert_eq!(
                Some(t.n_bytes),
                e["n_bytes"].as_u64(),
                "{} in {}",
                t.name,
                path.display()
            );
            assert_eq!(Some(t.data_offset), e["data_offset"].as_u64(), "{}", t.name);
        }
        assert_eq!(Some(file.file_size), exp["file_size"].as_u64());
    }
}

fn same(ours: &MetaValue, theirs: &Value) -> bool {
    match (ours, theirs) {
        (MetaValue::Int(i), Value::Number(n)) => n.as_i64().map(i128::from) == Some(*i),
        (MetaValue::Float(f), Value::Number(n)) => n
            .as_f64()
            .is_some_and(|g| (f - g).abs() <= 1e-6 * g.abs().max(1.0)),
        (MetaValue::Bool(b), Value::Bool(c)) => b == c,
        (MetaValue::String(s), Value::String(t)) => s == t,
        _ => false,
    }
}

#[test]
fn metadata_equals_gguf_py() {
    for path in fixtures() {
        let exp = expectation(&path);
        let file = gguf::read_file(&path).expect("fixture reads");
        let meta = exp["metadata"].as_object().expect("metadata");
        assert_eq!(
            file.metadata.entries.len(),
            meta.len(),
            "{}",
            path.display()
        );
        for (key, e) in meta {
            let ours = file
                .metadata
                .get(key)
                .unwrap_or_else(|| panic!("{key} missing"));
            if e["type"] == "ARRAY" {
                let MetaValue::Array(a) = ours else {
                    panic!("{key} is not an array")
                };
                assert_eq!(Some(a.len), e["len"].as_u64(), "{key}");
                if let Some(vals) = e.get("values").and_then(Value::as_array) {
                    let kept = a.values.as_ref().expect("short arrays are kept");
                    assert_eq!(kept.len(), vals.len());
                    assert!(kept.iter().zip(vals).all(|(o, t)| same(o, t)), "{key}");
                }
            } else {
                assert!(same(ours, &e["value"]), "{key}: {ours:?} vs {}", e["value"]);
            }
        }
    }
}

#[test]
fn header_is_version_3_with_data_after_header() {
    for path in fixtures() {
        let file = gguf::read_file(&path).expect("reads");
        assert_eq!(file.version, 3);
        assert_eq!(file.alignment, 32);
        assert_eq!(file.data_offset % 32, 0);
        let first = file.tensors.iter().map(|t| t.data_offset).min();
        assert_eq!(first, Some(file.data_offset), "{}", path.display());
    }
}

#[test]
fn vocabulary_is_counted_not_kept() {
    let file = gguf::read_file(&models().join("llama-gqa.gguf")).expect("reads");
    let Some(MetaValue::Array(a)) = file.metadata.get("tokenizer.ggml.tokens") else {
        panic!("tokens missing")
    };
    assert_eq!(a.len, 320);
    assert!(a.values.is_none(), "a 320-string array is only counted");
    assert_eq!(
        file.metadata.array("tokenizer.ggml.scores").map(<[_]>::len),
        Some(320)
    );
}

#[test]
fn type_table_has_every_ggml_type() {
    let all = gguf::types::all();
    assert_eq!(all.len(), 35);
    let q4k = gguf::GgmlType::from_name("q4_k").expect("Q4_K");
    assert_eq!((q4k.id, q4k.block_size, q4k.type_size), (12, 256, 144));
    let mx = gguf::GgmlType::from_id(39).expect("MXFP4");
    assert_eq!((mx.name, mx.block_size, mx.type_size), ("MXFP4", 32, 17));
    assert_eq!(gguf::GgmlType::from_id(4), None, "Q4_2 was removed");
    assert_eq!(q4k.bytes_for(4096, 4096 * 4096), Some(4096 * 16 * 144));
    assert_eq!(q4k.bytes_for(100, 100), None, "a row must be whole blocks");
}
