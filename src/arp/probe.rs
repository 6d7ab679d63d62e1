//! Active ARP: resolve one address, sweep many, and RFC 5227 duplicate
//! address detection, over any [`FrameIo`] (an AF_PACKET channel, or a
//! fake in the tests).
//!
//! Replies count only when they are replies (op 2) from the address asked
//! about and the frame is addressed to us: arping once accepted replies
//! meant for other stations, which made silent hosts look alive.

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::frame::{self, Seen};
use crate::link::channel::FrameIo;

/// Who we are on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Me {
    /// Our MAC.
    pub mac: [u8; 6],
    /// Our IPv4 address on that link.
    pub ip: Ipv4Addr,
}

/// One answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The MAC that answered.
    pub mac: [u8; 6],
    /// Time from our (last) request to the reply.
    pub rtt: Duration,
}

/// Whether a frame answers our request for `target`.
fn answers(s: &Seen, me: &Me, target: Ipv4Addr) -> bool {
    s.op == 2 && s.sender_ip == target && s.eth_dst == me.mac
}

fn add(list: &mut Vec<Answer>, mac: [u8; 6], rtt: Duration) -> bool {
    if list.iter().any(|a| a.mac == mac) {
        return false;
    }
    list.push(Answer { mac, rtt });
    true
}

/// After the first answer, how long to keep listening for a second MAC
/// (a duplicate address) before the attempt ends.
const GRACE: Duration = Duration::from_millis(50);

/// One resolution: a request, up to `1 + retries` times, each waiting up
/// to `timeout`. Returns every MAC that answered the attempt that got an
/// answer (two or more: the address is in use twice), empty when nothing
/// answered.
///
/// # Errors
/// The channel failed.
pub fn resolve(
    io: &mut dyn FrameIo,
    me: Me,
    target: Ipv4Addr,
    timeout: Duration,
    retries: u32,
) -> io::Result<Vec<Answer>> {
    let req = frame::request(me.mac, me.ip, target);
    let mut got = Vec::new();
    for _ in 0..=retries {
        let sent = Instant::now();
        io.send(&req)?;
        let mut end = sent + timeout;
        while let Some(f) = io.recv(end)? {
            let Some(s) = frame::parse(f) else { continue };
            if answers(&s, &me, target) && add(&mut got, s.sender_mac, sent.elapsed()) {
                end = end.min(Instant::now() + GRACE);
            }
        }
        if !got.is_empty() {
            break;
        }
    }
    Ok(got)
}

/// How a sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Requests per second.
    pub rate: u32,
    /// Extra rounds for the addresses that stayed silent.
    pub retries: u32,
    /// The longest a round waits after its last request.
    pub timeout: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            rate: 1000,
            retries: 1,
            timeout: Duration::from_millis(500),
        }
    }
}

/// Where a sweep is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Requests sent so far.
    pub sent: u64,
    /// Addresses being swept.
    pub targets: u64,
    /// Addresses that answered so far.
    pub found: u64,
    /// The round (0 = the first pass).
    pub round: u32,
}

/// One address that answered a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The address.
    pub ip: Ipv4Addr,
    /// Every MAC that answered for it (more than one: a duplicate).
    pub answers: Vec<Answer>,
}

