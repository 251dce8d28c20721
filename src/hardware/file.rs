//! Reading `profilec.toml`: every problem is collected as a `hw::` diagnostic with the exact span
//! toml_edit reports, and the result is always a usable [`Hardware`] (bad values fall back to
//! their documented defaults), so the caller can show everything at once.

use std::path::{Path, PathBuf};

use toml_edit::{Document, Item, Table, Value};

use super::fields::Section;
use super::{Cpu, DefaultEntry, Defaults, Hardware, Llm, Runtime};
use crate::diag::Diagnostic;

/// The file name looked for beside models.conf.
pub const FILE_NAME: &str = crate::discover::HARDWARE_NAME;

const TOP: &[&str] = &["gpu", "cpu", "defaults", "runtime", "llm"];
const CPU_KEYS: &[&str] = &[
    "ram_mib",
    "os_reserve_mib",
    "cores_physical",
    "cores_logical",
    "numa_nodes",
    "arch",
    "speed",
];
const RUNTIME_KEYS: &[&str] = &[
    "llama_server",
    "vllm",
    "models_dir",
    "host",
    "port",
    "cuda_overhead_mib",
    "llama_cpp_build",
];
const LLM_KEYS: &[&str] = &["model", "base_url", "api_key_env"];

/// A parsed file: the hardware (defaults where the file had problems) and every diagnostic.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub hardware: Hardware,
    pub diagnostics: Vec<Diagnostic>,
    /// The file's text, for rendering diagnostics.
    pub source: String,
    pub path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Discover(#[from] crate::discover::DiscoverError),
}

impl crate::error::Failure for LoadError {
    fn code(&self) -> &'static str {
        match self {
            LoadError::Read { .. } => "io::read",
            LoadError::Discover(e) => e.code(),
        }
    }

    fn help(&self) -> String {
        match self {
            LoadError::Read { .. } => "check the --hardware path, or remove it to use the \
                 profilec.toml beside models.conf (`profilec hw --where` shows the search)"
                .into(),
            LoadError::Discover(e) => e.help(),
        }
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }
}

/// Reads and parses `path`; relative paths inside resolve against the file's directory.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let source = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut loaded = parse(&source, &base);
    loaded.path = Some(path.to_owned());
    Ok(loaded)
}

/// Parses profilec.toml text. `base_dir` is what relative paths (models_dir) resolve against.
/// `[cpu]` keys the file leaves out are detected on this machine (docs/hardware.md).
pub fn parse(src: &str, base_dir: &Path) -> Loaded {
    let mut diags = Vec::new();
    let hardware = match Document::parse(src) {
        Ok(doc) => read_document(doc.as_table(), base_dir, &mut diags),
        Err(e) => {
            let mut d = Diagnostic::error(
                "hw::toml-syntax",
                format!("profilec.toml is not valid TOML: {}", e.message().trim()),
            )
            .label("here")
            .help("fix the TOML syntax; docs/hardware.md shows a complete example");
            if let Some(s) = e.span() {
                d = d.at(s);
            }
            diags.push(d);
            read_document(&Table::new(), base_dir, &mut Vec::new())
        }
    };
    Loaded {
        hardware,
        diagnostics: diags,
        source: src.to_owned(),
        path: None,
    }
}

