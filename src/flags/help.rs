//! `llama-server --help` → table rows. The layout is llama.cpp common/arg.cpp
//! `common_arg::to_string`: the spellings (`-c,    --ctx-size`, the first padded to 7 columns,
//! negations after the positive ones) and the value hint(s), then the help from column 40 — on
//! the same line when the head is at most 37 characters, else on the next — wrapped at 70
//! characters, each continuation line indented by 40 spaces; `(env: NAME)` is the help's last
//! line. Sections start with `----- name -----`.

use super::rows::Row;

/// The column the help text starts in.
const HELP_COLUMN: usize = 40;
/// A head longer than this pushes the help to the next line.
const MAX_INLINE_HEAD: usize = HELP_COLUMN - 3;
/// Fewer options than this is not llama-server's help (b11434 has 256).
const MIN_OPTIONS: usize = 20;

/// Why a text is not llama-server's `--help`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelpError {
    #[error(
        "the output lists {found} options in llama.cpp's help layout; llama-server lists over 200"
    )]
    TooFewOptions { found: usize },
    #[error(
        "the output is a llama.cpp program's help but has no `--port`: not llama-server (llama-cli or another tool?)"
    )]
    NotServer,
    #[error(
        "the output lists {found} options but none is `--port` and it has no `----- common params -----` section: another program's help, not llama.cpp's"
    )]
    NotLlamaCpp { found: usize },
}

/// The first section every llama.cpp program's help prints (common/arg.cpp
/// `common_params_print_usage`).
const COMMON_SECTION: &str = "----- common params -----";

/// The options of a `--help` text, in the order printed, with value kinds inferred from the
/// hints alone (see [`infer_kind`]); [`merge`] takes the precise kinds from a reference table.
pub fn parse_help(text: &str) -> Result<Vec<Row>, HelpError> {
    let mut rows: Vec<Row> = Vec::new();
    let mut open = false;
    let indent = " ".repeat(HELP_COLUMN);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(indent.as_str()) {
            if let Some(row) = rows.last_mut().filter(|_| open) {
                add_help_line(row, rest.trim());
            }
            continue;
        }
        open = false;
        if line.starts_with("-----") || !line.starts_with('-') {
            continue;
        }
        let (head, first_help) = split_head(line);
        let Some((flags, hint)) = parse_head(head) else {
            continue;
        };
        let mut row = Row {
            flags,
            value_hint: hint,
            ..Row::default()
        };
        add_help_line(&mut row, first_help.trim());
        rows.push(row);
        open = true;
    }
    for row in &mut rows {
        finish(row);
    }
    if rows.len() < MIN_OPTIONS {
        return Err(HelpError::TooFewOptions { found: rows.len() });
    }
    if !rows.iter().any(|r| r.flags.iter().any(|f| f == "--port")) {
        if !text.lines().any(|l| l.trim() == COMMON_SECTION) {
            return Err(HelpError::NotLlamaCpp { found: rows.len() });
        }
        return Err(HelpError::NotServer);
    }
    Ok(rows)
}

/// `rows` (from a build's help) with what `reference` (the shipped table) knows and the help
/// does not show: for an option with the same name, arity and hint, its value kind (read from
/// the handler in common/arg.cpp). Order: the reference's options in its order, then the new
/// ones in help order, so a table updated for a new build differs from the old one only where
/// the builds differ.
pub fn merge(mut rows: Vec<Row>, reference: &[Row]) -> Vec<Row> {
    // An index, not a search per row and per sort comparison: `check` merges on every run
    // (~10 % of a 1,000-profile check before; docs/performance.md).
    let mut index = std::collections::HashMap::with_capacity(reference.len());
    for (i, r) in reference.iter().enumerate() {
        index.entry(r.canonical()).or_insert(i);
    }
    let position = |r: &Row| index.get(r.canonical()).copied();
    for row in &mut rows {
        if let Some(known) = position(row).map(|i| &reference[i])
            && known.takes_value == row.takes_value
            && known.value_hint == row.value_hint
        {
            row.value_kind = known.value_kind.clone();
        }
    }
    rows.sort_by_cached_key(|r| position(r).unwrap_or(usize::MAX));
    rows
}

fn add_help_line(row: &mut Row, text: &str) {
    if let Some(env) = text
        .strip_prefix("(env: ")
        .and_then(|t| t.strip_suffix(')'))
    {
        row.env = env.to_string();
    } else if !text.is_empty() {
        if !row.short_help.is_empty() {
            row.short_help.push(' ');
        }
        row.short_help.push_str(text);
    }
}

/// The head and whatever help follows it on the same line.
fn split_head(line: &str) -> (&str, &str) {
    match (line.get(..HELP_COLUMN), line.get(HELP_COLUMN..)) {
        (Some(head), Some(help)) if head.trim_end().len() <= MAX_INLINE_HEAD => (head, help),
        _ => (line, ""),
    }
}

/// `-c,    --ctx-size N` → (`-c --ctx-size`, `N`). Spellings are separated by `, `; the first
/// word that is not followed by a comma ends them, and the rest is the hint.
fn parse_head(head: &str) -> Option<(Vec<String>, String)> {
    let mut rest = head.trim();
    let mut flags = Vec::new();
    loop {
        let len = spelling_len(rest)?;
        flags.push(rest[..len].to_string());
        rest = &rest[len..];
        match rest.strip_prefix(',') {
            Some(more) if !more.trim().is_empty() => rest = more.trim_start(),
            _ => return Some((flags, rest.trim().to_string())),
        }
    }
}

