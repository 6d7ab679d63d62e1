//! The SYN ("half-open") scan: whole Ethernet frames through a raw
//! channel ([`FrameIo`]), built and read with etherparse. A SYN goes to
//! each port; a SYN-ACK means open (answered with a RST, so no connection
//! is left half-open), a RST means closed, silence means filtered (tried
//! again). The kernel, which knows nothing of these connections, also
//! resets any SYN-ACK that reaches it.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use etherparse::{LaxNetSlice, LaxSlicedPacket, PacketBuilder, TransportSlice};

use super::{adaptive, ports, PortResult, Proto, State};
use crate::link::channel::FrameIo;

/// Who sends and to which link-layer next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    /// Our MAC (zeros on loopback).
    pub src_mac: [u8; 6],
    /// The next hop's MAC (the target's, or the gateway's).
    pub dst_mac: [u8; 6],
    /// Our address.
    pub src_ip: IpAddr,
    /// The target.
    pub dst_ip: IpAddr,
    /// Our source port for every probe.
    pub src_port: u16,
}

/// A TCP segment without payload from `path` to `port`.
pub fn segment(path: &Path, port: u16, seq: u32, syn: bool, rst: bool) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(path.src_mac, path.dst_mac);
    let ip = match (path.src_ip, path.dst_ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
        // the caller pairs addresses of one family
        _ => return Vec::new(),
    };
    let mut tcp = ip.tcp(path.src_port, port, seq, 1024);
    if syn {
        tcp = tcp.syn();
    }
    if rst {
        tcp = tcp.rst();
    }
    let mut v = Vec::with_capacity(tcp.size(0));
    // writing into a Vec does not fail for an empty payload
    let _ = tcp.write(&mut v, &[]);
    v
}

/// A TCP answer from the target to our port: (its port, SYN-ACK?, RST?,
/// its sequence number).
fn answer(frame: &[u8], path: &Path) -> Option<(u16, bool, bool, u32)> {
    let p = LaxSlicedPacket::from_ethernet(frame).ok()?;
    let (src, dst) = match p.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
        ),
        LaxNetSlice::Ipv6(v6) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
        ),
        _ => return None,
    };
    let Some(TransportSlice::Tcp(t)) = &p.transport else {
        return None;
    };
    if src != path.dst_ip || dst != path.src_ip || t.destination_port() != path.src_port {
        return None;
    }
    let synack = t.syn() && t.ack();
    let rst = t.rst();
    (synack || rst).then_some((t.source_port(), synack, rst, t.sequence_number()))
}

