use std::path::PathBuf;

use crate::startup_log;

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
    /// Compare with the plan of this profile (as `start` would launch it).
    #[arg(long, add = super::profile_id_candidates())]
    pub profile: Option<String>,
    /// The models.conf holding --profile (default: the nearest one here or above).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Hardware file (default: profilec.toml beside the models.conf, else detection).
    #[arg(long)]
    pub hardware: Option<PathBuf>,
}

/// Exit codes: 0 the log shows a successful load, 1 a failure (or a log that stops before the
/// load finished), 2 the file cannot be read or is not a llama.cpp log.
impl Args {
    pub(super) fn json(&self) -> bool {
        matches!(self.format, Format::Json)
    }
}

pub fn run(args: Args) -> i32 {
    let report = match startup_log::read_log(&args.log) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    let diffs = match &args.profile {
        None => None,
        Some(id) => {
            let file = match super::conf_file(args.file.clone()) {
                Ok(f) => f,
                Err(code) => return code,
            };
            let resolved = crate::project::open(&file, args.hardware.as_deref())
                .and_then(|mut p| p.resolve(id, crate::budget::Program::LlamaServer));
            let mut resolved = match resolved {
                Ok(r) => r,
                Err(e) => return super::fail(&e),
            };
            if let Some(build) = &report.build {
                resolved.machine.follow_log_build(build.number);
            }
            match resolved.plan() {
                Ok(plan) => {
                    let note = crate::compare::build_note(&report, &plan);
                    Some((crate::compare::compare(&plan, &report), note))
                }
                Err(e) => {
                    eprintln!("not compared: [{id}] cannot be planned");
                    return super::fail(&e);
                }
            }
        }
    };
    match args.format {
        Format::Human => {
            let mut out = startup_log::render_human(&report);
            if let Some((d, note)) = &diffs {
                out += &format!("\nplan vs measured:\n{}\n", crate::compare::render_diffs(d));
                if let Some(note) = note {
                    out += &format!("{note}\n");
                }
            }
            super::term::print_fitted(&out);
        }
        Format::Json if diffs.is_some() => {
            let diffs = diffs.map(|(d, _)| d);
            let v = serde_json::json!({"report": report, "comparison": diffs});
            println!("{v:#}");
        }
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return super::internal("cannot encode JSON", e),
        },
    }
    report.exit_code()
}
