//! `profilec serve`: the HTTP management API (docs/api.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::serve::{DEFAULT_BIND, ServeOptions, TOKEN_ENV, auth_policy, openapi_json, serve};

#[derive(clap::Args)]
pub struct Args {
    /// The models.conf to serve (default: the nearest one here or above).
    file: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_BIND)]
    bind: SocketAddr,
    /// Run without a token (only on a loopback address, and only when PROFILEC_API_TOKEN is unset).
    #[arg(long)]
    no_auth: bool,
    /// profilec.toml describing the machine (default: beside FILE, else detected).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// Print the OpenAPI document (docs/api/openapi.json) and exit.
    #[arg(long)]
    openapi: bool,
}

pub fn run(args: Args) -> i32 {
    if args.openapi {
        print!("{}", openapi_json());
        return 0;
    }
    let conf = match super::conf_file(args.file) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let auth = match auth_policy(args.bind, std::env::var(TOKEN_ENV).ok(), args.no_auth) {
        Ok(a) => a,
        Err(e) => return super::fail(&e),
    };
    let opts = ServeOptions {
        conf: conf.clone(),
        hardware: args.hardware,
        bind: args.bind,
        auth,
    };
    let result = serve(opts, |addr| {
        eprintln!(
            "profilec: serving {} on http://{addr}/api/v1/ (Ctrl-C stops)",
            conf.display()
        );
    });
    match result {
        Ok(()) => 0,
        Err(e) => super::fail(&e),
    }
}
