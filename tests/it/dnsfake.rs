//! A private DNS hierarchy on loopback for the trace tests and the
//! benchmark: small authoritative responders built on hickory-proto
//! messages (hickory-server's referrals carry no glue), one per address
//! 127.0.0.X, all on one unprivileged port, over UDP and TCP.
//!
//! The tree (every server authoritative for the zones listed):
//! - root . (127.0.0.2): com. with glue, net. with glue
//! - com. (127.0.0.3): example.com. (glue), glueless.com. (NS in net.,
//!   no glue), lame.com. (a lame server first, a good one second),
//!   dead.com. (a dead server first, a good one second), loop.com.
//! - net. (127.0.0.4): dns-host.net. (glue)
//! - example.com. (127.0.0.5): www A, alias CNAME www (in zone), cdn
//!   CNAME edge.dns-host.net. (out of zone), big TXT (truncates over UDP)
//! - dns-host.net. (127.0.0.6): ns1 A, edge A; also serves glueless.com.
//! - lame (127.0.0.7): REFUSED for everything; dead (127.0.0.8): silent
//! - good (127.0.0.9): lame.com. and dead.com.
//! - loop (127.0.0.10): answers anything under loop.com. with a referral
//!   back to loop.com. itself
//! - slow.com.: two dead servers (127.0.0.8, 127.0.0.11), then a good one
//! - dual.com.: one NS name with two addresses, the dead one first
//!
//! [`HOSTS`] maps every server name to its address, for dig, which looks
//! NS names up through the system's resolver rather than using glue.
//!
//! The hierarchy lives on its own tokio runtime thread and stops when
//! dropped.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

fn n(s: &str) -> Name {
    Name::from_str(s).expect("name")
}

/// An /etc/hosts for dig (used in a private mount and network namespace).
pub const HOSTS: &str = "127.0.0.1 localhost
127.0.0.2 a.root-servers.test
127.0.0.3 a.gtld.test
127.0.0.4 b.gtld.test
127.0.0.5 ns1.example.com
127.0.0.6 ns1.dns-host.net
127.0.0.7 ns1.lame.com
127.0.0.8 ns1.dead.com ns1.slow.com ns1.dual.com
127.0.0.9 ns2.lame.com ns2.dead.com ns3.slow.com ns1.dual.com
127.0.0.10 ns1.loop.com
127.0.0.11 ns2.slow.com
";

/// How a server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers from its zones.
    Normal,
    /// REFUSED for everything.
    Refused,
    /// Never answers.
    Dead,
    /// Refers everything under its zone back to the zone itself.
    Loop,
}

/// A delegation: child zone, its servers (name, glue address if given).
#[derive(Debug, Clone)]
pub struct Cut {
    pub zone: Name,
    pub servers: Vec<(Name, Option<Ipv4Addr>)>,
}

/// One authoritative zone.
#[derive(Debug, Clone)]
pub struct Zone {
    pub origin: Name,
    pub records: Vec<Record>,
    pub cuts: Vec<Cut>,
}

/// One server.
#[derive(Debug, Clone)]
pub struct Server {
    pub ip: Ipv4Addr,
    pub behaviour: Behaviour,
    pub zones: Vec<Zone>,
}

fn soa(origin: &Name) -> Record {
    let r = SOA::new(
        n("ns.invalid."),
        n("hostmaster.invalid."),
        1,
        3600,
        600,
        86_400,
        300,
    );
    Record::from_rdata(origin.clone(), 300, RData::SOA(r))
}

fn a(name: &str, ip: [u8; 4]) -> Record {
    Record::from_rdata(n(name), 300, RData::A(A(Ipv4Addr::from(ip))))
}

