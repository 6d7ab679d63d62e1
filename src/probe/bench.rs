//! Throughput, like iperf3: streams of `discard` frames to a frame server
//! (or its `get` with reverse), counted per interval and in total; and
//! request/response rate against an echo server (`--rr`).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::FrameClient;
use crate::{Error, Result};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to send.
    pub duration: Duration,
    /// Parallel connections.
    pub streams: usize,
    /// Bytes per `discard` frame, or per request with `rr`.
    pub size: usize,
    /// Receive from the server's `get` instead of sending.
    pub reverse: bool,
    /// The file `get` sends (reverse); default: the largest listed.
    pub name: Option<String>,
    /// Request/response round trips against an echo server.
    pub rr: bool,
    /// How often to report.
    pub interval: Duration,
    /// Connect and reply timeout.
    pub timeout: Duration,
}

/// Traffic over one interval (or the whole run).
#[derive(Debug, Clone, Serialize)]
pub struct Interval {
    /// Seconds from the start.
    pub start: f64,
    /// Seconds from the start.
    pub end: f64,
    /// Seconds covered.
    pub seconds: f64,
    /// Payload bytes moved.
    pub bytes: u64,
    /// Payload bits per second.
    pub bits_per_second: f64,
    /// Round trips completed (rr).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trips: Option<u64>,
    /// Round trips per second (rr).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trips_per_second: Option<f64>,
}

impl Interval {
    fn new(start: f64, end: f64, bytes: u64, trips: Option<u64>) -> Interval {
        let seconds = (end - start).max(0.0);
        let per = |x: f64| if seconds > 0.0 { x / seconds } else { 0.0 };
        Interval {
            start,
            end,
            seconds,
            bytes,
            bits_per_second: per(bytes as f64 * 8.0),
            round_trips: trips,
            round_trips_per_second: trips.map(|t| per(t as f64)),
        }
    }
}

/// A finished run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server.
    pub target: SocketAddr,
    /// `send` (to discard), `reverse` (from get), or `rr` (echo round trips).
    pub mode: &'static str,
    /// Parallel connections.
    pub streams: usize,
    /// Bytes per frame or request.
    pub size: usize,
    /// The file received (reverse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Each interval.
    pub intervals: Vec<Interval>,
    /// The whole run: for `send`, bytes the server confirmed over the
    /// time to its last confirmation.
    pub total: Interval,
}

/// Shared counters of a run.
#[derive(Default)]
struct Counters {
    bytes: AtomicU64,
    trips: AtomicU64,
    done: AtomicBool,
}

