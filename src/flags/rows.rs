//! The flag table as text rows: the format of data/llama-server-flags.tsv (see data/README.md),
//! read and written without interpretation, so a table made from a build's `--help` and the
//! shipped one can be compared and written back.

/// The header line of the table file.
pub const HEADER: &str = "flags\ttakes_value\tvalue_kind\tvalue_hint\tenv\tshort_help\tdefault";

/// One option: one line of the table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// Every spelling, positive first, then the negations.
    pub flags: Vec<String>,
    /// `no`, `yes` or `yes(2)`.
    pub takes_value: String,
    pub value_kind: String,
    pub value_hint: String,
    pub env: String,
    pub short_help: String,
    /// What `(default: …)` in the help says, if anything.
    pub default: String,
}

impl Row {
    /// The first `--` spelling (else the first): the name options are matched by across builds.
    pub fn canonical(&self) -> &str {
        self.flags
            .iter()
            .find(|f| f.starts_with("--"))
            .or(self.flags.first())
            .map_or("", String::as_str)
    }
}

/// Reads table text (header line first). Lines without a spelling are skipped.
pub fn parse_tsv(text: &str) -> Vec<Row> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let col = |i: usize| cols.get(i).copied().unwrap_or("").to_string();
            let flags: Vec<String> = col(0).split_whitespace().map(str::to_string).collect();
            (!flags.is_empty()).then(|| Row {
                flags,
                takes_value: col(1),
                value_kind: col(2),
                value_hint: col(3),
                env: col(4),
                short_help: col(5),
                default: col(6),
            })
        })
        .collect()
}

/// The table text of `rows`; tabs and line breaks inside a field become spaces.
pub fn to_tsv(rows: &[Row]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in rows {
        let fields = [
            r.flags.join(" "),
            r.takes_value.clone(),
            r.value_kind.clone(),
            r.value_hint.clone(),
            r.env.clone(),
            r.short_help.clone(),
            r.default.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| one_line(f)).collect();
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    out
}

fn one_line(field: &str) -> String {
    field.replace(['\t', '\n', '\r'], " ")
}
