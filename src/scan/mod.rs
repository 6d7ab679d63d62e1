//! Port probing: TCP connect scans and UDP probes (tokio), SYN scans
//! (raw sockets, [`syn`]), banners, and the results they give.

pub mod connect;
pub mod ports;
pub mod syn;
pub mod targets;
pub mod udp;

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

pub use ports::Proto;

/// What a probe found, named as nmap names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Something answered: a connection was accepted (TCP), a reply came
    /// (UDP), a SYN-ACK came (SYN).
    Open,
    /// Refused: a RST (TCP) or an ICMP port unreachable (UDP).
    Closed,
    /// No answer (or an ICMP unreachable other than port): something drops.
    Filtered,
    /// UDP without any answer: open and silent, or dropped.
    #[serde(rename = "open|filtered")]
    OpenFiltered,
}

impl State {
    /// The text nmap uses.
    pub fn name(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Filtered => "filtered",
            State::OpenFiltered => "open|filtered",
        }
    }
}

/// One port's result (one NDJSON line with --json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortResult {
    /// The host.
    pub host: IpAddr,
    /// The port.
    pub port: u16,
    /// tcp or udp.
    pub proto: Proto,
    /// open, closed, filtered, open|filtered.
    pub state: State,
    /// Round trip of the answer, in nanoseconds (absent when nothing came).
    #[serde(rename = "rtt_ms", serialize_with = "ser_ms")]
    pub rtt: Option<Duration>,
    /// The service name from netray's table.
    pub service: Option<&'static str>,
    /// The first line the service said (`--banner`).
    pub banner: Option<String>,
}

fn ser_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3),
        None => s.serialize_none(),
    }
}

/// How a scan runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Hosts.
    pub hosts: Vec<IpAddr>,
    /// Ports (the same for every host).
    pub ports: Vec<u16>,
    /// Probes in flight at once.
    pub concurrency: usize,
    /// Probes started per second (`None`: as fast as the concurrency
    /// allows).
    pub rate: Option<u32>,
    /// The longest wait for an answer; the first pass waits less once
    /// round trips are known (see `adaptive`).
    pub timeout: Duration,
    /// Extra tries for ports that gave no answer.
    pub retries: u32,
    /// Read (and for HTTP, ask for) the first line a service says.
    pub banner: bool,
    /// How long to wait for a banner.
    pub banner_wait: Duration,
}

impl Plan {
    /// Every (host, port) pair, host by host.
    pub fn pairs(&self) -> impl Iterator<Item = (IpAddr, u16)> + '_ {
        self.hosts
            .iter()
            .flat_map(move |h| self.ports.iter().map(move |p| (*h, *p)))
    }

    /// Number of probes in one pass.
    pub fn len(&self) -> usize {
        self.hosts.len() * self.ports.len()
    }

    /// True when there is nothing to probe.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The first-pass timeout from the round trips seen so far: eight times
/// the slowest (at least 100 ms), never more than the plan's timeout.
/// Ports that time out are tried again with the full timeout.
pub fn adaptive(slowest: Option<Duration>, max: Duration) -> Duration {
    match slowest {
        // (not clamp: a user's timeout may be below the floor)
        Some(s) => (s * 8).max(Duration::from_millis(100)).min(max),
        None => max,
    }
}

/// Raises the soft open-files limit to the hard one; returns the soft
/// limit now in force (the budget for sockets in flight).
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => 1024,
    }
}

/// Probes in flight for a file-descriptor budget: a margin is kept for
/// the process's own files, and the count stays below what any sane
/// target wants at once.
pub fn concurrency_for(fd_limit: u64) -> usize {
    usize::try_from(fd_limit.saturating_sub(64).clamp(16, 8192)).unwrap_or(8192)
}

/// Counts per state for one host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// open
    pub open: u64,
    /// closed
    pub closed: u64,
    /// filtered
    pub filtered: u64,
    /// open|filtered
    pub open_filtered: u64,
}

impl Counts {
    /// Adds one result.
    pub fn add(&mut self, s: State) {
        match s {
            State::Open => self.open += 1,
            State::Closed => self.closed += 1,
            State::Filtered => self.filtered += 1,
            State::OpenFiltered => self.open_filtered += 1,
        }
    }
}

/// Results grouped per host, in the plan's host order, ports sorted.
pub fn by_host(results: &[PortResult]) -> Vec<(IpAddr, Counts, Vec<&PortResult>)> {
    let mut order: Vec<IpAddr> = Vec::new();
    let mut map: std::collections::HashMap<IpAddr, (Counts, Vec<&PortResult>)> =
        std::collections::HashMap::new();
    for r in results {
        let e = map.entry(r.host).or_insert_with(|| {
            order.push(r.host);
            (Counts::default(), Vec::new())
        });
        e.0.add(r.state);
        e.1.push(r);
    }
    order
        .into_iter()
        .filter_map(|h| {
            map.remove(&h).map(|(c, mut v)| {
                v.sort_by_key(|r| (r.port, r.proto));
                (h, c, v)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_limits() {
        let max = Duration::from_secs(2);
        assert_eq!(adaptive(None, max), max);
        assert_eq!(
            adaptive(Some(Duration::from_micros(50)), max),
            Duration::from_millis(100)
        );
        assert_eq!(
            adaptive(Some(Duration::from_millis(40)), max),
            Duration::from_millis(320)
        );
        assert_eq!(adaptive(Some(Duration::from_secs(1)), max), max);
        let tiny = Duration::from_millis(20);
        assert_eq!(adaptive(Some(Duration::from_millis(1)), tiny), tiny);
        assert_eq!(concurrency_for(1024), 960);
        assert_eq!(concurrency_for(20), 16);
        assert_eq!(concurrency_for(1 << 20), 8192);
        assert!(raise_fd_limit() >= 16);
    }

    #[test]
    fn grouping_and_json() {
        let r = |port, state| PortResult {
            host: "127.0.0.1".parse().unwrap(),
            port,
            proto: Proto::Tcp,
            state,
            rtt: Some(Duration::from_micros(1234)),
            service: ports::service(port, Proto::Tcp),
            banner: None,
        };
        let v = vec![
            r(443, State::Closed),
            r(22, State::Open),
            r(80, State::Filtered),
        ];
        let g = by_host(&v);
        assert_eq!(g.len(), 1);
        assert_eq!(
            g[0].1,
            Counts {
                open: 1,
                closed: 1,
                filtered: 1,
                open_filtered: 0
            }
        );
        assert_eq!(
            g[0].2.iter().map(|x| x.port).collect::<Vec<_>>(),
            vec![22, 80, 443]
        );
        let j = serde_json::to_value(&v[1]).unwrap();
        assert_eq!(j["state"], "open");
        assert_eq!(j["proto"], "tcp");
        assert_eq!(j["rtt_ms"], 1.234);
        assert_eq!(j["service"], "ssh");
        assert_eq!(
            serde_json::to_value(State::OpenFiltered).unwrap(),
            "open|filtered"
        );
    }
}
