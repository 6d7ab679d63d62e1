//! `arp resolve|scan|check|watch`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use super::args::ArpCmd;
use super::written;
use crate::arp::frame::Seen;
use crate::arp::probe::{self, Answer, Me, ScanOptions};
use crate::arp::watch::{Baseline, Watcher};
use crate::capture::live::{self, Limits};
use crate::capture::{decode_into, Flow};
use crate::link::channel::{no_such_interface, ChannelOptions, PnetChannel};
use crate::link::iface::{self, Interface};
use crate::link::route::{self, Kind};
use crate::model::arp::{CheckReport, ConflictView, Reply, ResolveReport, ScanHost, ScanSummary};
use crate::model::packet::Packet;
use crate::output::arp::{alert_line, resolve_footer, resolve_header, resolve_round, ScanTable};
use crate::output::{self, ndjson, Format, Options};
use crate::{Error, Result};

pub(super) fn run(cmd: ArpCmd, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    match cmd {
        ArpCmd::Resolve {
            target,
            interface,
            timeout,
            retries,
            count,
            interval,
        } => resolve(
            &target,
            interface.as_deref(),
            Duration::from_millis(timeout.max(1)),
            retries,
            count.max(1),
            Duration::from_millis(interval),
            opts,
            out,
        ),
        ArpCmd::Scan {
            cidr,
            interface,
            rate,
            retries,
            timeout,
            force,
            ipv6,
        } => {
            if rate == 0 {
                return Err(Error::Usage("--rate must be at least 1".into()));
            }
            let so = ScanOptions {
                rate,
                retries,
                timeout: Duration::from_millis(timeout.max(1)),
            };
            scan(
                cidr.as_deref(),
                interface.as_deref(),
                so,
                force,
                ipv6,
                opts,
                out,
            )
        }
        ArpCmd::Check {
            target,
            interface,
            probes,
            interval,
            wait,
        } => check(
            &target,
            interface.as_deref(),
            probes.max(1),
            Duration::from_millis(interval),
            Duration::from_millis(wait),
            opts,
            out,
        ),
        ArpCmd::Watch {
            interface,
            read,
            baseline,
            many,
            duration,
            alerts_only,
        } => {
            let baseline = match &baseline {
                Some(p) => {
                    let text = std::fs::read_to_string(p).map_err(|source| Error::File {
                        path: p.clone(),
                        source,
                    })?;
                    Baseline::parse(&text)
                        .map_err(|e| Error::Usage(format!("{}: {e}", p.display())))?
                }
                None => Baseline::default(),
            };
            let w = WatchArgs {
                many,
                alerts_only,
                duration: seconds(duration)?,
            };
            watch(
                interface.as_deref(),
                read.as_deref(),
                baseline,
                &w,
                opts,
                out,
            )
        }
    }
}

fn seconds(s: Option<f64>) -> Result<Option<Duration>> {
    match s {
        Some(s) if !(s.is_finite() && s > 0.0) => Err(Error::Usage(format!(
            "--duration must be a positive number of seconds, not {s}"
        ))),
        Some(s) => Ok(Some(Duration::from_secs_f64(s.min(1e9)))),
        None => Ok(None),
    }
}

fn parse_v4(t: &str) -> Result<Ipv4Addr> {
    t.trim().parse().map_err(|_| {
        Error::Usage(format!(
            "{t:?} is not an IPv4 address (ARP is IPv4's; IPv6 neighbours: arp scan --ipv6)"
        ))
    })
}

fn named(name: &str) -> Result<Interface> {
    iface::by_name(name).ok_or_else(|| no_such_interface(name))
}

fn v4_nets(i: &Interface) -> Vec<Ipv4Network> {
    i.networks()
        .filter_map(|n| match n {
            IpNetwork::V4(v4) => Some(v4),
            IpNetwork::V6(_) => None,
        })
        .collect()
}

