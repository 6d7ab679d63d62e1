//! Iterative resolution from the root, every step recorded: the zone
//! asked, the server, the round trip, and what came back (a referral with
//! its NS set and glue, an answer, NXDOMAIN/NODATA with the SOA, a lame
//! or dead server). Queries are hickory-proto messages with recursion
//! desired off, over UDP, and over TCP when an answer comes truncated.
//!
//! - Glueless delegations: the NS name is resolved by a nested trace
//!   (its steps carry `depth + 1`), then the walk goes on.
//! - CNAMEs: followed inside the answer when the target's records are
//!   there, otherwise the walk restarts from the root for the target (at
//!   most [`MAX_CNAMES`] times, never twice for one name).
//! - Lame (REFUSED, SERVFAIL, neither answer nor referral) and dead
//!   servers are marked and the next server of the set is tried. A server
//!   that has not answered after the hedge delay gets company: the next
//!   server is asked too, and the first useful answer wins, so one dead
//!   server costs at most the hedge delay, not its timeout.
//! - Referral loops (a zone referred to twice, or a referral that does not
//!   go down the tree) and chains longer than [`MAX_STEPS`] stop with an
//!   error.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinSet;

use super::{record_view, RecordView};

/// The most queries in one trace (nested ones included).
pub const MAX_STEPS: usize = 64;
/// The most CNAMEs followed.
pub const MAX_CNAMES: usize = 8;
/// How deep glueless resolutions nest.
pub const MAX_DEPTH: u32 = 4;

/// The IANA root hints: a. to m.root-servers.net and their IPv4
/// addresses.
pub const ROOT_HINTS: [(&str, [u8; 4]); 13] = [
    ("a.root-servers.net.", [198, 41, 0, 4]),
    ("b.root-servers.net.", [170, 247, 170, 2]),
    ("c.root-servers.net.", [192, 33, 4, 12]),
    ("d.root-servers.net.", [199, 7, 91, 13]),
    ("e.root-servers.net.", [192, 203, 230, 10]),
    ("f.root-servers.net.", [192, 5, 5, 241]),
    ("g.root-servers.net.", [192, 112, 36, 4]),
    ("h.root-servers.net.", [198, 97, 190, 53]),
    ("i.root-servers.net.", [192, 36, 148, 17]),
    ("j.root-servers.net.", [192, 58, 128, 30]),
    ("k.root-servers.net.", [193, 0, 14, 129]),
    ("l.root-servers.net.", [199, 7, 83, 42]),
    ("m.root-servers.net.", [202, 12, 27, 33]),
];

/// How a trace runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The servers to start from: (name, address with port).
    pub roots: Vec<(String, SocketAddr)>,
    /// The port every other server is asked on.
    pub port: u16,
    /// Start over TCP (instead of only after a truncated answer).
    pub tcp: bool,
    /// The longest wait for one server.
    pub timeout: Duration,
    /// After this long without an answer, the next server is asked too.
    pub hedge: Duration,
}

impl Options {
    /// The IANA root servers on port 53.
    pub fn iana(timeout: Duration) -> Options {
        Options {
            roots: ROOT_HINTS
                .iter()
                .map(|(n, a)| (n.to_string(), SocketAddr::from((*a, 53))))
                .collect(),
            port: 53,
            tcp: false,
            timeout,
            hedge: Duration::from_millis(300),
        }
    }
}

/// One query of the trace and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// 0 for the main walk; 1 and more for nested (glueless) walks.
    pub depth: u32,
    /// The zone the server was asked as a server of.
    pub zone: String,
    /// The name asked.
    pub qname: String,
    /// The type asked.
    pub qtype: String,
    /// The server's name.
    pub server: String,
    /// Its address.
    pub address: SocketAddr,
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// Round trip, when it answered.
    pub rtt_ms: Option<f64>,
    /// `referral`, `answer`, `cname`, `nxdomain`, `nodata`, `truncated`,
    /// `lame`, `timeout` or `error`.
    pub outcome: &'static str,
    /// The response code, when it answered.
    pub rcode: Option<String>,
    /// Header flags set: aa, tc, rd, ra.
    pub flags: Vec<&'static str>,
    /// The zone delegated to (referrals).
    pub referral_zone: Option<String>,
    /// The NS names (referrals).
    pub referral: Vec<String>,
    /// Glue: the addresses the referral gave for its NS names.
    pub glue: Vec<Glue>,
    /// Answer records.
    pub answers: Vec<RecordView>,
    /// The SOA of a negative answer.
    pub soa: Option<String>,
    /// Anything else worth saying.
    pub note: Option<String>,
}

