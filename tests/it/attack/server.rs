//! Hostile clients against `serve tcp` at its default settings: deep names,
//! the names of uploads in flight, overwrite races, slowloris, slow bodies,
//! abandoned uploads, oversize and garbage headers. Each test checks that a
//! normal client is still answered promptly while the attack runs.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::no_panic;
use crate::probe::{close_ends, error_code, sha256, Raw, Server};
use crate::util::vm_hwm;

/// A connection from a chosen loopback source address.
fn connect_from(src: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    let from: SocketAddr = format!("{src}:0").parse().expect("address");
    s.bind(&from.into())?;
    s.connect_timeout(&to.into(), Duration::from_secs(5))?;
    Ok(s.into())
}

/// One ping, timed: the round trip of a normal client on a new connection.
fn pong_time(addr: SocketAddr) -> Duration {
    let t = Instant::now();
    let mut c = Raw::connect(addr);
    c.frame(&json!({"op": "ping", "size": 0, "id": 1}), b"");
    let (h, _) = c.reply();
    assert_eq!(h["op"], "pong", "a normal client was refused: {h}");
    t.elapsed()
}

/// Every entry under a folder, as relative paths (folders included). The
/// server may be removing folders while this walks: what vanishes midway
/// is simply not listed.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let rel = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push((e.path(), format!("{rel}/")));
            }
            out.push(rel);
        }
    }
    out.sort();
    out
}

fn root_args(root: &Path) -> Vec<String> {
    vec!["tcp".into(), "--root".into(), root.display().to_string()]
}

fn start(args: &[String]) -> Server {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&a)
}

