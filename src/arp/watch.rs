//! The passive ARP monitor (arpwatch's job): a table of IP -> MAC
//! bindings learned from every ARP packet, and alerts when something
//! happens that a network engineer wants to hear about: a new station, a
//! known address moving to another MAC (and back: flip-flop), gratuitous
//! ARP, replies nobody asked for, one MAC claiming many addresses, and
//! pairs that contradict a baseline of known stations.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use serde::Serialize;

use super::frame::Seen;
use crate::model::packet::Timestamp;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An address seen for the first time.
    NewStation,
    /// A known address now comes from another MAC.
    MacChanged,
    /// ... and back to a MAC it had before.
    FlipFlop,
    /// An announcement (sender IP = target IP, or a broadcast reply).
    Gratuitous,
    /// A reply that no request seen asked for.
    Unsolicited,
    /// One MAC has claimed more addresses than the threshold.
    ManyAddresses,
    /// A pair that the baseline says is wrong.
    BaselineMismatch,
}

impl Kind {
    /// How serious: `info`, `warning` or `alert`.
    pub fn severity(self) -> &'static str {
        match self {
            Kind::NewStation | Kind::Gratuitous => "info",
            Kind::Unsolicited | Kind::ManyAddresses => "warning",
            Kind::MacChanged | Kind::FlipFlop | Kind::BaselineMismatch => "alert",
        }
    }
}

/// One event.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// When (capture time).
    #[serde(serialize_with = "ser_ts")]
    pub ts: Timestamp,
    /// What.
    pub kind: Kind,
    /// `info`, `warning` or `alert`.
    pub severity: &'static str,
    /// The address concerned.
    pub ip: Ipv4Addr,
    /// The MAC that claims it now.
    pub mac: String,
    /// The MAC it had before (changes, baseline; null for other events).
    pub previous_mac: Option<String>,
    /// The packet and the history, in words.
    pub evidence: String,
}

fn ser_ts<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts.rfc3339())
}

fn mac_text(m: &[u8; 6]) -> String {
    String::from_utf8_lossy(&crate::model::text::mac_text(m)).into_owned()
}

/// Known stations: IP -> the MACs allowed for it.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pairs: HashMap<Ipv4Addr, BTreeSet<[u8; 6]>>,
}

impl Baseline {
    /// Reads `IP MAC` pairs, one per line (more columns, as arp-scan
    /// prints them, are ignored; `#` starts a comment).
    ///
    /// # Errors
    /// The 1-based line number and what is wrong with it.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let mut b = Baseline::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut f = line.split_whitespace();
            let (Some(ip), Some(mac)) = (f.next(), f.next()) else {
                return Err(format!("line {}: expected \"IP MAC\", got {line:?}", i + 1));
            };
            let ip: Ipv4Addr = ip
                .parse()
                .map_err(|_| format!("line {}: {ip:?} is not an IPv4 address", i + 1))?;
            let mac = parse_mac(mac)
                .ok_or_else(|| format!("line {}: {mac:?} is not a MAC address", i + 1))?;
            b.pairs.entry(ip).or_default().insert(mac);
        }
        Ok(b)
    }

    /// Whether the pair is known; `None` when the baseline does not know
    /// the address at all.
    fn knows(&self, ip: Ipv4Addr, mac: &[u8; 6]) -> Option<bool> {
        self.pairs.get(&ip).map(|m| m.contains(mac))
    }

    /// Number of addresses in it.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

pub use crate::model::text::parse_mac;

#[derive(Debug, Clone)]
struct Station {
    mac: [u8; 6],
    since: Timestamp,
    history: Vec<[u8; 6]>,
}

/// How long a request stays "asked" for the replies that follow it.
const ASKED_FOR_NANOS: i128 = 5_000_000_000;

/// The monitor's state.
#[derive(Debug, Default)]
pub struct Watcher {
    baseline: Baseline,
    table: HashMap<Ipv4Addr, Station>,
    /// (who asked, for which address) -> when; a reply answers it once
    asked: HashMap<(Ipv4Addr, Ipv4Addr), Timestamp>,
    claims: HashMap<[u8; 6], BTreeSet<Ipv4Addr>>,
    many: usize,
    /// ARP packets observed.
    pub packets: u64,
}

impl Watcher {
    /// A monitor with a baseline; a MAC claiming more than `many`
    /// addresses raises an alert.
    pub fn new(baseline: Baseline, many: usize) -> Self {
        Watcher {
            baseline,
            many: many.max(1),
            ..Watcher::default()
        }
    }

