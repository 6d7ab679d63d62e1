//! Parsing of subnet inputs with errors that point at the bad part.

use std::net::IpAddr;
use std::str::FromStr;

use ipnetwork::IpNetwork;

use super::{ip_to_u128, mask_of, Family, RangeSet, SubnetError};

/// Parses one IPv4 or IPv6 address, explaining what is wrong when it fails.
///
/// # Errors
/// [`SubnetError::BadAddress`] naming the bad octet or group.
pub fn parse_ip(s: &str) -> Result<IpAddr, SubnetError> {
    if let Ok(ip) = IpAddr::from_str(s) {
        return Ok(ip);
    }
    let bad = |what, reason: String| SubnetError::BadAddress {
        input: s.to_string(),
        what,
        reason,
    };
    if s.is_empty() {
        return Err(bad("IP address", "it is empty".into()));
    }
    if s.contains(':') {
        return Err(bad("IPv6 address", ipv6_reason(s)));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad("IPv4 address", ipv4_reason(s)));
    }
    Err(bad(
        "IP address",
        "expected dotted decimal (192.0.2.1) or IPv6 (2001:db8::1)".into(),
    ))
}

/// Why a string of digits and dots is not an IPv4 address.
fn ipv4_reason(s: &str) -> String {
    let octets: Vec<&str> = s.split('.').collect();
    if octets.len() != 4 {
        return format!("expected 4 octets, found {}", octets.len());
    }
    for o in octets {
        if o.is_empty() {
            return "an octet is empty".into();
        }
        if o.len() > 1 && o.starts_with('0') {
            return format!("octet '{o}' has a leading zero (octal or decimal is ambiguous)");
        }
        if o.parse::<u32>().map_or(true, |v| v > 255) {
            return format!("octet {o} is larger than 255");
        }
    }
    "not an IPv4 address".into()
}

/// Why a string with a colon is not an IPv6 address.
fn ipv6_reason(s: &str) -> String {
    if s.matches("::").count() > 1 {
        return "'::' may appear only once".into();
    }
    if let Some(g) = s
        .split(':')
        .find(|g| !g.contains('.') && (g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit())))
    {
        return format!("group '{g}' is not 1-4 hex digits");
    }
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    if !s.contains("::") && groups != 8 {
        return format!("expected 8 groups, found {groups}");
    }
    "not an IPv6 address".into()
}

/// Parses a prefix length (`24`, `/24`) or a netmask (`255.255.255.0`,
/// `ffff:ffff::`) for an address of `family`, returning the prefix length.
///
/// # Errors
/// Out-of-range prefixes, non-contiguous masks, masks of the other family.
pub fn parse_prefix_or_mask(family: Family, input: &str, s: &str) -> Result<u8, SubnetError> {
    let t = s.strip_prefix('/').unwrap_or(s);
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<u16>() {
            Ok(p) if p <= u16::from(family.bits()) => Ok(u8::try_from(p).unwrap_or(0)),
            _ => Err(SubnetError::BadPrefix {
                input: input.to_string(),
                prefix: t.to_string(),
                family,
            }),
        };
    }
    let mask = match IpAddr::from_str(t) {
        Ok(m) => m,
        Err(_) if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') && t.contains('.') => {
            // A mask that looks dotted but is not an address: say why.
            return Err(parse_ip(t)
                .err()
                .unwrap_or(SubnetError::BadMask { input: t.into() }));
        }
        Err(_) => return Err(SubnetError::BadMask { input: t.into() }),
    };
    if Family::of(mask) != family {
        return Err(SubnetError::MixedFamilies {
            a: input.split(['/', ' ']).next().unwrap_or(input).to_string(),
            fa: family,
            b: t.to_string(),
            fb: Family::of(mask),
        });
    }
    mask_to_prefix(family, ip_to_u128(mask)).ok_or(SubnetError::NonContiguousMask {
        mask: t.to_string(),
    })
}

/// The prefix length of a contiguous mask, or None.
fn mask_to_prefix(family: Family, m: u128) -> Option<u8> {
    let ones = u8::try_from(m.count_ones()).ok()?;
    (mask_of(family, ones) == m).then_some(ones)
}

/// Parses the input of `subnet calc`: `ADDR/PREFIX`, `ADDR/MASK`,
/// `ADDR MASK` (one string with a space, or the words joined by the caller),
/// or a bare address (a host route, /32 or /128). The returned network keeps
/// the host bits of the address.
///
/// # Errors
/// Whatever part of the input is invalid.
pub fn parse_cidr_input(input: &str) -> Result<IpNetwork, SubnetError> {
    let input = input.trim();
    let (addr, mask) = match input.split_once('/') {
        Some((a, m)) => (a.trim(), Some(m.trim())),
        None => match input.split_once(char::is_whitespace) {
            Some((a, m)) => (a.trim(), Some(m.trim())),
            None => (input, None),
        },
    };
    let ip = parse_ip(addr)?;
    let family = Family::of(ip);
    let prefix = match mask {
        Some(m) => parse_prefix_or_mask(family, input, m)?,
        None => family.bits(),
    };
    IpNetwork::new(ip, prefix).map_err(|_| SubnetError::BadPrefix {
        input: input.to_string(),
        prefix: prefix.to_string(),
        family,
    })
}

