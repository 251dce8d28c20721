//! One error protocol for every verb (docs/diagnostics.md, "Errors and exit codes"): an error
//! that ends a verb has a stable code, a message, a help that says how to fix it, and the exit
//! code it ends the process with. Each stage's error type implements [`Failure`]; the CLI turns
//! any of them into one [`ErrorReport`] and prints that, for people or as JSON.

use serde::Serialize;

/// Exit codes of every verb; the table is in docs/diagnostics.md.
pub mod exit {
    /// Done; nothing wrong.
    pub const OK: i32 = 0;
    /// The input has errors or what was asked failed: diagnostics with errors, a plan that does
    /// not fit, a model file that is not a usable GGUF, a launch that failed.
    pub const FAILED: i32 = 1;
    /// The command line is wrong or profilec could not do its I/O: an unknown flag or id, a
    /// file that cannot be read or written, no models.conf in reach.
    pub const USAGE: i32 = 2;
}

/// What every error that ends a verb can say about itself.
pub trait Failure: std::fmt::Display {
    /// Stable code, `area::kebab-name`, documented in docs/ (e.g. `gguf::truncated`).
    fn code(&self) -> &'static str;
    /// How to fix it, in one or two sentences.
    fn help(&self) -> String;
    /// The process exit code ([`exit`]).
    fn exit_code(&self) -> i32;
}

/// An error as the CLI prints it: the same four fields for every verb. JSON:
/// `{"error": {"code", "message", "help", "exit_code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    pub code: &'static str,
    pub message: String,
    pub help: String,
    pub exit_code: i32,
}

impl ErrorReport {
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        help: impl Into<String>,
        exit_code: i32,
    ) -> Self {
        ErrorReport {
            code,
            message: message.into(),
            help: help.into(),
            exit_code,
        }
    }

    /// A wrong command line (exit 2).
    pub fn usage(code: &'static str, message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(code, message, help, exit::USAGE)
    }

    pub fn of(e: &(impl Failure + ?Sized)) -> Self {
        Self::new(e.code(), e.to_string(), e.help(), e.exit_code())
    }

    /// `{"error": {…}}`, one line.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": self }).to_string()
    }

    /// `error[code]: message` and an indented `help:` line, as rustc prints its errors.
    pub fn to_human(&self) -> String {
        format!(
            "error[{}]: {}\n  help: {}\n",
            self.code, self.message, self.help
        )
    }
}

impl std::fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Failure for ErrorReport {
    fn code(&self) -> &'static str {
        self.code
    }
    fn help(&self) -> String {
        self.help.clone()
    }
    fn exit_code(&self) -> i32 {
        self.exit_code
    }
}
