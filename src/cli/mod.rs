//! The command line: parses arguments, calls one library function per verb, prints. No logic
//! lives here that a library user would need.

use clap::{Parser, Subcommand};

mod check;
mod hw;
mod inspect;
mod log;
mod plan;
mod report;

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
    /// Memory plan per device (weights, KV, recurrent, compute, output) against capacity.
    Plan(plan::Args),
}

/// Exit codes: 0 success, 1 the input has errors, 2 usage or I/O problem.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
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
        Command::Plan(a) => plan::run(a),
    }
}
