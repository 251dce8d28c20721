//! llama.cpp compiles `-ot` patterns with C++ `std::regex` (ECMAScript grammar, libstdc++);
//! profilec evaluates them with Rust `regex`. This module rewrites a pattern into Rust syntax
//! with the same meaning on tensor names, or says why it cannot:
//! - lookahead `(?=`/`(?!` and backreferences `\1` are ECMAScript but not Rust: unsupported;
//! - other `(?...)` groups (`(?i)`, named groups, lookbehind) are Rust-only: libstdc++ throws;
//! - an escaped letter ECMAScript gives no meaning (`\z`, `\A`, `\e`) is that plain letter
//!   in libstdc++, not an anchor: rewritten as the letter, with a warning;
//! - inside `[...]`, `[`, `&` and `~` are literal in ECMAScript but class syntax in Rust:
//!   escaped.
//!   Spans in the diagnostics are relative to the pattern.

use crate::diag::Diagnostic;

pub struct Translated {
    pub rust: String,
    pub warnings: Vec<Diagnostic>,
}

pub fn translate(pattern: &str) -> Result<Translated, Box<Diagnostic>> {
    let mut rust = String::with_capacity(pattern.len() + 8);
    let mut warnings = Vec::new();
    let mut chars = pattern.char_indices().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some((i, c)) = chars.next() {
        let first_in_class = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some((j, e)) = chars.next() else {
                    return Err(Box::new(Diagnostic::error("ot::invalid-regex", "pattern ends with a lone `\\`")
                        .at(i..i + 1)
                        .label("nothing to escape")
                        .help("escape the backslash as `\\\\` or remove it; llama-server would abort while loading the model")));
                };
                let span = i..j + e.len_utf8();
                match e {
                    'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'f' | 'n' | 'r' | 't' | 'v' | 'x' | 'u' => {
                        rust.push('\\');
                        rust.push(e);
                    }
                    'b' if in_class => rust.push_str("\\x08"),
                    'b' | 'B' => {
                        rust.push('\\');
                        rust.push(e);
                    }
                    '0' => rust.push_str("\\x00"),
                    '1'..='9' => return Err(Box::new(unsupported(span, "a backreference"))),
                    'c' => return Err(Box::new(unsupported(span, "a control escape `\\c`"))),
                    _ if e.is_ascii_alphanumeric() => {
                        warnings.push(
                            Diagnostic::warning("ot::identity-escape", format!("`\\{e}` is a plain `{e}` to llama.cpp"))
                                .at(span)
                                .label("std::regex gives this escape no special meaning")
                                .help(format!("write `{e}` if a literal letter is meant; ECMAScript has no `\\{e}` anchor or class")),
                        );
                        rust.push(e);
                    }
                    _ => rust.push_str(&regex::escape(e.encode_utf8(&mut [0; 4]))),
                }
            }
            '(' if !in_class && chars.peek().map(|&(_, n)| n) == Some('?') => {
                let after = pattern.get(i + 2..).unwrap_or("");
                let span = i..(i + 3).min(pattern.len());
                if after.starts_with(':') {
                    rust.push('(');
                } else if after.starts_with('=') || after.starts_with('!') {
                    return Err(Box::new(unsupported(span, "a lookahead")));
                } else {
                    return Err(Box::new(Diagnostic::error("ot::invalid-regex", "`(?` group that std::regex does not accept")
                        .at(span)
                        .label("ECMAScript only has `(?:`, `(?=` and `(?!`")
                        .help("remove the inline flag or group name; llama-server would abort while loading the model (std::regex_error)")));
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                rust.push('[');
                if chars.peek().map(|&(_, n)| n) == Some('^') {
                    chars.next();
                    rust.push('^');
                    class_start = true;
                }
            }
            ']' if in_class && !first_in_class => {
                in_class = false;
                rust.push(']');
            }
            '[' if in_class && chars.peek().map(|&(_, n)| n) == Some(':') => {
                // A POSIX class like `[:digit:]` is the same in both grammars: copy it whole.
                rust.push('[');
                let mut last = '[';
                for (_, n) in chars.by_ref() {
                    rust.push(n);
                    if last == ':' && n == ']' {
                        break;
                    }
                    last = n;
                }
            }
            '[' | '&' | '~' | ']' if in_class => {
                rust.push('\\');
                rust.push(c);
            }
            _ => rust.push(c),
        }
    }
    Ok(Translated { rust, warnings })
}

fn unsupported(span: std::ops::Range<usize>, what: &str) -> Diagnostic {
    Diagnostic::error("ot::unsupported-regex", format!("pattern uses {what}, which profilec cannot evaluate"))
        .at(span)
        .label("valid for llama.cpp's std::regex, not for profilec's regex engine")
        .help("rewrite the pattern without it (list the layers with `(a|b)` or `[...]`) so the placement can be checked")
}

/// In a `blk...` pattern, an unescaped `.` matches any character: `blk.1.` also matches
/// `blk.10.` … `blk.19.`. Points at the first such dot, preferring the one after the layer
/// number, which is the one that changes what matches.
pub fn unescaped_layer_dot(pattern: &str) -> Option<Diagnostic> {
    if !pattern.contains("blk") {
        return None;
    }
    let bytes = pattern.as_bytes();
    let mut dots = Vec::new();
    let (mut i, mut in_class) = (0, false);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'.' if !in_class => dots.push(i),
            _ => {}
        }
        i += 1;
    }
    let after_number = |&&d: &&usize| {
        d.checked_sub(1)
            .and_then(|p| bytes.get(p))
            .is_some_and(|b| b.is_ascii_digit() || *b == b')' || *b == b']')
    };
    let at = *dots.iter().find(after_number).or(dots.first())?;
    Some(
        Diagnostic::warning("ot::unescaped-dot", "unescaped `.` matches any character")
            .at(at..at + 1)
            .label("also matches a digit here, e.g. `blk.1.` matches `blk.10.`")
            .help("write `\\.` to match the dot between the layer number and the tensor name"),
    )
}
