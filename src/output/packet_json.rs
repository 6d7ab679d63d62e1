//! A hand-written JSON writer for [`Packet`]: the `--json` hot path.
//!
//! serde_json spends most of a packet's time escaping the ~40 constant key
//! names; this writer emits keys as literals and numbers and addresses
//! through `model::text`. It writes exactly what `Packet`'s `Serialize`
//! implementation writes (same keys, values and omissions), which the
//! tests check by comparing both on every packet of the fixtures and of
//! the shared corpus.

use std::net::{IpAddr, Ipv6Addr};

use crate::model::packet::{Packet, TcpOpt};
use crate::model::text::{push_ipv4, push_ipv6, push_mac, push_u64};

struct J<'a> {
    o: &'a mut Vec<u8>,
    first: bool,
}

impl J<'_> {
    #[inline]
    fn key(&mut self, k: &str) {
        if !self.first {
            self.o.push(b',');
        }
        self.first = false;
        self.o.push(b'"');
        self.o.extend_from_slice(k.as_bytes());
        self.o.extend_from_slice(b"\":");
    }
    #[inline]
    fn num(&mut self, k: &str, v: u64) {
        self.key(k);
        push_u64(self.o, v);
    }
    /// A number, or `null` for a field that does not apply.
    #[inline]
    fn num_or_null(&mut self, k: &str, v: Option<u64>) {
        self.key(k);
        match v {
            Some(v) => push_u64(self.o, v),
            None => self.o.extend_from_slice(b"null"),
        }
    }
    #[inline]
    fn boolean(&mut self, k: &str, v: bool) {
        self.key(k);
        self.o.extend_from_slice(if v { b"true" } else { b"false" });
    }
    #[inline]
    fn raw_str(&mut self, k: &str, v: &str) {
        // for values known to need no escaping (names, addresses)
        self.key(k);
        self.o.push(b'"');
        self.o.extend_from_slice(v.as_bytes());
        self.o.push(b'"');
    }
    fn text(&mut self, k: &str, v: &str) {
        self.key(k);
        escaped(self.o, v);
    }
    fn open(&mut self, k: &str) -> J<'_> {
        self.key(k);
        self.o.push(b'{');
        J {
            o: self.o,
            first: true,
        }
    }
    fn open_array(&mut self, k: &str) {
        self.key(k);
        self.o.push(b'[');
    }
    fn close_array(&mut self) {
        self.o.push(b']');
    }
    /// `"k":[{...},{...}]`, each object written by `f`.
    fn objects<T>(&mut self, k: &str, items: &[T], mut f: impl FnMut(&mut J<'_>, &T)) {
        self.open_array(k);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.o.push(b',');
            }
            self.o.push(b'{');
            let mut m = J {
                o: self.o,
                first: true,
            };
            f(&mut m, item);
        }
        self.close_array();
    }
}

impl Drop for J<'_> {
    fn drop(&mut self) {
        self.o.push(b'}');
    }
}

fn escaped(o: &mut Vec<u8>, v: &str) {
    if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        o.push(b'"');
        o.extend_from_slice(v.as_bytes());
        o.push(b'"');
    } else {
        // rare (DNS names and data with odd bytes): serde_json escapes
        let _ = serde_json::to_writer(&mut *o, v);
    }
}

fn ip6(j: &mut J<'_>, k: &str, a: &Ipv6Addr) {
    j.key(k);
    j.o.push(b'"');
    push_ipv6(j.o, *a);
    j.o.push(b'"');
}

fn mac(j: &mut J<'_>, k: &str, m: &[u8; 6]) {
    j.key(k);
    j.o.push(b'"');
    push_mac(j.o, m);
    j.o.push(b'"');
}

fn ip4(j: &mut J<'_>, k: &str, a: std::net::Ipv4Addr) {
    j.key(k);
    j.o.push(b'"');
    push_ipv4(j.o, a);
    j.o.push(b'"');
}

