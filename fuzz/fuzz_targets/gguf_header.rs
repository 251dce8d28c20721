//! Any byte string given to the GGUF header reader yields Ok or a typed error, never a panic,
//! and an Ok header's tensors all lie inside the input.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use profilec::gguf::read_header;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = read_header(Cursor::new(data), data.len() as u64) {
        for t in &h.tensors {
            assert!(t.data_offset + t.n_bytes <= data.len() as u64);
        }
    }
});
