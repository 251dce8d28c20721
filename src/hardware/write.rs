//! `hw --write`: record the detected machine in profilec.toml. Only measured facts in `[[gpu]]`
//! and `[cpu]` change; comments, formatting, other sections and the user's policy values
//! (`os_reserve_mib`, a hand-tuned `speed`) stay byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

use super::{Cpu, Detected, Gpu};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path} is not valid TOML, so it was left untouched: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("`{key}` in {path} is not a table, so it was left untouched")]
    NotATable { path: PathBuf, key: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Failure for WriteError {
    fn code(&self) -> &'static str {
        match self {
            WriteError::Syntax { .. } => "hw::bad-toml",
            WriteError::NotATable { .. } => "hw::not-a-table",
            WriteError::Io { .. } => "io::write",
        }
    }

    fn help(&self) -> String {
        match self {
            WriteError::Syntax { .. } | WriteError::NotATable { .. } => {
                "fix the file by hand (`profilec hw --hardware FILE` shows its problems), or move it away and write a new one"
            }
            WriteError::Io { .. } => "check permissions of the file and its directory",
        }
        .into()
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteSummary {
    pub path: PathBuf,
    /// The file did not exist before.
    pub created: bool,
    /// False when the file already held exactly these values (it is then not rewritten).
    pub changed: bool,
    pub gpus_written: usize,
    /// `[[gpu]]` entries beyond the detected GPUs that were dropped.
    pub gpus_removed: usize,
    /// NVML did not run, so the declared `[[gpu]]` entries were left as they were.
    pub gpus_kept: bool,
}

const NEW_FILE_HEADER: &str = "\
# profilec hardware description (docs/hardware.md).
# [[gpu]] and [cpu] were recorded by `profilec hw --write`; edit reserved_mib, speed and
# os_reserve_mib to taste. Add [defaults], [runtime] and [llm] as needed.

";

/// The new file text from [`update_toml`].
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    pub text: String,
    pub gpus_written: usize,
    pub gpus_removed: usize,
}

/// Returns `src` with `[cpu]` holding `cpu` and, when `gpus` is `Some`, `[[gpu]]` holding exactly
/// those GPUs (`None` leaves `[[gpu]]` alone: no driver is not the same as no GPU). Comment lines
/// above a removed `[[gpu]]` move to the next table. `path` only names the file in errors.
pub fn update_toml(
    src: &str,
    cpu: &Cpu,
    gpus: Option<&[Gpu]>,
    path: &Path,
) -> Result<Updated, WriteError> {
    let mut doc: DocumentMut =
        src.parse()
            .map_err(|e: toml_edit::TomlError| WriteError::Syntax {
                path: path.to_owned(),
                message: e.message().trim().to_owned(),
            })?;
    let not_table = |key: &str| WriteError::NotATable {
        path: path.to_owned(),
        key: key.to_owned(),
    };
    let root = doc.as_table_mut();
    let cpu_item = root
        .entry("cpu")
        .or_insert_with(|| Item::Table(Table::new()));
    let t = cpu_item
        .as_table_like_mut()
        .ok_or_else(|| not_table("cpu"))?;
    set(t, "ram_mib", int(cpu.ram_mib));
    set_if_absent(t, "os_reserve_mib", int(cpu.os_reserve_mib));
    set(t, "cores_physical", int(u64::from(cpu.cores_physical)));
    set(t, "cores_logical", int(u64::from(cpu.cores_logical)));
    set(t, "numa_nodes", int(u64::from(cpu.numa_nodes)));
    set(t, "arch", Value::from(cpu.arch.as_str()));

    let Some(gpus) = gpus else {
        let written = root
            .get("gpu")
            .and_then(Item::as_array_of_tables)
            .map_or(0, ArrayOfTables::len);
        return Ok(Updated {
            text: doc.to_string(),
            gpus_written: written,
            gpus_removed: 0,
        });
    };
    let mut orphaned: Vec<(Option<isize>, String)> = Vec::new();
    match root.get_mut("gpu") {
        None if gpus.is_empty() => {}
        None => {
            let mut aot = ArrayOfTables::new();
            for g in gpus {
                let mut t = Table::new();
                set_gpu(&mut t, g);
                aot.push(t);
            }
            root.insert("gpu", Item::ArrayOfTables(aot));
        }
        Some(Item::ArrayOfTables(aot)) => {
            while aot.len() > gpus.len() {
                let t = aot.remove(aot.len() - 1);
                let prefix = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
                orphaned.push((t.position(), prefix.to_owned()));
            }
            for (i, g) in gpus.iter().enumerate() {
                match aot.get_mut(i) {
                    Some(t) => set_gpu(t, g),
                    None => {
                        let mut t = Table::new();
                        set_gpu(&mut t, g);
                        aot.push(t);
                    }
                }
            }
            if aot.is_empty() {
                root.remove("gpu");
            }
        }
        Some(_) => return Err(not_table("gpu")),
    }
    let removed = orphaned.len();
    // Removed back to front, and each prefix is prepended: the comments keep their file order.
    for (pos, prefix) in orphaned {
        if prefix.contains('#') {
            rehome_comments(&mut doc, pos, &prefix);
        }
    }
    Ok(Updated {
        text: doc.to_string(),
        gpus_written: gpus.len(),
        gpus_removed: removed,
    })
}

/// Puts `prefix` (the comment lines above a removed table) in front of the next table in the
/// file, or at the end when there is none.
fn rehome_comments(doc: &mut DocumentMut, pos: Option<isize>, prefix: &str) {
    let after = pos.unwrap_or(isize::MIN);
    let mut best: Option<(isize, String, Option<usize>)> = None;
    for (key, item) in doc.as_table().iter() {
        let tables: Vec<(Option<usize>, &Table)> = match item {
            Item::Table(t) => vec![(None, t)],
            Item::ArrayOfTables(a) => a.iter().enumerate().map(|(i, t)| (Some(i), t)).collect(),
            _ => Vec::new(),
        };
        for (idx, t) in tables {
            if let Some(p) = t.position()
                && p > after
                && best.as_ref().is_none_or(|b| p < b.0)
            {
                best = Some((p, key.to_owned(), idx));
            }
        }
    }
    let target = best.and_then(|(_, key, idx)| match (doc.get_mut(&key)?, idx) {
        (Item::Table(t), None) => Some(t),
        (Item::ArrayOfTables(a), Some(i)) => a.get_mut(i),
        _ => None,
    });
    match target {
        Some(t) => {
            let old = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
            // One blank line between the moved comments and what was there, not two.
            let old = match old.strip_prefix('\n') {
                Some(rest) if prefix.ends_with("\n\n") => rest,
                _ => old,
            };
            let joined = format!("{prefix}{old}");
            t.decor_mut().set_prefix(joined);
        }
        None => {
            let old = doc.trailing().as_str().unwrap_or("").to_owned();
            doc.set_trailing(format!("{old}\n{}", prefix.trim_end()) + "\n");
        }
    }
}

/// Writes the detected machine into `path` (created if missing), atomically. `[[gpu]]` is only
/// rewritten when NVML actually ran.
pub fn write_detected(path: &Path, detected: &Detected) -> Result<WriteSummary, WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    // Write through a symlink to the real file, so the link survives the rename.
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let (old, created) = match fs::read_to_string(&target) {
        Ok(s) => (s, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), true),
        Err(e) => return Err(io(e)),
    };
    let hw = &detected.hardware;
    let gpus = detected.gpus_detected.then_some(hw.gpus.as_slice());
    let mut up = update_toml(&old, &hw.cpu, gpus, path)?;
    if created {
        up.text = format!("{NEW_FILE_HEADER}{}", up.text);
    }
    let changed = created || up.text != old;
    if changed {
        crate::fsutil::write_atomic(&target, &up.text).map_err(io)?;
    }
    Ok(WriteSummary {
        path: path.to_owned(),
        created,
        changed,
        gpus_written: up.gpus_written,
        gpus_removed: up.gpus_removed,
        gpus_kept: gpus.is_none(),
    })
}

