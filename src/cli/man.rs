//! `profilec man`: man pages from the command definition (clap_mangen), so they always match
//! `--help`. Without `--out`, profilec.1 on stdout; with `--out DIR`, profilec.1 and one
//! profilec-VERB.1 per verb (install: docs/cli.md, "Man pages").

use std::path::{Path, PathBuf};

use clap_mangen::Man;

use crate::error::{ErrorReport, exit};
use crate::fsutil::write_atomic;

#[derive(clap::Args)]
pub struct Args {
    /// Write every page into DIR (e.g. ~/.local/share/man/man1) instead of profilec.1 to stdout.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> i32 {
    let mut cmd = super::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = args.out else {
        return match render(&cmd) {
            Ok(page) => {
                print!("{page}");
                0
            }
            Err(e) => super::internal("cannot print the man page", e),
        };
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return super::fail(&ErrorReport::new(
            "io::write",
            format!("cannot create {}: {e}", dir.display()),
            "check the path and its permissions",
            exit::USAGE,
        ));
    }
    match write_pages(&cmd, &dir) {
        Ok(n) => {
            eprintln!("wrote {n} man pages to {}", dir.display());
            0
        }
        Err(e) => super::fail(&ErrorReport::new(
            "io::write",
            e,
            "check the directory's permissions",
            exit::USAGE,
        )),
    }
}

/// Writes `cmd`'s page and those of its visible subcommands; returns how many.
fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<usize, String> {
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_pages(sub, dir)?;
    }
    let man = Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    let page = render(cmd)?;
    write_atomic(&path, &page).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(written + 1)
}

fn render(cmd: &clap::Command) -> Result<String, String> {
    let mut out = Vec::new();
    Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| format!("cannot render the man page: {e}"))?;
    String::from_utf8(out).map_err(|e| format!("the man page is not UTF-8: {e}"))
}