/// Runs the benchmark; `on_interval` sees each interval as it ends.
///
/// # Errors
/// The first connection fails, or (reverse) the server has no file.
pub fn run(
    target: SocketAddr,
    opts: &Options,
    stop: &AtomicBool,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<Report> {
    let streams = opts.streams.max(1);
    let counters = Arc::new(Counters::default());
    let mut file = None;
    let mode = if opts.rr {
        "rr"
    } else if opts.reverse {
        "reverse"
    } else {
        "send"
    };
    if opts.reverse && !opts.rr {
        let name = match &opts.name {
            Some(n) => n.clone(),
            None => largest_file(target, opts.timeout)?,
        };
        prime(target, &name)?;
        file = Some(name);
    }
    // every stream connects before the clock starts; a failure stops all
    let start = Instant::now();
    let confirmed = Arc::new(Mutex::new((0u64, start)));
    let workers: Vec<std::thread::JoinHandle<Result<()>>> = if opts.rr {
        vec![rr_worker(target, opts, streams, &counters)?]
    } else {
        let mut v = Vec::new();
        for _ in 0..streams {
            let c = FrameClient::connect(target, opts.timeout)?;
            let counters = Arc::clone(&counters);
            let confirmed = Arc::clone(&confirmed);
            let size = opts.size.max(1);
            let name = file.clone();
            v.push(std::thread::spawn(move || match name {
                Some(name) => receive(c, &name, &counters),
                None => send(c, size, &counters, &confirmed),
            }));
        }
        v
    };
    let mut intervals = Vec::new();
    let mut last = (0.0, 0u64, 0u64);
    let end = start + opts.duration;
    let mut tick = start + opts.interval;
    loop {
        let now = Instant::now();
        let finished = stop.load(Ordering::Relaxed)
            || now >= end
            || workers.iter().all(std::thread::JoinHandle::is_finished);
        if now >= tick || finished {
            let t = crate::model::secs(now.duration_since(start));
            let bytes = counters.bytes.load(Ordering::Relaxed);
            let trips = counters.trips.load(Ordering::Relaxed);
            if t > last.0 + 1e-3 {
                let iv =
                    Interval::new(last.0, t, bytes - last.1, opts.rr.then_some(trips - last.2));
                on_interval(&iv);
                intervals.push(iv);
            }
            last = (t, bytes, trips);
            tick += opts.interval;
        }
        if finished {
            break;
        }
        let next = tick.min(end);
        std::thread::sleep(
            next.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50)),
        );
    }
    counters.done.store(true, Ordering::Relaxed);
    let mut first_err = None;
    for w in workers {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err.get_or_insert(Error::Protocol("a stream's thread failed".into()));
            }
        }
    }
    let total = if mode == "send" {
        let (bytes, at) = *confirmed
            .lock()
            .map_err(|_| Error::Protocol("lock".into()))?;
        Interval::new(
            0.0,
            crate::model::secs(at.duration_since(start)),
            bytes,
            None,
        )
    } else {
        let t = crate::model::secs(start.elapsed()).min(last.0.max(1e-9));
        Interval::new(
            0.0,
            t,
            counters.bytes.load(Ordering::Relaxed),
            opts.rr.then(|| counters.trips.load(Ordering::Relaxed)),
        )
    };
    if total.bytes == 0 {
        if let Some(e) = first_err {
            return Err(e);
        }
    }
    Ok(Report {
        target,
        mode,
        streams,
        size: opts.size,
        file,
        intervals,
        total,
    })
}

fn largest_file(target: SocketAddr, timeout: Duration) -> Result<String> {
    let mut c = FrameClient::connect(target, timeout)?;
    c.list()?
        .into_iter()
        .max_by_key(|e| e.size)
        .map(|e| e.name)
        .ok_or_else(|| {
            Error::Usage(format!(
                "{target} has no file to send: put one first (netray file put {target} FILE)"
            ))
        })
}

/// Asks for the file once before the clock starts: the server hashes a
/// file before its first `get` (then keeps the hash), which would
/// otherwise count as seconds without bytes.
fn prime(target: SocketAddr, name: &str) -> Result<()> {
    let mut c = FrameClient::connect(target, Duration::from_secs(5))?;
    c.set_timeout(Some(Duration::from_secs(120)))?;
    let h = c.request("get", 0).with("name", name);
    c.send(&h, &[])?;
    c.expect("file")?;
    // hanging up mid-body is fine: only the hash was wanted
    Ok(())
}

