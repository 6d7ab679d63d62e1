//! A decoded packet: the JSON schema of `decode --json` (docs/json.md).
//! Layers that are absent are absent from the JSON; numbers are numbers,
//! addresses are text.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Serialize, Serializer};

use super::text::Put;

/// A packet timestamp: seconds since the epoch, nanoseconds, and how many
/// fractional digits the capture really has (6 for µs, 9 for ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// Fractional digits of the capture's resolution (0-9).
    pub digits: u8,
}

impl Timestamp {
    /// Nanoseconds since the epoch.
    pub fn as_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Writes the fraction with the capture's precision (`.123456`).
    pub fn write_fraction<P: Put + ?Sized>(&self, out: &mut P) {
        if self.digits > 0 {
            let mut frac = self.nanos;
            for _ in self.digits..9 {
                frac /= 10;
            }
            out.put(b".");
            push_padded(out, u64::from(frac), usize::from(self.digits));
        }
    }

    /// The date and time to the second, `2026-11-22T10:00:01` (without the
    /// fraction and the zone), for callers that cache it per second.
    pub fn date_time(&self) -> String {
        let mut s = String::with_capacity(20);
        let (y, mo, d, h, mi, se) = civil(self.secs);
        push_padded(&mut s, u64::try_from(y).unwrap_or(0), 4);
        s.push('-');
        push_padded(&mut s, u64::from(mo), 2);
        s.push('-');
        push_padded(&mut s, u64::from(d), 2);
        s.push('T');
        push_clock(&mut s, h, mi, se);
        s
    }

    /// RFC 3339 in UTC with the capture's precision:
    /// `2026-11-22T10:00:01.123456Z`.
    pub fn rfc3339(&self) -> String {
        let mut s = String::with_capacity(32);
        let (y, mo, d, h, mi, se) = civil(self.secs);
        push_padded(&mut s, u64::try_from(y).unwrap_or(0), 4);
        s.push('-');
        push_padded(&mut s, u64::from(mo), 2);
        s.push('-');
        push_padded(&mut s, u64::from(d), 2);
        s.push('T');
        push_clock(&mut s, h, mi, se);
        self.write_fraction(&mut s);
        s.push('Z');
        s
    }

    /// Time of day in UTC, `10:00:01.123456`.
    pub fn clock(&self) -> String {
        let mut s = String::with_capacity(18);
        let (_, _, _, h, mi, se) = civil(self.secs);
        push_clock(&mut s, h, mi, se);
        self.write_fraction(&mut s);
        s
    }
}

fn push_clock(s: &mut String, h: u32, mi: u32, se: u32) {
    push_padded(s, u64::from(h), 2);
    s.push(':');
    push_padded(s, u64::from(mi), 2);
    s.push(':');
    push_padded(s, u64::from(se), 2);
}

/// Appends `v` in decimal, zero-padded to `width` (at most 20).
pub fn push_padded<P: Put + ?Sized>(s: &mut P, v: u64, width: usize) {
    if let (Ok(small), true) = (u32::try_from(v), width <= 10) {
        let (d, n) = crate::model::text::u32_text(small, width);
        s.put_fixed(&d, n);
        return;
    }
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    s.put(&buf[start..]);
}

/// Days-from-civil inverse (Howard Hinnant's algorithm): seconds since the
/// epoch to (year, month, day, hour, minute, second) in UTC.
pub fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let t = |v: i64| u32::try_from(v).unwrap_or(0);
    (
        y,
        t(m),
        t(d),
        t(rem / 3600),
        t(rem % 3600 / 60),
        t(rem % 60),
    )
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

/// A MAC address, serialised as `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let out = super::text::mac_text(&self.0);
        s.serialize_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

