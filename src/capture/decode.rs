//! Decoding a captured frame into a [`Packet`]: etherparse's lax slicer for
//! Ethernet, VLAN, IP and transport, netray's own `wire` parsers for the
//! cooked link headers, ARP and TCP options, hickory-proto for DNS.
//!
//! A damaged packet decodes as far as it is valid; the layer where it stops
//! is named in `Packet::errors`. Nothing here panics on any input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    Ethernet2Slice, Icmpv4Slice, Icmpv6Slice, IgmpSlice, IpNumber, LaxIpPayloadSlice, LaxIpSlice,
    SingleVlanSlice, TcpSlice, TransportSlice, UdpSlice,
};

use super::reader::Frame;
use crate::model::packet::{
    Arp, Cooked, Dns, DnsAnswer, DnsQuestion, Eth, FlagNames, Icmp, Igmp, IpOption, Ipv4, Ipv6,
    Ipv6Ext, LayerError, Mac, Packet, Tcp, TcpOpt, Udp, Vlan,
};
use crate::wire::{self, link, tcp::TcpOption};

/// Ports on which UDP and TCP payloads are decoded as DNS (DNS, mDNS, LLMNR).
pub const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

/// Decodes one frame.
pub fn decode(frame: &Frame<'_>) -> Packet {
    let mut p = Packet::default();
    decode_into(frame, &mut p);
    p
}

/// Decodes one frame into `p`, reusing its allocations (the hot loop of
/// `decode` keeps one `Packet` for the whole file).
pub fn decode_into(frame: &Frame<'_>, p: &mut Packet) {
    p.n = frame.n;
    p.ts = frame.ts;
    p.len = frame.len;
    p.caplen = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
    p.linktype = frame.linktype;
    p.iface = frame.iface;
    p.cooked = None;
    p.eth = None;
    p.vlan.clear();
    p.arp = None;
    p.ipv4 = None;
    p.ipv6 = None;
    p.tcp = None;
    p.udp = None;
    p.icmp = None;
    p.icmpv6 = None;
    p.igmp = None;
    if let Some(d) = p.dns.take() {
        p.dns_spare = Some(d);
    }
    p.errors.clear();
    let data = frame.data;
    p.frame_base = data.as_ptr() as usize;
    match frame.linktype {
        1 => ethernet(p, data),
        // raw IP: LINKTYPE_RAW, the DLT_RAW numbers 12 and 14, IPV4, IPV6
        12 | 14 | 101 | 228 | 229 => ip(p, data, false),
        113 | 276 => {
            let parsed = if frame.linktype == 113 {
                link::sll(data)
            } else {
                link::sll2(data)
            };
            match parsed {
                Ok(c) => {
                    p.cooked = Some(cooked(&c));
                    if let Some(t) = c.protocol {
                        ether_payload(p, t, &data[c.header_len..]);
                    }
                }
                Err(e) => p.error("link", e.to_string()),
            }
        }
        0 | 108 => match link::null(data, frame.linktype == 108) {
            Ok(c) => {
                p.cooked = Some(cooked(&c));
                ip(p, &data[c.header_len..], false);
            }
            Err(e) => p.error("link", e.to_string()),
        },
        other => p.error("link", format!("link type {other} is not decoded")),
    }
}

// The layers are sliced with etherparse's per-layer types (its
// `LaxSlicedPacket` moves a large struct through every layer, a tenth of
// the decode time); the lax rules are its cursor's: a damaged layer stops
// the ones after it and is reported, a fragmented payload is not parsed
// as a transport header (but see `first_fragment`).

/// Ethernet II (or 802.3) from the start of a frame.
fn ethernet(p: &mut Packet, data: &[u8]) {
    match Ethernet2Slice::from_slice_without_fcs(data) {
        Ok(e) => {
            let t = e.ether_type().0;
            let is_len = t <= 1500;
            p.eth = Some(Eth {
                src: Mac(e.source()),
                dst: Mac(e.destination()),
                ethertype: (!is_len).then_some(t),
                length: is_len.then_some(t),
            });
            ether_payload(p, t, e.payload().payload);
        }
        Err(e) => p.error("ethernet", e.to_string()),
    }
}