/// One sending stream: `discard` frames back to back, while a second
/// thread reads the server's `ok`s.
fn send(
    mut c: FrameClient,
    size: usize,
    counters: &Counters,
    confirmed: &Mutex<(u64, Instant)>,
) -> Result<()> {
    let mut wr = c.writer()?;
    c.set_timeout(None)?;
    // a pattern, not zeros, so nothing on the path can shortcut it
    let piece: Vec<u8> = (0..size.min(1 << 20)).map(|i| (i % 251) as u8).collect();
    std::thread::scope(|s| {
        let reader = s.spawn(move || -> Result<()> {
            loop {
                match c.read_header() {
                    Ok(h) if h.op() == "ok" => {
                        let n = h.u64("bytes").unwrap_or(0);
                        if let Ok(mut g) = confirmed.lock() {
                            g.0 += n;
                            g.1 = Instant::now();
                        }
                    }
                    Ok(h) => {
                        return Err(Error::Protocol(format!(
                            "{} answered {:?} to discard",
                            c.peer(),
                            h.op()
                        )))
                    }
                    // the server closed after our write side did: done
                    Err(Error::Protocol(m)) if m.contains("without an answer") => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        });
        let mut id = 1i64;
        let written = (|| -> std::io::Result<()> {
            while !counters.done.load(Ordering::Relaxed) {
                let mut h = crate::wire::frame::Header::new("discard", size as u64);
                h.set_id(Some(id));
                id += 1;
                wr.write_all(&h.encode())?;
                let mut left = size;
                while left > 0 {
                    let n = left.min(piece.len());
                    wr.write_all(&piece[..n])?;
                    counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
                    left -= n;
                }
            }
            wr.shutdown(std::net::Shutdown::Write)
        })();
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(Error::Protocol("reader thread failed".into())));
        written.map_err(|e| Error::io("sending", e))?;
        read
    })
}

/// One receiving stream: `get` the file again and again until the run ends.
fn receive(mut c: FrameClient, name: &str, counters: &Counters) -> Result<()> {
    c.set_timeout(Some(Duration::from_secs(30)))?;
    while !counters.done.load(Ordering::Relaxed) {
        let h = c.request("get", 0).with("name", name);
        c.send(&h, &[])?;
        let r = c.expect("file")?;
        let res = c.copy_body(r.size(), &mut |b| {
            counters.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
            if counters.done.load(Ordering::Relaxed) {
                // the run is over: stop reading mid-file and hang up
                Err(Error::Reported(0))
            } else {
                Ok(())
            }
        });
        match res {
            Ok(()) => {}
            Err(Error::Reported(0)) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Request/response: `streams` connections, each sending `size` bytes and
/// waiting for as many back, on one thread's event loop.
fn rr_worker(
    target: SocketAddr,
    opts: &Options,
    streams: usize,
    counters: &Arc<Counters>,
) -> Result<std::thread::JoinHandle<Result<()>>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the event loop", e))?;
    // connect all first, so a dead server fails the run at once
    let socks = rt.block_on(async {
        let mut v = Vec::with_capacity(streams);
        for _ in 0..streams {
            let s = tokio::time::timeout(opts.timeout, tokio::net::TcpStream::connect(target))
                .await
                .map_err(|_| {
                    Error::io(
                        format!("connecting to {target}"),
                        std::io::ErrorKind::TimedOut.into(),
                    )
                })?
                .map_err(|e| Error::io(format!("connecting to {target}"), e))?;
            drop(s.set_nodelay(true));
            v.push(s);
        }
        Ok::<_, Error>(v)
    })?;
    let size = opts.size.max(1);
    let counters = Arc::clone(counters);
    Ok(std::thread::spawn(move || {
        rt.block_on(async move {
            let mut set = tokio::task::JoinSet::new();
            for mut s in socks {
                let counters = Arc::clone(&counters);
                set.spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let msg = vec![b'x'; size];
                    let mut back = vec![0u8; size];
                    while !counters.done.load(Ordering::Relaxed) {
                        s.write_all(&msg).await?;
                        s.read_exact(&mut back).await?;
                        counters.trips.fetch_add(1, Ordering::Relaxed);
                        counters.bytes.fetch_add(size as u64, Ordering::Relaxed);
                    }
                    Ok::<_, std::io::Error>(())
                });
            }
            let mut first = None;
            while let Some(r) = set.join_next().await {
                if let Ok(Err(e)) = r {
                    first.get_or_insert(e);
                }
            }
            first.map_or(Ok(()), |e| {
                Err(Error::io(format!("round trips with {target}"), e))
            })
        })
    }))
}
