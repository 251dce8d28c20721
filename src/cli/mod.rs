//! The command line: parses arguments, calls one library function per verb, prints. No logic
//! lives here that a library user would need.

use clap::{Parser, Subcommand};

mod check;
mod excerpt;
mod hw;
mod inspect;
mod log;
mod mark_tested;
mod new;
mod optimize;
mod plan;
mod render;
mod report;
mod start;

#[derive(Parser)]
#[command(
    name = "profilec",
    version,
    about = "Compile llama.cpp launch profiles into launches that fit the machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// `run --model X --optimize`: the same as `optimize`.
    #[command(hide = true)]
    Run(optimize::Args),
    /// The exact llama-server command of a profile (args, sh, env, json, router preset).
    Render(render::Args),
    /// Check, then launch a profile's llama-server exactly as rendered (no shell).
    Start(start::Args),
    /// Memory plan per device (weights, KV, recurrent, compute, output) against capacity.
    Plan(plan::Args),
}

/// Exit codes: 0 success, 1 the input has errors, 2 usage or I/O problem.
pub fn main() -> i32 {
    main_from(std::env::args_os())
}

/// `main` with explicit arguments (the first is the program name); the `start` binary calls it
/// with `start` inserted.
pub fn main_from(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Hw(a) => hw::run(a),
        Command::Log(a) => log::run(a),
        Command::Render(a) => render::run(a),
        Command::New(a) => new::run(a),
        Command::Optimize(a) => optimize::run(a),
        Command::Run(a) => optimize::run_alias(a),
        Command::MarkTested(a) => mark_tested::run(a),
        Command::Start(a) => start::run(a),
        Command::Plan(a) => plan::run(a),
    }
}

/// Prints a one-off error with its fix and returns the exit code.
pub(crate) fn fail(message: &str, help: &str, code: i32) -> i32 {
    eprintln!("error: {message}\n  help: {help}");
    code
}