/// A whole trace.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// The name asked.
    pub name: String,
    /// The type asked.
    pub qtype: String,
    /// Every query, in order.
    pub steps: Vec<Step>,
    /// `answer`, `nxdomain`, `nodata` or `error`.
    pub result: &'static str,
    /// The final records (for `answer`: the CNAMEs followed, then the
    /// records of the type asked).
    pub answers: Vec<RecordView>,
    /// What went wrong (for `error`).
    pub error: Option<String>,
    /// Total wall time.
    pub elapsed_ms: f64,
}

impl Step {
    /// A step that has not answered (yet): outcome `timeout`.
    fn pending(
        depth: u32,
        zone: &str,
        q: (&Name, RecordType),
        server: (&str, SocketAddr),
        transport: &'static str,
    ) -> Step {
        Step {
            depth,
            zone: zone.to_string(),
            qname: q.0.to_string(),
            qtype: q.1.to_string(),
            server: server.0.to_string(),
            address: server.1,
            transport,
            rtt_ms: None,
            outcome: "timeout",
            rcode: None,
            flags: Vec::new(),
            referral_zone: None,
            referral: Vec::new(),
            glue: Vec::new(),
            answers: Vec::new(),
            soa: None,
            note: None,
        }
    }
}

fn flags(m: &Message) -> Vec<&'static str> {
    let h = &m.metadata;
    let mut v = Vec::new();
    for (on, name) in [
        (h.authoritative, "aa"),
        (h.truncation, "tc"),
        (h.recursion_desired, "rd"),
        (h.recursion_available, "ra"),
    ] {
        if on {
            v.push(name);
        }
    }
    v
}

/// Why a server gave no usable message, in words for the summary.
#[derive(Debug)]
pub enum Fail {
    /// UDP: an ICMP port unreachable came back.
    Unreachable,
    /// TCP: the connection was refused.
    Refused,
    /// Nothing usable within the timeout; datagrams that were not the
    /// answer (garbage, other IDs) are counted.
    Silent(Duration, u32),
    /// TCP: the server closed before a whole answer.
    Closed,
    /// What came is not a DNS message.
    NotDns(usize, String),
    /// A DNS message answering another query (its ID).
    WrongId(u16),
    /// Any other socket error.
    Io(std::io::Error),
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Unreachable => f.write_str("port unreachable (ICMP): nothing listens there"),
            Fail::Refused => f.write_str("refused the TCP connection"),
            Fail::Silent(t, 0) => write!(f, "no answer in {} ms", t.as_millis()),
            Fail::Silent(t, n) => write!(
                f,
                "no answer in {} ms ({n} datagram{} that were not the answer ignored)",
                t.as_millis(),
                if *n == 1 { "" } else { "s" }
            ),
            Fail::Closed => f.write_str("closed the TCP connection before a whole answer"),
            Fail::NotDns(n, e) => write!(f, "sent {n} bytes that are not a DNS message ({e})"),
            Fail::WrongId(id) => write!(f, "answered another query (ID {id})"),
            Fail::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::ConnectionRefused => Fail::Refused,
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => Fail::Closed,
            _ => Fail::Io(e),
        }
    }
}

/// One query over UDP from a connected socket: the answer with our ID, or
/// what the server did instead.
///
/// # Errors
/// [`Fail`], naming what happened.
pub async fn ask_udp(
    addr: SocketAddr,
    wire: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Message, Fail> {
    let bind: SocketAddr = if addr.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    };
    let s = UdpSocket::bind(bind).await?;
    s.connect(addr).await?;
    s.send(wire).await?;
    let mut buf = vec![0u8; 65_535];
    let mut ignored = 0u32;
    let fut = async {
        loop {
            let n = match s.recv(&mut buf).await {
                Ok(n) => n,
                // a connected UDP socket learns of ICMP port unreachable
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(Fail::Unreachable)
                }
                Err(e) => return Err(Fail::from(e)),
            };
            // answers to other queries (or garbage) are skipped
            if let Ok(m) = Message::from_vec(&buf[..n]) {
                if m.metadata.id == id && m.metadata.message_type == MessageType::Response {
                    return Ok::<Message, Fail>(m);
                }
            }
            ignored += 1;
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(Fail::Silent(timeout, ignored)),
    }
}

