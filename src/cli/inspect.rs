#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> i32 {
    eprintln!("profilec: this verb is not built yet");
    2
}