/// What follows an EtherType: up to three VLAN tags, then ARP or IP.
fn ether_payload(p: &mut Packet, mut ether_type: u16, mut payload: &[u8]) {
    for _ in 0..3 {
        if !matches!(ether_type, 0x8100 | 0x88a8 | 0x9100) {
            break;
        }
        match SingleVlanSlice::from_slice(payload) {
            Ok(v) => {
                p.vlan.push(Vlan {
                    id: v.vlan_identifier().value(),
                    pcp: v.priority_code_point().value(),
                    dei: v.drop_eligible_indicator(),
                    tpid: ether_type,
                });
                ether_type = v.ether_type().0;
                payload = v.payload_slice();
            }
            Err(e) => {
                p.error("vlan", e.to_string());
                return;
            }
        }
    }
    match ether_type {
        0x0806 => arp(p, payload),
        0x0800 | 0x86dd => ip(p, payload, false),
        _ => {}
    }
}

/// An IP packet and what it carries. `inner` is the packet inside a
/// tunnel: it fills only the layers that are still empty.
fn ip(p: &mut Packet, data: &[u8], inner: bool) {
    let (slice, stop) = match LaxIpSlice::from_slice(data) {
        Ok(x) => x,
        Err(e) => {
            p.error("ip", e.to_string());
            return;
        }
    };
    match &slice {
        LaxIpSlice::Ipv4(v4) if !inner || p.ipv4.is_none() => ipv4(p, v4),
        LaxIpSlice::Ipv6(v6) if !inner || p.ipv6.is_none() => ipv6(p, v6),
        _ => return,
    }
    if let Some((e, layer)) = &stop {
        let name = layer_name(*layer);
        let message = e.to_string();
        // the IPv6 walk may have said the same already
        if !p
            .errors
            .iter()
            .any(|x| x.layer == name && x.message == message)
        {
            p.error(name, message);
        }
    }
    let payload = slice.payload();
    let filled = p.tcp.is_some() || p.udp.is_some() || p.icmp.is_some() || p.icmpv6.is_some();
    if inner && filled {
        return;
    }
    let sliced = stop.is_none() && !payload.fragmented && transport_slice(p, payload);
    if !sliced {
        // a first fragment still starts with its transport header, which
        // tshark shows too; a header etherparse rejects keeps its fixed part
        first_fragment(p, payload);
        if p.tcp.is_none() && p.udp.is_none() && !payload.fragmented {
            fixed_transport(p, payload);
        }
    }
    if !inner && !payload.fragmented && matches!(payload.ip_number, IpNumber::IPV6 | IpNumber::IPV4)
    {
        ip(p, payload.payload, true);
    }
}

/// The transport header of an unfragmented payload; false when there is
/// none (unknown protocol) or it is damaged (the error is recorded).
fn transport_slice(p: &mut Packet, payload: &LaxIpPayloadSlice<'_>) -> bool {
    match slice_transport(p.frame_base, payload) {
        Some(Ok(t)) => {
            transport(p, &t);
            true
        }
        Some(Err((layer, message))) => {
            p.error(layer, message);
            false
        }
        None => false,
    }
}