/// Sweeps `targets`: requests at `rate`, replies collected while sending
/// (one loop, receiving until the next send is due), then a wait; the
/// silent addresses are asked again in up to `retries` more rounds. A
/// round's wait ends early once eight times the slowest answer so far
/// (at least 30 ms) has passed: on a LAN that is milliseconds, where a
/// fixed wait would be most of the sweep. Hosts are returned sorted,
/// with the final counts.
///
/// # Errors
/// The channel failed.
pub fn scan(
    io: &mut dyn FrameIo,
    me: Me,
    targets: &[Ipv4Addr],
    opts: ScanOptions,
    mut progress: impl FnMut(Progress),
) -> io::Result<(Vec<Host>, Progress)> {
    let mut st = Sweep {
        me,
        index: targets.iter().enumerate().map(|(i, ip)| (*ip, i)).collect(),
        sent_at: vec![None; targets.len()],
        got: vec![Vec::new(); targets.len()],
        p: Progress {
            sent: 0,
            targets: targets.len() as u64,
            found: 0,
            round: 0,
        },
        slowest: Duration::ZERO,
    };
    let interval = Duration::from_secs(1) / opts.rate.max(1);
    for round in 0..=opts.retries {
        st.p.round = round;
        let queue: Vec<usize> = (0..targets.len())
            .filter(|&i| st.got[i].is_empty())
            .collect();
        if queue.is_empty() {
            break;
        }
        let mut next = Instant::now();
        for i in queue {
            // receive until this request is due
            while let Some(f) = io.recv(next)? {
                st.take(f);
            }
            io.send(&frame::request(me.mac, me.ip, targets[i]))?;
            st.sent_at[i] = Some(Instant::now());
            st.p.sent += 1;
            progress(st.p);
            // keep the rate, but never try to catch up in a burst
            next = (next + interval).max(Instant::now());
        }
        let last = Instant::now();
        while st.p.found < st.p.targets {
            let wait = if st.p.found > 0 {
                (st.slowest * 8)
                    .max(Duration::from_millis(30))
                    .min(opts.timeout)
            } else {
                opts.timeout
            };
            let before = st.p.found;
            match io.recv(last + wait)? {
                Some(f) => st.take(f),
                None => break,
            }
            if st.p.found != before {
                progress(st.p);
            }
        }
    }
    let mut hosts: Vec<Host> = targets
        .iter()
        .zip(st.got)
        .filter(|(_, a)| !a.is_empty())
        .map(|(ip, answers)| Host { ip: *ip, answers })
        .collect();
    hosts.sort_by_key(|h| h.ip);
    Ok((hosts, st.p))
}

/// The state of a sweep.
struct Sweep {
    me: Me,
    index: HashMap<Ipv4Addr, usize>,
    sent_at: Vec<Option<Instant>>,
    got: Vec<Vec<Answer>>,
    p: Progress,
    slowest: Duration,
}

impl Sweep {
    /// Counts a frame if it answers one of our requests.
    fn take(&mut self, f: &[u8]) {
        let Some(s) = frame::parse(f) else { return };
        if s.op != 2 || s.eth_dst != self.me.mac {
            return;
        }
        let Some(&i) = self.index.get(&s.sender_ip) else {
            return;
        };
        let Some(t) = self.sent_at[i] else { return };
        let rtt = t.elapsed();
        let first = self.got[i].is_empty();
        if add(&mut self.got[i], s.sender_mac, rtt) {
            self.slowest = self.slowest.max(rtt);
            if first {
                self.p.found += 1;
            }
        }
    }
}

/// What duplicate address detection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The station that uses (or claims, or probes for) the address.
    pub mac: [u8; 6],
    /// How: "reply", "request" (it uses the address) or "probe" (it is
    /// about to take it too).
    pub how: &'static str,
    /// Since our first probe.
    pub after: Duration,
}