/// Writes packets as JSON, remembering the date-time text of the last
/// second seen (consecutive packets mostly share it).
#[derive(Debug, Default)]
pub struct JsonWriter {
    secs: Option<i64>,
    date_time: String,
}

impl JsonWriter {
    /// Appends one packet as a JSON object and a newline.
    pub fn write(&mut self, p: &Packet, o: &mut Vec<u8>) {
        if self.secs != Some(p.ts.secs) {
            self.secs = Some(p.ts.secs);
            self.date_time = p.ts.date_time();
        }
        write_with(p, &self.date_time, o);
    }
}

/// Appends one packet as a JSON object and a newline.
pub fn write_packet(p: &Packet, o: &mut Vec<u8>) {
    write_with(p, &p.ts.date_time(), o);
}

fn write_with(p: &Packet, date_time: &str, o: &mut Vec<u8>) {
    o.push(b'{');
    {
        let mut j = J { o, first: true };
        j.num("n", p.n);
        j.key("ts");
        j.o.push(b'"');
        j.o.extend_from_slice(date_time.as_bytes());
        p.ts.write_fraction(j.o);
        j.o.extend_from_slice(b"Z\"");
        j.num("len", u64::from(p.len));
        j.num("caplen", u64::from(p.caplen));
        j.num("linktype", u64::from(p.linktype));
        if let Some(i) = p.iface {
            j.num("iface", u64::from(i));
        }
        if let Some(c) = &p.cooked {
            let mut k = j.open("cooked");
            k.raw_str("kind", c.kind);
            if let Some(v) = c.pkttype {
                k.num("pkttype", u64::from(v));
            }
            if let Some(v) = c.hatype {
                k.num("hatype", u64::from(v));
            }
            if let Some(v) = &c.addr {
                k.raw_str("addr", v);
            }
            if let Some(v) = c.ifindex {
                k.num("ifindex", u64::from(v));
            }
            if let Some(v) = c.protocol {
                k.num("protocol", u64::from(v));
            }
            if let Some(v) = c.family {
                k.num("family", u64::from(v));
            }
        }
        if let Some(e) = &p.eth {
            let mut k = j.open("eth");
            mac(&mut k, "src", &e.src.0);
            mac(&mut k, "dst", &e.dst.0);
            if let Some(t) = e.ethertype {
                k.num("ethertype", u64::from(t));
            }
            if let Some(l) = e.length {
                k.num("length", u64::from(l));
            }
        }
        if !p.vlan.is_empty() {
            j.objects("vlan", &p.vlan, |k, v| {
                k.num("id", u64::from(v.id));
                k.num("pcp", u64::from(v.pcp));
                k.boolean("dei", v.dei);
                k.num("tpid", u64::from(v.tpid));
            });
        }
        if let Some(a) = &p.arp {
            let mut k = j.open("arp");
            k.num("op", u64::from(a.op));
            k.num("htype", u64::from(a.htype));
            k.num("ptype", u64::from(a.ptype));
            if let Some(m) = a.sender_mac {
                mac(&mut k, "sender_mac", &m.0);
            }
            if let Some(ip) = a.sender_ip {
                ip4(&mut k, "sender_ip", ip);
            }
            if let Some(m) = a.target_mac {
                mac(&mut k, "target_mac", &m.0);
            }
            if let Some(ip) = a.target_ip {
                ip4(&mut k, "target_ip", ip);
            }
        }
        if let Some(ip) = &p.ipv4 {
            let mut k = j.open("ipv4");
            ip4(&mut k, "src", ip.src);
            ip4(&mut k, "dst", ip.dst);
            k.num("ttl", u64::from(ip.ttl));
            k.num("id", u64::from(ip.id));
            k.num("protocol", u64::from(ip.protocol));
            k.num("total_len", u64::from(ip.total_len));
            k.num("header_len", u64::from(ip.header_len));
            k.num("dscp", u64::from(ip.dscp));
            k.num("ecn", u64::from(ip.ecn));
            k.boolean("df", ip.df);
            k.boolean("mf", ip.mf);
            k.num("frag_offset", u64::from(ip.frag_offset));
            k.num("checksum", u64::from(ip.checksum));
            if !ip.options.is_empty() {
                k.objects("options", &ip.options, |m, opt| {
                    m.num("type", u64::from(opt.kind));
                    m.num("len", u64::from(opt.len));
                });
            }
        }
        if let Some(ip) = &p.ipv6 {
            let mut k = j.open("ipv6");
            ip6(&mut k, "src", &ip.src);
            ip6(&mut k, "dst", &ip.dst);
            k.num("next_header", u64::from(ip.next_header));
            k.num("hop_limit", u64::from(ip.hop_limit));
            k.num("flow_label", u64::from(ip.flow_label));
            k.num("traffic_class", u64::from(ip.traffic_class));
            k.num("payload_len", u64::from(ip.payload_len));
            if !ip.ext.is_empty() {
                k.objects("ext", &ip.ext, |m, e| {
                    m.raw_str("kind", e.kind);
                    m.num("next_header", u64::from(e.next_header));
                    m.num("len", e.len as u64);
                    // every key on every entry: null where it does not apply
                    m.num_or_null("frag_offset", e.frag_offset.map(u64::from));
                    match e.more {
                        Some(v) => m.boolean("more", v),
                        None => {
                            m.key("more");
                            m.o.extend_from_slice(b"null");
                        }
                    }
                    m.num_or_null("ident", e.ident.map(u64::from));
                    m.num_or_null("routing_type", e.routing_type.map(u64::from));
                    m.num_or_null("segments_left", e.segments_left.map(u64::from));
                });
            }
        }
        if let Some(t) = &p.tcp {
            let mut k = j.open("tcp");
            k.num("src_port", u64::from(t.src_port));
            k.num("dst_port", u64::from(t.dst_port));
            k.num("seq", u64::from(t.seq));
            k.num("ack", u64::from(t.ack));
            k.num("flags", u64::from(t.flags));
            k.key("flag_names");
            k.o.push(b'"');
            t.flag_names.push_to(k.o);
            k.o.push(b'"');
            k.num("window", u64::from(t.window));
            k.num("header_len", u64::from(t.header_len));
            k.num("checksum", u64::from(t.checksum));
            k.num("urgent", u64::from(t.urgent));
            if !t.options.is_empty() {
                k.objects("options", &t.options, |m, opt| {
                    tcp_opt(m, opt);
                });
            }
            k.num("payload_len", t.payload_len as u64);
        }
        if let Some(u) = &p.udp {
            let mut k = j.open("udp");
            k.num("src_port", u64::from(u.src_port));
            k.num("dst_port", u64::from(u.dst_port));
            k.num("length", u64::from(u.length));
            k.num("checksum", u64::from(u.checksum));
            k.num("payload_len", u.payload_len as u64);
        }
        for (name, icmp) in [("icmp", &p.icmp), ("icmpv6", &p.icmpv6)] {
            if let Some(i) = icmp {
                let mut k = j.open(name);
                k.num("type", u64::from(i.kind));
                k.num("code", u64::from(i.code));
                k.raw_str("name", i.name);
                k.num("checksum", u64::from(i.checksum));
                if let Some(v) = i.id {
                    k.num("id", u64::from(v));
                }
                if let Some(v) = i.seq {
                    k.num("seq", u64::from(v));
                }
                match i.target {
                    Some(IpAddr::V4(a)) => ip4(&mut k, "target", a),
                    Some(IpAddr::V6(a)) => ip6(&mut k, "target", &a),
                    None => {}
                }
            }
        }
        if let Some(g) = &p.igmp {
            let mut k = j.open("igmp");
            k.num("type", u64::from(g.kind));
        }
        if let Some(d) = &p.dns {
            let mut k = j.open("dns");
            k.num("id", u64::from(d.id));
            k.boolean("response", d.response);
            k.num("opcode", u64::from(d.opcode));
            k.num("rcode", u64::from(d.rcode));
            k.objects("questions", &d.questions, |m, q| {
                m.text("name", &q.name);
                m.text("type", q.kind);
            });
            k.objects("answers", &d.answers, |m, a| {
                m.text("name", &a.name);
                m.text("type", a.kind);
                m.num("ttl", u64::from(a.ttl));
                m.text("data", &a.data);
            });
        }
        if !p.errors.is_empty() {
            j.objects("errors", &p.errors, |m, e| {
                m.raw_str("layer", e.layer);
                m.text("message", &e.message);
            });
        }
    }
    o.push(b'\n');
}

