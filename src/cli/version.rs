//! `profilec --version`: profilec's version, the llama.cpp build its tables follow, and the
//! build of the llama-server it would launch.

use std::time::Duration;

use crate::LLAMA_CPP_BUILD;
use crate::launch::detect_server;

/// `llama-server --version` answers in ~30 ms; a server that takes longer is reported, not
/// waited for.
const SERVER_VERSION_TIMEOUT: Duration = Duration::from_secs(3);

pub fn run() -> i32 {
    let mut out = format!(
        "profilec {}\nllama.cpp: b{LLAMA_CPP_BUILD} (the flag table, defaults and memory rules \
         follow this build)\n",
        env!("CARGO_PKG_VERSION")
    );
    out += &server_lines();
    super::term::print_fitted(&out);
    0
}

/// The llama-server profilec would launch: its build, or why there is none.
fn server_lines() -> String {
    let found = match detect_server(SERVER_VERSION_TIMEOUT) {
        Ok(found) => found,
        Err(e) => return format!("llama-server: {e}\n"),
    };
    let at = found.path.display();
    let Some(v) = found.version else {
        return format!(
            "llama-server: {at} (no build: `--version` gave no answer within {} s)\n",
            SERVER_VERSION_TIMEOUT.as_secs()
        );
    };
    let build = v.build.map_or(v.version.clone(), |b| format!("b{b}"));
    let mut lines = format!("llama-server: {build} at {at}\n");
    if v.build.is_some_and(|b| b != LLAMA_CPP_BUILD) {
        lines += &format!(
            "  note: not b{LLAMA_CPP_BUILD}: flags and memory numbers may differ from what \
             profilec predicts\n"
        );
    }
    lines
}
