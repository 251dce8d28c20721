//! Hostile input: truncated files, absurd counts, bad types and offsets give a typed error,
//! never a panic.

use std::io::Cursor;

use profilec::gguf::{self, FormatError, read_header};
use proptest::prelude::*;

use crate::common;
use crate::support::models_dir as models;
use common::Gguf;

fn parse(bytes: &[u8]) -> Result<gguf::GgufFile, FormatError> {
    read_header(Cursor::new(bytes), bytes.len() as u64)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(models().join(name)).expect("fixture")
}

#[test]
fn every_prefix_of_a_fixture_is_an_error_until_the_last_tensor_ends() {
    // The smallest fixture, every length; `every_header_prefix…` covers the other headers.
    for name in ["split-llama-00003-of-00003.gguf"] {
        let bytes = fixture_bytes(name);
        let full = parse(&bytes).expect("whole file parses");
        let last_end = full
            .tensors
            .iter()
            .map(|t| t.data_offset + t.n_bytes)
            .max()
            .unwrap_or(0);
        for len in 0..=bytes.len() {
            let r = parse(&bytes[..len]);
            if (len as u64) < last_end {
                match r {
                    Err(
                        FormatError::Truncated { .. }
                        | FormatError::CountTooLarge { .. }
                        | FormatError::TensorPastEnd { .. },
                    ) => {}
                    other => panic!("{name} prefix {len}: {other:?}"),
                }
            } else {
                assert_eq!(
                    r.map(|f| f.tensors.len()),
                    Ok(full.tensors.len()),
                    "{name} {len}"
                );
            }
        }
    }
}

#[test]
fn every_header_prefix_of_every_fixture_is_truncated() {
    for entry in std::fs::read_dir(models()).expect("models") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "gguf") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let full = parse(&bytes).expect("parses");
        // Every length for a few files (all header constructs occur in them); a stride for the
        // rest keeps the debug-build test under a few seconds.
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let step = if name.starts_with("split") || name.starts_with("gpt-oss") {
            1
        } else {
            17
        };
        for len in (0..full.data_offset as usize).step_by(step) {
            assert!(
                matches!(
                    parse(&bytes[..len]),
                    Err(FormatError::Truncated { .. }
                        | FormatError::CountTooLarge { .. }
                        | FormatError::TensorPastEnd { .. })
                ),
                "{} prefix {len}",
                path.display()
            );
        }
    }
}

#[test]
fn magic_and_version_errors() {
    assert_eq!(
        parse(b"GGML\x03\0\0\0"),
        Err(FormatError::BadMagic { found: *b"GGML" })
    );
    let v = |version: u32| Gguf::new().version(version).bytes();
    assert_eq!(
        parse(&v(1)),
        Err(FormatError::UnsupportedVersion { version: 1 })
    );
    assert_eq!(
        parse(&v(4)),
        Err(FormatError::UnsupportedVersion { version: 4 })
    );
    assert_eq!(
        parse(&v(3u32.swap_bytes())),
        Err(FormatError::BigEndian { version: 3 })
    );
    assert_eq!(parse(&v(2)).map(|f| f.version), Ok(2));
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    let huge = 1u64 << 60;
    let r = parse(&Gguf::new().counts(huge, 0).bytes());
    assert!(
        matches!(r, Err(FormatError::CountTooLarge { count, .. }) if count == huge),
        "{r:?}"
    );
    let r = parse(&Gguf::new().counts(0, huge).bytes());
    assert!(
        matches!(r, Err(FormatError::CountTooLarge { count, .. }) if count == huge),
        "{r:?}"
    );
    // A string array claiming 2^60 entries.
    let r = parse(
        &Gguf::new()
            .kv_raw(
                "a.b",
                9,
                &[&8u32.to_le_bytes()[..], &huge.to_le_bytes()].concat(),
            )
            .bytes(),
    );
    assert!(matches!(r, Err(FormatError::CountTooLarge { .. })), "{r:?}");
    // A key longer than the file.
    let mut b = Gguf::new().counts(0, 1).bytes();
    b.extend_from_slice(&(1u64 << 62).to_le_bytes());
    b.extend_from_slice(&[0; 20]);
    assert!(matches!(parse(&b), Err(FormatError::Truncated { .. })));
    // A string value longer than the file.
    let r = parse(
        &Gguf::new()
            .kv_raw("a.b", 8, &(u64::MAX).to_le_bytes())
            .bytes(),
    );
    assert!(matches!(r, Err(FormatError::Truncated { .. })), "{r:?}");
}

