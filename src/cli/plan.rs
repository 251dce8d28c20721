//! `profilec plan`: the memory plan of a profile (or of an ad-hoc model + llama-server args)
//! on the declared or detected machine.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::budget::{self, Program};
use crate::check::{CheckOptions, MachineFor, check_file, default_models_dir};
use crate::config::Strategy;
use crate::diag::Severity;
use crate::gguf::{Model, ModelFacts};
use crate::hardware::{self, Machine};
use crate::place::fit::{FitPrediction, predict};
use crate::place::solver::{Placement, SolveError, solve};
use crate::resolve::{self, Effective, Origin};

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
    let conf_dir = match &args.model {
        Some(_) => PathBuf::from("."),
        None => parent(&args.file),
    };
    let hw = match hardware::resolve(args.hardware.as_deref(), &conf_dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let machine = hw.hardware.machine();
    if let Some(dir) = args.model.as_deref().filter(|m| m.is_dir()) {
        return super::plan_vllm::run(dir, &args.args, &machine, args.format == Format::Json);
    }
    let mut profile_errors = 0;
    let mut strategy = None;
    let (eff, model_path) = match &args.model {
        Some(m) => {
            let mut eff = Effective::default();
            resolve::apply_args(&mut eff, &args.args.join(" "), Origin::ExtraArgs);
            (eff, m.clone())
        }
        None => {
            let Some(id) = &args.id else {
                eprintln!("error: give a profile id, or --model M.gguf");
                return 2;
            };
            match profile_options(&args.file, id, &hw.hardware) {
                Ok((eff, errors, pinned)) => {
                    profile_errors = errors;
                    strategy = pinned;
                    let Some(model) = eff.value("--model").map(PathBuf::from) else {
                        eprintln!("error: profile `{id}` has no MODEL; set MODEL = file.gguf");
                        return 1;
                    };
                    (eff, model)
                }
                Err(code) => return code,
            }
        }
    };
    let opts = eff.options();
    let mut plan = match budget::plan(&model_path, &opts, &machine, program) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return match e {
                budget::PlanError::Gguf(_) => 2,
                _ => 1,
            };
        }
    };
    if matches!(hw.origin, hardware::Origin::Detected) {
        plan.notes.push(detected_note(&machine));
    }
    if profile_errors > 0 {
        plan.notes.push(format!(
            "the profile has {profile_errors} error(s): run `profilec check {}`",
            args.file.display()
        ));
    }
    let placement = pinned_placement(&model_path, &opts, &machine, program, strategy);
    let fit = match &placement {
        None => fit_prediction(&model_path, &opts, &machine, program),
        Some(_) => None,
    };
    match args.format {
        Format::Human => {
            print!("{}", budget::render_human(&plan));
            print!("{}", render_placement(&placement));
            if let Some(f) = &fit {
                print!("{}", render_fit(f));
            }
        }
        Format::Json => match serde_json::to_string_pretty(&PlanJson {
            plan: &plan,
            placement_strategy: placement.as_ref().map(|r| match r {
                Ok(p) => SolvedJson::Ok(p),
                Err(e) => SolvedJson::Err {
                    error: e.to_string(),
                },
            }),
            fit_prediction: fit.as_ref().map(FitJson::from),
        }) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
    }
    // A FIT profile fits when fit's placement does, not when all layers on the GPUs would.
    let fits = match &fit {
        Some(Ok(f)) => f.fits,
        _ => plan.fits,
    };
    i32::from(!fits || profile_errors > 0)
}

#[derive(serde::Serialize)]
struct PlanJson<'a> {
    #[serde(flatten)]
    plan: &'a budget::Plan,
    /// The pinned placement (FIT=off or STRATEGY set): the solver's flags, plan and rationale,
    /// or `{"error": …}` saying why nothing fits. (`placement` is the plan's layer placement.)
    #[serde(skip_serializing_if = "Option::is_none")]
    placement_strategy: Option<SolvedJson<'a>>,
    /// What llama.cpp's --fit will do (FIT profiles): its flags, per-GPU layers, log, RAM check
    /// and findings. `plan` inside is the memory plan under fit's result.
    #[serde(skip_serializing_if = "Option::is_none")]
    fit_prediction: Option<FitJson<'a>>,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum FitJson<'a> {
    Ok(&'a FitPrediction),
    Err { error: String },
}

impl<'a> From<&'a Result<FitPrediction, String>> for FitJson<'a> {
    fn from(r: &'a Result<FitPrediction, String>) -> Self {
        match r {
            Ok(p) => FitJson::Ok(p),
            Err(e) => FitJson::Err { error: e.clone() },
        }
    }
}

