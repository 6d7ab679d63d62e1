//! The calculator, the same-subnet check and address scopes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

use super::{bounds, hostmask_of, ip_to_u128, mask_of, u128_to_ip, Family, SubnetError};
use crate::model::subnet::{
    AndStep, BinaryView, Calc, CidrRow, Containment, Count, SameSubnet, Scope,
};

/// Everything `subnet calc` shows about a network.
pub fn calc(input: &str, net: &IpNetwork) -> Calc {
    let (family, first, last) = bounds(net);
    let prefix = net.prefix();
    let width = family.bits();
    let ip = |v| u128_to_ip(family, v);
    let host_bits = u32::from(width - prefix);
    let total = Count::pow2(family, host_bits);
    let (first_host, last_host, usable, broadcast, note) = match (family, width - prefix) {
        (Family::V4, 0) => (
            first,
            last,
            Count::exact(family, 1),
            None,
            Some("host route"),
        ),
        (Family::V4, 1) => (
            first,
            last,
            Count::exact(family, 2),
            None,
            Some("point-to-point link (RFC 3021): both addresses usable"),
        ),
        (Family::V4, h) => (
            first + 1,
            last - 1,
            Count::exact(family, (1u128 << h) - 2),
            Some(ip(last)),
            None,
        ),
        (Family::V6, 0) => (first, last, total, None, Some("host route")),
        (Family::V6, 1) => (
            first,
            last,
            total,
            None,
            Some("point-to-point link (RFC 6164)"),
        ),
        (Family::V6, _) => (first, last, total, None, None),
    };
    let addr = ip_to_u128(net.ip());
    let ipv4_mapped = match net.ip() {
        IpAddr::V6(a) => a.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    };
    Calc {
        input: input.to_string(),
        family,
        address: net.ip(),
        cidr: super::network(family, first, prefix),
        network: ip(first),
        prefix,
        netmask: ip(mask_of(family, prefix)),
        wildcard: ip(hostmask_of(family, prefix)),
        broadcast,
        first_host: ip(first_host),
        last_host: ip(last_host),
        total_addresses: total,
        usable_hosts: usable,
        class: match net.ip() {
            IpAddr::V4(a) => Some(class_of(a)),
            IpAddr::V6(_) => None,
        },
        scope: scope_of(net.ip()),
        ipv4_mapped,
        note,
        address_hex: match family {
            Family::V4 => format!("{addr:08X}"),
            Family::V6 => format!("{addr:032X}"),
        },
        binary: BinaryView {
            address: binary(family, addr),
            netmask: binary(family, mask_of(family, prefix)),
            wildcard: binary(family, hostmask_of(family, prefix)),
            network: binary(family, first),
            broadcast: broadcast.map(|b| binary(family, ip_to_u128(b))),
        },
    }
}

/// The classful class of an IPv4 address (by its leading bits).
fn class_of(a: Ipv4Addr) -> char {
    match a.octets()[0] {
        0..=127 => 'A',
        128..=191 => 'B',
        192..=223 => 'C',
        224..=239 => 'D',
        _ => 'E',
    }
}

