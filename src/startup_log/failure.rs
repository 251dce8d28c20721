//! Which lines end a load, and why. Allocator lines (`cudaMalloc failed`, `failed to allocate
//! CUDA0 buffer of size N`) only describe an out-of-memory; the fatal line that follows
//! (`unable to allocate CUDA0 buffer`, `failed to allocate buffer for kv cache`) decides that
//! loading failed. A warning that llama.cpp retries (`retrying without pipeline parallelism`)
//! forgets the allocator details again.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::line::Line;
use super::parser::State;
use super::report::{Allocation, Oom, buffer_device};

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pat).expect("pattern is a valid regex"));
    };
}

re!(
    CUDA_MALLOC,
    r"allocating ([\d.]+) MiB on device (\d+): \w+ failed: out of memory"
);
re!(
    NAMED_ALLOC_FAILED,
    r"(\w+): failed to allocate (\S+) buffer of size (\d+)"
);
re!(
    CPU_ALLOC_FAILED,
    r"cpu_buffer_type_alloc_buffer: failed to allocate buffer of size (\d+)"
);
re!(
    INSUFFICIENT,
    r"insufficient memory \(attempted to allocate ([\d.]+) MB\)"
);
re!(RETRY, r"retrying without pipeline parallelism");
re!(UNABLE_TO_ALLOCATE, r"unable to allocate (\S+) buffer");
re!(KV_FAILED, r"failed to allocate buffer for kv cache");
re!(
    COMPUTE_FAILED,
    r"failed to allocate compute (?:pp |tg )?buffers"
);
re!(
    OUTPUT_FAILED,
    r"failed to allocate output buffer of size ([\d.]+) MiB"
);
re!(
    OOM_TEXT,
    r"(?i)out of memory|cannot allocate memory|std::bad_alloc|unable to allocate|failed to allocate"
);
re!(
    MODEL_FILE_TEXT,
    r"(?i)gguf_init|GGUF file|failed to load model|error loading model|no such file|invalid magic|failed to read|not within the file bounds|unknown model architecture|tensor '.*' has"
);
// Fatal in logs written without `--log-prefix`, where no `E` marks the error lines.
re!(
    FATAL_TEXT,
    r"error loading model|failed to load model|failed to create context|unable to create context|failed to initialize the context|exiting due to model loading error|failed to open GGUF file|gguf_init_from_\w+: failed|GGML_ASSERT|CUDA error|terminate called|Segmentation fault|^error: |: error: "
);
// After the model loaded, only these end the run (request errors are not load failures).
re!(
    RUNTIME_FATAL,
    r"CUDA error|GGML_ASSERT|terminate called|Segmentation fault|out of memory"
);

fn num<T: std::str::FromStr>(c: &Captures, i: usize) -> Option<T> {
    c.get(i).and_then(|m| m.as_str().parse().ok())
}

fn mib_of(bytes: u64) -> f64 {
    super::report::round2(bytes as f64 / (1024.0 * 1024.0))
}

/// Allocator lines: they fill in the pending out-of-memory details.
fn oom_details(st: &mut State, body: &str) -> bool {
    if let Some(c) = CUDA_MALLOC.captures(body) {
        let oom = st.pending_oom.get_or_insert_with(Oom::default);
        oom.requested_mib = num(&c, 1);
        if let Some(dev) = c.get(2) {
            let name = format!("CUDA{}", dev.as_str());
            oom.device = Some(name.clone());
            oom.buffer_type.get_or_insert(name);
        }
        return true;
    }
    if let Some(c) = NAMED_ALLOC_FAILED.captures(body) {
        let func = c.get(1).map_or("", |m| m.as_str());
        let oom = st.pending_oom.get_or_insert_with(Oom::default);
        if let Some(buft) = c.get(2).map(|m| m.as_str().to_string()) {
            oom.device = Some(buffer_device(&buft));
            oom.buffer_type = Some(buft);
        }
        if let Some(bytes) = num::<u64>(&c, 3) {
            oom.requested_bytes = Some(bytes);
            oom.requested_mib = Some(mib_of(bytes));
        }
        if func.starts_with("ggml_gallocr") {
            oom.allocation.get_or_insert(Allocation::Compute);
        }
        return true;
    }
    if let Some(c) = CPU_ALLOC_FAILED.captures(body) {
        let oom = st.pending_oom.get_or_insert_with(Oom::default);
        oom.buffer_type.get_or_insert_with(|| "CPU".to_string());
        oom.device.get_or_insert_with(|| "CPU".to_string());
        if let Some(bytes) = num::<u64>(&c, 1) {
            oom.requested_bytes = Some(bytes);
            oom.requested_mib = Some(mib_of(bytes));
        }
        return true;
    }
    if let Some(c) = INSUFFICIENT.captures(body) {
        let oom = st.pending_oom.get_or_insert_with(Oom::default);
        oom.device.get_or_insert_with(|| "CPU".to_string());
        if oom.requested_mib.is_none() {
            oom.requested_mib = num(&c, 1);
        }
        return true;
    }
    if RETRY.is_match(body) {
        st.pending_oom = None;
        return true;
    }
    false
}

/// Fatal lines that name what could not be allocated.
fn allocation_of(body: &str) -> Option<(Allocation, Option<String>, Option<f64>)> {
    if let Some(c) = UNABLE_TO_ALLOCATE.captures(body) {
        let buft = c.get(1).map(|m| m.as_str().to_string());
        return Some((Allocation::ModelWeights, buft, None));
    }
    if KV_FAILED.is_match(body) {
        return Some((Allocation::KvCache, None, None));
    }
    if COMPUTE_FAILED.is_match(body) {
        return Some((Allocation::Compute, None, None));
    }
    if let Some(c) = OUTPUT_FAILED.captures(body) {
        return Some((Allocation::Output, None, num(&c, 1)));
    }
    None
}

pub(super) fn apply(st: &mut State, line: &Line) -> bool {
    let body = line.body;
    if oom_details(st, body) {
        return true;
    }
    let fatal = match st.loaded_line {
        Some(_) => RUNTIME_FATAL.is_match(body) && (line.is_error() || line.level.is_none()),
        None => line.is_error() || (line.level.is_none() && FATAL_TEXT.is_match(body)),
    };
    if !fatal {
        return false;
    }
    if let Some((allocation, buft, mib)) = allocation_of(body) {
        let oom = st.pending_oom.get_or_insert_with(Oom::default);
        oom.allocation.get_or_insert(allocation);
        if let Some(b) = buft {
            oom.device.get_or_insert_with(|| buffer_device(&b));
            oom.buffer_type.get_or_insert(b);
        }
        if oom.requested_mib.is_none() {
            oom.requested_mib = mib;
        }
    }
    if OOM_TEXT.is_match(body) {
        st.oom_fatal = true;
    } else if MODEL_FILE_TEXT.is_match(body) {
        st.model_file_fatal = true;
    }
    if st.fatal.is_none() {
        st.fatal = Some((line.no, body.to_string(), st.loaded_line.is_some()));
    }
    true
}
