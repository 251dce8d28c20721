//! `check` streams a file through its rules a chunk of sections at a time (src/check/pass.rs):
//! it must find exactly what checking the whole file at once finds, in the same order, also
//! when a rule's two ends (a duplicate id, a bench twin, a role) sit in different chunks.

use profilec::check::{CheckOptions, check_streamed, check_text};

use crate::support::{limited, root};

/// Over a megabyte (several chunks): every whole-file rule with its two ends far apart, plus
/// line-level problems, EXTRA_ARGS diagnostics and fixture models the model rules open.
fn big_conf() -> String {
    let mut s = String::from("\u{FEFF}ORPHAN=1\n# a comment\n");
    s.push_str("[dup]\nNAME=D\nMODEL=llama-gqa.gguf\n\n");
    s.push_str("[bench-late]\nNAME=B\nMODEL=qwen3moe.gguf\nFIT_TARGET=128\n\n");
    s.push_str("[bench-none]\nNAME=N\nMODEL=llama-gqa.gguf\n\n");
    s.push_str("[early]\nNAME=E\nMODEL=llama-gqa.gguf\nROLES=coding,late\n\n");
    for i in 0..10_000 {
        match i % 500 {
            0 => s.push_str(&format!("[bad{i}\nNAME=overwritten\n\n")),
            1 => s.push_str(&format!("[p{i}] trailing\r\nNAME=x\r\n\r\n")),
            2 => s.push_str(&format!("[p{i}]\nname=lower\nMODEL=/abs/m.gguf\n\n")),
            // A fixture model now and then (the model rules open it once), else a missing file.
            _ => s.push_str(&format!(
                "[p{i}]\nNAME=P{i}\nMODEL={}\nCTX_SIZE=4096\n\
                 EXTRA_ARGS=--bogus-{i} 3 -ub 4096 -b 512 --temp 0.7 -ot exps=CPU\n\n",
                if i % 100 == 3 {
                    "qwen3moe.gguf".to_string()
                } else {
                    format!("m{i}.gguf")
                }
            )),
        }
    }
    s.push_str("[dup]\nNAME=again\nMODEL=llama-gqa.gguf\n\n");
    s.push_str("[late]\nNAME=L\nMODEL=llama-gqa.gguf\nROLES=coding\n");
    s
}

#[test]
fn a_file_checked_in_chunks_finds_what_the_whole_file_check_finds() {
    let text = big_conf();
    assert!(text.len() > 1 << 20, "several chunks of 256 KiB");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.conf");
    let opts = CheckOptions {
        models_dir: Some(root().join("models")),
        ..Default::default()
    };
    let whole = check_text(&path, text.clone(), &opts);
    let streamed = check_streamed(&path, text.clone(), &opts);
    assert_eq!(streamed.profiles, whole.conf.profiles.len());
    assert_eq!(streamed.source, text);
    let codes = |d: &[profilec::diag::Diagnostic]| {
        let mut c: Vec<&str> = d.iter().map(|d| d.code).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    for code in [
        "conf::duplicate-id",
        "bench::no-twin",
        "bench::model-differs",
        "bench::fit-target-dropped",
        "conf::duplicate-role",
        "conf::role-is-id",
        "conf::invalid-header",
        "conf::key-outside-section",
        "conf::unknown-key",
        "model::absolute-path",
        "model::missing-file",
        "args::unknown-flag",
        "args::ubatch-above-batch",
    ] {
        assert!(
            codes(&whole.diagnostics).contains(&code),
            "{code} is exercised"
        );
    }
    assert_eq!(streamed.diagnostics.len(), whole.diagnostics.len());
    for (i, (s, w)) in streamed
        .diagnostics
        .iter()
        .zip(whole.diagnostics)
        .enumerate()
    {
        assert_eq!(s, w, "diagnostic {i}");
    }
}

#[test]
fn a_missing_models_directory_is_noted_once_for_the_whole_file() {
    let text = big_conf();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.conf");
    let opts = CheckOptions {
        models_dir: Some(dir.path().join("no-such-dir")),
        ..Default::default()
    };
    let streamed = check_streamed(&path, text.clone(), &opts);
    let notes = streamed
        .diagnostics
        .iter()
        .filter(|d| d.code == "model::no-models-dir")
        .count();
    assert_eq!(notes, 1);
    assert_eq!(
        streamed.diagnostics.to_vec(),
        check_text(&path, text, &opts).diagnostics
    );
}

/// Issue 12's 50 MB file needed ~45 bytes of memory per byte of text (2.2 GB); streamed, a
/// 5 MB file with an error in each of its 77,000 profiles checks in 256 MiB of address space
/// (the whole-file check aborted there: "memory allocation failed").
#[test]
fn a_file_with_a_diagnostic_per_profile_checks_in_memory_near_its_size() {
    let mut text = String::new();
    let mut n = 0;
    while text.len() < 5_000_000 {
        text.push_str(&format!(
            "[p{n}]\nNAME=P{n}\nMODEL=a.gguf\nEXTRA_ARGS=--bogus-{n} 3\n\n"
        ));
        n += 1;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("models.conf"), &text).unwrap();
    let args = ["check", "models.conf", "--format", "json"];
    // A hang guard, not a timing: a debug build takes ~5 s of CPU here.
    let code = limited(
        &args,
        dir.path(),
        256 << 20,
        std::time::Duration::from_secs(300),
    );
    assert_eq!(code, Some(1), "ran to the end and reported the errors");
}