fn set_gpu(t: &mut Table, g: &Gpu) {
    let same_card = t.get("name").and_then(Item::as_str) == Some(g.name.as_str());
    set(t, "id", Value::from(g.id.as_str()));
    set(t, "name", Value::from(g.name.as_str()));
    set(t, "total_mib", int(g.total_mib));
    set(t, "reserved_mib", int(g.reserved_mib));
    // A speed the user tuned for this same card is kept; a new card gets the detected estimate.
    if !(same_card && t.contains_key("speed")) {
        set(t, "speed", Value::from(g.speed));
    }
    set(t, "drives_display", Value::from(g.drives_display));
    if let Some(bus) = &g.pci_bus_id {
        set(t, "pci_bus_id", Value::from(bus.as_str()));
    }
}

fn int(n: u64) -> Value {
    Value::from(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Replaces a value keeping the whitespace and comment around it; an equal value is left as
/// written (`65_536` stays `65_536`).
fn set(t: &mut dyn TableLike, key: &str, new: Value) {
    match t.get_mut(key) {
        Some(Item::Value(old)) => {
            if same(old, &new) {
                return;
            }
            let decor = old.decor().clone();
            *old = new;
            *old.decor_mut() = decor;
        }
        Some(other) => *other = Item::Value(new),
        None => {
            t.insert(key, Item::Value(new));
        }
    }
}

fn set_if_absent(t: &mut dyn TableLike, key: &str, new: Value) {
    if !t.contains_key(key) {
        t.insert(key, Item::Value(new));
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Integer(x), Value::Integer(y)) => x.value() == y.value(),
        (Value::Float(x), Value::Float(y)) => x.value() == y.value(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        _ => false,
    }
}
