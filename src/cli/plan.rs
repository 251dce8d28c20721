//! `profilec plan`: the memory plan of a profile (or of an ad-hoc model + llama-server args)
//! on the declared or detected machine.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::budget::Program;
use crate::gguf::ModelCache;
use crate::hardware;
use crate::project::{self, ResolvedProfile, detected_note, plan_report};

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
    /// Profile id in FILE (not with --model); with --sets, FILE.
    #[arg(
        required_unless_present_any = ["model", "together", "sets"],
        add = super::profile_id_candidates()
    )]
    id: Option<String>,
    /// The models.conf holding the profile (default: the nearest one here or above).
    file: Option<PathBuf>,
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
    /// Plan these profiles loaded at the same time, each as its own process (router mode,
    /// llama-swap): `--together ID ID… [FILE]`.
    #[arg(
        long,
        num_args = 2..,
        value_name = "ID",
        conflicts_with_all = ["model", "sets"],
        add = super::profile_id_candidates()
    )]
    together: Vec<String>,
    /// Every maximal set of profiles that fits together, and the safe router `--models-max`.
    #[arg(long, conflicts_with = "model")]
    sets: bool,
    /// With --sets: stop the search after N fit evaluations.
    #[arg(long, value_name = "N", default_value_t = crate::coresidency::DEFAULT_STEP_LIMIT)]
    limit: u64,
    /// llama-server arguments for --model (after `--`).
    #[arg(last = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        self.format == Format::Json
    }
}

pub fn run(args: Args) -> i32 {
    let json = args.format == Format::Json;
    if !args.together.is_empty() {
        let (ids, given) = super::coresidency::split_file(args.together, args.file);
        let file = match super::conf_file(given) {
            Ok(f) => f,
            Err(code) => return code,
        };
        return super::coresidency::together(&ids, &file, args.hardware.as_deref(), json);
    }
    if args.sets {
        let file = match super::conf_file(args.id.map(PathBuf::from).or(args.file)) {
            Ok(f) => f,
            Err(code) => return code,
        };
        return super::coresidency::sets(&file, args.hardware.as_deref(), args.limit, json);
    }
    let program = match args.program {
        ProgramArg::LlamaServer => Program::LlamaServer,
        ProgramArg::LlamaCompletion => Program::LlamaCompletion,
    };
    let file = match (&args.model, args.file.clone()) {
        (Some(_), _) => PathBuf::new(),
        (None, given) => match super::conf_file(given) {
            Ok(f) => f,
            Err(code) => return code,
        },
    };
    let (resolved, profile_errors, detected) = match &args.model {
        Some(m) => match ad_hoc(m, &args, program) {
            Ok(r) => r,
            Err(code) => return code,
        },
        None => match profile(&args, &file, program) {
            Ok(r) => r,
            Err(code) => return code,
        },
    };
    if resolved.vllm.is_some() {
        if profile_errors > 0 {
            eprintln!(
                "note: the profile has {profile_errors} error(s): run `profilec check {}`",
                file.display()
            );
        }
        return super::plan_vllm::run_profile(&resolved, args.format == Format::Json);
    }
    let mut report = match plan_report(&resolved, profile_errors) {
        Ok(r) => r,
        Err(e) => return super::fail(&e),
    };
    if detected {
        report.plan.notes.push(detected_note(&resolved.machine));
    }
    let effective = &resolved.effective;
    let machine = &resolved.machine;
    let declared = machine
        .llama_cpp_build
        .filter(|_| machine.llama_cpp_build_from.is_none());
    report
        .plan
        .notes
        .extend(crate::flags::plan_notes(declared, &|flag| {
            effective.get(flag).is_some()
        }));
    if profile_errors > 0 {
        report.plan.notes.push(format!(
            "the profile has {profile_errors} error(s): run `profilec check {}`",
            file.display()
        ));
    }
    match args.format {
        Format::Human => {
            let out = super::term::get().stdout;
            let layout = crate::budget::Layout {
                width: out.width,
                color: out.color,
            };
            print!("{}", out.fit(&report.render_human_in(&layout)));
        }
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return super::internal("cannot encode JSON", e),
        },
    }
    report.exit_code()
}