/// The length of the spelling at the start of `s` (`-ngl`, `--ctx-size`, `--fim-qwen-1.5b-default`).
fn spelling_len(s: &str) -> Option<usize> {
    let dashes = s.bytes().take_while(|&b| b == b'-').count();
    if !(1..=2).contains(&dashes) || !s[dashes..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let body = s[dashes..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(s.len() - dashes);
    Some(dashes + body)
}

fn finish(row: &mut Row) {
    let parts = hint_parts(&row.value_hint);
    row.takes_value = match parts {
        0 => "no",
        1 => "yes",
        _ => "yes(2)",
    }
    .to_string();
    row.value_kind = infer_kind(row, parts);
    row.default = default_of(&row.short_help);
}

/// How many values the hint names: words separated by spaces outside `<>`, `[]`, `{}`, `()`
/// (`<tensor name pattern>=<buffer type>,...` is one, `START END` two).
fn hint_parts(hint: &str) -> usize {
    let mut depth = 0i32;
    let mut parts = 0;
    let mut in_word = false;
    for c in hint.chars() {
        match c {
            '<' | '[' | '{' | '(' => depth += 1,
            '>' | ']' | '}' | ')' => depth -= 1,
            _ => {}
        }
        if c == ' ' && depth <= 0 {
            in_word = false;
        } else if !in_word {
            in_word = true;
            parts += 1;
        }
    }
    parts
}

/// The value kind the hint implies, erring towards accepting: `--help` prints `N` for integers
/// and floats alike, so a number is a `float` (which accepts integers too), and a hint that
/// names no type is a `string` (any value).
pub fn infer_kind(row: &Row, parts: usize) -> String {
    let hint = row.value_hint.as_str();
    match parts {
        0 if has_negation(&row.flags) => "none(bool flag; --no-* negates)".into(),
        0 => "none".into(),
        1 => one_value_kind(hint),
        _ => vec!["string"; parts].join(" "),
    }
}

fn one_value_kind(hint: &str) -> String {
    let bracketed = (hint.starts_with('[') && hint.ends_with(']'))
        || (hint.starts_with('{') && hint.ends_with('}'));
    if bracketed && !hint.contains('<') && hint.contains(['|', ',']) {
        return format!("enum {hint}");
    }
    if (hint.contains(",...") || hint.contains(",..")) && hint.contains(',') {
        return format!("list {hint}");
    }
    match hint {
        "N" | "P" | "L" | "SIMILARITY" => "float".into(),
        "<0|1>" | "<0...100>" | "SEED" | "SECONDS" | "PORT" | "INDEX" => "int".into(),
        "FNAME" | "PATH" | "FILE" | "DIR" => "path".into(),
        h if h.ends_with("_FILE") => "path".into(),
        _ => "string".into(),
    }
}

/// A spelling after the first `--` one that switches the option off: `--no-*`, `-no-*`, or a
/// short `-n*` (`-nkvo`, `-nr`), as llama.cpp lists `args_neg` after `args`.
pub fn has_negation(flags: &[String]) -> bool {
    let mut seen_long = false;
    for f in flags {
        let short_neg = seen_long && !f.starts_with("--") && f.starts_with("-n");
        if seen_long && (f.starts_with("--no-") || f.starts_with("-no-") || short_neg) {
            return true;
        }
        seen_long |= f.starts_with("--");
    }
    false
}

/// `(default: 4096)`, `default: 'auto'` → `4096`, `auto`: the first default the help states.
fn default_of(help: &str) -> String {
    let Some(at) = help.find("default: ") else {
        return String::new();
    };
    let rest = &help[at + "default: ".len()..];
    for quote in ['\'', '"'] {
        if let Some(quoted) = rest.strip_prefix(quote) {
            return quoted.split(quote).next().unwrap_or("").to_string();
        }
    }
    let end = rest.find([',', ')', ';']).unwrap_or(rest.len());
    rest[..end].trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_split_into_spellings_and_hint() {
        let head = |h: &str| parse_head(h).unwrap();
        assert_eq!(
            head("-c,    --ctx-size N"),
            (vec!["-c".into(), "--ctx-size".into()], "N".into())
        );
        assert_eq!(
            head("-ot,   --override-tensor <tensor name pattern>=<buffer type>,..."),
            (
                vec!["-ot".into(), "--override-tensor".into()],
                "<tensor name pattern>=<buffer type>,...".into()
            )
        );
        assert_eq!(head("--version").1, "");
        assert!(parse_head("----- common params -----").is_none());
    }

    #[test]
    fn hint_parts_ignore_spaces_inside_brackets() {
        assert_eq!(hint_parts(""), 0);
        assert_eq!(hint_parts("<tensor name pattern>=<buffer type>,..."), 1);
        assert_eq!(hint_parts("START END"), 2);
    }

    #[test]
    fn defaults_are_read_from_the_help() {
        assert_eq!(default_of("size (default: 0, 0 = loaded from model)"), "0");
        assert_eq!(
            default_of("('on', 'off', or 'auto', default: 'auto')"),
            "auto"
        );
        assert_eq!(
            default_of("(default: 'auto' (detect from template))"),
            "auto"
        );
        assert_eq!(default_of("(default: -1; -1 = disabled)"), "-1");
        assert_eq!(default_of("no default here"), "");
    }
}
