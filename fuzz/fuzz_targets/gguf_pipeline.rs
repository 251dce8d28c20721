//! Structured GGUF fuzzing (issue 12): fixture models with rewritten hyper-parameters, flipped
//! header bytes or a cut tail (tests/fuzz_support/gguf_doc.rs), planned with generated
//! EXTRA_ARGS on a generated machine: a plan or a typed error, never a panic or an abort.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

// Each target uses part of the shared generator.
#[allow(dead_code)]
#[path = "../../tests/fuzz_support/conf_doc.rs"]
mod conf_doc;
#[allow(dead_code)]
#[path = "../../tests/fuzz_support/gguf_doc.rs"]
mod gguf_doc;
#[allow(dead_code)]
#[path = "../../tests/fuzz_support/gguf_values.rs"]
mod gguf_values;
#[allow(dead_code)]
#[path = "../../tests/fuzz_support/pipeline.rs"]
mod pipeline;

fn fixtures() -> &'static [Vec<u8>] {
    static FIXTURES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        conf_doc::MODELS
            .iter()
            .map(|m| std::fs::read(models.join(m)).expect("fixture"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(model) = gguf_doc::model(&mut u, fixtures()) else { return };
    let Ok(args) = conf_doc::extra_args(&mut u) else { return };
    let dir = std::env::temp_dir().join(format!("profilec-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let Ok(toml) = conf_doc::hardware_toml(&mut u, &dir.to_string_lossy()) else { return };
    let path = dir.join("m.gguf");
    if std::fs::write(&path, &model).is_ok() {
        let hardware = profilec::hardware::parse(&toml, &dir).hardware;
        pipeline::plan_model(&path, &args, &hardware);
    }
});
