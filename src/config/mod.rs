//! Typed profiles from the syntax tree: sections become `Profile`s with a span on every key and
//! value. Problems local to one line (a bad header, an unknown key, a value of the wrong type)
//! are reported here; rules that look across profiles live in `check`.

mod keys;
mod load;
mod values;

use std::ops::Range;

pub use keys::Key;
pub use load::{is_id_char, load, suggest_id};
pub use values::{GpuLayers, Runtime, Strategy, parse_ctx, parse_mib_list as values_mib_list};

use crate::syntax::Document;

/// A value with the byte span it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Range<usize>,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Range<usize>) -> Self {
        Spanned { value, span }
    }
}

/// One `KEY=VALUE` line as written, known key or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub key: Spanned<String>,
    pub value: Spanned<String>,
    /// Index into `Document::lines`.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub id: Spanned<String>,
    /// Index of the header in `Document::lines`.
    pub header_line: usize,
    /// Index of the last line that belongs to this section (its last key, not trailing comments).
    pub last_entry_line: usize,
    /// Every entry in source order, including unknown keys and duplicates.
    pub entries: Vec<RawEntry>,
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub speed: Option<Spanned<String>>,
    pub model: Option<Spanned<String>>,
    pub ctx_size: Option<Spanned<u64>>,
    pub n_gpu_layers: Option<Spanned<GpuLayers>>,
    pub fit: Option<Spanned<bool>>,
    pub fit_target: Option<Spanned<Vec<u64>>>,
    pub extra_args: Option<Spanned<String>>,
    pub strategy: Option<Spanned<Strategy>>,
    /// Seconds idle before llama-swap unloads the model (`ttl`); 0 = never.
    pub ttl: Option<Spanned<u64>>,
    /// `RUNTIME`, as written (the runtime in use also follows from MODEL: `resolve::runtime_of`).
    pub runtime: Option<Spanned<Runtime>>,
}

impl Default for Spanned<String> {
    fn default() -> Self {
        Spanned::new(String::new(), 0..0)
    }
}

impl Profile {
    /// `bench-<id>` profiles benchmark `<id>` (the corpus convention, recognised by prefix only).
    pub fn bench_of(&self) -> Option<&str> {
        self.id.value.strip_prefix("bench-")
    }

    /// The entry that set `key` last (the one that wins, as in start.sh).
    pub fn entry(&self, key: Key) -> Option<&RawEntry> {
        self.entries
            .iter()
            .rev()
            .find(|e| Key::parse(&e.key.value) == Some(key))
    }
}

/// A parsed models.conf: the lossless tree plus its typed profiles.
#[derive(Debug, Clone)]
pub struct Conf {
    pub doc: Document,
    pub profiles: Vec<Profile>,
}

impl Conf {
    /// Every profile id, in file order.
    pub fn ids(&self) -> Vec<String> {
        self.profiles.iter().map(|p| p.id.value.clone()).collect()
    }

    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id.value == id)
    }
}
