//! `-ot`/`--override-tensor` specs, read like llama.cpp `parse_tensor_buffer_overrides`:
//! split on every `,`, then each part on its first `=` into a regex and a buffer type name.
//! At load llama.cpp tries the rules in order against each tensor name with
//! `std::regex_search` (unanchored); the first match wins.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use regex::Regex;

use super::ecma;
use crate::diag::Diagnostic;

/// A backend family whose devices llama.cpp names `<prefix><index>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Cuda,
    /// HIP builds reuse the CUDA backend under the name `ROCm`.
    Rocm,
    Vulkan,
    Sycl,
    /// `MTL0` in current builds, `Metal` in older ones.
    Metal,
    Musa,
    Cann,
}

impl Backend {
    pub const ALL: [Backend; 7] = [
        Backend::Cuda,
        Backend::Rocm,
        Backend::Vulkan,
        Backend::Sycl,
        Backend::Metal,
        Backend::Musa,
        Backend::Cann,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Backend::Cuda => "CUDA",
            Backend::Rocm => "ROCm",
            Backend::Vulkan => "Vulkan",
            Backend::Sycl => "SYCL",
            Backend::Metal => "MTL",
            Backend::Musa => "MUSA",
            Backend::Cann => "CANN",
        }
    }
}

/// Where a rule puts the tensors it matches.
///
/// Not `Copy`: an RPC buffer type carries its server's endpoint, which llama.cpp spells out in
/// the name and may be a host name, so it cannot be a fixed-size index without the `--rpc` list
/// (which the flags parser does not see). `Arc<str>` keeps clones cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BufferType {
    Cpu,
    Device {
        backend: Backend,
        index: u32,
    },
    /// A device of an rpc-server: `RPC<index>[<endpoint>]`, `index` = the device's index on
    /// that server, `endpoint` = as given to `--rpc` (`ggml_backend_rpc_buffer_type` in
    /// ggml/src/ggml-rpc/ggml-rpc.cpp names it so; `-ot` takes only buffer type names,
    /// `parse_tensor_buffer_overrides` in common/arg.cpp).
    Rpc {
        index: u32,
        endpoint: Arc<str>,
    },
}

impl BufferType {
    /// GPU `index` of the CUDA backend (the GPUs profilec places layers on).
    pub fn cuda(index: usize) -> BufferType {
        BufferType::Device {
            backend: Backend::Cuda,
            index: u32::try_from(index).unwrap_or(u32::MAX),
        }
    }

    /// Parses a buffer type name as llama.cpp spells it (case-sensitive: `CUDA0`, `CPU`).
    pub fn parse(name: &str) -> Option<BufferType> {
        if name == "CPU" {
            return Some(BufferType::Cpu);
        }
        if name == "Metal" {
            return Some(BufferType::Device {
                backend: Backend::Metal,
                index: 0,
            });
        }
        if let Some(rpc) = parse_rpc(name) {
            return Some(rpc);
        }
        Backend::ALL.iter().find_map(|&backend| {
            let index = parse_index(name.strip_prefix(backend.prefix())?)?;
            Some(BufferType::Device { backend, index })
        })
    }

    pub fn is_cpu(&self) -> bool {
        *self == BufferType::Cpu
    }
}

/// `RPC<k>[<endpoint>]`; the endpoint is any non-empty text without brackets (llama.cpp
/// compares the whole name, so its form is checked against `--rpc`, not here).
fn parse_rpc(name: &str) -> Option<BufferType> {
    let (index, rest) = name.strip_prefix("RPC")?.split_once('[')?;
    let endpoint = rest.strip_suffix(']')?;
    if endpoint.is_empty() || endpoint.contains(['[', ']']) {
        return None;
    }
    Some(BufferType::Rpc {
        index: parse_index(index)?,
        endpoint: Arc::from(endpoint),
    })
}

fn parse_index(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `RPC<k>` without `[endpoint]`: the `--device` name, which `-ot` does not take.
fn bare_rpc_index(name: &str) -> Option<u32> {
    parse_index(name.strip_prefix("RPC")?)
}

impl fmt::Display for BufferType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferType::Cpu => f.write_str("CPU"),
            BufferType::Device { backend, index } => write!(f, "{}{index}", backend.prefix()),
            BufferType::Rpc { index, endpoint } => write!(f, "RPC{index}[{endpoint}]"),
        }
    }
}

/// One `pattern=buffer` rule.
#[derive(Debug, Clone)]
pub struct OtRule {
    /// The pattern as written (ECMAScript syntax, what llama.cpp compiles).
    pub pattern: String,
    /// The pattern translated to Rust syntax with the same meaning on tensor names.
    /// Shared: a `Regex` clone allocates its own match-cache pool, a clone of this does not.
    pub regex: Arc<Regex>,
    pub buffer: BufferType,
    /// The whole `pattern=buffer` part.
    pub span: Range<usize>,
    pub pattern_span: Range<usize>,
    pub buffer_span: Range<usize>,
}

