//! Structured fuzzing of the models.conf pipeline as proptest properties (issue 12): generated
//! documents (tests/fuzz_support/conf_doc.rs) with fixture models and a generated profilec.toml
//! go through check → resolve → plan → render; nothing panics, the tree prints back every byte,
//! every diagnostic span slices the input, and the sh line splits back into the argv.
//!
//! CI runs a few cases; a campaign sets `PROFILEC_FUZZ_CASES` (docs/performance.md, "Fuzzing").

use arbitrary::Unstructured;
use proptest::prelude::*;

use crate::fuzz_support::{conf_doc, pipeline};
use crate::support;

/// Cases per property: `PROFILEC_FUZZ_CASES`, else `ci`.
pub fn cases(ci: u32) -> ProptestConfig {
    let cases = std::env::var("PROFILEC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4096)
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn generated_conf_goes_through_the_pipeline_without_panic(data in bytes()) {
        let mut u = Unstructured::new(&data);
        let models = support::root().join("models");
        let Ok(text) = conf_doc::document(&mut u) else { return Ok(()) };
        let Ok(toml) = conf_doc::hardware_toml(&mut u, &models.to_string_lossy()) else {
            return Ok(());
        };
        let hardware = profilec::hardware::parse(&toml, &models).hardware;
        pipeline::run(&text, &models, &hardware);
    }
}
