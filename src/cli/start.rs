use std::path::PathBuf;
use std::time::Duration;

use crate::budget::Program;
use crate::config::Runtime;
use crate::launch::{
    LaunchError, LaunchOptions, LaunchOutcome, Mode, profile_spec, stderr_indicator,
};
use crate::project::open;
use crate::render::render_profile;

#[derive(clap::Args)]
pub struct Args {
    /// Profile id.
    #[arg(add = super::profile_id_candidates())]
    id: String,
    /// The models.conf (default: the nearest one here or above).
    file: Option<PathBuf>,
    /// Print the exact command and exit.
    #[arg(long)]
    dry_run: bool,
    /// Hardware file (default: profilec.toml beside the models.conf, else detection).
    #[arg(long)]
    hardware: Option<PathBuf>,
    /// Where to write the server log (default: .profilec/logs/<id>.log beside the models.conf).
    #[arg(long)]
    log: Option<PathBuf>,
    /// Seconds to wait for /health before giving up.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Do not echo the server's output to the terminal (it still goes to the log file).
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> i32 {
    let file = match super::conf_file(args.file.clone()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    super::flags::follow_for_conf(&file, args.hardware.as_deref());
    let mut project = match open(&file, args.hardware.as_deref()) {
        Ok(p) => p,
        Err(e) => return super::fail(&e),
    };
    let profile = match project.profile(&args.id) {
        Ok(p) => p,
        Err(e) => return super::fail(&e),
    };
    let errors = project.errors_for(profile);
    if !errors.is_empty() {
        return super::refuse_profile(&project, &args.id, errors, "started");
    }
    let resolved = match project.resolve(&args.id, Program::LlamaServer) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    if let Some(e) = resolved.launch_blocker() {
        eprintln!("not started: `[{}]`", args.id);
        return super::fail(e);
    }
    let runtime = &project.hardware.runtime;
    let (rendered, spec) = match profile_spec(&resolved, runtime) {
        Ok(found) => found,
        Err(e) if args.dry_run && !matches!(e, LaunchError::BadArgv(_)) => {
            eprintln!("note: {e} (showing the command with the configured name)");
            return match render_profile(runtime, &resolved).to_sh() {
                Ok(line) => {
                    println!("{line}");
                    0
                }
                Err(e) => super::fail(&e),
            };
        }
        Err(e) => return super::fail(&e),
    };
    if args.dry_run {
        println!("{}", spec.display());
        return 0;
    }
    let log_path = args.log.clone().unwrap_or_else(|| {
        crate::observed::path_for(&project.conf_path)
            .with_file_name("logs")
            .join(format!("{}.log", args.id))
    });
    if let Some(dir) = log_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let plan = resolved.plan().ok();
    let mut opts = LaunchOptions::new(&log_path);
    opts.mode = Mode::Foreground;
    opts.tee = !args.quiet;
    opts.health_timeout = Duration::from_secs(args.timeout);
    opts.progress = Some(stderr_indicator());
    let outcome = crate::launch::launch(&spec, &opts);
    // The log parser and the plan comparison read llama.cpp's log; vLLM's is only kept.
    if launched(&outcome) && resolved.runtime == Runtime::LlamaServer {
        record(
            &project.conf_path,
            &args.id,
            &rendered.argv,
            &log_path,
            plan.as_ref(),
        );
    }
    match outcome {
        Ok(LaunchOutcome::Exited(exit)) => exit.code,
        Ok(LaunchOutcome::Running(handle)) => match handle.stop() {
            Ok(status) => crate::launch::exit_code(status),
            Err(e) => super::fail(&crate::error::ErrorReport::new(
                "launch::stop-failed",
                format!("stopping the server: {e}"),
                "check `ps` for a leftover llama-server",
                crate::error::exit::FAILED,
            )),
        },
        Err(e) => super::fail(&e),
    }
}

/// Whether this run started llama-server, so the log at the log path is its own: a launch
/// refused before the spawn (port in use, missing binary or model, unwritable log) leaves the
/// previous run's log there, which must not be recorded as this run's outcome.
fn launched(outcome: &Result<LaunchOutcome, crate::launch::LaunchError>) -> bool {
    use crate::launch::LaunchError as E;
    match outcome {
        Ok(_) => true,
        Err(E::ExitedDuringStartup { .. } | E::HealthTimeout { .. }) => true,
        Err(_) => false,
    }
}

/// What llama.cpp reported, beside the models.conf, whatever the outcome, with the plan it is
/// compared to; a log that cannot be read or parsed is reported, not fatal.
fn record(
    conf: &std::path::Path,
    id: &str,
    argv: &[String],
    log: &std::path::Path,
    plan: Option<&crate::budget::Plan>,
) {
    let report = match crate::startup_log::read_log(log) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "profilec: could not read the server log {}: {e}",
                log.display()
            );
            return;
        }
    };
    if let Some(p) = plan {
        let diffs = crate::compare::compare(p, &report);
        eprintln!(
            "profilec: plan vs measured\n{}",
            crate::compare::render_diffs(&diffs)
        );
        if let Some(note) = crate::compare::build_note(&report) {
            eprintln!("profilec: {note}");
        }
    }
    let plan_json = plan.and_then(|p| serde_json::to_value(p).ok());
    match crate::observed::record(conf, id, argv, &report, plan_json) {
        Ok(path) => eprintln!(
            "profilec: recorded what llama.cpp allocated in {}",
            path.display()
        ),
        Err(e) => eprintln!("profilec: could not record the observation: {e}"),
    }
}
