//! Results of the `subnet` commands.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::IpNetwork;
use serde::{Serialize, Serializer};

use crate::subnet::Family;

/// A number of addresses. IPv4 counts serialise as JSON numbers; IPv6
/// counts as decimal strings, since they exceed what JSON parsers hold
/// exactly (2^128 does not even fit in a u128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// The family, which picks the JSON representation.
    pub family: Family,
    /// The value; `None` means 2^128.
    pub value: Option<u128>,
    /// When the count is a power of two, its exponent (for the human view).
    pub pow2: Option<u32>,
}

impl Count {
    /// A count of `2^bits`.
    pub fn pow2(family: Family, bits: u32) -> Self {
        Count {
            family,
            value: 1u128.checked_shl(bits),
            pow2: Some(bits),
        }
    }

    /// Any count.
    pub fn exact(family: Family, value: u128) -> Self {
        let pow2 = value.is_power_of_two().then(|| value.trailing_zeros());
        Count {
            family,
            value: Some(value),
            pow2,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("340282366920938463463374607431768211456"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.family, self.value) {
            (Family::V4, Some(v)) => s.serialize_u128(v),
            _ => s.collect_str(self),
        }
    }
}

/// An address scope: a named special-purpose block, or global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scope {
    /// Short stable name: `private`, `loopback`, `link-local`, `multicast`,
    /// `documentation`, `cgnat`, `global`, ...
    pub name: &'static str,
    /// The block and what it is, with its RFC.
    pub description: &'static str,
    /// The special-purpose block the address falls in (absent for global).
    pub block: Option<&'static str>,
}

/// Binary views of a calculation: dotted (IPv4) or colon-grouped (IPv6)
/// bits. The network/host boundary is at `prefix` bits; the human view marks
/// it, JSON consumers can split at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinaryView {
    /// The address as given.
    pub address: String,
    /// The netmask.
    pub netmask: String,
    /// The wildcard (inverse mask).
    pub wildcard: String,
    /// The network address.
    pub network: String,
    /// The broadcast address (IPv4 networks of /30 and shorter).
    pub broadcast: Option<String>,
}

/// `subnet calc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Calc {
    /// The input as given.
    pub input: String,
    /// `ipv4` or `ipv6`.
    pub family: Family,
    /// The address, host bits kept.
    pub address: IpAddr,
    /// The network in CIDR notation.
    pub cidr: IpNetwork,
    /// The network address.
    pub network: IpAddr,
    /// The prefix length.
    pub prefix: u8,
    /// The netmask.
    pub netmask: IpAddr,
    /// The wildcard (Cisco inverse mask, host mask).
    pub wildcard: IpAddr,
    /// The broadcast address: IPv4 only, and not for /31 and /32.
    pub broadcast: Option<IpAddr>,
    /// First usable address.
    pub first_host: IpAddr,
    /// Last usable address.
    pub last_host: IpAddr,
    /// Addresses in the network.
    pub total_addresses: Count,
    /// Usable host addresses: total - 2 for IPv4 up to /30; all of them for
    /// /31 (RFC 3021), /32 and IPv6.
    pub usable_hosts: Count,
    /// Classful class (A-E), IPv4 only.
    pub class: Option<char>,
    /// What kind of address this is.
    pub scope: Scope,
    /// The embedded IPv4 address of an IPv4-mapped IPv6 address.
    pub ipv4_mapped: Option<Ipv4Addr>,
    /// A remark on special prefix lengths (point-to-point, host route).
    pub note: Option<&'static str>,
    /// The address in hexadecimal.
    pub address_hex: String,
    /// Binary views.
    pub binary: BinaryView,
}

/// One side of the same-subnet check: an address AND the mask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AndStep {
    /// The address.
    pub address: IpAddr,
    /// Its bits.
    pub address_binary: String,
    /// address AND mask.
    pub network: IpAddr,
    /// The bits of the result.
    pub network_binary: String,
}

/// `subnet same`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SameSubnet {
    /// `ipv4` or `ipv6`.
    pub family: Family,
    /// The prefix length used.
    pub prefix: u8,
    /// The netmask used.
    pub netmask: IpAddr,
    /// Its bits.
    pub netmask_binary: String,
    /// The first address and its AND step.
    pub a: AndStep,
    /// The second address and its AND step.
    pub b: AndStep,
    /// True when both ANDs give the same network.
    pub same: bool,
}

/// `subnet contains`: one address checked against one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Containment {
    /// The network (host bits cleared).
    pub cidr: IpNetwork,
    /// The address checked.
    pub address: IpAddr,
    /// True when the address is inside.
    pub inside: bool,
}

/// A list of networks: the result of summarize, exclude and range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CidrList {
    /// What was computed, for the human view's title (not serialised).
    #[serde(skip)]
    pub title: String,
    /// The networks, IPv4 first, in address order.
    pub cidrs: Vec<CidrRow>,
}

/// One network of a list, with its bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CidrRow {
    /// The network.
    pub cidr: IpNetwork,
    /// Its first address.
    pub first: IpAddr,
    /// Its last address.
    pub last: IpAddr,
    /// How many addresses it holds.
    pub addresses: Count,
}