/// Slices the transport header a payload starts with: `None` for a
/// protocol netray does not decode, `Err` with the layer and a message
/// that says where the layer starts in the frame and what limited it.
fn slice_transport<'a>(
    frame_base: usize,
    payload: &LaxIpPayloadSlice<'a>,
) -> Option<Result<TransportSlice<'a>, (&'static str, String)>> {
    use etherparse::err::{tcp::HeaderSliceError, LenError};
    use etherparse::LenSource;
    let b = payload.payload;
    let offset = (b.as_ptr() as usize).wrapping_sub(frame_base);
    let located = |mut e: LenError| {
        e.layer_start_offset += offset;
        if e.len_source == LenSource::Slice {
            e.len_source = payload.len_source;
        }
        e.to_string()
    };
    Some(match payload.ip_number {
        IpNumber::TCP => TcpSlice::from_slice(b)
            .map(TransportSlice::Tcp)
            .map_err(|e| {
                let m = match e {
                    HeaderSliceError::Len(l) => located(l),
                    other => other.to_string(),
                };
                ("tcp", m)
            }),
        IpNumber::UDP => UdpSlice::from_slice_lax(b)
            .map(TransportSlice::Udp)
            .map_err(|e| ("udp", located(e))),
        IpNumber::ICMP => Icmpv4Slice::from_slice(b)
            .map(TransportSlice::Icmpv4)
            .map_err(|e| ("icmp", located(e))),
        IpNumber::IPV6_ICMP => Icmpv6Slice::from_slice(b)
            .map(TransportSlice::Icmpv6)
            .map_err(|e| ("icmpv6", located(e))),
        IpNumber::IGMP => IgmpSlice::from_slice(b)
            .map(TransportSlice::Igmp)
            .map_err(|e| ("igmp", located(e))),
        _ => return None,
    })
}

fn cooked(c: &link::Cooked) -> Cooked {
    Cooked {
        kind: c.kind.name(),
        pkttype: c.pkttype,
        hatype: c.hatype,
        addr: (c.addr_len > 0).then(|| {
            c.addr[..usize::from(c.addr_len)]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        }),
        ifindex: c.ifindex,
        protocol: c.protocol,
        family: c.family,
    }
}

impl Packet {
    fn error(&mut self, layer: &'static str, message: String) {
        self.errors.push(LayerError { layer, message });
    }
}

fn first_fragment(p: &mut Packet, payload: &LaxIpPayloadSlice<'_>) {
    let first = p.ipv4.as_ref().is_some_and(|ip| ip.frag_offset == 0)
        || p.ipv6.as_ref().is_some_and(|ip| {
            ip.ext
                .iter()
                .any(|e| e.kind == "fragment" && e.frag_offset == Some(0))
        });
    if !payload.fragmented || !first {
        return;
    }
    // a first fragment is cut by definition: what its header says is
    // shown, what is missing is not an error
    if let Some(Ok(t)) = slice_transport(p.frame_base, payload) {
        if !matches!(t, TransportSlice::Igmp(_)) {
            transport(p, &t);
        }
    }
}

/// A TCP or UDP header that etherparse rejects (a data offset past the
/// end, say) still has its fixed part: show it, the error says the rest.
fn fixed_transport(p: &mut Packet, payload: &LaxIpPayloadSlice<'_>) {
    let b = payload.payload;
    match payload.ip_number {
        IpNumber::TCP if b.len() >= 20 => {
            let flags = (u16::from(b[12] & 0x0f) << 8) | u16::from(b[13]);
            p.tcp = Some(Tcp {
                src_port: wire::be16(b, 0),
                dst_port: wire::be16(b, 2),
                seq: wire::be32(b, 4),
                ack: wire::be32(b, 8),
                flags,
                flag_names: FlagNames(flags),
                window: wire::be16(b, 14),
                header_len: (b[12] >> 4) * 4,
                checksum: wire::be16(b, 16),
                urgent: wire::be16(b, 18),
                options: Vec::new(),
                payload_len: 0,
                payload_offset: 0,
            });
        }
        IpNumber::UDP if b.len() >= 8 => {
            p.udp = Some(Udp {
                src_port: wire::be16(b, 0),
                dst_port: wire::be16(b, 2),
                length: wire::be16(b, 4),
                checksum: wire::be16(b, 6),
                payload_len: 0,
                payload_offset: 0,
            });
        }
        _ => {}
    }
}

