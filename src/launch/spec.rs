//! What to launch: a program and its argv, plus the facts preflight and the health wait need,
//! read from that same argv so what is checked is exactly what is launched.

use std::path::{Path, PathBuf};

use super::error::LaunchError;
use crate::hardware::{DEFAULT_HOST, DEFAULT_PORT};

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
    /// Reads host, port and model from a llama-server argv (later flags win, as in
    /// llama-server). A `--port` that is not a number in 1..=65535 is an error: the health
    /// wait could not know where to look.
    pub fn from_argv(program: impl Into<PathBuf>, args: Vec<String>) -> Result<Self, LaunchError> {
        let mut host = DEFAULT_HOST.to_owned();
        let mut port = DEFAULT_PORT;
        let mut model = None;
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
                "--host" => host = value.clone(),
                "--port" => {
                    port = match value.parse::<u16>() {
                        Ok(p) if p > 0 => p,
                        _ => {
                            return Err(LaunchError::BadArgv(format!(
                                "--port {value} is not a port number (1–65535)"
                            )));
                        }
                    }
                }
                _ => model = Some(PathBuf::from(value)),
            }
        }
        Ok(LaunchSpec {
            program: program.into(),
            args,
            host,
            port,
            model,
        })
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
        match self.host.as_str() {
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

/// Single-quotes a word unless it consists only of characters no POSIX shell treats specially.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
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
        let d = LaunchSpec::from_argv("x", vec![]).unwrap();
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
}
