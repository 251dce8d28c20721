//! Line formats the CPU-only fixtures cannot show: GPU devices, CUDA out-of-memory, the
//! pp/tg graph line, older builds' function names and unprefixed logs. Each input line is an
//! instance of a llama.cpp format string quoted in docs/startup-log.md (from
//! llama.cpp src/llama-context.cpp, src/llama-model.cpp), not a whole log.

use profilec::startup_log::{Allocation, FailureKind, KvKind, Outcome, parse};

#[test]
fn cuda_weights_out_of_memory_names_device_and_size() {
    let log = "\
0.00.100.000 I load_tensors: loading model tensors, this can take a while... (load_mode = mmap)
0.00.200.000 E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 144817.04 MiB on device 0: cudaMalloc failed: out of memory
0.00.200.001 E ggml_backend_buft_alloc_buffer_n_default: failed to allocate CUDA0 buffer of size 151851674624
0.00.200.002 E llama_model_load: error loading model: unable to allocate CUDA0 buffer
0.00.200.003 E llama_model_load_from_file_impl: failed to load model
";
    let r = parse(log).expect("llama.cpp lines");
    assert_eq!(r.outcome, Outcome::Failed);
    let f = r.failure.expect("failure");
    assert_eq!((f.kind, f.line), (FailureKind::OutOfMemory, 4));
    let oom = f.oom.expect("oom");
    assert_eq!(oom.device.as_deref(), Some("CUDA0"));
    assert_eq!(oom.buffer_type.as_deref(), Some("CUDA0"));
    assert_eq!(oom.requested_bytes, Some(151851674624));
    assert_eq!(oom.requested_mib, Some(144817.04));
    assert_eq!(oom.allocation, Some(Allocation::ModelWeights));
}

#[test]
fn old_builds_without_prefix() {
    // Older names: llm_load_tensors, `%s buffer size`, llama_new_context_with_model, KV self size,
    // graph nodes/splits on two lines, `main: server is listening on … - starting the main loop`.
    let log = "\
build: 4000 (abcdef12) with cc (Ubuntu 13.2.0) 13.2.0 for x86_64-linux-gnu
ggml_cuda_init: found 2 CUDA devices:
  Device 0: NVIDIA GeForce RTX 4090, compute capability 8.9, VMM: yes
  Device 1: NVIDIA GeForce RTX 5070 Ti, compute capability 12.0, VMM: yes
llm_load_tensors: offloading 39 repeating layers to GPU
llm_load_tensors: offloaded 39/41 layers to GPU
llm_load_tensors:        CPU buffer size =  1752.49 MiB
llm_load_tensors:      CUDA0 buffer size = 15460.59 MiB
llm_load_tensors:      CUDA1 buffer size =  7730.30 MiB
llama_new_context_with_model: n_ctx      = 8192
llama_new_context_with_model: n_batch    = 2048
llama_new_context_with_model: n_ubatch   = 512
llama_new_context_with_model: flash_attn = 0
llama_kv_cache_init:      CUDA0 KV buffer size =   704.00 MiB
llama_kv_cache_init:      CUDA1 KV buffer size =   544.00 MiB
llama_new_context_with_model: KV self size  = 1248.00 MiB, K (f16):  624.00 MiB, V (f16):  624.00 MiB
llama_new_context_with_model:  CUDA_Host  output buffer size =     0.49 MiB
llama_new_context_with_model:      CUDA0 compute buffer size =   560.01 MiB
llama_new_context_with_model:      CUDA1 compute buffer size =   496.02 MiB
llama_new_context_with_model:  CUDA_Host compute buffer size =    32.02 MiB
llama_new_context_with_model: graph nodes  = 1286
llama_new_context_with_model: graph splits = 3 (with bs=512), 2 (with bs=1)
main: model loaded
main: server is listening on http://127.0.0.1:8080 - starting the main loop
";
    let r = parse(log).expect("llama.cpp lines");
    assert_eq!(r.outcome, Outcome::Loaded);
    let b = r.build.as_ref().expect("build");
    assert_eq!(
        (b.number, b.commit.as_str(), b.target.as_str()),
        (4000, "abcdef12", "x86_64-linux-gnu")
    );
    let devs: Vec<_> = r
        .devices
        .iter()
        .map(|d| (d.name.as_str(), d.description.as_deref()))
        .collect();
    assert_eq!(
        devs,
        [
            ("CUDA0", Some("NVIDIA GeForce RTX 4090")),
            ("CUDA1", Some("NVIDIA GeForce RTX 5070 Ti"))
        ]
    );
    let off = r.offload.expect("offload");
    assert_eq!(
        (off.offloaded, off.total, off.repeating, off.output_layer),
        (39, 41, Some(39), false)
    );
    assert_eq!(r.model_buffer("CUDA0"), Some(15460.59));
    assert_eq!(
        (r.context.n_ctx, r.context.n_batch, r.context.n_ubatch),
        (Some(8192), Some(2048), Some(512))
    );
    assert_eq!(r.context.flash_attn_effective, Some(false));
    let kv = &r.kv_caches[0];
    assert_eq!(
        (kv.kind, kv.cells, kv.size_mib, kv.k_mib),
        (KvKind::Full, None, 1248.00, 624.00)
    );
    let g = r.graph.expect("graph");
    assert_eq!(
        (g.nodes, g.splits, g.pp_batch, g.splits_tg),
        (Some(1286), Some(3), Some(512), Some(2))
    );
    assert_eq!(r.listening.as_deref(), Some("http://127.0.0.1:8080"));
    let per: Vec<_> = r
        .per_device
        .iter()
        .map(|d| (d.device.as_str(), d.weights_mib, d.kv_mib, d.compute_mib))
        .collect();
    assert_eq!(
        per,
        [
            ("CUDA0", 15460.59, 704.00, 560.01),
            ("CUDA1", 7730.30, 544.00, 496.02),
            ("CPU", 1752.49, 0.0, 32.02)
        ]
    );
    assert_eq!(r.per_device[2].output_mib, 0.49);
}

