//! The TCP server: one listening socket (SO_REUSEADDR, a chosen backlog),
//! every connection a task of its own, a connection limit, an idle
//! timeout, and a graceful stop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::files::Root;
use super::io::{Conn, End, Pace};
use super::state::{Place, Places, State};
use super::{Event, Limits, Mode, Summary};
use crate::wire::frame::{ErrorCode, FrameError};
use crate::{Error, Result};

/// What a TCP server is asked to be.
#[derive(Debug, Clone)]
pub struct TcpConfig {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// The listen backlog.
    pub backlog: u32,
    /// What it does with connections.
    pub mode: Mode,
    /// The folder `put`, `get` and `list` work in (frame mode); none: off.
    pub root: Option<PathBuf>,
    /// Commands `exec` may run (frame mode); empty: off.
    pub allow_exec: Vec<String>,
    /// Limits.
    pub limits: Limits,
}

/// Opens the listening socket (SO_REUSEADDR, the backlog asked for).
/// Must be called inside a tokio runtime.
///
/// # Errors
/// The address is taken or not ours (exit 4), or the port needs privilege.
pub fn bind(addr: SocketAddr, backlog: u32) -> Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let fail = |e: std::io::Error| Error::io(format!("listening on {addr}"), e);
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(fail)?;
    s.set_reuse_address(true).map_err(fail)?;
    if addr.is_ipv6() {
        // [::] takes IPv4 too where the system allows it
        drop(s.set_only_v6(false));
    }
    s.set_nonblocking(true).map_err(fail)?;
    s.bind(&addr.into()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            Error::port_privilege(
                format!("listening on TCP port {}", addr.port()),
                addr.port(),
            )
        } else {
            fail(e)
        }
    })?;
    s.listen(i32::try_from(backlog).unwrap_or(i32::MAX))
        .map_err(fail)?;
    TcpListener::from_std(s.into()).map_err(fail)
}

/// Serves until `shutdown` turns true, then stops accepting, gives
/// connections in flight the grace period, and returns the totals.
/// Events go to `events` as they happen.
///
/// # Errors
/// The file root cannot be opened.
pub async fn serve(
    listener: TcpListener,
    cfg: TcpConfig,
    mut shutdown: watch::Receiver<bool>,
    events: Sender<Event>,
) -> Result<Summary> {
    let root = match &cfg.root {
        Some(dir) => Some(Arc::new(Root::new(dir).map_err(|e| Error::File {
            path: dir.clone(),
            source: e,
        })?)),
        None => None,
    };
    let st = Arc::new(State {
        limits: cfg.limits.clone(),
        root,
        allow_exec: cfg.allow_exec.clone(),
        mode: cfg.mode,
        bytes_in: AtomicU64::new(0),
        bytes_out: AtomicU64::new(0),
    });
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the bound address", e))?;
    drop(events.send(Event::Listening {
        proto: "tcp",
        addr,
        mode: cfg.mode,
    }));
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(cfg.limits.max_conns));
    let per_addr = PerAddr::new(cfg.limits.max_per_addr);
    let places = Arc::new(Places::new());
    // newcomers that waited for an evicted connection's slot in vain
    let late_busy = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    let mut summary = Summary::default();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => break,
            // reap finished tasks so the set stays small
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(v) => v,
            // out of descriptors, a connection reset before accept: go on
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
        };
        // one address cannot take more than its share of the slots
        let Some(mine) = per_addr.take(peer.ip()) else {
            summary.busy += 1;
            drop(events.send(Event::Busy { peer }));
            if st.mode == Mode::Frame {
                let why = format!(
                    "{} connections from your address are open, the limit for one address; try again later",
                    cfg.limits.max_per_addr
                );
                tasks.spawn(busy(stream, why));
            }
            continue;
        };
        let full_why = || {
            format!(
                "the server is at its limit of {} connections; try again later",
                st.limits.max_conns
            )
        };
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(p) => Some(p),
            // full: the connection that has waited longest for a header
            // (a second at least) makes room, so a peer that holds slots
            // without sending requests cannot lock others out
            Err(_) if st.mode == Mode::Frame && places.evict_oldest_waiting(EVICT_AFTER) => None,
            Err(_) => {
                summary.busy += 1;
                drop(events.send(Event::Busy { peer }));
                if st.mode == Mode::Frame {
                    tasks.spawn(busy(stream, full_why()));
                }
                continue;
            }
        };
        summary.connections += 1;
        let (st, events, shutdown) = (Arc::clone(&st), events.clone(), shutdown.clone());
        let (slots, place, late_busy) = (Arc::clone(&slots), places.add(), Arc::clone(&late_busy));
        let why = full_why();
        tasks.spawn(async move {
            let permit = match permit {
                Some(p) => p,
                // the evicted connection gives its slot back as it closes
                None => match tokio::time::timeout(EVICT_WAIT, slots.acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => {
                        late_busy.fetch_add(1, Ordering::Relaxed);
                        drop(events.send(Event::Busy { peer }));
                        busy(stream, why).await;
                        return;
                    }
                },
            };
            connection(stream, peer, st, &place, shutdown, events).await;
            drop(permit);
            drop(mine);
        });
    }
    drop(listener);
    // transfers in flight get the grace period, then are cut
    let grace = tokio::time::sleep(cfg.limits.grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            () = &mut grace => {
                summary.cut = tasks.len() as u64;
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        }
    }
    let late = late_busy.load(Ordering::Relaxed);
    summary.busy += late;
    summary.connections -= late;
    summary.bytes_in = st.bytes_in.load(Ordering::Relaxed);
    summary.bytes_out = st.bytes_out.load(Ordering::Relaxed);
    summary.seconds = crate::model::secs(started.elapsed());
    Ok(summary)
}