fn layer_name(l: etherparse::err::Layer) -> &'static str {
    use etherparse::err::Layer as L;
    match l {
        L::LinuxSllHeader => "link",
        L::Ethernet2Header | L::EtherPayload => "ethernet",
        L::VlanHeader => "vlan",
        L::MacsecHeader | L::MacsecPacket => "macsec",
        L::IpHeader => "ip",
        L::Ipv4Header | L::Ipv4Packet => "ipv4",
        L::IpAuthHeader => "ipv4",
        L::Ipv6Header
        | L::Ipv6Packet
        | L::Ipv6ExtHeader
        | L::Ipv6HopByHopHeader
        | L::Ipv6DestOptionsHeader
        | L::Ipv6RouteHeader
        | L::Ipv6FragHeader => "ipv6",
        L::UdpHeader | L::UdpPayload => "udp",
        L::TcpHeader => "tcp",
        L::Icmpv4 | L::Icmpv4Timestamp | L::Icmpv4TimestampReply => "icmp",
        L::Icmpv6 => "icmpv6",
        L::Igmp => "igmp",
        L::Arp => "arp",
    }
}

fn arp(p: &mut Packet, b: &[u8]) {
    match wire::arp::parse(b) {
        Ok(a) => {
            let ad = a.addrs;
            p.arp = Some(Arp {
                op: a.op,
                htype: a.htype,
                ptype: a.ptype,
                sender_mac: ad.map(|x| Mac(x.sender_mac)),
                sender_ip: ad.map(|x| Ipv4Addr::from(x.sender_ip)),
                target_mac: ad.map(|x| Mac(x.target_mac)),
                target_ip: ad.map(|x| Ipv4Addr::from(x.target_ip)),
            });
            if ad.is_none() {
                p.error(
                    "arp",
                    format!(
                        "hardware/protocol lengths {}/{} are not Ethernet/IPv4",
                        a.hlen, a.plen
                    ),
                );
            }
        }
        Err(e) => {
            if b.len() >= 8 {
                // the fixed part is there: keep it, report the rest
                p.arp = Some(Arp {
                    op: wire::be16(b, 6),
                    htype: wire::be16(b, 0),
                    ptype: wire::be16(b, 2),
                    sender_mac: None,
                    sender_ip: None,
                    target_mac: None,
                    target_ip: None,
                });
            }
            p.error("arp", e.to_string());
        }
    }
}

fn ipv4(p: &mut Packet, ip: &etherparse::LaxIpv4Slice<'_>) {
    let h = ip.header();
    let mut options = Vec::new();
    let opts = h.options();
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        if kind == 0 || kind == 1 {
            options.push(IpOption { kind, len: 1 });
            i += 1;
            if kind == 0 {
                break;
            }
            continue;
        }
        let Some(&len) = opts.get(i + 1) else {
            p.error(
                "ipv4",
                format!("option {kind} at offset {} has no length", 20 + i),
            );
            break;
        };
        if len < 2 || i + usize::from(len) > opts.len() {
            p.error(
                "ipv4",
                format!("option {kind} at offset {} has a bad length {len}", 20 + i),
            );
            break;
        }
        options.push(IpOption { kind, len });
        i += usize::from(len);
    }
    p.ipv4 = Some(Ipv4 {
        src: h.source_addr(),
        dst: h.destination_addr(),
        ttl: h.ttl(),
        id: h.identification(),
        protocol: h.protocol().0,
        total_len: h.total_len(),
        header_len: h.ihl() * 4,
        dscp: h.dcp().value(),
        ecn: h.ecn().value(),
        df: h.dont_fragment(),
        mf: h.more_fragments(),
        frag_offset: h.fragments_offset().value() * 8,
        checksum: h.header_checksum(),
        options,
    });
}

fn ipv6(p: &mut Packet, ip: &etherparse::LaxIpv6Slice<'_>) {
    let h = ip.header();
    let mut found = [None; 8];
    let (_, _, err) =
        wire::ipv6::extensions(h.next_header().0, ip.extensions().slice(), &mut found);
    let ext = found
        .iter()
        .flatten()
        .map(|e| Ipv6Ext {
            kind: e.name(),
            next_header: e.next_header,
            len: e.len,
            frag_offset: e.fragment.map(|f| f.0),
            more: e.fragment.map(|f| f.1),
            ident: e.fragment.map(|f| f.2),
            routing_type: e.routing.map(|r| r.0),
            segments_left: e.routing.map(|r| r.1),
        })
        .collect();
    p.ipv6 = Some(Ipv6 {
        src: h.source_addr(),
        dst: h.destination_addr(),
        next_header: h.next_header().0,
        hop_limit: h.hop_limit(),
        flow_label: h.flow_label().value(),
        traffic_class: h.traffic_class(),
        payload_len: h.payload_length(),
        ext,
    });
    if let Some(e) = err {
        // etherparse reports the cut too when it saw it; say it once
        if !p.errors.iter().any(|x| x.layer == "ipv6") {
            p.error("ipv6", e.to_string());
        }
    }
}

