//! `stats`: counts, protocol hierarchy, conversations, endpoints, TCP
//! connection outcomes and ARP activity, accumulated packet by packet.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::model::packet::{Mac, Packet, Timestamp};
use crate::model::stats::{ArpSummary, Conversation, Endpoint, ProtoRow, Stats, TcpSummary};

/// A conversation key: the two ends in a canonical order.
type Key = (IpAddr, u16, IpAddr, u16);

/// Flow tables are hashed with foldhash: several times faster than SipHash
/// on these small keys, and still seeded per process, so a crafted capture
/// cannot choose collisions.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Layers of the protocol hierarchy, as bits of a packet's path.
const LAYERS: [&str; 16] = [
    "eth", "sll", "sll2", "null", "loop", "raw", "vlan", "arp", "ipv4", "ipv6", "tcp", "udp",
    "icmp", "icmpv6", "igmp", "dns",
];

#[derive(Debug, Clone)]
struct Conv {
    index: usize,
    /// The side seen first.
    a: (IpAddr, u16),
    b: (IpAddr, u16),
    ab: (u64, u64),
    ba: (u64, u64),
    first: Timestamp,
    last: Timestamp,
    /// TCP: SYN from A, SYN-ACK from B, ACK from A after it, FINs, RST.
    syn: bool,
    synack: bool,
    established: bool,
    fin_a: bool,
    fin_b: bool,
    rst: bool,
}

impl Conv {
    fn new(index: usize, a: (IpAddr, u16), b: (IpAddr, u16), ts: Timestamp) -> Self {
        Conv {
            index,
            a,
            b,
            ab: (0, 0),
            ba: (0, 0),
            first: ts,
            last: ts,
            syn: false,
            synack: false,
            established: false,
            fin_a: false,
            fin_b: false,
            rst: false,
        }
    }
}

#[derive(Debug, Default)]
struct Table {
    /// Key to position in `convs` (which is the stream index).
    map: Map<Key, u32>,
    convs: Vec<Conv>,
}

impl Table {
    /// The conversation of (src, dst), created when new; and whether the
    /// packet goes A to B.
    fn get(&mut self, src: (IpAddr, u16), dst: (IpAddr, u16), ts: Timestamp) -> (&mut Conv, bool) {
        let key = if src <= dst {
            (src.0, src.1, dst.0, dst.1)
        } else {
            (dst.0, dst.1, src.0, src.1)
        };
        let n = self.convs.len();
        let i = *self
            .map
            .entry(key)
            .or_insert_with(|| u32::try_from(n).unwrap_or(u32::MAX)) as usize;
        if i == n {
            self.convs.push(Conv::new(n, src, dst, ts));
        }
        let last = self.convs.len() - 1;
        let c = &mut self.convs[i.min(last)];
        let ab = c.a == src;
        (c, ab)
    }
}

/// Accumulates statistics packet by packet.
#[derive(Debug, Default)]
pub struct Collector {
    packets: u64,
    bytes: u64,
    captured: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// Packets and bytes per full layer path (a bit set of LAYERS), with
    /// the order the path was first seen.
    paths: Map<u32, (u64, u64, usize)>,
    ip: Table,
    tcp: Table,
    udp: Table,
    arp: ArpSummary,
    arp_macs: Map<IpAddr, Vec<Mac>>,
}

/// The collector is a sink of the capture engine: `stats` in one pass,
/// beside any other sink.
impl crate::capture::engine::Sink for Collector {
    fn packet(
        &mut self,
        p: &Packet,
        _: &crate::capture::Frame<'_>,
    ) -> std::io::Result<crate::capture::Flow> {
        self.add(p);
        Ok(crate::capture::Flow::Continue)
    }
}

impl Collector {
    /// A new, empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one packet.
    pub fn add(&mut self, p: &Packet) {
        self.packets += 1;
        let len = u64::from(p.len);
        self.bytes += len;
        self.captured += u64::from(p.caplen);
        self.first = Some(self.first.map_or(p.ts, |f| f.min(p.ts)));
        self.last = Some(self.last.map_or(p.ts, |l| l.max(p.ts)));
        self.hierarchy(p, len);
        let ips = match (&p.ipv4, &p.ipv6) {
            (Some(v4), None) => Some((IpAddr::V4(v4.src), IpAddr::V4(v4.dst))),
            (_, Some(v6)) => Some((IpAddr::V6(v6.src), IpAddr::V6(v6.dst))),
            _ => None,
        };
        if let Some((src, dst)) = ips {
            // endpoints are summed from these conversations at the end
            let (c, ab) = self.ip.get((src, 0), (dst, 0), p.ts);
            bump(c, ab, len, p.ts);
            if let Some(t) = &p.tcp {
                let (c, ab) = self.tcp.get((src, t.src_port), (dst, t.dst_port), p.ts);
                bump(c, ab, len, p.ts);
                let (syn, ack, fin, rst) = (
                    t.flags & 2 != 0,
                    t.flags & 0x10 != 0,
                    t.flags & 1 != 0,
                    t.flags & 4 != 0,
                );
                if syn && !ack && ab {
                    c.syn = true;
                }
                if syn && ack && !ab && c.syn {
                    c.synack = true;
                }
                if ack && !syn && ab && c.synack {
                    c.established = true;
                }
                if fin {
                    if ab {
                        c.fin_a = true;
                    } else {
                        c.fin_b = true;
                    }
                }
                if rst {
                    c.rst = true;
                }
            } else if let Some(u) = &p.udp {
                let (c, ab) = self.udp.get((src, u.src_port), (dst, u.dst_port), p.ts);
                bump(c, ab, len, p.ts);
            }
        }
        if let Some(a) = &p.arp {
            match a.op {
                1 => self.arp.requests += 1,
                2 => self.arp.replies += 1,
                _ => {}
            }
            if a.sender_ip.is_some() && a.sender_ip == a.target_ip {
                self.arp.gratuitous += 1;
            }
            if let (Some(ip), Some(mac)) = (a.sender_ip, a.sender_mac) {
                if !ip.is_unspecified() {
                    let macs = self.arp_macs.entry(IpAddr::V4(ip)).or_default();
                    if !macs.contains(&mac) {
                        macs.push(mac);
                    }
                }
            }
        }
    }