/// One query over TCP (RFC 7766 framing): the answer, or what the server
/// did instead. At most one 64 KiB message is read, whatever the server
/// sends.
///
/// # Errors
/// [`Fail`], naming what happened.
pub async fn ask_tcp(
    addr: SocketAddr,
    wire: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Message, Fail> {
    let fut = async {
        let mut s = TcpStream::connect(addr).await?;
        let len = u16::try_from(wire.len()).map_err(std::io::Error::other)?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(wire);
        s.write_all(&framed).await?;
        let mut lb = [0u8; 2];
        s.read_exact(&mut lb).await?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(lb))];
        s.read_exact(&mut buf).await?;
        let m = Message::from_vec(&buf).map_err(|e| Fail::NotDns(buf.len() + 2, e.to_string()))?;
        if m.metadata.id != id {
            return Err(Fail::WrongId(m.metadata.id));
        }
        Ok(m)
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(Fail::Silent(timeout, 0)),
    }
}

/// Asks `server` for `qname`/`qtype` once, without recursion, and says in
/// words what it did: answered (with its rcode), or why not. Used by
/// `lookup` to name what a server did when the resolver's error does not.
pub async fn probe_server(
    server: SocketAddr,
    qname: &Name,
    qtype: RecordType,
    tcp: bool,
    timeout: Duration,
) -> String {
    let id = rand_id();
    let mut q = Message::new(id, MessageType::Query, OpCode::Query);
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(qname.clone(), qtype));
    let Ok(wire) = q.to_vec() else {
        return "the query could not be built".into();
    };
    let (first, fallback) = if tcp {
        ("TCP", None)
    } else {
        ("UDP", Some("TCP"))
    };
    let r = if tcp {
        ask_tcp(server, &wire, id, timeout).await
    } else {
        ask_udp(server, &wire, id, timeout).await
    };
    match r {
        Ok(m) if m.metadata.truncation && fallback.is_some() => {
            match ask_tcp(server, &wire, id, timeout).await {
                Ok(m) => format!(
                    "{server} truncated its UDP answer, then answered over TCP with {}",
                    super::rcode_mnemonic(m.metadata.response_code)
                ),
                Err(e) => format!("{server} truncated its UDP answer; then over TCP it {e}"),
            }
        }
        Ok(m) => format!(
            "{server} answered over {first} with {} and {} records",
            super::rcode_mnemonic(m.metadata.response_code),
            m.answers.len()
        ),
        Err(e) => format!("{server} over {first}: {e}"),
    }
}

/// One glue record of a referral: an NS name and an address for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Glue {
    /// The NS name.
    pub name: String,
    /// One of its addresses.
    pub address: IpAddr,
}

/// What one server gave: its steps, its final message if any, and else
/// what it did instead (for the summary).
type Asked = (Vec<Step>, Option<Message>, Option<String>);