fn read_document(root: &Table, base: &Path, diags: &mut Vec<Diagnostic>) -> Hardware {
    let top = Section {
        table: root,
        name: "profilec.toml".to_owned(),
        span: None,
    };
    top.check_keys(TOP, diags);
    let gpus = match root.get("gpu") {
        None => Vec::new(),
        Some(Item::ArrayOfTables(a)) => super::gpus::read_gpus(a.iter(), diags),
        Some(other) => {
            diags.push(section_type(root, "gpu", other, "[[gpu]]"));
            Vec::new()
        }
    };
    let empty = Table::new();
    let cpu_section = section(root, "cpu", diags).unwrap_or_else(|| Section {
        table: &empty,
        name: "[cpu]".to_owned(),
        span: None,
    });
    let cpu = read_cpu(&cpu_section, diags);
    let defaults = section(root, "defaults", diags)
        .map(|s| read_defaults(&s, diags))
        .unwrap_or_default();
    let runtime = section(root, "runtime", diags)
        .map(|s| read_runtime(&s, base, diags))
        .unwrap_or_else(|| Runtime::default_in(base));
    let llm = section(root, "llm", diags)
        .map(|s| read_llm(&s, diags))
        .unwrap_or_default();
    Hardware {
        gpus,
        cpu,
        defaults,
        runtime,
        llm,
    }
}

fn section<'a>(root: &'a Table, key: &str, diags: &mut Vec<Diagnostic>) -> Option<Section<'a>> {
    let item = root.get(key)?;
    match item.as_table_like() {
        Some(table) => Some(Section {
            table,
            name: format!("[{key}]"),
            // toml_edit's table span is the `[name]` header.
            span: item.span(),
        }),
        None => {
            diags.push(section_type(root, key, item, &format!("[{key}]")));
            None
        }
    }
}

fn section_type(root: &Table, key: &str, item: &Item, want: &str) -> Diagnostic {
    let mut d = Diagnostic::error(
        "hw::wrong-type",
        format!(
            "`{key}` must be a {want} section, found {}",
            item.type_name()
        ),
    )
    .label(format!("expected a {want} section"))
    .help(format!(
        "write `{want}` on its own line followed by its keys"
    ));
    if let Some(s) = item
        .span()
        .or_else(|| root.get_key_value(key).and_then(|(k, _)| k.span()))
    {
        d = d.at(s);
    }
    d
}

fn read_cpu(s: &Section, diags: &mut Vec<Diagnostic>) -> Cpu {
    s.check_keys(CPU_KEYS, diags);
    let mut detected: Option<Cpu> = None;
    let mut det = || {
        detected
            .get_or_insert_with(super::detect::detect_cpu)
            .clone()
    };
    let positive = |key: &str, v: Option<u32>, diags: &mut Vec<Diagnostic>| match v {
        Some(0) => {
            diags.push(s.out_of_range(key, "at least 1"));
            None
        }
        v => v,
    };
    let ram = match s.u64("ram_mib", diags) {
        Some(0) => {
            diags.push(s.out_of_range("ram_mib", "above 0"));
            None
        }
        v => v,
    };
    let ram_mib = ram.unwrap_or_else(|| det().ram_mib);
    let mut os_reserve_mib = s
        .u64("os_reserve_mib", diags)
        .unwrap_or_else(|| Cpu::default_os_reserve_mib(ram_mib));
    if os_reserve_mib > ram_mib {
        let mut d = Diagnostic::error(
            "hw::reserve-exceeds-ram",
            format!("[cpu] os_reserve_mib ({os_reserve_mib}) is more than ram_mib ({ram_mib})"),
        )
        .label("more than the machine's RAM")
        .help(
            "os_reserve_mib is the part of ram_mib kept for the OS; make it smaller than ram_mib",
        );
        if let Some(sp) = s.value_span("os_reserve_mib") {
            d = d.at(sp);
        }
        diags.push(d);
        os_reserve_mib = ram_mib;
    }
    let phys = positive("cores_physical", s.u32("cores_physical", diags), diags);
    let logical = positive("cores_logical", s.u32("cores_logical", diags), diags);
    let cores_physical = phys.unwrap_or_else(|| det().cores_physical);
    let cores_logical = logical.unwrap_or_else(|| det().cores_logical.max(cores_physical));
    if cores_physical > cores_logical {
        let mut d = Diagnostic::error(
            "hw::cores-mismatch",
            format!("[cpu] has {cores_physical} physical but only {cores_logical} logical cores"),
        )
        .label("fewer logical than physical cores")
        .help("cores_logical counts hardware threads (2 per core with SMT), so it is at least cores_physical");
        if let Some(sp) = s.value_span("cores_logical") {
            d = d.at(sp);
        }
        diags.push(d);
    }
    let numa = positive("numa_nodes", s.u32("numa_nodes", diags), diags);
    Cpu {
        ram_mib,
        os_reserve_mib,
        cores_physical,
        cores_logical: cores_logical.max(cores_physical),
        numa_nodes: numa.unwrap_or_else(|| det().numa_nodes),
        arch: s
            .string("arch", diags)
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned()),
        speed: s.speed("speed", diags).unwrap_or(super::DEFAULT_CPU_SPEED),
    }
}

