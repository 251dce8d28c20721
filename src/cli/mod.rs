//! The command line: parses arguments, calls one library function per verb, prints. No logic
//! lives here that a library user would need.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::error::{ErrorReport, Failure, exit};

mod bench;
mod check;
mod completions;
mod coresidency;
mod doctor;
mod excerpt;
mod flags;
mod hw;
mod hw_rpc;
mod hw_where;
mod inspect;
mod inspect_hf;
mod log;
mod man;
mod mark_tested;
mod narrow;
mod new;
mod optimize;
mod plain_snippet;
mod plan;
mod plan_vllm;
mod pull;
mod remote;
mod render;
mod report;
mod run;
mod serve;
mod start;
pub mod term;
mod version;

#[derive(Parser)]
#[command(
    name = "profilec",
    about = "Compile llama.cpp launch profiles into launches that fit the machine",
    long_about = "Compile llama.cpp launch profiles (models.conf) into llama-server launches that \
        fit the machine.\n\nWithout a FILE, verbs use the nearest models.conf in the current \
        directory or above it.",
    version,
    disable_version_flag = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    /// When to color output (NO_COLOR and CLICOLOR_FORCE are honoured under `auto`).
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    color: term::ColorChoice,
    /// Print profilec's version, the llama.cpp build its tables follow and the llama-server found.
    #[arg(short = 'V', long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate every profile of a models.conf; report every problem at once.
    Check(check::Args),
    /// Architecture facts from a GGUF header: layers, experts, KV layout, sizes.
    Inspect(inspect::Args),
    /// Detected (or declared) hardware; `--write` records it in profilec.toml.
    Hw(hw::Args),
    /// Analyse a llama-server / llama.cpp startup log.
    Log(log::Args),
    /// Add a profile for a GGUF model to models.conf (marked NOT YET TESTED); nothing else changes.
    New(new::Args),
    /// Set SPEED of a profile and drop its NOT YET TESTED line.
    MarkTested(mark_tested::Args),
    /// Recommended llama.cpp parameters for a model on this machine, as one JSON object.
    Optimize(optimize::Args),
    /// Launch a profile or model: static plan, optional LLM advice (--smart-run), --auto-batch.
    Run(run::Args),
    /// The exact llama-server command of a profile (args, sh, env, json, router preset).
    Render(render::Args),
    /// Check, then launch a profile's llama-server exactly as rendered (no shell).
    Start(start::Args),
    /// Measure profiles against a live server: latency, t/s, CPU, RSS, correctness, criteria.
    Bench(bench::Args),
    /// The options of your llama-server build (from its --help), and how they differ from b11434's.
    Flags(flags::Args),
    /// Memory plan per device (weights, KV, recurrent, compute, output) against capacity.
    Plan(plan::Args),
    /// Download missing models from their SOURCE (resumed, SHA-256 verified, atomic install).
    Pull(pull::Args),
    /// Memory free now per device, the risk against thresholds and a profile's plan, and fixes.
    Doctor(doctor::Args),
    /// HTTP management API: models, plans, doctor, provisioning, behind a bearer token.
    Serve(serve::Args),
    /// Shell completion script (bash, zsh, fish, powershell, elvish), with profile ids.
    Completions(completions::Args),
    /// Write the man pages (profilec.1 and one per verb).
    Man(man::Args),
}

/// The full command line, as clap, completions and man pages see it.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Exit codes: 0 success, 1 the input has errors, 2 usage or I/O problem.
pub fn main() -> i32 {
    // `PROFILEC_COMPLETE=bash profilec …` is the shell asking for completions (`completions`).
    clap_complete::CompleteEnv::with_factory(command)
        .var(completions::ENV_VAR)
        .complete();
    main_from(std::env::args_os())
}

/// The `start` binary (src/bin/start.rs): `profilec start` as its own command, so its usage
/// line reads `start [OPTIONS] <ID> [FILE]`.
#[derive(Parser)]
#[command(
    name = "start",
    about = "Check, then launch a profile's llama-server exactly as rendered (no shell)",
    version
)]
struct StartCli {
    /// When to color output (NO_COLOR and CLICOLOR_FORCE are honoured under `auto`).
    #[arg(long, value_enum, default_value_t, value_name = "WHEN")]
    color: term::ColorChoice,
    #[command(flatten)]
    args: start::Args,
}

/// `start ID [FILE]`: the same launch as `profilec start`.
pub fn start_main(args: impl IntoIterator<Item = OsString>) -> i32 {
    match parse::<StartCli>(StartCli::command(), args.into_iter().collect()) {
        Ok(cli) => {
            term::init(cli.color);
            start::run(cli.args)
        }
        Err(code) => code,
    }
}

/// The command line as `P`, or the exit code after clap printed why not (usage errors exit 2,
/// `--help` exits 0). A usage error of a run that asked for JSON is also `{"error": …}` on
/// stdout, so a script reading it gets an answer.
fn parse<P: FromArgMatches>(cmd: clap::Command, args: Vec<OsString>) -> Result<P, i32> {
    let json = json_from_args(&args);
    cmd.color(term::choice_from_args(&args).for_clap())
        .try_get_matches_from(args)
        .and_then(|m| P::from_arg_matches(&m))
        .map_err(|e| {
            let _ = e.print();
            if !e.use_stderr() {
                return exit::OK;
            }
            if json {
                // clap's paragraph before the usage, on one line.
                let rendered = e.render().to_string();
                let message: Vec<&str> = rendered
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                let report = ErrorReport::usage(
                    "usage::arguments",
                    message.join(" ").trim_start_matches("error: "),
                    "see the usage above on stderr, or `profilec VERB --help`",
                );
                println!("{}", report.to_json());
            }
            exit::USAGE
        })
}

