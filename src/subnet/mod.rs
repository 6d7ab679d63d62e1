//! Subnet arithmetic for IPv4 and IPv6: the calculator, the same-subnet
//! check, split, summarize, exclude, range-to-CIDR, containment, and the
//! grepcidr-style line filter.
//!
//! Addresses of both families are handled as `u128` integers tagged with a
//! [`Family`]; an IPv4 address occupies the low 32 bits. All range
//! arithmetic is done on inclusive `[start, end]` pairs, which is what makes
//! `exclude` and `summarize` exact (no off-by-one at the top of the space).
//! Parsing goes through `ipnetwork` and `std::net`, with error messages that
//! name the bad part of the input.

mod calc;
pub mod filter;
mod parse;
mod ranges;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use serde::Serialize;

pub use calc::{binary, calc, contains, row, same_subnet, scope_of};
pub use parse::{parse_cidr_input, parse_ip, parse_prefix_or_mask, parse_spec};
pub use ranges::{
    exclude, prefix_for_count, range_to_cidrs, split, summarize, RangeSet, Split,
    DEFAULT_SPLIT_LIMIT,
};

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Family {
    /// IPv4, 32-bit addresses.
    #[serde(rename = "ipv4")]
    V4,
    /// IPv6, 128-bit addresses.
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Address width in bits (32 or 128).
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The highest address of the family as an integer.
    pub fn max(self) -> u128 {
        match self {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        }
    }

    /// "IPv4" or "IPv6", for messages.
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An address as an integer (IPv4 in the low 32 bits).
pub fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address of `family` with integer value `v` (IPv4 uses the low 32 bits).
pub fn u128_to_ip(family: Family, v: u128) -> IpAddr {
    match family {
        // Truncation is the point: IPv4 values live in the low 32 bits.
        #[allow(clippy::cast_possible_truncation)]
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// The netmask of `prefix` bits as an integer within the family's width.
pub fn mask_of(family: Family, prefix: u8) -> u128 {
    let width = u32::from(family.bits());
    let host = width - u32::from(prefix.min(family.bits()));
    // checked shifts: a shift by 128 (prefix 0 of IPv6) is not defined on u128
    let host_mask = 1u128.checked_shl(host).map_or(u128::MAX, |v| v - 1);
    family.max() & !host_mask
}

/// The host part (wildcard) of `prefix` bits as an integer.
pub fn hostmask_of(family: Family, prefix: u8) -> u128 {
    family.max() & !mask_of(family, prefix)
}

/// The network of `prefix` bits that contains the address `v`.
pub fn network(family: Family, v: u128, prefix: u8) -> IpNetwork {
    let base = v & mask_of(family, prefix);
    match family {
        #[allow(clippy::cast_possible_truncation)]
        Family::V4 => IpNetwork::V4(
            Ipv4Network::new(Ipv4Addr::from(base as u32), prefix.min(32))
                .expect("prefix clamped to 32"),
        ),
        Family::V6 => IpNetwork::V6(
            Ipv6Network::new(Ipv6Addr::from(base), prefix.min(128)).expect("prefix clamped to 128"),
        ),
    }
}

/// First and last address of a network as integers.
pub fn bounds(net: &IpNetwork) -> (Family, u128, u128) {
    let family = Family::of(net.ip());
    let start = ip_to_u128(net.ip()) & mask_of(family, net.prefix());
    (family, start, start | hostmask_of(family, net.prefix()))
}

/// What is wrong with a subnet input. Every variant names the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    /// Not an IP address.
    #[error("'{input}' is not a valid {what}: {reason}")]
    BadAddress {
        /// The text as given.
        input: String,
        /// "IPv4 address", "IPv6 address" or "IP address".
        what: &'static str,
        /// Which part is wrong.
        reason: String,
    },
    /// A prefix length that does not fit the family.
    #[error("prefix '/{prefix}' in '{input}' is out of range for {family} (0-{max})", max = family.bits())]
    BadPrefix {
        /// The whole input.
        input: String,
        /// The prefix text.
        prefix: String,
        /// The family of the address.
        family: Family,
    },
    /// A netmask whose one bits are not contiguous.
    #[error("netmask {mask} is not contiguous: its one bits must all come before its zero bits")]
    NonContiguousMask {
        /// The mask as given.
        mask: String,
    },
    /// Something that is neither a prefix length nor a netmask.
    #[error("'{input}' is neither a prefix length nor a netmask")]
    BadMask {
        /// The text as given.
        input: String,
    },
    /// Two inputs of different address families where one family is needed.
    #[error("mixed address families: {a} is {fa}, {b} is {fb}")]
    MixedFamilies {
        /// The first input.
        a: String,
        /// Its family.
        fa: Family,
        /// The second input.
        b: String,
        /// Its family.
        fb: Family,
    },
    /// A malformed `A-B` range.
    #[error("bad range '{input}': {reason}")]
    BadRange {
        /// The text as given.
        input: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A split that would print more networks than allowed without --force.
    #[error("splitting {parent} into /{prefix} gives {count} networks, more than the limit of {limit}: use --force to print them anyway")]
    TooMany {
        /// The network being split.
        parent: String,
        /// The new prefix length.
        prefix: u8,
        /// How many networks that gives (decimal).
        count: String,
        /// The limit.
        limit: u128,
    },
    /// A split target prefix that is shorter than the network's or too long.
    #[error(
        "cannot split {parent} into /{prefix}: the new prefix must be between {min} and {max}"
    )]
    BadSplit {
        /// The network being split.
        parent: String,
        /// The requested prefix.
        prefix: u16,
        /// The parent's prefix.
        min: u8,
        /// The family's width.
        max: u8,
    },
    /// A required value was not given.
    #[error("{0}")]
    Missing(String),
}