fn transport(p: &mut Packet, t: &TransportSlice<'_>) {
    match t {
        TransportSlice::Tcp(t) => {
            let raw = t.header_slice();
            // the 12 flag bits: the low nibble of byte 12 (AE/NS and the
            // reserved bits) and byte 13
            let flags = (u16::from(raw[12] & 0x0f) << 8) | u16::from(raw[13]);
            let mut options = Vec::new();
            for o in wire::tcp::options(t.options()) {
                match o {
                    Ok(o) => options.push(tcp_opt(o)),
                    Err(bad) => {
                        p.error(
                            "tcp",
                            format!(
                                "option {} at offset {} has a bad length",
                                bad.kind,
                                20 + bad.offset
                            ),
                        );
                        break;
                    }
                }
            }
            p.tcp = Some(Tcp {
                src_port: t.source_port(),
                dst_port: t.destination_port(),
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                flags,
                flag_names: FlagNames(flags),
                window: t.window_size(),
                header_len: t.data_offset() * 4,
                checksum: t.checksum(),
                urgent: t.urgent_pointer(),
                options,
                payload_len: t.payload().len(),
                payload_offset: (t.payload().as_ptr() as usize).wrapping_sub(p.frame_base),
            });
            dns(
                p,
                (t.source_port(), t.destination_port()),
                t.payload(),
                true,
            );
        }
        TransportSlice::Udp(u) => {
            p.udp = Some(Udp {
                src_port: u.source_port(),
                dst_port: u.destination_port(),
                length: u.length(),
                checksum: u.checksum(),
                payload_len: u.payload().len(),
                payload_offset: (u.payload().as_ptr() as usize).wrapping_sub(p.frame_base),
            });
            dns(
                p,
                (u.source_port(), u.destination_port()),
                u.payload(),
                false,
            );
        }
        TransportSlice::Icmpv4(i) => p.icmp = Some(icmp4(i.slice())),
        TransportSlice::Icmpv6(i) => p.icmpv6 = Some(icmp6(i.slice())),
        TransportSlice::Igmp(i) => {
            p.igmp = i.slice().first().map(|&kind| Igmp { kind });
        }
    }
}

fn tcp_opt(o: TcpOption) -> TcpOpt {
    match o {
        TcpOption::End => TcpOpt::Eol,
        TcpOption::Nop => TcpOpt::Nop,
        TcpOption::Mss(value) => TcpOpt::Mss { value },
        TcpOption::WindowScale(shift) => TcpOpt::Wscale { shift },
        TcpOption::SackPermitted => TcpOpt::SackPerm,
        TcpOption::Sack { blocks, count } => TcpOpt::Sack {
            blocks: (blocks, count),
        },
        TcpOption::Timestamps { value, echo } => TcpOpt::Timestamps { value, echo },
        TcpOption::Other { kind, len } => TcpOpt::Other { code: kind, len },
    }
}

/// TCP flag names, most significant first, joined by commas.
pub fn flag_names(flags: u16) -> String {
    FlagNames(flags).to_string()
}

fn be16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn icmp4(b: &[u8]) -> Icmp {
    let kind = b.first().copied().unwrap_or(0);
    let echo = matches!(kind, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18);
    Icmp {
        kind,
        code: b.get(1).copied().unwrap_or(0),
        name: icmp4_name(kind),
        checksum: be16_at(b, 2).unwrap_or(0),
        id: if echo { be16_at(b, 4) } else { None },
        seq: if echo { be16_at(b, 6) } else { None },
        target: if kind == 5 {
            b.get(4..8)
                .and_then(|g| <[u8; 4]>::try_from(g).ok())
                .map(|g| IpAddr::V4(Ipv4Addr::from(g)))
        } else {
            None
        },
    }
}

