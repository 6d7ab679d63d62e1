//! Lookups through a resolver (hickory-resolver): the system's
//! configuration, another resolv.conf, or one server; several types at
//! once; and, on request, the operating system's own answer (getaddrinfo,
//! which reads /etc/hosts and nsswitch) beside it.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::{Resolver, TokioResolver};
use serde::Serialize;

use super::{record_view, RecordView};

/// Where the resolver's configuration comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// /etc/resolv.conf.
    System,
    /// Another resolv.conf.
    File(PathBuf),
    /// One server.
    Server(SocketAddr),
}

/// How to look up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration.
    pub source: Source,
    /// TCP only.
    pub tcp: bool,
    /// Per-query timeout.
    pub timeout: Duration,
}

/// One type's result.
#[derive(Debug, Clone, Serialize)]
pub struct TypeResult {
    /// The type.
    #[serde(rename = "type")]
    pub qtype: String,
    /// `ok`, `nxdomain`, `nodata`, `timeout` or `error`.
    pub status: &'static str,
    /// The records (CNAMEs on the way included).
    pub records: Vec<RecordView>,
    /// Time for this type.
    pub ms: f64,
    /// What failed.
    pub error: Option<String>,
}

/// What getaddrinfo said, and where it disagrees with DNS.
#[derive(Debug, Clone, Serialize)]
pub struct SystemView {
    /// The addresses getaddrinfo returned.
    pub addresses: Vec<IpAddr>,
    /// Its error, if any.
    pub error: Option<String>,
    /// Addresses only the operating system knows.
    pub only_system: Vec<IpAddr>,
    /// Addresses only DNS knows.
    pub only_dns: Vec<IpAddr>,
}

/// A lookup report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The name asked (fully qualified).
    pub name: String,
    /// The servers asked.
    pub servers: Vec<String>,
    /// One entry per type, in the order asked.
    pub results: Vec<TypeResult>,
    /// getaddrinfo's view (with --system).
    pub system: Option<SystemView>,
    /// Total time.
    pub ms: f64,
}

impl Report {
    /// True when every type came back NXDOMAIN.
    pub fn nxdomain(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.status == "nxdomain")
    }
}

/// Types asked for ANY: the common ones, separately (RFC 8482 lets
/// servers answer ANY minimally).
pub const ANY_AS: [RecordType; 9] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::MX,
    RecordType::NS,
    RecordType::SOA,
    RecordType::TXT,
    RecordType::CAA,
    RecordType::SRV,
];

fn build(opts: &Options) -> Result<(TokioResolver, Vec<String>), String> {
    let (config, mut ropts) = match &opts.source {
        Source::System => hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| format!("reading /etc/resolv.conf: {e}"))?,
        Source::File(p) => {
            let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            hickory_resolver::system_conf::parse_resolv_conf(data)
                .map_err(|e| format!("{}: {e}", p.display()))?
        }
        Source::Server(addr) => {
            let mut conn = if opts.tcp {
                ConnectionConfig::tcp()
            } else {
                ConnectionConfig::udp()
            };
            conn.port = addr.port();
            let mut ns = NameServerConfig::udp(addr.ip());
            ns.connections = vec![conn];
            (
                ResolverConfig::from_name_servers(vec![ns]),
                hickory_resolver::config::ResolverOpts::default(),
            )
        }
    };
    let servers: Vec<String> = config
        .name_servers()
        .iter()
        .flat_map(|ns| {
            ns.connections
                .iter()
                .map(move |c| SocketAddr::new(ns.ip, c.port).to_string())
        })
        .collect();
    ropts.timeout = opts.timeout;
    ropts.attempts = 1;
    if matches!(opts.source, Source::Server(_)) {
        // the server asked, not /etc/hosts
        ropts.use_hosts_file = ResolveHosts::Never;
    }
    let mut b = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    *b.options_mut() = ropts;
    let r = b
        .build()
        .map_err(|e| format!("building the resolver: {e}"))?;
    Ok((r, servers))
}