/// fit's predicted result when fit is on and the solver does not pin placement.
fn fit_prediction(
    model_path: &Path,
    opts: &resolve::RunOptions,
    machine: &Machine,
    program: Program,
) -> Option<Result<FitPrediction, String>> {
    if !opts.fit || machine.is_cpu_only() {
        return None;
    }
    let model = Model::open(model_path).ok()?;
    let facts = ModelFacts::from_model(&model).ok()?;
    Some(predict(&model, &facts, model_path, opts, machine, program).map_err(|e| e.to_string()))
}

fn render_fit(f: &Result<FitPrediction, String>) -> String {
    let p = match f {
        Ok(p) => p,
        Err(e) => return format!("\nfit prediction: {e}\n"),
    };
    let mut out = String::from("\nfit prediction (llama.cpp --fit at load time):\n");
    let layers: Vec<String> = p
        .devices
        .iter()
        .map(|d| match d.overflowing {
            0 => format!("{} {}", d.device, d.layers),
            n => format!("{} {} ({n} overflowing)", d.device, d.layers),
        })
        .collect();
    out.push_str(&format!(
        "  n_ctx {}, n_gpu_layers {}: {}{}\n",
        p.n_ctx,
        p.n_gpu_layers,
        layers.join(", "),
        if p.fits { "" } else { " (does not fit)" }
    ));
    if !p.flags.is_empty() {
        out.push_str(&format!("  fit adds: {}\n", p.flags.join(" ")));
    }
    out.push_str("  fit would print (-lv 4):\n");
    for l in &p.log {
        out.push_str(&format!("    {l}\n"));
    }
    for f in &p.findings {
        out.push_str(&format!("  - {f}\n"));
    }
    out
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum SolvedJson<'a> {
    Ok(&'a Placement),
    Err { error: String },
}

type Solved = Option<Result<Placement, SolveError>>;

/// The solver's placement when the profile pins placement (FIT=off, or a STRATEGY other than
/// auto): `None` when fit places the model.
fn pinned_placement(
    model_path: &Path,
    opts: &resolve::RunOptions,
    machine: &Machine,
    program: Program,
    strategy: Option<Strategy>,
) -> Solved {
    let pinned = !opts.fit || strategy.is_some_and(|s| s != Strategy::Auto);
    if !pinned || machine.is_cpu_only() {
        return None;
    }
    let model = Model::open(model_path).ok()?;
    let facts = ModelFacts::from_model(&model).ok()?;
    Some(solve(
        &model,
        &facts,
        model_path,
        opts,
        machine,
        program,
        strategy.unwrap_or(Strategy::Auto),
    ))
}

fn render_placement(p: &Solved) -> String {
    let mut out = String::new();
    match p {
        None => {}
        Some(Ok(p)) => {
            out.push_str(&format!("\nplacement: strategy {}\n", p.strategy.as_str()));
            out.push_str(&format!("  flags: {}\n", p.flags.join(" ")));
            for r in &p.rationale {
                out.push_str(&format!("  - {r}\n"));
            }
        }
        Some(Err(e)) => out.push_str(&format!("\nplacement: {e}\n")),
    }
    out
}

/// Effective options of profile `id`, how many errors `check` finds inside it, and its STRATEGY.
fn profile_options(
    file: &Path,
    id: &str,
    hw: &hardware::Hardware,
) -> Result<(Effective, usize, Option<Strategy>), i32> {
    // plan reports the budget itself; the budget rules would plan every profile of the file.
    let opts = CheckOptions {
        hardware: MachineFor::Skip,
        ..Default::default()
    };
    let report = check_file(file, &opts).map_err(|e| {
        eprintln!("{:?}", miette::Report::new(e));
        2
    })?;
    let Some(profile) = report.conf.profile(id) else {
        let ids: Vec<&str> = report
            .conf
            .profiles
            .iter()
            .map(|p| p.id.value.as_str())
            .collect();
        eprintln!(
            "error: no profile `{id}` in {}; profiles: {}",
            file.display(),
            ids.join(", ")
        );
        return Err(2);
    };
    let start = profile.id.span.start;
    let end = report
        .conf
        .profiles
        .iter()
        .map(|p| p.id.span.start)
        .filter(|&s| s > start)
        .min()
        .unwrap_or(usize::MAX);
    let errors = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| {
            d.span
                .as_ref()
                .is_some_and(|s| s.start >= start && s.start < end)
        })
        .count();
    let eff = resolve::resolve(profile, &hw.defaults, &default_models_dir(file));
    Ok((eff, errors, profile.strategy.as_ref().map(|s| s.value)))
}

fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn detected_note(m: &Machine) -> String {
    if m.is_cpu_only() {
        "hardware: detected (no GPU found, CPU only); pass --hardware profilec.toml to plan for another machine".into()
    } else {
        "hardware: detected; pass --hardware profilec.toml to plan for another machine".into()
    }
}