/// Scans `ports` of one target along `path`: SYNs at `rate` per second
/// while answers are read, then a wait (adaptive: eight times the
/// slowest answer, at least 100 ms, at most `timeout`), then up to
/// `retries` more rounds for the silent ports.
///
/// # Errors
/// The channel failed.
pub fn scan(
    io: &mut dyn FrameIo,
    path: Path,
    ports: &[u16],
    rate: u32,
    timeout: Duration,
    retries: u32,
    mut progress: impl FnMut(u64),
) -> io::Result<Vec<PortResult>> {
    let mut sent_at: HashMap<u16, Instant> = HashMap::with_capacity(ports.len());
    let mut got: HashMap<u16, (State, Duration)> = HashMap::with_capacity(ports.len());
    let interval = Duration::from_secs(1) / rate.max(1);
    let mut slowest: Option<Duration> = None;
    let seq: u32 = 0x6e65_7472;
    let mut done = 0u64;
    let mut take = |f: &[u8],
                    io: &mut dyn FrameIo,
                    sent_at: &HashMap<u16, Instant>,
                    got: &mut HashMap<u16, (State, Duration)>,
                    slowest: &mut Option<Duration>|
     -> io::Result<()> {
        let Some((port, synack, rst, their_seq)) = answer(f, &path) else {
            return Ok(());
        };
        let Some(t) = sent_at.get(&port) else {
            return Ok(());
        };
        if got.contains_key(&port) {
            return Ok(());
        }
        let rtt = t.elapsed();
        let state = if synack {
            // tear the half-open connection down (RST with the sequence
            // number the SYN-ACK acknowledged)
            io.send(&segment(&path, port, seq.wrapping_add(1), false, true))?;
            let _ = their_seq;
            State::Open
        } else if rst {
            State::Closed
        } else {
            return Ok(());
        };
        *slowest = Some(slowest.map_or(rtt, |s| s.max(rtt)));
        got.insert(port, (state, rtt));
        done += 1;
        progress(done);
        Ok(())
    };
    for round in 0..=retries {
        let todo: Vec<u16> = ports
            .iter()
            .copied()
            .filter(|p| !got.contains_key(p))
            .collect();
        if todo.is_empty() {
            break;
        }
        let mut next = Instant::now();
        for port in todo {
            while let Some(f) = io.recv(next)? {
                let f = f.to_vec();
                take(&f, io, &sent_at, &mut got, &mut slowest)?;
            }
            io.send(&segment(&path, port, seq, true, false))?;
            sent_at.insert(port, Instant::now());
            next = (next + interval).max(Instant::now());
        }
        let wait = if round == 0 {
            adaptive(slowest, timeout)
        } else {
            timeout
        };
        let end = Instant::now() + wait;
        while got.len() < ports.len() {
            let Some(f) = io.recv(end)? else { break };
            let f = f.to_vec();
            take(&f, io, &sent_at, &mut got, &mut slowest)?;
        }
    }
    Ok(ports
        .iter()
        .map(|&port| {
            let (state, rtt) = match got.get(&port) {
                Some((s, r)) => (*s, Some(*r)),
                None => (State::Filtered, None),
            };
            PortResult {
                host: path.dst_ip,
                port,
                proto: Proto::Tcp,
                state,
                rtt,
                service: ports::service(port, Proto::Tcp),
                banner: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A host that answers SYNs like a kernel: SYN-ACK on open ports,
    /// RST on closed ones, nothing on filtered ones.
    struct FakeHost {
        open: Vec<u16>,
        filtered: Vec<u16>,
        queue: VecDeque<Vec<u8>>,
        cur: Vec<u8>,
        resets: Vec<u16>,
    }

    impl FrameIo for FakeHost {
        fn send(&mut self, f: &[u8]) -> io::Result<()> {
            let p = LaxSlicedPacket::from_ethernet(f).unwrap();
            let Some(TransportSlice::Tcp(t)) = &p.transport else {
                panic!("TCP only")
            };
            let (sp, dp) = (t.source_port(), t.destination_port());
            if t.rst() {
                self.resets.push(dp);
                return Ok(());
            }
            assert!(t.syn() && !t.ack());
            if self.filtered.contains(&dp) {
                return Ok(());
            }
            let path = Path {
                src_mac: [2, 0, 0, 0, 0, 2],
                dst_mac: [2, 0, 0, 0, 0, 1],
                src_ip: "192.0.2.20".parse().unwrap(),
                dst_ip: "192.0.2.10".parse().unwrap(),
                src_port: dp,
            };
            let eth = PacketBuilder::ethernet2(path.src_mac, path.dst_mac).ipv4(
                [192, 0, 2, 20],
                [192, 0, 2, 10],
                64,
            );
            let b = eth.tcp(dp, sp, 777, 1000);
            let b = if self.open.contains(&dp) {
                b.syn().ack(t.sequence_number() + 1)
            } else {
                b.rst().ack(t.sequence_number() + 1)
            };
            let mut v = Vec::new();
            b.write(&mut v, &[]).unwrap();
            self.queue.push_back(v);
            Ok(())
        }

        fn recv(&mut self, deadline: Instant) -> io::Result<Option<&[u8]>> {
            match self.queue.pop_front() {
                Some(f) => {
                    self.cur = f;
                    Ok(Some(&self.cur))
                }
                None => {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    Ok(None)
                }
            }
        }
    }

    #[test]
    fn open_closed_filtered_and_resets() {
        let mut host = FakeHost {
            open: vec![22, 80],
            filtered: vec![81],
            queue: VecDeque::new(),
            cur: Vec::new(),
            resets: Vec::new(),
        };
        let path = Path {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_ip: "192.0.2.10".parse().unwrap(),
            dst_ip: "192.0.2.20".parse().unwrap(),
            src_port: 45_000,
        };
        let mut n = 0;
        let r = scan(
            &mut host,
            path,
            &[21, 22, 80, 81],
            10_000,
            Duration::from_millis(50),
            1,
            |d| n = d,
        )
        .unwrap();
        let states: Vec<State> = r.iter().map(|x| x.state).collect();
        assert_eq!(
            states,
            vec![State::Closed, State::Open, State::Open, State::Filtered]
        );
        assert_eq!(host.resets, vec![22, 80], "each open port reset");
        assert_eq!(n, 3);
        assert_eq!(r[1].service, Some("ssh"));
        // the frames read back as what they claim
        let f = segment(&path, 443, 5, true, false);
        let p = LaxSlicedPacket::from_ethernet(&f).unwrap();
        assert!(p.stop_err.is_none());
        let Some(TransportSlice::Tcp(t)) = &p.transport else {
            panic!()
        };
        assert!(t.syn() && !t.ack());
        assert_eq!((t.source_port(), t.destination_port()), (45_000, 443));
    }
}
