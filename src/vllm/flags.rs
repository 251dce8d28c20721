//! The `vllm serve` flag table of the pinned release (data/vllm-serve-flags.tsv, generated from
//! vLLM 0.11.0's Python source by scripts/vllm_flags.py; see data/README.md).

/// The table as shipped.
pub const TABLE: &str = include_str!("../../data/vllm-serve-flags.tsv");

/// One flag: its long name, short aliases and whether `--no-NAME` exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag<'a> {
    pub name: &'a str,
    pub aliases: Vec<&'a str>,
    pub negatable: bool,
}

/// Every row of the table.
pub fn flags() -> Vec<Flag<'static>> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let name = cols.next()?;
            let aliases = cols
                .next()
                .unwrap_or("")
                .split(',')
                .filter(|a| !a.is_empty())
                .collect();
            let negatable = cols.next() == Some("yes");
            Some(Flag {
                name,
                aliases,
                negatable,
            })
        })
        .collect()
}

/// Flags in `args` that vLLM would reject ("unrecognized arguments"), each with the closest
/// known flag when one is near.
pub fn unknown(args: &[String]) -> Vec<(String, Option<&'static str>)> {
    super::args::parse(&args.join(" "))
        .args
        .into_iter()
        .filter(|a| a.name.is_none())
        .map(|a| (a.written.text, a.nearest))
        .collect()
}

/// Whether `arg` (`--flag`, `--flag=value`, `--no-flag`, underscores allowed, `-tp`) is a
/// `vllm serve` flag.
pub fn is_known(arg: &str) -> bool {
    super::args::parse(arg)
        .args
        .first()
        .is_some_and(|a| a.name.is_some())
}
