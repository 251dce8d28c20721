//! `profilec --version`: profilec's version, the llama.cpp build its tables follow, and the
//! build of the llama-server it would launch.

use std::time::Duration;

use crate::LLAMA_CPP_BUILD;
use crate::launch::detect_server;

/// `llama-server --version` answers in ~30 ms; a server that takes longer is reported, not
/// waited for.
const SERVER_VERSION_TIMEOUT: Duration = Duration::from_secs(3);

pub fn run() -> i32 {
    println!("profilec {}", env!("CARGO_PKG_VERSION"));
    println!(
        "llama.cpp: b{LLAMA_CPP_BUILD} (the flag table, defaults and memory rules follow this build)"
    );
    match detect_server(SERVER_VERSION_TIMEOUT) {
        Ok(found) => {
            let at = found.path.display();
            match found.version {
                Some(v) => {
                    let build = v.build.map_or(v.version.clone(), |b| format!("b{b}"));
                    println!("llama-server: {build} at {at}");
                    if v.build.is_some_and(|b| b != LLAMA_CPP_BUILD) {
                        println!(
                            "  note: not b{LLAMA_CPP_BUILD}: flags and memory numbers may differ \
                             from what profilec predicts"
                        );
                    }
                }
                None => println!(
                    "llama-server: {at} (no build: `--version` gave no answer within {} s)",
                    SERVER_VERSION_TIMEOUT.as_secs()
                ),
            }
        }
        Err(e) => println!("llama-server: {e}"),
    }
    0
}