/// Bits of an address: dotted octets for IPv4, colon-separated 16-bit
/// groups for IPv6.
pub fn binary(family: Family, v: u128) -> String {
    match family {
        Family::V4 => {
            #[allow(clippy::cast_possible_truncation)]
            let octets = (v as u32).to_be_bytes();
            octets
                .iter()
                .map(|o| format!("{o:08b}"))
                .collect::<Vec<_>>()
                .join(".")
        }
        Family::V6 => Ipv6Addr::from(v)
            .segments()
            .iter()
            .map(|g| format!("{g:016b}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// The same-subnet check: both addresses AND the mask of `prefix` bits.
///
/// # Errors
/// Mixed families, or a prefix longer than the family allows.
pub fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> Result<SameSubnet, SubnetError> {
    let (fa, fb) = (Family::of(a), Family::of(b));
    if fa != fb {
        return Err(SubnetError::MixedFamilies {
            a: a.to_string(),
            fa,
            b: b.to_string(),
            fb,
        });
    }
    if prefix > fa.bits() {
        return Err(SubnetError::BadPrefix {
            input: format!("{a}/{prefix}"),
            prefix: prefix.to_string(),
            family: fa,
        });
    }
    let mask = mask_of(fa, prefix);
    let step = |ip: IpAddr| {
        let v = ip_to_u128(ip);
        AndStep {
            address: ip,
            address_binary: binary(fa, v),
            network: u128_to_ip(fa, v & mask),
            network_binary: binary(fa, v & mask),
        }
    };
    let (sa, sb) = (step(a), step(b));
    Ok(SameSubnet {
        family: fa,
        prefix,
        netmask: u128_to_ip(fa, mask),
        netmask_binary: binary(fa, mask),
        same: sa.network == sb.network,
        a: sa,
        b: sb,
    })
}

/// Whether `ip` lies in `net`. An IPv4-mapped IPv6 address is compared as
/// the IPv4 address it carries.
///
/// # Errors
/// Mixed families.
pub fn contains(net: &IpNetwork, ip: IpAddr) -> Result<Containment, SubnetError> {
    let ip = match (net, ip) {
        (IpNetwork::V4(_), IpAddr::V6(a)) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        _ => ip,
    };
    let (family, first, last) = bounds(net);
    if Family::of(ip) != family {
        return Err(SubnetError::MixedFamilies {
            a: net.to_string(),
            fa: family,
            b: ip.to_string(),
            fb: Family::of(ip),
        });
    }
    let v = ip_to_u128(ip);
    Ok(Containment {
        cidr: super::network(family, first, net.prefix()),
        address: ip,
        inside: (first..=last).contains(&v),
    })
}

/// A network as a list row (bounds and size).
pub fn row(net: &IpNetwork) -> CidrRow {
    let (family, first, last) = bounds(net);
    CidrRow {
        cidr: *net,
        first: u128_to_ip(family, first),
        last: u128_to_ip(family, last),
        addresses: Count::pow2(family, u32::from(family.bits() - net.prefix())),
    }
}

/// Special-purpose blocks, most specific first within each family
/// (IANA IPv4 and IPv6 Special-Purpose Address Registries).
const V4_SCOPES: &[(&str, &str, &str)] = &[
    (
        "0.0.0.0/32",
        "unspecified",
        "unspecified address (RFC 1122)",
    ),
    ("0.0.0.0/8", "this-network", "\"this network\" (RFC 791)"),
    ("10.0.0.0/8", "private", "private-use (RFC 1918)"),
    (
        "100.64.0.0/10",
        "cgnat",
        "shared address space for carrier-grade NAT (RFC 6598)",
    ),
    ("127.0.0.0/8", "loopback", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link-local", "link-local (RFC 3927)"),
    ("172.16.0.0/12", "private", "private-use (RFC 1918)"),
    (
        "192.0.0.0/24",
        "ietf-protocol",
        "IETF protocol assignments (RFC 6890)",
    ),
    (
        "192.0.2.0/24",
        "documentation",
        "documentation, TEST-NET-1 (RFC 5737)",
    ),
    (
        "192.88.99.0/24",
        "6to4-relay",
        "6to4 relay anycast, deprecated (RFC 7526)",
    ),
    ("192.168.0.0/16", "private", "private-use (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking", "benchmarking (RFC 2544)"),
    (
        "198.51.100.0/24",
        "documentation",
        "documentation, TEST-NET-2 (RFC 5737)",
    ),
    (
        "203.0.113.0/24",
        "documentation",
        "documentation, TEST-NET-3 (RFC 5737)",
    ),
    ("224.0.0.0/4", "multicast", "multicast (RFC 5771)"),
    (
        "255.255.255.255/32",
        "broadcast",
        "limited broadcast (RFC 919)",
    ),
    (
        "240.0.0.0/4",
        "reserved",
        "reserved for future use (RFC 1112)",
    ),
];

const V6_SCOPES: &[(&str, &str, &str)] = &[
    ("::/128", "unspecified", "unspecified address (RFC 4291)"),
    ("::1/128", "loopback", "loopback (RFC 4291)"),
    (
        "::ffff:0:0/96",
        "ipv4-mapped",
        "IPv4-mapped address (RFC 4291)",
    ),
    ("64:ff9b::/96", "nat64", "IPv4/IPv6 translation (RFC 6052)"),
    (
        "64:ff9b:1::/48",
        "nat64",
        "local-use IPv4/IPv6 translation (RFC 8215)",
    ),
    ("100::/64", "discard", "discard-only (RFC 6666)"),
    ("2001::/32", "teredo", "Teredo (RFC 4380)"),
    ("2001:2::/48", "benchmarking", "benchmarking (RFC 5180)"),
    ("2001:20::/28", "orchid", "ORCHIDv2 (RFC 7343)"),
    ("2001:db8::/32", "documentation", "documentation (RFC 3849)"),
    ("3fff::/20", "documentation", "documentation (RFC 9637)"),
    ("2002::/16", "6to4", "6to4 (RFC 3056)"),
    (
        "fc00::/7",
        "unique-local",
        "unique local address (RFC 4193)",
    ),
    ("fe80::/10", "link-local", "link-local unicast (RFC 4291)"),
    (
        "fec0::/10",
        "site-local",
        "site-local, deprecated (RFC 3879)",
    ),
    ("ff00::/8", "multicast", "multicast (RFC 4291)"),
    ("2000::/3", "global", "global unicast (RFC 4291)"),
    ("::/0", "reserved", "reserved by the IETF (RFC 4291)"),
];

/// The scope of an address: the special-purpose block it falls in.
pub fn scope_of(ip: IpAddr) -> Scope {
    let table = match ip {
        IpAddr::V4(_) => V4_SCOPES,
        IpAddr::V6(_) => V6_SCOPES,
    };
    for &(block, name, description) in table {
        if let Ok(net) = block.parse::<IpNetwork>() {
            if net.contains(ip) {
                return Scope {
                    name,
                    description,
                    block: (name != "global").then_some(block),
                };
            }
        }
    }
    Scope {
        name: "global",
        description: "globally routable unicast",
        block: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subnet::parse_cidr_input;

    fn c(s: &str) -> Calc {
        calc(s, &parse_cidr_input(s).unwrap())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_24_matches_ipcalc() {
        let r = c("172.16.10.1/24");
        assert_eq!(r.network, ip("172.16.10.0"));
        assert_eq!(r.broadcast, Some(ip("172.16.10.255")));
        assert_eq!(r.netmask, ip("255.255.255.0"));
        assert_eq!(r.wildcard, ip("0.0.0.255"));
        assert_eq!(r.first_host, ip("172.16.10.1"));
        assert_eq!(r.last_host, ip("172.16.10.254"));
        assert_eq!(r.usable_hosts.value, Some(254));
        assert_eq!(r.total_addresses.value, Some(256));
        assert_eq!(r.class, Some('B'));
        assert_eq!(r.scope.name, "private");
        assert_eq!(r.binary.address, "10101100.00010000.00001010.00000001");
        assert_eq!(r.address_hex, "AC100A01");
    }

    #[test]
    fn point_to_point_and_host_routes() {
        let r = c("172.16.10.1/31");
        assert_eq!(
            (r.first_host, r.last_host),
            (ip("172.16.10.0"), ip("172.16.10.1"))
        );
        assert_eq!(r.usable_hosts.value, Some(2));
        assert_eq!(r.broadcast, None);
        let r = c("10.0.0.1/32");
        assert_eq!(
            (r.first_host, r.last_host),
            (ip("10.0.0.1"), ip("10.0.0.1"))
        );
        assert_eq!(r.usable_hosts.value, Some(1));
        let r = c("2001:db8::1/127");
        assert_eq!(
            (r.first_host, r.last_host),
            (ip("2001:db8::"), ip("2001:db8::1"))
        );
        assert_eq!(r.usable_hosts.value, Some(2));
        let r = c("2001:db8::1/128");
        assert_eq!(r.total_addresses.value, Some(1));
        assert_eq!(r.note, Some("host route"));
    }

    #[test]
    fn slash_zero() {
        let r = c("192.0.2.1/0");
        assert_eq!(r.network, ip("0.0.0.0"));
        assert_eq!(r.broadcast, Some(ip("255.255.255.255")));
        assert_eq!(r.total_addresses.value, Some(1 << 32));
        assert_eq!(r.usable_hosts.value, Some((1 << 32) - 2));
        let r = c("2001:db8::1/0");
        assert_eq!(r.total_addresses.value, None);
        assert_eq!(
            r.total_addresses.to_string(),
            "340282366920938463463374607431768211456"
        );
        assert_eq!(r.netmask, ip("::"));
        assert_eq!(r.wildcard, ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    }

    #[test]
    fn ipv6_64() {
        let r = c("2001:db8::1/64");
        assert_eq!(r.network, ip("2001:db8::"));
        assert_eq!(r.last_host, ip("2001:db8::ffff:ffff:ffff:ffff"));
        assert_eq!(r.netmask, ip("ffff:ffff:ffff:ffff::"));
        assert_eq!(r.scope.name, "documentation");
        assert_eq!(r.class, None);
        assert_eq!(r.total_addresses.to_string(), "18446744073709551616");
    }

    #[test]
    fn ipv4_mapped_ipv6() {
        let r = c("::ffff:192.0.2.1/128");
        assert_eq!(r.ipv4_mapped, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(r.scope.name, "ipv4-mapped");
        let net: IpNetwork = "192.0.2.0/24".parse().unwrap();
        assert!(contains(&net, ip("::ffff:192.0.2.77")).unwrap().inside);
        assert!(!contains(&net, ip("::ffff:198.51.100.1")).unwrap().inside);
        assert!(contains(&net, ip("2001:db8::1")).is_err());
    }

    #[test]
    fn scopes() {
        for (a, s) in [
            ("10.1.2.3", "private"),
            ("100.64.0.1", "cgnat"),
            ("127.0.0.1", "loopback"),
            ("169.254.1.1", "link-local"),
            ("224.0.0.251", "multicast"),
            ("198.51.100.7", "documentation"),
            ("8.8.8.8", "global"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("fe80::1", "link-local"),
            ("fd00::1", "unique-local"),
            ("ff02::1", "multicast"),
            ("::1", "loopback"),
            ("2606:4700::1", "global"),
        ] {
            assert_eq!(scope_of(ip(a)).name, s, "{a}");
        }
    }

    #[test]
    fn same_subnet_and_step() {
        let r = same_subnet(ip("192.168.1.10"), ip("192.168.1.200"), 24).unwrap();
        assert!(r.same);
        assert_eq!(r.a.network, ip("192.168.1.0"));
        assert_eq!(r.netmask_binary, "11111111.11111111.11111111.00000000");
        let r = same_subnet(ip("192.168.1.10"), ip("192.168.2.10"), 24).unwrap();
        assert!(!r.same);
        assert!(
            same_subnet(ip("192.168.1.10"), ip("192.168.2.10"), 16)
                .unwrap()
                .same
        );
        assert!(same_subnet(ip("2001:db8::1"), ip("2001:db8:0:1::1"), 64)
            .map(|r| !r.same)
            .unwrap());
        assert!(matches!(
            same_subnet(ip("192.0.2.1"), ip("2001:db8::1"), 24),
            Err(SubnetError::MixedFamilies { .. })
        ));
    }
}
