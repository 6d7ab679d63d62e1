//! Writes a deterministic synthetic Ethernet pcap: a mix of TCP (with
//! handshakes, options and data), DNS over UDP, IPv6, ARP, 802.1Q and QinQ
//! tags, ICMP/ICMPv6 and IPv4 fragments, all between documentation-range
//! addresses. Used for fixtures/ and the decode benchmark.
//!
//!     cargo run --release --example gen_capture -- OUT.pcap [PACKETS] [SEED]

use std::fs::File;
use std::io::{BufWriter, Write};

use etherparse::PacketBuilder;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MACS: [[u8; 6]; 4] = [
    [0x02, 0x00, 0x5e, 0x00, 0x00, 0x01],
    [0x02, 0x00, 0x5e, 0x00, 0x00, 0x02],
    [0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5d],
    [0x3c, 0xfd, 0xfe, 0x01, 0x02, 0x03],
];

/// One of 96 hosts: a LAN of 32 and two remote networks of 32, so that
/// the capture has as many IP conversations as a site's traffic, not one
/// per packet.
fn v4(r: &mut Rng) -> [u8; 4] {
    let host = (1 + r.below(32)) as u8;
    match r.below(3) {
        0 => [192, 0, 2, host],
        1 => [198, 51, 100, host],
        _ => [203, 0, 113, host],
    }
}

fn v6(r: &mut Rng) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[15] = (1 + r.below(32)) as u8;
    a[7] = r.below(4) as u8;
    a
}

fn dns_message(r: &mut Rng, response: bool) -> Vec<u8> {
    let id = r.below(65536) as u16;
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if response {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    m.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
    let names = [
        "www.example.com",
        "mail.example.org",
        "api.example.net",
        "ns1.example.com",
    ];
    for label in names[r.below(4) as usize].split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&[0, 1, 0, 1]);
    if response {
        // a pointer to the question name, A, IN, TTL 300, 192.0.2.x
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2]);
        m.push((1 + r.below(254)) as u8);
    }
    m
}

/// A TCP connection: packets of the capture belong to a bounded set of
/// flows, as in real traffic, each with its own sequence numbers.
struct Flow {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
}

