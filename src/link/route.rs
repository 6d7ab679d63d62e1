//! The kernel's routing decision, the classic way: read the routing table
//! (`/proc/net/route`, `/proc/net/ipv6_route`), take the longest prefix
//! that matches (lowest metric on a tie), and say who the link layer must
//! resolve: the target itself when it is on-link, the gateway otherwise.
//!
//! The proc files show the main table only (plus IPv6's local routes);
//! local addresses are recognised from the interfaces themselves, as the
//! kernel's local table would.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use serde::Serialize;

use super::iface::Interface;

// RTF_* from <linux/route.h> and <linux/ipv6_route.h>
const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_REJECT: u32 = 0x0200;
const RTF_CACHE: u32 = 0x0100_0000;
const RTF_LOCAL: u32 = 0x8000_0000;

/// One routing table entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Destination network.
    #[serde(serialize_with = "ser_net")]
    pub dest: IpNetwork,
    /// The gateway, for routes through one.
    pub gateway: Option<IpAddr>,
    /// Outgoing interface (`*` for reject routes without one).
    pub iface: String,
    /// Metric (lower wins among equal prefixes).
    pub metric: u32,
    /// Raw RTF_* flags.
    pub flags: u32,
}

fn ser_net<S: serde::Serializer>(n: &IpNetwork, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}/{}", n.network(), n.prefix()))
}

impl Route {
    /// Whether it rejects (unreachable, prohibit, blackhole).
    pub fn is_reject(&self) -> bool {
        self.flags & RTF_REJECT != 0
    }

    /// Whether it is IPv6's local route for one of our own addresses.
    pub fn is_local(&self) -> bool {
        self.flags & RTF_LOCAL != 0
    }

    /// The `ip route` style text: `198.51.100.0/24 via 192.0.2.1 dev lan0 metric 0`.
    pub fn text(&self) -> String {
        let mut s = if self.dest.prefix() == 0 {
            "default".to_string()
        } else {
            format!("{}/{}", self.dest.network(), self.dest.prefix())
        };
        if self.is_reject() {
            s.insert_str(0, "unreachable ");
        }
        if let Some(g) = self.gateway {
            s.push_str(&format!(" via {g}"));
        }
        if self.iface != "*" && !self.is_reject() {
            s.push_str(&format!(" dev {}", self.iface));
        }
        s.push_str(&format!(" metric {}", self.metric));
        s
    }
}

/// Why a proc routing file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file} line {line}: {what}")]
pub struct TableError {
    /// The file.
    pub file: &'static str,
    /// 1-based line.
    pub line: usize,
    /// What was wrong.
    pub what: String,
}

fn hex_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 16).ok()
}

/// Parses `/proc/net/route` text (IPv4; addresses are in host byte order
/// as hex, which is little-endian on the machines this runs on, so the
/// first octet is the lowest byte).
///
/// # Errors
/// A line that does not have the kernel's layout.
pub fn parse_v4(text: &str) -> Result<Vec<Route>, TableError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let err = |what: &str| TableError {
            file: "/proc/net/route",
            line: i + 1,
            what: what.to_string(),
        };
        if f.len() < 8 {
            return Err(err("fewer than 8 fields"));
        }
        let addr = |s: &str| hex_u32(s).map(|v| Ipv4Addr::from(v.to_le_bytes()));
        let dest = addr(f[1]).ok_or_else(|| err("bad destination"))?;
        let gw = addr(f[2]).ok_or_else(|| err("bad gateway"))?;
        let flags = hex_u32(f[3]).ok_or_else(|| err("bad flags"))?;
        let metric: u32 = f[6].parse().map_err(|_| err("bad metric"))?;
        let mask = addr(f[7]).ok_or_else(|| err("bad mask"))?;
        let prefix = u32::from(mask).leading_ones() as u8;
        let dest = IpNetwork::new(IpAddr::V4(dest), prefix).map_err(|_| err("bad prefix"))?;
        out.push(Route {
            dest,
            gateway: (flags & RTF_GATEWAY != 0).then_some(IpAddr::V4(gw)),
            iface: f[0].to_string(),
            metric,
            flags,
        });
    }
    Ok(out)
}

