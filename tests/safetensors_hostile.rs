//! Bad model directories: every problem is a typed error naming the file (and key or tensor),
//! never a panic, never an unbounded read.

use std::io::Write;
use std::path::Path;

use profilec::safetensors::{self, SafetensorsError, header::read_shard};

use crate::safetensors_facts::{copy_dir, hf};
use crate::support::profilec;

fn shard(dir: &Path, name: &str, header: &[u8], data: u64) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header).unwrap();
    f.set_len(8 + header.len() as u64 + data).unwrap();
    p
}

fn header_error(header: &str, data: u64) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = shard(dir.path(), "model.safetensors", header.as_bytes(), data);
    match read_shard(&p) {
        Err(e @ SafetensorsError::Header { .. }) => e.to_string(),
        other => panic!("expected a header error for {header}, got {other:?}"),
    }
}

#[test]
fn a_header_claiming_2_pow_60_bytes_reads_nothing_of_the_kind() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.safetensors");
    let mut bytes = (1u64 << 60).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&p, bytes).unwrap();
    let e = read_shard(&p).unwrap_err().to_string();
    assert!(
        e.contains("1152921504606846976") && e.contains("limit"),
        "{e}"
    );
    // Under the cap but past the end of the file: truncated, still no big read.
    let mut bytes = 90_000_000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&p, bytes).unwrap();
    let e = read_shard(&p).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn every_prefix_of_a_real_shard_is_an_error_not_a_panic() {
    let bytes = std::fs::read(hf("qwen3/model.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.safetensors");
    // Every length through the header, then a few inside the data.
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let lens = (0..header_end + 4).chain([bytes.len() / 2, bytes.len() - 1]);
    for len in lens {
        std::fs::write(&p, &bytes[..len]).unwrap();
        assert!(read_shard(&p).is_err(), "prefix of {len} bytes accepted");
    }
    std::fs::write(&p, &bytes).unwrap();
    assert!(read_shard(&p).is_ok());
}

#[test]
fn offsets_that_overlap_leave_holes_or_run_past_the_file_are_named() {
    let two = |a: &str, b: &str| {
        format!(
            r#"{{"a":{{"dtype":"F16","shape":[2],"data_offsets":{a}}},"b":{{"dtype":"F16","shape":[2],"data_offsets":{b}}}}}"#
        )
    };
    let e = header_error(&two("[0,4]", "[2,6]"), 6);
    assert!(e.contains("`a` and `b` overlap"), "{e}");
    let e = header_error(&two("[0,4]", "[8,12]"), 12);
    assert!(
        e.contains("`b` starts at data offset 8, leaving a hole"),
        "{e}"
    );
    let e = header_error(&two("[0,4]", "[4,8]"), 6);
    assert!(
        e.contains("`b` data ends") && e.contains("truncated"),
        "{e}"
    );
    let e = header_error(
        r#"{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}"#,
        4,
    );
    assert!(
        e.contains("F16 × [3] is 6 bytes but data_offsets span 4"),
        "{e}"
    );
    let e = header_error(
        r#"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}"#,
        1,
    );
    assert!(e.contains("unknown dtype `Q4`"), "{e}");
    let e = header_error(
        r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#,
        4,
    );
    assert!(e.contains("overflows"), "{e}");
    let e = header_error("[1,2]", 0);
    assert!(e.contains("not an object"), "{e}");
    let e = header_error("{\"a\":", 0);
    assert!(e.contains("not valid JSON"), "{e}");
}

#[test]
fn directory_problems_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let e = safetensors::inspect(dir.path()).unwrap_err();
    assert_eq!(e.code(), "safetensors::no-config");

    let m = dir.path().join("m");
    copy_dir(&hf("llama"), &m);
    std::fs::remove_file(m.join("model-00002-of-00002.safetensors")).unwrap();
    let e = safetensors::inspect(&m).unwrap_err();
    assert_eq!(e.code(), "safetensors::missing-shard");
    assert!(
        e.to_string().contains("model-00002-of-00002.safetensors"),
        "{e}"
    );
    assert!(
        e.to_string().contains("model.safetensors.index.json"),
        "{e}"
    );

    let u = dir.path().join("u");
    copy_dir(&hf("qwen3"), &u);
    let cfg = std::fs::read_to_string(u.join("config.json")).unwrap();
    std::fs::write(u.join("config.json"), cfg.replace("\"qwen3\"", "\"mamba\"")).unwrap();
    let e = safetensors::inspect(&u).unwrap_err();
    assert_eq!(e.code(), "safetensors::unknown-architecture");
    assert!(e.to_string().contains("mamba"), "{e}");

    std::fs::write(
        u.join("config.json"),
        cfg.replace(
            "\"num_hidden_layers\": 4",
            "\"num_hidden_layers\": \"four\"",
        ),
    )
    .unwrap();
    let e = safetensors::inspect(&u).unwrap_err().to_string();
    assert!(e.contains("config.json: key `num_hidden_layers`"), "{e}");

    let g = dir.path().join("g");
    copy_dir(&hf("gemma3-swa"), &g);
    let cfg = std::fs::read_to_string(g.join("config.json")).unwrap();
    std::fs::write(
        g.join("config.json"),
        cfg.replace("\"full_attention\"", "\"linear_attention\""),
    )
    .unwrap();
    let e = safetensors::inspect(&g).unwrap_err().to_string();
    assert!(
        e.contains("key `layer_types`") && e.contains("linear_attention"),
        "{e}"
    );

    let n = dir.path().join("n");
    std::fs::create_dir(&n).unwrap();
    std::fs::copy(hf("qwen3/config.json"), n.join("config.json")).unwrap();
    assert_eq!(
        safetensors::inspect(&n).unwrap_err().code(),
        "safetensors::no-shards"
    );
}

#[test]
fn the_cli_says_what_and_how_to_fix_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    copy_dir(&hf("llama"), &m);
    std::fs::remove_file(m.join("model-00002-of-00002.safetensors")).unwrap();
    let out = profilec().arg("inspect").arg(&m).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[safetensors::missing-shard]") && err.contains("help: download"),
        "{err}"
    );
}
