//! Structured inputs for the models.conf pipeline (issue 12): a byte string drives an
//! `arbitrary::Unstructured` that picks lines, keys, llama-server flags and values — plausible
//! ones (the corpus' keys, the flag table's spellings, fixture models) mixed with hostile ones
//! (sizes at 2^31/2^32/2^64, control bytes, unterminated quotes, lone CRs, unknown keys).
//!
//! One generator serves the proptest properties (tests/fuzz_conf.rs, bytes from proptest) and
//! the cargo-fuzz target fuzz/fuzz_targets/conf_pipeline.rs (bytes from libFuzzer), which
//! includes this file by path.

use arbitrary::{Result, Unstructured};

/// Model files the generated MODEL= lines name; the caller puts them (or not) in models_dir.
pub const MODELS: &[&str] = &[
    "llama-gqa.gguf",
    "qwen3moe.gguf",
    "gemma3-swa.gguf",
    "deepseek2-mla.gguf",
    "lfm2-hybrid.gguf",
    "gpt-oss-mxfp4.gguf",
    "split-llama-00001-of-00003.gguf",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "16",
    "512",
    "4096",
    "32768",
    "262144",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "1e9",
    "0x10",
    "abc",
    "",
    " 4096 ",
    "4096k",
];

const KEYS: &[&str] = &[
    "NAME",
    "DESCRIPTION",
    "SPEED",
    "MODEL",
    "CTX_SIZE",
    "N_GPU_LAYERS",
    "FIT",
    "FIT_TARGET",
    "EXTRA_ARGS",
    "STRATEGY",
    "TTL",
    "name",
    "model",
    "ctx-size",
    "EXTRA_ARG",
    "MODEL ",
    " NAME",
    "",
];

const IDS: &[&str] = &[
    "a",
    "glm-flash-q4",
    "bench-a",
    "bench-glm-flash-q4",
    "bench-missing",
    "qwen3_moe",
    "bad.id",
    "has space",
    "",
    "ü",
    "*",
];

const CACHE_TYPES: &[&str] = &[
    "f16", "f32", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1", "q2_k", "Q8_0", "x",
];

const DEVICES: &[&str] = &[
    "CPU",
    "CUDA0",
    "CUDA1",
    "CUDA9",
    "Vulkan0",
    "RPC[127.0.0.1:1]",
    "",
];

const REGEXES: &[&str] = &[
    "exps",
    "blk\\.([0-9]|1[0-6])\\.",
    "blk\\.(1[7-9]|2[0-4])\\.ffn_.*_exps",
    "ffn_(up|down|gate)",
    "(",
    "[",
    ".*",
    "blk\\.\\d+\\.attn",
    "a{99999}",
];

/// Flags that take one value, with how that value is drawn.
const VALUED: &[(&str, Value)] = &[
    ("-c", Value::Number),
    ("--ctx-size", Value::Number),
    ("-np", Value::Number),
    ("--parallel", Value::Number),
    ("-ngl", Value::Layers),
    ("--n-gpu-layers", Value::Layers),
    ("-b", Value::Number),
    ("-ub", Value::Number),
    ("--n-cpu-moe", Value::Number),
    ("-ncmoe", Value::Number),
    ("--main-gpu", Value::Number),
    ("-t", Value::Number),
    ("--port", Value::Number),
    (
        "--rope-scaling",
        Value::Word(&["yarn", "linear", "none", "x"]),
    ),
    ("--rope-scale", Value::Float),
    ("--yarn-orig-ctx", Value::Number),
    ("-ctk", Value::CacheType),
    ("-ctv", Value::CacheType),
    ("--cache-type-k", Value::CacheType),
    ("-fa", Value::Word(&["on", "off", "auto", "1", "maybe"])),
    ("--fit", Value::Word(&["on", "off", "x"])),
    ("--fit-target", Value::List),
    ("-ts", Value::List),
    ("--tensor-split", Value::List),
    ("-sm", Value::Word(&["none", "layer", "row", "x"])),
    ("-ot", Value::Overrides),
    ("--override-tensor", Value::Overrides),
    ("--temp", Value::Float),
    ("--top-p", Value::Float),
    ("--min-p", Value::Float),
    ("--top-k", Value::Number),
    ("--host", Value::Word(&["127.0.0.1", "0.0.0.0", "::1"])),
    ("--alias", Value::Text),
    ("--chat-template", Value::Text),
    ("-m", Value::Text),
    ("--lora", Value::Text),
];

