use std::ops::Range;

use super::values::{
    GpuLayers, Runtime, Strategy, parse_ctx, parse_mib_list, parse_on_off, parse_roles,
    parse_seconds, parse_sha256_list,
};
use super::{Conf, Key, Profile, RawEntry, Spanned};
use crate::diag::Diagnostic;
use crate::syntax::{Document, LineKind};

/// What start.sh's `read` strips around a value (and a CR before a CRLF's LF).
const VALUE_BLANKS: [char; 3] = [' ', '\t', '\r'];

const ID_HELP: &str =
    "profile ids may contain only letters, digits, `-` and `_`, as start.sh requires";

/// Builds typed profiles from a parsed document, reporting every line-level problem.
pub fn load(doc: Document) -> (Conf, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut profiles: Vec<Profile> = Vec::new();
    // None before the first header and after an invalid one: keys there belong to no profile.
    let mut current: Option<Profile> = None;
    let mut in_bad_section = false;

    for (index, line) in doc.lines().iter().enumerate() {
        match &line.kind {
            LineKind::Blank | LineKind::Comment { .. } => {}
            LineKind::Header { id, trailing } => {
                if let Some(done) = current.take() {
                    profiles.push(done);
                }
                match header_problem(&doc, id, trailing, &line.text) {
                    Some(d) => {
                        diags.push(d);
                        in_bad_section = true;
                    }
                    None => {
                        in_bad_section = false;
                        current = Some(Profile {
                            id: Spanned::new(doc.slice(id).to_string(), id.clone()),
                            header_line: index,
                            last_entry_line: index,
                            ..Profile::default()
                        });
                    }
                }
            }
            LineKind::BadHeader => {
                if let Some(done) = current.take() {
                    profiles.push(done);
                }
                in_bad_section = true;
                diags.push(
                    Diagnostic::error("conf::invalid-header", "section header without a closing `]`")
                        .at(trimmed(&doc, &line.text))
                        .label("not a valid `[id]` header")
                        .help(format!(
                            "write `[id]` on its own line; {ID_HELP}. start.sh ignored such a line, so the keys below it silently overwrote the previous profile"
                        )),
                );
            }
            LineKind::Stray => diags.push(
                Diagnostic::error(
                    "conf::stray-line",
                    "line is not a comment, a `[id]` header or a `KEY=VALUE` entry",
                )
                .at(trimmed(&doc, &line.text))
                .label("not understood")
                .help("start with `#` to make it a comment, or write `KEY=VALUE`"),
            ),
            LineKind::Entry { key, value, .. } => {
                let entry = RawEntry {
                    key: Spanned::new(doc.slice(key).to_string(), key.clone()),
                    value: Spanned::new(doc.slice(value).to_string(), value.clone()),
                    line: index,
                };
                match current.as_mut() {
                    Some(profile) => {
                        add_entry(&doc, profile, entry, &mut diags);
                        profile.last_entry_line = index;
                    }
                    None if in_bad_section => {}
                    None => diags.push(
                        Diagnostic::error("conf::key-outside-section", format!("`{}` is set before any `[id]` header", entry.key.value.trim()))
                            .at(entry.key.span.start..entry.value.span.end)
                            .label("belongs to no profile")
                            .help("move it below a `[id]` header, or comment it out with `#`; start.sh ignored it"),
                    ),
                }
            }
        }
    }
    if let Some(done) = current.take() {
        profiles.push(done);
    }
    // Kept for the whole run: no growth slack (up to half of it on a 50 MB file).
    for p in &mut profiles {
        p.entries.shrink_to_fit();
    }
    profiles.shrink_to_fit();
    (Conf { doc, profiles }, diags)
}

fn trimmed(doc: &Document, span: &Range<usize>) -> Range<usize> {
    let text = doc.slice(span);
    let start = span.start + (text.len() - text.trim_start().len());
    let end = span.start + text.trim_end().len();
    if start < end {
        start..end
    } else {
        span.clone()
    }
}