fn icmp6(b: &[u8]) -> Icmp {
    let kind = b.first().copied().unwrap_or(0);
    let echo = matches!(kind, 128 | 129);
    Icmp {
        kind,
        code: b.get(1).copied().unwrap_or(0),
        name: icmp6_name(kind),
        checksum: be16_at(b, 2).unwrap_or(0),
        id: if echo { be16_at(b, 4) } else { None },
        seq: if echo { be16_at(b, 6) } else { None },
        target: if matches!(kind, 135..=137) {
            b.get(8..24)
                .and_then(|g| <[u8; 16]>::try_from(g).ok())
                .map(|g| IpAddr::V6(Ipv6Addr::from(g)))
        } else {
            None
        },
    }
}

/// The name of an ICMPv4 type.
pub fn icmp4_name(t: u8) -> &'static str {
    match t {
        0 => "echo-reply",
        3 => "destination-unreachable",
        4 => "source-quench",
        5 => "redirect",
        8 => "echo-request",
        9 => "router-advertisement",
        10 => "router-solicitation",
        11 => "time-exceeded",
        12 => "parameter-problem",
        13 => "timestamp-request",
        14 => "timestamp-reply",
        15 => "information-request",
        16 => "information-reply",
        17 => "address-mask-request",
        18 => "address-mask-reply",
        _ => "unknown",
    }
}

/// The name of an ICMPv6 type.
pub fn icmp6_name(t: u8) -> &'static str {
    match t {
        1 => "destination-unreachable",
        2 => "packet-too-big",
        3 => "time-exceeded",
        4 => "parameter-problem",
        128 => "echo-request",
        129 => "echo-reply",
        130 => "mld-query",
        131 => "mld-report",
        132 => "mld-done",
        133 => "router-solicitation",
        134 => "router-advertisement",
        135 => "neighbor-solicitation",
        136 => "neighbor-advertisement",
        137 => "redirect",
        143 => "mldv2-report",
        _ => "unknown",
    }
}

/// DNS over UDP or TCP on the DNS, mDNS and LLMNR ports.
fn dns(p: &mut Packet, ports: (u16, u16), payload: &[u8], over_tcp: bool) {
    if !is_dns(ports.0, ports.1) || payload.is_empty() {
        return;
    }
    let msg = if over_tcp {
        // a segment that holds a whole length-prefixed message
        let Some(len) = be16_at(payload, 0) else {
            return;
        };
        match payload.get(2..2 + usize::from(len)) {
            Some(m) => m,
            None => return,
        }
    } else {
        payload
    };
    let mut d = p.dns_spare.take().unwrap_or_default();
    if p.shallow_dns {
        // the header only: what a full decode would still show of a
        // message it cannot parse (so `dns` matches the same packets)
        if msg.len() >= 12 {
            d.id = wire::be16(msg, 0);
            d.response = msg[2] & 0x80 != 0;
            d.opcode = (msg[2] >> 3) & 0x0f;
            d.rcode = u16::from(msg[3] & 0x0f);
            d.questions.clear();
            d.answers.clear();
            p.dns = Some(d);
        } else {
            p.dns_spare = Some(d);
        }
        return;
    }
    match parse_dns_into(msg, &mut d) {
        Ok(()) => p.dns = Some(d),
        Err(e) => {
            p.dns_spare = Some(d);
            // keep what the header and the first question still say
            p.dns = dns_header(msg);
            p.error("dns", e);
        }
    }
}