/// Parses `/proc/net/ipv6_route` text.
///
/// # Errors
/// A line that does not have the kernel's layout.
pub fn parse_v6(text: &str) -> Result<Vec<Route>, TableError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let err = |what: &str| TableError {
            file: "/proc/net/ipv6_route",
            line: i + 1,
            what: what.to_string(),
        };
        if f.len() < 10 {
            return Err(err("fewer than 10 fields"));
        }
        let addr = |s: &str| {
            u128::from_str_radix(s, 16)
                .ok()
                .filter(|_| s.len() == 32)
                .map(Ipv6Addr::from)
        };
        let dest = addr(f[0]).ok_or_else(|| err("bad destination"))?;
        let prefix = u8::from_str_radix(f[1], 16).map_err(|_| err("bad prefix"))?;
        let gw = addr(f[4]).ok_or_else(|| err("bad next hop"))?;
        let metric = hex_u32(f[5]).ok_or_else(|| err("bad metric"))?;
        let flags = hex_u32(f[8]).ok_or_else(|| err("bad flags"))?;
        if flags & RTF_CACHE != 0 {
            continue;
        }
        let dest = IpNetwork::new(IpAddr::V6(dest), prefix).map_err(|_| err("bad prefix"))?;
        out.push(Route {
            dest,
            gateway: (flags & RTF_GATEWAY != 0 && !gw.is_unspecified()).then_some(IpAddr::V6(gw)),
            iface: f[9].to_string(),
            metric,
            flags,
        });
    }
    Ok(out)
}

/// The routing tables of this network namespace.
///
/// # Errors
/// An unreadable or malformed proc file (a missing IPv6 table is empty).
pub fn table() -> Result<Vec<Route>, crate::Error> {
    let read = |p: &str| std::fs::read_to_string(p);
    let v4 = read("/proc/net/route").map_err(|e| crate::Error::File {
        path: "/proc/net/route".into(),
        source: e,
    })?;
    let mut routes = parse_v4(&v4).map_err(|e| crate::Error::Io {
        context: "reading the routing table".into(),
        source: std::io::Error::other(e),
    })?;
    if let Ok(v6) = read("/proc/net/ipv6_route") {
        routes.extend(parse_v6(&v6).map_err(|e| crate::Error::Io {
            context: "reading the routing table".into(),
            source: std::io::Error::other(e),
        })?);
    }
    Ok(routes)
}

/// What happens to a packet for the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One of this host's own addresses (or loopback): never leaves it.
    Local,
    /// On a directly connected network: the link layer resolves the
    /// target itself.
    OnLink,
    /// Through a gateway: the link layer resolves the gateway.
    Gateway,
    /// A reject route matched, or no route at all.
    Unreachable,
}

/// The mask AND that decides "same subnet": the classic explanation.
#[derive(Debug, Clone, Serialize)]
pub struct AndCheck {
    /// The interface's address used for the comparison.
    pub source: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// The mask as an address.
    pub mask: IpAddr,
    /// target AND mask.
    pub target_network: IpAddr,
    /// source AND mask.
    pub source_network: IpAddr,
    /// Whether the two ANDs are equal.
    pub same: bool,
}

/// The routing decision for one target.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The address asked about.
    pub target: IpAddr,
    /// Local, on-link, via gateway, unreachable.
    pub kind: Kind,
    /// The route that won (absent for local addresses and no-route).
    pub route: Option<Route>,
    /// How many routes matched the target.
    pub matched: usize,
    /// The outgoing interface.
    pub iface: Option<String>,
    /// The address packets would come from.
    pub source: Option<IpAddr>,
    /// Whom the link layer resolves: the target (on-link) or the gateway.
    pub next_hop: Option<IpAddr>,
    /// `arp` for IPv4, `ndp` for IPv6, absent when nothing is resolved.
    pub resolution: Option<&'static str>,
    /// The AND of target and interface address with the interface's mask.
    pub and_check: Option<AndCheck>,
    /// One sentence saying all of it.
    pub explanation: String,
}

