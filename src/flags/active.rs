//! Which flag table this process uses: the one read from the llama-server the verb would run
//! (installed once, before anything is parsed), else the shipped b11434 table.
//!
//! Why a process-wide table: every `ParsedArg` holds a `&'static FlagSpec` and every stage
//! (check, resolve, render) looks flags up by name; threading a table through all of them would
//! touch every signature for a value that cannot change while a command runs — one command
//! follows one llama-server. The installed text lives in a `OnceLock<String>` static, so the
//! specs borrow it for `'static` without leaking, and a second install is refused, not stacked.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use super::cache::{self, Entry, Key};
use super::help::{merge, parse_help};
use super::probe::{Build, ProbeError, SHIPPED_BUILD, probe};
use super::rows::{Row, parse_tsv, to_tsv};
use super::table::{FlagTable, SHIPPED_TSV, TABLE, parse_table};

/// Where the table in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSource {
    /// Read from this binary's `--help` (or from the cache entry for it).
    Build { build: Build, cached: bool },
    /// The shipped table; `why` says why no build's table is used.
    Shipped { why: String },
}

impl TableSource {
    /// One line for `check`: which table, and why.
    pub fn describe(&self) -> String {
        match self {
            TableSource::Build { build, .. } => {
                format!("the options of {}, read from its --help", build.describe())
            }
            TableSource::Shipped { why } => {
                format!("the shipped flag table (llama.cpp b11434): {why}")
            }
        }
    }

    /// The build, when the table is one's.
    pub fn build(&self) -> Option<&Build> {
        match self {
            TableSource::Build { build, .. } => Some(build),
            TableSource::Shipped { .. } => None,
        }
    }
}

static TEXT: OnceLock<String> = OnceLock::new();
static INSTALLED: OnceLock<FlagTable> = OnceLock::new();
static SOURCE: OnceLock<TableSource> = OnceLock::new();

/// The table lookups use.
pub fn table() -> &'static FlagTable {
    INSTALLED.get().unwrap_or(&TABLE)
}

/// Where [`table`] came from; `None` until a verb decided ([`follow_binary`], [`use_shipped`]).
pub fn source() -> Option<&'static TableSource> {
    SOURCE.get()
}

/// The shipped table's rows.
pub fn shipped_rows() -> Vec<Row> {
    parse_tsv(SHIPPED_TSV)
}

/// Uses the table of the llama-server at `path` (from the cache, else by running it); when it
/// cannot be read, the shipped table, with the reason. Decides once per process: later calls
/// return the first decision.
pub fn follow_binary(path: &Path, timeout: Duration) -> &'static TableSource {
    if let Some(s) = SOURCE.get() {
        return s;
    }
    let source = match read_build(path, timeout, false) {
        Ok((build, rows, cached)) => {
            let text = to_tsv(&merge(rows, &shipped_rows()));
            install(text);
            TableSource::Build { build, cached }
        }
        Err(e) => TableSource::Shipped {
            why: format!("{e}; checking against b11434's options instead"),
        },
    };
    SOURCE.get_or_init(|| source)
}

/// Uses the shipped table, saying why (no llama-server found).
pub fn use_shipped(why: String) -> &'static TableSource {
    SOURCE.get_or_init(|| TableSource::Shipped { why })
}

fn install(text: String) {
    if TEXT.set(text).is_ok()
        && let Some(text) = TEXT.get()
    {
        let _ = INSTALLED.set(parse_table(text));
    }
}

/// The binary's build and options as its help shows them ([`super::help::parse_help`], not
/// yet merged), from the cache when the binary is unchanged; a fresh read is cached (a cache
/// that cannot be written only costs a rerun). The bool says whether the cache answered.
/// A failure is remembered for the unchanged binary too; `retry` runs it again anyway
/// (`profilec flags --from`).
pub fn read_build(
    path: &Path,
    timeout: Duration,
    retry: bool,
) -> Result<(Build, Vec<Row>, bool), ProbeError> {
    let key = Key::of(path);
    let dir = crate::fsutil::cache_dir();
    if let (Some(key), Some(dir)) = (&key, &dir) {
        match cache::load(dir, key) {
            Some(Entry::Read { mut build, help }) => {
                if let Ok(rows) = parse_help(&help) {
                    // Named as given, like a fresh read (the entry holds the canonical path).
                    build.path = path.to_owned();
                    return Ok((build, rows, true));
                }
            }
            Some(Entry::Failed(why)) if !retry => {
                return Err(ProbeError::FailedBefore {
                    path: path.to_owned(),
                    why,
                });
            }
            _ => {}
        }
    }
    let read = probe(path, timeout).and_then(|(build, help)| {
        let rows = parse_help(&help).map_err(|source| ProbeError::NotHelp {
            path: path.to_owned(),
            source,
        })?;
        Ok((build, help, rows))
    });
    match (read, &key, &dir) {
        (Ok((build, help, rows)), key, dir) => {
            if let (Some(key), Some(dir)) = (key, dir) {
                let _ = cache::store(dir, key, &build, &help);
            }
            Ok((build, rows, false))
        }
        (Err(e), Some(key), Some(dir)) if e.worth_remembering() => {
            let _ = cache::store_failure(dir, key, &e.to_string());
            Err(e)
        }
        (Err(e), _, _) => Err(e),
    }
}

/// What `plan` says about the build it follows: nothing when it is b11434 or none was found.
/// Once: that the memory model follows b11434 when the build is newer (an older one's rules are
/// applied: `hardware::Machine`, and the plan's own note names it), or that profilec.toml's
/// `declared` build (`[runtime] llama_cpp_build`) is not the binary's. Then every default
/// that matters for memory the build changed and the launch leaves unset (`is_set` says which
/// options it sets), since then the build starts another launch than planned.
pub fn plan_notes(declared: Option<u32>, is_set: &dyn Fn(&str) -> bool) -> Vec<String> {
    let (Some(build), Some(text)) = (source().and_then(TableSource::build), TEXT.get()) else {
        return Vec::new();
    };
    let changed = super::diff::diff(&shipped_rows(), &parse_tsv(text));
    let mut notes = Vec::new();
    match (declared, build.number) {
        (Some(d), Some(n)) if d != n => notes.push(format!(
            "profilec.toml declares llama.cpp b{d} ([runtime] llama_cpp_build) but your {} is \
             b{n}: this plan follows b{d}'s memory rules; set llama_cpp_build = {n}, or remove \
             it to follow the binary",
            build.describe()
        )),
        (None, n) if n.is_none_or(|n| n > SHIPPED_BUILD) => notes.push(format!(
            "this plan follows llama.cpp b11434's memory rules; your {} may allocate differently \
             (`profilec start` compares the plan with what it allocates)",
            build.describe()
        )),
        _ => {}
    }
    for (option, old, new) in changed.memory_defaults() {
        if is_set(option) {
            continue;
        }
        notes.push(format!(
            "{} changed the default of {option} from `{old}` to `{new}`; this plan assumes \
             b11434's `{old}`: set {option} in the profile to launch what was planned",
            build.describe()
        ));
    }
    notes
}