/// The header and the first question of a DNS message that does not
/// parse as a whole (cut by snaplen, or a first fragment).
fn dns_header(m: &[u8]) -> Option<Dns> {
    if m.len() < 12 {
        return None;
    }
    let mut questions = Vec::new();
    if wire::be16(m, 4) > 0 {
        let mut name = String::new();
        let mut i = 12;
        // plain labels only: a pointer cannot occur in the first name
        while let Some(&len) = m.get(i) {
            if len == 0 || len & 0xc0 != 0 {
                break;
            }
            let label = m.get(i + 1..i + 1 + usize::from(len))?;
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(&String::from_utf8_lossy(label));
            i += 1 + usize::from(len);
        }
        if m.get(i) == Some(&0) {
            let kind =
                be16_at(m, i + 1).map_or("", |t| hickory_proto::rr::RecordType::from(t).into());
            questions.push(DnsQuestion { name, kind });
        }
    }
    Some(Dns {
        id: wire::be16(m, 0),
        response: m[2] & 0x80 != 0,
        opcode: (m[2] >> 3) & 0x0f,
        rcode: u16::from(m[3] & 0x0f),
        questions,
        answers: Vec::new(),
    })
}

fn is_dns(a: u16, b: u16) -> bool {
    DNS_PORTS.contains(&a) || DNS_PORTS.contains(&b)
}

/// Parses a DNS message with hickory-proto: the header, the questions and
/// the answers (the authority and additional sections are not shown, so
/// they are not parsed: a damaged additional record does not hide the
/// question, and the common case costs a third of a full parse).
///
/// # Errors
/// The decoder's message, for a damaged header, question or answer.
pub fn parse_dns(msg: &[u8]) -> Result<Dns, String> {
    let mut d = Dns::default();
    parse_dns_into(msg, &mut d)?;
    Ok(d)
}

/// [`parse_dns`] into an existing value, reusing its vectors and the
/// strings of its questions and answers (one DNS message after another
/// allocates almost nothing).
///
/// # Errors
/// As [`parse_dns`]; `out` then holds a partial message.
pub fn parse_dns_into(msg: &[u8], out: &mut Dns) -> Result<(), String> {
    use hickory_proto::op::{Header, MessageType, Query};
    use hickory_proto::rr::Record;
    use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
    let mut d = BinDecoder::new(msg);
    let h = Header::read(&mut d).map_err(|e| e.to_string())?;
    out.id = h.metadata.id;
    out.response = h.metadata.message_type == MessageType::Response;
    out.opcode = u8::from(h.metadata.op_code);
    out.rcode = u16::from(h.metadata.response_code);
    let mut n = 0;
    for _ in 0..h.counts.queries {
        let q = Query::read(&mut d).map_err(|e| e.to_string())?;
        if n == out.questions.len() {
            out.questions.push(DnsQuestion {
                name: String::new(),
                kind: "",
            });
        }
        let slot = &mut out.questions[n];
        name_into(&mut slot.name, q.name());
        slot.kind = q.query_type().into();
        n += 1;
    }
    out.questions.truncate(n);
    let mut n = 0;
    for _ in 0..h.counts.answers {
        let r: Record = Record::read(&mut d).map_err(|e| e.to_string())?;
        if n == out.answers.len() {
            out.answers.push(DnsAnswer {
                name: String::new(),
                kind: "",
                ttl: 0,
                data: String::new(),
            });
        }
        let slot = &mut out.answers[n];
        slot.data.clear();
        match &r.data {
            hickory_proto::rr::RData::A(a) => crate::model::text::push_ipv4(&mut slot.data, a.0),
            hickory_proto::rr::RData::AAAA(a) => {
                crate::model::text::push_ipv6(&mut slot.data, a.0);
            }
            other => {
                use std::fmt::Write;
                let _ = write!(slot.data, "{other}");
            }
        }
        name_into(&mut slot.name, &r.name);
        slot.kind = r.record_type().into();
        slot.ttl = r.ttl;
        n += 1;
    }
    out.answers.truncate(n);
    Ok(())
}