/// One decoded packet.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Packet {
    /// 1-based number in the capture.
    pub n: u64,
    /// Capture time (RFC 3339 in JSON, with the capture's precision).
    pub ts: Timestamp,
    /// Length on the wire.
    pub len: u32,
    /// Bytes captured.
    pub caplen: u32,
    /// LINKTYPE_ number of the interface.
    pub linktype: u32,
    /// pcapng interface index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iface: Option<u32>,
    /// Linux cooked (SLL/SLL2) or BSD loopback header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooked: Option<Cooked>,
    /// Ethernet header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eth: Option<Eth>,
    /// 802.1Q / 802.1ad tags, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vlan: Vec<Vlan>,
    /// ARP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arp: Option<Arp>,
    /// IPv4 (the outer one when tunnelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4>,
    /// IPv6 (the inner one of 6in4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6>,
    /// TCP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<Tcp>,
    /// UDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<Udp>,
    /// ICMPv4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp: Option<Icmp>,
    /// ICMPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmpv6: Option<Icmp>,
    /// IGMP (type only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub igmp: Option<Igmp>,
    /// DNS (also mDNS and LLMNR), over UDP or TCP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    /// Where decoding stopped, per layer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LayerError>,
    /// The address of the frame's first byte while it is decoded, to
    /// locate payloads (not part of the JSON).
    #[serde(skip)]
    pub frame_base: usize,
    /// The previous packet's DNS, kept so that the next DNS message reuses
    /// its vectors and strings (not part of the JSON).
    #[serde(skip)]
    pub dns_spare: Option<Dns>,
    /// Decode DNS only as far as its header (`stats` and `follow` need to
    /// know a message is DNS, not its names). Set by the caller; kept
    /// across packets.
    #[serde(skip)]
    pub shallow_dns: bool,
}

/// A Linux cooked or BSD loopback link header.
#[derive(Debug, Clone, Serialize)]
pub struct Cooked {
    /// `sll`, `sll2`, `null` or `loop`.
    pub kind: &'static str,
    /// SLL packet type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkttype: Option<u16>,
    /// ARPHRD type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hatype: Option<u16>,
    /// Link-layer address, as hex bytes joined by colons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// SLL2 interface index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    /// EtherType carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u16>,
    /// BSD address family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<u32>,
}

/// Ethernet II or 802.3.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Eth {
    /// Source MAC.
    pub src: Mac,
    /// Destination MAC.
    pub dst: Mac,
    /// The type field (the outer TPID for tagged frames); absent for an
    /// 802.3 frame, whose field is a length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethertype: Option<u16>,
    /// The 802.3 length field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
}

/// One VLAN tag.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Vlan {
    /// VLAN identifier.
    pub id: u16,
    /// Priority code point.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// The tag protocol identifier (0x8100 802.1Q, 0x88a8 802.1ad).
    pub tpid: u16,
}

/// ARP.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Arp {
    /// Operation, as on the wire (1 request, 2 reply).
    pub op: u16,
    /// Hardware type.
    pub htype: u16,
    /// Protocol type.
    pub ptype: u16,
    /// Sender MAC (Ethernet/IPv4 ARP only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_mac: Option<Mac>,
    /// Sender IPv4.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::text::ser_opt_ipv4"
    )]
    pub sender_ip: Option<Ipv4Addr>,
    /// Target MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_mac: Option<Mac>,
    /// Target IPv4.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::text::ser_opt_ipv4"
    )]
    pub target_ip: Option<Ipv4Addr>,
}

/// IPv4.
#[derive(Debug, Clone, Serialize)]
pub struct Ipv4 {
    /// Source.
    #[serde(serialize_with = "super::text::ser_ipv4")]
    pub src: Ipv4Addr,
    /// Destination.
    #[serde(serialize_with = "super::text::ser_ipv4")]
    pub dst: Ipv4Addr,
    /// Time to live.
    pub ttl: u8,
    /// Identification.
    pub id: u16,
    /// Protocol number of the payload.
    pub protocol: u8,
    /// Total length field.
    pub total_len: u16,
    /// Header length in bytes.
    pub header_len: u8,
    /// DSCP.
    pub dscp: u8,
    /// ECN.
    pub ecn: u8,
    /// Don't fragment.
    pub df: bool,
    /// More fragments.
    pub mf: bool,
    /// Fragment offset in bytes.
    pub frag_offset: u16,
    /// Header checksum.
    pub checksum: u16,
    /// Options: type numbers with their lengths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<IpOption>,
}

