//! Split models: a missing or mismatched shard is an error naming the file.

use std::path::{Path, PathBuf};

use crate::support::models_dir as models;
use profilec::gguf::{GgufError, Model, shard_path, split_name};

/// Copies the three shards into a temp dir under `prefix`.
fn copy_set(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    (1..=3)
        .map(|i| {
            let src = models().join(format!("split-llama-{i:05}-of-00003.gguf"));
            let dst = dir.join(format!("{prefix}-{i:05}-of-00003.gguf"));
            std::fs::copy(&src, &dst).expect("copy");
            dst
        })
        .collect()
}

#[test]
fn split_names_round_trip() {
    let p = Path::new("/m/Qwen3-235B-Q4_K_M-00002-of-00005.gguf");
    let (prefix, i, n) = split_name(p).expect("split name");
    assert_eq!(
        (prefix.as_path(), i, n),
        (Path::new("/m/Qwen3-235B-Q4_K_M"), 2, 5)
    );
    assert_eq!(
        shard_path(&prefix, 5, 5),
        Path::new("/m/Qwen3-235B-Q4_K_M-00005-of-00005.gguf")
    );
    assert_eq!(split_name(Path::new("model-1-of-3.gguf")), None);
    assert_eq!(split_name(Path::new("model.gguf")), None);
}

#[test]
fn any_shard_opens_the_whole_set() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = copy_set(dir.path(), "m");
    for f in &files {
        let m = Model::open(f).expect("opens");
        assert_eq!((m.shards.len(), m.tensors.len()), (3, 39));
        assert_eq!(m.shards[0].path, files[0]);
    }
}

#[test]
fn missing_shard_names_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = copy_set(dir.path(), "m");
    std::fs::remove_file(&files[2]).expect("rm");
    let e = Model::open(&files[0]).expect_err("missing shard");
    assert!(
        matches!(&e, GgufError::MissingShard { index: 3, count: 3, expected, .. } if *expected == files[2])
    );
    assert_eq!((e.code(), e.exit_code()), ("gguf::missing-shard", 2));
    assert!(e.to_string().contains("m-00003-of-00003.gguf"), "{e}");
}

#[test]
fn shard_from_another_position_is_a_mismatch() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = copy_set(dir.path(), "m");
    std::fs::copy(&files[0], &files[1]).expect("overwrite shard 2 with shard 1");
    let e = Model::open(&files[0]).expect_err("mismatch");
    assert!(
        matches!(&e, GgufError::ShardMismatch { path, .. } if *path == files[1]),
        "{e}"
    );
    assert!(e.to_string().contains("split.no"), "{e}");
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn shard_with_a_foreign_name_is_a_mismatch() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = copy_set(dir.path(), "m");
    let renamed = dir.path().join("renamed.gguf");
    std::fs::rename(&files[0], &renamed).expect("rename");
    let e = Model::open(&renamed).expect_err("name");
    assert!(e.to_string().contains("NAME-00001-of-00003.gguf"), "{e}");
    // A single-file model named like a shard.
    let single = dir.path().join("x-00001-of-00002.gguf");
    std::fs::copy(models().join("llama-gqa.gguf"), &single).expect("copy");
    let e = Model::open(&single).expect_err("no split.count");
    assert!(matches!(e, GgufError::ShardMismatch { .. }), "{e}");
}
