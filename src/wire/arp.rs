//! ARP (RFC 826).
//!
//! ```text
//!  0 hardware type u16 | 2 protocol type u16 | 4 hlen u8 | 5 plen u8 | 6 operation u16
//!  8 sender hardware address (hlen) | sender protocol address (plen)
//!    target hardware address (hlen) | target protocol address (plen)
//! ```

use super::{be16, Short};

/// An ARP packet over Ethernet and IPv4 (hlen 6, plen 4), or the fixed
/// part of any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// Hardware type (1 Ethernet).
    pub htype: u16,
    /// Protocol type (0x0800 IPv4).
    pub ptype: u16,
    /// Hardware address length.
    pub hlen: u8,
    /// Protocol address length.
    pub plen: u8,
    /// Operation (1 request, 2 reply, ...).
    pub op: u16,
    /// Ethernet/IPv4 addresses when hlen is 6 and plen is 4.
    pub addrs: Option<ArpAddrs>,
}

/// The four addresses of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpAddrs {
    /// Sender MAC.
    pub sender_mac: [u8; 6],
    /// Sender IPv4.
    pub sender_ip: [u8; 4],
    /// Target MAC.
    pub target_mac: [u8; 6],
    /// Target IPv4.
    pub target_ip: [u8; 4],
}

/// Parses an ARP packet.
///
/// # Errors
/// Fewer bytes than the fixed header, or than its address lengths promise.
pub fn parse(b: &[u8]) -> Result<Arp, Short> {
    if b.len() < 8 {
        return Err(Short {
            layer: "ARP header",
            needed: 8,
            got: b.len(),
        });
    }
    let (hlen, plen) = (b[4], b[5]);
    let need = 8 + 2 * (usize::from(hlen) + usize::from(plen));
    if b.len() < need {
        return Err(Short {
            layer: "ARP addresses",
            needed: need,
            got: b.len(),
        });
    }
    let addrs = (hlen == 6 && plen == 4).then(|| {
        let mut a = ArpAddrs {
            sender_mac: [0; 6],
            sender_ip: [0; 4],
            target_mac: [0; 6],
            target_ip: [0; 4],
        };
        a.sender_mac.copy_from_slice(&b[8..14]);
        a.sender_ip.copy_from_slice(&b[14..18]);
        a.target_mac.copy_from_slice(&b[18..24]);
        a.target_ip.copy_from_slice(&b[24..28]);
        a
    });
    Ok(Arp {
        htype: be16(b, 0),
        ptype: be16(b, 2),
        hlen,
        plen,
        op: be16(b, 6),
        addrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// who-has 192.0.2.1 tell 192.0.2.10
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // Ethernet, IPv4, 6, 4, request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 192, 0, 2, 10, // sender
        0, 0, 0, 0, 0, 0, 192, 0, 2, 1, // target
    ];

    #[test]
    fn request() {
        let a = parse(&REQUEST).unwrap();
        assert_eq!((a.htype, a.ptype, a.op), (1, 0x0800, 1));
        let ad = a.addrs.unwrap();
        assert_eq!(ad.sender_ip, [192, 0, 2, 10]);
        assert_eq!(ad.target_ip, [192, 0, 2, 1]);
        assert_eq!(ad.sender_mac, [2, 0, 0, 0, 0, 10]);
        for n in 0..28 {
            assert!(parse(&REQUEST[..n]).is_err());
        }
    }

    #[test]
    fn other_lengths_keep_the_fixed_part() {
        let mut b = REQUEST.to_vec();
        b[4] = 8;
        b.extend_from_slice(&[0; 4]);
        let a = parse(&b).unwrap();
        assert_eq!((a.hlen, a.addrs), (8, None));
    }
}