/// Our MAC and the IPv4 address on `i` to send from toward `toward`.
fn me_on(i: &Interface, toward: Ipv4Addr) -> Result<Me> {
    let mac = i
        .mac
        .as_deref()
        .and_then(crate::arp::watch::parse_mac)
        .ok_or_else(|| {
            Error::Usage(format!("{} has no MAC address: ARP needs Ethernet", i.name))
        })?;
    let nets = v4_nets(i);
    let net = nets
        .iter()
        .find(|n| n.contains(toward))
        .or(nets.first())
        .ok_or_else(|| Error::Usage(format!("{} has no IPv4 address to send ARP from", i.name)))?;
    Ok(Me { mac, ip: net.ip() })
}

fn reply_view(a: &Answer) -> Reply {
    Reply {
        mac: String::from_utf8_lossy(&crate::model::text::mac_text(&a.mac)).into_owned(),
        vendor: crate::oui::vendor(a.mac),
        rtt_ms: crate::model::ms(a.rtt),
    }
}

/// Where to ARP for `target`: (interface, address to ask for, via a
/// gateway, why). `Ok(None)` when there is no route (exit 1).
fn next_hop(
    target: Ipv4Addr,
    interface: Option<&str>,
) -> Result<Option<(String, Ipv4Addr, bool, String)>> {
    let ifaces = iface::list();
    let d = route::decide(IpAddr::V4(target), &route::table()?, &ifaces);
    if let Some(name) = interface {
        let i = named(name)?;
        if let Some(n) = v4_nets(&i).into_iter().find(|n| n.contains(target)) {
            let why = format!(
                "{target} is on {name}'s subnet {}/{}",
                n.network(),
                n.prefix()
            );
            return Ok(Some((name.to_string(), target, false, why)));
        }
        return match (d.kind, d.next_hop, d.iface.as_deref()) {
            (Kind::Gateway, Some(IpAddr::V4(g)), Some(via)) if via == name => {
                Ok(Some((name.to_string(), g, true, d.explanation)))
            }
            _ => Err(Error::Usage(format!(
                "{target} is not on {name}'s subnets and no route through {name} reaches it: ARP only reaches the local link"
            ))),
        };
    }
    match (d.kind, d.next_hop, d.iface) {
        (Kind::Local, ..) => Err(Error::Usage(format!(
            "{target} is this host's own address: there is nothing to resolve"
        ))),
        (Kind::OnLink, _, Some(i)) => Ok(Some((i, target, false, d.explanation))),
        (Kind::Gateway, Some(IpAddr::V4(g)), Some(i)) => Ok(Some((i, g, true, d.explanation))),
        _ => {
            output::warn(&d.explanation);
            Ok(None)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve(
    target: &str,
    interface: Option<&str>,
    timeout: Duration,
    retries: u32,
    count: u32,
    interval: Duration,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<u8> {
    let target = parse_v4(target)?;
    let Some((name, asked, via_gateway, explanation)) = next_hop(target, interface)? else {
        return Ok(1);
    };
    let i = named(&name)?;
    let me = me_on(&i, asked)?;
    let mut chan = PnetChannel::open(&name, ChannelOptions::default())?;
    let mut r = ResolveReport {
        target,
        asked,
        via_gateway,
        iface: name,
        source: me.ip,
        explanation,
        rounds: Vec::new(),
        answered: 0,
        rtt_min_ms: None,
        rtt_avg_ms: None,
        rtt_max_ms: None,
        duplicate: false,
    };
    // arping's view: each round printed as it happens
    let live = opts.format == Format::Human && !opts.quiet;
    if live {
        written(resolve_header(&r, out))?;
    }
    for k in 0..count {
        if k > 0 {
            std::thread::sleep(interval);
        }
        let answers = probe::resolve(&mut chan, me, asked, timeout, retries)
            .map_err(|e| Error::io(format!("ARP on {}", r.iface), e))?;
        let round: Vec<Reply> = answers.iter().map(reply_view).collect();
        if live {
            written(resolve_round(k as usize + 1, asked, &round, opts, out))?;
            written(out.flush())?;
        }
        r.rounds.push(round);
    }
    let rtts: Vec<f64> = r.rounds.iter().flatten().map(|x| x.rtt_ms).collect();
    r.answered = r.rounds.iter().filter(|x| !x.is_empty()).count() as u32;
    r.duplicate = r.rounds.iter().any(|x| x.len() > 1);
    if !rtts.is_empty() {
        r.rtt_min_ms = rtts.iter().copied().reduce(f64::min);
        r.rtt_max_ms = rtts.iter().copied().reduce(f64::max);
        r.rtt_avg_ms = Some(rtts.iter().sum::<f64>() / rtts.len() as f64);
    }
    if live {
        written(resolve_footer(&r, opts, out))?;
    } else {
        written(output::emit(&r, opts, out))?;
    }
    Ok(u8::from(r.answered == 0))
}

/// The interface and subnet a sweep covers.
fn scan_target(cidr: Option<&str>, interface: Option<&str>) -> Result<(Interface, Ipv4Network)> {
    let net: Option<Ipv4Network> = cidr
        .map(|c| {
            let c = c.trim();
            let parsed = if c.contains('/') {
                c.parse::<Ipv4Network>().ok()
            } else {
                c.parse::<Ipv4Addr>()
                    .ok()
                    .and_then(|a| Ipv4Network::new(a, 32).ok())
            };
            parsed.ok_or_else(|| {
                Error::Usage(format!("{c:?} is not an IPv4 CIDR (such as 192.0.2.0/24)"))
            })
        })
        .transpose()?;
    let ifaces = iface::list();
    let usable =
        |i: &&Interface| i.is_up() && !i.is_loopback() && i.mac.is_some() && !v4_nets(i).is_empty();
    let i = match (interface, net) {
        (Some(name), _) => named(name)?,
        (None, Some(n)) => ifaces
            .iter()
            .filter(usable)
            .filter_map(|i| {
                v4_nets(i)
                    .into_iter()
                    .filter(|m| m.contains(n.network()))
                    .map(|m| m.prefix())
                    .max()
                    .map(|p| (p, i))
            })
            .max_by_key(|(p, _)| *p)
            .map(|(_, i)| i.clone())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no interface has a subnet holding {n}: give one with -i (ARP only reaches the local link)"
                ))
            })?,
        (None, None) => {
            // the default route's interface, else the first usable one
            let routes = route::table()?;
            let default = routes
                .iter()
                .filter(|r| r.dest.is_ipv4() && r.dest.prefix() == 0 && !r.is_reject())
                .min_by_key(|r| r.metric)
                .map(|r| r.iface.clone());
            default
                .and_then(|d| ifaces.iter().filter(usable).find(|i| i.name == d).cloned())
                .or_else(|| ifaces.iter().find(usable).cloned())
                .ok_or_else(|| Error::Usage("no interface with an IPv4 address and a MAC is up: give one with -i".into()))?
        }
    };
    let net = match net {
        Some(n) => n,
        None => *v4_nets(&i)
            .first()
            .ok_or_else(|| Error::Usage(format!("{} has no IPv4 subnet to sweep", i.name)))?,
    };
    Ok((i, net))
}