fn mask_of(n: &IpNetwork) -> IpAddr {
    n.mask()
}

fn and(a: IpAddr, mask: IpAddr) -> IpAddr {
    match (a, mask) {
        (IpAddr::V4(a), IpAddr::V4(m)) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::from(m))),
        (IpAddr::V6(a), IpAddr::V6(m)) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & u128::from(m))),
        (a, _) => a,
    }
}

fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// The interface address to compare with (and to send from): the one
/// whose network holds `toward`, else the interface's first address of
/// that family (link-local IPv6 last).
fn pick_source(iface: Option<&Interface>, toward: IpAddr) -> Option<IpNetwork> {
    let nets: Vec<IpNetwork> = iface?
        .networks()
        .filter(|n| same_family(n.ip(), toward))
        .collect();
    let global = |n: &&IpNetwork| match n.ip() {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        IpAddr::V4(_) => true,
    };
    nets.iter()
        .find(|n| n.contains(toward) && global(n))
        .or_else(|| nets.iter().find(|n| global(n)))
        .or_else(|| nets.first())
        .copied()
}

/// Decides how `target` is reached, given the routes and interfaces.
pub fn decide(target: IpAddr, routes: &[Route], ifaces: &[Interface]) -> Decision {
    let resolution = if target.is_ipv4() { "arp" } else { "ndp" };
    let by_name = |n: &str| ifaces.iter().find(|i| i.name == n);
    // our own address, or loopback: the local table
    let own = ifaces
        .iter()
        .find(|i| i.addrs.iter().any(|a| a.addr == target));
    if own.is_some() || target.is_loopback() {
        let iface = own
            .filter(|i| i.is_loopback())
            .or_else(|| ifaces.iter().find(|i| i.is_loopback()))
            .map(|i| i.name.clone());
        let source = if own.is_some() {
            Some(target)
        } else {
            ifaces
                .iter()
                .find(|i| i.is_loopback())
                .and_then(|i| pick_source(Some(i), target))
                .map(|n| n.ip())
        };
        let explanation = match &own {
            Some(i) => format!(
                "{target} is an address of {} on this host: the packet never leaves it, nothing is resolved",
                i.name
            ),
            None => format!(
                "{target} is a loopback address: the packet stays on this host, nothing is resolved"
            ),
        };
        return Decision {
            target,
            kind: Kind::Local,
            route: None,
            matched: 0,
            iface,
            source,
            next_hop: None,
            resolution: None,
            and_check: None,
            explanation,
        };
    }
    let mut candidates: Vec<&Route> = routes
        .iter()
        .filter(|r| same_family(r.dest.ip(), target) && r.flags & RTF_UP != 0)
        .filter(|r| !r.is_local())
        .filter(|r| r.dest.contains(target))
        .collect();
    // longest prefix first, then lowest metric
    candidates.sort_by(|a, b| {
        b.dest
            .prefix()
            .cmp(&a.dest.prefix())
            .then(a.metric.cmp(&b.metric))
    });
    let matched = candidates.len();
    let Some(route) = candidates.first().map(|r| (*r).clone()) else {
        return Decision {
            target,
            kind: Kind::Unreachable,
            route: None,
            matched: 0,
            iface: None,
            source: None,
            next_hop: None,
            resolution: None,
            and_check: None,
            explanation: format!("no route matches {target}: the network is unreachable"),
        };
    };
    if route.is_reject() {
        let explanation = format!(
            "{target} matches the reject route {}: the kernel refuses to send",
            route.text()
        );
        return Decision {
            target,
            kind: Kind::Unreachable,
            route: Some(route),
            matched,
            iface: None,
            source: None,
            next_hop: None,
            resolution: None,
            and_check: None,
            explanation,
        };
    }
    let iface = by_name(&route.iface);
    let next_hop = route.gateway.unwrap_or(target);
    let src_net = pick_source(iface, next_hop);
    let and_check = src_net.map(|n| {
        let mask = mask_of(&n);
        let (t, s) = (and(target, mask), and(n.ip(), mask));
        AndCheck {
            source: n.ip(),
            prefix: n.prefix(),
            mask,
            target_network: t,
            source_network: s,
            same: t == s,
        }
    });
    let subnet = src_net
        .map(|n| {
            format!(
                "{}'s subnet {}/{}",
                route.iface,
                and(n.ip(), n.mask()),
                n.prefix()
            )
        })
        .unwrap_or_else(|| format!("{}'s subnets", route.iface));
    let (kind, explanation) = match route.gateway {
        Some(g) => {
            let why = match &and_check {
                Some(c) if !c.same => format!(
                    "{target} is not on {subnet} ({target} AND {} = {}, which differs from {}) -> ",
                    c.mask, c.target_network, c.source_network
                ),
                _ => String::new(),
            };
            (
                Kind::Gateway,
                format!(
                    "{why}via gateway {g} on {} (route {}), so {} asks for {g}",
                    route.iface,
                    route.text(),
                    resolution.to_uppercase()
                ),
            )
        }
        None => {
            let why = match &and_check {
                Some(c) if c.same => format!(
                    "{target} is on {subnet} ({target} AND {} = {} = {} AND {})",
                    c.mask, c.target_network, c.source, c.mask
                ),
                _ => format!(
                    "{target} is on-link by the route {} (outside {subnet})",
                    route.text()
                ),
            };
            (
                Kind::OnLink,
                format!(
                    "{why} -> on-link on {}: {} asks for the target itself",
                    route.iface,
                    resolution.to_uppercase()
                ),
            )
        }
    };
    Decision {
        target,
        kind,
        iface: Some(route.iface.clone()),
        route: Some(route),
        matched,
        source: src_net.map(|n| n.ip()),
        next_hop: Some(next_hop),
        resolution: Some(resolution),
        and_check,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::iface::Addr;

    const V4: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
lan0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
lan0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
lan0\t00007198\t010200C0\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0
lan0\t006433C6\t020200C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0
lan0\t006433C6\t030200C0\t0003\t0\t0\t5\t00FFFFFF\t0\t0\t0
*\t007100CB\t00000000\t0201\t0\t0\t0\t00FFFFFF\t0\t0\t0
";

    const V6: &str = "\
20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     lan0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000003 00000000 00000003     lan0
20010db800000000000000000000000a 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000003 00000000 80200001     lan0
";

    fn lan0() -> Vec<Interface> {
        vec![
            Interface {
                name: "lo".into(),
                index: 1,
                mac: None,
                vendor: None,
                mtu: Some(65536),
                addrs: vec![Addr {
                    addr: "127.0.0.1".parse().unwrap(),
                    prefix: 8,
                    network: "127.0.0.0/8".into(),
                }],
                flags: vec!["up", "loopback"],
            },
            Interface {
                name: "lan0".into(),
                index: 2,
                mac: Some("02:00:00:00:00:0a".into()),
                vendor: None,
                mtu: Some(1500),
                addrs: vec![
                    Addr {
                        addr: "192.0.2.10".parse().unwrap(),
                        prefix: 24,
                        network: "192.0.2.0/24".into(),
                    },
                    Addr {
                        addr: "2001:db8::a".parse().unwrap(),
                        prefix: 64,
                        network: "2001:db8::/64".into(),
                    },
                ],
                flags: vec!["up", "broadcast"],
            },
        ]
    }

    fn routes() -> Vec<Route> {
        let mut r = parse_v4(V4).unwrap();
        r.extend(parse_v6(V6).unwrap());
        r
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_kernel_layout() {
        let r = parse_v4(V4).unwrap();
        assert_eq!(r.len(), 6);
        assert_eq!(r[0].text(), "default via 192.0.2.1 dev lan0 metric 100");
        assert_eq!(r[1].text(), "192.0.2.0/24 dev lan0 metric 0");
        assert_eq!(
            r[2].text(),
            "152.113.0.0/16 via 192.0.2.1 dev lan0 metric 0"
        );
        assert!(r[5].is_reject());
        let r6 = parse_v6(V6).unwrap();
        assert_eq!(r6[0].text(), "2001:db8::/64 dev lan0 metric 256");
        assert_eq!(r6[1].text(), "default via 2001:db8::1 dev lan0 metric 1024");
        assert!(r6[2].is_local());
        assert!(parse_v4("h\nlan0 zz").is_err());
        assert!(parse_v6("0 0").is_err());
    }

    #[test]
    fn on_link_asks_for_the_target() {
        let d = decide(ip("192.0.2.20"), &routes(), &lan0());
        assert_eq!(d.kind, Kind::OnLink);
        assert_eq!(d.next_hop, Some(ip("192.0.2.20")));
        assert_eq!(d.source, Some(ip("192.0.2.10")));
        assert_eq!(d.iface.as_deref(), Some("lan0"));
        let c = d.and_check.unwrap();
        assert!(c.same);
        assert_eq!(c.mask, ip("255.255.255.0"));
        assert!(
            d.explanation.contains("ARP asks for the target itself"),
            "{}",
            d.explanation
        );
    }

    #[test]
    fn off_link_asks_for_the_gateway_longest_prefix_and_metric() {
        // 198.51.100.0/24 twice: metric 0 via .2 beats metric 5 via .3;
        // both beat the default route
        let d = decide(ip("198.51.100.10"), &routes(), &lan0());
        assert_eq!(d.kind, Kind::Gateway);
        assert_eq!(d.next_hop, Some(ip("192.0.2.2")));
        assert_eq!(d.matched, 3);
        assert!(!d.and_check.as_ref().unwrap().same);
        assert!(
            d.explanation
                .starts_with("198.51.100.10 is not on lan0's subnet 192.0.2.0/24"),
            "{}",
            d.explanation
        );
        assert!(d.explanation.ends_with("so ARP asks for 192.0.2.2"));
        // only the default route
        let d = decide(ip("203.0.114.1"), &routes(), &lan0());
        assert_eq!(d.next_hop, Some(ip("192.0.2.1")));
        assert_eq!(d.route.unwrap().dest.prefix(), 0);
    }

    #[test]
    fn local_reject_and_none() {
        let d = decide(ip("192.0.2.10"), &routes(), &lan0());
        assert_eq!(d.kind, Kind::Local);
        assert_eq!(d.next_hop, None);
        let d = decide(ip("127.0.0.53"), &routes(), &lan0());
        assert_eq!(d.kind, Kind::Local);
        assert_eq!(d.iface.as_deref(), Some("lo"));
        let d = decide(ip("203.0.113.7"), &routes(), &lan0());
        assert_eq!(d.kind, Kind::Unreachable);
        assert!(d.route.unwrap().is_reject());
        let d = decide(ip("192.0.2.20"), &[], &lan0());
        assert_eq!(d.kind, Kind::Unreachable);
        assert!(d.route.is_none());
    }

    #[test]
    fn ipv6_uses_ndp() {
        let d = decide(ip("2001:db8::20"), &routes(), &lan0());
        assert_eq!(d.kind, Kind::OnLink);
        assert_eq!(d.resolution, Some("ndp"));
        assert_eq!(d.source, Some(ip("2001:db8::a")));
        let d = decide(ip("2001:db8:1::1"), &routes(), &lan0());
        assert_eq!(d.kind, Kind::Gateway);
        assert_eq!(d.next_hop, Some(ip("2001:db8::1")));
        assert!(
            d.explanation.ends_with("so NDP asks for 2001:db8::1"),
            "{}",
            d.explanation
        );
        // our own address (also a local route in the table)
        assert_eq!(
            decide(ip("2001:db8::a"), &routes(), &lan0()).kind,
            Kind::Local
        );
    }
}
