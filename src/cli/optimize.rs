use std::path::{Path, PathBuf};

use crate::hardware::{self, Origin};
use crate::optimize::optimize;

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model to recommend parameters for.
    #[arg(long)]
    model: PathBuf,
    /// Hardware file (default: detect this machine).
    #[arg(long)]
    hardware: Option<PathBuf>,
}

/// One JSON object on stdout; warnings and errors on stderr; nothing is launched.
pub fn run(args: Args) -> i32 {
    recommend(&args.model, args.hardware.as_deref())
}

/// `optimize`'s output for `model`; also `run --model X --optimize`.
pub(super) fn recommend(model: &Path, hardware_file: Option<&Path>) -> i32 {
    let resolved = match hardware::resolve(hardware_file, Path::new(".")) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    // With --hardware the file is the truth; a detection problem means a CPU-only plan.
    let explicit = hardware_file.is_some();
    if !explicit || !matches!(resolved.origin, Origin::File(_)) {
        for note in &resolved.diagnostics {
            eprintln!("warning: {} (using CPU-only safe defaults)", note.message);
        }
    } else if resolved
        .diagnostics
        .iter()
        .any(|d| d.severity == crate::diag::Severity::Error)
    {
        let file = hardware_file.unwrap_or(Path::new(""));
        let name = file.display().to_string();
        let source = resolved.source.as_deref().unwrap_or("");
        super::report::print_diagnostics(&name, source, &resolved.diagnostics);
        return super::fail(&crate::error::ErrorReport::usage(
            "hw::invalid-file",
            format!("{name} has errors: nothing was planned"),
            "fix the errors above (`profilec hw --hardware FILE` shows them)",
        ));
    }
    match optimize(model, &resolved.hardware) {
        Ok(r) => match serde_json::to_string_pretty(&r) {
            Ok(text) => {
                println!("{text}");
                0
            }
            Err(e) => super::internal("cannot print the recommendation", e),
        },
        Err(e) => super::fail(&e),
    }
}