    /// The learned table, sorted by address: (IP, MAC, since).
    pub fn stations(&self) -> Vec<(Ipv4Addr, String, Timestamp)> {
        let mut v: Vec<_> = self
            .table
            .iter()
            .map(|(ip, s)| (*ip, mac_text(&s.mac), s.since))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// Looks at one ARP packet; returns what it gives rise to.
    pub fn observe(&mut self, ts: Timestamp, s: &Seen) -> Vec<Alert> {
        self.packets += 1;
        let mut out = Vec::new();
        let alert = |kind: Kind, previous: Option<[u8; 6]>, evidence: String| Alert {
            ts,
            kind,
            severity: kind.severity(),
            ip: s.sender_ip,
            mac: mac_text(&s.sender_mac),
            previous_mac: previous.map(|m| mac_text(&m)),
            evidence,
        };
        let what = if s.op == 1 {
            format!("request who-has {} tell {}", s.target_ip, s.sender_ip)
        } else {
            format!("reply {} is-at {}", s.sender_ip, mac_text(&s.sender_mac))
        };
        let what = format!(
            "{what} (from {} to {})",
            mac_text(&s.eth_src),
            mac_text(&s.eth_dst)
        );
        if s.op == 1 && !s.is_gratuitous() {
            self.asked.insert((s.sender_ip, s.target_ip), ts);
        }
        // a probe (sender 0.0.0.0) binds nothing
        if s.sender_ip.is_unspecified() {
            return out;
        }
        let known = self.baseline.knows(s.sender_ip, &s.sender_mac);
        if known == Some(false) {
            let allowed: Vec<String> = self
                .baseline
                .pairs
                .get(&s.sender_ip)
                .map(|m| m.iter().map(mac_text).collect())
                .unwrap_or_default();
            out.push(alert(
                Kind::BaselineMismatch,
                self.baseline
                    .pairs
                    .get(&s.sender_ip)
                    .and_then(|m| m.iter().next().copied()),
                format!(
                    "{what}; the baseline has {} at {}",
                    s.sender_ip,
                    allowed.join(", ")
                ),
            ));
        }
        let quiet = known == Some(true);
        if s.op == 2 && !s.is_gratuitous() {
            // the request this reply answers: asked by its target, for
            // its sender, in the last 5 s, and not answered already
            let asked = self
                .asked
                .remove(&(s.target_ip, s.sender_ip))
                .is_some_and(|t| (ts.as_nanos() - t.as_nanos()).abs() <= ASKED_FOR_NANOS);
            if !asked && !quiet {
                out.push(alert(
                    Kind::Unsolicited,
                    None,
                    format!(
                        "{what}; {} had not asked for {} (or was answered already)",
                        s.target_ip, s.sender_ip
                    ),
                ));
            }
        }
        if s.is_gratuitous() && !quiet {
            out.push(alert(Kind::Gratuitous, None, what.clone()));
        }
        match self.table.get_mut(&s.sender_ip) {
            None => {
                self.table.insert(
                    s.sender_ip,
                    Station {
                        mac: s.sender_mac,
                        since: ts,
                        history: vec![s.sender_mac],
                    },
                );
                if !quiet {
                    out.push(alert(Kind::NewStation, None, what.clone()));
                }
            }
            Some(st) if st.mac != s.sender_mac => {
                let old = st.mac;
                let back = st.history.contains(&s.sender_mac);
                let since = st.since;
                st.mac = s.sender_mac;
                st.since = ts;
                if !back {
                    st.history.push(s.sender_mac);
                }
                if !quiet {
                    let kind = if back {
                        Kind::FlipFlop
                    } else {
                        Kind::MacChanged
                    };
                    out.push(alert(
                        kind,
                        Some(old),
                        format!(
                            "{what}; {} was at {} since {}",
                            s.sender_ip,
                            mac_text(&old),
                            since.rfc3339()
                        ),
                    ));
                }
            }
            Some(_) => {}
        }
        let claims = self.claims.entry(s.sender_mac).or_default();
        if claims.insert(s.sender_ip) && claims.len() == self.many + 1 && !quiet {
            let list: Vec<String> = claims.iter().map(ToString::to_string).collect();
            out.push(alert(
                Kind::ManyAddresses,
                None,
                format!(
                    "{} has claimed {} addresses: {}",
                    mac_text(&s.sender_mac),
                    claims.len(),
                    list.join(", ")
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::frame::{self, parse};

    fn ts(ms: i64) -> Timestamp {
        Timestamp {
            secs: 1_790_000_000 + ms / 1000,
            nanos: (ms % 1000) as u32 * 1_000_000,
            digits: 6,
        }
    }

    const GW: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const HOST: [u8; 6] = [2, 0, 0, 0, 0, 20];
    const EVIL: [u8; 6] = [2, 0, 0, 0, 0, 66];

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn kinds(a: &[Alert]) -> Vec<Kind> {
        a.iter().map(|x| x.kind).collect()
    }

    #[test]
    fn spoofing_is_flagged_and_normal_traffic_is_quiet() {
        let mut w = Watcher::new(Baseline::default(), 4);
        // host asks for the gateway, the gateway answers: two new stations
        let q = parse(&frame::request(HOST, ip("192.0.2.20"), ip("192.0.2.1"))).unwrap();
        assert_eq!(kinds(&w.observe(ts(0), &q)), vec![Kind::NewStation]);
        let r = parse(&frame::reply(GW, ip("192.0.2.1"), HOST, ip("192.0.2.20"))).unwrap();
        assert_eq!(kinds(&w.observe(ts(1), &r)), vec![Kind::NewStation]);
        // the same again: nothing
        assert!(w.observe(ts(2), &q).is_empty());
        assert!(w.observe(ts(3), &r).is_empty());
        // a second answer to one request is not asked for
        assert_eq!(kinds(&w.observe(ts(4), &r)), vec![Kind::Unsolicited]);
        // a forged reply: unasked, and the gateway's address moves
        let forged = parse(&frame::reply(EVIL, ip("192.0.2.1"), HOST, ip("192.0.2.20"))).unwrap();
        let a = w.observe(ts(10_000), &forged);
        assert_eq!(kinds(&a), vec![Kind::Unsolicited, Kind::MacChanged]);
        assert_eq!(a[1].previous_mac.as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(a[1].severity, "alert");
        assert!(
            a[1].evidence.contains("was at 02:00:00:00:00:01"),
            "{}",
            a[1].evidence
        );
        // the real gateway answers the next request: flip-flop
        w.observe(ts(10_001), &q);
        let a = w.observe(ts(10_002), &r);
        assert_eq!(kinds(&a), vec![Kind::FlipFlop]);
        assert_eq!(w.stations().len(), 2);
    }

    #[test]
    fn gratuitous_probes_and_many_addresses() {
        let mut w = Watcher::new(Baseline::default(), 2);
        let g = parse(&frame::request(HOST, ip("192.0.2.20"), ip("192.0.2.20"))).unwrap();
        assert_eq!(
            kinds(&w.observe(ts(0), &g)),
            vec![Kind::Gratuitous, Kind::NewStation]
        );
        let p = parse(&frame::probe(HOST, ip("192.0.2.21"))).unwrap();
        assert!(w.observe(ts(1), &p).is_empty(), "a probe binds nothing");
        // more than two addresses: the third raises it, once
        for (k, n) in [(21, false), (22, false), (23, true), (24, false)] {
            let q = parse(&frame::request(
                EVIL,
                Ipv4Addr::new(192, 0, 2, k),
                ip("192.0.2.1"),
            ))
            .unwrap();
            let a = w.observe(ts(2), &q);
            assert_eq!(a.iter().any(|x| x.kind == Kind::ManyAddresses), n, "{k}");
        }
    }

    #[test]
    fn a_baseline_suppresses_known_pairs_and_names_the_wrong_ones() {
        let b = Baseline::parse(
            "# known\n192.0.2.1 02:00:00:00:00:01\n192.0.2.20\t02-00-00-00-00-14\tSome vendor\n",
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        let mut w = Watcher::new(b, 4);
        let r = parse(&frame::reply(GW, ip("192.0.2.1"), HOST, ip("192.0.2.20"))).unwrap();
        assert!(w.observe(ts(0), &r).is_empty(), "known pair, even unasked");
        let forged = parse(&frame::reply(EVIL, ip("192.0.2.1"), HOST, ip("192.0.2.20"))).unwrap();
        let a = w.observe(ts(1), &forged);
        assert_eq!(kinds(&a)[0], Kind::BaselineMismatch);
        assert!(a[0]
            .evidence
            .contains("the baseline has 192.0.2.1 at 02:00:00:00:00:01"));
        assert!(Baseline::parse("192.0.2.1").is_err());
        assert!(Baseline::parse("192.0.2.1 zz:00:00:00:00:01")
            .unwrap_err()
            .contains("line 1"));
        assert!(Baseline::parse("300.0.2.1 02:00:00:00:00:01").is_err());
    }
}