    fn hierarchy(&mut self, p: &Packet, len: u64) {
        let link = if p.eth.is_some() {
            0
        } else if let Some(c) = &p.cooked {
            match c.kind {
                "sll" => 1,
                "sll2" => 2,
                "null" => 3,
                _ => 4,
            }
        } else {
            5
        };
        let mut bits = 1u32 << link;
        for (present, bit) in [
            (!p.vlan.is_empty(), 6),
            (p.arp.is_some(), 7),
            (p.ipv4.is_some(), 8),
            (p.ipv6.is_some(), 9),
            (p.tcp.is_some(), 10),
            (p.udp.is_some(), 11),
            (p.icmp.is_some(), 12),
            (p.icmpv6.is_some(), 13),
            (p.igmp.is_some(), 14),
            (p.dns.is_some(), 15),
        ] {
            if present {
                bits |= 1 << bit;
            }
        }
        let order = self.paths.len();
        let e = self.paths.entry(bits).or_insert((0, 0, order));
        e.0 += 1;
        e.1 += len;
    }

    /// The hierarchy: every prefix of every path, with the sums of the
    /// paths under it, parents before children, siblings in order of
    /// first appearance.
    fn protocols(paths: &Map<u32, (u64, u64, usize)>, total: f64) -> Vec<ProtoRow> {
        let mut nodes: HashMap<String, (u64, u64, Vec<usize>)> = HashMap::new();
        let mut sorted: Vec<(&u32, &(u64, u64, usize))> = paths.iter().collect();
        sorted.sort_by_key(|(_, v)| v.2);
        for (bits, &(packets, bytes, order)) in sorted {
            let mut prefix = String::new();
            let mut key = Vec::new();
            for (i, part) in LAYERS.iter().enumerate() {
                if bits & (1 << i) == 0 {
                    continue;
                }
                if !prefix.is_empty() {
                    prefix.push(':');
                }
                prefix.push_str(part);
                let e = nodes.entry(prefix.clone()).or_insert_with(|| {
                    key.push(order);
                    (0, 0, key.clone())
                });
                // the prefix's key, made when it was first seen
                key.clone_from(&e.2);
                e.0 += packets;
                e.1 += bytes;
            }
        }
        let mut rows: Vec<(Vec<usize>, ProtoRow)> = nodes
            .into_iter()
            .map(|(path, (packets, bytes, key))| {
                let depth = path.matches(':').count();
                (
                    key,
                    ProtoRow {
                        path,
                        depth,
                        packets,
                        bytes,
                        percent: 100.0 * packets as f64 / total,
                    },
                )
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.into_iter().map(|(_, r)| r).collect()
    }

    /// The report.
    pub fn finish(self, file: &str, summary: &crate::capture::ReadSummary) -> Stats {
        let secs = |a: Timestamp, b: Timestamp| (b.as_nanos() - a.as_nanos()) as f64 / 1e9;
        let first = self.first.unwrap_or_default();
        let duration = match (self.first, self.last) {
            (Some(a), Some(b)) => secs(a, b),
            _ => 0.0,
        };
        let rate = |v: f64| if duration > 0.0 { v / duration } else { 0.0 };
        let total = self.packets.max(1) as f64;
        let protocols = Self::protocols(&self.paths, total);
        let conv = |t: Table, tcp: bool| -> Vec<Conversation> {
            t.convs
                .into_iter()
                .map(|c| Conversation {
                    index: c.index,
                    a: c.a.0,
                    a_port: (tcp || c.a.1 != 0 || c.b.1 != 0).then_some(c.a.1),
                    b: c.b.0,
                    b_port: (tcp || c.a.1 != 0 || c.b.1 != 0).then_some(c.b.1),
                    packets_ab: c.ab.0,
                    bytes_ab: c.ab.1,
                    packets_ba: c.ba.0,
                    bytes_ba: c.ba.1,
                    start_s: secs(first, c.first),
                    duration_s: secs(c.first, c.last),
                    state: tcp.then(|| tcp_state(&c)),
                })
                .collect()
        };
        let mut tcp = TcpSummary::default();
        for c in &self.tcp.convs {
            tcp.connections += 1;
            if c.established {
                tcp.handshake_completed += 1;
            } else if c.syn && !c.synack {
                tcp.syn_unanswered += 1;
            }
            if c.rst {
                tcp.reset += 1;
            } else if c.fin_a && c.fin_b {
                tcp.closed += 1;
            }
        }
        // every IP packet is in exactly one IP conversation, so its
        // two directions give each address's packets and bytes
        let mut sums: Map<IpAddr, [u64; 4]> = Map::default();
        for c in &self.ip.convs {
            let a = sums.entry(c.a.0).or_default();
            a[0] += c.ab.0;
            a[1] += c.ab.1;
            a[2] += c.ba.0;
            a[3] += c.ba.1;
            let b = sums.entry(c.b.0).or_default();
            b[0] += c.ba.0;
            b[1] += c.ba.1;
            b[2] += c.ab.0;
            b[3] += c.ab.1;
        }
        let mut endpoints: Vec<Endpoint> = sums
            .into_iter()
            .map(|(address, e)| Endpoint {
                address,
                tx_packets: e[0],
                tx_bytes: e[1],
                rx_packets: e[2],
                rx_bytes: e[3],
            })
            .collect();
        endpoints.sort_by(|a, b| {
            (b.tx_packets + b.rx_packets)
                .cmp(&(a.tx_packets + a.rx_packets))
                .then(a.address.cmp(&b.address))
        });
        let mut arp = self.arp;
        arp.ips = self.arp_macs.len() as u64;
        let mut dup: Vec<crate::model::stats::SeveralMacs> = self
            .arp_macs
            .iter()
            .filter(|(_, m)| m.len() > 1)
            .map(|(ip, m)| crate::model::stats::SeveralMacs {
                ip: *ip,
                macs: m.iter().map(ToString::to_string).collect(),
            })
            .collect();
        dup.sort_by_key(|d| d.ip);
        arp.ips_with_several_macs = dup;
        Stats {
            file: file.to_string(),
            format: summary.format.map(|f| match f {
                crate::capture::Format::Pcap => "pcap",
                crate::capture::Format::Pcapng => "pcapng",
            }),
            packets: self.packets,
            bytes: self.bytes,
            captured_bytes: self.captured,
            first: self.first.map(|t| t.rfc3339()),
            last: self.last.map(|t| t.rfc3339()),
            duration_s: duration,
            avg_pps: rate(self.packets as f64),
            avg_bps: rate(self.bytes as f64 * 8.0),
            linktypes: summary.linktypes.clone(),
            truncated_at: summary.truncated_at,
            protocols,
            ip_conversations: conv(self.ip, false),
            tcp_conversations: conv(self.tcp, true),
            udp_conversations: conv(self.udp, false),
            endpoints,
            tcp,
            arp,
        }
    }
}

fn bump(c: &mut Conv, ab: bool, len: u64, ts: Timestamp) {
    let d = if ab { &mut c.ab } else { &mut c.ba };
    d.0 += 1;
    d.1 += len;
    c.first = c.first.min(ts);
    c.last = c.last.max(ts);
}

fn tcp_state(c: &Conv) -> &'static str {
    if c.rst {
        "reset"
    } else if c.fin_a && c.fin_b {
        "closed"
    } else if c.established {
        "established"
    } else if c.syn && !c.synack {
        "syn-unanswered"
    } else if c.synack {
        "handshake-incomplete"
    } else {
        "no-handshake-seen"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{decode, Frame, ReadSummary, Timestamp};

    fn arp_reply(ip: [u8; 4], mac: [u8; 6]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&[192, 0, 2, 99]);
        f
    }

    #[test]
    fn an_address_with_several_macs_is_listed_as_data() {
        let mut c = Collector::new();
        let frames = [
            arp_reply([192, 0, 2, 7], [2, 0, 0, 0, 0, 1]),
            arp_reply([192, 0, 2, 7], [2, 0, 0, 0, 0, 2]),
            arp_reply([192, 0, 2, 8], [2, 0, 0, 0, 0, 3]),
        ];
        for (i, data) in frames.iter().enumerate() {
            let f = Frame {
                n: i as u64 + 1,
                ts: Timestamp::default(),
                linktype: 1,
                iface: None,
                len: data.len() as u32,
                data,
            };
            c.add(&decode(&f));
        }
        let s = c.finish("t", &ReadSummary::default());
        assert_eq!(s.arp.ips, 2);
        let v = serde_json::to_value(&s.arp.ips_with_several_macs).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"ip": "192.0.2.7", "macs": ["02:00:00:00:00:01", "02:00:00:00:00:02"]}])
        );
    }
}
