//! A real HTTP server on 127.0.0.1 for the remote-header and `pull` tests, shaped like the
//! Hugging Face hub: `/ORG/REPO/resolve/REV/PATH` answers 302 to `/cdn/ORG/REPO/PATH` with the
//! hub's `X-Linked-Etag` (the file's SHA-256) and `X-Linked-Size`; `/cdn/…` and `/raw/…` serve
//! the bytes with HTTP Range support. It counts the body bytes it sends, and per file it can drop
//! the connection halfway (once), serve a corrupted body, or never answer (a stall). One thread
//! per connection, `Connection: close`; stopped (and joined) on drop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// How a served file misbehaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// The first body response stops after this many bytes and the connection closes.
    DropOnceAfter(u64),
    /// Every body has one byte flipped (same length: only the digest can tell).
    Corrupt,
    /// Accept the request, never answer.
    Stall,
}

struct Served {
    path: PathBuf,
    sha256: String,
    fault: Fault,
    dropped: bool,
}

#[derive(Default)]
struct State {
    /// Where `resolve` redirects to (`None`: this server, relative `/cdn/…`).
    storage: Mutex<Option<String>>,
    /// `ORG/REPO/PATH` → file.
    files: Mutex<HashMap<String, Served>>,
    bytes: AtomicU64,
    /// Body bytes per key.
    per_file: Mutex<HashMap<String, u64>>,
    /// Request lines with their Authorization header, in arrival order.
    log: Mutex<Vec<(String, Option<String>)>>,
}

