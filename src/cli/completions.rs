//! `profilec completions SHELL`: the script a shell sources to complete profilec. By default it
//! is clap_complete's `PROFILEC_COMPLETE=<shell>` registration, which asks profilec itself on every Tab,
//! so verbs, flags and the profile ids of the models.conf in reach are always those of the
//! installed binary; `--static` prints a self-contained script without profile ids, for
//! packaging into a completions directory (docs/cli.md, "Completions").

use std::io::Write;
use std::path::PathBuf;

use clap_complete::aot::{Shell, generate};
use clap_complete::env::Shells;

/// The variable that turns a run into a completion request. Not clap_complete's default
/// `COMPLETE`: a variable that generic may be set for other reasons, and any value but `0`
/// would make every run of profilec answer as a completer.
pub const ENV_VAR: &str = "PROFILEC_COMPLETE";

#[derive(clap::Args)]
pub struct Args {
    /// The shell to complete for.
    shell: Shell,
    /// A script that never calls profilec (verbs, flags and files; no profile ids).
    #[arg(long = "static")]
    static_script: bool,
}

pub fn run(args: Args) -> i32 {
    let mut out = Vec::new();
    let written = if args.static_script {
        generate(args.shell, &mut super::command(), "profilec", &mut out);
        Ok(())
    } else {
        match Shells::builtins().completer(&args.shell.to_string()) {
            Some(shell) => {
                shell.write_registration(ENV_VAR, "profilec", "profilec", &completer(), &mut out)
            }
            None => {
                return super::usage(
                    "usage::no-dynamic-completion",
                    format!("no dynamic completion for {}", args.shell),
                    "add --static for a script without profile ids",
                );
            }
        }
    };
    match written.and_then(|()| std::io::stdout().write_all(&out)) {
        Ok(()) => 0,
        Err(e) => super::internal("cannot write the completion script", e),
    }
}

/// The program the shell calls back: argv[0] as it was typed (a bare `profilec` stays a PATH
/// lookup, so reinstalling does not break completion), made absolute when it is a relative
/// path, so completion also works from other directories.
fn completer() -> String {
    let argv0 = PathBuf::from(
        std::env::args_os()
            .next()
            .unwrap_or_else(|| "profilec".into()),
    );
    let path = if argv0.components().count() > 1 && argv0.is_relative() {
        std::env::current_dir().map_or(argv0.clone(), |d| d.join(&argv0))
    } else {
        argv0
    };
    path.to_string_lossy().into_owned()
}