impl OtRule {
    /// Whether llama.cpp's `regex_search` would find the pattern in `tensor`.
    pub fn matches(&self, tensor: &str) -> bool {
        self.regex.is_match(tensor)
    }

    /// Whether a match of the pattern in `tensor` spans all of `word` (which `tensor` contains):
    /// `exps` or `ffn_.*_exps` is about the experts of `blk.0.ffn_up_exps.weight`, `x` only
    /// happens to hit a letter of it.
    pub fn covers(&self, tensor: &str, word: &str) -> bool {
        let Some(at) = tensor.find(word) else {
            return false;
        };
        self.regex
            .find_iter(tensor)
            .any(|m| m.start() <= at && m.end() >= at + word.len())
    }

    /// A CPU rule that a flag adds without `-ot` (`-cmoe`, `-ncmoe`), spanning that flag.
    pub fn implied_cpu(pattern: String, span: Range<usize>) -> Option<OtRule> {
        let regex = compile(&pattern).ok()?;
        Some(OtRule {
            pattern,
            regex,
            buffer: BufferType::Cpu,
            pattern_span: span.clone(),
            buffer_span: span.clone(),
            span,
        })
    }

    /// Moves the spans by `offset` bytes.
    pub fn shifted(mut self, offset: usize) -> OtRule {
        for s in [
            &mut self.span,
            &mut self.pattern_span,
            &mut self.buffer_span,
        ] {
            *s = s.start + offset..s.end + offset;
        }
        self
    }
}

/// The rules of one `-ot` value and what was wrong with it. Rules with errors are left out.
#[derive(Debug, Clone, Default)]
pub struct OtList {
    pub rules: Vec<OtRule>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The rule llama.cpp applies to `tensor`: the first whose pattern is found in the name.
/// `None` means no override: the tensor goes where the layer split puts it.
pub fn place<'a>(rules: &'a [OtRule], tensor: &str) -> Option<&'a OtRule> {
    rules.iter().find(|r| r.matches(tensor))
}

/// The rules a search generates (fit's partial layers, the solver's layer ranges), typed
/// directly: what [`parse_ot`] reads from their `-ot` value, spans included, without writing
/// and re-reading the text. A pattern that does not compile is left out, as `parse_ot` leaves
/// out a rule with an error.
pub fn generated_rules(rules: impl IntoIterator<Item = (String, BufferType)>) -> Vec<OtRule> {
    let mut out = Vec::new();
    let mut start = 0;
    for (pattern, buffer) in rules {
        let eq = start + pattern.len();
        let span = start..eq + 1 + buffer.to_string().len();
        start = span.end + 1;
        let compiled = ecma::translate(&pattern).ok().map(|t| compile(&t.rust));
        let Some(Ok(regex)) = compiled else {
            continue;
        };
        out.push(OtRule {
            pattern,
            regex,
            buffer,
            pattern_span: span.start..eq,
            buffer_span: eq + 1..span.end,
            span,
        });
    }
    out
}

