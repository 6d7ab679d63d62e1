//! Hostile DNS servers against `dns lookup` and `dns trace`: terminal
//! escapes in TXT data, a truncated answer followed by a refused TCP
//! connection, 10 MB of garbage over TCP, answers with other IDs,
//! compression-pointer loops and endless CNAME chains. Each run must end
//! in bounded time and memory, with the exact exit status and a message
//! that names what the server did.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::rdata::{CNAME, TXT};
use hickory_proto::rr::{Name, RData, Record};

use super::no_panic;
use crate::util::{measured, netray_cmd, Measured};

/// What a hostile server answers to a query (raw datagram / stream bytes).
type Answer = fn(&Message, &[u8]) -> Vec<u8>;

/// A hostile server on 127.0.0.N: UDP always, TCP when asked for (else
/// nothing listens on the TCP port: connections are refused). Stops when
/// dropped.
struct Hostile {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Hostile {
    fn start(host: &str, udp: Answer, tcp: Option<fn(&mut TcpStream)>) -> Hostile {
        let stop = Arc::new(AtomicBool::new(false));
        let sock = UdpSocket::bind(format!("{host}:0")).expect("bind udp");
        let addr = sock.local_addr().unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut threads = Vec::new();
        let s = Arc::clone(&stop);
        threads.push(std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let out = udp(&q, &buf[..n]);
                if !out.is_empty() {
                    drop(sock.send_to(&out, from));
                }
            }
        }));
        if let Some(serve) = tcp {
            let l = TcpListener::bind(addr).expect("bind tcp on the same port");
            l.set_nonblocking(true).unwrap();
            let s = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    match l.accept() {
                        Ok((mut c, _)) => {
                            c.set_nonblocking(false).unwrap();
                            c.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
                            serve(&mut c);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            }));
        }
        Hostile {
            addr,
            stop,
            threads,
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            drop(t.join());
        }
    }
}

fn reply_to(q: &Message) -> Message {
    let mut m = Message::new(q.metadata.id, MessageType::Response, q.metadata.op_code);
    m.metadata.authoritative = true;
    m.metadata.recursion_available = true;
    m.add_queries(q.queries.clone());
    m
}

const ESCAPES: [&str; 2] = ["\x1b]0;owned\x07\x1b[2J", "line\n  2 forged answer"];

fn txt_with_escapes(q: &Message, _: &[u8]) -> Vec<u8> {
    let mut m = reply_to(q);
    let name = q.queries[0].name().clone();
    let txt = TXT::new(ESCAPES.iter().map(|s| (*s).to_string()).collect());
    m.add_answer(Record::from_rdata(name, 60, RData::TXT(txt)));
    m.to_vec().unwrap()
}

fn truncated(q: &Message, _: &[u8]) -> Vec<u8> {
    let mut m = reply_to(q);
    m.metadata.truncation = true;
    m.to_vec().unwrap()
}

fn wrong_id(q: &Message, _: &[u8]) -> Vec<u8> {
    let mut m = reply_to(q);
    m.metadata.id = q.metadata.id.wrapping_add(1);
    m.to_vec().unwrap()
}

