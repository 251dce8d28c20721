//! Value types of the typed keys, parsed the way llama-server parses the flag each key becomes.

use std::fmt;

/// `N_GPU_LAYERS`: a layer count, `auto` (let fit decide) or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuLayers {
    Count(u32),
    Auto,
    All,
}

impl GpuLayers {
    pub fn parse(s: &str) -> Result<GpuLayers, String> {
        match s {
            "auto" => Ok(GpuLayers::Auto),
            "all" => Ok(GpuLayers::All),
            // llama.cpp reads -1 as "auto" in older builds; profilec asks for the word.
            _ => s
                .parse::<u32>()
                .map(GpuLayers::Count)
                .map_err(|_| format!("`{s}` is not a layer count, `auto` or `all`")),
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, GpuLayers::Count(_))
    }
}

impl fmt::Display for GpuLayers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuLayers::Count(n) => write!(f, "{n}"),
            GpuLayers::Auto => f.write_str("auto"),
            GpuLayers::All => f.write_str("all"),
        }
    }
}

/// `STRATEGY`: how placement is decided (docs/placement.md, the pinned strategies). A solved
/// placement is always one of A–D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Strategy {
    #[serde(rename = "auto")]
    Auto,
    /// One GPU.
    A,
    /// Dense model split over GPUs with `--tensor-split`.
    B,
    /// MoE split by layer ranges across GPUs, all experts on GPU.
    C,
    /// MoE with the experts of later layers on the CPU.
    D,
}

impl Strategy {
    pub fn parse(s: &str) -> Result<Strategy, String> {
        match s {
            "auto" => Ok(Strategy::Auto),
            "A" | "a" => Ok(Strategy::A),
            "B" | "b" => Ok(Strategy::B),
            "C" | "c" => Ok(Strategy::C),
            "D" | "d" => Ok(Strategy::D),
            _ => Err(format!("`{s}` is not a strategy")),
        }
    }

    /// The value as models.conf spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
            Strategy::A => "A",
            Strategy::B => "B",
            Strategy::C => "C",
            Strategy::D => "D",
        }
    }
}

pub fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("`{s}` is not `on` or `off`")),
    }
}

/// `CTX_SIZE` becomes `--ctx-size`, which llama-server reads with `std::stoi` (a 32-bit int,
/// common/arg.cpp): a larger number makes it refuse to start.
pub fn parse_ctx(s: &str) -> Result<u64, String> {
    let n = s
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a whole number of tokens"))?;
    if n > i32::MAX as u64 {
        return Err(format!(
            "`{s}` is larger than llama-server accepts for --ctx-size ({}, a 32-bit int)",
            i32::MAX
        ));
    }
    Ok(n)
}

/// TTL: whole seconds (llama-swap's `ttl`, an integer).
pub fn parse_seconds(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("`{s}` is not a whole number of seconds"))
}

/// `--fit-target`: llama.cpp splits the list on runs of `,` and `/`.
pub fn parse_mib_list(s: &str) -> Result<Vec<u64>, String> {
    let items: Vec<&str> = s.split([',', '/']).filter(|p| !p.is_empty()).collect();
    if items.is_empty() {
        return Err("the list is empty".into());
    }
    items
        .iter()
        .map(|p| {
            p.parse::<u64>()
                .map_err(|_| format!("`{p}` is not a whole number of MiB"))
        })
        .collect()
}

/// `RUNTIME`: the server a profile launches. Without the key, a MODEL that is a directory (a
/// Hugging Face checkpoint) means vLLM and anything else llama-server (`resolve::runtime_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    LlamaServer,
    Vllm,
}

impl Runtime {
    pub fn parse(s: &str) -> Result<Runtime, String> {
        match s {
            "llama-server" | "llama.cpp" => Ok(Runtime::LlamaServer),
            "vllm" => Ok(Runtime::Vllm),
            _ => Err(format!("`{s}` is not a runtime")),
        }
    }

    /// The value as models.conf spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::LlamaServer => "llama-server",
            Runtime::Vllm => "vllm",
        }
    }
}