#[test]
fn bad_metadata_values() {
    let r = parse(&Gguf::new().kv_raw("a.b", 13, &[0]).bytes());
    assert_eq!(
        r,
        Err(FormatError::UnknownValueType {
            key: "a.b".into(),
            type_id: 13
        })
    );
    let nested = [
        &9u32.to_le_bytes()[..],
        &1u64.to_le_bytes(),
        &0u32.to_le_bytes(),
    ]
    .concat();
    let r = parse(&Gguf::new().kv_raw("a.b", 9, &nested).bytes());
    assert_eq!(r, Err(FormatError::NestedArray { key: "a.b".into() }));
    let r = parse(&Gguf::new().kv_u32("a.b", 1).kv_u32("a.b", 2).bytes());
    assert_eq!(r, Err(FormatError::DuplicateKey { key: "a.b".into() }));
    let r = parse(&Gguf::new().kv_u32("general.alignment", 3).bytes());
    assert!(matches!(r, Err(FormatError::BadAlignment { .. })), "{r:?}");
    let r = parse(
        &Gguf::new()
            .kv_raw("a.b", 8, &[&2u64.to_le_bytes()[..], &[0xff, 0xfe]].concat())
            .bytes(),
    );
    assert!(matches!(r, Err(FormatError::InvalidUtf8 { .. })), "{r:?}");
}

#[test]
fn bad_tensor_entries() {
    let one =
        |dims: &[u64], ty: u32, off: u64| Gguf::new().tensor("t", dims, ty, off).data(256).bytes();
    let r = parse(&one(&[32], 77, 0));
    assert_eq!(
        r,
        Err(FormatError::UnknownTensorType {
            tensor: "t".into(),
            type_id: 77
        })
    );
    assert!(matches!(
        parse(&one(&[32], 0, 1 << 40)),
        Err(FormatError::TensorPastEnd { .. })
    ));
    assert!(matches!(
        parse(&one(&[32], 0, u64::MAX - 31)),
        Err(FormatError::TensorPastEnd { .. })
    ));
    assert!(matches!(
        parse(&one(&[32], 0, 16)),
        Err(FormatError::Misaligned { offset: 16, .. })
    ));
    assert!(matches!(
        parse(&one(&[1 << 40, 1 << 40], 0, 0)),
        Err(FormatError::InvalidTensor { .. })
    ));
    assert!(matches!(
        parse(&one(&[u64::MAX], 0, 0)),
        Err(FormatError::InvalidTensor { .. })
    ));
    assert!(matches!(
        parse(&one(&[1, 1, 1, 1, 1], 0, 0)),
        Err(FormatError::InvalidTensor { .. })
    ));
    assert!(matches!(
        parse(&one(&[], 0, 0)),
        Err(FormatError::InvalidTensor { .. })
    ));
    // Q4_K (256 per block) with a row of 100.
    assert!(matches!(
        parse(&one(&[100], 12, 0)),
        Err(FormatError::InvalidTensor { .. })
    ));
    let two = Gguf::new()
        .tensor("a", &[32], 0, 0)
        .tensor("b", &[32], 0, 64)
        .data(256)
        .bytes();
    assert_eq!(
        parse(&two),
        Err(FormatError::TensorOverlap {
            first: "a".into(),
            second: "b".into()
        })
    );
    let dup = Gguf::new()
        .tensor("a", &[8], 0, 0)
        .tensor("a", &[8], 0, 32)
        .data(256)
        .bytes();
    assert_eq!(
        parse(&dup),
        Err(FormatError::DuplicateTensor { tensor: "a".into() })
    );
    let ok = Gguf::new()
        .tensor("a", &[8], 0, 0)
        .tensor("b", &[8], 0, 32)
        .data(64)
        .bytes();
    assert_eq!(parse(&ok).map(|f| f.tensors.len()), Ok(2));
}

fn mutated(bytes: &[u8], edits: &[(usize, u8)], limit: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for &(pos, val) in edits {
        let i = pos % limit.max(1);
        if let Some(x) = b.get_mut(i) {
            *x = val;
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random byte edits in the header of a real fixture never panic the reader.
    #[test]
    fn mutated_headers_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
    ) {
        let name = ["llama-gqa.gguf", "lfm2-hybrid.gguf", "deepseek2-mla.gguf"][which];
        let bytes = fixture_bytes(name);
        let header_end = parse(&bytes).map(|f| f.data_offset as usize).unwrap_or(bytes.len());
        let b = mutated(&bytes, &edits, header_end);
        let _ = parse(&b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The whole pipeline (open + facts) on mutated files never panics either.
    #[test]
    fn mutated_models_never_panic_in_facts(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let name = ["qwen3next-hybrid.gguf", "gemma3-swa.gguf", "gpt-oss-mxfp4.gguf", "qwen2moe-shexp.gguf"][which];
        let bytes = fixture_bytes(name);
        let header_end = parse(&bytes).map(|f| f.data_offset as usize).unwrap_or(bytes.len());
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.gguf");
        std::fs::write(&p, mutated(&bytes, &edits, header_end)).expect("write");
        if let Err(e) = gguf::inspect(&p) {
            prop_assert!(!e.to_string().is_empty());
            prop_assert!(e.code().starts_with("gguf::"));
        }
    }
}
