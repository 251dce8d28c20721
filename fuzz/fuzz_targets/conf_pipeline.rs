//! Structured models.conf fuzzing (issue 12): libFuzzer's bytes drive the generator of
//! tests/fuzz_support/conf_doc.rs (plausible and hostile keys, flags, values; fixture models; a
//! generated profilec.toml), then check → resolve → plan → render with the invariants of
//! tests/fuzz_support/pipeline.rs. Needs nightly (`cargo fuzz run conf_pipeline`); on stable the
//! same generator runs as the proptest campaign of docs/performance.md ("Fuzzing").
#![no_main]

use std::path::Path;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

// Each target uses part of the shared generator.
#[allow(dead_code)]
#[path = "../../tests/fuzz_support/conf_doc.rs"]
mod conf_doc;
#[allow(dead_code)]
#[path = "../../tests/fuzz_support/pipeline.rs"]
mod pipeline;

fuzz_target!(|data: &[u8]| {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut u = Unstructured::new(data);
    let Ok(text) = conf_doc::document(&mut u) else { return };
    let Ok(toml) = conf_doc::hardware_toml(&mut u, &models.to_string_lossy()) else { return };
    let hardware = profilec::hardware::parse(&toml, &models).hardware;
    pipeline::run(&text, &models, &hardware);
});
