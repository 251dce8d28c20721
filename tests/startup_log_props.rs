//! Arbitrary input never panics: random bytes, random lines, and real log lines cut and mixed.

use proptest::prelude::*;

use profilec::startup_log::{parse, parse_bytes};

const REAL: &str = include_str!("fixtures/logs/gemma3-270m_server_oom-kv.log");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_bytes(&bytes);
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,2000}") {
        let _ = parse(&s);
    }

    #[test]
    fn cut_and_shuffled_real_lines_never_panic(
        picks in proptest::collection::vec((0usize..400, 0usize..200, 0usize..200), 0..80),
    ) {
        let lines: Vec<&str> = REAL.lines().collect();
        let mut out = Vec::new();
        for (i, a, b) in picks {
            let line = lines.get(i % lines.len().max(1)).copied().unwrap_or("").as_bytes();
            let (lo, hi) = (a.min(b).min(line.len()), a.max(b).min(line.len()));
            out.extend_from_slice(line.get(lo..hi).unwrap_or_default());
            out.push(b'\n');
        }
        let _ = parse_bytes(&out);
    }

    #[test]
    fn numbers_out_of_range_never_panic(n in "[0-9]{1,40}", m in "[0-9.]{1,30}") {
        let log = format!(
            "load_tensors: offloaded {n}/{n} layers to GPU\n\
             load_tensors:   CUDA0 model buffer size = {m} MiB\n\
             llama_kv_cache: size = {m} MiB ({n} cells, {n} layers, {n}/{n} seqs), K (f16): {m} MiB, V (f16): {m} MiB\n\
             ggml_backend_cuda_buffer_type_alloc_buffer: allocating {m} MiB on device {n}: cudaMalloc failed: out of memory\n\
             common_memory_breakdown_print: |   - CUDA0 (x)   | {n} = {n} + ({n} = {n} + {n} + {n}) + {n} |\n"
        );
        let r = parse(&log);
        prop_assert!(r.is_ok());
    }
}

#[test]
fn invalid_utf8_is_read_lossily() {
    let mut bytes =
        b"0.00.001.000 I load_tensors:   CPU_Mapped model buffer size =   235.16 MiB\n".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    bytes.extend_from_slice(b"0.00.002.000 I srv  llama_server: model loaded\n");
    let r = parse_bytes(&bytes).expect("llama.cpp lines");
    assert_eq!(r.model_buffer("CPU_Mapped"), Some(235.16));
    assert_eq!(r.lines, 3);
}