/// A response whose answer's owner name is a compression pointer to itself.
fn pointer_loop(q: &Message, raw: &[u8]) -> Vec<u8> {
    let mut out = raw.to_vec();
    out[2] |= 0x80; // response
    out[7] = 1; // one answer
    let here = out.len() as u16;
    out.extend_from_slice(&(0xc000 | here).to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    let _ = q;
    out
}

/// Every name is a CNAME to a longer one: a chain without end.
fn endless_chain(q: &Message, _: &[u8]) -> Vec<u8> {
    let mut m = reply_to(q);
    let name = q.queries[0].name().clone();
    let next = Name::from_str(&format!("x{}", name))
        .unwrap_or_else(|_| Name::from_str("a.test.").unwrap());
    m.add_answer(Record::from_rdata(name, 60, RData::CNAME(CNAME(next))));
    m.to_vec().unwrap()
}

fn ten_mb_of_garbage(c: &mut TcpStream) {
    let mut q = [0u8; 512];
    drop(c.read(&mut q));
    let chunk = vec![0xabu8; 64 << 10];
    for _ in 0..160 {
        if c.write_all(&chunk).is_err() {
            break;
        }
    }
}

fn dns(args: &[&str]) -> Measured {
    let mut c = netray_cmd();
    c.arg("dns").args(args);
    let m = measured(c, Duration::from_secs(30));
    assert!(!m.timed_out, "{args:?} ran past 30 s");
    no_panic(&m.stderr);
    // bounded memory whatever the server sends
    assert!(
        m.peak_kib < 128 * 1024,
        "{args:?}: peak RSS {} KiB",
        m.peak_kib
    );
    m
}

fn clean_for_a_terminal(text: &[u8]) {
    assert!(
        !text.contains(&0x1b),
        "ESC reached the terminal: {}",
        String::from_utf8_lossy(text)
    );
    assert!(!text.contains(&0x07), "BEL reached the terminal");
    let t = String::from_utf8_lossy(text);
    assert!(
        !t.lines().any(|l| l.trim_start().starts_with("2 forged")),
        "a forged line: {t}"
    );
}

#[test]
fn terminal_escapes_in_txt_never_reach_the_terminal() {
    let h = Hostile::start("127.0.0.61", txt_with_escapes, None);
    let server = h.addr.to_string();
    let port = h.addr.port().to_string();
    let look = dns(&["lookup", "evil.test", "TXT", "--server", &server]);
    assert_eq!(look.code, 0, "{}", look.stderr);
    clean_for_a_terminal(&look.stdout);
    let out = String::from_utf8_lossy(&look.stdout);
    assert!(
        out.contains("\\x1b]0;owned\\x07"),
        "the data is shown, escaped: {out}"
    );
    let short = dns(&["lookup", "evil.test", "TXT", "--server", &server, "--short"]);
    clean_for_a_terminal(&short.stdout);
    let trace = dns(&[
        "trace",
        "evil.test",
        "TXT",
        "--root",
        "127.0.0.61",
        "--port",
        &port,
    ]);
    assert_eq!(trace.code, 0, "{}", trace.stderr);
    clean_for_a_terminal(&trace.stdout);
    // JSON keeps the data exactly (serde escapes it for the wire)
    let mut c = netray_cmd();
    c.args([
        "--json",
        "dns",
        "lookup",
        "evil.test",
        "TXT",
        "--server",
        &server,
    ]);
    let j = measured(c, Duration::from_secs(30));
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    let data = v["results"][0]["records"][0]["data"].as_str().unwrap();
    assert!(data.contains('\x1b') && data.contains('\n'), "{data:?}");
}

#[test]
fn a_truncated_answer_then_a_refused_connection_is_named() {
    // nothing listens on the TCP port
    let h = Hostile::start("127.0.0.62", truncated, None);
    let port = h.addr.port().to_string();
    let m = dns(&[
        "trace",
        "t.test",
        "A",
        "--root",
        "127.0.0.62",
        "--port",
        &port,
    ]);
    assert_eq!(m.code, 4, "{}", m.stderr);
    let all = format!("{}{}", String::from_utf8_lossy(&m.stdout), m.stderr);
    assert!(all.contains("truncated its UDP answer"), "{all}");
    assert!(all.contains("refused the TCP connection"), "{all}");
    assert!(!all.contains("all silent"), "{all}");
}

#[test]
fn ten_megabytes_of_garbage_over_tcp_is_named_and_bounded() {
    let h = Hostile::start("127.0.0.63", truncated, Some(ten_mb_of_garbage));
    let server = h.addr.to_string();
    let port = h.addr.port().to_string();
    let look = dns(&["lookup", "g.test", "A", "--server", &server, "--tcp"]);
    assert_eq!(look.code, 4, "{}", look.stderr);
    let all = format!("{}{}", String::from_utf8_lossy(&look.stdout), look.stderr);
    assert!(all.contains("that are not a DNS message"), "{all}");
    let trace = dns(&[
        "trace",
        "g.test",
        "A",
        "--root",
        "127.0.0.63",
        "--port",
        &port,
    ]);
    assert_eq!(trace.code, 4, "{}", trace.stderr);
    let all = format!("{}{}", String::from_utf8_lossy(&trace.stdout), trace.stderr);
    assert!(
        all.contains("truncated its UDP answer") && all.contains("not a DNS message"),
        "{all}"
    );
}

#[test]
fn answers_to_other_queries_and_pointer_loops_are_ignored_and_counted() {
    for (host, answer) in [
        ("127.0.0.64", wrong_id as Answer),
        ("127.0.0.65", pointer_loop),
    ] {
        let h = Hostile::start(host, answer, None);
        let port = h.addr.port().to_string();
        let m = dns(&[
            "trace",
            "w.test",
            "A",
            "--root",
            host,
            "--port",
            &port,
            "--timeout",
            "400",
        ]);
        assert_eq!(m.code, 4, "{}", m.stderr);
        let all = format!("{}{}", String::from_utf8_lossy(&m.stdout), m.stderr);
        assert!(all.contains("not the answer ignored"), "{host}: {all}");
        assert!(m.elapsed < Duration::from_secs(5), "{:?}", m.elapsed);
    }
}

#[test]
fn an_endless_cname_chain_ends() {
    let h = Hostile::start("127.0.0.66", endless_chain, None);
    let port = h.addr.port().to_string();
    let server = h.addr.to_string();
    let m = dns(&[
        "trace",
        "c.test",
        "A",
        "--root",
        "127.0.0.66",
        "--port",
        &port,
    ]);
    assert_eq!(m.code, 4, "{}", m.stderr);
    assert!(m.elapsed < Duration::from_secs(10), "{:?}", m.elapsed);
    let look = dns(&["lookup", "c.test", "A", "--server", &server]);
    assert!(look.elapsed < Duration::from_secs(10), "{:?}", look.elapsed);
    assert!([0, 1, 4].contains(&look.code), "{}", look.stderr);
}