/// The test tree.
pub fn tree() -> Vec<Server> {
    let ip = |x: u8| Ipv4Addr::new(127, 0, 0, x);
    let cut = |zone: &str, servers: &[(&str, Option<Ipv4Addr>)]| Cut {
        zone: n(zone),
        servers: servers.iter().map(|(s, g)| (n(s), *g)).collect(),
    };
    let zone = |origin: &str, records: Vec<Record>, cuts: Vec<Cut>| Zone {
        origin: n(origin),
        records,
        cuts,
    };
    let big: Vec<String> = (0..40)
        .map(|i| format!("netray-large-txt-record-{i:02}-padding"))
        .collect();
    vec![
        Server {
            ip: ip(2),
            behaviour: Behaviour::Normal,
            zones: vec![zone(
                ".",
                vec![
                    Record::from_rdata(n("."), 518_400, RData::NS(NS(n("a.root-servers.test.")))),
                    a("a.root-servers.test.", [127, 0, 0, 2]),
                ],
                vec![
                    cut("com.", &[("a.gtld.test.", Some(ip(3)))]),
                    cut("net.", &[("b.gtld.test.", Some(ip(4)))]),
                ],
            )],
        },
        Server {
            ip: ip(3),
            behaviour: Behaviour::Normal,
            zones: vec![zone(
                "com.",
                vec![],
                vec![
                    cut("example.com.", &[("ns1.example.com.", Some(ip(5)))]),
                    cut("glueless.com.", &[("ns1.dns-host.net.", None)]),
                    cut(
                        "lame.com.",
                        &[
                            ("ns1.lame.com.", Some(ip(7))),
                            ("ns2.lame.com.", Some(ip(9))),
                        ],
                    ),
                    cut(
                        "dead.com.",
                        &[
                            ("ns1.dead.com.", Some(ip(8))),
                            ("ns2.dead.com.", Some(ip(9))),
                        ],
                    ),
                    cut("loop.com.", &[("ns1.loop.com.", Some(ip(10)))]),
                    // one NS name with two addresses, the dead one first
                    cut(
                        "dual.com.",
                        &[
                            ("ns1.dual.com.", Some(ip(8))),
                            ("ns1.dual.com.", Some(ip(9))),
                        ],
                    ),
                    cut(
                        "slow.com.",
                        &[
                            ("ns1.slow.com.", Some(ip(8))),
                            ("ns2.slow.com.", Some(ip(11))),
                            ("ns3.slow.com.", Some(ip(9))),
                        ],
                    ),
                ],
            )],
        },
        Server {
            ip: ip(4),
            behaviour: Behaviour::Normal,
            zones: vec![zone(
                "net.",
                vec![],
                vec![cut("dns-host.net.", &[("ns1.dns-host.net.", Some(ip(6)))])],
            )],
        },
        Server {
            ip: ip(5),
            behaviour: Behaviour::Normal,
            zones: vec![
                zone(
                    "example.com.",
                    vec![
                        a("www.example.com.", [192, 0, 2, 80]),
                        a("ns1.example.com.", [127, 0, 0, 5]),
                        Record::from_rdata(
                            n("alias.example.com."),
                            300,
                            RData::CNAME(CNAME(n("www.example.com."))),
                        ),
                        Record::from_rdata(
                            n("cdn.example.com."),
                            300,
                            RData::CNAME(CNAME(n("edge.dns-host.net."))),
                        ),
                        Record::from_rdata(n("big.example.com."), 300, RData::TXT(TXT::new(big))),
                    ],
                    vec![],
                ),
                zone(
                    "2.0.192.in-addr.arpa.",
                    vec![Record::from_rdata(
                        n("80.2.0.192.in-addr.arpa."),
                        300,
                        RData::PTR(hickory_proto::rr::rdata::PTR(n("www.example.com."))),
                    )],
                    vec![],
                ),
            ],
        },
        Server {
            ip: ip(6),
            behaviour: Behaviour::Normal,
            zones: vec![
                zone(
                    "dns-host.net.",
                    vec![
                        a("ns1.dns-host.net.", [127, 0, 0, 6]),
                        a("edge.dns-host.net.", [198, 51, 100, 7]),
                    ],
                    vec![],
                ),
                zone(
                    "glueless.com.",
                    vec![a("www.glueless.com.", [203, 0, 113, 9])],
                    vec![],
                ),
            ],
        },
        Server {
            ip: ip(7),
            behaviour: Behaviour::Refused,
            zones: vec![],
        },
        Server {
            ip: ip(8),
            behaviour: Behaviour::Dead,
            zones: vec![],
        },
        Server {
            ip: ip(9),
            behaviour: Behaviour::Normal,
            zones: vec![
                zone(
                    "lame.com.",
                    vec![a("www.lame.com.", [192, 0, 2, 7])],
                    vec![],
                ),
                zone(
                    "dead.com.",
                    vec![a("www.dead.com.", [192, 0, 2, 8])],
                    vec![],
                ),
                zone(
                    "slow.com.",
                    vec![a("www.slow.com.", [192, 0, 2, 11])],
                    vec![],
                ),
                zone(
                    "dual.com.",
                    vec![a("www.dual.com.", [192, 0, 2, 12])],
                    vec![],
                ),
            ],
        },
        Server {
            ip: ip(11),
            behaviour: Behaviour::Dead,
            zones: vec![],
        },
        Server {
            ip: ip(10),
            behaviour: Behaviour::Loop,
            zones: vec![zone("loop.com.", vec![], vec![])],
        },
    ]
}

