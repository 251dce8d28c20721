//! Checks made before anything starts, so the common mistakes fail in milliseconds with a
//! precise message instead of after a model load with a log to read.

use std::io::ErrorKind;
use std::net::{TcpListener, ToSocketAddrs};

use super::discover::is_executable;
use super::error::LaunchError;
use super::spec::LaunchSpec;

/// The binary exists and is executable, the model file exists, and `host:port` is free.
///
/// The port check binds and immediately closes a listener; another program could still take
/// the port before llama-server binds it, and then the launch fails with the server's own
/// "couldn't bind" in the log tail.
pub fn preflight(spec: &LaunchSpec) -> Result<(), LaunchError> {
    check_program(spec)?;
    if let Some(model) = &spec.model
        && !model.is_file()
    {
        return Err(LaunchError::ModelMissing {
            path: model.clone(),
        });
    }
    for host in spec.tcp_hosts() {
        check_port(host, spec.port)?;
    }
    Ok(())
}

fn check_program(spec: &LaunchSpec) -> Result<(), LaunchError> {
    if !spec.program.exists() {
        return Err(LaunchError::ProgramMissing {
            path: spec.program.clone(),
        });
    }
    if !is_executable(&spec.program) {
        return Err(LaunchError::NotExecutable {
            path: spec.program.clone(),
        });
    }
    Ok(())
}

/// Binds `host:port` the way llama-server will (std sets SO_REUSEADDR on Unix, as
/// cpp-httplib does, so a port held only by TIME_WAIT connections counts as free).
pub fn check_port(host: &str, port: u16) -> Result<(), LaunchError> {
    let bad = |reason: String| LaunchError::BadAddress {
        host: host.to_owned(),
        port,
        reason,
    };
    let bind_host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (bind_host, port)
        .to_socket_addrs()
        .map_err(|e| bad(format!("cannot resolve the host: {e}")))?
        .collect();
    let Some(addr) = addrs.first() else {
        return Err(bad("the host resolves to no address".to_owned()));
    };
    match TcpListener::bind(addr) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(source) if source.kind() == ErrorKind::AddrInUse => Err(LaunchError::PortInUse {
            host: host.to_owned(),
            port,
            source,
        }),
        Err(e) => Err(bad(e.to_string())),
    }
}
