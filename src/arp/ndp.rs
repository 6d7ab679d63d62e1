//! IPv6's ARP: neighbour discovery (RFC 4861). A sweep asks all nodes
//! at once (an ICMPv6 echo to ff02::1) when the prefix is too large to
//! walk, then sends a neighbour solicitation to each address that
//! answered (or to each address of a small prefix), to the address's
//! solicited-node multicast group, and reads the MAC from the
//! advertisement's target link-layer option. Frames are built and read
//! with etherparse (checksums included).

use std::collections::HashMap;
use std::io;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use etherparse::{Icmpv6Type, LaxNetSlice, LaxSlicedPacket, PacketBuilder, TransportSlice};

use crate::link::channel::FrameIo;

/// `ff02::1:ffXX:XXXX` for an address.
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The Ethernet group address of an IPv6 multicast address (33:33 + its
/// last 32 bits).
pub fn multicast_mac(a: Ipv6Addr) -> [u8; 6] {
    let o = a.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An echo request to all nodes on the link.
pub fn echo_all_nodes(me_mac: [u8; 6], me_ip: Ipv6Addr, id: u16, seq: u16) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(me_mac, multicast_mac(ALL_NODES))
        .ipv6(me_ip.octets(), ALL_NODES.octets(), 255)
        .icmpv6_echo_request(id, seq);
    let payload = b"netray ndp sweep";
    let mut v = Vec::with_capacity(b.size(payload.len()));
    // writing into a Vec only fails on a payload too large for IPv6
    let _ = b.write(&mut v, payload);
    v
}

/// A neighbour solicitation for `target`, with our link-layer address.
pub fn solicit(me_mac: [u8; 6], me_ip: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let group = solicited_node(target);
    let b = PacketBuilder::ethernet2(me_mac, multicast_mac(group))
        .ipv6(me_ip.octets(), group.octets(), 255)
        .icmpv6(Icmpv6Type::NeighborSolicitation);
    // target address, then the source link-layer address option
    let mut payload = Vec::with_capacity(24);
    payload.extend_from_slice(&target.octets());
    payload.extend_from_slice(&[1, 1]);
    payload.extend_from_slice(&me_mac);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    let _ = b.write(&mut v, &payload);
    v
}

/// A solicited advertisement of our own address, to the station that
/// asked (with our link-layer address as the target option).
pub fn advert(me_mac: [u8; 6], me_ip: Ipv6Addr, to_mac: [u8; 6], to_ip: Ipv6Addr) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(me_mac, to_mac)
        .ipv6(me_ip.octets(), to_ip.octets(), 255)
        .icmpv6(Icmpv6Type::NeighborAdvertisement(
            etherparse::icmpv6::NeighborAdvertisementHeader {
                router: false,
                solicited: true,
                r#override: true,
            },
        ));
    let mut payload = Vec::with_capacity(24);
    payload.extend_from_slice(&me_ip.octets());
    payload.extend_from_slice(&[2, 1]);
    payload.extend_from_slice(&me_mac);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    let _ = b.write(&mut v, &payload);
    v
}

/// What a sweep listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// An echo reply from `src` (its MAC: the frame's source).
    EchoReply {
        /// Who answered.
        src: Ipv6Addr,
        /// The frame's source MAC.
        mac: [u8; 6],
    },
    /// A neighbour solicitation: `src` (at `mac`) asks for `target`.
    Solicit {
        /// Who asks.
        src: Ipv6Addr,
        /// Its MAC (source link-layer option, else the frame's source).
        mac: [u8; 6],
        /// The address asked for.
        target: Ipv6Addr,
    },
    /// A neighbour advertisement: `target` is at `mac`.
    Advert {
        /// The address advertised.
        target: Ipv6Addr,
        /// Its MAC (target link-layer option, else the frame's source).
        mac: [u8; 6],
    },
}

