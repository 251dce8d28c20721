use std::path::PathBuf;

use crate::startup_log::{self, LogError};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The llama-server / llama-completion log (its stderr); `-lv 4` logs carry the memory lines.
    pub log: PathBuf,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// Exit codes: 0 the log shows a successful load, 1 a failure (or a log that stops before the
/// load finished), 2 the file cannot be read or is not a llama.cpp log.
pub fn run(args: Args) -> i32 {
    let report = match startup_log::read_log(&args.log) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("help: {}", e.help());
            return match e {
                LogError::Io { .. } | LogError::Empty | LogError::NotALlamaLog { .. } => 2,
            };
        }
    };
    match args.format {
        Format::Human => print!("{}", startup_log::render_human(&report)),
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: cannot serialise the report: {e}");
                return 2;
            }
        },
    }
    report.exit_code()
}
