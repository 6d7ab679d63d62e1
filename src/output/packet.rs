//! Views of decoded packets: one line per packet (tcpdump -n style), a
//! layer tree (-v), hex and ASCII (-x), and NDJSON.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use crate::model::packet::{Packet, TcpOpt, Timestamp};
use crate::model::text::{push_hex4, push_ipv4, push_ipv6, push_mac, push_u64, Put};

/// A text buffer of bytes: the summary path appends ASCII without the
/// UTF-8 checks a `String` would make on every piece.
#[derive(Debug, Default)]
pub struct Buf(pub Vec<u8>);

impl Buf {
    /// Appends text.
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.put(s.as_bytes());
    }

    /// Appends text that came from outside, escaped for a terminal
    /// ([`super::safe`]).
    #[inline]
    pub fn push_wire(&mut self, s: &str) {
        if super::safe::is_clean(s) {
            self.push_str(s);
        } else {
            self.push_str(&super::safe::esc(s));
        }
    }

    /// Appends a character.
    #[inline]
    pub fn push(&mut self, c: char) {
        if c.is_ascii() {
            self.0.push(c as u8);
        } else {
            let mut b = [0u8; 4];
            self.0.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Empties the buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The text (lossy for the rare non-UTF-8 byte).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl Put for Buf {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    #[inline]
    fn put_fixed<const N: usize>(&mut self, b: &[u8; N], len: usize) {
        self.0.put_fixed(b, len);
    }
}

impl std::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// How the time column is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeMode {
    /// Time of day in UTC, like tcpdump.
    #[default]
    Abs,
    /// Seconds since the first packet.
    Rel,
    /// Seconds since the previous packet.
    Delta,
    /// Seconds since the epoch.
    Epoch,
}

/// Writes packets in the chosen view, keeping what the time column needs.
pub struct PacketWriter {
    time: TimeMode,
    first: Option<Timestamp>,
    prev: Option<Timestamp>,
    buf: Buf,
    clock_secs: Option<i64>,
    clock: String,
}

fn digits(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

impl PacketWriter {
    /// A writer with a time mode.
    pub fn new(time: TimeMode) -> Self {
        PacketWriter {
            time,
            first: None,
            prev: None,
            buf: Buf(Vec::with_capacity(256)),
            clock_secs: None,
            clock: String::new(),
        }
    }

    /// Sets the timestamps of the first packet and of the one before the
    /// next (when another thread wrote the packets before).
    pub fn seed(&mut self, first: Option<Timestamp>, prev: Option<Timestamp>) {
        self.first = first;
        self.prev = prev;
    }

    fn time(&mut self, p: &Packet) {
        let first = *self.first.get_or_insert(p.ts);
        let prev = self.prev.replace(p.ts).unwrap_or(p.ts);
        match self.time {
            TimeMode::Abs => {
                // the clock text changes once a second: reuse it
                if self.clock_secs != Some(p.ts.secs) {
                    self.clock_secs = Some(p.ts.secs);
                    self.clock = Timestamp {
                        nanos: 0,
                        digits: 0,
                        ..p.ts
                    }
                    .clock();
                }
                self.buf.push_str(&self.clock);
                p.ts.write_fraction(&mut self.buf);
            }
            TimeMode::Epoch => {
                let _ = write!(self.buf, "{}", p.ts.secs);
                p.ts.write_fraction(&mut self.buf);
            }
            TimeMode::Rel => seconds(
                &mut self.buf,
                p.ts.as_nanos() - first.as_nanos(),
                p.ts.digits,
            ),
            TimeMode::Delta => seconds(
                &mut self.buf,
                p.ts.as_nanos() - prev.as_nanos(),
                p.ts.digits,
            ),
        }
    }

    /// One summary line.
    ///
    /// # Errors
    /// Write failures.
    pub fn line(&mut self, p: &Packet, w: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        self.build_line(p);
        w.write_all(&self.buf.0)
    }

    /// One summary line appended to `out` directly (the pipeline's path:
    /// no copy through the writer's own buffer).
    pub fn line_into(&mut self, p: &Packet, out: &mut Vec<u8>) {
        std::mem::swap(&mut self.buf.0, out);
        self.build_line(p);
        std::mem::swap(&mut self.buf.0, out);
    }

    fn build_line(&mut self, p: &Packet) {
        for _ in digits(p.n)..5 {
            self.buf.push(' ');
        }
        push_u64(&mut self.buf, p.n);
        self.buf.push(' ');
        self.time(p);
        self.buf.push(' ');
        summary(p, &mut self.buf);
        self.buf.push('\n');
    }

    /// The summary line, then every field of every layer as a tree.
    ///
    /// # Errors
    /// Write failures.
    pub fn tree(&mut self, p: &Packet, w: &mut dyn Write) -> io::Result<()> {
        self.line(p, w)?;
        self.buf.clear();
        tree(p, &mut self.buf);
        w.write_all(&self.buf.0)
    }

    /// The bytes in hex and ASCII, 16 a row, with offsets.
    ///
    /// # Errors
    /// Write failures.
    pub fn hex(&mut self, data: &[u8], w: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        hexdump(data, &mut self.buf);
        w.write_all(&self.buf.0)
    }

    /// The hex view straight into `out`, 64 KiB of the frame at a time,
    /// calling `spill` whenever `out` holds a part's worth: a 16 MiB frame
    /// never exists as one 75 MB text.
    pub fn hex_streamed(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        spill: &mut dyn FnMut(&mut Vec<u8>),
    ) {
        const PIECE: usize = 64 << 10;
        for (i, piece) in data.chunks(PIECE).enumerate() {
            let mut b = Buf(std::mem::take(out));
            hexdump_at(piece, i * PIECE, &mut b);
            *out = b.0;
            if out.len() >= crate::capture::pipeline::SPILL {
                spill(out);
            }
        }
    }
}

fn seconds(s: &mut Buf, nanos: i128, digits: u8) {
    let n = nanos.unsigned_abs();
    let t = Timestamp {
        secs: i64::try_from(n / 1_000_000_000).unwrap_or(i64::MAX),
        nanos: u32::try_from(n % 1_000_000_000).unwrap_or(0),
        digits,
    };
    if nanos < 0 {
        s.push('-');
    }
    let _ = write!(s, "{}", t.secs);
    t.write_fraction(s);
}

/// tcpdump's flag letters: S SYN, F FIN, R RST, P PSH, U URG, E ECE,
/// W CWR, e AE, `.` ACK; `none` when no flag is set.
pub fn flag_letters(flags: u16, s: &mut Buf) {
    let start = s.len();
    for (bit, c) in [
        (0x002, 'S'),
        (0x001, 'F'),
        (0x004, 'R'),
        (0x008, 'P'),
        (0x020, 'U'),
        (0x040, 'E'),
        (0x080, 'W'),
        (0x100, 'e'),
        (0x010, '.'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    if s.len() == start {
        s.push_str("none");
    }
}

/// `addr.port` as tcpdump writes it (also for IPv6).
fn endpoint(s: &mut Buf, a: IpAddr, port: Option<u16>) {
    match a {
        IpAddr::V4(v4) => push_ipv4(s, v4),
        IpAddr::V6(v6) => push_ipv6(s, v6),
    }
    if let Some(p) = port {
        s.push('.');
        push_u64(s, u64::from(p));
    }
}

/// The one-line summary of a packet (after number and time).
pub fn summary(p: &Packet, s: &mut Buf) {
    let (src, dst): (Option<IpAddr>, Option<IpAddr>) = match (&p.ipv4, &p.ipv6) {
        (Some(v4), None) => (Some(v4.src.into()), Some(v4.dst.into())),
        (_, Some(v6)) => (Some(v6.src.into()), Some(v6.dst.into())),
        _ => (None, None),
    };
    let ports = p
        .tcp
        .as_ref()
        .map(|t| (t.src_port, t.dst_port))
        .or_else(|| p.udp.as_ref().map(|u| (u.src_port, u.dst_port)));
    if !p.vlan.is_empty() {
        s.push_str("vlan ");
        for (i, v) in p.vlan.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_u64(s, u64::from(v.id));
        }
        s.push(' ');
    }
    if let (Some(a), Some(b)) = (src, dst) {
        endpoint(s, a, ports.map(|x| x.0));
        s.push_str(" > ");
        endpoint(s, b, ports.map(|x| x.1));
        s.push_str(": ");
    } else if let Some(e) = &p.eth {
        push_mac(s, &e.src.0);
        s.push_str(" > ");
        push_mac(s, &e.dst.0);
        s.push_str(": ");
    }
    info(p, s);
    if !p.errors.is_empty() {
        for e in &p.errors {
            let _ = write!(s, " [{} stops: {}]", e.layer, super::safe::Esc(&e.message));
        }
    }
}

fn info(p: &Packet, s: &mut Buf) {
    if let Some(a) = &p.arp {
        let ip = |s: &mut Buf, x: Option<std::net::Ipv4Addr>| match x {
            Some(a) => push_ipv4(s, a),
            None => s.push('?'),
        };
        match a.op {
            1 => {
                s.push_str("ARP who-has ");
                ip(s, a.target_ip);
                s.push_str(" tell ");
                ip(s, a.sender_ip);
            }
            2 => {
                s.push_str("ARP ");
                ip(s, a.sender_ip);
                s.push_str(" is-at ");
                match a.sender_mac {
                    Some(m) => push_mac(s, &m.0),
                    None => s.push('?'),
                }
            }
            op => {
                s.push_str("ARP op ");
                push_u64(s, u64::from(op));
            }
        }
        return;
    }
    if let Some(d) = &p.dns {
        s.push_str(if p.tcp.is_some() {
            "DNS/TCP "
        } else {
            "DNS/UDP "
        });
        if d.response {
            s.push_str("response ");
            push_hex4(s, d.id);
            s.push(' ');
            s.push_str(rcode_name(d.rcode));
        } else {
            s.push_str("query ");
            push_hex4(s, d.id);
        }
        for q in &d.questions {
            s.push(' ');
            s.push_str(q.kind);
            s.push(' ');
            s.push_wire(&q.name);
        }
        if !d.answers.is_empty() {
            s.push_str(" ->");
            for (i, a) in d.answers.iter().enumerate() {
                if i == 3 {
                    let _ = write!(s, " (+{} more)", d.answers.len() - 3);
                    break;
                }
                s.push(' ');
                s.push_str(a.kind);
                s.push(' ');
                s.push_wire(&a.data);
            }
        }
        return;
    }
    if let Some(t) = &p.tcp {
        s.push_str("TCP [");
        flag_letters(t.flags, s);
        s.push_str("] seq ");
        push_u64(s, u64::from(t.seq));
        if t.flags & 0x010 != 0 {
            s.push_str(" ack ");
            push_u64(s, u64::from(t.ack));
        }
        s.push_str(" win ");
        push_u64(s, u64::from(t.window));
        if !t.options.is_empty() {
            s.push_str(" [");
            for (i, o) in t.options.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                tcp_option(o, s);
            }
            s.push(']');
        }
        s.push_str(" len ");
        push_u64(s, t.payload_len as u64);
        return;
    }
    if let Some(u) = &p.udp {
        s.push_str("UDP len ");
        push_u64(s, u64::from(u.length.saturating_sub(8)));
        return;
    }
    for (name, icmp) in [("ICMP", &p.icmp), ("ICMPv6", &p.icmpv6)] {
        if let Some(i) = icmp {
            s.push_str(name);
            s.push(' ');
            s.push_str(i.name);
            if i.name == "unknown" {
                let _ = write!(s, " type {}", i.kind);
            }
            if i.code != 0 {
                let _ = write!(s, " code {}", i.code);
            }
            if let (Some(id), Some(seq)) = (i.id, i.seq) {
                s.push_str(" id ");
                push_u64(s, u64::from(id));
                s.push_str(" seq ");
                push_u64(s, u64::from(seq));
            }
            if let Some(t) = i.target {
                let _ = write!(s, " target {t}");
            }
            return;
        }
    }
    if let Some(g) = &p.igmp {
        let _ = write!(s, "IGMP type 0x{:02x}", g.kind);
        return;
    }
    if let Some(ip) = &p.ipv4 {
        if ip.mf || ip.frag_offset > 0 {
            s.push_str("IPv4 fragment id ");
            push_hex4(s, ip.id);
            s.push_str(" offset ");
            push_u64(s, u64::from(ip.frag_offset));
            s.push_str(if ip.mf {
                " (more) proto "
            } else {
                " (last) proto "
            });
            push_u64(s, u64::from(ip.protocol));
        } else {
            s.push_str("IPv4 proto ");
            push_u64(s, u64::from(ip.protocol));
            s.push_str(" len ");
            push_u64(s, u64::from(ip.total_len));
        }
        return;
    }
    if let Some(ip) = &p.ipv6 {
        if let Some(f) = ip.ext.iter().find(|e| e.kind == "fragment") {
            let _ = write!(
                s,
                "IPv6 fragment id 0x{:08x} offset {}{} next {}",
                f.ident.unwrap_or(0),
                f.frag_offset.unwrap_or(0),
                if f.more == Some(true) {
                    " (more)"
                } else {
                    " (last)"
                },
                f.next_header
            );
        } else {
            let last = ip.ext.last().map_or(ip.next_header, |e| e.next_header);
            let _ = write!(s, "IPv6 next {} len {}", last, ip.payload_len);
        }
        return;
    }
    if let Some(e) = &p.eth {
        match (e.ethertype, e.length) {
            (Some(t), _) => {
                let t = p.vlan.last().map_or(t, |_| t);
                let _ = write!(s, "ethertype 0x{t:04x} len {}", p.len);
            }
            (None, Some(l)) => {
                let _ = write!(s, "802.3 length {l}");
            }
            _ => {}
        }
        return;
    }
    if let Some(c) = &p.cooked {
        let _ = write!(s, "{} ", c.kind);
        if let Some(t) = c.protocol {
            let _ = write!(s, "protocol 0x{t:04x}");
        } else if let Some(f) = c.family {
            let _ = write!(s, "family {f}");
        }
        return;
    }
    let _ = write!(s, "linktype {} len {}", p.linktype, p.len);
}

fn tcp_option(o: &TcpOpt, s: &mut Buf) {
    let _ = match o {
        TcpOpt::Eol => write!(s, "eol"),
        TcpOpt::Nop => write!(s, "nop"),
        TcpOpt::Mss { value } => {
            s.push_str("mss ");
            push_u64(s, u64::from(*value));
            Ok(())
        }
        TcpOpt::Wscale { shift } => write!(s, "wscale {shift}"),
        TcpOpt::SackPerm => write!(s, "sackOK"),
        TcpOpt::Sack { blocks } => {
            let _ = write!(s, "sack {}", blocks.1);
            for (l, r) in blocks.0.iter().take(usize::from(blocks.1)) {
                let _ = write!(s, " {{{l}:{r}}}");
            }
            Ok(())
        }
        TcpOpt::Timestamps { value, echo } => {
            s.push_str("TS val ");
            push_u64(s, u64::from(*value));
            s.push_str(" ecr ");
            push_u64(s, u64::from(*echo));
            Ok(())
        }
        TcpOpt::Other { code, len } => write!(s, "opt-{code}:{len}"),
    };
}

/// The name of a DNS response code.
pub fn rcode_name(r: u16) -> &'static str {
    match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "RCODE",
    }
}

