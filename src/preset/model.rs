//! The typed layer over the syntax tree: sections in file order, each with its entries.
//! Names and keys are kept as llama.cpp reads them; spans point into the source.

use std::ops::Range;

use super::syntax::{PresetDoc, PresetLineKind};

/// llama.cpp `COMMON_PRESET_DEFAULT_NAME`: keys before the first header go to this section.
pub const DEFAULT_SECTION: &str = "default";
/// The section every model inherits from.
pub const SHARED_SECTION: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    pub key: String,
    pub key_span: Range<usize>,
    /// The value as llama.cpp reads it (trailing blanks and any comment excluded).
    pub value: String,
    pub value_span: Range<usize>,
    /// The `;`/`#` comment after the value on the same line.
    pub comment: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The header line's text; `None` for the keys before the first header.
    pub header: Option<Range<usize>>,
    /// The name as written between the brackets, leading blanks skipped as llama.cpp does
    /// (trailing blanks stay part of the name there too).
    pub written: String,
    pub name_span: Range<usize>,
    /// The model name llama-server uses: a `:tag` suffix is upper-cased the way
    /// `canonical_tag` does (`[m:q4_k_m]` is model `m:Q4_K_M`).
    pub name: String,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn is_shared(&self) -> bool {
        self.name == SHARED_SECTION
    }

    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_SECTION
    }
}

/// A preset file: its lossless tree and its sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub doc: PresetDoc,
    pub sections: Vec<Section>,
}

impl Preset {
    pub fn parse(source: impl Into<String>) -> Preset {
        let doc = PresetDoc::parse(source);
        let sections = sections_of(&doc);
        Preset { doc, sections }
    }

    /// The sections llama-server turns into models: every section but `[*]`, the default one
    /// only when it sets anything besides the reserved `version` (llama.cpp skips it if empty).
    pub fn models(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(|s| {
            !s.is_shared() && (!s.is_default() || s.entries.iter().any(|e| e.key != "version"))
        })
    }
}

fn sections_of(doc: &PresetDoc) -> Vec<Section> {
    let mut sections = vec![Section {
        header: None,
        written: DEFAULT_SECTION.to_string(),
        name_span: 0..0,
        name: DEFAULT_SECTION.to_string(),
        entries: Vec::new(),
    }];
    for line in doc.lines() {
        match &line.kind {
            PresetLineKind::Header { name, .. } => {
                let raw = doc.slice(name);
                let written = raw.trim_start_matches([' ', '\t']);
                let start = name.end - written.len();
                sections.push(Section {
                    header: Some(line.text.clone()),
                    written: written.to_string(),
                    name_span: start..name.end,
                    name: canonical_name(written),
                    entries: Vec::new(),
                });
            }
            PresetLineKind::Entry {
                key,
                value,
                comment,
                ..
            } => {
                if let Some(section) = sections.last_mut() {
                    section.entries.push(Entry {
                        line: line.number,
                        key: doc.slice(key).to_string(),
                        key_span: key.clone(),
                        value: doc.slice(value).to_string(),
                        value_span: value.clone(),
                        comment: comment.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    // The implicit default section is kept only when it holds keys.
    if sections.first().is_some_and(|s| s.entries.is_empty()) {
        sections.remove(0);
    }
    sections
}

/// llama.cpp `load_from_ini`: in a `name:tag` section name the tag is canonicalised by
/// `canonical_tag` — the last `[-.]WORD` suffix, upper-cased, else the whole tag upper-cased.
pub fn canonical_name(written: &str) -> String {
    if written == SHARED_SECTION || written == DEFAULT_SECTION {
        return written.to_string();
    }
    let Some((head, tag)) = written.rsplit_once(':') else {
        return written.to_string();
    };
    format!("{head}:{}", canonical_tag(tag))
}

// The regex `[-.]([A-Z0-9_]+)$` (case-insensitive), searched from the left: the first `-`/`.`
// after which only word characters remain.
fn canonical_tag(tag: &str) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let suffix = tag.char_indices().find_map(|(i, c)| {
        let rest = tag.get(i + c.len_utf8()..)?;
        ((c == '-' || c == '.') && !rest.is_empty() && rest.chars().all(word)).then_some(rest)
    });
    suffix.unwrap_or(tag).to_ascii_uppercase()
}