/// Reads an Ethernet frame as an echo reply or an advertisement.
pub fn parse(frame: &[u8]) -> Option<Heard> {
    let p = LaxSlicedPacket::from_ethernet(frame).ok()?;
    let eth_src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let Some(LaxNetSlice::Ipv6(ip)) = &p.net else {
        return None;
    };
    let src = ip.header().source_addr();
    let Some(TransportSlice::Icmpv6(icmp)) = &p.transport else {
        return None;
    };
    match icmp.icmp_type() {
        Icmpv6Type::EchoReply(_) => Some(Heard::EchoReply { src, mac: eth_src }),
        t @ (Icmpv6Type::NeighborAdvertisement(_) | Icmpv6Type::NeighborSolicitation) => {
            let body = icmp.payload();
            let target = Ipv6Addr::from(<[u8; 16]>::try_from(body.get(..16)?).ok()?);
            // options: type, length in 8-byte units, value; the link-layer
            // address is option 1 (source) in a solicitation, 2 (target)
            // in an advertisement
            let want = if t == Icmpv6Type::NeighborSolicitation {
                1
            } else {
                2
            };
            let mut mac = eth_src;
            let mut opts = &body[16..];
            while opts.len() >= 8 {
                let len = usize::from(opts[1]) * 8;
                if len == 0 || len > opts.len() {
                    break;
                }
                if opts[0] == want {
                    mac.copy_from_slice(&opts[2..8]);
                }
                opts = &opts[len..];
            }
            if t == Icmpv6Type::NeighborSolicitation {
                Some(Heard::Solicit { src, mac, target })
            } else {
                Some(Heard::Advert { target, mac })
            }
        }
        _ => None,
    }
}

/// One neighbour found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour {
    /// Its address.
    pub ip: Ipv6Addr,
    /// Its MAC.
    pub mac: [u8; 6],
    /// Round trip of the solicitation (or of the echo, when it did not
    /// answer the solicitation).
    pub rtt: Duration,
}

