use std::path::{Path, PathBuf};

use crate::check::{CheckOptions, check_file};
use crate::coresidency::check_preset_models_max;
use crate::diag::Severity;
use crate::preset::{Dialect, PresetCheckOptions, check_preset_source, detect, read_text};
use crate::render::check_llama_swap;
use clap::ValueEnum;

use super::report::{print_human, print_json};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// Decide by content (docs/models-conf.md, "preset dialect").
    Auto,
    /// profilec's models.conf.
    ModelsConf,
    /// llama-server's router preset INI (`--models-preset`).
    Preset,
    /// A llama-swap config.yaml (auto: a `.yaml`/`.yml` file).
    LlamaSwap,
}

#[derive(clap::Args)]
pub struct Args {
    /// The models.conf or preset file(s) to check (JSON output: one object per file, one per
    /// line); default: the nearest models.conf here or above.
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Directory MODEL paths are relative to (default: `models/` beside the file; for a
    /// preset, relative `model` paths resolve from the preset's directory).
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Which dialect the file is.
    #[arg(long, value_enum, default_value = "auto")]
    dialect: DialectArg,
}

pub fn run(mut args: Args) -> i32 {
    if args.files.is_empty() {
        match super::conf_file(None) {
            Ok(file) => args.files.push(file),
            Err(code) => return code,
        }
    }
    let opts = CheckOptions {
        models_dir: args.models_dir.clone(),
        ..Default::default()
    };
    let first = args
        .files
        .first()
        .map_or(Path::new("models.conf"), PathBuf::as_path);
    let table = super::flags::follow_for_conf(first, None);
    let code = args
        .files
        .iter()
        .map(|file| check_one(file, &opts, &args))
        .max()
        .unwrap_or(0);
    if args.format == Format::Human {
        eprintln!("flags: {}", table.describe());
    }
    code
}

fn check_one(file: &std::path::Path, opts: &CheckOptions, args: &Args) -> i32 {
    let yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if args.dialect == DialectArg::LlamaSwap || (args.dialect == DialectArg::Auto && yaml) {
        return check_swap(file, args);
    }
    let preset_text = match args.dialect {
        DialectArg::ModelsConf | DialectArg::LlamaSwap => None,
        DialectArg::Preset => match read_text(file) {
            Ok(t) => Some(t),
            Err(e) => return io_error(e),
        },
        // An unreadable file falls through to the models.conf path, which reports it as before.
        DialectArg::Auto => read_text(file)
            .ok()
            .filter(|t| detect(t) == Dialect::Preset),
    };
    if let Some(text) = preset_text {
        return check_preset(file, text, args);
    }
    let report = match check_file(file, opts) {
        Ok(r) => r,
        Err(e) => return io_error(e),
    };
    let name = file.display().to_string();
    let src = report.conf.doc.source();
    let profiles = report.conf.profiles.len();
    print(args, &name, src, &report.diagnostics, profiles);
    let failing =
        report.has_errors() || (args.deny_warnings && report.count(Severity::Warning) > 0);
    i32::from(failing)
}

fn check_preset(file: &std::path::Path, text: String, args: &Args) -> i32 {
    let opts = PresetCheckOptions {
        models_dir: args.models_dir.clone(),
    };
    let base = opts
        .models_dir
        .clone()
        .unwrap_or_else(|| match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        });
    let mut report = check_preset_source(text, Some(&base));
    // With a machine described beside the preset: may the router load more than fits?
    if let Ok(hw) = crate::hardware::load(&beside(file, crate::hardware::FILE_NAME))
        && let Some(d) = check_preset_models_max(&report.preset, &base, &hw.hardware)
    {
        report.diagnostics.push(d);
    }
    let name = file.display().to_string();
    let src = report.preset.doc.source();
    print(args, &name, src, &report.diagnostics, report.model_count());
    let failing =
        report.has_errors() || (args.deny_warnings && report.count(Severity::Warning) > 0);
    i32::from(failing)
}

fn check_swap(file: &std::path::Path, args: &Args) -> i32 {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(e) => return io_error(e),
    };
    let hw = crate::hardware::load(&beside(file, crate::hardware::FILE_NAME)).ok();
    let report = check_llama_swap(&text, hw.as_ref().map(|h| &h.hardware));
    print(
        args,
        &file.display().to_string(),
        &text,
        &report.diagnostics,
        report.models,
    );
    let failing = crate::diag::count(&report.diagnostics, Severity::Error) > 0
        || (args.deny_warnings && crate::diag::count(&report.diagnostics, Severity::Warning) > 0);
    i32::from(failing)
}

fn beside(file: &std::path::Path, name: &str) -> PathBuf {
    file.parent()
        .unwrap_or(std::path::Path::new("."))
        .join(name)
}

fn print(args: &Args, name: &str, src: &str, diags: &[crate::diag::Diagnostic], n: usize) {
    match args.format {
        Format::Human => print_human(name, src, diags, n),
        Format::Json => {
            let table = crate::flags::active::source().map(|s| s.describe());
            print_json(name, src, diags, n, table.as_deref())
        }
    }
}

fn io_error(e: crate::check::CheckError) -> i32 {
    eprintln!("{:?}", miette::Report::new(e));
    2
}
