//! Pure parsing of bytes: link-layer headers that etherparse has no lax
//! path for (Linux SLL and SLL2, BSD NULL/LOOP), TCP options, ARP, and
//! the framing protocol's header.
//!
//! # Contract
//! No I/O, no allocation, no panics: every function takes any byte slice
//! and returns a value or an error that says which layer stopped and how
//! many bytes it needed. Fuzz targets point here. (The frame header is
//! JSON and so allocates; it is read once per message, not per packet.)

pub mod arp;
pub mod frame;
pub mod ipv6;
pub mod link;
pub mod tcp;

/// A header that needs more bytes than the slice has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short {
    /// The layer that stopped.
    pub layer: &'static str,
    /// Bytes it needs.
    pub needed: usize,
    /// Bytes there were.
    pub got: usize,
}

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} needs {} bytes, only {} captured",
            self.layer, self.needed, self.got
        )
    }
}

#[inline]
pub(crate) fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

#[inline]
pub(crate) fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}