/// Sweeps for neighbours: `targets` are solicited one by one at `rate`;
/// without targets, all nodes are pinged first and the addresses that
/// answer (and that `keep` accepts) are solicited. Sorted by address.
///
/// # Errors
/// The channel failed.
pub fn sweep(
    io: &mut dyn FrameIo,
    me_mac: [u8; 6],
    me_ip: Ipv6Addr,
    targets: Option<&[Ipv6Addr]>,
    keep: impl Fn(Ipv6Addr) -> bool,
    rate: u32,
    timeout: Duration,
) -> io::Result<Vec<Neighbour>> {
    let mut echo: HashMap<Ipv6Addr, ([u8; 6], Duration)> = HashMap::new();
    let list: Vec<Ipv6Addr> = match targets {
        Some(t) => t.to_vec(),
        None => {
            let sent = Instant::now();
            io.send(&echo_all_nodes(me_mac, me_ip, 0x6e72, 1))?;
            // every node must resolve our address before it can answer;
            // when many answer at once, a switch drops some of their
            // solicitations and they retry a second later (RFC 4861's
            // RetransTimer), so the wait goes on while new answers come,
            // a little over a second after the last one, within a bound
            let step = timeout.max(Duration::from_millis(1100));
            let bound = sent + step * 3;
            let mut end = sent + step;
            let mut answer = None;
            loop {
                // every answering node first asks for our address; the
                // kernel answers only so many solicitations a second and
                // the rest retry a second later, so the sweep answers
                // them itself (it is our address and our MAC)
                if let Some((mac, ip)) = answer.take() {
                    io.send(&advert(me_mac, me_ip, mac, ip))?;
                }
                let Some(f) = io.recv(end)? else { break };
                match parse(f) {
                    Some(Heard::EchoReply { src, mac })
                        if src != me_ip && keep(src) && !echo.contains_key(&src) =>
                    {
                        echo.insert(src, (mac, sent.elapsed()));
                        end = (Instant::now() + step).min(bound);
                    }
                    Some(Heard::Solicit { src, mac, target })
                        if target == me_ip && !src.is_unspecified() =>
                    {
                        answer = Some((mac, src));
                    }
                    _ => {}
                }
            }
            let mut v: Vec<Ipv6Addr> = echo.keys().copied().collect();
            v.sort();
            v
        }
    };
    let interval = Duration::from_secs(1) / rate.max(1);
    let mut sent_at: HashMap<Ipv6Addr, Instant> = HashMap::new();
    let mut found: HashMap<Ipv6Addr, Neighbour> = HashMap::new();
    let take = |f: &[u8],
                sent_at: &HashMap<Ipv6Addr, Instant>,
                found: &mut HashMap<Ipv6Addr, Neighbour>| {
        if let Some(Heard::Advert { target, mac }) = parse(f) {
            if let Some(t) = sent_at.get(&target) {
                found.entry(target).or_insert(Neighbour {
                    ip: target,
                    mac,
                    rtt: t.elapsed(),
                });
            }
        }
    };
    let mut next = Instant::now();
    for &t in &list {
        while let Some(f) = io.recv(next)? {
            take(f, &sent_at, &mut found);
        }
        io.send(&solicit(me_mac, me_ip, t))?;
        sent_at.insert(t, Instant::now());
        next = (next + interval).max(Instant::now());
    }
    let end = Instant::now() + timeout;
    while found.len() < list.len() {
        match io.recv(end)? {
            Some(f) => take(f, &sent_at, &mut found),
            None => break,
        }
    }
    // echo answers that the solicitation did not confirm still count
    for (ip, (mac, rtt)) in echo {
        found.entry(ip).or_insert(Neighbour { ip, mac, rtt });
    }
    let mut v: Vec<Neighbour> = found.into_values().collect();
    v.sort_by_key(|n| n.ip);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: [u8; 6] = [2, 0, 0, 0, 0, 10];

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn group_addresses() {
        assert_eq!(solicited_node(ip("2001:db8::1:2:3")), ip("ff02::1:ff02:3"));
        assert_eq!(
            multicast_mac(ip("ff02::1:ff02:3")),
            [0x33, 0x33, 0xff, 0x02, 0, 3]
        );
    }

    #[test]
    fn solicitation_is_well_formed() {
        let f = solicit(ME, ip("2001:db8::a"), ip("2001:db8::15"));
        let p = LaxSlicedPacket::from_ethernet(&f).unwrap();
        assert!(p.stop_err.is_none());
        let Some(LaxNetSlice::Ipv6(v6)) = &p.net else {
            panic!("ipv6")
        };
        assert_eq!(v6.header().destination_addr(), ip("ff02::1:ff00:15"));
        assert_eq!(v6.header().hop_limit(), 255);
        let Some(TransportSlice::Icmpv6(icmp)) = &p.transport else {
            panic!("icmpv6")
        };
        assert_eq!(icmp.icmp_type(), Icmpv6Type::NeighborSolicitation);
        assert!(icmp.is_checksum_valid(v6.header().source(), v6.header().destination()));
        assert_eq!(&icmp.payload()[..16], &ip("2001:db8::15").octets());
        assert_eq!(&icmp.payload()[16..], &[1, 1, 2, 0, 0, 0, 0, 10]);
        assert_eq!(&f[..6], &[0x33, 0x33, 0xff, 0, 0, 0x15]);
    }

    #[test]
    fn advertisements_and_echo_replies_are_read() {
        // an advertisement as a kernel sends it: flags, target, TLLA
        let him = [2, 0, 0, 0, 0, 21];
        let b = PacketBuilder::ethernet2(him, ME)
            .ipv6(ip("2001:db8::15").octets(), ip("2001:db8::a").octets(), 255)
            .icmpv6(Icmpv6Type::NeighborAdvertisement(
                etherparse::icmpv6::NeighborAdvertisementHeader {
                    router: false,
                    solicited: true,
                    r#override: true,
                },
            ));
        let mut payload = ip("2001:db8::15").octets().to_vec();
        payload.extend_from_slice(&[2, 1, 2, 0, 0, 0, 0, 99]);
        let mut f = Vec::new();
        b.write(&mut f, &payload).unwrap();
        assert_eq!(
            parse(&f),
            Some(Heard::Advert {
                target: ip("2001:db8::15"),
                mac: [2, 0, 0, 0, 0, 99]
            })
        );
        let b = PacketBuilder::ethernet2(him, ME)
            .ipv6(ip("2001:db8::15").octets(), ip("2001:db8::a").octets(), 64)
            .icmpv6_echo_reply(1, 1);
        let mut f = Vec::new();
        b.write(&mut f, b"x").unwrap();
        assert_eq!(
            parse(&f),
            Some(Heard::EchoReply {
                src: ip("2001:db8::15"),
                mac: him
            })
        );
        assert_eq!(parse(&echo_all_nodes(ME, ip("2001:db8::a"), 1, 1)), None);
        for n in 0..f.len() {
            let _ = parse(&f[..n]);
        }
    }
}