/// Looks `name` up for every type, concurrently.
///
/// # Errors
/// The configuration cannot be read or the name is not a name.
pub async fn lookup(
    name: &str,
    types: &[RecordType],
    system: bool,
    opts: &Options,
) -> Result<Report, String> {
    let t0 = Instant::now();
    let fq = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    let qname = hickory_resolver::proto::rr::Name::from_ascii(&fq)
        .map_err(|e| format!("{name:?} is not a domain name: {e}"))?;
    let (resolver, servers) = build(opts)?;
    let mut set = tokio::task::JoinSet::new();
    for (i, t) in types.iter().enumerate() {
        let (r, n, t) = (resolver.clone(), qname.clone(), *t);
        set.spawn(async move {
            let s = Instant::now();
            let res = r.lookup(n, t).await;
            (i, t, res, s.elapsed())
        });
    }
    let mut results: Vec<Option<TypeResult>> = vec![None; types.len()];
    while let Some(j) = set.join_next().await {
        let Ok((i, t, res, took)) = j else { continue };
        let ms = crate::model::ms(took);
        let tr = match res {
            Ok(l) => TypeResult {
                qtype: t.to_string(),
                status: "ok",
                records: l.answers().iter().map(record_view).collect(),
                ms,
                error: None,
            },
            Err(e) if e.is_nx_domain() => TypeResult {
                qtype: t.to_string(),
                status: "nxdomain",
                records: Vec::new(),
                ms,
                error: None,
            },
            Err(e) if e.is_no_records_found() => TypeResult {
                qtype: t.to_string(),
                status: "nodata",
                records: Vec::new(),
                ms,
                error: None,
            },
            Err(e) => {
                let mut text = e.to_string();
                let timeout = text.to_lowercase().contains("timed out") || text.contains("timeout");
                if !timeout {
                    // the resolver's words ("no connections available")
                    // do not say what the servers did: ask each once
                    let mut what = Vec::new();
                    for s in servers.iter().filter_map(|s| s.parse::<SocketAddr>().ok()) {
                        what.push(
                            super::trace::probe_server(s, &qname, t, opts.tcp, opts.timeout).await,
                        );
                    }
                    if !what.is_empty() {
                        text = format!("{text}: {}", what.join("; "));
                    }
                }
                TypeResult {
                    qtype: t.to_string(),
                    status: if timeout { "timeout" } else { "error" },
                    records: Vec::new(),
                    ms,
                    error: Some(if timeout {
                        format!(
                            "no answer from {} within {} ms",
                            servers.join(", "),
                            opts.timeout.as_millis()
                        )
                    } else {
                        text
                    }),
                }
            }
        };
        results[i] = Some(tr);
    }
    let results: Vec<TypeResult> = results.into_iter().flatten().collect();
    let system = system.then(|| {
        let dns: Vec<IpAddr> = results
            .iter()
            .flat_map(|r| r.records.iter())
            .filter(|r| r.rtype == "A" || r.rtype == "AAAA")
            .filter_map(|r| r.data.parse().ok())
            .collect();
        let host = name.trim_end_matches('.');
        match (host, 0).to_socket_addrs() {
            Ok(it) => {
                let mut addresses: Vec<IpAddr> = it.map(|s| s.ip()).collect();
                addresses.sort();
                addresses.dedup();
                SystemView {
                    only_system: addresses
                        .iter()
                        .filter(|a| !dns.contains(a))
                        .copied()
                        .collect(),
                    only_dns: dns
                        .iter()
                        .filter(|a| !addresses.contains(a))
                        .copied()
                        .collect(),
                    addresses,
                    error: None,
                }
            }
            Err(e) => SystemView {
                addresses: Vec::new(),
                error: Some(e.to_string()),
                only_system: Vec::new(),
                only_dns: dns,
            },
        }
    });
    Ok(Report {
        name: fq,
        servers,
        results,
        system,
        ms: crate::model::ms(t0.elapsed()),
    })
}