#[test]
fn deep_and_long_names_are_refused_before_any_file_system_work() {
    let root = tempfile::tempdir().unwrap();
    let srv = start(&root_args(root.path()));
    for depth in [1500usize, 2100] {
        let name = "d/".repeat(depth) + "f";
        let mut c = Raw::connect(srv.addr);
        let t = Instant::now();
        // the header alone: the refusal must come before any body is sent
        c.frame(
            &json!({"op": "put", "size": 5, "name": name, "sha256": sha256(b"hello")}),
            b"",
        );
        let r = c.reply();
        assert_eq!(error_code(&r), "too_large", "{}", r.0);
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        c.bytes(b"hello");
        c.frame(&json!({"op": "get", "size": 0, "name": name}), b"");
        assert_eq!(error_code(&c.reply()), "too_large");
    }
    // a component over 255 bytes: refused before the body, not after it
    let mut c = Raw::connect(srv.addr);
    let long = "x".repeat(300);
    c.frame(
        &json!({"op": "put", "size": 4_000_000, "name": long, "sha256": sha256(b"")}),
        b"",
    );
    assert_eq!(error_code(&c.reply()), "too_large");
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
    // the deepest name allowed works, and costs little
    let name = "d/".repeat(63) + "f";
    let mut c = Raw::connect(srv.addr);
    let t = Instant::now();
    c.frame(
        &json!({"op": "put", "size": 2, "name": name, "sha256": sha256(b"ok")}),
        b"ok",
    );
    assert_eq!(c.reply().0["op"], "ok");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let (code, _, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
}

#[test]
fn uploads_in_flight_cannot_be_named_read_or_replaced() {
    let root = tempfile::tempdir().unwrap();
    let srv = start(&root_args(root.path()));
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    let sha = sha256(&body);
    // the victim sends half its upload and waits
    let mut victim = Raw::connect(srv.addr);
    victim.frame(
        &json!({"op": "put", "size": body.len(), "name": "report.bin", "sha256": sha, "id": 1}),
        &body[..1_000_000],
    );
    std::thread::sleep(Duration::from_millis(200));
    // the attacker looks for it: nothing on disk has a name, and every
    // name the old server used (and the reserved prefix) is refused
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
    let mut a = Raw::connect(srv.addr);
    a.frame(&json!({"op": "list", "size": 0}), b"");
    let (h, b) = a.reply();
    assert_eq!(
        (h["op"].as_str(), b.as_slice()),
        (Some("listing"), &b"[]"[..])
    );
    let pid = srv.pid();
    let evil = b"EVIL".repeat(10);
    for guess in [
        format!(".netray-put-{pid}-0.part"),
        format!(".netray-put-{pid}-1.part"),
        ".netray-put-x".into(),
        ".netray-anything".into(),
        "sub/.netray-put-0".into(),
    ] {
        a.frame(&json!({"op": "get", "size": 0, "name": guess}), b"");
        assert_eq!(error_code(&a.reply()), "forbidden", "get {guess}");
        a.frame(
            &json!({"op": "put", "size": evil.len(), "name": guess, "sha256": sha256(&evil), "overwrite": true}),
            &evil,
        );
        assert_eq!(error_code(&a.reply()), "forbidden", "put {guess}");
    }
    // an overwrite race on the final name: whoever commits last wins, but
    // each stored file is exactly the bytes whose hash its uploader was told
    victim.bytes(&body[1_000_000..]);
    let (h, _) = victim.reply();
    assert_eq!(
        (h["op"].as_str(), h["sha256"].as_str()),
        (Some("ok"), Some(sha.as_str()))
    );
    assert_eq!(std::fs::read(root.path().join("report.bin")).unwrap(), body);
    a.frame(
        &json!({"op": "put", "size": evil.len(), "name": "report.bin", "sha256": sha256(&evil)}),
        &evil,
    );
    assert_eq!(error_code(&a.reply()), "exists");
    assert_eq!(std::fs::read(root.path().join("report.bin")).unwrap(), body);
    assert_eq!(tree(root.path()), ["report.bin"]);
    let (code, _, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
}

#[test]
fn failed_uploads_leave_nothing_behind_not_even_folders() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("kept")).unwrap();
    let srv = start(&root_args(root.path()));
    let mut c = Raw::connect(srv.addr);
    // a checksum failure in new folders
    c.frame(
        &json!({"op": "put", "size": 4, "name": "kept/a/b/c/f", "sha256": sha256(b"else")}),
        b"data",
    );
    assert_eq!(error_code(&c.reply()), "checksum");
    // an upload abandoned midway in new folders
    let mut d = Raw::connect(srv.addr);
    d.frame(
        &json!({"op": "put", "size": 1_000_000, "name": "x/y/z", "sha256": sha256(b"")}),
        &[7u8; 300_000],
    );
    std::thread::sleep(Duration::from_millis(200));
    drop(d);
    // a name that exists without overwrite, and a parent that is a file
    std::fs::write(root.path().join("kept/file"), b"f").unwrap();
    c.frame(
        &json!({"op": "put", "size": 1, "name": "kept/file/new/g", "sha256": sha256(b"g")}),
        b"g",
    );
    assert_eq!(error_code(&c.reply()), "forbidden");
    let deadline = Instant::now() + Duration::from_secs(5);
    while tree(root.path()) != ["kept", "kept/file"] && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(tree(root.path()), ["kept", "kept/file"]);
    let (code, _, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
}

#[test]
fn oversize_and_garbage_headers_end_only_their_own_connection() {
    let srv = Server::start(&["tcp"]);
    let cases: [&[u8]; 5] = [
        &[0xff, 0xff, 0xff, 0xff],
        &[0, 0, 0, 1, b'{'],
        b"\0\0\0\x05\xff\xfe\xfd\xfc\xfb",
        b"\0\0\0\x02[]",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for bytes in cases {
        let mut c = Raw::connect(srv.addr);
        c.bytes(bytes);
        let r = c.reply();
        let code = error_code(&r);
        assert!(
            ["too_large", "bad_header"].contains(&code.as_str()),
            "{bytes:?}: {code}"
        );
        assert!(c.closed(), "{bytes:?}");
        assert!(pong_time(srv.addr) < Duration::from_secs(1));
    }
    let (code, _, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
}

#[test]
fn a_body_dripped_slower_than_the_minimum_rate_is_cut() {
    let root = tempfile::tempdir().unwrap();
    let mut args = root_args(root.path());
    // the default rate (1024 B/s over 10 s); a shorter idle timeout only
    // to show that the rate, not the idle timer, ends the connection
    args.extend(["--idle-timeout".into(), "5".into()]);
    let srv = start(&args);
    let mut c = Raw::connect(srv.addr);
    c.frame(
        &json!({"op": "put", "size": 100_000, "name": "slow", "sha256": sha256(b"")}),
        b"",
    );
    let t = Instant::now();
    // a byte every 2 s: each read is well within the idle timeout
    let mut cut = false;
    while t.elapsed() < Duration::from_secs(20) {
        if c.s.write_all(b"x").is_err() {
            cut = true;
            break;
        }
        let mut peek = [0u8; 1];
        c.s.set_nonblocking(true).unwrap();
        let n = std::io::Read::read(&mut c.s, &mut peek);
        c.s.set_nonblocking(false).unwrap();
        // data (the timeout error frame) or the end of the stream: cut
        if n.is_ok() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(cut, "a dripped body held the connection for 20 s");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    let (code, events, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
    let ends = close_ends(&events);
    assert!(
        ends.iter()
            .any(|e| e.contains("body slower than 1024 bytes/s")),
        "{ends:?}"
    );
    assert!(tree(root.path()).is_empty());
}

#[test]
fn slowloris_at_the_default_settings_starves_no_one() {
    // both ends of 2000 connections live in this machine's descriptors
    let fds = netray::scan::raise_fd_limit();
    assert!(
        fds >= 4200,
        "the open-files limit ({fds}) is too low for this test: raise it (ulimit -n)"
    );
    let root = tempfile::tempdir().unwrap();
    let srv = start(&root_args(root.path()));
    let addr = srv.addr;
    // 2000 connections from 127.0.0.2, each dripping a header a byte a second
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = Arc::clone(&stop);
    let dripper = std::thread::spawn(move || {
        let mut conns: Vec<TcpStream> = (0..2000)
            .filter_map(|_| connect_from("127.0.0.2", addr).ok())
            .collect();
        let opened = conns.len();
        let header =
            br#"{"op":"ping","size":0,"pad":"............................................"}"#;
        let mut framed = (header.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(header);
        let mut at = 0;
        while !s2.load(Ordering::Relaxed) && at < framed.len() {
            conns.retain_mut(|c| c.write_all(&framed[at..=at]).is_ok());
            at += 1;
            for _ in 0..10 {
                if s2.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        opened
    });
    std::thread::sleep(Duration::from_millis(500));
    // a 1500-component put at the same time, from the normal client's address
    let mut deep = Raw::connect(addr);
    deep.frame(
        &json!({"op": "put", "size": 1, "name": "d/".repeat(1500) + "f", "sha256": sha256(b"x")}),
        b"x",
    );
    // the normal client pings through the attack, past the header deadline
    let t = Instant::now();
    let mut worst = Duration::ZERO;
    let mut pings = 0;
    while t.elapsed() < Duration::from_secs(13) {
        worst = worst.max(pong_time(addr));
        pings += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(error_code(&deep.reply()), "too_large");
    let peak = vm_hwm(srv.pid()).unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    let opened = dripper.join().unwrap();
    assert!(opened >= 1900, "only {opened} attack connections opened");
    assert!(
        worst < Duration::from_secs(1),
        "a pong took {worst:?} ({pings} pings)"
    );
    // memory stays bounded by the connections served, not those attempted
    assert!(peak < 128 * 1024, "server peak RSS {peak} KiB");
    // the address's share was served and is cut at the header deadline
    // (waited for: on a loaded machine the last connects come late); the
    // rest were told busy at once
    let mut cut = 0;
    let mut busy = 0;
    let end = Instant::now() + Duration::from_secs(20);
    while cut < 64 && Instant::now() < end {
        let Some(e) = srv.next_event(end.saturating_duration_since(Instant::now())) else {
            break;
        };
        match e["event"].as_str() {
            Some("close")
                if e["end"]
                    .as_str()
                    .is_some_and(|x| x.contains("header not complete")) =>
            {
                cut += 1;
            }
            Some("busy") => busy += 1,
            _ => {}
        }
    }
    let (code, events, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
    busy += events.iter().filter(|e| e["event"] == "busy").count();
    assert_eq!(cut, 64, "{cut} cut by the header deadline");
    assert!(busy >= opened - 64, "{busy} busy of {opened}");
}

#[test]
fn a_connection_that_says_nothing_frees_its_slot_at_the_header_deadline() {
    let srv = Server::start(&["tcp", "--header-timeout", "1", "--max-conns", "2"]);
    let silent: Vec<Raw> = (0..2).map(|_| Raw::connect(srv.addr)).collect();
    std::thread::sleep(Duration::from_millis(100));
    // both slots are held: a third is told busy
    let mut third = Raw::connect(srv.addr);
    assert_eq!(error_code(&third.reply()), "busy");
    std::thread::sleep(Duration::from_millis(1300));
    assert!(pong_time(srv.addr) < Duration::from_secs(1));
    drop(silent);
    let (code, events, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
    let ends = close_ends(&events);
    assert_eq!(
        ends.iter()
            .filter(|e| e.contains("header not complete within 1 s"))
            .count(),
        2,
        "{ends:?}"
    );
}

/// A fake frame server that answers every request with `reply(op)`:
/// hostile text where a client shows it to a person. One connection at a
/// time, for `conns` connections.
fn hostile_frame_server(conns: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::Read;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        for _ in 0..conns {
            let Ok((mut s, _)) = l.accept() else { return };
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut h = vec![0u8; u32::from_be_bytes(len) as usize];
            if s.read_exact(&mut h).is_err() {
                continue;
            }
            let h: serde_json::Value = serde_json::from_slice(&h).unwrap();
            let evil = "\x1b]0;owned\x07\x1b[2J\nnetray: forged line \u{202e}";
            let (header, body) = if h["op"] == "list" {
                let body = serde_json::to_vec(&json!([
                    {"name": format!("a{evil}"), "size": 1, "mtime": 1_700_000_000},
                    {"name": "plain.txt", "size": 2, "mtime": 1_700_000_000}
                ]))
                .unwrap();
                (
                    json!({"op": "listing", "size": body.len(), "count": 2, "id": h["id"]}),
                    body,
                )
            } else {
                (
                    json!({"op": "error", "size": 0, "code": "forbidden", "message": evil, "id": h["id"]}),
                    Vec::new(),
                )
            };
            let hb = serde_json::to_vec(&header).unwrap();
            let mut out = (hb.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(&hb);
            out.extend_from_slice(&body);
            drop(s.write_all(&out));
        }
    });
    (addr, t)
}

fn no_escape_reached(text: &[u8], what: &str) {
    assert!(
        !text.contains(&0x1b),
        "{what}: ESC reached the terminal: {}",
        String::from_utf8_lossy(text)
    );
    let t = String::from_utf8_lossy(text);
    assert!(
        !t.contains('\u{202e}'),
        "{what}: a bidi override reached the terminal"
    );
    assert!(
        !t.lines().any(|l| l.starts_with("netray: forged")),
        "{what}: a forged line: {t}"
    );
}

#[test]
fn hostile_frame_servers_cannot_write_to_the_terminal() {
    use crate::util::{measured, netray_cmd};
    let (addr, t) = hostile_frame_server(3);
    let a = addr.to_string();
    let mut c = netray_cmd();
    c.args(["file", "ls", &a]);
    let ls = measured(c, Duration::from_secs(20));
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    no_escape_reached(&ls.stdout, "file ls");
    assert!(String::from_utf8_lossy(&ls.stdout).contains("a\\x1b]0;owned\\x07"));
    let mut c = netray_cmd();
    c.args(["-q", "file", "ls", &a]);
    let q = measured(c, Duration::from_secs(20));
    no_escape_reached(&q.stdout, "file ls -q");
    let dir = tempfile::tempdir().unwrap();
    let mut c = netray_cmd();
    c.args(["file", "get", &a, "x", "-o"])
        .arg(dir.path().join("x"));
    let get = measured(c, Duration::from_secs(20));
    assert_eq!(get.code, 4, "{}", get.stderr);
    no_escape_reached(get.stderr.as_bytes(), "file get (stderr)");
    assert!(get.stderr.contains("\\x1b]0;owned"), "{}", get.stderr);
    t.join().unwrap();
}

#[test]
fn a_hostile_banner_is_escaped_in_the_scan_table() {
    use crate::util::{measured, netray_cmd};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        // the scan connects once to probe and once more for the banner at most
        l.set_nonblocking(true).unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok((mut s, _)) = l.accept() {
                drop(s.write_all(b"SSH-2.0-\x1b]0;owned\x07\x1b[2J \xe2\x80\xae\r\n"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let mut c = netray_cmd();
    c.args(["scan", "127.0.0.1", "-p", &port.to_string(), "--banner"]);
    let m = measured(c, Duration::from_secs(30));
    assert_eq!(m.code, 0, "{}", m.stderr);
    no_escape_reached(&m.stdout, "scan --banner");
    // the banner is shown, made safe (the scanner turns control bytes into dots)
    assert!(
        String::from_utf8_lossy(&m.stdout).contains("SSH-2.0-"),
        "{}",
        String::from_utf8_lossy(&m.stdout)
    );
    t.join().unwrap();
}

#[test]
fn low_ports_without_privilege_name_cap_net_bind_service() {
    use crate::util::{measured, netray_cmd, UNPRIVILEGED};
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    assert!(
        start > 53,
        "this machine lets anyone bind port 53: the test cannot show the refusal"
    );
    let root = crate::netns::is_root();
    for proto in ["udp", "tcp"] {
        let mut c = if root {
            let mut c = std::process::Command::new(UNPRIVILEGED[0]);
            c.args(&UNPRIVILEGED[1..])
                .arg(assert_cmd::cargo::cargo_bin!("netray"));
            c
        } else {
            netray_cmd()
        };
        c.args(["serve", proto, "--bind", "127.0.0.1:53"]);
        let m = measured(c, Duration::from_secs(10));
        assert!(
            !m.timed_out,
            "serve {proto} bound port 53 without privilege"
        );
        assert_eq!(m.code, 3, "serve {proto}: {}", m.stderr);
        assert!(m.stderr.contains("CAP_NET_BIND_SERVICE"), "{}", m.stderr);
        assert!(
            m.stderr.contains("ip_unprivileged_port_start"),
            "{}",
            m.stderr
        );
        assert!(!m.stderr.contains("CAP_NET_RAW"), "{}", m.stderr);
        no_panic(&m.stderr);
    }
}

#[test]
fn a_full_server_makes_room_by_evicting_the_longest_waiting_connection() {
    // drippers spread over ten addresses, each within its per-address
    // share, fill every slot; a normal client is still served promptly
    let srv = Server::start(&["tcp", "--max-conns", "100"]);
    let addr = srv.addr;
    let mut held = Vec::new();
    for i in 0..300 {
        let src = format!("127.0.0.{}", 20 + i % 10);
        if let Ok(mut c) = connect_from(&src, addr) {
            drop(c.write_all(&[0, 0]));
            held.push(c);
        }
    }
    assert!(held.len() >= 290, "{} attack connections", held.len());
    std::thread::sleep(Duration::from_millis(1200));
    let t = Instant::now();
    let mut worst = Duration::ZERO;
    while t.elapsed() < Duration::from_secs(4) {
        worst = worst.max(pong_time(addr));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(worst < Duration::from_secs(1), "a pong took {worst:?}");
    drop(held);
    let (code, events, err) = srv.stop();
    assert_eq!(code, 0);
    no_panic(&err);
    let evicted = close_ends(&events)
        .iter()
        .filter(|e| e.contains("closed to make room"))
        .count();
    assert!(evicted >= 1, "nothing was evicted");
}
