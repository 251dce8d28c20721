//! One llama.cpp run's settings and the argv that expresses them.
//!
//! Every argv pins what would otherwise be decided by llama.cpp at run time and so differ
//! between machines: `-c` (0 would read n_ctx_train), `-fit off` (fit would shrink the context to
//! the free memory), `-ngl 0` (CPU only), `-t 2`, and `-lv 4` (at the default verbosity b11434
//! prints no memory lines at all).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Threads every run uses; the numbers measured do not depend on it, the wall time does.
pub const THREADS: u32 = 2;

/// What every run pins (see the module comment): `THREADS` threads, no fit, CPU only, and the
/// verbosity at which b11434 prints its memory lines.
pub const PINNED_ARGS: [&str; 8] = ["-t", "2", "-fit", "off", "-ngl", "0", "-lv", "4"];

/// llama-completion's one-token generation after loading: no chat mode, no warmup, greedy.
pub const ONE_TOKEN_ARGS: [&str; 8] = [
    "-n",
    "1",
    "-p",
    "hello world",
    "-no-cnv",
    "--no-warmup",
    "--temp",
    "0",
];

/// Which llama.cpp program to run. They size the compute buffer differently: llama-completion
/// reserves logits for `n_batch` outputs, llama-server for one per sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Program {
    Completion,
    Server,
}

impl Program {
    /// File name of the binary in the llama.cpp bin directory.
    pub fn binary(self) -> &'static str {
        match self {
            Program::Completion => "llama-completion",
            Program::Server => "llama-server",
        }
    }
}

/// `-fa on|off|auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlashAttn {
    On,
    Off,
    Auto,
}

impl FlashAttn {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashAttn::On => "on",
            FlashAttn::Off => "off",
            FlashAttn::Auto => "auto",
        }
    }
}

/// `-lm MODE`. `Auto` passes no flag, so the run shows llama.cpp's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadMode {
    #[default]
    Auto,
    None,
    Mmap,
    Mlock,
    #[serde(rename = "mmap+mlock")]
    MmapMlock,
    Dio,
}

impl LoadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMode::Auto => "auto",
            LoadMode::None => "none",
            LoadMode::Mmap => "mmap",
            LoadMode::Mlock => "mlock",
            LoadMode::MmapMlock => "mmap+mlock",
            LoadMode::Dio => "dio",
        }
    }
}

/// The knobs one measurement varies. Cache types are passed through as written (`f16`, `q8_0`,
/// `q4_0`…): llama.cpp is the judge of what it accepts, and a rejected value is a recorded failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Settings {
    pub program: Program,
    /// `-c`; always passed explicitly.
    pub ctx: u32,
    /// `-ub`.
    pub ubatch: u32,
    /// `-b`.
    pub batch: u32,
    /// `-np`.
    pub n_parallel: u32,
    /// `-kvu`. llama-server only: llama-completion rejects the flag.
    pub kv_unified: bool,
    /// `-ctk`.
    pub cache_k: String,
    /// `-ctv`. A quantized V cache needs flash attention.
    pub cache_v: String,
    pub flash_attn: FlashAttn,
    /// `--swa-full`.
    pub swa_full: bool,
    /// `--no-repack`.
    pub no_repack: bool,
    pub load_mode: LoadMode,
    /// Appended verbatim after everything else (e.g. `-ot exps=CPU`, `--n-cpu-moe 2`).
    pub extra: Vec<String>,
}

impl Default for Settings {
    /// The grid's base point: llama-completion, 4096 context, ubatch 512, batch 2048, one
    /// sequence, f16 cache, flash attention on.
    fn default() -> Self {
        Settings {
            program: Program::Completion,
            ctx: 4096,
            ubatch: 512,
            batch: 2048,
            n_parallel: 1,
            kv_unified: false,
            cache_k: "f16".to_string(),
            cache_v: "f16".to_string(),
            flash_attn: FlashAttn::On,
            swa_full: false,
            no_repack: false,
            load_mode: LoadMode::Auto,
            extra: Vec::new(),
        }
    }
}

impl Settings {
    /// The same settings for llama-server.
    pub fn server(mut self) -> Self {
        self.program = Program::Server;
        self
    }

    /// Arguments after the binary name. `port` is used by llama-server only (it binds to
    /// 127.0.0.1); llama-completion gets a one-token generation instead.
    pub fn argv(&self, model: &Path, port: u16) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "-m".into(),
            model.display().to_string(),
            "-c".into(),
            self.ctx.to_string(),
            "-ub".into(),
            self.ubatch.to_string(),
            "-b".into(),
            self.batch.to_string(),
            "-np".into(),
            self.n_parallel.to_string(),
            "-ctk".into(),
            self.cache_k.clone(),
            "-ctv".into(),
            self.cache_v.clone(),
            "-fa".into(),
            self.flash_attn.as_str().into(),
        ];
        a.extend(PINNED_ARGS.map(String::from));
        if self.kv_unified {
            a.push("-kvu".into());
        }
        if self.swa_full {
            a.push("--swa-full".into());
        }
        if self.no_repack {
            a.push("--no-repack".into());
        }
        if self.load_mode != LoadMode::Auto {
            a.push("-lm".into());
            a.push(self.load_mode.as_str().into());
        }
        match self.program {
            Program::Completion => a.extend(ONE_TOKEN_ARGS.map(String::from)),
            Program::Server => {
                a.extend(["--host", "127.0.0.1", "--port"].map(String::from));
                a.push(port.to_string());
                a.push("--no-warmup".into());
            }
        }
        a.extend(self.extra.iter().cloned());
        a
    }
}

impl fmt::Display for Settings {
    /// A compact one-line label for progress output and tables.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prog = match self.program {
            Program::Completion => "cmpl",
            Program::Server => "srv",
        };
        write!(
            f,
            "{prog} c={} ub={} b={} np={} k={} v={} fa={}",
            self.ctx,
            self.ubatch,
            self.batch,
            self.n_parallel,
            self.cache_k,
            self.cache_v,
            self.flash_attn.as_str()
        )?;
        if self.kv_unified {
            f.write_str(" kvu")?;
        }
        if self.swa_full {
            f.write_str(" swa-full")?;
        }
        if self.no_repack {
            f.write_str(" no-repack")?;
        }
        if self.load_mode != LoadMode::Auto {
            write!(f, " lm={}", self.load_mode.as_str())?;
        }
        if !self.extra.is_empty() {
            write!(f, " {}", self.extra.join(" "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_args_use_the_thread_count() {
        assert_eq!(PINNED_ARGS[..2], ["-t", THREADS.to_string().as_str()]);
    }
}