pub struct HubServer {
    pub port: u16,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl HubServer {
    pub fn start() -> HubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (s, st) = (s.clone(), st.clone());
                        workers.push(std::thread::spawn(move || handle(conn, &s, &st)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        HubServer {
            port,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT` (what HF_ENDPOINT is set to).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Serves `file` as `ORG/REPO/PATH` (`key`).
    /// Files over 64 MiB (the sparse header-only models) are not hashed: their resolve answer
    /// has no `X-Linked-Etag`, as the hub's has none for a file outside LFS.
    pub fn add(&self, key: &str, file: &Path, fault: Fault) {
        let small = std::fs::metadata(file).is_ok_and(|m| m.len() <= 64 << 20);
        let sha256 = if small {
            sha256_file(file)
        } else {
            String::new()
        };
        self.state.files.lock().unwrap().insert(
            key.to_string(),
            Served {
                path: file.to_path_buf(),
                sha256,
                fault,
                dropped: false,
            },
        );
    }

    /// Redirect `resolve` to another server (`http://127.0.0.1:PORT`), as the hub redirects to
    /// its storage host.
    pub fn redirect_to(&self, origin: &str) {
        *self.state.storage.lock().unwrap() = Some(origin.to_string());
    }

    /// Body bytes sent so far, all files.
    pub fn bytes_served(&self) -> u64 {
        self.state.bytes.load(Ordering::SeqCst)
    }

    /// Body bytes sent for `key`.
    pub fn bytes_for(&self, key: &str) -> u64 {
        *self.state.per_file.lock().unwrap().get(key).unwrap_or(&0)
    }

    /// Request lines and their Authorization header.
    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.log.lock().unwrap().clone()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

pub fn sha256_file(path: &Path) -> String {
    let mut f = File::open(path).expect("open served file");
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).expect("hash");
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn handle(mut conn: TcpStream, state: &State, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((target, headers)) = read_request(&conn) else {
        return;
    };
    let auth = headers.get("authorization").cloned();
    state
        .log
        .lock()
        .unwrap()
        .push((format!("GET {target}"), auth));
    let parts: Vec<&str> = target.trim_start_matches('/').splitn(5, '/').collect();
    match parts.as_slice() {
        [org, repo, "resolve", _rev, path] => {
            let key = format!("{org}/{repo}/{path}");
            let files = state.files.lock().unwrap();
            match files.get(&key) {
                Some(f) => {
                    let size = std::fs::metadata(&f.path).map_or(0, |m| m.len());
                    let storage = state.storage.lock().unwrap().clone().unwrap_or_default();
                    let etag = if f.sha256.is_empty() {
                        String::new()
                    } else {
                        format!("X-Linked-Etag: \"{}\"\r\n", f.sha256)
                    };
                    let head = format!(
                        "HTTP/1.1 302 Found\r\nLocation: {storage}/cdn/{key}\r\n{etag}X-Linked-Size: {size}\r\nETag: \"0123456789abcdef0123456789abcdef01234567\"\r\nX-Repo-Commit: 0000000000000000000000000000000000000000\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = conn.write_all(head.as_bytes());
                }
                None => not_found(&mut conn),
            }
        }
        ["cdn" | "raw", rest @ ..] => {
            let key = rest.join("/");
            serve(&mut conn, state, stop, &key, headers.get("range"));
        }
        _ => not_found(&mut conn),
    }
    let _ = conn.shutdown(Shutdown::Both);
}

fn not_found(conn: &mut TcpStream) {
    let body = "Entry not found";
    let _ = write!(
        conn,
        "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn read_request(conn: &TcpStream) -> Option<(String, HashMap<String, String>)> {
    let mut r = BufReader::new(conn.try_clone().ok()?).take(16 * 1024);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    Some((target, headers))
}

/// `bytes=A-B` / `bytes=A-` against `len`.
fn parse_range(v: &str, len: u64) -> Option<(u64, u64)> {
    let (a, b) = v.strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = a.parse().ok()?;
    let end = if b.is_empty() {
        len.checked_sub(1)?
    } else {
        b.parse::<u64>().ok()?.min(len.checked_sub(1)?)
    };
    (start <= end).then_some((start, end))
}

fn serve(
    conn: &mut TcpStream,
    state: &State,
    stop: &AtomicBool,
    key: &str,
    range: Option<&String>,
) {
    let (path, fault) = {
        let mut files = state.files.lock().unwrap();
        let Some(f) = files.get_mut(key) else {
            drop(files);
            return not_found(conn);
        };
        let fault = match f.fault {
            Fault::DropOnceAfter(_) if f.dropped => Fault::None,
            other => other,
        };
        (f.path.clone(), fault)
    };
    if fault == Fault::Stall {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    let Ok(mut file) = File::open(&path) else {
        return not_found(conn);
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let (status, start, end) = match range.and_then(|r| parse_range(r, len)) {
        Some((s, e)) => ("206 Partial Content", s, e),
        None if range.is_some() => {
            let _ = write!(
                conn,
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return;
        }
        None => ("200 OK", 0, len.saturating_sub(1)),
    };
    let n = if len == 0 { 0 } else { end - start + 1 };
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {n}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n"
    );
    if status.starts_with("206") {
        head.push_str(&format!("Content-Range: bytes {start}-{end}/{len}\r\n"));
    }
    head.push_str("\r\n");
    if conn.write_all(head.as_bytes()).is_err() {
        return;
    }
    // The drop hits the first response long enough to be cut (not a probe's single byte).
    let limit = match fault {
        Fault::DropOnceAfter(k) if n > k => {
            if let Some(f) = state.files.lock().unwrap().get_mut(key) {
                f.dropped = true;
            }
            k
        }
        _ => n,
    };
    let _ = file.seek(SeekFrom::Start(start));
    let mut sent = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    while sent < limit {
        let want = buf.len().min((limit - sent) as usize);
        let Ok(k) = file.read(&mut buf[..want]) else {
            break;
        };
        if k == 0 {
            break;
        }
        if fault == Fault::Corrupt {
            // Flip the byte at the middle of the file, if this chunk holds it.
            let mid = len / 2;
            let at = start + sent;
            if (at..at + k as u64).contains(&mid) {
                buf[(mid - at) as usize] ^= 0xff;
            }
        }
        if conn.write_all(&buf[..k]).is_err() {
            break;
        }
        sent += k as u64;
    }
    state.bytes.fetch_add(sent, Ordering::SeqCst);
    *state
        .per_file
        .lock()
        .unwrap()
        .entry(key.to_string())
        .or_default() += sent;
}