/// The answer of a server to a query (None: no answer at all).
pub fn answer(server: &Server, q: &Message, udp: bool) -> Option<Message> {
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.add_queries(q.queries.clone());
    match server.behaviour {
        Behaviour::Dead => return None,
        Behaviour::Refused => {
            m.metadata.response_code = ResponseCode::Refused;
            return Some(m);
        }
        _ => {}
    }
    let query = q.queries.first()?;
    let (qname, qtype) = (query.name().clone(), query.query_type());
    let Some(zone) = server
        .zones
        .iter()
        .filter(|z| z.origin.zone_of(&qname))
        .max_by_key(|z| z.origin.num_labels())
    else {
        m.metadata.response_code = ResponseCode::Refused;
        return Some(m);
    };
    if server.behaviour == Behaviour::Loop {
        m.add_authority(Record::from_rdata(
            zone.origin.clone(),
            300,
            RData::NS(NS(n("ns1.loop.com."))),
        ));
        m.add_additional(a("ns1.loop.com.", server.ip.octets()));
        return Some(finish(m, udp));
    }
    // below a delegation: a referral with whatever glue there is
    if let Some(cut) = zone.cuts.iter().find(|c| c.zone.zone_of(&qname)) {
        for (ns, glue) in &cut.servers {
            m.add_authority(Record::from_rdata(
                cut.zone.clone(),
                172_800,
                RData::NS(NS(ns.clone())),
            ));
            if let Some(ip) = glue {
                m.add_additional(Record::from_rdata(ns.clone(), 172_800, RData::A(A(*ip))));
            }
        }
        return Some(finish(m, udp));
    }
    m.metadata.authoritative = true;
    let at: Vec<&Record> = zone.records.iter().filter(|r| r.name == qname).collect();
    let exact: Vec<&Record> = at
        .iter()
        .copied()
        .filter(|r| r.record_type() == qtype)
        .collect();
    if !exact.is_empty() {
        // NS answers carry their glue (dig +trace takes the root servers'
        // addresses from it instead of asking the system's resolver)
        let glue: Vec<Record> = exact
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            })
            .flat_map(|target| {
                zone.records
                    .iter()
                    .filter(move |r| r.name == target && r.record_type() == RecordType::A)
                    .cloned()
            })
            .collect();
        m.add_answers(exact.into_iter().cloned());
        m.add_additionals(glue);
    } else if let Some(c) = at.iter().find(|r| r.record_type() == RecordType::CNAME) {
        m.add_answer((*c).clone());
        // chase the alias inside the zone
        if let RData::CNAME(CNAME(target)) = &c.data {
            m.add_answers(
                zone.records
                    .iter()
                    .filter(|r| &r.name == target && r.record_type() == qtype)
                    .cloned(),
            );
        }
    } else if !at.is_empty() || qname == zone.origin {
        m.add_authority(soa(&zone.origin));
    } else {
        m.metadata.response_code = ResponseCode::NXDomain;
        m.add_authority(soa(&zone.origin));
    }
    Some(finish(m, udp))
}

/// Over UDP a message larger than 512 bytes goes out truncated.
fn finish(m: Message, udp: bool) -> Message {
    if udp && m.to_vec().map_or(0, |v| v.len()) > 512 {
        let mut t = m.truncate();
        t.metadata.truncation = true;
        return t;
    }
    m
}

/// The running hierarchy.
pub struct Hierarchy {
    /// The port every server listens on.
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hierarchy {
    /// The root server's address.
    pub fn root(&self) -> String {
        format!("127.0.0.2:{}", self.port)
    }
}

impl Drop for Hierarchy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(server: Arc<Server>, port: u16) -> std::io::Result<()> {
    let addr = SocketAddr::new(IpAddr::V4(server.ip), port);
    let udp = UdpSocket::bind(addr).await?;
    let tcp = TcpListener::bind(addr).await?;
    let s2 = Arc::clone(&server);
    tokio::spawn(async move {
        while let Ok((mut c, _)) = tcp.accept().await {
            let s3 = Arc::clone(&s2);
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                while c.read_exact(&mut len).await.is_ok() {
                    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if c.read_exact(&mut buf).await.is_err() {
                        return;
                    }
                    let Ok(q) = Message::from_vec(&buf) else {
                        return;
                    };
                    let Some(r) = answer(&s3, &q, false) else {
                        return;
                    };
                    let Ok(out) = r.to_vec() else { return };
                    let mut framed = (out.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&out);
                    if c.write_all(&framed).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let mut buf = [0u8; 4096];
    loop {
        let (n, from) = udp.recv_from(&mut buf).await?;
        let Ok(q) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if let Some(r) = answer(&server, &q, true) {
            if let Ok(out) = r.to_vec() {
                let _ = udp.send_to(&out, from).await;
            }
        }
    }
}

/// Starts the hierarchy on a free port (trying a few).
pub fn start() -> Hierarchy {
    for _ in 0..20 {
        let port = std::net::UdpSocket::bind("127.0.0.2:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // every server must be able to bind that port on its address
        let free = tree().iter().all(|s| {
            let a = SocketAddr::new(IpAddr::V4(s.ip), port);
            std::net::UdpSocket::bind(a).is_ok() && std::net::TcpListener::bind(a).is_ok()
        });
        if !free {
            continue;
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                for s in tree() {
                    tokio::spawn(serve(Arc::new(s), port));
                }
                tokio::task::yield_now().await;
                let _ = ready_tx.send(());
                let _ = rx.await;
            });
        });
        let _ = ready_rx.recv();
        // let the listeners bind
        std::thread::sleep(std::time::Duration::from_millis(50));
        return Hierarchy {
            port,
            stop: Some(tx),
            thread: Some(thread),
        };
    }
    panic!("no free port for the DNS hierarchy");
}