/// Connections open per address (IPv6 per /64, since one host commonly
/// holds a whole /64), for the per-address limit.
#[derive(Clone)]
struct PerAddr {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in [`PerAddr`], given back when dropped.
struct AddrSlot {
    key: Option<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddr {
    fn new(limit: usize) -> Self {
        PerAddr {
            limit,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn key(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        }
    }

    /// A place for one more connection from `ip`, unless it has its share.
    fn take(&self, ip: IpAddr) -> Option<AddrSlot> {
        if self.limit == 0 {
            return Some(AddrSlot {
                key: None,
                open: Arc::clone(&self.open),
            });
        }
        let key = Self::key(ip);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(key).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(AddrSlot {
            key: Some(key),
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&key);
            }
        }
    }
}

/// Tells a client over a limit, then closes.
async fn busy(stream: TcpStream, why: String) {
    let (r, w) = stream.into_split();
    let mut conn = Conn::new(r, w, Pace::idle(std::time::Duration::from_secs(1)));
    let e = FrameError::new(ErrorCode::Busy, why);
    drop(conn.send_error(&e, None).await);
    conn.finish().await;
}

/// A full server evicts only connections that have waited this long for
/// a header (a client that just connected is never the one to go).
const EVICT_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// How long a newcomer waits for the evicted connection's slot.
const EVICT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    st: Arc<State>,
    place: &Place,
    mut shutdown: watch::Receiver<bool>,
    events: Sender<Event>,
) {
    let start = Instant::now();
    drop(stream.set_nodelay(true));
    drop(events.send(Event::Open { peer }));
    let (r, w) = stream.into_split();
    let pace = match st.mode {
        Mode::Frame => Pace {
            idle: st.limits.idle,
            header: st.limits.header_timeout,
            min_rate: st.limits.min_rate,
        },
        _ => Pace::idle(st.limits.idle),
    };
    let mut conn = Conn::new(r, w, pace);
    let (end, frames) = match st.mode {
        Mode::Frame => {
            let (end, n) = super::ops::serve(&mut conn, &st, place, &mut shutdown).await;
            (end, Some(n))
        }
        Mode::Echo | Mode::Upper | Mode::Discard => (raw(&mut conn, st.mode).await, None),
    };
    if matches!(
        end,
        End::Idle | End::SlowHeader(_) | End::SlowBody(_) | End::Evicted
    ) && st.mode == Mode::Frame
    {
        let (code, why) = match &end {
            End::Idle => (
                ErrorCode::Timeout,
                format!("idle for {} s", st.limits.idle.as_secs_f64()),
            ),
            End::Evicted => (ErrorCode::Busy, end.to_string()),
            other => (ErrorCode::Timeout, other.to_string()),
        };
        drop(conn.send_error(&FrameError::new(code, why), None).await);
    }
    conn.finish().await;
    st.bytes_in.fetch_add(conn.bytes_in, Ordering::Relaxed);
    st.bytes_out.fetch_add(conn.bytes_out, Ordering::Relaxed);
    drop(events.send(Event::Close {
        peer,
        bytes_in: conn.bytes_in,
        bytes_out: conn.bytes_out,
        frames,
        duration_ms: crate::model::ms(start.elapsed()),
        end: end.to_string(),
    }));
}

/// echo, upper, discard: bytes as they come, until the peer closes.
async fn raw(conn: &mut super::ops::TcpConn, mode: Mode) -> End {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = match conn.read(&mut buf).await {
            Ok(0) => return End::Eof,
            Ok(n) => n,
            Err(end) => return end,
        };
        let out = &mut buf[..n];
        match mode {
            Mode::Discard => continue,
            Mode::Upper => out.make_ascii_uppercase(),
            Mode::Echo | Mode::Frame => {}
        }
        if let Err(end) = conn.write(out).await {
            return end;
        }
    }
}
