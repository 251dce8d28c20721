//! What to launch: a program and its argv, plus the facts preflight and the health wait need,
//! read from that same argv so what is checked is exactly what is launched.

use std::path::{Path, PathBuf};

use super::error::LaunchError;
use crate::hardware::{DEFAULT_HOST, DEFAULT_PORT};
use crate::render::shell_quote;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    pub program: PathBuf,
    /// Arguments after the program name, passed to it verbatim (no shell ever sees them).
    pub args: Vec<String>,
    /// Where llama-server will listen: `--host` (default 127.0.0.1).
    pub host: String,
    /// `--port` (default 8080).
    pub port: u16,
    /// `-m`/`--model`, checked by preflight; `None` for argvs without a local model (`-hf`).
    pub model: Option<PathBuf>,
}

impl LaunchSpec {
    /// Reads host, port and model from a llama-server argv the way llama-server does: a later
    /// flag wins, and `LLAMA_ARG_HOST`/`LLAMA_ARG_PORT`/`LLAMA_ARG_MODEL` from the environment
    /// apply when the argv lacks the flag. A `--port` that is not in 1..=65535, or a `--host`
    /// list without a TCP address, is an error: the health wait could not know where to look.
    pub fn from_argv(program: impl Into<PathBuf>, args: Vec<String>) -> Result<Self, LaunchError> {
        Self::from_argv_env(program, args, &|k| std::env::var(k).ok())
    }

    /// A `vllm serve MODEL_DIR …` argv: host and port as for llama-server (vLLM's flags have
    /// the same names), no `LLAMA_ARG_*` environment, and no model file for preflight (the model
    /// is a directory `check` has read: `safetensors::…` diagnostics).
    pub fn for_vllm(program: impl Into<PathBuf>, args: Vec<String>) -> Result<Self, LaunchError> {
        let mut spec = Self::from_argv_env(program, args, &|_| None)?;
        spec.model = None;
        Ok(spec)
    }

