//! Rules for what the log says about the run rather than its memory: program, build, devices,
//! model path, the listening address and the markers that the model finished loading.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::parser::State;
use super::report::{BuildInfo, Device, Program};

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pat).expect("pattern is a valid regex"));
    };
}

re!(BUILD, r"\bbuild:? (\d+) \(([^)]*)\) with (.+?) for (.+)$");
re!(VERBOSITY, r"\bverbosity = (\d+)");
// `common_params_print_info`'s `device_info:` list: `  - CUDA0   : NVIDIA … (24080 MiB, 23500 MiB free)`.
re!(
    DEVICE_INFO,
    r":\s+- (\S+)\s*: (.*?) \((\d+) MiB, (\d+) MiB free\)$"
);
// Older builds: `llama_model_load_from_file_impl: using device CUDA0 (NVIDIA …) - 23000 MiB free`;
// b11434 adds the device id: `using device RPC0 (127.0.0.1:50152) (unknown id) - 24105 MiB free`
// (the description of an RPC device is its endpoint, which maps buffer names back).
re!(
    USING_DEVICE,
    r"using device (\S+) \((.*?)\)(?: \([^()]*\))? - (\d+) MiB free"
);
re!(FOUND_DEVICES, r"found \d+ (\w+) devices");
re!(CUDA_DEVICE, r"^\s*Device (\d+): (.+?), compute capability");
re!(LOADING_MODEL, r"loading model '(.*)'");
re!(
    META_FROM,
    r"llama_model_loader: loaded meta data with .* from (.+?) \(version"
);
re!(LISTENING, r"listening on (\w+://[^\s,]+)");
re!(
    MODEL_LOADED,
    r"(?:llama_server|main|srv\s+load_model): model loaded\s*$"
);
// llama-completion / llama-cli reach these only after the context exists.
re!(
    GENERATING,
    r"^(?:generate: n_ctx = |sampler seed: |common_perf_print: |llama_perf_context_print: )"
);
re!(
    PROGRAM_SERVER,
    r"^srv\s|\bllama_server:|\bserver is listening"
);
re!(PROGRAM_COMPLETION, r"^llama_completion:");
re!(PROGRAM_CLI, r"^llama_cli:");
// Lines any llama.cpp program prints; used only to tell a llama.cpp log from another file.
re!(
    KNOWN,
    r"\b(?:llama_\w+|llm_\w+|ggml_\w+|gguf_\w+|common_\w+|load_tensors|print_info|sched_reserve|system_info|load_model|clip_\w+|(?:srv|cmn|slot)\s+\w+):\s"
);

fn text(c: &Captures, i: usize) -> Option<String> {
    c.get(i).map(|m| m.as_str().to_string())
}

fn num<T: std::str::FromStr>(c: &Captures, i: usize) -> Option<T> {
    c.get(i).and_then(|m| m.as_str().parse().ok())
}

pub(super) fn is_known(body: &str) -> bool {
    KNOWN.is_match(body) || CUDA_DEVICE.is_match(body)
}

pub(super) fn detect_program(st: &mut State, body: &str) {
    if st.report.program.is_some() {
        return;
    }
    if PROGRAM_SERVER.is_match(body) {
        st.report.program = Some(Program::LlamaServer);
    } else if PROGRAM_COMPLETION.is_match(body) {
        st.report.program = Some(Program::LlamaCompletion);
    } else if PROGRAM_CLI.is_match(body) {
        st.report.program = Some(Program::LlamaCli);
    }
}

pub(super) fn apply(st: &mut State, no: usize, body: &str) -> bool {
    if let Some(c) = BUILD.captures(body) {
        if let Some(number) = num(&c, 1) {
            st.report.build = Some(BuildInfo {
                number,
                commit: text(&c, 2).unwrap_or_default(),
                compiler: text(&c, 3).unwrap_or_default(),
                target: text(&c, 4).unwrap_or_default(),
            });
        }
        return true;
    }
    if let Some(c) = VERBOSITY.captures(body) {
        st.report.verbosity = num(&c, 1);
        return true;
    }
    if let Some(c) = DEVICE_INFO.captures(body) {
        if let Some(name) = text(&c, 1) {
            let d = st.device(&name);
            d.description = text(&c, 2);
            d.total_mib = num(&c, 3);
            d.free_mib = num(&c, 4);
        }
        return true;
    }
    if let Some(c) = USING_DEVICE.captures(body) {
        if let Some(name) = text(&c, 1) {
            let d = st.device(&name);
            d.description = text(&c, 2);
            d.free_mib = num(&c, 3);
        }
        return true;
    }
    if let Some(c) = FOUND_DEVICES.captures(body) {
        st.gpu_backend = text(&c, 1);
        return true;
    }
    if let Some(c) = CUDA_DEVICE.captures(body) {
        let backend = st.gpu_backend.clone().unwrap_or_else(|| "CUDA".to_string());
        if let Some(idx) = c.get(1) {
            let name = format!("{backend}{}", idx.as_str());
            let description = text(&c, 2);
            let d = st.device(&name);
            if d.description.is_none() {
                d.description = description;
            }
        }
        return true;
    }
    if let Some(c) = LOADING_MODEL.captures(body) {
        st.report.model_path = text(&c, 1);
        return true;
    }
    if let Some(c) = META_FROM.captures(body) {
        if st.report.model_path.is_none() {
            st.report.model_path = text(&c, 1);
        }
        // A new model load starts: what an earlier load printed no longer describes the run.
        st.start_model_load();
        return true;
    }
    if let Some(c) = LISTENING.captures(body) {
        st.report.listening = text(&c, 1);
        st.mark_loaded(no);
        return true;
    }
    if MODEL_LOADED.is_match(body) || GENERATING.is_match(body) {
        st.mark_loaded(no);
        return true;
    }
    false
}

impl State {
    fn device(&mut self, name: &str) -> &mut Device {
        let devices = &mut self.report.devices;
        let idx = match devices.iter().position(|d| d.name == name) {
            Some(i) => i,
            None => {
                devices.push(Device {
                    name: name.to_string(),
                    description: None,
                    total_mib: None,
                    free_mib: None,
                });
                devices.len() - 1
            }
        };
        &mut devices[idx]
    }
}
