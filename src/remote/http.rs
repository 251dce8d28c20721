//! The HTTP client of remote headers and `pull`: ureq with a timeout on every call, the hub's
//! redirects followed by hand so the LFS headers of the first response are kept, and `HF_TOKEN`
//! sent to the hub endpoint only (never to the storage host the hub redirects to).

use std::io::Read;
use std::time::Duration;

use super::{RemoteError, Source};

/// How long a connection, a DNS lookup or one read may take before the call fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;

/// An HTTP client for one hub endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    token: Option<String>,
}

/// What one ranged GET says about a remote file before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The URL after redirects (where the bytes are).
    pub url: String,
    /// Total length of the file.
    pub size: u64,
    /// The hub's LFS object id: the file's SHA-256 (`X-Linked-Etag`, or the hub's own `ETag`).
    pub sha256: Option<String>,
}

impl Client {
    /// `HF_ENDPOINT` (default https://huggingface.co) and `HF_TOKEN` as huggingface_hub reads
    /// them; `PROFILEC_HTTP_TIMEOUT` (seconds) overrides the timeout.
    pub fn from_env() -> Client {
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| super::source::DEFAULT_ENDPOINT.to_string());
        let token = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty());
        let timeout = std::env::var("PROFILEC_HTTP_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0 && s.is_finite())
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);
        Client::new(&endpoint, token, timeout)
    }

    pub fn new(endpoint: &str, token: Option<String>, timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_resolve(Some(timeout))
            .timeout_connect(Some(timeout))
            .timeout_send_request(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_per_read(Some(timeout))
            .user_agent(concat!("profilec/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The URL of `source` on this client's endpoint.
    pub fn url(&self, source: &Source) -> String {
        source.url(&self.endpoint)
    }

    /// Where `source`'s bytes are, its length and (from the hub) its SHA-256: one GET of its first
    /// byte, following redirects.
    pub fn probe(&self, source: &Source) -> Result<Probe, RemoteError> {
        let (url, response, sha256) = self.get_following(&self.url(source), 0)?;
        let size = match response.status().as_u16() {
            206 => content_range_total(&response).ok_or_else(|| RemoteError::Protocol {
                url: url.clone(),
                reason: "a 206 response without a `Content-Range: bytes A-B/TOTAL` header".into(),
            })?,
            _ => return Err(RemoteError::NoRange { url }),
        };
        Ok(Probe { url, size, sha256 })
    }

    /// GET `url` from byte `start` (to `end` inclusive, or the end of the file), following
    /// redirects; the body is the caller's to read. The status is 206, or 200 when `start` is 0
    /// and the server ignored the range.
    pub fn get_range(
        &self,
        url: &str,
        start: u64,
        end: Option<u64>,
    ) -> Result<(String, ureq::http::Response<ureq::Body>), RemoteError> {
        let range = match end {
            Some(end) => format!("bytes={start}-{end}"),
            None => format!("bytes={start}-"),
        };
        let (url, response, _) = self.get_with_range(url, &range)?;
        let status = response.status().as_u16();
        let starts_right = status == 206
            && content_range_start(&response).is_some_and(|s| s == start)
            || status == 200 && start == 0;
        if !starts_right {
            return Err(RemoteError::NoRange { url });
        }
        Ok((url, response))
    }

    fn get_following(
        &self,
        url: &str,
        start: u64,
    ) -> Result<(String, ureq::http::Response<ureq::Body>, Option<String>), RemoteError> {
        self.get_with_range(url, &format!("bytes={start}-{start}"))
    }

    fn get_with_range(
        &self,
        url: &str,
        range: &str,
    ) -> Result<(String, ureq::http::Response<ureq::Body>, Option<String>), RemoteError> {
        let mut url = url.to_string();
        let mut sha256 = None;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.agent.get(&url).header("Range", range);
            if let Some(token) = &self.token
                && same_origin(&url, &self.endpoint)
            {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            let response = request.call().map_err(|e| transport_error(&url, e))?;
            let from_hub = same_origin(&url, &self.endpoint);
            // huggingface_hub (file_download.py, get_hf_file_metadata): X-Linked-Etag on the
            // redirect, else the hub's own ETag; only a 64-hex value is an LFS SHA-256.
            for name in ["x-linked-etag", "etag"] {
                if sha256.is_none()
                    && (name == "x-linked-etag" || from_hub)
                    && let Some(v) = header(&response, name)
                {
                    sha256 = lfs_sha256(v);
                }
            }
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                let Some(location) = header(&response, "location") else {
                    return Err(RemoteError::Protocol {
                        url,
                        reason: format!("redirect {status} without a Location header"),
                    });
                };
                url = join_location(&url, location);
                continue;
            }
            return match status {
                200 | 206 => Ok((url, response, sha256)),
                _ => Err(status_error(url, status, response)),
            };
        }
        Err(RemoteError::Protocol {
            url,
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }
}

fn header<'a>(r: &'a ureq::http::Response<ureq::Body>, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `"abc…"` or `W/"abc…"` → the hex digest, when it is a SHA-256 (LFS) and not a git SHA-1.
fn lfs_sha256(etag: &str) -> Option<String> {
    let v = etag.trim().trim_start_matches("W/").trim_matches('"');
    (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())).then(|| v.to_ascii_lowercase())
}

fn content_range(r: &ureq::http::Response<ureq::Body>) -> Option<(u64, u64)> {
    let v = header(r, "content-range")?.strip_prefix("bytes ")?;
    let (span, total) = v.split_once('/')?;
    let (start, _) = span.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()?))
}

fn content_range_total(r: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    content_range(r).map(|(_, total)| total)
}

fn content_range_start(r: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    content_range(r).map(|(start, _)| start)
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

fn same_origin(url: &str, endpoint: &str) -> bool {
    origin(url).eq_ignore_ascii_case(origin(endpoint))
}

/// A Location header resolved against the URL that sent it (the hub sends relative ones for
/// renamed repositories).
fn join_location(base: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_string()
    } else if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        let dir = base.rsplit_once('/').map_or(base, |(d, _)| d);
        format!("{dir}/{location}")
    }
}

fn status_error(
    url: String,
    status: u16,
    response: ureq::http::Response<ureq::Body>,
) -> RemoteError {
    // A short excerpt of the body helps with a hub error message; never more than 300 bytes.
    let mut excerpt = Vec::new();
    let _ = response
        .into_body()
        .into_reader()
        .take(300)
        .read_to_end(&mut excerpt);
    let excerpt = String::from_utf8_lossy(&excerpt)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match status {
        404 => RemoteError::NotFound { url },
        401 | 403 => RemoteError::Unauthorized { url, status },
        _ => RemoteError::Status {
            url,
            status,
            excerpt,
        },
    }
}

pub(crate) fn transport_error(url: &str, e: ureq::Error) -> RemoteError {
    let url = url.to_string();
    match e {
        ureq::Error::Timeout(_) => RemoteError::Timeout { url },
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            RemoteError::Timeout { url }
        }
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => RemoteError::Unreachable {
            url,
            reason: e.to_string(),
        },
        ureq::Error::Io(io) => RemoteError::Unreachable {
            url,
            reason: io.to_string(),
        },
        other => RemoteError::Protocol {
            url,
            reason: other.to_string(),
        },
    }
}