    fn from_argv_env(
        program: impl Into<PathBuf>,
        args: Vec<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, LaunchError> {
        let mut host = env("LLAMA_ARG_HOST");
        let mut port = env("LLAMA_ARG_PORT").map(|p| (p, "LLAMA_ARG_PORT"));
        let mut model = env("LLAMA_ARG_MODEL").map(PathBuf::from);
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let wanted = matches!(flag.as_str(), "--host" | "--port" | "-m" | "--model");
            if !wanted {
                continue;
            }
            let Some(value) = it.next() else {
                return Err(LaunchError::BadArgv(format!("{flag} needs a value")));
            };
            match flag.as_str() {
                "--host" => host = Some(value.clone()),
                "--port" => port = Some((value.clone(), "--port")),
                _ => model = Some(PathBuf::from(value)),
            }
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some((p, from)) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => {
                    return Err(LaunchError::BadArgv(format!(
                        "{from} {p} is not a port number (1–65535)"
                    )));
                }
            },
        };
        let spec = LaunchSpec {
            program: program.into(),
            args,
            host: host.unwrap_or_else(|| DEFAULT_HOST.to_owned()),
            port,
            model,
        };
        if spec.tcp_hosts().is_empty() {
            return Err(LaunchError::BadArgv(format!(
                "--host {} has no TCP address; profilec waits for /health over TCP, so give \
                 an address such as 127.0.0.1",
                spec.host
            )));
        }
        Ok(spec)
    }

    /// The TCP addresses of `--host` (llama-server takes a comma-separated list, where entries
    /// ending in `.sock` are UNIX sockets).
    pub fn tcp_hosts(&self) -> Vec<&str> {
        self.host
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty() && !h.ends_with(".sock"))
            .collect()
    }

    /// One human-readable line, each word quoted for a POSIX shell only where needed, so it
    /// can be pasted into a terminal and mean exactly the argv that is launched.
    pub fn display(&self) -> String {
        std::iter::once(shell_quote(&self.program.to_string_lossy()))
            .chain(self.args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Where to connect to reach the server: a wildcard listen address is reached on loopback.
    pub fn connect_host(&self) -> &str {
        let first = self.tcp_hosts().first().copied().unwrap_or(DEFAULT_HOST);
        match first {
            "0.0.0.0" | "" => "127.0.0.1",
            "::" | "[::]" => "::1",
            h => h,
        }
    }

    /// `http://host:port` (IPv6 literals bracketed).
    pub fn base_url(&self) -> String {
        let host = self.connect_host();
        if host.contains(':') && !host.starts_with('[') {
            format!("http://[{host}]:{}", self.port)
        } else {
            format!("http://{host}:{}", self.port)
        }
    }

    pub fn model_path(&self) -> Option<&Path> {
        self.model.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn reads_host_port_model_last_wins() {
        let s = LaunchSpec::from_argv(
            "llama-server",
            argv("-m a.gguf --port 9000 --host 0.0.0.0 --model b.gguf --port 9001"),
        )
        .unwrap();
        assert_eq!((s.host.as_str(), s.port), ("0.0.0.0", 9001));
        assert_eq!(s.model, Some(PathBuf::from("b.gguf")));
        assert_eq!(s.base_url(), "http://127.0.0.1:9001");
        let d = LaunchSpec::from_argv_env("x", vec![], &|_| None).unwrap();
        assert_eq!(
            (d.host.as_str(), d.port, d.model),
            ("127.0.0.1", 8080, None)
        );
    }

    #[test]
    fn bad_port_and_missing_value() {
        for a in ["--port 0", "--port 70000", "--port x", "-m"] {
            let e = LaunchSpec::from_argv("x", argv(a)).unwrap_err();
            assert_eq!(e.code(), "launch::bad-argv", "{a}");
        }
    }

    #[test]
    fn display_quotes_only_what_a_shell_would_touch() {
        let mut s = LaunchSpec::from_argv("/opt/llama-server", argv("-m m.gguf -ot")).unwrap();
        s.args.push(r"blk\.(0|1)\.=CUDA0".to_owned());
        s.args.push("it's $(x);".to_owned());
        assert_eq!(
            s.display(),
            r#"/opt/llama-server -m m.gguf -ot 'blk\.(0|1)\.=CUDA0' 'it'\''s $(x);'"#
        );
        let v6 = LaunchSpec::from_argv("x", argv("--host :: --port 1")).unwrap();
        assert_eq!(v6.base_url(), "http://[::1]:1");
    }

    #[test]
    fn environment_applies_only_where_the_argv_is_silent() {
        let env = |k: &str| match k {
            "LLAMA_ARG_HOST" => Some("0.0.0.0".to_owned()),
            "LLAMA_ARG_PORT" => Some("9100".to_owned()),
            "LLAMA_ARG_MODEL" => Some("env.gguf".to_owned()),
            _ => None,
        };
        let s = LaunchSpec::from_argv_env("x", argv("--port 9200"), &env).unwrap();
        assert_eq!((s.host.as_str(), s.port), ("0.0.0.0", 9200));
        assert_eq!(s.model, Some(PathBuf::from("env.gguf")));
        let bad = |k: &str| (k == "LLAMA_ARG_PORT").then(|| "http".to_owned());
        let e = LaunchSpec::from_argv_env("x", vec![], &bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the argv cannot be launched: LLAMA_ARG_PORT http is not a port number (1–65535)"
        );
    }

    #[test]
    fn host_lists_and_unix_sockets() {
        let s = LaunchSpec::from_argv("x", argv("--host /run/l.sock,0.0.0.0,::1")).unwrap();
        assert_eq!(s.tcp_hosts(), ["0.0.0.0", "::1"]);
        assert_eq!(s.connect_host(), "127.0.0.1");
        let e = LaunchSpec::from_argv("x", argv("--host /run/l.sock")).unwrap_err();
        assert_eq!(e.code(), "launch::bad-argv");
    }
}
