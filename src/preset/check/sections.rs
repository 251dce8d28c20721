//! Section rules: names as llama-server will list them, duplicates (a repeated header starts
//! the section over), keys before the first header, and each model's file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::preset::keys;
use crate::preset::model::{Preset, Section};

/// The options that name what a model loads (llama.cpp resolves one of them per model).
const MODEL_SOURCES: &[&str] = &["--model", "--hf-repo", "--model-url", "--docker-repo"];

pub fn check(preset: &Preset, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, &Section> = HashMap::new();
    for section in &preset.sections {
        names(section, out);
        if let Some(first) = seen.insert(&section.name, section) {
            out.push(duplicate(first, section));
        }
    }
    default_section(preset, out);
    let shared_source = preset
        .sections
        .iter()
        .filter(|s| s.is_shared())
        .any(|s| model_source(s).is_some());
    for section in preset.models() {
        if !shared_source && model_source(section).is_none() {
            out.push(no_model(section));
        }
    }
}

fn names(section: &Section, out: &mut Vec<Diagnostic>) {
    if section.header.is_none() {
        return;
    }
    if section.written.ends_with([' ', '\t']) {
        out.push(
            Diagnostic::warning(
                "preset::name-blanks",
                format!("the model name `{}` ends with blanks", section.written),
            )
            .at(section.name_span.clone())
            .label("llama-server keeps them: clients must send the name with them")
            .help(format!("write `[{}]`", section.written.trim_end())),
        );
    }
    if section.name != section.written {
        out.push(
            Diagnostic::note(
                "preset::renamed-model",
                format!("llama-server lists this model as `{}`", section.name),
            )
            .at(section.name_span.clone())
            .label("the `:tag` is canonicalised")
            .help(format!(
                "write `[{}]` to use the name clients will see",
                section.name
            )),
        );
    }
}

fn duplicate(first: &Section, again: &Section) -> Diagnostic {
    let span = again.header.clone().unwrap_or(again.name_span.clone());
    let first_span = first
        .header
        .clone()
        .or_else(|| first.entries.first().map(|e| e.key_span.clone()))
        .unwrap_or(0..0);
    Diagnostic::error(
        "preset::duplicate-section",
        format!("section `{}` appears twice", again.name),
    )
    .at(span)
    .label("llama-server starts the section over here")
    .related(first_span, "these keys are discarded")
    .help("merge the two sections into one")
}

fn default_section(preset: &Preset, out: &mut Vec<Diagnostic>) {
    let Some(section) = preset.sections.first().filter(|s| s.header.is_none()) else {
        return;
    };
    let Some(entry) = section.entries.iter().find(|e| e.key != keys::VERSION_KEY) else {
        return;
    };
    out.push(
        Diagnostic::warning(
            "preset::default-section",
            "keys before the first section header make a model named `default`",
        )
        .at(entry.key_span.clone())
        .label("not shared with the other models")
        .help("put options every model shares under `[*]`; name the model with its own `[name]` header"),
    );
}

fn model_source(section: &Section) -> Option<&crate::preset::model::Entry> {
    section
        .entries
        .iter()
        .find(|e| keys::resolve(&e.key).is_some_and(|t| MODEL_SOURCES.contains(&t.spec.canonical)))
}

// A `user/repo[:quant]` name is how the router lists Hugging Face cache entries: a section of
// that name configures the cached model, so naming no file there is normal.
fn no_model(section: &Section) -> Diagnostic {
    let span = section
        .header
        .clone()
        .or_else(|| section.entries.first().map(|e| e.key_span.clone()))
        .unwrap_or(0..0);
    let severity = if section.name.contains('/') {
        crate::diag::Severity::Note
    } else {
        crate::diag::Severity::Warning
    };
    Diagnostic::new(
        "preset::no-model",
        severity,
        format!("model `{}` names no model file", section.name),
    )
    .at(span)
    .label("no `model`, `hf-repo`/`hf`, `model-url` or `docker-repo` here or in [*]")
    .help("add `model = /path/to/file.gguf` or `hf = user/repo:quant`; without one the model loads only if the router's --models-dir or the Hugging Face cache has a model of this name")
}

/// `model` paths: llama-server opens them relative to its working directory; profilec checks
/// them relative to `base` (the preset's directory unless the caller says otherwise). A path
/// whose directory does not exist is reported once, not checked.
pub fn model_files(preset: &Preset, base: Option<&Path>, out: &mut Vec<Diagnostic>) {
    let Some(base) = base else { return };
    let mut unchecked: Vec<PathBuf> = Vec::new();
    for section in &preset.sections {
        for e in &section.entries {
            let is_model = keys::resolve(&e.key).is_some_and(|t| t.spec.canonical == "--model");
            if !is_model || e.value.is_empty() {
                continue;
            }
            let path = base.join(&e.value);
            let dir_exists = path.parent().is_some_and(Path::is_dir);
            if !dir_exists {
                unchecked.push(path);
            } else if !path.is_file() {
                out.push(
                    Diagnostic::error(
                        "preset::missing-model-file",
                        format!("model file {} not found", path.display()),
                    )
                    .at(e.value_span.clone())
                    .label("not on disk")
                    .help("fix the path or download the file; a relative path is opened from llama-server's working directory"),
                );
            }
        }
    }
    if let Some(first) = unchecked.first() {
        out.push(
            Diagnostic::note(
                "preset::model-not-checked",
                format!(
                    "{} model path(s) not checked: directory of {} not found",
                    unchecked.len(),
                    first.display()
                ),
            )
            .help("run `profilec check` where the models are, or pass --models-dir DIR for relative paths"),
        );
    }
}