/// The `-ot` value llama.cpp reads as `rules`: `pattern=buffer`, comma-separated, in order.
pub fn ot_value(rules: &[OtRule]) -> String {
    rules
        .iter()
        .map(|r| format!("{}={}", r.pattern, r.buffer))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses one `-ot` value; spans are relative to `spec`. Shadowing between rules is checked
/// separately by [`super::ot_lint::lint_shadowing`] because several `-ot` flags append to one list.
pub fn parse_ot(spec: &str) -> OtList {
    let mut out = OtList::default();
    let mut start = 0;
    let mut prev: Option<&str> = None;
    for part in spec.split(',') {
        let span = start..start + part.len();
        start = span.end + 1;
        parse_part(part, span, prev, &mut out);
        prev = Some(part);
    }
    out
}

fn parse_part(part: &str, span: Range<usize>, prev: Option<&str>, out: &mut OtList) {
    if part.is_empty() {
        out.diagnostics.push(
            Diagnostic::error("ot::empty-rule", "empty rule in the `-ot` list")
                .at(span)
                .label("nothing between these commas")
                .help(
                    "remove the extra `,`: llama-server rejects the whole list (\"invalid value\")",
                ),
        );
        return;
    }
    let Some(eq) = part.find('=') else {
        out.diagnostics.push(missing_equals(part, span, prev));
        return;
    };
    let (pattern, buffer) = (&part[..eq], &part[eq + 1..]);
    let pattern_span = span.start..span.start + eq;
    let buffer_span = span.start + eq + 1..span.end;
    let Some(buffer_type) = BufferType::parse(buffer) else {
        if let Some(index) = bare_rpc_index(buffer) {
            out.diagnostics.push(rpc_needs_endpoint(index, buffer_span));
            return;
        }
        out.diagnostics.push(unknown_buffer(buffer, buffer_span));
        return;
    };
    if pattern.is_empty() {
        out.diagnostics.push(
            Diagnostic::warning("ot::empty-pattern", "empty pattern matches every tensor")
                .at(span.clone())
                .label(format!("every tensor goes to {buffer_type}"))
                .help("write the tensor names to move, e.g. `exps=CPU` for the MoE expert weights"),
        );
    }
    let regex = match ecma::translate(pattern) {
        Ok(t) => {
            out.diagnostics.extend(
                t.warnings
                    .into_iter()
                    .map(|d| d.shifted(pattern_span.start)),
            );
            match compile(&t.rust) {
                Ok(r) => r,
                Err(e) => {
                    out.diagnostics
                        .push(invalid_regex(pattern_span, &e.to_string()));
                    return;
                }
            }
        }
        Err(d) => {
            out.diagnostics.push((*d).shifted(pattern_span.start));
            return;
        }
    };
    if let Some(d) = ecma::unescaped_layer_dot(pattern) {
        out.diagnostics.push(d.shifted(pattern_span.start));
    }
    out.rules.push(OtRule {
        pattern: pattern.to_string(),
        regex,
        buffer: buffer_type,
        span,
        pattern_span,
        buffer_span,
    });
}

fn missing_equals(part: &str, span: Range<usize>, prev: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error(
        "ot::missing-equals",
        format!("`{part}` has no `=<buffer type>`"),
    )
    .at(span)
    .label("expected `<pattern>=<buffer type>`");
    if unbalanced(part) || prev.is_some_and(unbalanced) {
        d.help(
            "llama.cpp splits `-ot` on every `,`, even inside `{m,n}`, `(...)` or `[...]`, so \
             this pattern was cut in two; write it without a comma, e.g. `(1|2)` or `[12]` \
             instead of `{1,2}`",
        )
    } else {
        d.help("write each rule as `<pattern>=<buffer type>`, e.g. `exps=CPU`")
    }
}

fn unbalanced(s: &str) -> bool {
    let count = |c| s.matches(c).count();
    count('{') != count('}') || count('(') != count(')') || count('[') != count(']')
}

fn unknown_buffer(name: &str, span: Range<usize>) -> Diagnostic {
    let upper = name.to_ascii_uppercase();
    let fix = Backend::ALL
        .iter()
        .map(|b| b.prefix())
        .chain(["CPU"])
        .find(|p| upper.starts_with(&p.to_ascii_uppercase()))
        .map(|p| format!("{p}{}", name.get(p.len()..).unwrap_or("")))
        .filter(|f| BufferType::parse(f).is_some());
    let help = match fix {
        Some(f) => format!("did you mean `{f}`? buffer type names are case-sensitive"),
        None => "use `CPU` or a device name such as `CUDA0`, `ROCm0`, `Vulkan0`, `SYCL0`, `MTL0` \
                 (llama-server --list-devices shows them)"
            .to_string(),
    };
    let what = if name.is_empty() {
        "empty buffer type".to_string()
    } else {
        format!("unknown buffer type `{name}`")
    };
    Diagnostic::error("ot::unknown-buffer", what)
        .at(span)
        .label("not a buffer type llama.cpp knows")
        .help(help)
}

/// `check` replaces the help with the machine's own spellings when it knows the `--rpc` servers
/// (src/check/rpc_rules.rs).
fn rpc_needs_endpoint(index: u32, span: Range<usize>) -> Diagnostic {
    Diagnostic::error(
        RPC_NEEDS_ENDPOINT,
        format!("`RPC{index}` is a device name, not a buffer type"),
    )
    .at(span)
    .label("`-ot` needs `RPC<k>[HOST:PORT]`")
    .help(format!(
        "write `RPC{index}[HOST:PORT]` with the endpoint as given to --rpc, e.g. \
         `RPC{index}[10.0.0.2:50052]` (k is the device's index on that server); llama-server \
         rejects `RPC{index}` and lists the buffer types"
    ))
}

/// The code of a bare `RPC<k>` buffer type.
pub const RPC_NEEDS_ENDPOINT: &str = "ot::rpc-needs-endpoint";

fn invalid_regex(span: Range<usize>, err: &str) -> Diagnostic {
    let detail = err.lines().last().unwrap_or(err).trim();
    Diagnostic::error(
        "ot::invalid-regex",
        "tensor pattern is not a valid regular expression",
    )
    .at(span)
    .label(detail.to_string())
    .help("fix the pattern; llama-server would abort while loading the model (std::regex_error)")
}

/// Compiles a translated pattern once per process: a models.conf repeats the same few `-ot`
/// patterns across many profiles, and compiling dominated `check` on large files
/// (docs/performance.md). Rules share the compiled regex (and its match cache) by `Arc`.
fn compile(rust: &str) -> Result<Arc<Regex>, regex::Error> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static CACHE: LazyLock<Mutex<HashMap<String, Arc<Regex>>>> = LazyLock::new(Default::default);
    const MAX_CACHED: usize = 4096;

    if let Ok(cache) = CACHE.lock()
        && let Some(r) = cache.get(rust)
    {
        return Ok(Arc::clone(r));
    }
    let regex = Arc::new(Regex::new(rust)?);
    if let Ok(mut cache) = CACHE.lock()
        && cache.len() < MAX_CACHED
    {
        cache.insert(rust.to_string(), Arc::clone(&regex));
    }
    Ok(regex)
}
