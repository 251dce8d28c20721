//! llama-server flags: the flag table of the llama.cpp build profilec targets (b11434) or of the
//! user's own build (read from its `--help`, cached), EXTRA_ARGS parsed exactly as llama-server
//! parses its argv, and `-ot` tensor overrides.
//! See docs/flags.md for every diagnostic code.
//!
//! ```
//! use profilec::flags::parse_args;
//! let parsed = parse_args("--jinja -np 1 -ot exps=CPU");
//! assert!(parsed.diagnostics.is_empty());
//! assert_eq!(parsed.last_value("--parallel"), Some("1"));
//! ```

pub mod active;
pub mod args;
pub mod build_table;
pub mod cache;
pub mod diff;
mod ecma;
pub mod help;
pub mod ot;
pub mod ot_lint;
pub mod probe;
pub mod query;
pub mod rows;
pub mod suggest;
pub mod table;
pub mod tokens;
pub mod values;

pub use active::{TableSource, follow_binary, plan_notes, use_shipped};
pub use args::{ParsedArg, ParsedArgs, ValueToken, parse_args};
pub use build_table::{BuildTable, build_table};
pub use ot::{Backend, BufferType, OtList, OtRule, generated_rules, ot_value, parse_ot, place};
pub use ot_lint::lint_shadowing;
pub use table::{CACHE_TYPES, FlagSpec, FlagTable, ListKind, TABLE, ValueKind, lookup};
pub use tokens::{Token, tokenize};
pub use values::TypedValue;