/// Asks one server; a truncated UDP answer is asked again over TCP.
/// Returns the steps (one or two), the final message, if any, and
/// otherwise what the server did, in words.
async fn ask_one(
    zone: String,
    server: (String, SocketAddr),
    qname: Name,
    qtype: RecordType,
    depth: u32,
    tcp_first: bool,
    timeout: Duration,
) -> Asked {
    let id: u16 = rand_id();
    let mut q = Message::new(id, MessageType::Query, OpCode::Query);
    q.metadata.recursion_desired = false;
    q.add_query(Query::query(qname.clone(), qtype));
    let mut steps = Vec::new();
    let Ok(wire) = q.to_vec() else {
        return (steps, None, Some("the query could not be built".into()));
    };
    let base = |transport: &'static str| {
        Step::pending(
            depth,
            &zone,
            (&qname, qtype),
            (&server.0, server.1),
            transport,
        )
    };
    let who = format!("{} ({})", server.0, server.1);
    let mut story: Vec<String> = Vec::new();
    let mut use_tcp = tcp_first;
    for _ in 0..2 {
        let transport = if use_tcp { "tcp" } else { "udp" };
        let t0 = Instant::now();
        let r = if use_tcp {
            ask_tcp(server.1, &wire, id, timeout).await
        } else {
            ask_udp(server.1, &wire, id, timeout).await
        };
        let mut st = base(transport);
        match r {
            Ok(m) => {
                st.rtt_ms = Some(crate::model::ms(t0.elapsed()));
                st.rcode = Some(super::rcode_mnemonic(m.metadata.response_code));
                st.flags = flags(&m);
                if m.metadata.truncation && !use_tcp {
                    st.outcome = "truncated";
                    st.note = Some("truncated over UDP: asked again over TCP".into());
                    steps.push(st);
                    story.push("truncated its UDP answer".into());
                    use_tcp = true;
                    continue;
                }
                steps.push(st);
                return (steps, Some(m), None);
            }
            Err(e) => {
                if !matches!(e, Fail::Silent(..)) {
                    st.outcome = "error";
                }
                st.note = Some(e.to_string());
                steps.push(st);
                story.push(format!("over {}: {e}", transport.to_uppercase()));
                return (
                    steps,
                    None,
                    Some(format!("{who} {}", story.join("; then "))),
                );
            }
        }
    }
    (
        steps,
        None,
        Some(format!("{who} {}", story.join("; then "))),
    )
}

fn rand_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() as u16
}

/// What a response means for the walk.
enum Verdict {
    /// The records asked for (after CNAMEs inside the answer).
    Answer(Vec<Record>),
    /// A CNAME whose target's records are not in the answer.
    Cname(Vec<Record>, Name),
    /// Go down to `zone`, asking these servers (names with any glue).
    Referral(Name, Vec<(Name, Vec<IpAddr>)>),
    /// The name does not exist.
    NxDomain(Option<String>),
    /// The name exists without records of the type.
    NoData(Option<String>),
    /// Not usable: try another server.
    Lame(String),
}

fn soa_text(m: &Message) -> Option<String> {
    m.authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .map(|r| format!("{} SOA {}", r.name, r.data))
}

fn judge(m: &Message, qname: &Name, qtype: RecordType, zone: &Name) -> Verdict {
    match m.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain => return Verdict::NxDomain(soa_text(m)),
        rc => return Verdict::Lame(format!("{rc}")),
    }
    // follow CNAMEs inside the answer section
    let mut name = qname.clone();
    let mut chain = Vec::new();
    for _ in 0..=MAX_CNAMES {
        let of_type: Vec<Record> = m
            .answers
            .iter()
            .filter(|r| r.name == name && r.record_type() == qtype)
            .cloned()
            .collect();
        if !of_type.is_empty() {
            chain.extend(of_type);
            return Verdict::Answer(chain);
        }
        let cname = m.answers.iter().find(|r| {
            r.name == name && r.record_type() == RecordType::CNAME && qtype != RecordType::CNAME
        });
        match cname {
            Some(c) => {
                chain.push(c.clone());
                if let RData::CNAME(t) = &c.data {
                    name = t.0.clone();
                } else {
                    break;
                }
            }
            None => break,
        }
    }
    if !chain.is_empty() {
        return Verdict::Cname(chain, name);
    }
    // a referral: NS records for a zone between the one asked and the name
    let ns: Vec<&Record> = m
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS)
        .collect();
    if let Some(first) = ns.first() {
        let child = first.name.clone();
        if child.zone_of(qname) && zone.zone_of(&child) && child.num_labels() > zone.num_labels() {
            let servers = ns
                .iter()
                .filter(|r| r.name == child)
                .filter_map(|r| match &r.data {
                    RData::NS(n) => Some(n.0.clone()),
                    _ => None,
                })
                .map(|nsname| {
                    let mut glue: Vec<IpAddr> = m
                        .additionals
                        .iter()
                        .filter(|r| r.name == nsname)
                        .filter_map(|r| match &r.data {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                            _ => None,
                        })
                        .collect();
                    glue.sort_by_key(|a| a.is_ipv6());
                    (nsname, glue)
                })
                .collect();
            return Verdict::Referral(child, servers);
        }
        if !m.metadata.authoritative {
            if child.zone_of(zone) {
                return Verdict::Lame(format!(
                    "referral loop: {zone} refers back to {child} instead of down toward {qname}"
                ));
            }
            return Verdict::Lame(format!(
                "referral to {child}, which is not below {zone} toward {qname}"
            ));
        }
    }
    if m.metadata.authoritative {
        return Verdict::NoData(soa_text(m));
    }
    Verdict::Lame("neither an answer nor a referral, and not authoritative".into())
}