type Resolved = (ResolvedProfile, usize, bool);

/// `plan --model M -- ARGS`: the arguments alone, on the machine detected here or given.
fn ad_hoc(model: &Path, args: &Args, program: Program) -> Result<Resolved, i32> {
    let hw =
        hardware::resolve(args.hardware.as_deref(), Path::new(".")).map_err(|e| super::fail(&e))?;
    if model.is_dir() {
        // A Hugging Face model directory is served by vLLM (docs/vllm.md): its plan is printed
        // here and its exit code ends the verb.
        let json = args.format == Format::Json;
        return Err(super::plan_vllm::run(
            model,
            &args.args,
            &hw.hardware.machine(),
            json,
        ));
    }
    let detected = matches!(hw.origin, hardware::Origin::Detected);
    super::flags::follow_installed(Some(&hw.hardware.runtime.llama_server));
    refuse_bad_args(&args.args)?;
    let mut models = ModelCache::default();
    let model = match super::remote::open(model) {
        Some(opened) => {
            let remote = opened?;
            super::remote::note_transfer(&remote);
            let path = remote.loaded.path.clone();
            models.insert(remote.loaded);
            path
        }
        None => model.to_path_buf(),
    };
    let resolved = ResolvedProfile::of_args(
        &model,
        &args.args,
        hw.hardware.machine(),
        program,
        &mut models,
    )
    .map_err(|e| super::fail(&e))?;
    Ok((resolved, 0, detected))
}

/// Arguments llama-server would refuse (an unknown flag, a bad value) are errors, not a plan
/// of the defaults: exit 1 with the same diagnostics `check` gives in EXTRA_ARGS.
fn refuse_bad_args(words: &[String]) -> Result<(), i32> {
    // EXTRA_ARGS is split on whitespace without quoting, so the words joined by spaces read
    // back as the same words (a word with a space in it is rare enough to read as two).
    let line = words.join(" ");
    let errors: Vec<_> = crate::flags::parse_args(&line)
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == crate::diag::Severity::Error)
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    super::report::print_diagnostics("arguments", &line, &errors);
    Err(super::fail(&crate::error::ErrorReport::new(
        "plan::bad-args",
        format!(
            "not planned: llama-server would refuse these arguments ({} error(s))",
            errors.len()
        ),
        "fix the arguments after `--` as the diagnostics above say",
        crate::error::exit::FAILED,
    )))
}

/// Profile `id` of FILE, resolved exactly as `render` resolves it.
fn profile(args: &Args, file: &Path, program: Program) -> Result<Resolved, i32> {
    let Some(id) = &args.id else {
        return Err(super::usage(
            "usage::no-profile",
            "give a profile id, or --model M.gguf",
            "e.g. `profilec plan glm-flash-q4` or `profilec plan --model M.gguf -- -c 8192`",
        ));
    };
    super::flags::follow_for_conf(file, args.hardware.as_deref());
    let mut project =
        project::open_for_plan(file, args.hardware.as_deref()).map_err(|e| super::fail(&e))?;
    let errors = match project.profile(id) {
        Ok(p) => project.errors_for(p).len(),
        Err(e) => return Err(super::fail(&e)),
    };
    let resolved = project.resolve(id, program).map_err(|e| super::fail(&e))?;
    if resolved.model_path.is_none() {
        return Err(super::fail(&crate::error::ErrorReport::new(
            "plan::no-model",
            format!("profile `{id}` has no MODEL"),
            "set MODEL = file.gguf in the profile",
            crate::error::exit::FAILED,
        )));
    }
    let detected = matches!(project.hardware_origin, hardware::Origin::Detected);
    Ok((resolved, errors, detected))
}