/// Every layer as an indented tree, from the packet's JSON form so that no
/// field is left out of one view and shown in the other.
fn tree(p: &Packet, s: &mut Buf) {
    let _ = writeln!(
        s,
        "    frame: {} bytes on the wire, {} captured, linktype {}{}, {}",
        p.len,
        p.caplen,
        p.linktype,
        p.iface
            .map_or_else(String::new, |i| format!(", interface {i}")),
        p.ts.rfc3339()
    );
    // the JSON form, in layer order, so no field is left out of one view
    // and shown in the other
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(p) else {
        return;
    };
    for (k, v) in map {
        if matches!(
            k.as_str(),
            "n" | "ts" | "len" | "caplen" | "linktype" | "iface"
        ) {
            continue;
        }
        node(s, 1, &k, &v);
    }
}

/// `aa:bb:cc:dd:ee:ff` back to bytes (the tree's MAC fields: exactly
/// that form, so that no other text is taken for one).
fn parse_mac(t: &str) -> Option<[u8; 6]> {
    (t.len() == 17)
        .then(|| crate::model::text::parse_mac(t))
        .flatten()
}

fn node(s: &mut Buf, depth: usize, key: &str, v: &serde_json::Value) {
    use serde_json::Value;
    let pad = "    ".repeat(depth);
    match v {
        Value::Object(m) => {
            let _ = writeln!(s, "{pad}{key}:");
            for (k, v) in m {
                node(s, depth + 1, k, v);
            }
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let items: Vec<String> = a.iter().map(scalar).collect();
            let _ = writeln!(s, "{pad}{key}: [{}]", items.join(", "));
        }
        Value::Array(a) => {
            let _ = writeln!(s, "{pad}{key}:");
            for (i, x) in a.iter().enumerate() {
                match x {
                    // a flat object on one line: `- kind mss, value 1460`
                    Value::Object(m) if m.values().all(|v| !v.is_object()) => {
                        let fields: Vec<String> = m
                            .iter()
                            .map(|(k, v)| format!("{k} {}", scalar(v)))
                            .collect();
                        let _ = writeln!(s, "{pad}    - {}", fields.join(", "));
                    }
                    _ => node(s, depth + 1, &format!("[{i}]"), x),
                }
            }
        }
        _ => {
            let hex = matches!(key, "ethertype" | "checksum" | "tpid" | "ptype") && v.is_u64();
            let text = if hex {
                format!("0x{:04x} ({})", v.as_u64().unwrap_or(0), v)
            } else if let Some(mac) = v.as_str().and_then(parse_mac) {
                // hardware addresses with their vendor (or kind)
                match crate::oui::vendor(mac) {
                    crate::oui::Vendor::Registered(name) => format!("{} ({name})", scalar(v)),
                    other => format!("{} {other}", scalar(v)),
                }
            } else {
                scalar(v)
            };
            let _ = writeln!(s, "{pad}{key}: {text}");
        }
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        // every string of the tree may come from the wire
        serde_json::Value::String(t) => super::safe::esc(t).into_owned(),
        serde_json::Value::Array(a) => {
            format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

/// `offset  hex bytes  |ascii|`, 16 bytes a row.
pub fn hexdump(data: &[u8], s: &mut Buf) {
    hexdump_at(data, 0, s);
}

/// [`hexdump`] of bytes that start at `offset` of their frame.
pub fn hexdump_at(data: &[u8], offset: usize, s: &mut Buf) {
    for (row, chunk) in data.chunks(16).enumerate() {
        let _ = write!(s, "    {:04x}  ", offset + row * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(s, "{b:02x} ");
                }
                None => s.push_str("   "),
            }
            if i == 7 {
                s.push(' ');
            }
        }
        s.push_str(" |");
        for &b in chunk {
            s.push(if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            });
        }
        s.push_str("|\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        let mut s = Buf::default();
        flag_letters(0x012, &mut s);
        assert_eq!(s.text(), "S.");
        s.clear();
        flag_letters(0, &mut s);
        assert_eq!(s.text(), "none");
    }

    #[test]
    fn hex_rows() {
        let mut s = Buf::default();
        hexdump(b"ABCDEFGHIJKLMNOPQ\x00", &mut s);
        assert_eq!(
            s.text(),
            "    0000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n    0010  51 00                                             |Q.|\n"
        );
    }
}
