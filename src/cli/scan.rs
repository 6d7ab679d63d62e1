//! `scan`.

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::args::ScanArgs;
use super::written;
use crate::arp::probe::{self as arp_probe, Me};
use crate::link::channel::{ChannelOptions, PnetChannel};
use crate::link::iface;
use crate::link::route::{self, Kind};
use crate::output::scan::ScanView;
use crate::output::{ndjson, Format, Options};
use crate::scan::connect::{self, Progress};
use crate::scan::syn::{self, Path};
use crate::scan::{self as sc, ports, targets, Plan, PortResult, Proto, State};
use crate::{Error, Result};

/// The most host-port probes without --force.
const MAX_PROBES: u128 = 65_536;

pub(super) fn run(args: &ScanArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let ports = match (&args.ports, args.top) {
        (Some(spec), _) => ports::parse(spec).map_err(Error::Usage)?,
        (None, Some(0)) => return Err(Error::Usage("--top needs at least 1".into())),
        (None, Some(n)) => ports::top(n, proto),
        (None, None) => ports::top(usize::MAX, proto),
    };
    let limit = if args.force { u128::MAX } else { MAX_PROBES };
    let hosts = targets::expand(&args.targets, limit).map_err(Error::Usage)?;
    let probes = hosts.len() as u128 * ports.len() as u128;
    if probes > limit {
        return Err(Error::Usage(format!(
            "{} hosts x {} ports is {probes} probes; more than {MAX_PROBES} needs --force",
            hosts.len(),
            ports.len()
        )));
    }
    let loopback = hosts.iter().all(IpAddr::is_loopback);
    let rate = args.rate.or(match (loopback, args.udp) {
        (true, _) => None,
        (false, true) => Some(500),
        (false, false) => Some(2000),
    });
    if rate == Some(0) {
        return Err(Error::Usage("--rate must be at least 1".into()));
    }
    let fd_limit = sc::raise_fd_limit();
    let plan = Plan {
        hosts,
        ports,
        concurrency: args
            .concurrency
            .unwrap_or_else(|| sc::concurrency_for(fd_limit))
            .clamp(1, sc::concurrency_for(fd_limit)),
        rate,
        timeout: Duration::from_millis(args.timeout.max(1)),
        retries: args.retries,
        banner: args.banner,
        banner_wait: Duration::from_millis(args.banner_wait),
    };
    let bar = crate::output::progress(
        opts,
        plan.len() as u64,
        "{spinner} {bar:30} {pos}/{len} ports, {msg}",
    );
    let tick = |p: Progress| {
        if let Some(b) = &bar {
            b.set_position(p.done.min(p.total));
            b.set_message(format!("{} open, pass {}", p.open, p.pass + 1));
        }
    };
    let start = Instant::now();
    let results = if args.syn {
        syn_scan(&plan, tick)?
    } else if loopback && !args.udp && plan.rate.is_none() {
        // loopback answers inside connect(): blocking connects on a few
        // threads beat the event loop
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 8);
        connect::run_blocking(&plan, threads, &tick)
    } else {
        sharded(&plan, args.udp, &tick)?
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let method = if args.syn {
        "SYN"
    } else if args.udp {
        "UDP"
    } else {
        "connect"
    };
    match opts.format {
        Format::Json => {
            for r in &results {
                written(ndjson(r, out))?;
            }
        }
        Format::Human => written(
            ScanView {
                results: &results,
                method,
                ports: plan.ports.len(),
                seconds: start.elapsed().as_secs_f64(),
            }
            .human(opts, out),
        )?,
    }
    Ok(0)
}

/// Runs the connect or UDP scan on one thread per core, each with its
/// own single-threaded runtime and a share of the ports (the kernel's
/// work per probe dominates, and one runtime per thread avoids waking
/// threads for every probe). Results come back in plan order.
fn sharded(plan: &Plan, udp: bool, tick: &(dyn Fn(Progress) + Sync)) -> Result<Vec<PortResult>> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let n = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(plan.ports.len().max(1));
    let done = AtomicU64::new(0);
    let open = AtomicU64::new(0);
    let total = plan.len() as u64;
    let shards: Vec<Plan> = (0..n)
        .map(|k| Plan {
            ports: plan.ports.iter().skip(k).step_by(n).copied().collect(),
            concurrency: (plan.concurrency / n).max(1),
            rate: plan.rate.map(|r| (r / n as u32).max(1)),
            ..plan.clone()
        })
        .collect();
    let banner = plan.banner.then_some(plan.banner_wait);
    let parts: Vec<std::io::Result<Vec<PortResult>>> = std::thread::scope(|sc| {
        let handles: Vec<_> = shards
            .iter()
            .map(|shard| {
                let (done, open) = (&done, &open);
                sc.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let (mut last_done, mut last_open) = (0, 0);
                    let report = |p: Progress| {
                        let d = done.fetch_add(p.done - last_done, Ordering::Relaxed) + p.done
                            - last_done;
                        let o = open.fetch_add(p.open - last_open, Ordering::Relaxed) + p.open
                            - last_open;
                        last_done = p.done;
                        last_open = p.open;
                        tick(Progress {
                            done: d,
                            total,
                            open: o,
                            pass: p.pass,
                        });
                    };
                    Ok(rt.block_on(async {
                        if udp {
                            connect::run(
                                shard,
                                Proto::Udp,
                                State::OpenFiltered,
                                sc::udp::udp_probe,
                                report,
                            )
                            .await
                        } else {
                            connect::run(
                                shard,
                                Proto::Tcp,
                                State::Filtered,
                                move |h, p, t| connect::tcp_probe(h, p, t, banner),
                                report,
                            )
                            .await
                        }
                    }))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a scanner thread failed")))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(plan.len());
    for p in parts {
        all.extend(p.map_err(|e| Error::io("starting the scanner", e))?);
    }
    // back to plan order: host by host, ports as listed
    let host_ix: std::collections::HashMap<IpAddr, usize> = plan
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i))
        .collect();
    let port_ix: std::collections::HashMap<u16, usize> = plan
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i))
        .collect();
    all.sort_by_key(|r| (host_ix.get(&r.host).copied(), port_ix.get(&r.port).copied()));
    Ok(all)
}

