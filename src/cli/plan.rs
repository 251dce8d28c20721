//! `profilec plan`: the memory plan of a profile (or of an ad-hoc model + llama-server args)
//! on the declared or detected machine.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::budget::Program;
use crate::gguf::ModelCache;
use crate::hardware;
use crate::project::{
    self, ProjectError, ResolvedProfile, detected_note, plan_error_code, plan_report,
};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProgramArg {
    LlamaServer,
    LlamaCompletion,
}

#[derive(clap::Args)]
pub struct Args {
    /// Profile id in FILE (not with --model).
    #[arg(required_unless_present = "model")]
    id: Option<String>,
    /// The models.conf holding the profile.
    #[arg(default_value = "models.conf")]
    file: PathBuf,
    /// Plan a GGUF directly instead of a profile; llama-server arguments follow `--`.
    #[arg(long, value_name = "GGUF", conflicts_with = "id")]
    model: Option<PathBuf>,
    /// profilec.toml describing the machine (default: beside FILE, else detected).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// The llama.cpp program the launch runs (their output and compute buffers differ).
    #[arg(long, value_enum, default_value = "llama-server")]
    program: ProgramArg,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// llama-server arguments for --model (after `--`).
    #[arg(last = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn run(args: Args) -> i32 {
    let program = match args.program {
        ProgramArg::LlamaServer => Program::LlamaServer,
        ProgramArg::LlamaCompletion => Program::LlamaCompletion,
    };
    let (resolved, profile_errors, detected) = match &args.model {
        Some(m) => match ad_hoc(m, &args, program) {
            Ok(r) => r,
            Err(code) => return code,
        },
        None => match profile(&args, program) {
            Ok(r) => r,
            Err(code) => return code,
        },
    };
    let mut report = match plan_report(&resolved, profile_errors) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return plan_error_code(&e);
        }
    };
    if detected {
        report.plan.notes.push(detected_note(&resolved.machine));
    }
    if profile_errors > 0 {
        report.plan.notes.push(format!(
            "the profile has {profile_errors} error(s): run `profilec check {}`",
            args.file.display()
        ));
    }
    match args.format {
        Format::Human => print!("{}", report.render_human()),
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
    }
    report.exit_code()
}

type Resolved = (ResolvedProfile, usize, bool);

/// `plan --model M -- ARGS`: the arguments alone, on the machine detected here or given.
fn ad_hoc(model: &Path, args: &Args, program: Program) -> Result<Resolved, i32> {
    let hw = hardware::resolve(args.hardware.as_deref(), Path::new(".")).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    let detected = matches!(hw.origin, hardware::Origin::Detected);
    let resolved = ResolvedProfile::of_args(
        model,
        &args.args,
        hw.hardware.machine(),
        program,
        &mut ModelCache::default(),
    )
    .map_err(|e| super::fail(&e.to_string(), &e.help(), 2))?;
    Ok((resolved, 0, detected))
}

/// Profile `id` of FILE, resolved exactly as `render` resolves it.
fn profile(args: &Args, program: Program) -> Result<Resolved, i32> {
    let Some(id) = &args.id else {
        eprintln!("error: give a profile id, or --model M.gguf");
        return Err(2);
    };
    let mut project =
        project::open_for_plan(&args.file, args.hardware.as_deref()).map_err(|e| match e {
            ProjectError::Check(e) => {
                eprintln!("{:?}", miette::Report::new(e));
                2
            }
            e => super::fail(&e.to_string(), &e.help(), 2),
        })?;
    let errors = match project.profile(id) {
        Ok(p) => project.errors_for(p).len(),
        Err(_) => {
            let ids: Vec<&str> = project
                .report
                .conf
                .profiles
                .iter()
                .map(|p| p.id.value.as_str())
                .collect();
            eprintln!(
                "error: no profile `{id}` in {}; profiles: {}",
                args.file.display(),
                ids.join(", ")
            );
            return Err(2);
        }
    };
    let resolved = project
        .resolve(id, program)
        .map_err(|e| super::fail(&e.to_string(), &e.help(), e.exit_code()))?;
    if resolved.model_path.is_none() {
        eprintln!("error: profile `{id}` has no MODEL; set MODEL = file.gguf");
        return Err(1);
    }
    let detected = matches!(project.hardware_origin, hardware::Origin::Detected);
    Ok((resolved, errors, detected))
}
