use std::path::PathBuf;

use clap::ValueEnum;

use crate::budget::Program;
use crate::config::Runtime;
use crate::coresidency::{DEFAULT_STEP_LIMIT, sets_of};
use crate::project::{Project, ResolvedProfile, open};
use crate::render::{
    PresetModel, SwapStyle, render, render_profile, to_env_for, to_llama_swap, to_router_preset,
};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One argument per line (the program first).
    Args,
    /// One POSIX-shell line for start.sh-style scripts.
    Sh,
    /// The docker `.env` flow of start.sh.
    Env,
    /// One JSON object: the program, its argv and its environment.
    Json,
    /// llama-server's router preset INI (`--models-preset`) with the safe `--models-max`;
    /// needs `--all`.
    Preset,
    /// A llama-swap config.yaml: one model per profile, groups of profiles that fit together;
    /// needs `--all`.
    LlamaSwap,
    /// A llama-swap config.yaml whose `matrix` lists every set of profiles that fits together
    /// (llama-swap releases with `matrix`); needs `--all`.
    LlamaSwapMatrix,
}

#[derive(clap::Args)]
pub struct Args {
    /// Profile id (omit with --all).
    #[arg(add = super::profile_id_candidates())]
    id: Option<String>,
    /// The models.conf (default: the nearest one here or above).
    file: Option<PathBuf>,
    /// Every profile (with --format preset: one router preset file).
    #[arg(long)]
    all: bool,
    #[arg(long, value_enum, default_value = "args")]
    format: Format,
    /// Hardware file (default: profilec.toml beside the models.conf, else detection).
    #[arg(long)]
    hardware: Option<PathBuf>,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        self.format == Format::Json
    }
}

pub fn run(mut args: Args) -> i32 {
    // `render --all FILE`: the one positional is the file.
    if args.all
        && args.file.is_none()
        && let Some(file) = args.id.take()
    {
        args.file = Some(PathBuf::from(file));
    }
    let file = match super::conf_file(args.file.take()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    super::flags::follow_for_conf(&file, args.hardware.as_deref());
    let mut project = match open(&file, args.hardware.as_deref()) {
        Ok(p) => p,
        Err(e) => return super::fail(&e),
    };
    if matches!(
        args.format,
        Format::Preset | Format::LlamaSwap | Format::LlamaSwapMatrix
    ) {
        if !args.all {
            return super::usage(
                "usage::needs-all",
                "this format renders every profile",
                "add --all",
            );
        }
        return render_all(&mut project, args.format);
    }
    let ids: Vec<String> = match (&args.id, args.all) {
        (Some(id), false) => vec![id.clone()],
        (None, true) => project.report.conf.ids(),
        _ => {
            return super::usage(
                "usage::no-profile",
                "give one profile id, or --all",
                "e.g. `profilec render glm-flash-q4 models.conf`",
            );
        }
    };
    let mut code = 0;
    for id in ids {
        let profile = match project.profile(&id) {
            Ok(p) => p,
            Err(e) => return super::fail(&e),
        };
        let errors = project.errors_for(profile);
        if !errors.is_empty() {
            code = code.max(super::refuse_profile(&project, &id, errors, "rendered"));
            continue;
        }
        let resolved = match resolve(&mut project, &id) {
            Ok(r) => r,
            Err(c) => {
                code = code.max(c);
                continue;
            }
        };
        let rendered = render_profile(&project.hardware.runtime, &resolved);
        match args.format {
            Format::Args => {
                println!("{}", rendered.program.display());
                for a in &rendered.argv {
                    println!("{a}");
                }
            }
            Format::Sh => match rendered.to_sh() {
                Ok(line) => println!("{line}"),
                Err(e) => code = code.max(super::fail(&e)),
            },
            Format::Json => println!("{}", rendered.to_json()),
            Format::Env => {
                let placement = resolved.pinned.as_ref().and_then(|p| p.as_ref().ok());
                let flags = placement.map_or(&[][..], |p| p.flags.as_slice());
                let Ok(profile) = project.profile(&id) else {
                    continue;
                };
                match to_env_for(profile, flags, resolved.runtime) {
                    Ok(text) => print!("{text}"),
                    Err(errors) => code = code.max(env_errors(&errors)),
                }
            }
            Format::Preset | Format::LlamaSwap | Format::LlamaSwapMatrix => {}
        }
    }
    code
}

/// Every profile in one file: the router preset (with the safe `--models-max`) or a llama-swap
/// config (with groups of profiles that fit together).
fn render_all(project: &mut Project, format: Format) -> i32 {
    if project.report.has_errors() {
        return super::refuse_profile(
            project,
            "--all",
            project.report.diagnostics.iter().collect(),
            "rendered",
        );
    }
    let mut ids = Vec::new();
    let mut resolved = Vec::new();
    for id in project.report.conf.ids() {
        match resolve(project, &id) {
            // The router and llama-swap groups are llama-server processes planned with
            // llama.cpp's memory model; a vLLM profile is served on its own (`start ID`).
            Ok(r) if r.runtime == Runtime::Vllm => {
                eprintln!(
                    "note: `[{id}]` is a vLLM profile: left out (launch it with `profilec start {id}`)"
                );
            }
            Ok(r) => {
                ids.push(id);
                resolved.push(r);
            }
            Err(code) => return code,
        }
    }
    let sets = sets_of(&resolved, project, DEFAULT_STEP_LIMIT);
    // Each rendered profile with its own resolution: `ids` and `resolved` skip the vLLM ones.
    let profiles: Vec<_> = ids
        .iter()
        .filter_map(|id| project.report.conf.profile(id))
        .zip(&resolved)
        .collect();
    let text = if format == Format::Preset {
        let models: Vec<PresetModel> = profiles
            .iter()
            .map(|(p, r)| PresetModel {
                id: p.id.value.as_str(),
                effective: &r.effective,
                roles: p.role_names(),
            })
            .collect();
        to_router_preset(&models, &sets.models_max).map_err(|e| env_errors(&e))
    } else {
        let program = &project.hardware.runtime.llama_server;
        let entries: Vec<_> = profiles
            .iter()
            .map(|(p, r)| (*p, render(program, &r.effective)))
            .collect();
        let style = if format == Format::LlamaSwapMatrix {
            SwapStyle::Matrix
        } else {
            SwapStyle::Groups
        };
        to_llama_swap(&entries, &sets, style).map_err(|errors| fail_all(&errors))
    };
    match text {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(code) => code,
    }
}

/// The profile resolved for launch, or the exit code after saying why it cannot be launched.
fn resolve(project: &mut Project, id: &str) -> Result<ResolvedProfile, i32> {
    let resolved = project
        .resolve(id, Program::LlamaServer)
        .map_err(|e| super::fail(&e))?;
    if let Some(e) = resolved.launch_blocker() {
        eprintln!("not rendered: `[{id}]`");
        return Err(super::fail(e));
    }
    Ok(resolved)
}

fn env_errors(errors: &[crate::render::EnvError]) -> i32 {
    fail_all(errors)
}

/// Every error, each as the protocol prints it; the highest exit code.
fn fail_all<E: crate::error::Failure>(errors: &[E]) -> i32 {
    errors.iter().map(super::fail).max().unwrap_or(0)
}
