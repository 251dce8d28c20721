use std::path::PathBuf;

use crate::check::{CheckOptions, check_file};
use crate::diag::Severity;
use clap::ValueEnum;

use super::report::{print_human, print_json};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The models.conf file(s) to check (JSON output: one object per file, one per line).
    #[arg(default_value = "models.conf")]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Directory MODEL paths are relative to (default: `models/` beside the file).
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
}

pub fn run(args: Args) -> i32 {
    let opts = CheckOptions {
        models_dir: args.models_dir.clone(),
    };
    args.files
        .iter()
        .map(|file| check_one(file, &opts, &args))
        .max()
        .unwrap_or(0)
}

fn check_one(file: &std::path::Path, opts: &CheckOptions, args: &Args) -> i32 {
    let report = match check_file(file, opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            return 2;
        }
    };
    let name = file.display().to_string();
    match args.format {
        Format::Human => print_human(
            &name,
            report.conf.doc.source(),
            &report.diagnostics,
            report.conf.profiles.len(),
        ),
        Format::Json => print_json(
            &name,
            report.conf.doc.source(),
            &report.diagnostics,
            report.conf.profiles.len(),
        ),
    }
    let failing =
        report.has_errors() || (args.deny_warnings && report.count(Severity::Warning) > 0);
    i32::from(failing)
}