/// The host addresses of a subnet (without network and broadcast above
/// /31).
fn hosts_of(net: Ipv4Network) -> impl Iterator<Item = Ipv4Addr> {
    let first = u32::from(net.network());
    let last = u32::from(net.broadcast());
    let (a, b) = if net.prefix() <= 30 {
        (first + 1, last - 1)
    } else {
        (first, last)
    };
    (a..=b).map(Ipv4Addr::from)
}

fn scan(
    cidr: Option<&str>,
    interface: Option<&str>,
    so: ScanOptions,
    force: bool,
    ipv6: bool,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<u8> {
    if let Some(v6) = cidr.and_then(|c| c.trim().parse::<Ipv6Network>().ok()) {
        return scan_v6(v6, interface, so, force, opts, out);
    }
    let (i, net) = scan_target(cidr, interface)?;
    let size = 1u64 << (32 - u32::from(net.prefix()));
    if size > 65_536 && !force {
        return Err(Error::Usage(format!(
            "{net} holds {size} addresses; sweeping more than 65536 needs --force"
        )));
    }
    let me = me_on(&i, net.network())?;
    if !v4_nets(&i).iter().any(|n| n.contains(net.network())) {
        output::warn(&format!(
            "warning: {net} is not on {}'s subnets: hosts there will not answer ARP",
            i.name
        ));
    }
    let targets: Vec<Ipv4Addr> = hosts_of(net).filter(|a| *a != me.ip).collect();
    let mut chan = PnetChannel::open(&i.name, ChannelOptions::default())?;
    let bar = output::progress(
        opts,
        targets.len() as u64 * (u64::from(so.retries) + 1),
        "{spinner} {bar:30} {pos}/{len} requests, {msg}",
    );
    let start = Instant::now();
    let (found, fin) = probe::scan(&mut chan, me, &targets, so, |p| {
        if let Some(b) = &bar {
            b.set_position(p.sent);
            b.set_message(format!("{} found, round {}", p.found, p.round + 1));
        }
    })
    .map_err(|e| Error::io(format!("ARP sweep on {}", i.name), e))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let sent = fin.sent;
    let mut hosts: Vec<ScanHost> = found
        .iter()
        .map(|h| {
            let first = reply_view(&h.answers[0]);
            ScanHost {
                ip: IpAddr::V4(h.ip),
                mac: first.mac,
                vendor: first.vendor,
                rtt_ms: first.rtt_ms,
                duplicate: h.answers.len() > 1,
                macs: h.answers.iter().map(|a| reply_view(a).mac).collect(),
                via: "arp",
            }
        })
        .collect();
    if ipv6 {
        hosts.extend(ndp_sweep(&mut chan, &i, None, so)?);
    }
    let summary = ScanSummary {
        iface: i.name.clone(),
        targets: targets.len() as u64,
        sent,
        found: hosts.len() as u64,
        seconds: crate::model::secs(start.elapsed()),
        ipv6_prefix: false,
    };
    emit_sweep(&hosts, &summary, opts, out)
}

/// A sweep's hosts: NDJSON, or the table with its summary line.
fn emit_sweep(
    hosts: &[ScanHost],
    summary: &ScanSummary,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<u8> {
    match opts.format {
        Format::Json => {
            for h in hosts {
                written(ndjson(h, out))?;
            }
        }
        Format::Human => written(ScanTable { hosts, summary }.human(opts, out))?,
    }
    Ok(0)
}

/// IPv6 neighbours on `i`: `targets` solicited one by one, or (None)
/// all nodes pinged first, keeping the addresses in the interface's
/// global prefixes (its link-local one when it has none).
fn ndp_sweep(
    chan: &mut PnetChannel,
    i: &Interface,
    targets: Option<Vec<Ipv6Addr>>,
    so: ScanOptions,
) -> Result<Vec<ScanHost>> {
    let mac = i
        .mac
        .as_deref()
        .and_then(crate::arp::watch::parse_mac)
        .ok_or_else(|| Error::Usage(format!("{} has no MAC address", i.name)))?;
    let v6: Vec<Ipv6Network> = i
        .networks()
        .filter_map(|n| match n {
            IpNetwork::V6(v) => Some(v),
            IpNetwork::V4(_) => None,
        })
        .collect();
    let link_local = |a: &Ipv6Addr| (a.segments()[0] & 0xffc0) == 0xfe80;
    let global: Vec<Ipv6Network> = v6
        .iter()
        .filter(|n| !link_local(&n.ip()))
        .copied()
        .collect();
    let src_net = global
        .first()
        .or(v6.first())
        .copied()
        .ok_or_else(|| Error::Usage(format!("{} has no IPv6 address to send from", i.name)))?;
    let keep_nets = if global.is_empty() {
        v6.clone()
    } else {
        global
    };
    let found = crate::arp::ndp::sweep(
        chan,
        mac,
        src_net.ip(),
        targets.as_deref(),
        |a| keep_nets.iter().any(|n| n.contains(a)),
        so.rate,
        so.timeout,
    )
    .map_err(|e| Error::io(format!("NDP sweep on {}", i.name), e))?;
    Ok(found
        .iter()
        .map(|n| {
            let m = reply_view(&Answer {
                mac: n.mac,
                rtt: n.rtt,
            });
            ScanHost {
                ip: IpAddr::V6(n.ip),
                mac: m.mac.clone(),
                vendor: m.vendor,
                rtt_ms: m.rtt_ms,
                duplicate: false,
                macs: vec![m.mac],
                via: "ndp",
            }
        })
        .collect())
}

/// `arp scan` of an IPv6 prefix: every address solicited when the
/// prefix is small, an all-nodes echo first when it is not.
fn scan_v6(
    net: Ipv6Network,
    interface: Option<&str>,
    so: ScanOptions,
    force: bool,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<u8> {
    let i = match interface {
        Some(n) => named(n)?,
        None => iface::list()
            .into_iter()
            .filter(|i| i.is_up() && !i.is_loopback() && i.mac.is_some())
            .find(|i| {
                i.networks()
                    .any(|n| n.is_ipv6() && n.contains(IpAddr::V6(net.network())))
            })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no interface has a subnet holding {net}: give one with -i"
                ))
            })?,
    };
    let bits = 128 - u32::from(net.prefix());
    let targets = if bits <= 16 {
        let first = u128::from(net.network());
        let n = 1u128 << bits;
        if n > 65_536 && !force {
            return Err(Error::Usage(format!(
                "{net} holds {n} addresses; more than 65536 needs --force"
            )));
        }
        let own: Vec<IpAddr> = i.addrs.iter().map(|a| a.addr).collect();
        // not our own addresses, nor the subnet-router anycast address
        // (the all-zero host part, which routers answer for)
        Some(
            (1..n)
                .map(|k| Ipv6Addr::from(first + k))
                .filter(|a| !own.contains(&IpAddr::V6(*a)))
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let mut chan = PnetChannel::open(&i.name, ChannelOptions::default())?;
    let start = Instant::now();
    let count = targets.as_ref().map_or(0, Vec::len) as u64;
    let hosts: Vec<ScanHost> = ndp_sweep(&mut chan, &i, targets, so)?
        .into_iter()
        .filter(|h| match h.ip {
            IpAddr::V6(a) => net.contains(a),
            IpAddr::V4(_) => false,
        })
        .collect();
    let summary = ScanSummary {
        iface: i.name.clone(),
        targets: count,
        sent: count,
        found: hosts.len() as u64,
        seconds: crate::model::secs(start.elapsed()),
        ipv6_prefix: true,
    };
    emit_sweep(&hosts, &summary, opts, out)
}

#[allow(clippy::too_many_arguments)]
fn check(
    target: &str,
    interface: Option<&str>,
    probes: u32,
    interval: Duration,
    wait: Duration,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<u8> {
    let target = parse_v4(target)?;
    let i = match interface {
        Some(n) => named(n)?,
        None => iface::list()
            .into_iter()
            .filter(|i| i.is_up() && !i.is_loopback() && i.mac.is_some())
            .find(|i| v4_nets(i).iter().any(|n| n.contains(target)))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{target} is not on any local subnet: duplicate detection works on the link (give -i)"
                ))
            })?,
    };
    let me = me_on(&i, target)?;
    let mut chan = PnetChannel::open(&i.name, ChannelOptions::default())?;
    let found = probe::check(&mut chan, me.mac, target, probes, interval, wait)
        .map_err(|e| Error::io(format!("ARP probes on {}", i.name), e))?;
    let r = CheckReport {
        target,
        iface: i.name.clone(),
        probes,
        free: found.is_empty(),
        conflicts: found
            .iter()
            .map(|c| ConflictView {
                mac: String::from_utf8_lossy(&crate::model::text::mac_text(&c.mac)).into_owned(),
                vendor: crate::oui::vendor(c.mac),
                how: c.how,
                after_ms: crate::model::ms(c.after),
            })
            .collect(),
    };
    written(output::emit(&r, opts, out))?;
    Ok(u8::from(!r.free))
}

