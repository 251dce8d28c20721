//! The llama-server flag table (data/llama-server-flags.tsv, llama.cpp b11434), parsed once.

use std::collections::HashMap;
use std::sync::LazyLock;

const TSV: &str = include_str!("../../data/llama-server-flags.tsv");

/// The KV cache types `-ctk`/`-ctv` accept: llama.cpp common/arg.cpp `kv_cache_types`
/// (matched by `ggml_type_name`, anything else throws "Unsupported cache type").
pub const CACHE_TYPES: &[&str] = &[
    "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1",
];

/// What a flag's value must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// A switch without value (`--jinja`, `--metrics`).
    Switch,
    /// A switch with `--no-*`-style negations (llama.cpp `args_neg`, `handler_bool`).
    Bool,
    Int,
    Float,
    String,
    Path,
    /// One of a fixed set of words, e.g. `-fa on|off|auto`.
    Enum(Vec<&'static str>),
    /// A cache type from [`CACHE_TYPES`].
    CacheType,
    /// An integer, `auto` or `all` (`-ngl`).
    IntAutoAll,
    /// A comma-separated list.
    List(ListKind),
    /// Two values (`--control-vector-layer-range START END`), both integers.
    IntPair,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `-ts N0,N1,...`: proportions (llama.cpp also splits on `/`).
    Floats,
    /// `-fitt MiB0,MiB1,...`.
    Ints,
    /// `-dev <dev1,dev2,..>`, `--tools`: names.
    Names,
    /// `-ot`: `<pattern>=<buffer type>,...`, see [`crate::flags::ot`].
    TensorOverrides,
    /// `--lora-scaled FNAME:SCALE,...`.
    ScaledFiles,
    /// `--override-kv KEY=TYPE:VALUE,...`.
    KvOverrides,
}

/// One option of llama-server with all its spellings.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagSpec {
    /// Every spelling, positive and negative, in table order.
    pub aliases: Vec<&'static str>,
    /// The first long (`--`) spelling; what the query API and messages use.
    pub canonical: &'static str,
    /// The spellings that switch a [`ValueKind::Bool`] flag off (`--no-mmproj`, `-nkvo`).
    pub negations: Vec<&'static str>,
    pub kind: ValueKind,
    /// The kind column as written in the table.
    pub kind_text: &'static str,
    pub value_hint: &'static str,
    pub env: Option<&'static str>,
    pub help: &'static str,
    /// The default `--help` states (`4096`, `auto`), if any.
    pub default: Option<&'static str>,
    /// Repeating the flag appends instead of replacing (the handler pushes back).
    pub accumulates: bool,
    /// llama.cpp keeps the flag only to fail with a pointer to its replacement.
    pub removed: bool,
    pub deprecated: bool,
}

impl FlagSpec {
    /// Number of value tokens that follow the flag.
    pub fn arity(&self) -> usize {
        match self.kind {
            ValueKind::Switch | ValueKind::Bool => 0,
            ValueKind::IntPair => 2,
            _ => 1,
        }
    }

    pub fn is_negation(&self, alias: &str) -> bool {
        self.negations.contains(&alias)
    }
}

// Handlers in common/arg.cpp that push_back instead of assigning; every other repeated flag
// replaces the earlier value (llama-server warns "only last value will be used").
const ACCUMULATING: &[&str] = &[
    "--override-tensor",
    "--spec-draft-override-tensor",
    "--lora",
    "--lora-scaled",
    "--control-vector",
    "--control-vector-scaled",
    "--override-kv",
    "--reverse-prompt",
    "--dry-sequence-breaker",
    "--logit-bias",
    "--spec-type",
    "--api-key",
    "--api-key-file",
    "--cpu-moe",
    "--spec-draft-cpu-moe",
];

pub struct FlagTable {
    pub specs: Vec<FlagSpec>,
    by_name: HashMap<&'static str, usize>,
}

impl FlagTable {
    /// Looks a spelling up exactly as written (no `_` → `-` folding).
    pub fn get(&self, name: &str) -> Option<&FlagSpec> {
        self.by_name.get(name).and_then(|&i| self.specs.get(i))
    }

    /// Every spelling of every flag, for suggestions.
    pub fn all_aliases(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.specs.iter().flat_map(|s| s.aliases.iter().copied())
    }

    /// Finds a flag by any spelling; `--` spellings also match with `_` for `-`, as llama.cpp
    /// normalises them (`--ctx_size` is `--ctx-size`).
    pub fn lookup(&self, name: &str) -> Option<&FlagSpec> {
        if let Some(s) = self.get(name) {
            return Some(s);
        }
        if name.starts_with("--") && name.contains('_') {
            return self.get(&name.replace('_', "-"));
        }
        None
    }
}