fn tcp_opt(m: &mut J<'_>, opt: &TcpOpt) {
    match opt {
        TcpOpt::Eol => m.raw_str("kind", "eol"),
        TcpOpt::Nop => m.raw_str("kind", "nop"),
        TcpOpt::Mss { value } => {
            m.raw_str("kind", "mss");
            m.num("value", u64::from(*value));
        }
        TcpOpt::Wscale { shift } => {
            m.raw_str("kind", "wscale");
            m.num("shift", u64::from(*shift));
        }
        TcpOpt::SackPerm => m.raw_str("kind", "sack_perm"),
        TcpOpt::Sack { blocks } => {
            m.raw_str("kind", "sack");
            m.open_array("blocks");
            for (i, (l, r)) in blocks.0.iter().take(usize::from(blocks.1)).enumerate() {
                if i > 0 {
                    m.o.push(b',');
                }
                m.o.push(b'[');
                push_u64(m.o, u64::from(*l));
                m.o.push(b',');
                push_u64(m.o, u64::from(*r));
                m.o.push(b']');
            }
            m.close_array();
        }
        TcpOpt::Timestamps { value, echo } => {
            m.raw_str("kind", "timestamps");
            m.num("value", u64::from(*value));
            m.num("echo", u64::from(*echo));
        }
        TcpOpt::Other { code, len } => {
            m.raw_str("kind", "other");
            m.num("code", u64::from(*code));
            m.num("len", u64::from(*len));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{decode, Frame, Timestamp};

    /// The hand-written JSON equals serde's on every kind of packet the
    /// generator of examples/gen_capture.rs makes, and on damaged ones.
    #[test]
    fn same_json_as_serde() {
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .single_vlan(etherparse::VlanId::try_new(7).unwrap())
            .ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64)
            .tcp(1, 2, 3, 4)
            .syn()
            .options(&[
                etherparse::TcpOptionElement::MaximumSegmentSize(1460),
                etherparse::TcpOptionElement::SelectiveAcknowledgement(
                    (1, 2),
                    [Some((3, 4)), None, None],
                ),
                etherparse::TcpOptionElement::Timestamp(5, 6),
            ])
            .unwrap()
            .write(&mut v, b"x")
            .unwrap();
        frames.push(v.clone());
        for cut in [10, 20, 40, 50] {
            frames.push(v[..cut].to_vec());
        }
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv6(
                [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                255,
            )
            .icmpv6_echo_request(1, 2)
            .write(&mut v, b"ping")
            .unwrap();
        frames.push(v);
        for f in &frames {
            let frame = Frame {
                n: 3,
                ts: Timestamp {
                    secs: 1,
                    nanos: 2,
                    digits: 9,
                },
                linktype: 1,
                iface: Some(0),
                len: 99,
                data: f,
            };
            let p = decode(&frame);
            let mut out = Vec::new();
            write_packet(&p, &mut out);
            let ours: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(ours, serde_json::to_value(&p).unwrap());
            assert_eq!(out.last(), Some(&b'\n'));
        }
    }
}