/// One IPv4 option.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IpOption {
    /// Option type byte.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Option length (1 for single-byte options).
    pub len: u8,
}

/// IPv6.
#[derive(Debug, Clone, Serialize)]
pub struct Ipv6 {
    /// Source.
    pub src: Ipv6Addr,
    /// Destination.
    pub dst: Ipv6Addr,
    /// Next header of the fixed header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Flow label.
    pub flow_label: u32,
    /// Traffic class.
    pub traffic_class: u8,
    /// Payload length field.
    pub payload_len: u16,
    /// Extension headers in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ext: Vec<Ipv6Ext>,
}

/// One IPv6 extension header.
#[derive(Debug, Clone, Serialize)]
pub struct Ipv6Ext {
    /// `hop-by-hop`, `routing`, `fragment`, `destination-options`, `auth`.
    pub kind: &'static str,
    /// Its next header.
    pub next_header: u8,
    /// Length in bytes.
    pub len: usize,
    /// Fragment offset in bytes (fragment header).
    pub frag_offset: Option<u16>,
    /// More fragments (fragment header).
    pub more: Option<bool>,
    /// Identification (fragment header).
    pub ident: Option<u32>,
    /// Routing type (routing header).
    pub routing_type: Option<u8>,
    /// Segments left (routing header).
    pub segments_left: Option<u8>,
}

/// TCP.
#[derive(Debug, Clone, Serialize)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number, raw.
    pub seq: u32,
    /// Acknowledgement number, raw.
    pub ack: u32,
    /// The 12 flag bits as a number (AE 0x100 ... FIN 0x001).
    pub flags: u16,
    /// The set flags by name, `SYN,ACK` (computed from `flags`).
    pub flag_names: FlagNames,
    /// Window (unscaled).
    pub window: u16,
    /// Header length in bytes.
    pub header_len: u8,
    /// Checksum.
    pub checksum: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<TcpOpt>,
    /// Payload bytes captured.
    pub payload_len: usize,
    /// Where the payload starts in the frame's bytes (not in the JSON).
    #[serde(skip)]
    pub payload_offset: usize,
}

/// TCP flag names, most significant first, joined by commas; computed
/// from the flag bits when shown, so decoding allocates nothing for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagNames(pub u16);

impl FlagNames {
    const NAMES: [(u16, &'static str); 9] = [
        (0x100, "AE"),
        (0x080, "CWR"),
        (0x040, "ECE"),
        (0x020, "URG"),
        (0x010, "ACK"),
        (0x008, "PSH"),
        (0x004, "RST"),
        (0x002, "SYN"),
        (0x001, "FIN"),
    ];

    /// Appends the names.
    pub fn push_to<P: Put + ?Sized>(&self, s: &mut P) {
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if self.0 & bit != 0 {
                if !first {
                    s.put(b",");
                }
                first = false;
                s.put(name.as_bytes());
            }
        }
    }
}

impl fmt::Display for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.push_to(&mut s);
        f.write_str(&s)
    }
}

impl Serialize for FlagNames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = String::with_capacity(40);
        self.push_to(&mut buf);
        s.serialize_str(&buf)
    }
}

/// A TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TcpOpt {
    /// End of options.
    Eol,
    /// No-op.
    Nop,
    /// Maximum segment size.
    Mss {
        /// Bytes.
        value: u16,
    },
    /// Window scale.
    Wscale {
        /// Shift count.
        shift: u8,
    },
    /// SACK permitted.
    SackPerm,
    /// SACK blocks.
    Sack {
        /// (left, right) edges.
        #[serde(serialize_with = "sack_blocks")]
        blocks: ([(u32, u32); 4], u8),
    },
    /// Timestamps.
    Timestamps {
        /// TSval.
        value: u32,
        /// TSecr.
        echo: u32,
    },
    /// Another kind.
    Other {
        /// Kind number.
        code: u8,
        /// Length.
        len: u8,
    },
}

fn sack_blocks<S: Serializer>(b: &([(u32, u32); 4], u8), s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(b.0.iter().take(usize::from(b.1)).map(|&(l, r)| [l, r]))
}