/// What the walk would make of a response on the wire to a query for
/// (`qname`, A) sent to a server of `zone`: the step outcome, or `None`
/// when the bytes are not a DNS message. (For fuzzing and tests.)
pub fn outcome_of(wire: &[u8], qname: &str, zone: &str) -> Option<&'static str> {
    let m = Message::from_vec(wire).ok()?;
    let (q, z) = (Name::from_str(qname).ok()?, Name::from_str(zone).ok()?);
    let v = judge(&m, &q, RecordType::A, &z);
    let mut st = Step::pending(
        0,
        zone,
        (&q, RecordType::A),
        ("x", SocketAddr::from(([127, 0, 0, 1], 53))),
        "udp",
    );
    describe(&mut st, &v);
    Some(st.outcome)
}

/// The trace state shared by nested walks.
struct Walk<'a> {
    opts: &'a Options,
    steps: Vec<Step>,
}

/// How a walk ended.
enum End {
    Answer(Vec<Record>),
    NxDomain,
    NoData,
}

impl Walk<'_> {
    fn budget(&self) -> Result<(), String> {
        if self.steps.len() >= MAX_STEPS {
            return Err(format!(
                "more than {MAX_STEPS} queries: the chain is too long"
            ));
        }
        Ok(())
    }

    /// Asks the servers of `zone` in order, hedging, until one gives a
    /// usable verdict.
    async fn ask_set(
        &mut self,
        zone: &Name,
        servers: &[(String, SocketAddr)],
        qname: &Name,
        qtype: RecordType,
        depth: u32,
    ) -> Result<(Verdict, Message), String> {
        let mut set: JoinSet<(usize, Asked)> = JoinSet::new();
        let mut next = 0;
        let mut lame: Vec<String> = Vec::new();
        // what each server that gave no message did
        let mut failed: Vec<String> = Vec::new();
        let mut pending: Vec<(usize, Instant)> = Vec::new();
        loop {
            if next < servers.len() && (set.is_empty() || next == 0) {
                self.budget()?;
                let (z, s, q) = (zone.to_string(), servers[next].clone(), qname.clone());
                let (tcp, t) = (self.opts.tcp, self.opts.timeout);
                let k = next;
                set.spawn(async move { (k, ask_one(z, s, q, qtype, depth, tcp, t).await) });
                pending.push((k, Instant::now()));
                next += 1;
            }
            if set.is_empty() {
                if !lame.is_empty() && lame.iter().all(|l| l.starts_with("referral loop")) {
                    return Err(lame[0].clone());
                }
                let mut what: Vec<String> = failed.clone();
                what.extend(lame.iter().cloned());
                return Err(format!(
                    "no server of {zone} gave a usable answer ({})",
                    if what.is_empty() {
                        "none was asked".to_string()
                    } else {
                        what.join("; ")
                    }
                ));
            }
            let hedge = tokio::time::sleep(self.opts.hedge);
            tokio::select! {
                done = set.join_next() => {
                    let Some(Ok((k, (steps, msg, fate)))) = done else { continue };
                    if let Some(f) = fate {
                        failed.push(f);
                    }
                    pending.retain(|(p, _)| *p != k);
                    let mut steps = steps;
                    if let Some(m) = msg {
                        let v = judge(&m, qname, qtype, zone);
                        if let Some(last) = steps.last_mut() {
                            describe(last, &v);
                        }
                        self.steps.extend(steps);
                        if let Verdict::Lame(why) = &v {
                            lame.push(why.clone());
                            continue;
                        }
                        // the others are not waited for: say so
                        set.abort_all();
                        for (p, since) in pending.drain(..) {
                            let (name, addr) = &servers[p];
                            let mut st = Step::pending(
                                depth,
                                &zone.to_string(),
                                (qname, qtype),
                                (name, *addr),
                                if self.opts.tcp { "tcp" } else { "udp" },
                            );
                            st.note = Some(format!(
                                "no answer after {} ms: the next server was asked beside it (hedge) and answered first",
                                since.elapsed().as_millis()
                            ));
                            self.steps.push(st);
                        }
                        return Ok((v, m));
                    }
                    self.steps.extend(steps);
                }
                () = hedge, if next < servers.len() => {
                    // slow: ask the next server too
                    self.budget()?;
                    let (z, s, q) = (zone.to_string(), servers[next].clone(), qname.clone());
                    let (tcp, t) = (self.opts.tcp, self.opts.timeout);
                    let k = next;
                    set.spawn(async move { (k, ask_one(z, s, q, qtype, depth, tcp, t).await) });
                    pending.push((k, Instant::now()));
                    next += 1;
                }
            }
        }
    }

    /// Addresses for NS names: glue first; glueless names resolved by a
    /// nested walk (only as far as needed to get one address).
    async fn addresses(
        &mut self,
        servers: Vec<(Name, Vec<IpAddr>)>,
        depth: u32,
    ) -> Result<Vec<(String, SocketAddr)>, String> {
        let port = self.opts.port;
        let mut out: Vec<(String, SocketAddr)> = servers
            .iter()
            .flat_map(|(n, ips)| {
                ips.iter()
                    .map(move |ip| (n.to_string(), SocketAddr::new(*ip, port)))
            })
            .collect();
        if !out.is_empty() {
            return Ok(out);
        }
        if depth >= MAX_DEPTH {
            return Err("glueless delegations nest too deep".into());
        }
        let mut last_err = String::from("no NS name resolved");
        for (n, _) in servers {
            match Box::pin(self.walk(n.clone(), RecordType::A, depth + 1, &mut HashSet::new()))
                .await
            {
                Ok(End::Answer(rs)) => {
                    out.extend(rs.iter().filter_map(|r| match &r.data {
                        RData::A(a) => {
                            Some((n.to_string(), SocketAddr::new(IpAddr::V4(a.0), port)))
                        }
                        _ => None,
                    }));
                    if !out.is_empty() {
                        return Ok(out);
                    }
                }
                Ok(_) => last_err = format!("{n} has no address"),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    /// One walk from the root for (qname, qtype).
    async fn walk(
        &mut self,
        qname: Name,
        qtype: RecordType,
        depth: u32,
        cnames: &mut HashSet<Name>,
    ) -> Result<End, String> {
        let mut zone = Name::root();
        let mut servers = self.opts.roots.clone();
        let mut seen_zones: HashSet<Name> = HashSet::new();
        seen_zones.insert(zone.clone());
        let mut prefix: Vec<Record> = Vec::new();
        loop {
            self.budget()?;
            let (v, _) = self.ask_set(&zone, &servers, &qname, qtype, depth).await?;
            match v {
                Verdict::Answer(rs) => {
                    prefix.extend(rs);
                    return Ok(End::Answer(prefix));
                }
                Verdict::NxDomain(_) => return Ok(End::NxDomain),
                Verdict::NoData(_) => return Ok(End::NoData),
                Verdict::Lame(why) => return Err(why),
                Verdict::Cname(chain, target) => {
                    if !cnames.insert(target.clone()) || cnames.len() > MAX_CNAMES {
                        return Err(format!(
                            "CNAME loop or chain longer than {MAX_CNAMES} at {target}"
                        ));
                    }
                    prefix.extend(chain);
                    // out of zone: start again from the root
                    let rest = Box::pin(self.walk(target, qtype, depth, cnames)).await?;
                    return Ok(match rest {
                        End::Answer(rs) => {
                            prefix.extend(rs);
                            End::Answer(prefix)
                        }
                        other => other,
                    });
                }
                Verdict::Referral(child, ns) => {
                    if !seen_zones.insert(child.clone()) {
                        return Err(format!("referral loop: {child} was referred to before"));
                    }
                    servers = self.addresses(ns, depth).await?;
                    zone = child;
                }
            }
        }
    }
}

/// Fills a step's outcome from the verdict.
fn describe(st: &mut Step, v: &Verdict) {
    match v {
        Verdict::Answer(rs) => {
            st.outcome = "answer";
            st.answers = rs.iter().map(record_view).collect();
        }
        Verdict::Cname(rs, t) => {
            st.outcome = "cname";
            st.answers = rs.iter().map(record_view).collect();
            st.note = Some(format!(
                "{t} is out of this answer: the walk restarts from the root for it"
            ));
        }
        Verdict::Referral(z, ns) => {
            st.outcome = "referral";
            st.referral_zone = Some(z.to_string());
            st.referral = ns.iter().map(|(n, _)| n.to_string()).collect();
            st.glue = ns
                .iter()
                .flat_map(|(n, ips)| {
                    ips.iter().map(move |ip| Glue {
                        name: n.to_string(),
                        address: *ip,
                    })
                })
                .collect();
            if st.glue.is_empty() {
                st.note = Some("no glue: the NS names are resolved first".into());
            }
        }
        Verdict::NxDomain(soa) => {
            st.outcome = "nxdomain";
            st.soa = soa.clone();
        }
        Verdict::NoData(soa) => {
            st.outcome = "nodata";
            st.soa = soa.clone();
        }
        Verdict::Lame(why) => {
            st.outcome = "lame";
            st.note = Some(why.clone());
        }
    }
}

/// Traces `name` / `qtype` from the roots in `opts`.
pub async fn trace(name: &str, qtype: RecordType, opts: &Options) -> Trace {
    let t0 = Instant::now();
    let fq = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    let mut walk = Walk {
        opts,
        steps: Vec::new(),
    };
    let (result, answers, error) = match Name::from_str(&fq) {
        Err(e) => (
            "error",
            Vec::new(),
            Some(format!("{name:?} is not a domain name: {e}")),
        ),
        Ok(qname) => match walk.walk(qname, qtype, 0, &mut HashSet::new()).await {
            Ok(End::Answer(rs)) => ("answer", rs.iter().map(record_view).collect(), None),
            Ok(End::NxDomain) => ("nxdomain", Vec::new(), None),
            Ok(End::NoData) => ("nodata", Vec::new(), None),
            Err(e) => ("error", Vec::new(), Some(e)),
        },
    };
    Trace {
        name: fq,
        qtype: qtype.to_string(),
        steps: walk.steps,
        result,
        answers,
        error,
        elapsed_ms: crate::model::ms(t0.elapsed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, NS};

    fn msg(f: impl FnOnce(&mut Message)) -> Vec<u8> {
        let mut m = Message::new(7, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(
            Name::from_str("www.example.com.").unwrap(),
            RecordType::A,
        ));
        f(&mut m);
        m.to_vec().unwrap()
    }

    #[test]
    fn responses_are_judged() {
        let referral = msg(|m| {
            m.add_authority(Record::from_rdata(
                Name::from_str("com.").unwrap(),
                60,
                RData::NS(NS(Name::from_str("a.gtld.test.").unwrap())),
            ));
        });
        assert_eq!(
            outcome_of(&referral, "www.example.com.", "."),
            Some("referral")
        );
        // the same referral from com. itself goes nowhere: a loop
        assert_eq!(
            outcome_of(&referral, "www.example.com.", "com."),
            Some("lame")
        );
        let answer = msg(|m| {
            m.metadata.authoritative = true;
            m.add_answer(Record::from_rdata(
                Name::from_str("www.example.com.").unwrap(),
                60,
                RData::A(A([192, 0, 2, 1].into())),
            ));
        });
        assert_eq!(
            outcome_of(&answer, "www.example.com.", "example.com."),
            Some("answer")
        );
        let nodata = msg(|m| m.metadata.authoritative = true);
        assert_eq!(
            outcome_of(&nodata, "www.example.com.", "example.com."),
            Some("nodata")
        );
        let nx = msg(|m| m.metadata.response_code = ResponseCode::NXDomain);
        assert_eq!(
            outcome_of(&nx, "www.example.com.", "example.com."),
            Some("nxdomain")
        );
        let refused = msg(|m| m.metadata.response_code = ResponseCode::Refused);
        assert_eq!(
            outcome_of(&refused, "www.example.com.", "example.com."),
            Some("lame")
        );
        assert_eq!(outcome_of(b"\x00\x01", "www.example.com.", "."), None);
    }
}
