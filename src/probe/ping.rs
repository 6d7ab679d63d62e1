//! Latency probes, like ping: TCP connect time, UDP echo round trips (with
//! sequence numbers, so loss, duplicates and reordering show), and frame
//! `ping` round trips; min/avg/max/mdev and loss at the end.

use crate::model::ms;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::{self, FrameClient};
use crate::{Error, Result};

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The TCP handshake (connect time); works against any TCP server.
    Tcp,
    /// A datagram to a UDP echo (or upper) server and back.
    Udp,
    /// A `ping` frame to a frame server and its `pong`.
    Frame,
}

/// How many probes, how often, how long to wait.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Probes to send (0: until stopped).
    pub count: u32,
    /// Time between probes.
    pub interval: Duration,
    /// How long a probe may take.
    pub timeout: Duration,
}

/// One probe's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    /// Sequence number, from 1.
    pub seq: u32,
    /// `ok`, `refused`, `timeout`, `duplicate`, or `error`.
    pub status: &'static str,
    /// Round trip (ok and duplicate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// Arrived after a later probe's answer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reordered: bool,
    /// What went wrong, for `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The run's summary, ping's last two lines.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was timed.
    pub kind: Kind,
    /// The server.
    pub target: SocketAddr,
    /// Probes sent.
    pub transmitted: u32,
    /// Probes answered (duplicates not counted).
    pub received: u32,
    /// Answers that came twice.
    pub duplicates: u32,
    /// Answers that came after a later probe's.
    pub reordered: u32,
    /// Share of probes unanswered, in percent.
    pub loss_percent: f64,
    /// Fastest round trip.
    pub min_ms: Option<f64>,
    /// Mean round trip.
    pub avg_ms: Option<f64>,
    /// Slowest round trip.
    pub max_ms: Option<f64>,
    /// Standard deviation, as ping computes it.
    pub mdev_ms: Option<f64>,
    /// Every probe.
    pub replies: Vec<Reply>,
}

impl Kind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
            Kind::Frame => "frame",
        }
    }
}

impl Report {
    fn new(kind: Kind, target: SocketAddr) -> Report {
        Report {
            kind,
            target,
            transmitted: 0,
            received: 0,
            duplicates: 0,
            reordered: 0,
            loss_percent: 0.0,
            min_ms: None,
            avg_ms: None,
            max_ms: None,
            mdev_ms: None,
            replies: Vec::new(),
        }
    }

    fn finish(mut self) -> Report {
        let rtts: Vec<f64> = self
            .replies
            .iter()
            .filter(|r| r.status == "ok")
            .filter_map(|r| r.rtt_ms)
            .collect();
        if !rtts.is_empty() {
            let n = rtts.len() as f64;
            let avg = rtts.iter().sum::<f64>() / n;
            let sq = rtts.iter().map(|r| r * r).sum::<f64>() / n;
            self.min_ms = rtts.iter().copied().reduce(f64::min);
            self.max_ms = rtts.iter().copied().reduce(f64::max);
            self.avg_ms = Some(avg);
            self.mdev_ms = Some((sq - avg * avg).max(0.0).sqrt());
        }
        if self.transmitted > 0 {
            self.loss_percent = f64::from(self.transmitted - self.received.min(self.transmitted))
                * 100.0
                / f64::from(self.transmitted);
        }
        self
    }
}

/// Runs the probes. `on_reply` sees each outcome as it happens (for live
/// output); `stop` ends the run early (Ctrl-C), with a summary.
///
/// # Errors
/// Only set-up failures (a UDP socket that cannot be made); a probe that
/// fails is an outcome, not an error.
pub fn run(
    kind: Kind,
    target: SocketAddr,
    opts: Options,
    stop: &AtomicBool,
    on_reply: &mut dyn FnMut(&Reply),
) -> Result<Report> {
    let mut report = Report::new(kind, target);
    match kind {
        Kind::Udp => udp(target, opts, stop, &mut report, on_reply)?,
        Kind::Tcp | Kind::Frame => {
            let mut conn: Option<FrameClient> = None;
            let mut seq = 0u32;
            while !stop.load(Ordering::Relaxed) && (opts.count == 0 || seq < opts.count) {
                seq += 1;
                let started = Instant::now();
                let reply = if kind == Kind::Tcp {
                    tcp_probe(target, seq, opts.timeout)
                } else {
                    frame_probe(&mut conn, target, seq, opts.timeout)
                };
                report.transmitted += 1;
                if reply.status == "ok" {
                    report.received += 1;
                }
                on_reply(&reply);
                report.replies.push(reply);
                if opts.count == 0 || seq < opts.count {
                    sleep_until(started + opts.interval, stop);
                }
            }
        }
    }
    Ok(report.finish())
}

/// Sleeps in short steps so that `stop` is seen promptly.
fn sleep_until(when: Instant, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= when {
            return;
        }
        std::thread::sleep((when - now).min(Duration::from_millis(50)));
    }
}

/// An answer that came, `rtt` after its probe.
fn answer(seq: u32, status: &'static str, rtt: Duration, reordered: bool) -> Reply {
    Reply {
        seq,
        status,
        rtt_ms: Some(ms(rtt)),
        reordered,
        detail: None,
    }
}

fn failed(seq: u32, status: &'static str, detail: Option<String>) -> Reply {
    Reply {
        seq,
        status,
        rtt_ms: None,
        reordered: false,
        detail,
    }
}