/// Parses a pattern or list item: a CIDR (`192.0.2.0/24`, host bits
/// allowed), a single address, or an inclusive range `A-B`. Returns the
/// covered addresses as a one-family range set.
///
/// # Errors
/// Bad addresses, prefixes or ranges (`B` before `A`, mixed families).
pub fn parse_spec(s: &str) -> Result<(Family, u128, u128), SubnetError> {
    let s = s.trim();
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (a.trim(), b.trim());
        let (ia, ib) = (parse_ip(a)?, parse_ip(b)?);
        let (fa, fb) = (Family::of(ia), Family::of(ib));
        if fa != fb {
            return Err(SubnetError::MixedFamilies {
                a: a.into(),
                fa,
                b: b.into(),
                fb,
            });
        }
        let (va, vb) = (ip_to_u128(ia), ip_to_u128(ib));
        if va > vb {
            return Err(SubnetError::BadRange {
                input: s.into(),
                reason: format!("{b} comes before {a}"),
            });
        }
        return Ok((fa, va, vb));
    }
    let net = parse_cidr_input(s)?;
    Ok(super::bounds(&net))
}

impl FromStr for RangeSet {
    type Err = SubnetError;
    /// One spec (CIDR, address or range) as a set.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (f, a, b) = parse_spec(s)?;
        let mut set = RangeSet::default();
        set.insert(f, a, b);
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: Ipv4Addr) -> u128 {
        u128::from(u32::from(a))
    }

    fn v6(a: Ipv6Addr) -> u128 {
        u128::from(a)
    }

    fn err(s: &str) -> String {
        parse_cidr_input(s).unwrap_err().to_string()
    }

    #[test]
    fn accepts_the_four_calc_forms() {
        for s in [
            "172.16.10.1/24",
            "172.16.10.1 255.255.255.0",
            "172.16.10.1/255.255.255.0",
        ] {
            let n = parse_cidr_input(s).unwrap();
            assert_eq!(n.ip(), "172.16.10.1".parse::<IpAddr>().unwrap(), "{s}");
            assert_eq!(n.prefix(), 24, "{s}");
        }
        let n = parse_cidr_input("2001:db8::1/64").unwrap();
        assert_eq!(n.prefix(), 64);
        assert_eq!(parse_cidr_input("192.0.2.9").unwrap().prefix(), 32);
        assert_eq!(parse_cidr_input("::1").unwrap().prefix(), 128);
        assert_eq!(
            parse_cidr_input("2001:db8::/ffff:ffff::").unwrap().prefix(),
            32
        );
    }

    #[test]
    fn errors_name_the_bad_part() {
        assert!(err("300.1.1.1/24").contains("octet 300 is larger than 255"));
        assert!(err("10.0.0.1/33").contains("'/33'"));
        assert!(err("10.0.0.1/33").contains("0-32"));
        assert!(err("2001:db8::/129").contains("0-128"));
        assert!(err("10.0.0.1 255.0.255.0").contains("255.0.255.0 is not contiguous"));
        assert!(err("banana").contains("'banana' is not a valid IP address"));
        assert!(err("1.2.3/24").contains("expected 4 octets, found 3"));
        assert!(err("01.2.3.4/8").contains("leading zero"));
        assert!(err("2001:db8:::1/64").contains("IPv6"));
        assert!(err("2001:db8::g/64").contains("group 'g'"));
        assert!(err("10.0.0.1/ffff::").contains("mixed address families"));
        assert!(err("10.0.0.1/abc").contains("neither a prefix length nor a netmask"));
        assert!(err("10.0.0.1/255.255.256.0").contains("octet 256"));
        assert!(matches!(
            parse_cidr_input("10.0.0.1/-1"),
            Err(SubnetError::BadMask { .. })
        ));
    }

    #[test]
    fn specs() {
        assert_eq!(
            parse_spec("192.0.2.0/24").unwrap(),
            (
                Family::V4,
                v4("192.0.2.0".parse().unwrap()),
                v4("192.0.2.255".parse().unwrap())
            )
        );
        assert_eq!(
            parse_spec("192.0.2.5 - 192.0.2.9").unwrap(),
            (
                Family::V4,
                v4("192.0.2.5".parse().unwrap()),
                v4("192.0.2.9".parse().unwrap())
            )
        );
        assert_eq!(
            parse_spec("2001:db8::1").unwrap(),
            (
                Family::V6,
                v6("2001:db8::1".parse().unwrap()),
                v6("2001:db8::1".parse().unwrap())
            )
        );
        assert!(matches!(
            parse_spec("192.0.2.9-192.0.2.1"),
            Err(SubnetError::BadRange { .. })
        ));
        assert!(matches!(
            parse_spec("192.0.2.9-2001:db8::1"),
            Err(SubnetError::MixedFamilies { .. })
        ));
    }
}