/// Whether the raw arguments ask for JSON (`--format json`, `--format=json`, `--json`) before
/// any `--`, for errors clap reports before the verb's own arguments exist.
fn json_from_args(args: &[OsString]) -> bool {
    let words: Vec<_> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy())
        .take_while(|a| a != "--")
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        w == "--json"
            || w == "--format=json"
            || (w == "--format" && words.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// `main` with explicit arguments (the first is the program name).
pub fn main_from(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match parse::<Cli>(command(), args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    term::init(cli.color);
    JSON_ERRORS.store(
        cli.command.as_ref().is_some_and(Command::wants_json),
        Ordering::Relaxed,
    );
    if !matches!(cli.command, Some(Command::Start(_))) {
        end_quietly_on_closed_pipe();
    }
    if cli.version {
        return version::run();
    }
    let Some(command) = cli.command else {
        return usage(
            "usage::no-verb",
            "no verb given",
            "run `profilec --help` for the list of verbs",
        );
    };
    match command {
        Command::Check(a) => check::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Hw(a) => hw::run(a),
        Command::Log(a) => log::run(a),
        Command::Render(a) => render::run(a),
        Command::New(a) => new::run(a),
        Command::Optimize(a) => optimize::run(a),
        Command::Run(a) => run::run(a),
        Command::MarkTested(a) => mark_tested::run(a),
        Command::Start(a) => start::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Pull(a) => pull::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Flags(a) => flags::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
    }
}

/// `profilec plan … | head` ends quietly, like any Unix filter, instead of panicking on the
/// closed pipe (Rust ignores SIGPIPE by default). Not for `start`: it supervises a
/// llama-server, and dying on a closed pipe would leave that server running.
fn end_quietly_on_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: restores the default disposition before any thread or handler exists.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// FILE as given, else the nearest models.conf from the current directory up; the error (and
/// exit code 2) when there is none.
pub(crate) fn conf_file(given: Option<PathBuf>) -> Result<PathBuf, i32> {
    match given {
        Some(file) => Ok(file),
        None => crate::discover::find_conf().map_err(|e| fail(&e)),
    }
}

/// Completion candidates for a profile-id argument: the ids of the models.conf in reach.
pub(crate) fn profile_id_candidates() -> clap_complete::engine::ArgValueCandidates {
    clap_complete::engine::ArgValueCandidates::new(|| {
        let Ok(conf) = crate::discover::find_conf() else {
            return Vec::new();
        };
        crate::discover::profile_ids(&conf)
            .into_iter()
            .map(|(id, name)| {
                clap_complete::engine::CompletionCandidate::new(id).help(name.map(Into::into))
            })
            .collect()
    })
}

/// Whether errors are printed as JSON: the verb was asked for `--format json`.
static JSON_ERRORS: AtomicBool = AtomicBool::new(false);

impl Command {
    /// `--format json` (`--json` for pull and doctor): the verb's errors are JSON too
    /// (docs/diagnostics.md).
    fn wants_json(&self) -> bool {
        match self {
            Command::Check(a) => a.json(),
            Command::Inspect(a) => a.json(),
            Command::Hw(a) => a.json(),
            Command::Log(a) => a.json(),
            Command::Render(a) => a.json(),
            Command::Flags(a) => a.json(),
            Command::Plan(a) => a.json(),
            Command::Bench(a) => a.json(),
            Command::Pull(a) => a.json(),
            Command::Doctor(a) => a.json(),
            _ => false,
        }
    }
}

/// Prints an error that ends the verb, the one way every verb does (docs/diagnostics.md,
/// "Errors and exit codes"): `{"error": {…}}` on stdout under `--format json`, else
/// `error[code]: message` and its help on stderr. Returns the exit code.
pub(crate) fn fail(e: &(impl Failure + ?Sized)) -> i32 {
    let report = ErrorReport::of(e);
    if JSON_ERRORS.load(Ordering::Relaxed) {
        println!("{}", report.to_json());
    } else {
        eprint!("{}", term::get().stderr.fit(&report.to_human()));
    }
    report.exit_code
}

/// A profile with errors is not rendered or started: its diagnostics (or the file's, for
/// `--all`) on stderr as `check` prints them, then one `check::has-errors` error.
pub(crate) fn refuse_profile(
    project: &crate::project::Project,
    id: &str,
    errors: Vec<&crate::diag::Diagnostic>,
    what: &str,
) -> i32 {
    let owned: Vec<_> = errors.into_iter().cloned().collect();
    report::print_human(
        &project.conf_path.display().to_string(),
        project.report.conf.doc.source(),
        &owned,
        project.report.conf.profiles.len(),
    );
    let whose = if id == "--all" {
        "the file".to_owned()
    } else {
        format!("`[{id}]`")
    };
    fail(&ErrorReport::new(
        "check::has-errors",
        format!("not {what}: {whose} has {} error(s)", owned.len()),
        "fix the errors above (`profilec check` shows them all)",
        exit::FAILED,
    ))
}

/// A wrong command line: [`fail`] with exit code 2.
pub(crate) fn usage(code: &'static str, message: impl Into<String>, help: &str) -> i32 {
    fail(&ErrorReport::usage(code, message, help))
}

/// profilec's own output could not be produced (a JSON encoder, stdout): exit 2.
pub(crate) fn internal(what: &str, e: impl std::fmt::Display) -> i32 {
    fail(&ErrorReport::new(
        "io::output",
        format!("{what}: {e}"),
        "check where stdout goes (a full disk, a closed pipe)",
        exit::USAGE,
    ))
}