/// RFC 5227 duplicate address detection for `target`: `probes` probes
/// (sender IP 0.0.0.0) `interval` apart, then `wait` more. Any ARP packet
/// from another station with `target` as its sender address, or another
/// station's probe for it, is a conflict. Stops listening `interval`
/// after the first conflict. Empty when the address is free.
///
/// # Errors
/// The channel failed.
pub fn check(
    io: &mut dyn FrameIo,
    me_mac: [u8; 6],
    target: Ipv4Addr,
    probes: u32,
    interval: Duration,
    wait: Duration,
) -> io::Result<Vec<Conflict>> {
    let probe = frame::probe(me_mac, target);
    let start = Instant::now();
    let mut found: Vec<Conflict> = Vec::new();
    let mut stop_at: Option<Instant> = None;
    for k in 0..probes.max(1) {
        io.send(&probe)?;
        let mut end = Instant::now()
            + if k + 1 == probes.max(1) {
                wait
            } else {
                interval
            };
        if let Some(s) = stop_at {
            end = end.min(s);
        }
        while let Some(f) = io.recv(end)? {
            let Some(s) = frame::parse(f) else { continue };
            if s.sender_mac == me_mac {
                continue;
            }
            let how = if s.sender_ip == target {
                if s.op == 2 {
                    "reply"
                } else {
                    "request"
                }
            } else if s.is_probe() && s.target_ip == target {
                "probe"
            } else {
                continue;
            };
            if !found.iter().any(|c| c.mac == s.sender_mac) {
                found.push(Conflict {
                    mac: s.sender_mac,
                    how,
                    after: start.elapsed(),
                });
            }
            let s = *stop_at.get_or_insert(Instant::now() + interval);
            end = end.min(s);
        }
        if stop_at.is_some() {
            break;
        }
    }
    Ok(found)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A LAN in a box: stations that answer ARP like a kernel, after a
    /// delay; optionally frames injected at start.
    pub struct FakeLan {
        pub stations: Vec<([u8; 6], Ipv4Addr)>,
        pub delay: Duration,
        pub sent: Vec<Vec<u8>>,
        queue: VecDeque<(Instant, Vec<u8>)>,
        cur: Vec<u8>,
        /// Drop the first request to each address (to test retries).
        pub deaf_once: bool,
        asked: Vec<Ipv4Addr>,
    }

    impl FakeLan {
        pub fn new(stations: &[([u8; 6], &str)]) -> Self {
            FakeLan {
                stations: stations
                    .iter()
                    .map(|(m, ip)| (*m, ip.parse().unwrap()))
                    .collect(),
                delay: Duration::from_millis(1),
                sent: Vec::new(),
                queue: VecDeque::new(),
                cur: Vec::new(),
                deaf_once: false,
                asked: Vec::new(),
            }
        }

        pub fn inject(&mut self, f: &[u8]) {
            self.queue.push_back((Instant::now(), f.to_vec()));
        }
    }

    impl FrameIo for FakeLan {
        fn send(&mut self, f: &[u8]) -> io::Result<()> {
            self.sent.push(f.to_vec());
            let s = frame::parse(f).expect("we send ARP");
            if s.op != 1 {
                return Ok(());
            }
            if self.deaf_once && !self.asked.contains(&s.target_ip) {
                self.asked.push(s.target_ip);
                return Ok(());
            }
            for (mac, ip) in self.stations.clone() {
                if ip == s.target_ip {
                    // the kernel answers a probe (sender 0.0.0.0) too
                    let r = frame::reply(mac, ip, s.sender_mac, s.sender_ip);
                    self.queue
                        .push_back((Instant::now() + self.delay, r.to_vec()));
                }
            }
            Ok(())
        }

        fn recv(&mut self, deadline: Instant) -> io::Result<Option<&[u8]>> {
            loop {
                let now = Instant::now();
                match self.queue.front() {
                    Some((t, _)) if *t <= now => {
                        self.cur = self.queue.pop_front().map(|(_, f)| f).unwrap_or_default();
                        return Ok(Some(&self.cur));
                    }
                    Some((t, _)) if *t < deadline => std::thread::sleep(*t - now),
                    _ => {
                        std::thread::sleep(deadline.saturating_duration_since(now));
                        return Ok(None);
                    }
                }
            }
        }
    }

    pub const ME: Me = Me {
        mac: [2, 0, 0, 0, 0, 10],
        ip: Ipv4Addr::new(192, 0, 2, 10),
    };

    fn mac(n: u8) -> [u8; 6] {
        [2, 0, 0, 0, 0, n]
    }

    #[test]
    fn resolve_answers_and_silence() {
        let mut lan = FakeLan::new(&[(mac(20), "192.0.2.20")]);
        let t = Duration::from_millis(100);
        let a = resolve(&mut lan, ME, "192.0.2.20".parse().unwrap(), t, 2).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].mac, mac(20));
        assert_eq!(lan.sent.len(), 1, "answered at once: no retry");
        let a = resolve(&mut lan, ME, "192.0.2.99".parse().unwrap(), t, 2).unwrap();
        assert!(a.is_empty());
        assert_eq!(lan.sent.len(), 4, "three requests for the silent one");
    }

    #[test]
    fn resolve_ignores_replies_meant_for_others() {
        let mut lan = FakeLan::new(&[]);
        // a reply from .20, but to another station: arping's old bug
        lan.inject(&frame::reply(
            mac(20),
            "192.0.2.20".parse().unwrap(),
            mac(30),
            "192.0.2.30".parse().unwrap(),
        ));
        // a reply to us, but from another address
        lan.inject(&frame::reply(
            mac(21),
            "192.0.2.21".parse().unwrap(),
            ME.mac,
            ME.ip,
        ));
        let a = resolve(
            &mut lan,
            ME,
            "192.0.2.20".parse().unwrap(),
            Duration::from_millis(50),
            0,
        )
        .unwrap();
        assert!(a.is_empty());
    }

    #[test]
    fn resolve_reports_every_mac_of_a_duplicate() {
        let mut lan = FakeLan::new(&[(mac(20), "192.0.2.20"), (mac(66), "192.0.2.20")]);
        let a = resolve(
            &mut lan,
            ME,
            "192.0.2.20".parse().unwrap(),
            Duration::from_millis(200),
            0,
        )
        .unwrap();
        let macs: Vec<[u8; 6]> = a.iter().map(|x| x.mac).collect();
        assert_eq!(macs, vec![mac(20), mac(66)]);
    }

    #[test]
    fn scan_finds_everyone_retries_the_deaf_and_sorts() {
        let mut lan = FakeLan::new(&[
            (mac(30), "192.0.2.30"),
            (mac(5), "192.0.2.5"),
            (mac(77), "192.0.2.77"),
            (mac(78), "192.0.2.77"),
        ]);
        lan.deaf_once = true;
        let targets: Vec<Ipv4Addr> = (1..=100).map(|i| Ipv4Addr::new(192, 0, 2, i)).collect();
        let mut last = None;
        let opts = ScanOptions {
            rate: 20_000,
            retries: 1,
            timeout: Duration::from_millis(100),
        };
        let (hosts, fin) = scan(&mut lan, ME, &targets, opts, |p| last = Some(p)).unwrap();
        let ips: Vec<String> = hosts.iter().map(|h| h.ip.to_string()).collect();
        assert_eq!(ips, vec!["192.0.2.5", "192.0.2.30", "192.0.2.77"]);
        assert_eq!(hosts[2].answers.len(), 2, "a duplicate");
        // every first request is lost: 100, then all 100 again
        assert_eq!(lan.sent.len(), 200);
        let p = last.unwrap();
        assert_eq!((p.sent, p.found, p.round), (200, 3, 1));
        assert_eq!(fin, p);
        // without retries the deaf hosts are missed
        let mut lan2 = FakeLan::new(&[(mac(30), "192.0.2.30")]);
        lan2.deaf_once = true;
        let opts = ScanOptions { retries: 0, ..opts };
        assert!(scan(&mut lan2, ME, &targets, opts, |_| {})
            .unwrap()
            .0
            .is_empty());
    }

    #[test]
    fn scan_keeps_the_rate() {
        let mut lan = FakeLan::new(&[]);
        let targets: Vec<Ipv4Addr> = (1..=50).map(|i| Ipv4Addr::new(192, 0, 2, i)).collect();
        let opts = ScanOptions {
            rate: 500,
            retries: 0,
            timeout: Duration::from_millis(10),
        };
        let t = Instant::now();
        scan(&mut lan, ME, &targets, opts, |_| {}).unwrap();
        // 50 requests at 500/s: at least 49 intervals of 2 ms
        assert!(
            t.elapsed() >= Duration::from_millis(98),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn check_finds_owners_and_other_probers() {
        let t = Duration::from_millis(30);
        let mut lan = FakeLan::new(&[(mac(20), "192.0.2.20")]);
        let c = check(&mut lan, ME.mac, "192.0.2.20".parse().unwrap(), 3, t, t).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].mac, c[0].how), (mac(20), "reply"));
        assert_eq!(lan.sent.len(), 1, "stops probing after a conflict");
        let p = frame::parse(&lan.sent[0]).unwrap();
        assert!(p.is_probe());
        // free: every probe sent, nothing found
        let mut lan = FakeLan::new(&[(mac(20), "192.0.2.20")]);
        let c = check(&mut lan, ME.mac, "192.0.2.21".parse().unwrap(), 3, t, t).unwrap();
        assert!(c.is_empty());
        assert_eq!(lan.sent.len(), 3);
        // someone else probing for the same address
        let mut lan = FakeLan::new(&[]);
        lan.inject(&frame::probe(mac(44), "192.0.2.21".parse().unwrap()));
        let c = check(&mut lan, ME.mac, "192.0.2.21".parse().unwrap(), 2, t, t).unwrap();
        assert_eq!((c[0].mac, c[0].how), (mac(44), "probe"));
    }
}
