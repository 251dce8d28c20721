//! What the management-API tests share: `profilec serve` as a child process that stops with the
//! test, a small HTTP client, and a file server with Range support that counts downloads.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{free_port, profilec};

pub const TOKEN: &str = "test-token-0123456789abcdef";

/// `profilec serve` on a free loopback port; dropping it sends SIGTERM and waits for the exit
/// (SIGKILL after 10 s), so no server outlives its test.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(conf: &Path, token: Option<&str>, extra: &[&str]) -> Server {
        let port = free_port();
        let mut cmd = profilec();
        cmd.arg("serve")
            .arg(conf)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env_remove("PROFILEC_API_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(t) = token {
            cmd.env("PROFILEC_API_TOKEN", t);
        }
        let mut child = cmd.spawn().expect("start profilec serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("profilec serve exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "serve did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// (status, body) of a request with an optional bearer token and JSON body.
pub fn call(method: &str, url: &str, token: Option<&str>, json: Option<&str>) -> (u16, String) {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let response = match (method, json) {
        ("GET", _) => {
            let mut r = agent.get(url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        (m, body) => {
            let mut r = match m {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                _ => agent.delete(url).force_send_body(),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.header("Content-Type", "application/json")
                .send(body.unwrap_or(""))
        }
    };
    let mut response = response.expect("request");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, body)
}

/// Serves one file at `/NAME` with `Range` support, slowly enough (a pause per 16 KiB) that
/// concurrent downloads overlap; counts the GETs that transfer more than the 1-byte probe.
pub struct FileServer {
    pub port: u16,
    pub downloads: Arc<AtomicUsize>,
}

impl FileServer {
    pub fn start(file: PathBuf) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let downloads = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&downloads);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let file = file.clone();
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    let _ = answer(stream, &file, &counter);
                });
            }
        });
        FileServer { port, downloads }
    }
}

fn answer(stream: TcpStream, file: &Path, downloads: &AtomicUsize) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut range: Option<(u64, Option<u64>)> = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (a, b) = v.trim().split_once('-').unwrap_or(("0", ""));
            range = Some((a.parse().unwrap_or(0), b.parse().ok()));
        }
    }
    let data = std::fs::read(file)?;
    let total = data.len() as u64;
    let mut out = stream;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    if !line.starts_with(&format!("GET /{name} ")) {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let (start, end) = match range {
        Some((a, b)) => (a, b.unwrap_or(total - 1).min(total - 1)),
        None => (0, total - 1),
    };
    if end > start {
        downloads.fetch_add(1, Ordering::SeqCst);
    }
    let body = &data[start as usize..=end as usize];
    write!(
        out,
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{end}/{total}\r\n\
         Content-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    for chunk in body.chunks(16 * 1024) {
        out.write_all(chunk)?;
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