fn packet(r: &mut Rng, flows: &mut [Flow], i: u64, out: &mut Vec<u8>) {
    out.clear();
    let (s, d) = (MACS[(i % 4) as usize], MACS[((i + 1) % 4) as usize]);
    let payload: Vec<u8> = (0..r.below(160)).map(|k| b'a' + (k % 26) as u8).collect();
    let kind = r.below(100);
    let res = match kind {
        0..=34 => {
            let k = r.below(flows.len() as u64) as usize;
            let f = &mut flows[k];
            let b = PacketBuilder::ethernet2(s, d).ipv4(f.src, f.dst, 64);
            let seq = f.seq;
            f.seq = f.seq.wrapping_add(payload.len() as u32);
            let ack = f.ack;
            let t = b.tcp(f.sport, f.dport, seq, 64240);
            match r.below(8) {
                0 => t
                    .syn()
                    .options(&[
                        etherparse::TcpOptionElement::MaximumSegmentSize(1460),
                        etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted,
                        etherparse::TcpOptionElement::Timestamp(r.next() as u32, 0),
                        etherparse::TcpOptionElement::Noop,
                        etherparse::TcpOptionElement::WindowScale(7),
                    ])
                    .map_or(Ok(()), |t| t.write(out, &[])),
                1 => t.ack(ack).fin().write(out, &[]),
                _ => t.ack(ack).psh().write(out, &payload),
            }
        }
        35..=49 => {
            let resp = r.below(2) == 1;
            let (sp, dp) = if resp {
                (53, 50000 + r.below(10000) as u16)
            } else {
                (50000 + r.below(10000) as u16, 53)
            };
            PacketBuilder::ethernet2(s, d)
                .ipv4(v4(r), v4(r), 64)
                .udp(sp, dp)
                .write(out, &dns_message(r, resp))
        }
        50..=59 => {
            if r.below(2) == 0 {
                // the IPv6 side of the same bounded set of connections
                let f = &mut flows[r.below(flows.len() as u64) as usize];
                let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
                a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                b[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                a[12..].copy_from_slice(&f.src);
                b[12..].copy_from_slice(&f.dst);
                let seq = f.seq;
                f.seq = f.seq.wrapping_add(payload.len() as u32);
                PacketBuilder::ethernet2(s, d)
                    .ipv6(a, b, 64)
                    .tcp(f.sport, f.dport, seq, 65535)
                    .ack(f.ack)
                    .write(out, &payload)
            } else {
                PacketBuilder::ethernet2(s, d)
                    .ipv6(v6(r), v6(r), 64)
                    .udp(5353, 5353)
                    .write(out, &dns_message(r, false))
            }
        }
        60..=64 => {
            // ARP request or reply, written by hand (42 bytes)
            let op: u16 = if r.below(2) == 0 { 1 } else { 2 };
            out.extend_from_slice(&if op == 1 { [0xff; 6] } else { d });
            out.extend_from_slice(&s);
            out.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
            out.extend_from_slice(&op.to_be_bytes());
            out.extend_from_slice(&s);
            out.extend_from_slice(&v4(r));
            out.extend_from_slice(&if op == 1 { [0; 6] } else { d });
            out.extend_from_slice(&v4(r));
            Ok(())
        }
        65..=74 => {
            let b = if r.below(3) == 0 {
                PacketBuilder::ethernet2(s, d).double_vlan(
                    etherparse::VlanId::try_new(100).unwrap_or_default(),
                    etherparse::VlanId::try_new(20).unwrap_or_default(),
                )
            } else {
                PacketBuilder::ethernet2(s, d).single_vlan(
                    etherparse::VlanId::try_new(10 + r.below(5) as u16).unwrap_or_default(),
                )
            };
            b.ipv4(v4(r), v4(r), 64)
                .udp(12345, 9999)
                .write(out, &payload)
        }
        75..=84 => match r.below(3) {
            0 => PacketBuilder::ethernet2(s, d)
                .ipv4(v4(r), v4(r), 64)
                .icmpv4_echo_request(r.below(65536) as u16, (i % 65536) as u16)
                .write(out, &payload[..payload.len().min(56)]),
            1 => PacketBuilder::ethernet2(s, d)
                .ipv6(v6(r), v6(r), 64)
                .icmpv6_echo_request(7, (i % 65536) as u16)
                .write(out, &payload[..payload.len().min(56)]),
            _ => PacketBuilder::ethernet2(s, d)
                .ipv4(v4(r), v4(r), 64)
                .icmpv4_echo_reply(r.below(65536) as u16, (i % 65536) as u16)
                .write(out, &[]),
        },
        85..=89 => {
            // an IPv4 fragment: the first (MF, carries the UDP header) or a later one
            let first = r.below(2) == 0;
            let mut ip = etherparse::Ipv4Header::new(
                if first { 8 + 64 } else { 64 },
                64,
                etherparse::IpNumber::UDP,
                v4(r),
                v4(r),
            )
            .unwrap_or_default();
            ip.identification = (i % 65536) as u16;
            ip.more_fragments = first;
            ip.fragment_offset =
                etherparse::IpFragOffset::try_new(if first { 0 } else { 9 }).unwrap_or_default();
            ip.header_checksum = ip.calc_header_checksum();
            out.extend_from_slice(&d);
            out.extend_from_slice(&s);
            out.extend_from_slice(&[0x08, 0x00]);
            let _ = ip.write(out);
            if first {
                out.extend_from_slice(&[0x30, 0x39, 0x27, 0x0f, 0x00, 0x98, 0, 0]);
            }
            out.extend_from_slice(&[0x5a; 64]);
            Ok(())
        }
        _ => PacketBuilder::ethernet2(s, d)
            .ipv4(v4(r), v4(r), 64)
            .udp(40000, 123)
            .write(out, &payload),
    };
    if res.is_err() {
        out.clear();
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("capture.pcap", String::as_str);
    let count: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seed: u64 = args
        .get(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_261_122);
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    // pcap global header: LE magic, v2.4, thiszone 0, sigfigs 0, snaplen, Ethernet
    w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&[0; 8])?;
    w.write_all(&65535u32.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())?;
    let mut r = Rng(seed | 1);
    let mut flows: Vec<Flow> = (0..512)
        .map(|k| Flow {
            src: v4(&mut r),
            dst: v4(&mut r),
            sport: 40000 + k as u16,
            dport: [80, 443, 22][k % 3],
            seq: r.next() as u32,
            ack: r.next() as u32,
        })
        .collect();
    let mut buf = Vec::with_capacity(2048);
    let t0: u64 = 1_795_000_000; // 2026-11-18
    for i in 0..count {
        packet(&mut r, &mut flows, i, &mut buf);
        if buf.is_empty() {
            continue;
        }
        let micros = i * 137 + r.below(100);
        let len = buf.len() as u32;
        w.write_all(&((t0 + micros / 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&((micros % 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&buf)?;
    }
    w.flush()
}