fn tcp_probe(target: SocketAddr, seq: u32, timeout: Duration) -> Reply {
    let start = Instant::now();
    match std::net::TcpStream::connect_timeout(&target, timeout) {
        Ok(s) => {
            let rtt = start.elapsed();
            drop(s);
            answer(seq, "ok", rtt, false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => failed(seq, "refused", None),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => failed(seq, "timeout", None),
        Err(e) => failed(seq, "error", Some(e.to_string())),
    }
}

fn frame_probe(
    conn: &mut Option<FrameClient>,
    target: SocketAddr,
    seq: u32,
    timeout: Duration,
) -> Reply {
    if conn.is_none() {
        match FrameClient::connect(target, timeout) {
            Ok(c) => *conn = Some(c),
            Err(e) => return failed(seq, "error", Some(e.to_string())),
        }
    }
    let Some(c) = conn.as_mut() else {
        return failed(seq, "error", None);
    };
    match c.ping() {
        Ok((rtt, _)) => answer(seq, "ok", rtt, false),
        Err(e) => {
            // the next probe starts on a fresh connection
            *conn = None;
            let status = match &e {
                Error::Io { source, .. }
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    "timeout"
                }
                _ => "error",
            };
            failed(seq, status, Some(e.to_string()))
        }
    }
}

/// The UDP probe's payload: a per-run token and the sequence number, in
/// ASCII so that an `upper` server's answer still parses.
fn payload(token: u64, seq: u32) -> String {
    format!("netray-ping {token:016x} {seq}")
}

fn parse_payload(b: &[u8], token: u64) -> Option<u32> {
    let s = std::str::from_utf8(b).ok()?.to_ascii_lowercase();
    let mut it = s.split(' ');
    (it.next()? == "netray-ping").then_some(())?;
    (u64::from_str_radix(it.next()?, 16).ok()? == token).then_some(())?;
    it.next()?.parse().ok()
}

fn udp(
    target: SocketAddr,
    opts: Options,
    stop: &AtomicBool,
    report: &mut Report,
    on_reply: &mut dyn FnMut(&Reply),
) -> Result<()> {
    let sock = client::udp_socket(target)?;
    let token = u64::from(std::process::id()) << 32
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
    let mut sent: HashMap<u32, Instant> = HashMap::new();
    let mut seen: HashMap<u32, u32> = HashMap::new();
    let mut highest = 0u32;
    let mut buf = vec![0u8; 65536];
    let mut seq = 0u32;
    let mut next_send = Instant::now();
    let mut last_send = Instant::now();
    loop {
        let sending_done = stop.load(Ordering::Relaxed) || (opts.count > 0 && seq >= opts.count);
        let now = Instant::now();
        if !sending_done && now >= next_send {
            seq += 1;
            let p = payload(token, seq);
            if let Err(e) = sock.send(p.as_bytes()) {
                let r = failed(seq, "error", Some(e.to_string()));
                on_reply(&r);
                report.replies.push(r);
            }
            sent.insert(seq, Instant::now());
            report.transmitted += 1;
            last_send = Instant::now();
            next_send = last_send + opts.interval;
            continue;
        }
        let deadline = if sending_done {
            // after the last probe, wait for stragglers up to the timeout
            // (all answered: stop at once)
            if report.received >= report.transmitted || stop.load(Ordering::Relaxed) {
                break;
            }
            last_send + opts.timeout
        } else {
            next_send
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            if sending_done {
                break;
            }
            continue;
        }
        drop(sock.set_read_timeout(Some(wait.min(Duration::from_millis(100)))));
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            // no answer yet, or an ICMP port unreachable for an earlier probe
            Err(_) => continue,
        };
        let Some(s) = parse_payload(&buf[..n], token) else {
            continue;
        };
        let Some(at) = sent.get(&s) else { continue };
        let rtt = at.elapsed();
        let count = seen.entry(s).or_insert(0);
        *count += 1;
        let late = s < highest;
        highest = highest.max(s);
        let r = if *count > 1 {
            report.duplicates += 1;
            answer(s, "duplicate", rtt, false)
        } else if rtt > opts.timeout {
            // answered, but after the probe was given up
            failed(
                s,
                "timeout",
                Some(format!("answered after {:.1} ms", ms(rtt))),
            )
        } else {
            report.received += 1;
            if late {
                report.reordered += 1;
            }
            answer(s, "ok", rtt, late)
        };
        on_reply(&r);
        report.replies.push(r);
    }
    // probes never answered
    for s in 1..=seq {
        if !seen.contains_key(&s) {
            report.replies.push(failed(s, "timeout", None));
        }
    }
    report.replies.sort_by_key(|r| r.seq);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_survives_upper() {
        let p = payload(0xabc, 7).to_ascii_uppercase();
        assert_eq!(parse_payload(p.as_bytes(), 0xabc), Some(7));
        assert_eq!(parse_payload(p.as_bytes(), 0xabd), None);
        assert_eq!(parse_payload(b"garbage", 1), None);
    }

    #[test]
    fn summary_like_ping() {
        let mut r = Report::new(Kind::Tcp, "127.0.0.1:1".parse().unwrap());
        for (i, v) in [1.0, 2.0, 3.0].iter().enumerate() {
            r.replies.push(Reply {
                seq: i as u32 + 1,
                status: "ok",
                rtt_ms: Some(*v),
                reordered: false,
                detail: None,
            });
        }
        r.replies.push(failed(4, "timeout", None));
        r.transmitted = 4;
        r.received = 3;
        let r = r.finish();
        assert_eq!(
            (r.min_ms, r.avg_ms, r.max_ms),
            (Some(1.0), Some(2.0), Some(3.0))
        );
        assert!((r.mdev_ms.unwrap() - (2.0f64 / 3.0).sqrt()).abs() < 1e-9);
        assert!((r.loss_percent - 25.0).abs() < 1e-9);
    }
}
