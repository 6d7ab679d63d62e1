//! The probe engine (concurrency, rate, adaptive timeout, retries) and
//! the TCP connect probe with its banner grab.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::{adaptive, ports, Plan, PortResult, Proto, State};

/// What one probe gives: the state, the round trip of an answer, and
/// what the service said.
pub type Outcome = (State, Option<Duration>, Option<String>);

/// Progress of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Probes finished (all passes).
    pub done: u64,
    /// Probes in the first pass.
    pub total: u64,
    /// Open ports so far.
    pub open: u64,
    /// The pass (0 = first).
    pub pass: u32,
}

/// Runs `probe` over every (host, port) of the plan: at most
/// `plan.concurrency` in flight, started at `plan.rate` per second when
/// set, the first pass with an adaptive timeout, then up to
/// `plan.retries` passes over the ports that gave no answer (`silent`)
/// with the full timeout. Results come back in plan order.
pub async fn run<F, Fut>(
    plan: &Plan,
    proto: Proto,
    silent: State,
    probe: F,
    mut progress: impl FnMut(Progress),
) -> Vec<PortResult>
where
    F: Fn(IpAddr, u16, Duration) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let slowest = Arc::new(AtomicU64::new(0));
    let mut results: HashMap<(IpAddr, u16), Outcome> = HashMap::with_capacity(plan.len());
    let mut p = Progress {
        total: plan.len() as u64,
        ..Progress::default()
    };
    let mut todo: Vec<(IpAddr, u16)> = plan.pairs().collect();
    for pass in 0..=plan.retries {
        if todo.is_empty() {
            break;
        }
        p.pass = pass;
        let start = Instant::now();
        let mut started: u64 = 0;
        let mut set: JoinSet<((IpAddr, u16), Outcome)> = JoinSet::new();
        let mut it = todo.iter().copied();
        let mut more = true;
        loop {
            while more && set.len() < plan.concurrency.max(1) {
                let Some((h, port)) = it.next() else {
                    more = false;
                    break;
                };
                if let Some(rate) = plan.rate {
                    let due =
                        start + Duration::from_secs_f64(started as f64 / f64::from(rate.max(1)));
                    tokio::time::sleep_until(due.into()).await;
                }
                let seen = slowest.load(Ordering::Relaxed);
                let t = if pass == 0 {
                    adaptive((seen > 0).then(|| Duration::from_nanos(seen)), plan.timeout)
                } else {
                    plan.timeout
                };
                let fut = probe(h, port, t);
                set.spawn(async move { ((h, port), fut.await) });
                started += 1;
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let Ok((key, out)) = joined else { continue };
            if let (Some(rtt), true) = (out.1, out.0 != silent) {
                let ns = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
                slowest.fetch_max(ns, Ordering::Relaxed);
            }
            p.done += 1;
            if out.0 == State::Open {
                p.open += 1;
            }
            progress(p);
            results.insert(key, out);
        }
        todo.retain(|k| results.get(k).is_some_and(|o| o.0 == silent));
    }
    plan.pairs()
        .filter_map(|(h, port)| {
            results
                .remove(&(h, port))
                .map(|(state, rtt, banner)| PortResult {
                    host: h,
                    port,
                    proto,
                    state,
                    rtt,
                    service: ports::service(port, proto),
                    banner,
                })
        })
        .collect()
}

/// The first line of what a service sent, printable and short.
pub fn first_line(b: &[u8]) -> Option<String> {
    let line = b.split(|c| *c == b'\n').next().unwrap_or(b);
    let text: String = line
        .iter()
        .map(|&c| {
            if c == b'\t' || (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '.'
            }
        })
        .collect();
    let text = text.trim_end_matches(['\r', '.']).trim().to_string();
    let text: String = text.chars().take(100).collect();
    (!text.is_empty()).then_some(text)
}

/// Ports where a silent service is probably HTTP.
fn http_like(port: u16) -> bool {
    matches!(
        port,
        80 | 81 | 591 | 3000 | 5000 | 8000 | 8008 | 8080 | 8081 | 8088 | 8888 | 9000
    ) || ports::service(port, Proto::Tcp).is_some_and(|s| s.starts_with("http"))
}

async fn grab(mut s: TcpStream, port: u16, wait: Duration) -> Option<String> {
    let mut buf = [0u8; 1024];
    if let Ok(Ok(n)) = tokio::time::timeout(wait, s.read(&mut buf)).await {
        if n > 0 {
            return first_line(&buf[..n]);
        }
        return None;
    }
    if !http_like(port) {
        return None;
    }
    s.write_all(b"HEAD / HTTP/1.0\r\n\r\n").await.ok()?;
    match tokio::time::timeout(wait, s.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => first_line(&buf[..n]),
        _ => None,
    }
}