fn header_problem(
    doc: &Document,
    id: &Range<usize>,
    trailing: &Range<usize>,
    line: &Range<usize>,
) -> Option<Diagnostic> {
    let id_text = doc.slice(id);
    if !doc.slice(trailing).trim().is_empty() {
        return Some(
            Diagnostic::error("conf::invalid-header", "text after the section header's `]`")
                .at(trimmed(doc, trailing))
                .label("unexpected")
                .help("a header is `[id]` alone on its line; start.sh did not recognise this line, so the keys below it overwrote the previous profile"),
        );
    }
    let bad = id_text.char_indices().find(|(_, c)| !is_id_char(*c));
    if id_text.is_empty() {
        return Some(
            Diagnostic::error("conf::invalid-header", "empty profile id")
                .at(trimmed(doc, line))
                .label("`[]` names no profile")
                .help(ID_HELP),
        );
    }
    bad.map(|(i, c)| {
        let at = id.start + i;
        Diagnostic::error("conf::invalid-header", format!("profile id `{id_text}` contains `{}`", c.escape_default()))
            .at(at..at + c.len_utf8())
            .label("not allowed in an id")
            .related(id.clone(), "in this id")
            .help(format!(
                "{ID_HELP}; try `[{}]`. start.sh ignored this header, so the keys below it overwrote the previous profile",
                suggest_id(id_text)
            ))
    })
}

/// Whether `c` may appear in a profile id (start.sh's header regex: letters, digits, `-`, `_`).
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `id` with every character an id cannot hold replaced by `-`.
pub fn suggest_id(id: &str) -> String {
    id.trim()
        .chars()
        .map(|c| if is_id_char(c) { c } else { '-' })
        .collect()
}

fn add_entry(doc: &Document, profile: &mut Profile, entry: RawEntry, diags: &mut Vec<Diagnostic>) {
    let raw_key = entry.key.value.clone();
    let key_text = raw_key.trim_end();
    if key_text.len() != raw_key.len() || entry.value.value.starts_with([' ', '\t']) {
        let ws_start = entry.key.span.start + key_text.len();
        let ws_end = entry.value.span.start
            + (entry.value.value.len() - entry.value.value.trim_start_matches([' ', '\t']).len());
        diags.push(
            Diagnostic::error("conf::space-around-equals", "blanks around `=`")
                .at(ws_start..ws_end)
                .label("remove these blanks")
                .help(format!(
                    "write `{key_text}={}`: start.sh reads the key with its blanks (so it never matches) while dashboard.py strips them, so the two disagree",
                    entry.value.value.trim()
                )),
        );
    }
    let Some(key) = Key::parse(key_text) else {
        diags.push(unknown_key(key_text, &entry.key.span));
        profile.entries.push(entry);
        return;
    };
    if let Some(first) = profile.entry(key) {
        diags.push(
            Diagnostic::error(
                "conf::duplicate-key",
                format!("`{key_text}` is set twice in [{}]", profile.id.value),
            )
            .at(entry.key.span.clone())
            .label("set again here")
            .related(first.key.span.clone(), "first set here")
            .help("keep one of them; the old scripts silently used the last one"),
        );
    }
    // The span must cover exactly the trimmed value: EXTRA_ARGS diagnostics are offsets into
    // it. `trimmed` trims Unicode white space (a leading vertical tab too), which once shifted
    // every EXTRA_ARGS span by a byte, past the line or into a character (structured fuzzing,
    // issue 12).
    let raw = entry.value.value.as_str();
    let value = raw.trim_matches(VALUE_BLANKS).to_string();
    let lead = raw.len() - raw.trim_start_matches(VALUE_BLANKS).len();
    let vspan = if value.is_empty() {
        trimmed(doc, &entry.value.span)
    } else {
        let start = entry.value.span.start + lead;
        start..start + value.len()
    };
    profile.entries.push(entry);
    if value.is_empty() {
        if key == Key::Model {
            diags.push(
                Diagnostic::error("conf::bad-value", "MODEL is empty")
                    .at(vspan)
                    .help("give the model file's path relative to the models directory"),
            );
        }
        // Empty means "unset" to start.sh (only non-empty keys reach the .env).
        return;
    }
    let parsed = set_typed(profile, key, &value, vspan.clone());
    if key == Key::FitTarget && parsed.is_ok() && has_empty_item(&value) {
        diags.push(
            Diagnostic::warning(
                "conf::empty-list-item",
                format!("FIT_TARGET `{value}` has an empty item"),
            )
            .at(vspan.clone())
            .label("empty item")
            .help(
                "llama.cpp skips empty items, so every margin after it applies to the previous \
                 GPU; write one number per GPU in device order, e.g. `128,512,1024`",
            ),
        );
    }
    if let Err(why) = parsed {
        diags.push(
            Diagnostic::error("conf::bad-value", format!("bad {key_text}: {why}"))
                .at(vspan)
                .label("invalid value")
                .help(value_help(key)),
        );
    }
}

/// An empty item in a `,`/`/` list (`128,,1024`, `,128`, `128,`).
fn has_empty_item(list: &str) -> bool {
    list.split([',', '/']).any(str::is_empty)
}

