//! ARP frames: built with pnet's packet types, read back with netray's
//! own parser (`wire::arp`), so that the two sides check each other.

use std::net::Ipv4Addr;

use pnet::packet::arp::{ArpHardwareTypes, ArpOperation, MutableArpPacket};
use pnet::packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet::packet::MutablePacket;
use pnet::util::MacAddr;

/// Broadcast MAC.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// Length of an Ethernet + ARP frame (without padding).
pub const ARP_FRAME_LEN: usize = 14 + 28;

/// An Ethernet/IPv4 ARP packet as seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Ethernet source.
    pub eth_src: [u8; 6],
    /// Ethernet destination.
    pub eth_dst: [u8; 6],
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware address.
    pub sender_mac: [u8; 6],
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: [u8; 6],
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Seen {
    /// A request whose sender and target IP are the same, or a reply
    /// broadcast to everyone: an announcement (gratuitous ARP).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip && !self.sender_ip.is_unspecified()
            || self.op == 2 && self.eth_dst == BROADCAST
    }

    /// An RFC 5227 probe: a request from 0.0.0.0.
    pub fn is_probe(&self) -> bool {
        self.op == 1 && self.sender_ip.is_unspecified()
    }
}

impl Seen {
    /// The ARP of a decoded packet (any link type with an Ethernet-like
    /// header: Ethernet, SLL's source address only is not enough).
    pub fn from_packet(p: &crate::model::packet::Packet) -> Option<Seen> {
        let a = p.arp.as_ref()?;
        let e = p.eth.as_ref()?;
        Some(Seen {
            eth_src: e.src.0,
            eth_dst: e.dst.0,
            op: a.op,
            sender_mac: a.sender_mac?.0,
            sender_ip: a.sender_ip?,
            target_mac: a.target_mac?.0,
            target_ip: a.target_ip?,
        })
    }
}

/// Builds an ARP frame into `buf` (42 bytes; the kernel pads to 60).
fn build(
    buf: &mut [u8; ARP_FRAME_LEN],
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    op: u16,
    sender: ([u8; 6], Ipv4Addr),
    target: ([u8; 6], Ipv4Addr),
) {
    // both packet views fit by construction: 14 + 28 bytes
    if let Some(mut eth) = MutableEthernetPacket::new(&mut buf[..]) {
        eth.set_destination(MacAddr::from(eth_dst));
        eth.set_source(MacAddr::from(eth_src));
        eth.set_ethertype(EtherTypes::Arp);
        if let Some(mut arp) = MutableArpPacket::new(eth.payload_mut()) {
            arp.set_hardware_type(ArpHardwareTypes::Ethernet);
            arp.set_protocol_type(EtherTypes::Ipv4);
            arp.set_hw_addr_len(6);
            arp.set_proto_addr_len(4);
            arp.set_operation(ArpOperation::new(op));
            arp.set_sender_hw_addr(MacAddr::from(sender.0));
            arp.set_sender_proto_addr(sender.1);
            arp.set_target_hw_addr(MacAddr::from(target.0));
            arp.set_target_proto_addr(target.1);
        }
    }
}

/// A who-has request, broadcast: "who has `target`? tell `me_ip`".
pub fn request(me_mac: [u8; 6], me_ip: Ipv4Addr, target: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    let mut b = [0u8; ARP_FRAME_LEN];
    build(
        &mut b,
        BROADCAST,
        me_mac,
        1,
        (me_mac, me_ip),
        ([0; 6], target),
    );
    b
}

/// An RFC 5227 probe for `target`: sender IP 0.0.0.0, so that nobody's
/// cache learns anything from it.
pub fn probe(me_mac: [u8; 6], target: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    request(me_mac, Ipv4Addr::UNSPECIFIED, target)
}

/// A reply: "`sender_ip` is at `sender_mac`", to one station.
pub fn reply(
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    to_mac: [u8; 6],
    to_ip: Ipv4Addr,
) -> [u8; ARP_FRAME_LEN] {
    let mut b = [0u8; ARP_FRAME_LEN];
    build(
        &mut b,
        to_mac,
        sender_mac,
        2,
        (sender_mac, sender_ip),
        (to_mac, to_ip),
    );
    b
}

/// Reads an Ethernet frame as ARP over Ethernet/IPv4 (802.1Q tags are
/// skipped); `None` for anything else.
pub fn parse(frame: &[u8]) -> Option<Seen> {
    if frame.len() < 14 {
        return None;
    }
    let mut at = 12;
    let mut ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
    while matches!(ethertype, 0x8100 | 0x88a8) && frame.len() >= at + 6 {
        at += 4;
        ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
    }
    if ethertype != 0x0806 {
        return None;
    }
    let arp = crate::wire::arp::parse(&frame[at + 2..]).ok()?;
    let a = arp.addrs?;
    if arp.htype != 1 || arp.ptype != 0x0800 {
        return None;
    }
    let mac = |r: std::ops::Range<usize>| -> [u8; 6] {
        let mut m = [0u8; 6];
        m.copy_from_slice(&frame[r]);
        m
    };
    Some(Seen {
        eth_dst: mac(0..6),
        eth_src: mac(6..12),
        op: arp.op,
        sender_mac: a.sender_mac,
        sender_ip: Ipv4Addr::from(a.sender_ip),
        target_mac: a.target_mac,
        target_ip: Ipv4Addr::from(a.target_ip),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const HIM: [u8; 6] = [2, 0, 0, 0, 0, 2];

    #[test]
    fn request_and_reply_read_back() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let q = parse(&request(ME, ip("192.0.2.10"), ip("192.0.2.20"))).unwrap();
        assert_eq!(q.eth_dst, BROADCAST);
        assert_eq!(q.eth_src, ME);
        assert_eq!((q.op, q.sender_mac, q.sender_ip), (1, ME, ip("192.0.2.10")));
        assert_eq!((q.target_mac, q.target_ip), ([0; 6], ip("192.0.2.20")));
        assert!(!q.is_gratuitous() && !q.is_probe());
        let r = parse(&reply(HIM, ip("192.0.2.20"), ME, ip("192.0.2.10"))).unwrap();
        assert_eq!((r.op, r.eth_dst, r.eth_src), (2, ME, HIM));
        assert_eq!(
            (r.sender_ip, r.target_ip),
            (ip("192.0.2.20"), ip("192.0.2.10"))
        );
        let p = parse(&probe(ME, ip("192.0.2.20"))).unwrap();
        assert!(p.is_probe());
        let g = parse(&request(ME, ip("192.0.2.10"), ip("192.0.2.10"))).unwrap();
        assert!(g.is_gratuitous());
        // the same bytes through etherparse's view of the frame
        let f = request(ME, ip("192.0.2.10"), ip("192.0.2.20"));
        let sliced = etherparse::LaxSlicedPacket::from_ethernet(&f).unwrap();
        assert!(matches!(sliced.net, Some(etherparse::LaxNetSlice::Arp(_))));
    }

    #[test]
    fn not_arp_and_cut_frames_are_none() {
        let f = request(
            ME,
            Ipv4Addr::new(192, 0, 2, 10),
            Ipv4Addr::new(192, 0, 2, 20),
        );
        for n in 0..f.len() {
            assert_eq!(parse(&f[..n]), None, "cut at {n}");
        }
        let mut ip = f;
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(parse(&ip), None);
        // an 802.1Q tag in front is skipped
        let mut tagged = Vec::from(&f[..12]);
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        tagged.extend_from_slice(&f[12..]);
        assert_eq!(parse(&tagged).unwrap().op, 1);
    }
}