struct WatchArgs {
    many: usize,
    alerts_only: bool,
    duration: Option<Duration>,
}

fn watch(
    interface: Option<&str>,
    read: Option<&str>,
    baseline: Baseline,
    a: &WatchArgs,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<u8> {
    let mut w = Watcher::new(baseline, a.many);
    let mut worst = 0u8;
    let mut packet = Packet::default();
    let mut show = |p: &Packet, w: &mut Watcher, out: &mut dyn Write| -> std::io::Result<()> {
        let Some(s) = Seen::from_packet(p) else {
            return Ok(());
        };
        for alert in w.observe(p.ts, &s) {
            if alert.severity != "info" {
                worst = 1;
            } else if a.alerts_only {
                continue;
            }
            match opts.format {
                Format::Json => ndjson(&alert, out)?,
                Format::Human => writeln!(out, "{}", alert_line(&alert, opts))?,
            }
            out.flush()?;
        }
        Ok(())
    };
    match (read, interface) {
        (Some(path), _) => {
            // one file, a folder or a pattern: one watch over all of it,
            // in timestamp order
            let source = crate::capture::engine::Source::expand(&[path.to_string()], true)
                .map_err(|e| Error::Usage(e.to_string()))?;
            let mut sink = |p: &Packet, _: &crate::capture::Frame<'_>| {
                show(p, &mut w, out)?;
                Ok(Flow::Continue)
            };
            let outcomes = crate::capture::engine::run(&source, None, false, &mut [&mut sink]);
            super::capture::verdicts(outcomes, false)?;
        }
        (None, Some(name)) => {
            let i = named(name)?;
            let mut chan = PnetChannel::open(&i.name, ChannelOptions::default())?;
            let stop = Arc::new(AtomicBool::new(false));
            {
                let stop = Arc::clone(&stop);
                if let Err(e) = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed)) {
                    output::warn(&format!(
                        "warning: Ctrl-C will not end the watch cleanly: {e}"
                    ));
                }
            }
            if !opts.quiet {
                output::warn(&format!("watching ARP on {name}"));
            }
            let limits = Limits {
                count: None,
                duration: a.duration,
                loopback: i.is_loopback(),
            };
            live::capture(&mut chan, &stop, limits, |frame| {
                decode_into(frame, &mut packet);
                show(&packet, &mut w, out)?;
                Ok(packet.arp.is_some())
            })
            .map_err(|e| Error::io(format!("watching {name}"), e))?;
        }
        (None, None) => return Err(Error::Usage("give -i IFACE or -r CAPTURE".into())),
    }
    if opts.format == Format::Human && !opts.quiet {
        let stations = w.stations();
        let mut t = output::table(opts, &["Address", "MAC", "Vendor", "Since"]);
        for (ip, mac, since) in &stations {
            let vendor = crate::arp::watch::parse_mac(mac)
                .map(|m| crate::oui::vendor(m).label().to_string())
                .unwrap_or_default();
            t.add_row(vec![ip.to_string(), mac.clone(), vendor, since.rfc3339()]);
        }
        if !stations.is_empty() {
            written(output::write_table(&t, out))?;
        }
        written(writeln!(
            out,
            "{} ARP packets, {} stations",
            w.packets,
            stations.len()
        ))?;
    }
    Ok(worst)
}
