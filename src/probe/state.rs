//! What every connection of a TCP server shares: the limits, the file
//! root, the commands exec may run, and the byte counts. Its own module so
//! that the server (which makes it) and the operations (which read it)
//! both depend on it, not on each other.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::files::Root;
use super::{Limits, Mode};

/// What every connection task shares.
#[derive(Debug)]
pub struct State {
    /// Limits.
    pub limits: Limits,
    /// The file root, resolved once.
    pub root: Option<Arc<Root>>,
    /// Commands `exec` may run.
    pub allow_exec: Vec<String>,
    /// The server's mode.
    pub(super) mode: Mode,
    /// Bytes received, all connections.
    pub(super) bytes_in: AtomicU64,
    /// Bytes sent, all connections.
    pub(super) bytes_out: AtomicU64,
}
