//! Telling the two dialects apart by content. models.conf keys are UPPER_CASE profile keys
//! (`MODEL=`, `EXTRA_ARGS=`); preset keys are lowercase flag names (`ctx-size = 4096`) or
//! `LLAMA_ARG_*` env names, and only presets have `[*]` or `;` comments. Each line votes;
//! a tie (an empty file, only comments) stays models.conf, the dialect profilec started with.

use crate::config::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    ModelsConf,
    Preset,
}

pub fn detect(text: &str) -> Dialect {
    let mut preset = 0usize;
    let mut conf = 0usize;
    for line in text.lines() {
        let t = line.trim_matches([' ', '\t', '\r', '\u{FEFF}']);
        if t.starts_with(';') {
            preset += 1;
        } else if t.starts_with('#') || t.starts_with('[') {
            if t.starts_with("[*]") {
                return Dialect::Preset;
            }
        } else if let Some((key, _)) = t.split_once('=') {
            let key = key.trim_matches([' ', '\t']);
            if Key::ALL.iter().any(|k| k.as_str() == key) {
                conf += 1;
            } else if key.starts_with("LLAMA_ARG_") || key.bytes().any(|b| b.is_ascii_lowercase()) {
                preset += 1;
            }
        }
    }
    if preset > conf {
        Dialect::Preset
    } else {
        Dialect::ModelsConf
    }
}
