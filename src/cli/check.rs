use std::path::{Path, PathBuf};

use crate::check::{CheckOptions, check_streamed, read_source};
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
    /// Decide by content (docs/models-conf.md, section Preset dialect).
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

impl Args {
    pub(super) fn json(&self) -> bool {
        self.format == Format::Json
    }
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
        eprint!(
            "{}",
            super::term::get()
                .stderr
                .fit(&format!("flags: {}\n", table.describe()))
        );
    }
    code
}

fn check_one(file: &std::path::Path, opts: &CheckOptions, args: &Args) -> i32 {
    let yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if args.dialect == DialectArg::LlamaSwap || (args.dialect == DialectArg::Auto && yaml) {
        return check_swap(file, args);
    }
    let mut text = match args.dialect {
        DialectArg::ModelsConf | DialectArg::LlamaSwap => None,
        DialectArg::Preset => match read_text(file) {
            Ok(t) => Some(t),
            Err(e) => return io_error(file, e, args),
        },
        // An unreadable file falls through to the models.conf path, which reports it as before.
        DialectArg::Auto => read_text(file).ok(),
    };
    if let Some(t) =
        text.take_if(|t| args.dialect == DialectArg::Preset || detect(t) == Dialect::Preset)
    {
        let detected = args.dialect == DialectArg::Auto;
        return check_preset(file, t, detected, args);
    }
    let text = match text.map_or_else(|| read_source(file), Ok) {
        Ok(t) => t,
        Err(e) => return io_error(file, e, args),
    };
    let report = check_streamed(file, text, opts);
    let name = file.display().to_string();
    print(
        args,
        &name,
        &report.source,
        report.diagnostics.iter(),
        report.profiles,
    );
    let count = |severity| report.diagnostics.count(severity);
    let failing =
        count(Severity::Error) > 0 || (args.deny_warnings && count(Severity::Warning) > 0);
    // The process ends next: freeing the text and diagnostics costs more than the exit does.
    std::mem::forget(report);
    i32::from(failing)
}

fn check_preset(file: &std::path::Path, text: String, detected: bool, args: &Args) -> i32 {
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
    if detected && let Some(d) = dialect_note(file, &report.preset) {
        report.diagnostics.insert(0, d);
    }
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
        Err(e) => return io_error(file, e, args),
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

fn print<D: std::borrow::Borrow<crate::diag::Diagnostic>>(
    args: &Args,
    name: &str,
    src: &str,
    diags: impl IntoIterator<Item = D>,
    n: usize,
) {
    match args.format {
        Format::Human => print_human(name, src, diags, n),
        Format::Json => {
            let table = crate::flags::active::source().map(|s| s.describe());
            print_json(name, src, diags, n, table.as_deref())
        }
    }
}

/// A file that cannot be read or is not UTF-8: under `--format json` still one object for the
/// file with its one diagnostic (at the bad byte, or file-wide; docs/diagnostics.md); else the
/// error as every verb prints it.
fn io_error(file: &Path, e: crate::check::CheckError, args: &Args) -> i32 {
    use crate::error::Failure;
    if args.format == Format::Human {
        return super::fail(&e);
    }
    let (src, diag) = e.to_diagnostic();
    print(args, &file.display().to_string(), &src, &[diag], 0);
    e.exit_code()
}

/// A `.conf` file (not a preset's `.ini`) that reads as a preset because its keys are lowercase
/// is most likely a models.conf written with preset habits (`model=`): say which dialect was
/// used, at the first key, and how to get the other.
fn dialect_note(file: &Path, preset: &crate::preset::Preset) -> Option<crate::diag::Diagnostic> {
    if file.extension().is_some_and(|e| e == "ini") {
        return None;
    }
    let key = preset.sections.iter().flat_map(|s| &s.entries).next()?;
    let upper = key.key.to_ascii_uppercase().replace('-', "_");
    let hint = if crate::config::Key::ALL.iter().any(|k| k.as_str() == upper) {
        format!("`{upper}=`")
    } else {
        "`MODEL=`, `CTX_SIZE=`".to_owned()
    };
    Some(
        crate::diag::Diagnostic::new(
            "conf::lowercase-keys",
            crate::diag::Severity::Warning,
            "checked as llama-server's router preset: the keys are lowercase",
        )
        .at(key.key_span.clone())
        .label("a preset key, not a models.conf key")
        .help(format!(
            "a models.conf has upper-case keys ({hint}); if this is one, write them so. If it is a preset, pass --dialect preset (or name it .ini) to check it without this warning"
        )),
    )
}
