//! Structured fuzzing inputs (issue 12) shared by the proptest properties (tests/fuzz_conf.rs,
//! tests/fuzz_gguf.rs), the hostile sweep (tests/hostile.rs) and the cargo-fuzz targets under
//! fuzz/ (which include these files by path).

pub mod conf_doc;
pub mod gguf_doc;
pub mod gguf_values;
pub mod pipeline;
