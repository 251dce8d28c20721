use std::path::PathBuf;

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
    /// Accepted for `profilec run --model X --optimize`; `optimize` always only recommends.
    #[arg(long, hide = true)]
    optimize: bool,
}

/// One JSON object on stdout; warnings and errors on stderr; nothing is launched.
pub fn run(args: Args) -> i32 {
    let resolved = match hardware::resolve(args.hardware.as_deref(), std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    // With --hardware the file is the truth; a detection problem means a CPU-only plan.
    let explicit = args.hardware.is_some();
    if !explicit || !matches!(resolved.origin, Origin::File(_)) {
        for note in &resolved.diagnostics {
            eprintln!("warning: {} (using CPU-only safe defaults)", note.message);
        }
    } else if resolved
        .diagnostics
        .iter()
        .any(|d| d.severity == crate::diag::Severity::Error)
    {
        let file = args.hardware.as_deref().unwrap_or(std::path::Path::new(""));
        let name = file.display().to_string();
        let source = resolved.source.as_deref().unwrap_or("");
        super::report::print_diagnostics(&name, source, &resolved.diagnostics);
        return super::fail(&crate::error::ErrorReport::usage(
            "hw::invalid-file",
            format!("{name} has errors: nothing was planned"),
            "fix the errors above (`profilec hw --hardware FILE` shows them)",
        ));
    }
    match optimize(&args.model, &resolved.hardware) {
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

/// `profilec run --model X --optimize`: the seed's spelling of `optimize`.
pub fn run_alias(args: Args) -> i32 {
    if !args.optimize {
        return super::usage(
            "usage::run-needs-optimize",
            "`profilec run` only supports --optimize (a recommendation, nothing is launched)",
            "use `profilec run --model FILE --optimize`, or `profilec start <id>` to launch a profile",
        );
    }
    run(args)
}
