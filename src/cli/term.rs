//! Color and width of what profilec prints, decided once per run from `--color`, `NO_COLOR`,
//! `CLICOLOR_FORCE`, `COLUMNS` and whether each stream is a terminal (docs/cli.md, "Color and
//! width").

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color on a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it on).
    #[default]
    Auto,
    /// Always color, even into a pipe or file (overrides NO_COLOR).
    Always,
    /// Never color (overrides CLICOLOR_FORCE).
    Never,
}

impl ColorChoice {
    pub fn for_clap(self) -> clap::ColorChoice {
        match self {
            ColorChoice::Auto => clap::ColorChoice::Auto,
            ColorChoice::Always => clap::ColorChoice::Always,
            ColorChoice::Never => clap::ColorChoice::Never,
        }
    }
}

/// How one output stream is styled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream {
    pub color: bool,
    /// Columns to fit in: `$COLUMNS`, else the terminal's width; `None` for a pipe or file
    /// without `$COLUMNS` (then the default layouts apply).
    pub width: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
pub struct Term {
    pub stdout: Stream,
    pub stderr: Stream,
}

static TERM: OnceLock<Term> = OnceLock::new();

/// Decides color and width for this run; later calls keep the first decision.
pub fn init(choice: ColorChoice) -> &'static Term {
    TERM.get_or_init(|| Term {
        stdout: stream(choice, &std::io::stdout()),
        stderr: stream(choice, &std::io::stderr()),
    })
}

/// This run's decision (`--color auto` when [`init`] was not called, e.g. by the `start` binary
/// before parsing).
pub fn get() -> &'static Term {
    init(ColorChoice::Auto)
}

fn stream<S: IsTerminal + std::os::fd::AsFd>(choice: ColorChoice, s: &S) -> Stream {
    let tty = s.is_terminal();
    Stream {
        color: color(choice, tty),
        width: columns_env()
            .or_else(|| terminal_size::terminal_size_of(s).map(|(w, _)| w.0 as usize)),
    }
}

/// `--color` wins; under `auto`, NO_COLOR (any non-empty value) turns color off, then
/// CLICOLOR_FORCE (non-empty, not `0`) turns it on, then CLICOLOR=0 turns it off, then a
/// terminal that is not `TERM=dumb` gets color (https://no-color.org, https://bixense.com/clicolors).
fn color(choice: ColorChoice, tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if anstyle_query::no_color() => false,
        ColorChoice::Auto if anstyle_query::clicolor_force() => true,
        ColorChoice::Auto if anstyle_query::clicolor() == Some(false) => false,
        ColorChoice::Auto => tty && anstyle_query::term_supports_color(),
    }
}

fn columns_env() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&w: &usize| w > 0)
}

/// `--color` read from raw arguments, for clap's own help and usage errors, which it prints
/// before the parsed value exists. Stops at `--` (what follows belongs to llama-server).
pub fn choice_from_args(args: &[std::ffi::OsString]) -> ColorChoice {
    let mut choice = ColorChoice::Auto;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = it.next() {
        let value = match arg.as_ref() {
            "--" => break,
            "--color" => it.next().map(|v| v.into_owned()),
            a => a.strip_prefix("--color=").map(str::to_owned),
        };
        if let Some(c) = value.and_then(|v| ColorChoice::from_str(&v, false).ok()) {
            choice = c;
        }
    }
    choice
}

/// `text` on stdout, its long lines wrapped to the width ([`Stream::fit`]).
pub fn print_fitted(text: &str) {
    print!("{}", get().stdout.fit(text));
}

impl Stream {
    /// `text` with every line longer than the width wrapped, continuation lines indented two
    /// columns past the line's own indent; unchanged without a width.
    pub fn fit(&self, text: &str) -> String {
        let Some(width) = self.width else {
            return text.to_owned();
        };
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches('\n');
            if textwrap::core::display_width(body) <= width {
                out += line;
                continue;
            }
            let indent = " ".repeat(body.len() - body.trim_start().len() + 2);
            let opts =
                textwrap::Options::new(width.max(indent.len() + 10)).subsequent_indent(&indent);
            out += &textwrap::fill(body, opts);
            out += &line[body.len()..];
        }
        out
    }
}
