//! One log line split into its optional prefix (`--log-timestamps`, `--log-prefix` level letter)
//! and the text llama.cpp formatted. Rules match the text unanchored, so other wrappers
//! (docker compose `name | `, journald) in front of it do not hide a line.

use std::sync::LazyLock;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
    Error,
    Debug,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based.
    pub no: usize,
    pub level: Option<Level>,
    /// The text after the timestamp and level letter.
    pub body: &'a str,
}

static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\d+\.\d{2}\.\d{3}\.\d{3} )?(?:([IWED])(?: |$))?").expect("valid regex")
});

impl<'a> Line<'a> {
    pub fn split(no: usize, raw: &'a str) -> Line<'a> {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (level, rest) = match PREFIX.captures(raw) {
            Some(c) => {
                let level = c.get(1).map(|m| match m.as_str() {
                    "W" => Level::Warn,
                    "E" => Level::Error,
                    "D" => Level::Debug,
                    _ => Level::Info,
                });
                let end = c.get(0).map_or(0, |m| m.end());
                (level, raw.get(end..).unwrap_or(""))
            }
            None => (None, raw),
        };
        Line {
            no,
            level,
            body: rest.trim_end(),
        }
    }

    /// Warnings come with a `W` prefix, or (without `--log-prefix`) as `warning: …`.
    pub fn is_warning(&self) -> bool {
        self.level == Some(Level::Warn)
            || (self.level.is_none()
                && (self.body.starts_with("warning:") || self.body.contains(": warning:")))
    }

    pub fn is_error(&self) -> bool {
        self.level == Some(Level::Error)
    }
}