/// One TCP connect probe: open (accepted), closed (refused), filtered
/// (no answer in time, or an ICMP unreachable).
pub async fn tcp_probe(host: IpAddr, port: u16, t: Duration, banner: Option<Duration>) -> Outcome {
    let t0 = Instant::now();
    match tokio::time::timeout(t, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => {
            let rtt = t0.elapsed();
            // on loopback, a port in the ephemeral range can be "opened"
            // by connecting to itself (TCP simultaneous open, when the
            // kernel picks that very port as the source): nobody listens
            if let (Ok(a), Ok(b)) = (s.local_addr(), s.peer_addr()) {
                if a == b {
                    return (State::Closed, Some(rtt), None);
                }
            }
            let b = match banner {
                Some(w) => grab(s, port, w).await,
                None => None,
            };
            (State::Open, Some(rtt), b)
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            (State::Closed, Some(t0.elapsed()), None)
        }
        // unreachable host or network (an ICMP error), or out of
        // resources: no answer from the port; tried again
        Ok(Err(_)) | Err(_) => (State::Filtered, None, None),
    }
}

/// One blocking connect probe, bounded by SO_SNDTIMEO. On loopback the
/// kernel answers inside `connect()` itself, so a blocking connect costs
/// a few system calls where the event-driven path needs six or more.
pub fn tcp_probe_blocking(
    host: IpAddr,
    port: u16,
    t: Duration,
    banner: Option<Duration>,
) -> Outcome {
    tcp_probe_reusing(host, port, t, banner, &mut None)
}

/// A blocking connect probe that reuses `spare`: on Linux a socket whose
/// connect was refused goes back to CLOSED and can connect again, so a
/// sweep of closed ports costs one system call each instead of four
/// (socket, setsockopt, connect, close). A socket that connected, or
/// failed otherwise, is dropped.
pub fn tcp_probe_reusing(
    host: IpAddr,
    port: u16,
    t: Duration,
    banner: Option<Duration>,
    spare: &mut Option<(bool, socket2::Socket)>,
) -> Outcome {
    use socket2::{Domain, Protocol, Socket, Type};
    let addr = std::net::SocketAddr::new(host, port);
    let domain = Domain::for_address(addr);
    // the spare is kept with its family (IPv6 or not)
    let reuse = spare.take().filter(|(v6, _)| *v6 == addr.is_ipv6());
    let s = match reuse {
        Some((_, s)) => s,
        None => {
            let Ok(s) = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)) else {
                return (State::Filtered, None, None);
            };
            let _ = s.set_write_timeout(Some(t));
            s
        }
    };
    let t0 = Instant::now();
    match s.connect(&addr.into()) {
        Ok(()) => {
            let rtt = t0.elapsed();
            if let (Ok(a), Ok(b)) = (s.local_addr(), s.peer_addr()) {
                if a.as_socket() == b.as_socket() {
                    return (State::Closed, Some(rtt), None);
                }
            }
            let b = banner.and_then(|w| grab_blocking(std::net::TcpStream::from(s), port, w));
            (State::Open, Some(rtt), b)
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            let rtt = t0.elapsed();
            *spare = Some((addr.is_ipv6(), s));
            (State::Closed, Some(rtt), None)
        }
        Err(_) => (State::Filtered, None, None),
    }
}

fn grab_blocking(mut s: std::net::TcpStream, port: u16, wait: Duration) -> Option<String> {
    use std::io::{Read, Write};
    let mut buf = [0u8; 1024];
    s.set_read_timeout(Some(wait.max(Duration::from_millis(1))))
        .ok()?;
    match s.read(&mut buf) {
        Ok(n) if n > 0 => return first_line(&buf[..n]),
        Ok(_) => return None,
        Err(_) => {}
    }
    if !http_like(port) {
        return None;
    }
    s.write_all(b"HEAD / HTTP/1.0\r\n\r\n").ok()?;
    match s.read(&mut buf) {
        Ok(n) if n > 0 => first_line(&buf[..n]),
        _ => None,
    }
}

