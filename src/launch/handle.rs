//! A healthy server owned by the caller (tests, benchmarks). Dropping the handle stops the
//! server, so a failing test never leaves a llama-server behind.

use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use super::http::{self, Response};
use super::spawn::LoggedChild;
use super::spec::LaunchSpec;

#[derive(Debug)]
pub struct ServerHandle {
    child: LoggedChild,
    spec: LaunchSpec,
    grace: Duration,
}

impl ServerHandle {
    pub(crate) fn new(child: LoggedChild, spec: LaunchSpec, grace: Duration) -> Self {
        ServerHandle { child, spec, grace }
    }

    /// `http://127.0.0.1:PORT` (a wildcard listen address is reached on loopback).
    pub fn base_url(&self) -> String {
        self.spec.base_url()
    }

    pub fn host(&self) -> &str {
        self.spec.connect_host()
    }

    pub fn port(&self) -> u16 {
        self.spec.port
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    pub fn log_path(&self) -> &Path {
        self.child.log_path()
    }

    pub fn spec(&self) -> &LaunchSpec {
        &self.spec
    }

    /// `GET path` on the server, e.g. `/health` or `/props`.
    pub fn get(&self, path: &str, timeout: Duration) -> io::Result<Response> {
        http::get(self.host(), self.port(), path, timeout)
    }

    /// `POST path` with a JSON body, e.g. `/completion`.
    pub fn post_json(&self, path: &str, body: &str, timeout: Duration) -> io::Result<Response> {
        http::post_json(self.host(), self.port(), path, body, timeout)
    }

    /// `Some(status)` once the server has exited on its own.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// SIGINT, then SIGKILL if the server is still running after the grace period
    /// ([`super::LaunchOptions::stop_grace`]); returns how it ended.
    pub fn stop(mut self) -> io::Result<ExitStatus> {
        self.child.stop(self.grace)
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.stop(self.grace);
        }
    }
}