/// UDP.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length field.
    pub length: u16,
    /// Checksum.
    pub checksum: u16,
    /// Payload bytes captured.
    pub payload_len: usize,
    /// Where the payload starts in the frame's bytes (not in the JSON).
    #[serde(skip)]
    pub payload_offset: usize,
}

/// ICMPv4 or ICMPv6.
#[derive(Debug, Clone, Serialize)]
pub struct Icmp {
    /// Type.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Code.
    pub code: u8,
    /// The type's name (`echo-request`, `neighbor-solicitation`, ...).
    pub name: &'static str,
    /// Checksum.
    pub checksum: u16,
    /// Echo identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    /// Echo sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u16>,
    /// Neighbor discovery target, or redirect gateway/target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<std::net::IpAddr>,
}

/// IGMP.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Igmp {
    /// Type.
    #[serde(rename = "type")]
    pub kind: u8,
}

/// DNS.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dns {
    /// Transaction id.
    pub id: u16,
    /// Response (true) or query.
    pub response: bool,
    /// Opcode.
    pub opcode: u8,
    /// Response code.
    pub rcode: u16,
    /// Questions.
    pub questions: Vec<DnsQuestion>,
    /// Answers.
    pub answers: Vec<DnsAnswer>,
}

/// A DNS question.
#[derive(Debug, Clone, Serialize)]
pub struct DnsQuestion {
    /// The name, without the final dot.
    pub name: String,
    /// The type (`A`, `AAAA`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// A DNS answer record.
#[derive(Debug, Clone, Serialize)]
pub struct DnsAnswer {
    /// The owner name.
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// TTL in seconds.
    pub ttl: u32,
    /// The record data as text.
    pub data: String,
}

/// Where a layer stopped decoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerError {
    /// The layer (`ethernet`, `ipv4`, `tcp`, `dns`, ...).
    pub layer: &'static str,
    /// What was wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_the_capture_precision() {
        let t = Timestamp {
            secs: 1_700_000_000,
            nanos: 123_456_789,
            digits: 6,
        };
        assert_eq!(t.rfc3339(), "2023-11-14T22:13:20.123456Z");
        let t = Timestamp { digits: 9, ..t };
        assert_eq!(t.rfc3339(), "2023-11-14T22:13:20.123456789Z");
        let t = Timestamp {
            secs: 0,
            nanos: 0,
            digits: 0,
        };
        assert_eq!(t.rfc3339(), "1970-01-01T00:00:00Z");
        let t = Timestamp {
            secs: 951_782_400,
            nanos: 5_000,
            digits: 6,
        };
        assert_eq!(t.rfc3339(), "2000-02-29T00:00:00.000005Z");
        assert_eq!(t.clock(), "00:00:00.000005");
    }

    #[test]
    fn mac_json() {
        let m = Mac([0, 0x1b, 0x21, 0xab, 0xcd, 0xef]);
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"00:1b:21:ab:cd:ef\"");
        assert_eq!(m.to_string(), "00:1b:21:ab:cd:ef");
    }
}
#[cfg(test)]
mod size_budget {
    use super::*;

    /// Every decoder thread reuses one `Packet`, and batches move many
    /// frames: the model stays small. A field that makes it grow past the
    /// budget belongs behind a `Box` or in a side table (656 bytes today).
    #[test]
    fn the_packet_model_stays_within_its_budget() {
        assert!(
            std::mem::size_of::<Packet>() <= 768,
            "{}",
            std::mem::size_of::<Packet>()
        );
        for (name, size) in [
            ("Ipv4", std::mem::size_of::<Ipv4>()),
            ("Ipv6", std::mem::size_of::<Ipv6>()),
            ("Tcp", std::mem::size_of::<Tcp>()),
            ("Dns", std::mem::size_of::<Dns>()),
            ("Icmp", std::mem::size_of::<Icmp>()),
            ("Cooked", std::mem::size_of::<Cooked>()),
        ] {
            assert!(size <= 96, "{name} is {size} bytes");
        }
    }
}