fn set_typed(p: &mut Profile, key: Key, value: &str, span: Range<usize>) -> Result<(), String> {
    let text = || Some(Spanned::new(value.to_string(), span.clone()));
    match key {
        Key::Name => p.name = text(),
        Key::Description => p.description = text(),
        Key::Speed => p.speed = text(),
        Key::Model => p.model = text(),
        Key::ExtraArgs => p.extra_args = text(),
        Key::CtxSize => p.ctx_size = Some(Spanned::new(parse_ctx(value)?, span)),
        Key::NGpuLayers => p.n_gpu_layers = Some(Spanned::new(GpuLayers::parse(value)?, span)),
        Key::Fit => p.fit = Some(Spanned::new(parse_on_off(value)?, span)),
        Key::FitTarget => p.fit_target = Some(Spanned::new(parse_mib_list(value)?, span)),
        Key::Strategy => p.strategy = Some(Spanned::new(Strategy::parse(value)?, span)),
        Key::Ttl => p.ttl = Some(Spanned::new(parse_seconds(value)?, span)),
        Key::Runtime => p.runtime = Some(Spanned::new(Runtime::parse(value)?, span)),
        Key::Roles => p.roles = Some(Spanned::new(parse_roles(value)?, span)),
        Key::Source => {
            let source = crate::remote::Source::parse(value).map_err(|e| match e {
                crate::remote::RemoteError::BadSource { reason, .. } => reason,
                other => other.to_string(),
            })?;
            p.source = Some(Spanned::new(source, span));
        }
        Key::Sha256 => p.sha256 = Some(Spanned::new(parse_sha256_list(value)?, span)),
    }
    Ok(())
}

fn value_help(key: Key) -> &'static str {
    match key {
        Key::CtxSize => {
            "CTX_SIZE is a whole number of tokens, e.g. `131072`; `0` means the model's trained context"
        }
        Key::NGpuLayers => {
            "N_GPU_LAYERS is a layer count such as `99`, `auto` (let --fit decide) or `all`"
        }
        Key::Fit => "FIT is `on` or `off`",
        Key::FitTarget => "FIT_TARGET is a MiB margin per GPU in device order, e.g. `128,1024`",
        Key::Strategy => {
            "STRATEGY is `auto`, `A` (one GPU), `B` (tensor split), `C` (MoE layer split) or `D` (MoE with CPU experts)"
        }
        Key::Runtime => {
            "RUNTIME is `llama-server` (GGUF files) or `vllm` (a Hugging Face model directory, docs/vllm.md)"
        }
        Key::Ttl => {
            "TTL is whole seconds of idle time before the model is unloaded, e.g. `300`; `0` never unloads"
        }
        Key::Roles => {
            "ROLES is a comma-separated list of role names (letters, digits, `-`, `_`), e.g. `general,coding`"
        }
        Key::Source => {
            "SOURCE is hf://ORG/REPO/PATH.gguf (optionally @REVISION) or an https:// URL of the .gguf (docs/remote.md)"
        }
        Key::Sha256 => {
            "SHA256 is the file's SHA-256 as 64 hex digits (`sha256sum FILE`), comma-separated per shard of a split model"
        }
        _ => "see docs/models-conf.md for the value of each key",
    }
}

fn unknown_key(key: &str, span: &Range<usize>) -> Diagnostic {
    let best = Key::ALL
        .iter()
        .map(|k| {
            (
                strsim::levenshtein(&key.to_ascii_uppercase(), k.as_str()),
                k.as_str(),
            )
        })
        .min();
    let known = Key::ALL.map(Key::as_str).join(", ");
    // `model=`: the key is right but its case is not (preset and .env habits).
    if let Some(upper) = Key::ALL
        .iter()
        .map(|k| k.as_str())
        .find(|k| k.eq_ignore_ascii_case(key))
    {
        return Diagnostic::error(
            "conf::unknown-key",
            format!("`{key}` is not a key: models.conf keys are upper case (`{upper}`)"),
        )
        .at(span.clone())
        .label(format!("write `{upper}`"))
        .help(format!(
            "write `{upper}=`; the old scripts matched keys exactly and silently ignored this line"
        ));
    }
    let mut d = Diagnostic::error("conf::unknown-key", format!("unknown key `{key}`"))
        .at(span.clone())
        .label("not a profile key");
    d = match best {
        Some((dist, name)) if dist <= 3 || key.eq_ignore_ascii_case(name) => d.help(format!(
            "did you mean `{name}`? (the old scripts silently ignored unknown keys; known keys: {known})"
        )),
        _ => d.help(format!("known keys: {known}; the old scripts silently ignored anything else")),
    };
    d
}
