//! Packet filters: a useful subset of pcap-filter syntax, evaluated on
//! decoded packets.
//!
//! ```text
//! expr     := and ("or" | "||") and ...
//! and      := unary ("and" | "&&") unary ...
//! unary    := ("not" | "!") unary | "(" expr ")" | primitive
//! primitive:= [src|dst] host ADDR | [src|dst] net CIDR | [src|dst] port N
//!           | [src|dst] portrange A-B | [tcp|udp] [src|dst] port N
//!           | ether [src|dst] host MAC | vlan [ID]
//!           | arp | ip | ip6 | tcp | udp | icmp | icmp6 | dns
//!           | tcp-syn | tcp-rst | tcp-fin | len (>|<|>=|<=|==|!=) N
//!           | greater N | less N | ADDR | CIDR
//! ```
//! `host` matches IPv4, IPv6 and ARP addresses; `port` matches TCP and UDP.
//! A syntax error names its column.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::model::packet::{Mac, Packet};

/// A syntax error in a filter, with the 1-based column where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter: {message} at column {column}\n  {expr}\n  {caret}")]
pub struct FilterError {
    /// 1-based column.
    pub column: usize,
    /// What was expected or wrong.
    pub message: String,
    /// The whole expression.
    pub expr: String,
    /// A caret under the column.
    pub caret: String,
}

/// Which end of a packet a primitive looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Source or destination.
    Either,
    /// Source only.
    Src,
    /// Destination only.
    Dst,
}

/// Transport qualifier of a port primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// TCP or UDP.
    Any,
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
}

/// A compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
    /// Negation.
    Not(Box<Filter>),
    /// An IP (or ARP) address.
    Host(Dir, IpAddr),
    /// A network.
    Net(Dir, IpNetwork),
    /// A port range (inclusive); a single port has `lo == hi`.
    Port(Proto, Dir, u16, u16),
    /// A MAC address.
    Ether(Dir, Mac),
    /// A VLAN tag, any or a given id.
    Vlan(Option<u16>),
    /// A protocol by name.
    Is(Layer),
    /// TCP flag bits (any of them set).
    TcpFlags(u16),
    /// Frame length comparison.
    Len(Cmp, u32),
}

/// Protocols a filter can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// ARP.
    Arp,
    /// IPv4.
    Ip,
    /// IPv6.
    Ip6,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMPv4.
    Icmp,
    /// ICMPv6.
    Icmp6,
    /// DNS (also mDNS, LLMNR).
    Dns,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

#[derive(Debug, Clone, PartialEq)]
struct Tok {
    text: String,
    col: usize,
}

fn lex(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let col = s[..pos].chars().count() + 1;
        if c.is_whitespace() {
            i += 1;
        } else if "()".contains(c) {
            out.push(Tok {
                text: c.to_string(),
                col,
            });
            i += 1;
        } else if "!<>=&|".contains(c) {
            let mut t = c.to_string();
            if let Some(&(_, n)) = chars.get(i + 1) {
                let two = format!("{c}{n}");
                if ["!=", "<=", ">=", "==", "&&", "||"].contains(&two.as_str()) {
                    t = two;
                    i += 1;
                }
            }
            out.push(Tok { text: t, col });
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].1.is_whitespace() && !"()!<>=&|".contains(chars[i].1)
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().map(|x| x.1).collect();
            out.push(Tok { text, col });
        }
    }
    out
}