fn read_defaults(s: &Section, diags: &mut Vec<Diagnostic>) -> Defaults {
    let mut entries = Vec::new();
    for (key, item) in s.table.iter() {
        let value = match item.as_value() {
            Some(Value::String(v)) => Some(v.value().clone()),
            Some(Value::Integer(v)) => Some(v.value().to_string()),
            Some(Value::Float(v)) => Some(v.value().to_string()),
            Some(Value::Boolean(v)) => Some(v.value().to_string()),
            _ => None,
        };
        let Some(value) = value else {
            let mut d = Diagnostic::error(
                "hw::wrong-type",
                format!("[defaults] `{key}` must be a string, number or boolean"),
            )
            .label("not a flag value")
            .help(format!(
                "write the value llama-server takes after --{key}, e.g. `{key} = \"…\"`; boolean flags take `true`",
            ));
            if let Some(sp) = item.span() {
                d = d.at(sp);
            }
            diags.push(d);
            continue;
        };
        entries.push(DefaultEntry {
            key: key.to_owned(),
            value,
            key_span: s.key_span(key),
            value_span: item.span(),
        });
    }
    Defaults { entries }
}

fn read_runtime(s: &Section, base: &Path, diags: &mut Vec<Diagnostic>) -> Runtime {
    s.check_keys(RUNTIME_KEYS, diags);
    let mut rt = Runtime::default_in(base);
    if let Some(p) = s.string("llama_server", diags) {
        rt.llama_server = program_path(PathBuf::from(p), base);
    }
    if let Some(p) = s.string("vllm", diags) {
        rt.vllm = program_path(PathBuf::from(p), base);
    }
    if let Some(p) = s.string("models_dir", diags) {
        rt.models_dir = base.join(p);
    }
    if let Some(h) = s.string("host", diags) {
        rt.host = h;
    }
    if let Some(p) = s.u64("port", diags) {
        match u16::try_from(p) {
            Ok(p) if p > 0 => rt.port = p,
            _ => diags.push(s.out_of_range("port", "between 1 and 65535")),
        }
    }
    if let Some(m) = s.u64("cuda_overhead_mib", diags) {
        rt.cuda_overhead_mib = m;
    }
    if let Some(b) = s.u64("llama_cpp_build", diags) {
        match u32::try_from(b) {
            Ok(b) if b > 0 => rt.llama_cpp_build = Some(b),
            _ => diags.push(s.out_of_range(
                "llama_cpp_build",
                "a positive llama.cpp build number, as `llama-server --version` prints it",
            )),
        }
    }
    rt
}

/// A bare program name is found on PATH at launch; only real paths are file-relative.
fn program_path(p: PathBuf, base: &Path) -> PathBuf {
    if p.components().count() > 1 && p.is_relative() {
        base.join(p)
    } else {
        p
    }
}

fn read_llm(s: &Section, diags: &mut Vec<Diagnostic>) -> Llm {
    s.check_keys(LLM_KEYS, diags);
    let d = Llm::default();
    Llm {
        model: s.string("model", diags).unwrap_or(d.model),
        base_url: s.string("base_url", diags).unwrap_or(d.base_url),
        api_key_env: s.string("api_key_env", diags).unwrap_or(d.api_key_env),
    }
}
