//! Port lists (`22,80,443`, `1-1024`, `-` for all) and the table of
//! common ports shipped with netray (`--top N`, and service names).

use std::collections::HashMap;
use std::sync::OnceLock;

/// Which transport a port belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// `tcp` or `udp`.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

const TABLE: &str = include_str!("top.txt");

struct Table {
    order: HashMap<Proto, Vec<u16>>,
    names: HashMap<(u16, Proto), &'static str>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut order: HashMap<Proto, Vec<u16>> = HashMap::new();
        let mut names = HashMap::new();
        for line in TABLE.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut f = line.split_whitespace();
            let (Some(pp), Some(name)) = (f.next(), f.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            let proto = if proto == "udp" {
                Proto::Udp
            } else {
                Proto::Tcp
            };
            if names.insert((port, proto), name).is_none() {
                order.entry(proto).or_default().push(port);
            }
        }
        Table { order, names }
    })
}

/// The service name netray knows for a port, if any.
pub fn service(port: u16, proto: Proto) -> Option<&'static str> {
    table().names.get(&(port, proto)).copied()
}

/// The `n` most common ports of a protocol (fewer when the table is
/// shorter), most common first.
pub fn top(n: usize, proto: Proto) -> Vec<u16> {
    table()
        .order
        .get(&proto)
        .map(|v| v.iter().take(n).copied().collect())
        .unwrap_or_default()
}

/// How many ports the table has for a protocol.
pub fn table_len(proto: Proto) -> usize {
    table().order.get(&proto).map_or(0, Vec::len)
}

/// Parses a port list: comma-separated ports and ranges (`22,80,8000-8100`),
/// `-` for 1-65535, `A-` or `-B` for open ranges. The result is sorted
/// and without repeats.
///
/// # Errors
/// What is wrong and where, for a usage error.
pub fn parse(spec: &str) -> Result<Vec<u16>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("the port list is empty".into());
    }
    let mut seen = vec![false; 65_536];
    for part in spec.split(',') {
        let part = part.trim();
        let num = |t: &str, default: u16| -> Result<u16, String> {
            if t.is_empty() {
                return Ok(default);
            }
            match t.parse::<u32>() {
                Ok(0) => Err(format!("port 0 in {part:?}: ports are 1-65535")),
                Ok(v) if v <= 65_535 => Ok(v as u16),
                Ok(v) => Err(format!("port {v} in {part:?}: ports are 1-65535")),
                Err(_) => Err(format!("{t:?} in {part:?} is not a port number")),
            }
        };
        if part.is_empty() {
            return Err(format!("an empty item in the port list {spec:?}"));
        }
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a, 1)?, num(b, 65_535)?),
            None => {
                let p = num(part, 1)?;
                (p, p)
            }
        };
        if a > b {
            return Err(format!("the range {part:?} runs backwards"));
        }
        for p in a..=b {
            seen[usize::from(p)] = true;
        }
    }
    Ok((1..=65_535u16).filter(|p| seen[usize::from(*p)]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_ranges_and_all() {
        assert_eq!(parse("22,80,443").unwrap(), vec![22, 80, 443]);
        assert_eq!(parse("443, 22 ,22,80").unwrap(), vec![22, 80, 443]);
        assert_eq!(parse("1-3,2-5").unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse("-").unwrap().len(), 65_535);
        assert_eq!(parse("65530-").unwrap().len(), 6);
        assert_eq!(parse("-3").unwrap(), vec![1, 2, 3]);
        for bad in ["", "0", "65536", "http", "5-1", "1,,2", "1-2-3"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_table() {
        assert_eq!(top(3, Proto::Tcp), vec![80, 443, 22]);
        assert_eq!(top(1, Proto::Udp), vec![53]);
        assert_eq!(service(22, Proto::Tcp), Some("ssh"));
        assert_eq!(service(53, Proto::Udp), Some("domain"));
        assert_eq!(service(40000, Proto::Tcp), None);
        assert!(table_len(Proto::Tcp) >= 150);
        // no port twice
        let all = top(10_000, Proto::Tcp);
        let mut dedup = all.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), all.len());
    }
}
