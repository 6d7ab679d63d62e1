//! Probe servers and clients: TCP and UDP servers in several modes, the
//! framing protocol v1 (docs/protocol.md), file transfer, allow-listed
//! remote commands, and latency and throughput probes.
//!
//! The servers run on tokio (every connection a task, so no client ever
//! blocks another); the clients are plain blocking sockets, one thread per
//! stream, since each talks to one peer at a time. Both share the frame
//! header of [`crate::wire::frame`].
//!
//! Domains do not print: servers report [`Event`]s through a channel and
//! clients return reports (or call a callback per probe) for `output`.

pub mod bench;
pub mod client;
mod exec;
pub mod files;
mod io;
mod ops;
pub mod ping;
pub mod server;
pub mod state;
pub mod udp;

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use serde::Serialize;

/// What a server does with what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Framing protocol v1 (TCP only).
    Frame,
    /// Bytes back as they come.
    Echo,
    /// Bytes back with ASCII letters upper-cased.
    Upper,
    /// Swallow and count.
    Discard,
}

impl Mode {
    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Frame => "frame",
            Mode::Echo => "echo",
            Mode::Upper => "upper",
            Mode::Discard => "discard",
        }
    }
}

/// A server's limits: every one configurable, every default safe.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest frame header accepted (bytes, at most 65536).
    pub max_header: u32,
    /// Largest `echo` body.
    pub max_echo: u64,
    /// Largest file a `put` may store.
    pub max_file: u64,
    /// Connections served at once; one more gets `busy`.
    pub max_conns: usize,
    /// Connections served at once from one address (IPv6: one /64); one
    /// more gets `busy`. 0: no per-address limit.
    pub max_per_addr: usize,
    /// A connection that sends nothing for this long is closed (`timeout`).
    pub idle: Duration,
    /// A frame header must arrive whole within this, from its first byte.
    pub header_timeout: Duration,
    /// A body must arrive at this many bytes per second at least, judged
    /// over each 10 s; 0: no minimum.
    pub min_rate: u64,
    /// Wall-clock limit of an `exec`.
    pub exec_timeout: Duration,
    /// Bytes kept of each of an `exec`'s stdout and stderr.
    pub exec_output: usize,
    /// On Ctrl-C/SIGTERM, how long transfers in flight may go on.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header: crate::wire::frame::MAX_HEADER,
            max_echo: 64 << 20,
            max_file: 64 << 30,
            max_conns: 1024,
            max_per_addr: 64,
            idle: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            min_rate: 1024,
            exec_timeout: Duration::from_secs(10),
            exec_output: 1 << 20,
            grace: Duration::from_secs(5),
        }
    }
}

/// One thing a server reports: a line on stderr, or an NDJSON object.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The server is up.
    Listening {
        /// `tcp` or `udp`.
        proto: &'static str,
        /// The bound address (with the port the kernel chose for port 0).
        addr: SocketAddr,
        /// The mode.
        mode: Mode,
    },
    /// A connection was accepted.
    Open {
        /// The client.
        peer: SocketAddr,
    },
    /// A connection ended.
    Close {
        /// The client.
        peer: SocketAddr,
        /// Bytes received from it.
        bytes_in: u64,
        /// Bytes sent to it.
        bytes_out: u64,
        /// Frames received (frame mode).
        #[serde(skip_serializing_if = "Option::is_none")]
        frames: Option<u64>,
        /// How long it lasted.
        duration_ms: f64,
        /// How it ended: `eof`, `reset`, `idle timeout`, `shutdown`, or the
        /// protocol error.
        end: String,
    },
    /// A connection refused at the connection limit.
    Busy {
        /// The client.
        peer: SocketAddr,
    },
    /// A UDP peer sent its first datagram.
    Peer {
        /// The sender.
        peer: SocketAddr,
    },
    /// The server stopped (Ctrl-C/SIGTERM).
    Summary(Summary),
}

/// A server's totals, given when it stops.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Connections accepted (TCP) or distinct peers seen (UDP).
    pub connections: u64,
    /// Connections refused at the limit.
    pub busy: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Datagrams received (UDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datagrams: Option<u64>,
    /// Datagrams over the size limit, not answered (UDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oversized: Option<u64>,
    /// Connections still running when the grace period ended, cut.
    pub cut: u64,
    /// Seconds the server ran.
    pub seconds: f64,
}

/// Resolves `HOST:PORT` (or `[v6]:PORT`) to its first address.
///
/// # Errors
/// A usage error naming the input.
pub fn resolve(target: &str) -> crate::Result<SocketAddr> {
    if let Ok(a) = target.parse::<SocketAddr>() {
        return Ok(a);
    }
    let mut addrs = target.to_socket_addrs().map_err(|e| {
        crate::Error::Usage(format!(
            "{target:?} is not HOST:PORT ({e}); examples: 127.0.0.1:7000, [::1]:7000, localhost:7000"
        ))
    })?;
    addrs
        .next()
        .ok_or_else(|| crate::Error::Usage(format!("{target:?} resolves to no address")))
}

/// SHA-256 as lower-case hex.
pub fn sha256_hex(h: sha2::Sha256) -> String {
    use sha2::Digest;
    crate::wire::frame::hex(&h.finalize())
}

/// Whether a string is 64 lower- or upper-case hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc() {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"abc");
        let hex = sha256_hex(h);
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256(&hex));
        assert!(!is_sha256("abc"));
    }

    #[test]
    fn targets() {
        assert_eq!(resolve("127.0.0.1:7").unwrap().port(), 7);
        assert!(resolve("[::1]:9").unwrap().is_ipv6());
        assert!(resolve("127.0.0.1").is_err());
    }
}
