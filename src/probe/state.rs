//! What every connection of a TCP server shares: the limits, the file
//! root, the commands exec may run, and the byte counts. Its own module so
//! that the server (which makes it) and the operations (which read it)
//! both depend on it, not on each other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

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

/// A connection as the server sees it when it is full: waiting for a
/// header (and since when), or working; and the bell that tells it to
/// make room.
#[derive(Debug)]
pub struct Place {
    base: Instant,
    /// Milliseconds from `base` when it began to wait, plus one; 0 while
    /// it works on a request.
    waiting_since: AtomicU64,
    /// Rung to close this connection while it waits.
    pub kick: Notify,
}

impl Place {
    /// It waits for a header from now.
    pub fn waiting(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.waiting_since.store(ms + 1, Ordering::Relaxed);
    }

    /// It works on a request (never evicted).
    pub fn working(&self) {
        self.waiting_since.store(0, Ordering::Relaxed);
    }

    /// How long it has waited, if it waits.
    fn waited(&self) -> Option<Duration> {
        match self.waiting_since.load(Ordering::Relaxed) {
            0 => None,
            t => Some(
                self.base
                    .elapsed()
                    .saturating_sub(Duration::from_millis(t - 1)),
            ),
        }
    }
}

/// Every connection's [`Place`], so that a full server can evict the one
/// that has waited longest for a header instead of refusing a newcomer.
#[derive(Debug)]
pub struct Places {
    base: Instant,
    list: Mutex<Vec<Weak<Place>>>,
}

impl Places {
    /// An empty register.
    pub fn new() -> Self {
        Places {
            base: Instant::now(),
            list: Mutex::new(Vec::new()),
        }
    }

    /// A place for a new connection (waiting for its first header).
    pub fn add(&self) -> Arc<Place> {
        let p = Arc::new(Place {
            base: self.base,
            waiting_since: AtomicU64::new(0),
            kick: Notify::new(),
        });
        p.waiting();
        let mut list = self
            .list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if list.len() >= 64 && list.len().is_power_of_two() {
            list.retain(|w| w.strong_count() > 0);
        }
        list.push(Arc::downgrade(&p));
        p
    }

    /// Rings the connection that has waited longest for a header, if it
    /// has waited at least `min`; true when one was rung.
    pub fn evict_oldest_waiting(&self, min: Duration) -> bool {
        let mut list = self
            .list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.retain(|w| w.strong_count() > 0);
        let oldest = list
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|p| p.waited().map(|w| (w, p)))
            .filter(|(w, _)| *w >= min)
            .max_by_key(|(w, _)| *w);
        match oldest {
            Some((_, p)) => {
                // so that it is not rung twice
                p.working();
                p.kick.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Default for Places {
    fn default() -> Self {
        Self::new()
    }
}
