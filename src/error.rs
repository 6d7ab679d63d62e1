//! The crate-wide error and its exit codes.
//!
//! Every failure a user can meet ends up here, and `exit_code()` is the only
//! place that decides the process status (see docs/exit-codes.md):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success, or a positive answer |
//! | 1 | a clean negative answer (outside, different subnet, no line matched) |
//! | 2 | usage error: bad arguments or bad input values |
//! | 3 | missing privilege (raw sockets) |
//! | 4 | I/O, network or protocol failure |

use std::io;
use std::path::PathBuf;

use crate::capture::ReadError;
use crate::subnet::SubnetError;

/// Exit status for a clean negative answer.
pub const EXIT_NEGATIVE: u8 = 1;
/// Exit status for a usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status for missing privilege.
pub const EXIT_PRIVILEGE: u8 = 3;
/// Exit status for I/O, network or protocol failures.
pub const EXIT_IO: u8 = 4;

/// Any error netray reports to a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad subnet input (addresses, prefixes, masks, ranges).
    #[error(transparent)]
    Subnet(#[from] SubnetError),
    /// A usage error found after argument parsing.
    #[error("{0}")]
    Usage(String),
    /// An operation needs privileges the process does not have. The
    /// message names the capability the failing call needs and how to
    /// grant it (see [`Error::raw_privilege`], [`Error::port_privilege`]).
    #[error("{what} needs {cap}: {how}")]
    Privilege {
        /// What was attempted.
        what: String,
        /// The capability the failing call needs (`CAP_NET_RAW`, ...).
        cap: &'static str,
        /// How to get it, in words, with the command.
        how: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A capture file that cannot be read.
    #[error("{path}: {source}")]
    Capture {
        /// The file (`-` for stdin).
        path: String,
        /// What went wrong.
        source: ReadError,
    },
    /// A frame server answered with an `error` frame.
    #[error("{server} answered {code}: {message}")]
    Remote {
        /// The server.
        server: String,
        /// The protocol's error code (`not_found`, `forbidden`, ...).
        code: String,
        /// The server's message.
        message: String,
    },
    /// A peer broke the protocol (or a check such as a SHA-256 failed).
    #[error("{0}")]
    Protocol(String),
    /// Failures that were already reported on stderr as they happened;
    /// only the exit status is left to give.
    #[error("failures reported above")]
    Reported(u8),
    /// Any other I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Subnet(_) | Error::Usage(_) => EXIT_USAGE,
            Error::Privilege { .. } => EXIT_PRIVILEGE,
            Error::File { .. }
            | Error::Io { .. }
            | Error::Capture { .. }
            | Error::Remote { .. }
            | Error::Protocol(_) => EXIT_IO,
            Error::Reported(code) => *code,
        }
    }

    /// Missing CAP_NET_RAW (raw and packet sockets), with the setcap hint.
    pub fn raw_privilege(what: impl Into<String>) -> Self {
        Error::Privilege {
            what: what.into(),
            cap: "CAP_NET_RAW",
            how: format!(
                "run with sudo, or grant it once with `sudo setcap cap_net_raw,cap_net_admin+ep {}`",
                exe_path()
            ),
        }
    }

    /// Missing CAP_NET_BIND_SERVICE (a TCP or UDP port below the first
    /// unprivileged one), with both fixes: the capability or the sysctl.
    pub fn port_privilege(what: impl Into<String>, port: u16) -> Self {
        Error::Privilege {
            what: what.into(),
            cap: "CAP_NET_BIND_SERVICE",
            how: format!(
                "run with sudo, grant it once with `sudo setcap cap_net_bind_service+ep {}`, \
                 lower the first unprivileged port with `sudo sysctl net.ipv4.ip_unprivileged_port_start={port}`, \
                 or use a port from 1024 up",
                exe_path()
            ),
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// True when the error is a closed pipe on output (`netray ... | head`),
    /// which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io { source, .. }
            | Error::File { source, .. }
            | Error::Capture {
                source: ReadError::Io(source),
                ..
            } => source.kind() == io::ErrorKind::BrokenPipe,
            _ => false,
        }
    }
}

/// The result type of netray's domains and handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The binary's path, for the setcap hints.
pub fn exe_path() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "netray".into())
}
