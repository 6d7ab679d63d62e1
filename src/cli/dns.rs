//! `dns lookup|reverse|trace`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::args::{DnsCmd, ResolverArgs};
use super::written;
use crate::dns::lookup::{self, Report, Source, ANY_AS};
use crate::dns::trace::{self, Trace};
use crate::error::{EXIT_IO, EXIT_NEGATIVE};
use crate::output::dns::{lookup_human, trace_human};
use crate::output::{self, Format, Options};
use crate::{Error, Result};

/// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address.
fn server_addr(s: &str, default_port: u16) -> Result<SocketAddr> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, default_port));
    }
    Err(Error::Usage(format!(
        "{s:?} is not ADDR or ADDR:PORT (names are not resolved here; IPv6 with a port: [::1]:53)"
    )))
}

fn record_type(t: &str) -> Result<Vec<RecordType>> {
    let up = t.to_ascii_uppercase();
    if up == "ANY" {
        return Ok(ANY_AS.to_vec());
    }
    const KNOWN: [&str; 10] = [
        "A", "AAAA", "CNAME", "MX", "NS", "SOA", "TXT", "PTR", "SRV", "CAA",
    ];
    if !KNOWN.contains(&up.as_str()) {
        return Err(Error::Usage(format!(
            "{t:?} is not a record type netray asks for ({} or ANY)",
            KNOWN.join(", ")
        )));
    }
    RecordType::from_str(&up)
        .map(|r| vec![r])
        .map_err(|_| Error::Usage(format!("{t:?} is not a record type")))
}

fn options(r: &ResolverArgs) -> Result<lookup::Options> {
    let source = match (&r.server, &r.resolv_conf) {
        (Some(s), _) => Source::Server(server_addr(s, 53)?),
        (None, Some(f)) => Source::File(f.clone()),
        (None, None) => Source::System,
    };
    Ok(lookup::Options {
        source,
        tcp: r.tcp,
        timeout: Duration::from_millis(r.timeout.max(1)),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the resolver", e))
}

fn report_status(r: &Report) -> u8 {
    if r.results
        .iter()
        .any(|x| x.status == "ok" && !x.records.is_empty())
    {
        0
    } else if r
        .results
        .iter()
        .all(|x| matches!(x.status, "nxdomain" | "nodata"))
    {
        EXIT_NEGATIVE
    } else {
        EXIT_IO
    }
}

pub(super) fn run(cmd: DnsCmd, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    match cmd {
        DnsCmd::Lookup {
            name,
            types,
            resolver,
            short,
            system,
        } => {
            let mut qtypes = Vec::new();
            for t in &types {
                for r in record_type(t)? {
                    if !qtypes.contains(&r) {
                        qtypes.push(r);
                    }
                }
            }
            if qtypes.is_empty() {
                qtypes = vec![RecordType::A, RecordType::AAAA];
            }
            let o = options(&resolver)?;
            let report = runtime()?
                .block_on(lookup::lookup(&name, &qtypes, system, &o))
                .map_err(Error::Usage)?;
            emit_lookup(&report, short, opts, out)?;
            Ok(report_status(&report))
        }
        DnsCmd::Reverse {
            ip,
            resolver,
            short,
        } => {
            let addr: IpAddr = ip
                .trim()
                .parse()
                .map_err(|_| Error::Usage(format!("{ip:?} is not an IPv4 or IPv6 address")))?;
            let o = options(&resolver)?;
            let name = crate::dns::reverse_name(addr);
            let report = runtime()?
                .block_on(lookup::lookup(&name, &[RecordType::PTR], false, &o))
                .map_err(Error::Usage)?;
            emit_lookup(&report, short, opts, out)?;
            Ok(report_status(&report))
        }
        DnsCmd::Trace {
            name,
            qtype,
            roots,
            port,
            tcp,
            timeout,
            hedge,
        } => {
            let qt = record_type(&qtype)?;
            let [qt] = qt[..] else {
                return Err(Error::Usage("trace asks one type (not ANY)".into()));
            };
            let timeout = Duration::from_millis(timeout.max(1));
            let mut t = trace::Options::iana(timeout);
            t.port = port;
            t.tcp = tcp;
            t.hedge = Duration::from_millis(hedge.max(1));
            if roots.is_empty() {
                t.roots = t
                    .roots
                    .iter()
                    .map(|(n, a)| (n.clone(), SocketAddr::new(a.ip(), port)))
                    .collect();
            } else {
                t.roots = roots
                    .iter()
                    .map(|r| server_addr(r, port).map(|a| ("root".to_string(), a)))
                    .collect::<Result<_>>()?;
            }
            let tr: Trace = runtime()?.block_on(trace::trace(&name, qt, &t));
            match opts.format {
                Format::Json => written(output::emit(&tr, opts, out))?,
                Format::Human => written(trace_human(&tr, opts, out))?,
            }
            Ok(match tr.result {
                "answer" => 0,
                "nxdomain" | "nodata" => EXIT_NEGATIVE,
                _ => EXIT_IO,
            })
        }
    }
}

fn emit_lookup(report: &Report, short: bool, opts: &Options, out: &mut dyn Write) -> Result<()> {
    match opts.format {
        Format::Json => written(output::emit(report, opts, out)),
        Format::Human => written(lookup_human(report, short || opts.quiet, opts, out)),
    }
}