/// A domain name without its final dot (`.` for the root), written over
/// `out`. Plain names are joined directly; anything unusual goes through
/// hickory's escaping.
fn name_into(out: &mut String, n: &hickory_proto::rr::Name) {
    // the string's own buffer, as bytes: labels are appended, then the
    // whole name is checked once (a label that needs escaping sends the
    // name through hickory's Display instead)
    let mut b = std::mem::take(out).into_bytes();
    b.clear();
    for label in n.iter() {
        if !label
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b'.' && c != b'\\')
        {
            use std::fmt::Write;
            b.clear();
            *out = String::from_utf8(b).unwrap_or_default();
            let _ = write!(out, "{n}");
            if out.len() > 1 && out.ends_with('.') {
                out.pop();
            }
            return;
        }
        if !b.is_empty() {
            b.push(b'.');
        }
        b.extend_from_slice(label);
    }
    if b.is_empty() {
        b.push(b'.');
    }
    // printable ASCII only, checked above
    *out = String::from_utf8(b).unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::packet::Timestamp;

    fn frame(linktype: u32, data: &[u8]) -> Frame<'_> {
        Frame {
            n: 1,
            ts: Timestamp::default(),
            linktype,
            iface: None,
            len: u32::try_from(data.len()).unwrap(),
            data,
        }
    }

    fn syn() -> Vec<u8> {
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64)
            .tcp(40000, 80, 1000, 64240)
            .syn()
            .write(&mut v, b"")
            .unwrap();
        v
    }

    #[test]
    fn tcp_syn_over_ethernet() {
        let d = syn();
        let p = decode(&frame(1, &d));
        let eth = p.eth.unwrap();
        assert_eq!(eth.ethertype, Some(0x0800));
        let ip = p.ipv4.unwrap();
        assert_eq!(ip.src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!((ip.ttl, ip.protocol), (64, 6));
        let t = p.tcp.unwrap();
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (40000, 80, 1000, 0x002)
        );
        assert_eq!(t.flag_names.to_string(), "SYN");
        assert!(p.errors.is_empty());
    }

    #[test]
    fn every_truncation_decodes_as_far_as_valid() {
        let d = syn();
        for n in 0..d.len() {
            let p = decode(&frame(1, &d[..n]));
            if n < 14 {
                assert!(p.eth.is_none());
                assert_eq!(p.errors[0].layer, "ethernet", "{n}");
            } else if n < 34 {
                assert!(p.eth.is_some() && p.ipv4.is_none(), "{n}");
                assert!(!p.errors.is_empty(), "{n}: a cut must be reported");
            } else {
                assert!(p.ipv4.is_some(), "{n}");
                assert!(p.tcp.is_none());
                assert_eq!(p.errors.last().unwrap().layer, "tcp", "{n}");
            }
        }
    }

    #[test]
    fn dns_query_over_udp() {
        // id 0x1234, RD, one question www.example.com A
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["www", "example", "com"] {
            q.push(u8::try_from(label.len()).unwrap());
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv6(
                [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x35],
                64,
            )
            .udp(53000, 53)
            .write(&mut v, &q)
            .unwrap();
        let p = decode(&frame(1, &v));
        let d = p.dns.unwrap();
        assert_eq!((d.id, d.response), (0x1234, false));
        assert_eq!(d.questions[0].name, "www.example.com");
        assert_eq!(d.questions[0].kind, "A");
        // a cut message (class cut off) is an error on the dns layer; the
        // header and the question's name and type stay
        let cut = v.len() - 2;
        let p = decode(&frame(1, &v[..cut]));
        assert!(p.udp.is_some());
        assert_eq!(p.errors.last().unwrap().layer, "dns");
        let d = p.dns.unwrap();
        assert_eq!(d.id, 0x1234);
        assert_eq!(d.questions[0].name, "www.example.com");
        assert_eq!(d.questions[0].kind, "A");
    }

    #[test]
    fn unknown_link_type_says_so() {
        let p = decode(&frame(147, &[1, 2, 3]));
        assert_eq!(p.errors[0].message, "link type 147 is not decoded");
    }

    #[test]
    fn flag_name_order() {
        assert_eq!(flag_names(0x012), "ACK,SYN");
        assert_eq!(flag_names(0x0ff), "CWR,ECE,URG,ACK,PSH,RST,SYN,FIN");
        assert_eq!(flag_names(0x1c2), "AE,CWR,ECE,SYN");
    }
}
