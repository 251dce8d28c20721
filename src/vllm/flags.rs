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

/// Whether `arg` (`--flag`, `--flag=value`, `--no-flag`, underscores allowed, `-tp`) is a
/// `vllm serve` flag.
pub fn is_known(arg: &str) -> bool {
    let name = arg.split_once('=').map_or(arg, |(n, _)| n);
    let dashed = if let Some(rest) = name.strip_prefix("--") {
        format!("--{}", rest.replace('_', "-"))
    } else {
        name.to_owned()
    };
    flags().iter().any(|f| {
        f.name == dashed
            || f.aliases.contains(&dashed.as_str())
            || (f.negatable && dashed.strip_prefix("--no-") == f.name.strip_prefix("--"))
    })
}

/// Flags in `args` that vLLM would reject ("unrecognized arguments"), each with the closest
/// known flag when one is near.
pub fn unknown(args: &[String]) -> Vec<(String, Option<&'static str>)> {
    let table = flags();
    args.iter()
        .filter(|a| a.starts_with('-') && a.parse::<f64>().is_err() && !is_known(a))
        .map(|a| {
            let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
            let best = table
                .iter()
                .map(|f| (strsim::levenshtein(name, f.name), f.name))
                .min()
                .filter(|(d, _)| *d <= 3)
                .map(|(_, n)| n);
            (a.clone(), best)
        })
        .collect()
}
