//! IPv6 extension headers (RFC 8200 4, RFC 4302 for AH), walked by hand:
//! etherparse 0.21's `Ipv6ExtensionSliceIter` trusts a length byte of a
//! cut header and panics (debug) or reads past the slice (release) on
//! `ipv6hdr-heapoverflow.pcap`, so netray does not use it.
//!
//! ```text
//! hop-by-hop (0), routing (43), destination options (60):
//!   next header u8 | length u8 (8-octet units, not counting the first 8) | ...
//! fragment (44): next header u8 | reserved u8 | offset (13 bits) res (2) M (1) | identification u32
//! authentication (51): next header u8 | length u8 (4-octet units, minus 2) | ...
//! ```

use super::{be16, be32, Short};

/// One extension header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ext {
    /// Its protocol number (0, 43, 44, 51, 60).
    pub code: u8,
    /// The header after it.
    pub next_header: u8,
    /// Its length in bytes.
    pub len: usize,
    /// Fragment header: offset in bytes, more fragments, identification.
    pub fragment: Option<(u16, bool, u32)>,
    /// Routing header: routing type and segments left.
    pub routing: Option<(u8, u8)>,
}

impl Ext {
    /// The header's name.
    pub fn name(&self) -> &'static str {
        match self.code {
            0 => "hop-by-hop",
            43 => "routing",
            44 => "fragment",
            51 => "auth",
            _ => "destination-options",
        }
    }
}

/// True for the protocol numbers that are extension headers.
pub fn is_extension(code: u8) -> bool {
    matches!(code, 0 | 43 | 44 | 51 | 60)
}

/// Walks the extension headers that start with `first` at the start of
/// `b`. Returns them (up to `out.len()`), how many bytes they take, and the
/// error where a header is cut short.
pub fn extensions(first: u8, b: &[u8], out: &mut [Option<Ext>; 8]) -> (usize, u8, Option<Short>) {
    let mut next = first;
    let mut at = 0;
    let mut count = 0;
    while is_extension(next) && count < out.len() {
        let rest = &b[at.min(b.len())..];
        if rest.len() < 8 {
            return (
                at,
                next,
                Some(Short {
                    layer: "IPv6 extension header",
                    needed: 8,
                    got: rest.len(),
                }),
            );
        }
        let len = match next {
            44 => 8,
            51 => (usize::from(rest[1]) + 2) * 4,
            _ => (usize::from(rest[1]) + 1) * 8,
        };
        if rest.len() < len {
            return (
                at,
                next,
                Some(Short {
                    layer: "IPv6 extension header",
                    needed: len,
                    got: rest.len(),
                }),
            );
        }
        let ext = Ext {
            code: next,
            next_header: rest[0],
            len,
            fragment: (next == 44).then(|| {
                let f = be16(rest, 2);
                (f & 0xfff8, f & 1 == 1, be32(rest, 4))
            }),
            routing: (next == 43).then_some((rest[2], rest[3])),
        };
        out[count] = Some(ext);
        count += 1;
        next = rest[0];
        at += len;
        if ext.code == 44 && ext.fragment.is_some_and(|f| f.0 != 0) {
            // a later fragment: what follows is not a header
            break;
        }
    }
    (at, next, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_then_fragment() {
        let b = [
            44, 0, 5, 2, 0, 0, 1, 0, // hop-by-hop, next fragment, router alert + padding
            17, 0, 0x05, 0xc9, 0, 0, 0,
            7, // fragment: next UDP, offset 1480 (185*8), M=1, id 7
        ];
        let mut out = [None; 8];
        let (len, next, err) = extensions(0, &b, &mut out);
        assert_eq!((len, next, err), (16, 17, None));
        assert_eq!(out[1].unwrap().fragment, Some((1480, true, 7)));
        assert_eq!(out[0].unwrap().name(), "hop-by-hop");
    }

    #[test]
    fn a_cut_header_is_an_error() {
        let b = [17, 4, 0, 0, 0, 0, 0, 0, 1];
        let mut out = [None; 8];
        let (len, next, err) = extensions(0, &b, &mut out);
        assert_eq!((len, next), (0, 0));
        assert_eq!(
            err,
            Some(Short {
                layer: "IPv6 extension header",
                needed: 40,
                got: 9
            })
        );
        assert!(out[0].is_none());
    }
}