const SWITCHES: &[&str] = &[
    "--jinja",
    "--no-context-shift",
    "--swa-full",
    "-nkvo",
    "--no-kv-offload",
    "-cmoe",
    "--cpu-moe",
    "--mlock",
    "--no-mmap",
    "-kvu",
    "--kv-unified",
    "--cont-batching",
    "--bogus-flag",
    "-",
    "--",
];

#[derive(Clone, Copy)]
enum Value {
    Number,
    Float,
    Layers,
    CacheType,
    List,
    Overrides,
    Word(&'static [&'static str]),
    Text,
}

/// A models.conf text: an optional BOM, then lines joined by generated line endings.
pub fn document(u: &mut Unstructured) -> Result<String> {
    let mut out = String::new();
    if u.ratio(1, 16)? {
        out.push('\u{FEFF}');
    }
    let lines = u.int_in_range(0..=40)?;
    for _ in 0..lines {
        out.push_str(&line(u)?);
        out.push_str(u.choose(&["\n", "\n", "\n", "\n", "\r\n", "\r", ""])?);
    }
    Ok(out)
}

fn line(u: &mut Unstructured) -> Result<String> {
    let indent = *u.choose(&["", "", "", " ", "\t", "\u{0B}"])?;
    let body = match u.int_in_range(0..=15)? {
        0..=2 => format!("[{}]", id(u)?),
        3 => format!("# {}", text(u)?),
        4 => String::new(),
        5 => format!("[{}", id(u)?),
        6 => format!("[{}] {}", id(u)?, text(u)?),
        7 => text(u)?,
        _ => {
            let key = *u.choose(KEYS)?;
            format!("{key}={}", value_for(u, key)?)
        }
    };
    Ok(format!("{indent}{body}"))
}

fn id(u: &mut Unstructured) -> Result<String> {
    if u.ratio(1, 4)? {
        return Ok(format!("p{}", u.int_in_range(0..=5u8)?));
    }
    Ok((*u.choose(IDS)?).to_string())
}

fn value_for(u: &mut Unstructured, key: &str) -> Result<String> {
    Ok(match key.trim() {
        "MODEL" | "model" => match u.int_in_range(0..=5)? {
            0..=3 => (*u.choose(MODELS)?).to_string(),
            4 => "missing.gguf".into(),
            _ => (*u.choose(&["../../etc/passwd", "/dev/zero", "", "models", "a b.gguf"])?).into(),
        },
        "CTX_SIZE" | "TTL" | "ctx-size" => number(u)?,
        "N_GPU_LAYERS" => layers(u)?,
        "FIT" => (*u.choose(&["on", "off", "ON", "1", "", "maybe"])?).into(),
        "FIT_TARGET" => list(u)?,
        "STRATEGY" => (*u.choose(&["auto", "A", "B", "C", "D", "E", "a", ""])?).into(),
        "EXTRA_ARGS" | "EXTRA_ARG" => extra_args(u)?,
        _ => text(u)?,
    })
}

/// An EXTRA_ARGS line: flags with values, switches, quoting, and the odd hostile word.
pub fn extra_args(u: &mut Unstructured) -> Result<String> {
    let n = u.int_in_range(0..=12)?;
    let mut words = Vec::new();
    for _ in 0..n {
        match u.int_in_range(0..=9)? {
            0..=5 => {
                let (flag, kind) = *u.choose(VALUED)?;
                let v = value(u, kind)?;
                words.push(if u.ratio(1, 8)? {
                    format!("{flag}={v}")
                } else {
                    format!("{flag} {}", quoted(u, &v)?)
                });
            }
            6..=8 => words.push((*u.choose(SWITCHES)?).to_string()),
            _ => words.push(text(u)?),
        }
    }
    Ok(words.join(*u.choose(&[" ", " ", "  ", "\t"])?))
}

