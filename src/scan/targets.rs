//! Scan targets: addresses, CIDRs, ranges and names, expanded to a list
//! of addresses.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

use ipnetwork::IpNetwork;

/// Expands target specs. A CIDR gives its hosts (without network and
/// broadcast above /31 for IPv4), a range `A-B` or `192.0.2.1-20` every
/// address in it, a name its addresses (the system resolver: /etc/hosts,
/// then DNS). Stops with an error past `limit` addresses.
///
/// # Errors
/// A spec that is none of these, or too many addresses.
pub fn expand(specs: &[String], limit: u128) -> Result<Vec<IpAddr>, String> {
    let mut out: Vec<IpAddr> = Vec::new();
    let mut total: u128 = 0;
    for spec in specs {
        for t in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let before = out.len();
            expand_one(t, limit.saturating_sub(total), &mut out)?;
            total += (out.len() - before) as u128;
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(*a));
    Ok(out)
}

fn too_many(t: &str, limit: u128) -> String {
    format!("{t} holds more than {limit} addresses")
}

fn expand_one(t: &str, limit: u128, out: &mut Vec<IpAddr>) -> Result<(), String> {
    if let Ok(a) = t.parse::<IpAddr>() {
        out.push(a);
        return Ok(());
    }
    if t.contains('/') {
        let n: IpNetwork = t
            .parse()
            .map_err(|_| format!("{t:?} is not a CIDR (such as 192.0.2.0/24)"))?;
        let (first, last) = match n {
            IpNetwork::V4(v4) => {
                let (a, b) = (u32::from(v4.network()), u32::from(v4.broadcast()));
                if v4.prefix() <= 30 {
                    (u128::from(a) + 1, u128::from(b) - 1)
                } else {
                    (u128::from(a), u128::from(b))
                }
            }
            IpNetwork::V6(v6) => {
                let a = u128::from(v6.network());
                let size = if v6.prefix() == 0 {
                    u128::MAX
                } else {
                    (1u128 << (128 - u32::from(v6.prefix()))) - 1
                };
                (a, a + size)
            }
        };
        return push_range(t, n.is_ipv4(), first, last, limit, out);
    }
    if let Some((a, b)) = t.split_once('-') {
        let a: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{t:?}: {a:?} is not an address"))?;
        let b = b.trim();
        let b: IpAddr = match (a, b.parse::<u8>()) {
            // 192.0.2.1-20: the last octet
            (IpAddr::V4(v4), Ok(last)) => {
                let o = v4.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], last))
            }
            _ => b
                .parse()
                .map_err(|_| format!("{t:?}: {b:?} is not an address"))?,
        };
        let (x, y) = match (a, b) {
            (IpAddr::V4(x), IpAddr::V4(y)) => (u128::from(u32::from(x)), u128::from(u32::from(y))),
            (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x), u128::from(y)),
            _ => return Err(format!("{t:?} mixes IPv4 and IPv6")),
        };
        if x > y {
            return Err(format!("the range {t:?} runs backwards"));
        }
        return push_range(t, a.is_ipv4(), x, y, limit, out);
    }
    // a name: the system's resolver (getaddrinfo)
    let addrs: Vec<IpAddr> = (t, 0)
        .to_socket_addrs()
        .map_err(|e| format!("{t:?} is not an address, CIDR or range, and does not resolve: {e}"))?
        .map(|s| s.ip())
        .collect();
    if addrs.is_empty() {
        return Err(format!("{t:?} resolves to no address"));
    }
    // one address per family, as nmap scans the first
    let v4 = addrs.iter().find(|a| a.is_ipv4());
    out.push(*v4.unwrap_or(&addrs[0]));
    Ok(())
}

fn push_range(
    t: &str,
    v4: bool,
    first: u128,
    last: u128,
    limit: u128,
    out: &mut Vec<IpAddr>,
) -> Result<(), String> {
    if last < first {
        return Ok(());
    }
    if last - first >= limit {
        return Err(too_many(t, limit));
    }
    for x in first..=last {
        out.push(if v4 {
            IpAddr::V4(Ipv4Addr::from(x as u32))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(x))
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &[&str]) -> Result<Vec<String>, String> {
        let v: Vec<String> = s.iter().map(|x| x.to_string()).collect();
        expand(&v, 1 << 20).map(|a| a.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn specs() {
        assert_eq!(ex(&["127.0.0.1"]).unwrap(), vec!["127.0.0.1"]);
        assert_eq!(
            ex(&["192.0.2.0/30"]).unwrap(),
            vec!["192.0.2.1", "192.0.2.2"]
        );
        assert_eq!(
            ex(&["192.0.2.8/31"]).unwrap(),
            vec!["192.0.2.8", "192.0.2.9"]
        );
        assert_eq!(
            ex(&["192.0.2.1-3"]).unwrap(),
            vec!["192.0.2.1", "192.0.2.2", "192.0.2.3"]
        );
        assert_eq!(ex(&["192.0.2.254-192.0.3.1"]).unwrap().len(), 4);
        assert_eq!(ex(&["2001:db8::/126"]).unwrap().len(), 4);
        assert_eq!(
            ex(&["::1,127.0.0.1,::1"]).unwrap(),
            vec!["::1", "127.0.0.1"]
        );
        assert_eq!(ex(&["localhost"]).unwrap().len(), 1);
        // (no unknown names here: they would go to the DNS server off the machine)
        for bad in ["192.0.2.0/33", "192.0.2.5-1", "192.0.2.1-2001:db8::1"] {
            assert!(ex(&[bad]).is_err(), "{bad}");
        }
        let v: Vec<String> = vec!["10.0.0.0/8".into()];
        assert!(expand(&v, 65_536).unwrap_err().contains("more than 65536"));
    }
}