#[test]
fn gpu_device_info_pp_tg_graph_and_device_breakdown() {
    let log = "\
0.00.002.647 I cmn  common_param:   - CUDA0   : NVIDIA GeForce RTX 4090 (24080 MiB, 23500 MiB free)
0.00.300.000 I load_tensors: offloading output layer to GPU
0.00.300.001 I load_tensors: offloading 48 repeating layers to GPU
0.00.300.002 I load_tensors: offloaded 49/49 layers to GPU
0.00.300.003 I load_tensors:        CUDA0 model buffer size = 17000.50 MiB
0.00.400.000 I sched_reserve: graph (pp bs=512, tg bs=4): nodes = 2300 / 2250, splits = 55 / 54, input objects = 4, input tensors = 13
0.09.000.000 I common_memory_breakdown_print: | memory breakdown [MiB] | total   free    self   model   context   compute    unaccounted |
0.09.000.001 I common_memory_breakdown_print: |   - CUDA0 (RTX 4090)   | 24080 =  1200 + (22300 = 17000 +    4500 +     800) +         580 |
0.09.000.002 I common_memory_breakdown_print: |   - Host               |                   600 =   500 +       0 +     100                |
";
    let r = parse(log).expect("llama.cpp lines");
    let d = &r.devices[0];
    assert_eq!(
        (d.name.as_str(), d.total_mib, d.free_mib),
        ("CUDA0", Some(24080), Some(23500))
    );
    assert_eq!(
        r.offload.map(|o| (o.offloaded, o.total, o.output_layer)),
        Some((49, 49, true))
    );
    let g = r.graph.expect("graph");
    assert_eq!(
        (g.nodes, g.nodes_tg, g.splits, g.splits_tg),
        (Some(2300), Some(2250), Some(55), Some(54))
    );
    assert_eq!((g.pp_batch, g.tg_batch), (Some(512), Some(4)));
    let row = &r.memory_breakdown[0];
    assert_eq!(
        (row.name.as_str(), row.description.as_deref()),
        ("CUDA0", Some("RTX 4090"))
    );
    assert_eq!(
        (row.total, row.free, row.self_mib, row.unaccounted),
        (Some(24080), Some(1200), 22300, Some(580))
    );
    assert_eq!((row.model, row.context, row.compute), (17000, 4500, 800));
    assert_eq!(r.memory_breakdown[1].total, None);
    // No success line: the log stops while loading.
    assert_eq!(r.outcome, Outcome::Incomplete);
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn fit_abort_and_context_reduction() {
    let log = "\
0.00.010.000 I cmn  common_init_: fitting params to device memory ...
0.00.500.000 I common_params_fit_impl: context size reduced from 131072 to 40960 -> need 3000 MiB less memory in total
0.00.500.001 W common_fit_params: failed to fit params to free device memory: n_gpu_layers already set by user to 99, abort
";
    let r = parse(log).expect("llama.cpp lines");
    let fit = r.fit.expect("fit");
    assert_eq!(fit.status, profilec::startup_log::FitStatus::Aborted);
    assert_eq!(
        fit.reason.as_deref(),
        Some("n_gpu_layers already set by user to 99, abort")
    );
    assert_eq!(
        (fit.ctx_reduced_from, fit.ctx_reduced_to),
        (Some(131072), Some(40960))
    );
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn pipeline_parallel_retry_is_not_a_failure() {
    let log = "\
0.00.400.000 E ggml_gallocr_reserve_n_impl: failed to allocate CUDA0 buffer of size 4294967296
0.00.400.001 W llama_context: compute buffer allocation failed, retrying without pipeline parallelism
0.00.400.002 I sched_reserve:      CUDA0 compute buffer size =  1024.00 MiB
0.00.500.000 I srv  llama_server: model loaded
";
    let r = parse(log).expect("llama.cpp lines");
    assert_eq!(r.outcome, Outcome::Loaded);
    assert!(r.failure.is_none());
    assert_eq!(r.compute_buffer("CUDA0"), Some(1024.00));
}

#[test]
fn runtime_cuda_error_after_load_is_a_failure() {
    let log = "\
0.00.500.000 I srv  llama_server: model loaded
0.00.500.001 I srv  llama_server: listening on http://127.0.0.1:8080
0.05.000.000 E srv  send_error: task id = 3, error: the request exceeds the available context size
0.09.000.000 E ggml-cuda.cu:88: CUDA error: an illegal memory access was encountered
";
    let r = parse(log).expect("llama.cpp lines");
    assert_eq!(r.outcome, Outcome::Failed);
    let f = r.failure.expect("failure");
    assert!(f.after_load);
    assert_eq!(f.line, 4);
    assert_eq!(f.kind, FailureKind::Other);
}

#[test]
fn crlf_and_wrapped_prefixes() {
    let log = "llama-cpp    | llm_load_tensors:      CUDA0 buffer size =   100.25 MiB\r\nllama-cpp    | main: server is listening on http://0.0.0.0:8080 - starting the main loop\r\n";
    let r = parse(log).expect("llama.cpp lines");
    assert_eq!(r.model_buffer("CUDA0"), Some(100.25));
    assert_eq!(r.listening.as_deref(), Some("http://0.0.0.0:8080"));
    assert_eq!(r.outcome, Outcome::Loaded);
}