fn quoted(u: &mut Unstructured, v: &str) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0 => format!("'{v}'"),
        1 => format!("\"{v}\""),
        2 => format!("'{v}"),
        _ if v.is_empty() || v.contains(' ') => format!("\"{v}\""),
        _ => v.to_string(),
    })
}

fn value(u: &mut Unstructured, kind: Value) -> Result<String> {
    match kind {
        Value::Number => number(u),
        Value::Float => {
            Ok((*u.choose(&["0", "0.95", "1.0", "-1", "1e308", "nan", "inf", "x"])?).into())
        }
        Value::Layers => layers(u),
        Value::CacheType => Ok((*u.choose(CACHE_TYPES)?).into()),
        Value::List => list(u),
        Value::Overrides => overrides(u),
        Value::Word(words) => Ok((*u.choose(words)?).into()),
        Value::Text => text(u),
    }
}

fn number(u: &mut Unstructured) -> Result<String> {
    if u.ratio(1, 4)? {
        return Ok(u.arbitrary::<u32>()?.to_string());
    }
    Ok((*u.choose(NUMBERS)?).into())
}

fn layers(u: &mut Unstructured) -> Result<String> {
    if u.ratio(1, 3)? {
        return Ok((*u.choose(&["auto", "all", "999", "-1", "99"])?).into());
    }
    number(u)
}

fn list(u: &mut Unstructured) -> Result<String> {
    let n = u.int_in_range(0..=4)?;
    let items: Vec<String> = (0..n).map(|_| number(u)).collect::<Result<_>>()?;
    Ok(items.join(*u.choose(&[",", ",", "/", ",,"])?))
}

fn overrides(u: &mut Unstructured) -> Result<String> {
    let n = u.int_in_range(1..=4)?;
    let rules: Vec<String> = (0..n)
        .map(|_| Ok(format!("{}={}", u.choose(REGEXES)?, u.choose(DEVICES)?)))
        .collect::<Result<_>>()?;
    Ok(rules.join(","))
}

/// Free text: plain words, or hostile characters (control bytes, quotes, `=`, `#`, `[`).
fn text(u: &mut Unstructured) -> Result<String> {
    let n = u.int_in_range(0..=12)?;
    let mut s = String::new();
    for _ in 0..n {
        match u.int_in_range(0..=7)? {
            0..=3 => {
                s.push_str(u.choose(&["word", "Q4_K_M", "~40 t/s", "x", "a b", "=", "#", "["])?)
            }
            4 => s.push(char::from(u.int_in_range(0..=0x1fu8)?)),
            5 => s.push(*u.choose(&['\'', '"', '\\', '$', '`', ';', '\u{7f}', '\u{9b}'])?),
            6 => s.push(u.arbitrary::<char>()?),
            _ => s.push(' '),
        }
    }
    Ok(s.replace(['\n', '\r'], " "))
}

/// A profilec.toml: zero to three GPUs, a CPU with plausible or tiny RAM, the models dir.
pub fn hardware_toml(u: &mut Unstructured, models_dir: &str) -> Result<String> {
    let mut s = String::new();
    let gpus = u.int_in_range(0..=3)?;
    for i in 0..gpus {
        let total = *u.choose(&[0u64, 1, 2048, 8192, 24564, 81920, 4294967295])?;
        s.push_str(&format!(
            "[[gpu]]\nid = \"CUDA{i}\"\nname = \"GPU {i}\"\ntotal_mib = {total}\nreserved_mib = {}\n",
            u.choose(&[0u64, 256, 3328, 99999])?
        ));
    }
    let ram = *u.choose(&[0u64, 1, 2, 512, 8192, 64205, 1 << 40])?;
    s.push_str(&format!("[cpu]\nram_mib = {ram}\n"));
    if u.ratio(1, 2)? {
        s.push_str(&format!(
            "os_reserve_mib = {}\n",
            u.choose(&[0u64, 1, 8192, 1 << 40])?
        ));
    }
    s.push_str(&format!("[runtime]\nmodels_dir = \"{models_dir}\"\n"));
    Ok(s)
}