/// The loopback scan: `threads` threads doing blocking connects, each
/// taking the next (host, port) of the plan, then passes for the silent
/// ones as in [`run`]. Results come back in plan order.
pub fn run_blocking(
    plan: &Plan,
    threads: usize,
    progress: &(dyn Fn(Progress) + Sync),
) -> Vec<PortResult> {
    use std::sync::atomic::AtomicUsize;
    let pairs: Vec<(IpAddr, u16)> = plan.pairs().collect();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; pairs.len()];
    let banner = plan.banner.then_some(plan.banner_wait);
    let done = AtomicU64::new(0);
    let open = AtomicU64::new(0);
    let mut todo: Vec<usize> = (0..pairs.len()).collect();
    for pass in 0..=plan.retries {
        if todo.is_empty() {
            break;
        }
        let next = AtomicUsize::new(0);
        let got: Vec<Vec<(usize, Outcome)>> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..threads.max(1))
                .map(|_| {
                    sc.spawn(|| {
                        let mut mine = Vec::new();
                        let mut spare = None;
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&i) = todo.get(k) else { break };
                            let (h, port) = pairs[i];
                            let out = tcp_probe_reusing(h, port, plan.timeout, banner, &mut spare);
                            if out.0 == State::Open {
                                open.fetch_add(1, Ordering::Relaxed);
                            }
                            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                            if d.is_multiple_of(256) {
                                progress(Progress {
                                    done: d,
                                    total: pairs.len() as u64,
                                    open: open.load(Ordering::Relaxed),
                                    pass,
                                });
                            }
                            mine.push((i, out));
                        }
                        mine
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (i, out) in got.into_iter().flatten() {
            outcomes[i] = Some(out);
        }
        todo.retain(|&i| outcomes[i].as_ref().is_none_or(|o| o.0 == State::Filtered));
    }
    pairs
        .iter()
        .zip(outcomes)
        .map(|(&(host, port), o)| {
            let (state, rtt, banner) = o.unwrap_or((State::Filtered, None, None));
            PortResult {
                host,
                port,
                proto: Proto::Tcp,
                state,
                rtt,
                service: ports::service(port, Proto::Tcp),
                banner,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_are_one_clean_line() {
        assert_eq!(
            first_line(b"SSH-2.0-OpenSSH_9.2\r\n").as_deref(),
            Some("SSH-2.0-OpenSSH_9.2")
        );
        assert_eq!(
            first_line(b"220 mail ESMTP\r\nmore").as_deref(),
            Some("220 mail ESMTP")
        );
        assert_eq!(first_line(b"\x00\x01bin").as_deref(), Some("..bin"));
        assert_eq!(first_line(b"\r\n"), None);
        assert_eq!(first_line(&[b'x'; 500]).unwrap().len(), 100);
    }

    #[test]
    fn connect_scan_on_loopback() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // one listener that greets, one that stays quiet
            let hello = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let quiet = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let (hp, qp) = (
                hello.local_addr().unwrap().port(),
                quiet.local_addr().unwrap().port(),
            );
            tokio::spawn(async move {
                while let Ok((mut s, _)) = hello.accept().await {
                    let _ = s.write_all(b"220 netray test\r\n").await;
                }
            });
            tokio::spawn(async move {
                let mut keep = Vec::new();
                while let Ok((s, _)) = quiet.accept().await {
                    keep.push(s);
                }
            });
            // a port that was free a moment ago: closed
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let plan = Plan {
                hosts: vec!["127.0.0.1".parse().unwrap()],
                ports: vec![hp, qp, closed],
                concurrency: 2,
                rate: None,
                timeout: Duration::from_secs(2),
                retries: 1,
                banner: true,
                banner_wait: Duration::from_millis(200),
            };
            let mut last = Progress::default();
            let w = Some(plan.banner_wait);
            let r = run(
                &plan,
                Proto::Tcp,
                State::Filtered,
                |h, p, t| tcp_probe(h, p, t, w),
                |p| last = p,
            )
            .await;
            assert_eq!(r.len(), 3);
            assert_eq!((r[0].port, r[0].state), (hp, State::Open));
            assert_eq!(r[0].banner.as_deref(), Some("220 netray test"));
            assert_eq!((r[1].state, r[1].banner.as_deref()), (State::Open, None));
            assert_eq!(r[2].state, State::Closed);
            assert!(r.iter().all(|x| x.rtt.is_some()));
            assert_eq!((last.done, last.open, last.total), (3, 2, 3));
        });
    }

    #[test]
    fn silent_ports_are_retried_and_the_rate_is_kept() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let tries = Arc::new(AtomicU64::new(0));
            let plan = Plan {
                hosts: vec!["192.0.2.1".parse().unwrap()],
                ports: (1..=20).collect(),
                concurrency: 100,
                rate: Some(200),
                timeout: Duration::from_millis(50),
                retries: 2,
                banner: false,
                banner_wait: Duration::ZERO,
            };
            let t0 = Instant::now();
            let n = Arc::clone(&tries);
            // a fake probe: port 5 answers only on its second try
            let r = run(
                &plan,
                Proto::Tcp,
                State::Filtered,
                move |_, port, _| {
                    let k = n.fetch_add(1, Ordering::Relaxed);
                    async move {
                        if port == 5 && k >= 20 {
                            (State::Open, Some(Duration::from_millis(1)), None)
                        } else if port == 5 || port == 7 {
                            (State::Filtered, None, None)
                        } else {
                            (State::Closed, Some(Duration::from_millis(1)), None)
                        }
                    }
                },
                |_| {},
            )
            .await;
            assert_eq!(r[4].state, State::Open);
            assert_eq!(r[6].state, State::Filtered);
            // 20, then ports 5 and 7, then port 7 alone
            assert_eq!(tries.load(Ordering::Relaxed), 23);
            // 20 probes at 200/s: at least 95 ms for the first pass
            assert!(t0.elapsed() >= Duration::from_millis(95));
        });
    }
}
