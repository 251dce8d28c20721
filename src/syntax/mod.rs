//! The lossless syntax tree of a models.conf (grammar/models_conf.pest).
//!
//! Every byte of the source belongs to exactly one line (its text plus its line ending), and
//! every line keeps the spans of its parts, so `Document::print` gives back the input exactly and
//! edits can replace one span without touching anything else.

mod edit;
pub(crate) mod lines;
mod tree;

pub use edit::Edit;
pub use tree::{Document, Line, LineKind};
