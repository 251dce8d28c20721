use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::budget::Program;
use crate::config::Runtime;
use crate::error::ErrorReport;
use crate::hardware::Hardware;
use crate::launch::{
    LaunchError, LaunchOptions, LaunchOutcome, Mode, profile_spec, stderr_indicator,
};
use crate::project::{PREFLIGHT_TIMEOUT, ResolvedProfile, open, rpc_preflight};
use crate::render::render_profile;

#[derive(clap::Args)]
pub struct Args {
    /// Profile id (or `--role`).
    #[arg(required_unless_present = "role", add = super::profile_id_candidates())]
    id: Option<String>,
    /// The models.conf (default: the nearest one here or above).
    file: Option<PathBuf>,
    /// Launch the one profile whose ROLES has this role (instead of an id).
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
    #[command(flatten)]
    launch: LaunchArgs,
}

/// How a resolved launch is started: `start`'s and `run`'s flags.
#[derive(clap::Args)]
pub(super) struct LaunchArgs {
    /// Launch even when the plan does not fit in the memory free now (`profilec doctor ID`).
    #[arg(long)]
    pub force: bool,
    /// Print the exact command and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Hardware file (default: profilec.toml beside the models.conf, else detection).
    #[arg(long)]
    pub hardware: Option<PathBuf>,
    /// Where to write the server log (default: .profilec/logs/<id>.log beside the models.conf).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Seconds to wait for /health before giving up.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Do not echo the server's output to the terminal (it still goes to the log file).
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(mut args: Args) -> i32 {
    // `start --role R FILE`: the one positional is the file.
    if args.role.is_some() && args.file.is_none() {
        args.file = args.id.take().map(PathBuf::from);
    }
    let file = match super::conf_file(args.file.clone()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    super::flags::follow_for_conf(&file, args.launch.hardware.as_deref());
    let mut project = match open(&file, args.launch.hardware.as_deref()) {
        Ok(p) => p,
        Err(e) => return super::fail(&e),
    };
    let id = match (&args.role, &args.id) {
        (Some(role), _) => match project.profile_for_role(role) {
            Ok(id) => id,
            Err(e) => return super::fail(&e),
        },
        (None, Some(id)) => id.clone(),
        (None, None) => {
            return super::fail(&ErrorReport::usage(
                "usage::no-id",
                "no profile id",
                "give an ID or --role ROLE",
            ));
        }
    };
    let profile = match project.profile(&id) {
        Ok(p) => p,
        Err(e) => return super::fail(&e),
    };
    let errors = project.errors_for(profile);
    if !errors.is_empty() {
        return super::refuse_profile(&project, &id, errors, "started");
    }
    let resolved = match project.resolve(&id, Program::LlamaServer) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    if let Some(e) = resolved.launch_blocker() {
        eprintln!("not started: `[{id}]`");
        return super::fail(e);
    }
    let state_dir = crate::observed::path_for(&project.conf_path)
        .parent()
        .map_or_else(|| std::path::PathBuf::from(".profilec"), Path::to_path_buf);
    launch_resolved(
        &resolved,
        &project.hardware,
        &Recorded {
            conf: &project.conf_path,
            name: &id,
            state_dir: &state_dir,
        },
        &args.launch,
    )
}

/// Where a launch's log and observation go.
pub(super) struct Recorded<'a> {
    /// The models.conf whose `.profilec/observed.jsonl` records what llama.cpp allocated.
    pub conf: &'a Path,
    /// The profile id (or the model's name), for the log file and the observation.
    pub name: &'a str,
    /// `.profilec/` beside the models.conf: `logs/<name>.log` is the default log.
    pub state_dir: &'a Path,
}

/// The one launch path of `start` and `run`: render, find llama-server, `--dry-run` prints the
/// command, else launch in the foreground, wait for /health, record what was allocated.
pub(super) fn launch_resolved(
    resolved: &ResolvedProfile,
    hardware: &Hardware,
    rec: &Recorded<'_>,
    args: &LaunchArgs,
) -> i32 {
    let runtime = &hardware.runtime;
    let (rendered, spec) = match profile_spec(resolved, runtime) {
        Ok(found) => found,
        Err(e) if args.dry_run && !matches!(e, LaunchError::BadArgv(_)) => {
            eprintln!("note: {e} (showing the command with the configured name)");
            return match render_profile(runtime, resolved).to_sh() {
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
    if let Some(code) = refuse_if_short(resolved, rec.name, args.force) {
        return code;
    }
    let log_path = args
        .log
        .clone()
        .unwrap_or_else(|| rec.state_dir.join("logs").join(format!("{}.log", rec.name)));
    if let Some(dir) = log_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let plan = resolved.plan().ok();
    if let Some(rpc) = resolved.effective.value("--rpc")
        && let Err(e) = rpc_preflight(rpc, &resolved.machine, plan.as_ref(), PREFLIGHT_TIMEOUT)
    {
        eprintln!("not started: `[{}]` needs its rpc-servers", rec.name);
        return super::fail(&e);
    }
    let mut opts = LaunchOptions::new(&log_path);
    opts.mode = Mode::Foreground;
    opts.tee = !args.quiet;
    opts.health_timeout = Duration::from_secs(args.timeout);
    opts.progress = Some(stderr_indicator());
    let outcome = crate::launch::launch(&spec, &opts);
    // The log parser and the plan comparison read llama.cpp's log; vLLM's is only kept.
    if launched(&outcome) && resolved.runtime == Runtime::LlamaServer {
        record(rec.conf, rec.name, &rendered.argv, &log_path, plan.as_ref());
    }
    if let Some(rpc) = resolved.effective.value("--rpc")
        && ended_on_its_own(&outcome)
        && let Some(lost) = crate::project::rpc_lost(rpc, &log_path, PREFLIGHT_TIMEOUT)
    {
        return super::fail(&lost);
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

/// `doctor ID` before the launch: a plan that does not fit in the memory free now is refused
/// (exit 1) unless `--force`; a warning is printed and the launch goes on.
fn refuse_if_short(
    resolved: &crate::project::ResolvedProfile,
    id: &str,
    force: bool,
) -> Option<i32> {
    use crate::doctor::{Risk, Thresholds, doctor};
    // vLLM measures its own memory at startup (gpu_memory_utilization); doctor plans with
    // llama.cpp's model, which a vLLM profile does not have, so it is not asked here.
    if resolved.runtime != Runtime::LlamaServer {
        return None;
    }
    let report = doctor(
        &crate::hardware::memory_now(),
        &Thresholds::default(),
        Some(resolved),
    );
    let fits = !report.blocks_launch();
    if fits && report.risk == Risk::Ok {
        return None;
    }
    let text = super::doctor::render_human(&report);
    if fits || force {
        eprintln!(
            "profilec: memory now{}
{text}",
            if force && !fits {
                " (--force: launching anyway)"
            } else {
                ""
            }
        );
        return None;
    }
    eprintln!("{text}not started: `[{id}]` does not fit in the memory free now");
    Some(super::fail(&ErrorReport::new(
        "doctor::does-not-fit-now",
        "the plan needs more memory than is free now",
        "free memory (another model? `profilec doctor` shows every device), apply a change listed above, or pass --force to launch anyway",
        crate::error::exit::FAILED,
    )))
}

/// Whether the server stopped without being asked to (a crash, an abort, a failed load).
fn ended_on_its_own(outcome: &Result<LaunchOutcome, crate::launch::LaunchError>) -> bool {
    match outcome {
        Ok(LaunchOutcome::Exited(exit)) => exit.forwarded.is_none() && exit.code != 0,
        Err(crate::launch::LaunchError::ExitedDuringStartup { .. }) => true,
        _ => false,
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
        if let Some(note) = crate::compare::build_note(&report, p) {
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