/// The shipped table (llama.cpp b11434), parsed on first use.
pub static TABLE: LazyLock<FlagTable> = LazyLock::new(|| parse_table(TSV));

/// The shipped table's text (data/llama-server-flags.tsv).
pub const SHIPPED_TSV: &str = TSV;

/// Finds a flag by any spelling in the table in use: the user's build's if one is installed
/// ([`super::active::table`]), else the shipped one.
pub fn lookup(name: &str) -> Option<&'static FlagSpec> {
    super::active::table().lookup(name)
}

/// Parses table text that lives as long as the process (the embedded table, or the one
/// installed for the user's build).
pub(crate) fn parse_table(tsv: &'static str) -> FlagTable {
    let mut specs = Vec::new();
    let mut by_name = HashMap::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&'static str> = line.split('\t').collect();
        let col = |i: usize| cols.get(i).copied().unwrap_or("");
        let aliases: Vec<&'static str> = col(0).split_whitespace().collect();
        if aliases.is_empty() {
            continue;
        }
        let canonical = aliases
            .iter()
            .copied()
            .find(|a| a.starts_with("--"))
            .unwrap_or(aliases[0]);
        let kind_text = col(2);
        let help = col(5);
        let kind = classify(canonical, col(1), kind_text);
        let negations = if kind == ValueKind::Bool {
            negations_of(&aliases)
        } else {
            Vec::new()
        };
        let spec = FlagSpec {
            canonical,
            negations,
            kind,
            kind_text,
            value_hint: col(3),
            env: Some(col(4)).filter(|e| !e.is_empty()),
            help,
            default: Some(col(6)).filter(|d| !d.is_empty()),
            accumulates: ACCUMULATING.contains(&canonical),
            removed: help.starts_with("the argument has been removed"),
            deprecated: help.contains("(DEPRECATED)"),
            aliases,
        };
        let idx = specs.len();
        for a in &spec.aliases {
            by_name.entry(*a).or_insert(idx);
        }
        specs.push(spec);
    }
    FlagTable { specs, by_name }
}

// The table lists positive spellings first, then the `args_neg` ones: `--no-*`, `-no-*`,
// and short `-n*` forms (`-nkvo`, `-nr`, `-nocb`) that come after the first long name.
fn negations_of(aliases: &[&'static str]) -> Vec<&'static str> {
    let mut seen_long = false;
    let mut out = Vec::new();
    for a in aliases {
        let short_neg = seen_long && !a.starts_with("--") && a.starts_with("-n");
        if a.starts_with("--no-") || a.starts_with("-no-") || short_neg {
            out.push(*a);
        }
        if a.starts_with("--") {
            seen_long = true;
        }
    }
    out
}

fn classify(canonical: &str, takes: &str, kind: &'static str) -> ValueKind {
    if takes == "yes(2)" {
        return ValueKind::IntPair;
    }
    if takes == "no" {
        return if kind.contains("--no-*") {
            ValueKind::Bool
        } else {
            ValueKind::Switch
        };
    }
    // The table says float for `--logit-bias`, but the value is `TOKEN_ID(+/-)BIAS`.
    if canonical == "--logit-bias" {
        return ValueKind::String;
    }
    if canonical.contains("cache-type") || canonical.starts_with("--spec-draft-type-") {
        return ValueKind::CacheType;
    }
    match kind {
        "int" => ValueKind::Int,
        "float" => ValueKind::Float,
        "path" => ValueKind::Path,
        "int|auto|all" => ValueKind::IntAutoAll,
        _ if kind.starts_with("enum ") => enum_choices(&kind[5..]),
        _ if kind.starts_with("list ") => ValueKind::List(list_kind(&kind[5..])),
        _ => ValueKind::String,
    }
}

// `[on|off|auto]`, `{none,layer,row,tensor}`, `on|auto|off`; a single word (`none`,
// `default`) or a placeholder (`[<repo>/]<model>`) only names a special value, so the flag
// takes free text.
fn enum_choices(text: &'static str) -> ValueKind {
    let inner = text
        .trim_start_matches(['[', '{'])
        .trim_end_matches([']', '}']);
    let choices: Vec<&'static str> = inner.split(['|', ',']).filter(|c| !c.is_empty()).collect();
    if choices.len() < 2 || text.contains('<') {
        ValueKind::String
    } else {
        ValueKind::Enum(choices)
    }
}

fn list_kind(text: &str) -> ListKind {
    if text.contains("buffer type") {
        ListKind::TensorOverrides
    } else if text.contains("SCALE") {
        ListKind::ScaledFiles
    } else if text.contains("KEY=") {
        ListKind::KvOverrides
    } else if text.starts_with("MiB") {
        ListKind::Ints
    } else if text.starts_with("N0") || text.starts_with("P0") {
        ListKind::Floats
    } else {
        ListKind::Names
    }
}
