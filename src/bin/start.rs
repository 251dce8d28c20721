//! `start <id>`: the same as `profilec start <id>`, as its own short command.

fn main() {
    std::process::exit(profilec::cli::start_main(std::env::args_os()));
}
