//! Structured fuzzing of the GGUF boundary (issue 12): fixture models with rewritten
//! hyper-parameters, flipped header bytes or a cut tail (tests/fuzz_support/gguf_doc.rs),
//! planned with generated EXTRA_ARGS on a generated machine — a plan or a typed error, never a
//! panic or an abort. `PROFILEC_FUZZ_CASES` sets the campaign size (tests/fuzz_conf.rs).

use std::fs;
use std::sync::OnceLock;

use arbitrary::Unstructured;
use proptest::prelude::*;

use crate::fuzz_conf::cases;
use crate::fuzz_support::{conf_doc, gguf_doc, pipeline};
use crate::support;

fn fixtures() -> &'static [Vec<u8>] {
    static FIXTURES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        conf_doc::MODELS
            .iter()
            .map(|m| fs::read(support::fixture(m)).expect("fixture"))
            .collect()
    })
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn hostile_hyper_parameters_plan_or_fail_typed(data in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut u = Unstructured::new(&data);
        let Ok(model) = gguf_doc::model(&mut u, fixtures()) else { return Ok(()) };
        let Ok(args) = conf_doc::extra_args(&mut u) else { return Ok(()) };
        let dir = tempfile::tempdir().expect("tempdir");
        let Ok(toml) = conf_doc::hardware_toml(&mut u, &dir.path().to_string_lossy()) else {
            return Ok(());
        };
        let path = dir.path().join("m.gguf");
        fs::write(&path, &model).expect("write model");
        let hardware = profilec::hardware::parse(&toml, dir.path()).hardware;
        pipeline::plan_model(&path, &args, &hardware);
    }
}
