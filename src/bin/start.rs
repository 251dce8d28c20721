//! `start <id>`: the same as `profilec start <id>`, as its own short command.

fn main() {
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_else(|| "start".into());
    let argv = [program, "start".into()].into_iter().chain(args);
    std::process::exit(profilec::cli::main_from(argv));
}