/// The link-layer path to a host for the SYN scan: the interface, our
/// addresses and the next hop's MAC (resolved by ARP or NDP).
fn path_to(host: IpAddr, src_port: u16) -> Result<(String, Path)> {
    let ifaces = iface::list();
    let d = route::decide(host, &route::table()?, &ifaces);
    let mac_of = |name: &str| -> Result<[u8; 6]> {
        ifaces
            .iter()
            .find(|i| i.name == name)
            .and_then(|i| i.mac.as_deref())
            .and_then(crate::arp::watch::parse_mac)
            .ok_or_else(|| Error::Usage(format!("{name} has no MAC address for a SYN scan")))
    };
    match d.kind {
        Kind::Local => {
            let lo = ifaces
                .iter()
                .find(|i| i.is_loopback())
                .map(|i| i.name.clone())
                .unwrap_or_else(|| "lo".into());
            let src = if host.is_loopback() {
                host
            } else {
                d.source.unwrap_or(host)
            };
            Ok((
                lo,
                Path {
                    src_mac: [0; 6],
                    dst_mac: [0; 6],
                    src_ip: src,
                    dst_ip: host,
                    src_port,
                },
            ))
        }
        Kind::Unreachable => Err(Error::Usage(d.explanation)),
        Kind::OnLink | Kind::Gateway => {
            let name = d.iface.clone().unwrap_or_default();
            let src_mac = mac_of(&name)?;
            let (Some(src_ip), Some(hop)) = (d.source, d.next_hop) else {
                return Err(Error::Usage(format!(
                    "no source address on {name} toward {host}"
                )));
            };
            let mut chan = PnetChannel::open(&name, ChannelOptions::default())?;
            let dst_mac = match (src_ip, hop) {
                (IpAddr::V4(me), IpAddr::V4(h)) => {
                    let a = arp_probe::resolve(
                        &mut chan,
                        Me {
                            mac: src_mac,
                            ip: me,
                        },
                        h,
                        Duration::from_millis(500),
                        2,
                    )
                    .map_err(|e| Error::io(format!("ARP for {h} on {name}"), e))?;
                    a.first().map(|x| x.mac)
                }
                (IpAddr::V6(me), IpAddr::V6(h)) => crate::arp::ndp::sweep(
                    &mut chan,
                    src_mac,
                    me,
                    Some(&[h]),
                    |_| true,
                    100,
                    Duration::from_millis(500),
                )
                .map_err(|e| Error::io(format!("neighbour discovery for {h} on {name}"), e))?
                .first()
                .map(|n| n.mac),
                _ => None,
            };
            let dst_mac = dst_mac.ok_or_else(|| {
                Error::io(
                    format!("SYN scan of {host}"),
                    std::io::Error::other(format!(
                        "{hop} (the next hop) does not answer ARP/NDP on {name}"
                    )),
                )
            })?;
            Ok((
                name,
                Path {
                    src_mac,
                    dst_mac,
                    src_ip,
                    dst_ip: host,
                    src_port,
                },
            ))
        }
    }
}

fn syn_scan(plan: &Plan, mut tick: impl FnMut(Progress)) -> Result<Vec<PortResult>> {
    let src_port = 40_000 + (std::process::id() % 20_000) as u16;
    let rate = plan.rate.unwrap_or(20_000);
    let mut all = Vec::with_capacity(plan.len());
    let total = plan.len() as u64;
    for &host in &plan.hosts {
        let (name, path) = path_to(host, src_port)?;
        let mut lo;
        let mut chan;
        let io: &mut dyn crate::link::channel::FrameIo =
            if path.dst_mac == [0; 6] && path.src_mac == [0; 6] {
                lo = crate::link::channel::LoopbackIo::open(&name, host.is_ipv4())?;
                &mut lo
            } else {
                chan = PnetChannel::open(&name, ChannelOptions::default())?;
                &mut chan
            };
        let base = all.len() as u64;
        let r = syn::scan(
            io,
            path,
            &plan.ports,
            rate,
            plan.timeout,
            plan.retries,
            |d| {
                tick(Progress {
                    done: base + d,
                    total,
                    open: 0,
                    pass: 0,
                });
            },
        )
        .map_err(|e| Error::io(format!("SYN scan on {name}"), e))?;
        all.extend(r);
    }
    Ok(all)
}
