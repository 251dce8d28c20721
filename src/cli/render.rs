use std::path::PathBuf;

use clap::ValueEnum;

use super::report::print_human;
use crate::budget::Program;
use crate::project::{Project, ResolvedProfile, open};
use crate::render::{render, to_env, to_preset};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One argument per line (the program first).
    Args,
    /// One POSIX-shell line for start.sh-style scripts.
    Sh,
    /// The docker `.env` flow of start.sh.
    Env,
    /// `{"program", "argv", "env"}`.
    Json,
    /// llama-server's router preset INI (`--models-preset`); needs `--all`.
    Preset,
}

#[derive(clap::Args)]
pub struct Args {
    /// Profile id (omit with --all).
    id: Option<String>,
    /// The models.conf.
    #[arg(default_value = "models.conf")]
    file: PathBuf,
    /// Every profile (with --format preset: one router preset file).
    #[arg(long)]
    all: bool,
    #[arg(long, value_enum, default_value = "args")]
    format: Format,
    /// Hardware file (default: profilec.toml beside the models.conf, else detection).
    #[arg(long)]
    hardware: Option<PathBuf>,
}

pub fn run(mut args: Args) -> i32 {
    // `render --all FILE`: the one positional is the file.
    if args.all
        && args.file == std::path::Path::new("models.conf")
        && let Some(file) = args.id.take()
    {
        args.file = PathBuf::from(file);
    }
    let mut project = match open(&args.file, args.hardware.as_deref()) {
        Ok(p) => p,
        Err(e) => return super::fail(&e.to_string(), &e.help(), e.exit_code()),
    };
    if args.format == Format::Preset {
        if !args.all {
            return super::fail("--format preset renders every profile", "add --all", 2);
        }
        if project.report.has_errors() {
            return refuse(&project, project.report.diagnostics.iter().collect());
        }
        let ids: Vec<String> = project
            .report
            .conf
            .profiles
            .iter()
            .map(|p| p.id.value.clone())
            .collect();
        let mut resolved = Vec::new();
        for id in &ids {
            match resolve(&mut project, id) {
                Ok(r) => resolved.push(r),
                Err(code) => return code,
            }
        }
        let pairs: Vec<(&str, &crate::resolve::Effective)> = ids
            .iter()
            .zip(&resolved)
            .map(|(id, r)| (id.as_str(), &r.effective))
            .collect();
        return match to_preset(&pairs) {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(errors) => env_errors(&errors),
        };
    }
    let ids: Vec<String> = match (&args.id, args.all) {
        (Some(id), false) => vec![id.clone()],
        (None, true) => project
            .report
            .conf
            .profiles
            .iter()
            .map(|p| p.id.value.clone())
            .collect(),
        _ => {
            return super::fail(
                "give one profile id, or --all",
                "e.g. `profilec render glm-flash-q4 models.conf`",
                2,
            );
        }
    };
    let mut code = 0;
    for id in ids {
        let profile = match project.profile(&id) {
            Ok(p) => p,
            Err(e) => return super::fail(&e.to_string(), &e.help(), e.exit_code()),
        };
        let errors = project.errors_for(profile);
        if !errors.is_empty() {
            code = code.max(refuse(&project, errors));
            continue;
        }
        let resolved = match resolve(&mut project, &id) {
            Ok(r) => r,
            Err(c) => {
                code = code.max(c);
                continue;
            }
        };
        let rendered = render(&project.hardware.runtime.llama_server, &resolved.effective);
        match args.format {
            Format::Args => {
                println!("{}", rendered.program.display());
                for a in &rendered.argv {
                    println!("{a}");
                }
            }
            Format::Sh => println!("{}", rendered.to_sh()),
            Format::Json => println!("{}", rendered.to_json()),
            Format::Env => {
                let placement = resolved.pinned.as_ref().and_then(|p| p.as_ref().ok());
                let flags = placement.map_or(&[][..], |p| p.flags.as_slice());
                let Ok(profile) = project.profile(&id) else {
                    continue;
                };
                match to_env(profile, flags) {
                    Ok(text) => print!("{text}"),
                    Err(errors) => code = code.max(env_errors(&errors)),
                }
            }
            Format::Preset => {}
        }
    }
    code
}

/// The profile resolved for launch, or the exit code after saying why it cannot be launched.
fn resolve(project: &mut Project, id: &str) -> Result<ResolvedProfile, i32> {
    let resolved = project
        .resolve(id, Program::LlamaServer)
        .map_err(|e| super::fail(&e.to_string(), &e.help(), e.exit_code()))?;
    if let Some(e) = resolved.launch_blocker() {
        eprintln!("not rendered: `[{id}]`");
        return Err(super::fail(&e.to_string(), &e.help(), 1));
    }
    Ok(resolved)
}

fn refuse(project: &Project, errors: Vec<&crate::diag::Diagnostic>) -> i32 {
    let owned: Vec<_> = errors.into_iter().cloned().collect();
    print_human(
        &project.conf_path.display().to_string(),
        project.report.conf.doc.source(),
        &owned,
        project.report.conf.profiles.len(),
    );
    eprintln!("not rendered: fix the errors above (`profilec check` shows them all)");
    1
}

fn env_errors(errors: &[crate::render::EnvError]) -> i32 {
    for e in errors {
        eprintln!("error: {e}\n  help: {}", e.help());
    }
    1
}
