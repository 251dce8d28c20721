//! What changed between two flag tables (the shipped b11434 one and a build's): options added,
//! removed, and changed in spelling, arity, kind, hint, environment variable or default. Help
//! wording is not compared.

use super::rows::Row;

/// Options whose default decides how much memory llama-server allocates (docs/memory-model.md):
/// a changed default here changes what an unchanged profile loads.
pub const MEMORY_FLAGS: &[&str] = &[
    "--ctx-size",
    "--parallel",
    "--fit",
    "--fit-target",
    "--fit-ctx",
    "--flash-attn",
    "--cache-type-k",
    "--cache-type-v",
    "--batch-size",
    "--ubatch-size",
    "--gpu-layers",
    "--kv-unified",
    "--swa-full",
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Changed {
    /// The option's first `--` spelling.
    pub option: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableDiff {
    /// Spellings of options only the new table has.
    pub added: Vec<String>,
    /// Spellings of options only the old table has.
    pub removed: Vec<String>,
    pub changed: Vec<Changed>,
}

impl TableDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The default changes of [`MEMORY_FLAGS`]: (option, old, new).
    pub fn memory_defaults(&self) -> Vec<(&str, &str, &str)> {
        self.changed
            .iter()
            .filter(|c| MEMORY_FLAGS.contains(&c.option.as_str()))
            .flat_map(|c| {
                c.changes
                    .iter()
                    .filter(|f| f.field == "default")
                    .map(|f| (c.option.as_str(), f.old.as_str(), f.new.as_str()))
            })
            .collect()
    }
}

/// Options are matched by their first `--` spelling.
pub fn diff(old: &[Row], new: &[Row]) -> TableDiff {
    let find = |rows: &'_ [Row], name: &str| rows.iter().position(|r| r.canonical() == name);
    let mut out = TableDiff::default();
    for o in old {
        match find(new, o.canonical()) {
            None => out.removed.push(o.flags.join(" ")),
            Some(i) => {
                let changes = field_changes(o, &new[i]);
                if !changes.is_empty() {
                    out.changed.push(Changed {
                        option: o.canonical().to_string(),
                        changes,
                    });
                }
            }
        }
    }
    for n in new {
        if find(old, n.canonical()).is_none() {
            out.added.push(n.flags.join(" "));
        }
    }
    out
}

fn field_changes(old: &Row, new: &Row) -> Vec<FieldChange> {
    let fields: [(&'static str, String, String); 6] = [
        ("spellings", old.flags.join(" "), new.flags.join(" ")),
        (
            "takes_value",
            old.takes_value.clone(),
            new.takes_value.clone(),
        ),
        ("value_kind", old.value_kind.clone(), new.value_kind.clone()),
        ("value_hint", old.value_hint.clone(), new.value_hint.clone()),
        ("env", old.env.clone(), new.env.clone()),
        ("default", old.default.clone(), new.default.clone()),
    ];
    fields
        .into_iter()
        .filter(|(_, o, n)| o != n)
        .map(|(field, old, new)| FieldChange { field, old, new })
        .collect()
}

/// The diff as lines for people: `+ --new-flag`, `- --old-flag`, `~ --ctx-size default: 0 → 4096`.
pub fn render(d: &TableDiff) -> String {
    let mut out = String::new();
    for a in &d.added {
        out.push_str(&format!("+ {a}\n"));
    }
    for r in &d.removed {
        out.push_str(&format!("- {r}\n"));
    }
    for c in &d.changed {
        for f in &c.changes {
            out.push_str(&format!(
                "~ {} {}: `{}` → `{}`\n",
                c.option, f.field, f.old, f.new
            ));
        }
    }
    out
}
