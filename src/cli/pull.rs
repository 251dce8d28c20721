//! `profilec pull`: download the models profiles name but you do not have (docs/remote.md).

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::pull::{Action, FreeSpace, Progress, PullRequest, pull_observed};
use crate::remote::Client;

#[derive(clap::Args)]
pub struct Args {
    /// Profile ids (default: every profile).
    #[arg(add = super::profile_id_candidates())]
    ids: Vec<String>,
    /// The models.conf (default: the nearest one here or above).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Only profiles with one of these roles (their ROLES= key).
    #[arg(long, num_args = 1.., value_name = "ROLE")]
    roles: Vec<String>,
    /// Re-verify files that exist (SHA-256 against SHA256= or the hub's LFS id).
    #[arg(long)]
    force: bool,
    /// profilec.toml whose `[runtime] models_dir` holds the models.
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// One JSON report (an action per profile) on stdout; no progress bar.
    #[arg(long)]
    json: bool,
    /// Take this many bytes as free instead of measuring the disk (dry runs, tests).
    #[arg(long, value_name = "BYTES", hide = true)]
    assume_free_bytes: Option<u64>,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        self.json
    }
}

pub fn run(args: Args) -> i32 {
    let conf = match super::conf_file(args.file) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let request = PullRequest {
        conf,
        hardware: args.hardware,
        ids: args.ids,
        roles: args.roles,
        force: args.force,
        free_space: args
            .assume_free_bytes
            .map_or(FreeSpace::Measure, FreeSpace::Assume),
    };
    let bar = progress_bar(args.json);
    let mut observe = |event: Progress| match event {
        Progress::Start { id, total, done } => {
            bar.reset();
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(id);
        }
        Progress::Advance(n) => bar.inc(n),
        Progress::Finish { .. } => bar.finish_and_clear(),
    };
    let report = match pull_observed(&request, &Client::from_env(), &mut observe) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return super::internal("cannot encode the pull report as JSON", e),
        }
        return report.exit_code();
    }
    for a in &report.actions {
        let model = a
            .model
            .as_ref()
            .map_or_else(|| "(no MODEL)".to_string(), |m| m.display().to_string());
        match &a.action {
            Action::Failed { code, reason, help } => {
                eprintln!("{}: failed [{code}] {reason}\n  help: {help}", a.id);
            }
            action => {
                let word = match action {
                    Action::Present => "present",
                    Action::Downloaded => "downloaded",
                    Action::Resumed => "resumed",
                    _ => "verified",
                };
                let against = a
                    .verified_against
                    .as_deref()
                    .map_or(String::new(), |v| format!(" (SHA-256 checked against {v})"));
                println!("{}: {word} {model}{against}", a.id);
            }
        }
    }
    report.exit_code()
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}