struct Parser<'a> {
    toks: Vec<Tok>,
    i: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.i).map(|t| t.text.as_str())
    }

    fn col(&self) -> usize {
        self.toks
            .get(self.i)
            .map_or(self.src.chars().count() + 1, |t| t.col)
    }

    fn err(&self, message: impl Into<String>) -> FilterError {
        self.err_at(self.col(), message)
    }

    fn err_at(&self, column: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            column,
            message: message.into(),
            expr: self.src.to_string(),
            caret: format!("{}^", " ".repeat(column.saturating_sub(1))),
        }
    }

    /// An optional `src` or `dst` qualifier.
    fn direction(&mut self) -> Dir {
        match self.peek() {
            Some("src") => {
                self.i += 1;
                Dir::Src
            }
            Some("dst") => {
                self.i += 1;
                Dir::Dst
            }
            _ => Dir::Either,
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some("or" | "||")) {
            self.i += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while matches!(self.peek(), Some("and" | "&&")) {
            self.i += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        match self.peek() {
            Some("not" | "!") => {
                self.i += 1;
                Ok(Filter::Not(Box::new(self.unary()?)))
            }
            Some("(") => {
                self.i += 1;
                let inner = self.or()?;
                match self.peek() {
                    Some(")") => {
                        self.i += 1;
                        Ok(inner)
                    }
                    _ => Err(self.err("expected ')'")),
                }
            }
            Some(_) => self.primitive(),
            None => Err(self.err("expected a filter primitive (host, net, port, tcp, ...)")),
        }
    }

    fn number(&mut self, what: &str) -> Result<u64, FilterError> {
        let col = self.col();
        match self.next() {
            Some(t) => t
                .text
                .parse::<u64>()
                .map_err(|_| self.err_at(col, format!("expected {what}, found '{}'", t.text))),
            None => Err(self.err_at(col, format!("expected {what}"))),
        }
    }

    fn port(&mut self) -> Result<u16, FilterError> {
        let col = self.col();
        let v = self.number("a port number")?;
        u16::try_from(v).map_err(|_| self.err_at(col, format!("port {v} is larger than 65535")))
    }

    fn addr(&mut self) -> Result<IpAddr, FilterError> {
        let col = self.col();
        match self.next() {
            Some(t) => t.text.parse().map_err(|_| {
                self.err_at(col, format!("expected an IP address, found '{}'", t.text))
            }),
            None => Err(self.err_at(col, "expected an IP address")),
        }
    }

    fn primitive(&mut self) -> Result<Filter, FilterError> {
        let col = self.col();
        let Some(tok) = self.next() else {
            return Err(self.err("expected a filter primitive"));
        };
        let word = tok.text.to_ascii_lowercase();
        let dir = match word.as_str() {
            "src" => Some(Dir::Src),
            "dst" => Some(Dir::Dst),
            _ => None,
        };
        if let Some(dir) = dir {
            return self.directed(dir);
        }
        let simple = |l| Ok(Filter::Is(l));
        match word.as_str() {
            "host" | "net" | "port" | "portrange" => {
                self.i -= 1;
                self.directed(Dir::Either)
            }
            "tcp" | "udp" if matches!(self.peek(), Some("port" | "src" | "dst" | "portrange")) => {
                let proto = if word == "tcp" {
                    Proto::Tcp
                } else {
                    Proto::Udp
                };
                let dir = self.direction();
                match self.next().map(|t| t.text) {
                    Some(k) if k == "port" => {
                        let p = self.port()?;
                        Ok(Filter::Port(proto, dir, p, p))
                    }
                    Some(k) if k == "portrange" => self.portrange(proto, dir),
                    _ => Err(self.err("expected 'port' or 'portrange'")),
                }
            }
            "arp" => simple(Layer::Arp),
            "ip" => simple(Layer::Ip),
            "ip6" => simple(Layer::Ip6),
            "tcp" => simple(Layer::Tcp),
            "udp" => simple(Layer::Udp),
            "icmp" => simple(Layer::Icmp),
            "icmp6" => simple(Layer::Icmp6),
            "dns" => simple(Layer::Dns),
            "tcp-syn" => Ok(Filter::TcpFlags(0x002)),
            "tcp-fin" => Ok(Filter::TcpFlags(0x001)),
            "tcp-rst" => Ok(Filter::TcpFlags(0x004)),
            "tcp-ack" => Ok(Filter::TcpFlags(0x010)),
            "tcp-push" => Ok(Filter::TcpFlags(0x008)),
            "vlan" => {
                if self
                    .peek()
                    .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
                {
                    let c = self.col();
                    let id = self.number("a VLAN id")?;
                    if id > 4095 {
                        return Err(self.err_at(c, format!("VLAN id {id} is larger than 4095")));
                    }
                    Ok(Filter::Vlan(u16::try_from(id).ok()))
                } else {
                    Ok(Filter::Vlan(None))
                }
            }
            "ether" => {
                let dir = self.direction();
                if self.peek() == Some("host") {
                    self.i += 1;
                }
                let c = self.col();
                match self.next() {
                    Some(t) => parse_mac(&t.text)
                        .map(|m| Filter::Ether(dir, m))
                        .ok_or_else(|| {
                            self.err_at(c, format!("expected a MAC address, found '{}'", t.text))
                        }),
                    None => Err(self.err_at(c, "expected a MAC address")),
                }
            }
            "len" => {
                let c = self.col();
                let op = match self.next().map(|t| t.text) {
                    Some(o) if o == ">" => Cmp::Gt,
                    Some(o) if o == "<" => Cmp::Lt,
                    Some(o) if o == ">=" => Cmp::Ge,
                    Some(o) if o == "<=" => Cmp::Le,
                    Some(o) if o == "==" || o == "=" => Cmp::Eq,
                    Some(o) if o == "!=" => Cmp::Ne,
                    _ => return Err(self.err_at(c, "expected a comparison (>, <, >=, <=, ==, !=)")),
                };
                let n = self.number("a length")?;
                Ok(Filter::Len(op, u32::try_from(n).unwrap_or(u32::MAX)))
            }
            "greater" => Ok(Filter::Len(
                Cmp::Ge,
                u32::try_from(self.number("a length")?).unwrap_or(u32::MAX),
            )),
            "less" => Ok(Filter::Len(
                Cmp::Le,
                u32::try_from(self.number("a length")?).unwrap_or(u32::MAX),
            )),
            _ => {
                // a bare address or network means host / net
                if let Ok(a) = tok.text.parse::<IpAddr>() {
                    return Ok(Filter::Host(Dir::Either, a));
                }
                if let Ok(n) = tok.text.parse::<IpNetwork>() {
                    return Ok(Filter::Net(Dir::Either, n));
                }
                Err(self.err_at(col, format!("unknown filter primitive '{}'", tok.text)))
            }
        }
    }

    fn portrange(&mut self, proto: Proto, dir: Dir) -> Result<Filter, FilterError> {
        let col = self.col();
        let Some(t) = self.next() else {
            return Err(self.err_at(col, "expected a port range A-B"));
        };
        let bad = || {
            self.err_at(
                col,
                format!("expected a port range A-B, found '{}'", t.text),
            )
        };
        let (a, b) = t.text.split_once('-').ok_or_else(bad)?;
        let (a, b) = (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        );
        if a > b {
            return Err(self.err_at(col, format!("port range {a}-{b} is backwards")));
        }
        Ok(Filter::Port(proto, dir, a, b))
    }

    fn directed(&mut self, dir: Dir) -> Result<Filter, FilterError> {
        let col = self.col();
        match self.next().map(|t| t.text.to_ascii_lowercase()) {
            Some(k) if k == "host" => Ok(Filter::Host(dir, self.addr()?)),
            Some(k) if k == "net" => {
                let c = self.col();
                match self.next() {
                    Some(t) => crate::subnet::parse_cidr_input(&t.text)
                        .map(|n| {
                            let (f, first, _) = crate::subnet::bounds(&n);
                            Filter::Net(dir, crate::subnet::network(f, first, n.prefix()))
                        })
                        .map_err(|e| self.err_at(c, format!("bad network: {e}"))),
                    None => Err(self.err_at(c, "expected a network (CIDR)")),
                }
            }
            Some(k) if k == "port" => {
                let p = self.port()?;
                Ok(Filter::Port(Proto::Any, dir, p, p))
            }
            Some(k) if k == "portrange" => self.portrange(Proto::Any, dir),
            Some(other) => {
                // `src 192.0.2.1`: host is implied
                if let Ok(a) = other.parse::<IpAddr>() {
                    return Ok(Filter::Host(dir, a));
                }
                Err(self.err_at(
                    col,
                    format!("expected host, net, port or portrange, found '{other}'"),
                ))
            }
            None => Err(self.err_at(col, "expected host, net, port or portrange")),
        }
    }
}

fn parse_mac(s: &str) -> Option<Mac> {
    crate::model::text::parse_mac(s).map(Mac)
}

impl Filter {
    /// Compiles a filter expression.
    ///
    /// # Errors
    /// A syntax error, with its column.
    pub fn parse(expr: &str) -> Result<Filter, FilterError> {
        let mut p = Parser {
            toks: lex(expr),
            i: 0,
            src: expr,
        };
        let f = p.or()?;
        if p.i < p.toks.len() {
            return Err(p.err(format!(
                "unexpected '{}' (join primitives with and/or)",
                p.toks[p.i].text
            )));
        }
        Ok(f)
    }

    /// Whether a decoded packet matches.
    pub fn matches(&self, p: &Packet) -> bool {
        match self {
            Filter::And(a, b) => a.matches(p) && b.matches(p),
            Filter::Or(a, b) => a.matches(p) || b.matches(p),
            Filter::Not(a) => !a.matches(p),
            Filter::Host(dir, a) => {
                addrs(p).any(|(src, dst)| pick(*dir, src == Some(*a), dst == Some(*a)))
            }
            Filter::Net(dir, n) => addrs(p).any(|(src, dst)| {
                pick(
                    *dir,
                    src.is_some_and(|x| n.contains(x)),
                    dst.is_some_and(|x| n.contains(x)),
                )
            }),
            Filter::Port(proto, dir, lo, hi) => {
                let inr = |v: u16| (*lo..=*hi).contains(&v);
                let tcp = p
                    .tcp
                    .as_ref()
                    .filter(|_| *proto != Proto::Udp)
                    .map(|t| (t.src_port, t.dst_port));
                let udp = p
                    .udp
                    .as_ref()
                    .filter(|_| *proto != Proto::Tcp)
                    .map(|u| (u.src_port, u.dst_port));
                tcp.into_iter()
                    .chain(udp)
                    .any(|(s, d)| pick(*dir, inr(s), inr(d)))
            }
            Filter::Ether(dir, m) => p
                .eth
                .as_ref()
                .is_some_and(|e| pick(*dir, e.src == *m, e.dst == *m)),
            Filter::Vlan(id) => match id {
                None => !p.vlan.is_empty(),
                Some(id) => p.vlan.iter().any(|v| v.id == *id),
            },
            Filter::Is(l) => match l {
                Layer::Arp => p.arp.is_some(),
                Layer::Ip => p.ipv4.is_some(),
                Layer::Ip6 => p.ipv6.is_some(),
                Layer::Tcp => p.tcp.is_some(),
                Layer::Udp => p.udp.is_some(),
                Layer::Icmp => p.icmp.is_some(),
                Layer::Icmp6 => p.icmpv6.is_some(),
                Layer::Dns => p.dns.is_some(),
            },
            Filter::TcpFlags(bits) => p.tcp.as_ref().is_some_and(|t| t.flags & bits != 0),
            Filter::Len(op, n) => {
                let l = p.len;
                match op {
                    Cmp::Gt => l > *n,
                    Cmp::Lt => l < *n,
                    Cmp::Ge => l >= *n,
                    Cmp::Le => l <= *n,
                    Cmp::Eq => l == *n,
                    Cmp::Ne => l != *n,
                }
            }
        }
    }
}

fn pick(dir: Dir, src: bool, dst: bool) -> bool {
    match dir {
        Dir::Either => src || dst,
        Dir::Src => src,
        Dir::Dst => dst,
    }
}

/// (source, destination) address pairs of a packet: IPv4, IPv6, ARP.
fn addrs(p: &Packet) -> impl Iterator<Item = (Option<IpAddr>, Option<IpAddr>)> + '_ {
    let v4 = p
        .ipv4
        .as_ref()
        .map(|i| (Some(IpAddr::V4(i.src)), Some(IpAddr::V4(i.dst))));
    let v6 = p
        .ipv6
        .as_ref()
        .map(|i| (Some(IpAddr::V6(i.src)), Some(IpAddr::V6(i.dst))));
    let arp = p
        .arp
        .as_ref()
        .map(|a| (a.sender_ip.map(IpAddr::V4), a.target_ip.map(IpAddr::V4)));
    v4.into_iter().chain(v6).chain(arp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{decode, Frame, Timestamp};

    fn packet(build: impl FnOnce(&mut Vec<u8>)) -> Packet {
        let mut v = Vec::new();
        build(&mut v);
        decode(&Frame {
            n: 1,
            ts: Timestamp::default(),
            linktype: 1,
            iface: None,
            len: v.len() as u32,
            data: &v,
        })
    }

    fn syn() -> Packet {
        packet(|v| {
            etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .single_vlan(etherparse::VlanId::try_new(10).unwrap())
                .ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64)
                .tcp(40000, 443, 1, 2)
                .syn()
                .write(v, b"")
                .unwrap();
        })
    }

    fn m(expr: &str, p: &Packet) -> bool {
        Filter::parse(expr)
            .unwrap_or_else(|e| panic!("{e}"))
            .matches(p)
    }

    #[test]
    fn primitives() {
        let p = syn();
        for yes in [
            "host 192.0.2.1",
            "src host 192.0.2.1",
            "dst host 198.51.100.2",
            "net 192.0.2.0/24",
            "src net 192.0.2.0/24",
            "port 443",
            "dst port 443",
            "src port 40000",
            "tcp port 443",
            "portrange 400-500",
            "tcp",
            "ip",
            "vlan",
            "vlan 10",
            "tcp-syn",
            "ether host 02:00:00:00:00:01",
            "ether dst 02:00:00:00:00:02",
            "len > 50",
            "len <= 100",
            "greater 10",
            "192.0.2.1",
            "198.51.100.0/24",
            "not udp",
            "tcp and port 443",
            "udp or tcp",
            "not (udp or arp)",
            "! arp && (port 80 || port 443)",
            "src 192.0.2.1",
        ] {
            assert!(m(yes, &p), "{yes}");
        }
        for no in [
            "host 192.0.2.9",
            "dst host 192.0.2.1",
            "net 10.0.0.0/8",
            "port 80",
            "src port 443",
            "udp port 443",
            "udp",
            "arp",
            "ip6",
            "icmp",
            "dns",
            "vlan 11",
            "tcp-rst",
            "tcp-fin",
            "ether host 02:00:00:00:00:09",
            "len < 10",
            "not tcp",
            "tcp and udp",
        ] {
            assert!(!m(no, &p), "{no}");
        }
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = Filter::parse("tcp and port 99999").unwrap_err();
        assert_eq!(e.column, 14);
        assert!(e.message.contains("larger than 65535"));
        let e = Filter::parse("host 300.1.1.1").unwrap_err();
        assert_eq!(e.column, 6);
        let e = Filter::parse("tcp or").unwrap_err();
        assert_eq!(e.column, 7);
        let e = Filter::parse("(tcp or udp").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (12, "expected ')'"));
        let e = Filter::parse("tcp udp").unwrap_err();
        assert_eq!(e.column, 5);
        let e = Filter::parse("frobnicate").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.to_string().contains("frobnicate\n  ^"), "{e}");
        let e = Filter::parse("len ~ 3").unwrap_err();
        assert_eq!(e.column, 5);
        assert!(Filter::parse("").is_err());
        assert!(Filter::parse("portrange 9-1").is_err());
        assert!(Filter::parse("ether host 01:02:03").is_err());
    }

    #[test]
    fn arp_hosts_match() {
        let p = packet(|v| {
            v.extend_from_slice(&[0xff; 6]);
            v.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
            v.extend_from_slice(&[
                0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0,
                0, 192, 0, 2, 9,
            ]);
        });
        assert!(m("arp and host 192.0.2.9", &p));
        assert!(m("src host 192.0.2.1", &p));
        assert!(!m("ip", &p));
    }
}
