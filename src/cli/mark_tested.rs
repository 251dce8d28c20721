use std::path::PathBuf;

use crate::check::check_file;
use crate::edit::{mark_tested, unified_diff};
use crate::fsutil::replace_if_unchanged;

#[derive(clap::Args)]
pub struct Args {
    /// Profile id.
    #[arg(add = super::profile_id_candidates())]
    id: String,
    /// The measured speed, e.g. "~42 t/s".
    #[arg(
        long,
        required_unless_present = "from_bench",
        conflicts_with = "from_bench"
    )]
    speed: Option<String>,
    /// A bench run directory (DIR/<run-name>): its measured generation speed for this id.
    #[arg(long)]
    from_bench: Option<PathBuf>,
    /// The models.conf (default: the nearest one here or above).
    file: Option<PathBuf>,
    /// Print the diff instead of writing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: Args) -> i32 {
    let speed = match (&args.speed, &args.from_bench) {
        (Some(s), _) => s.clone(),
        (None, Some(dir)) => match crate::bench::measured_speed(dir, &args.id) {
            Ok(s) => s,
            Err(e) => return super::fail(&e),
        },
        (None, None) => {
            return super::usage(
                "usage::no-speed",
                "give --speed or --from-bench",
                "e.g. --speed \"~42 t/s\"",
            );
        }
    };
    if speed.contains(['\n', '\r']) {
        return super::usage(
            "usage::bad-speed",
            "--speed must be one line",
            "e.g. --speed \"~42 t/s\"",
        );
    }
    // SPEED is printed back by `check`, `start` and here: an escape sequence in it would reach
    // the terminal (issue 12, control bytes).
    if let Some(c) = speed.chars().find(|c| c.is_control()) {
        return super::usage(
            "usage::bad-speed",
            format!(
                "--speed contains the control character U+{:04X}",
                u32::from(c)
            ),
            "give plain text, e.g. --speed \"~42 t/s\"",
        );
    }
    if speed.trim().is_empty() {
        return super::usage(
            "usage::bad-speed",
            "--speed is empty",
            "give the measured speed, e.g. --speed \"~42 t/s\"",
        );
    }
    let file = match super::conf_file(args.file.clone()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let report = match check_file(&file, &Default::default()) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    let after = match mark_tested(&report.conf, &args.id, speed.trim()) {
        Ok(t) => t,
        Err(e) => return super::fail(&e),
    };
    let before = report.conf.doc.source();
    if args.dry_run {
        print!("{}", unified_diff(&file, before, &after));
        return 0;
    }
    if let Err(e) = replace_if_unchanged(&file, Some(before), &after) {
        return super::fail(&e);
    }
    eprintln!("[{}] marked tested: SPEED={}", args.id, speed.trim());
    0
}
