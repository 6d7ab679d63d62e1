//! Link-layer headers that come before an EtherType or an IP packet.
//!
//! ```text
//! Linux SLL (LINKTYPE 113), 16 bytes:        Linux SLL2 (LINKTYPE 276), 20 bytes:
//!  0 packet type    u16                        0 protocol (EtherType) u16
//!  2 ARPHRD type    u16                        2 reserved             u16
//!  4 address length u16                        4 interface index      u32
//!  6 address        8 bytes                    8 ARPHRD type          u16
//! 14 protocol       u16 (EtherType)           10 packet type          u8
//!                                             11 address length       u8
//!                                             12 address              8 bytes
//! BSD NULL (0): 4-byte address family in the capturing host's byte order;
//! LOOP (108): the same in network byte order.
//! ```
//!
//! # References
//! tcpdump.org link-layer header types; Linux `if_packet.h`.

use super::{be16, be32, Short};

/// What a cooked or loopback header says, and where the payload starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooked {
    /// The header's name, for messages and the tree view.
    pub kind: CookedKind,
    /// SLL packet type (0 to us, 1 broadcast, 2 multicast, 3 to another
    /// host, 4 sent by us).
    pub pkttype: Option<u16>,
    /// ARPHRD hardware type.
    pub hatype: Option<u16>,
    /// Link-layer address (first `addr_len` bytes meaningful, up to 8).
    pub addr: [u8; 8],
    /// Length of the address.
    pub addr_len: u8,
    /// SLL2 interface index.
    pub ifindex: Option<u32>,
    /// The EtherType of the payload (SLL, SLL2), or none.
    pub protocol: Option<u16>,
    /// BSD address family (NULL, LOOP).
    pub family: Option<u32>,
    /// Bytes of header before the payload.
    pub header_len: usize,
}

/// Which header a [`Cooked`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookedKind {
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// BSD loopback, host byte order.
    Null,
    /// BSD loopback, network byte order.
    Loop,
}

impl CookedKind {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            CookedKind::Sll => "sll",
            CookedKind::Sll2 => "sll2",
            CookedKind::Null => "null",
            CookedKind::Loop => "loop",
        }
    }
}

/// Parses a Linux SLL header.
///
/// # Errors
/// Fewer than 16 bytes.
pub fn sll(b: &[u8]) -> Result<Cooked, Short> {
    if b.len() < 16 {
        return Err(Short {
            layer: "Linux SLL header",
            needed: 16,
            got: b.len(),
        });
    }
    let mut addr = [0u8; 8];
    addr.copy_from_slice(&b[6..14]);
    Ok(Cooked {
        kind: CookedKind::Sll,
        pkttype: Some(be16(b, 0)),
        hatype: Some(be16(b, 2)),
        addr,
        addr_len: u8::try_from(be16(b, 4).min(8)).unwrap_or(8),
        ifindex: None,
        protocol: Some(be16(b, 14)),
        family: None,
        header_len: 16,
    })
}

/// Parses a Linux SLL2 header.
///
/// # Errors
/// Fewer than 20 bytes.
pub fn sll2(b: &[u8]) -> Result<Cooked, Short> {
    if b.len() < 20 {
        return Err(Short {
            layer: "Linux SLL2 header",
            needed: 20,
            got: b.len(),
        });
    }
    let mut addr = [0u8; 8];
    addr.copy_from_slice(&b[12..20]);
    Ok(Cooked {
        kind: CookedKind::Sll2,
        pkttype: Some(u16::from(b[10])),
        hatype: Some(be16(b, 8)),
        addr,
        addr_len: b[11].min(8),
        ifindex: Some(be32(b, 4)),
        protocol: Some(be16(b, 0)),
        family: None,
        header_len: 20,
    })
}

/// Parses a BSD NULL (host order, `network_order` false) or LOOP header.
/// The host order of the capturing machine is unknown, so a NULL family
/// that only makes sense byte-swapped is swapped (as libpcap does).
///
/// # Errors
/// Fewer than 4 bytes.
pub fn null(b: &[u8], network_order: bool) -> Result<Cooked, Short> {
    if b.len() < 4 {
        return Err(Short {
            layer: "BSD loopback header",
            needed: 4,
            got: b.len(),
        });
    }
    let be = be32(b, 0);
    let family = if network_order {
        be
    } else {
        let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        // families are small numbers: the order that gives one is right
        if le <= 0xffff {
            le
        } else {
            be
        }
    };
    Ok(Cooked {
        kind: if network_order {
            CookedKind::Loop
        } else {
            CookedKind::Null
        },
        pkttype: None,
        hatype: None,
        addr: [0; 8],
        addr_len: 0,
        ifindex: None,
        protocol: None,
        family: Some(family),
        header_len: 4,
    })
}

/// The BSD address families that carry IPv6 (Linux 10, BSDs 24, 28, 30).
pub fn family_is_ipv6(f: u32) -> bool {
    matches!(f, 10 | 24 | 28 | 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SLL header of a TCP/IPv4 packet sent by us.
    const SLL: [u8; 16] = [
        0x00, 0x04, // packet type: sent by us
        0x00, 0x01, // ARPHRD_ETHER
        0x00, 0x06, // address length
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x00, 0x00, // address
        0x08, 0x00, // protocol IPv4
    ];

    #[test]
    fn sll_fields() {
        let c = sll(&SLL).unwrap();
        assert_eq!(c.pkttype, Some(4));
        assert_eq!(c.hatype, Some(1));
        assert_eq!(
            &c.addr[..usize::from(c.addr_len)],
            &[2, 0, 0x5e, 0x10, 0, 1]
        );
        assert_eq!(c.protocol, Some(0x0800));
        assert_eq!(c.header_len, 16);
        for n in 0..16 {
            assert_eq!(
                sll(&SLL[..n]),
                Err(Short {
                    layer: "Linux SLL header",
                    needed: 16,
                    got: n
                })
            );
        }
    }

    #[test]
    fn sll2_fields() {
        let b = [
            0x86, 0xdd, 0, 0, // protocol IPv6, reserved
            0, 0, 0, 3, // ifindex 3
            0, 1, // ARPHRD_ETHER
            0, // to us
            6, // address length
            1, 2, 3, 4, 5, 6, 0, 0,
        ];
        let c = sll2(&b).unwrap();
        assert_eq!(
            (c.protocol, c.ifindex, c.pkttype),
            (Some(0x86dd), Some(3), Some(0))
        );
        assert!(sll2(&b[..19]).is_err());
    }

    #[test]
    fn null_in_either_order() {
        assert_eq!(null(&[2, 0, 0, 0], false).unwrap().family, Some(2));
        assert_eq!(null(&[0, 0, 0, 2], false).unwrap().family, Some(2));
        assert_eq!(null(&[0, 0, 0, 30], true).unwrap().family, Some(30));
        assert!(family_is_ipv6(30) && !family_is_ipv6(2));
        assert!(null(&[2, 0, 0], false).is_err());
    }
}
