//! The probe servers and clients on loopback: every op and mode, the
//! robustness list of the issue, and the clients against the servers.
//! Servers are the real binary, started on port 0 and stopped by the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::util::{have, netray};

/// A netray server started for one test, stopped (SIGTERM) at the end.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    events: mpsc::Receiver<Value>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// `netray --json serve ARGS --bind 127.0.0.1:0`.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("netray"))
            .env("RUST_BACKTRACE", "0")
            .arg("--json")
            .arg("serve")
            .args(args)
            .args(["--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            drop(err.read_to_string(&mut s));
            s
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server announces itself");
        assert_eq!(first["event"], "listening", "{first}");
        let addr = first["addr"].as_str().expect("addr").parse().expect("addr");
        Server {
            child,
            addr,
            events: rx,
            stderr: Some(stderr),
        }
    }

    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// The next event of a kind, within a time limit.
    pub fn wait_event(&self, kind: &str, within: Duration) -> Value {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {kind} event within {within:?}"));
            if v["event"] == kind {
                return v;
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next event of any kind, if one comes within `within`.
    pub fn next_event(&self, within: Duration) -> Option<Value> {
        self.events.recv_timeout(within).ok()
    }

    /// Sends SIGTERM and returns (exit status, the remaining events, stderr).
    pub fn stop(mut self) -> (i32, Vec<Value>, String) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let status = wait_with_limit(&mut self.child, Duration::from_secs(20));
        // every event up to the end of the server's stdout
        let mut events = Vec::new();
        while let Ok(v) = self.events.recv_timeout(Duration::from_secs(10)) {
            events.push(v);
        }
        let err = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status, events, err)
    }
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> i32 {
    let end = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.code().unwrap_or(-1);
        }
        if Instant::now() > end {
            drop(child.kill());
            panic!("the server did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            drop(self.child.kill());
            drop(self.child.wait());
        }
    }
}

/// A raw frame connection, written by hand from the spec.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw { s }
    }

    pub fn frame(&mut self, header: &Value, body: &[u8]) {
        let h = serde_json::to_vec(header).unwrap();
        let mut bytes = (h.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&h);
        bytes.extend_from_slice(body);
        self.s.write_all(&bytes).unwrap();
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.s.write_all(b).unwrap();
    }

    /// The next frame, or None at end of stream.
    pub fn read(&mut self) -> Option<(Value, Vec<u8>)> {
        let mut len = [0u8; 4];
        match self.s.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("reading a frame: {e}"),
        }
        let mut h = vec![0u8; u32::from_be_bytes(len) as usize];
        self.s.read_exact(&mut h).unwrap();
        let h: Value = serde_json::from_slice(&h).unwrap();
        let mut body = vec![0u8; h["size"].as_u64().unwrap() as usize];
        self.s.read_exact(&mut body).unwrap();
        Some((h, body))
    }

    pub fn reply(&mut self) -> (Value, Vec<u8>) {
        self.read().expect("a reply frame")
    }

    /// True when the server closed the connection.
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0) | Err(_))
    }
}

/// How each connection ended, from the server's close events.
pub fn close_ends(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["event"] == "close")
        .map(|e| e["end"].as_str().unwrap())
        .collect()
}

pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(b);
    d.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn error_code(r: &(Value, Vec<u8>)) -> String {
    assert_eq!(r.0["op"], "error", "{}", r.0);
    assert!(
        r.0["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.0
    );
    r.0["code"].as_str().unwrap().to_owned()
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn frame_ops_echo_ping_discard() {
    let srv = Server::start(&["tcp"]);
    let mut c = Raw::connect(srv.addr);
    // small echo, id copied
    c.frame(&json!({"op": "echo", "size": 5, "id": 41}), b"hello");
    let (h, b) = c.reply();
    assert_eq!(
        (h["op"].as_str(), h["id"].as_i64(), b.as_slice()),
        (Some("echo"), Some(41), &b"hello"[..])
    );
    // a large echo, upper-cased, streamed
    let big: Vec<u8> = b"abcXYZ019-"
        .iter()
        .copied()
        .cycle()
        .take(3 << 20)
        .collect();
    c.frame(
        &json!({"op": "echo", "size": big.len(), "transform": "upper"}),
        &big,
    );
    let (h, b) = c.reply();
    assert_eq!(h["transform"], "upper");
    assert_eq!(b, big.to_ascii_uppercase());
    // ping: the server's clock, near ours
    c.frame(&json!({"op": "ping", "size": 0, "id": 2, "v": 1}), b"");
    let (h, _) = c.reply();
    assert_eq!(h["op"], "pong");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as f64;
    assert!((h["t"].as_f64().unwrap() - now).abs() < 5e9, "{h}");
    // discard: counted
    c.frame(
        &json!({"op": "discard", "size": 1_000_000, "id": 3}),
        &pattern(1_000_000),
    );
    let (h, b) = c.reply();
    assert_eq!(
        (h["op"].as_str(), h["bytes"].as_u64(), h["size"].as_u64()),
        (Some("ok"), Some(1_000_000), Some(0))
    );
    assert!(h["elapsed_ns"].as_u64().is_some() && b.is_empty());
    drop(c);
    // netray's own client: each piped line one echo frame
    let out = netray()
        .args(["client", "tcp", &srv.target(), "--frame", "--upper"])
        .write_stdin("one\ntwo words\n")
        .assert()
        .code(0);
    assert_eq!(out.get_output().stdout, b"ONE\nTWO WORDS\n");
    let (code, events, _) = srv.stop();
    assert_eq!(code, 0);
    let close = events
        .iter()
        .find(|e| e["event"] == "close" && e["frames"] == 4)
        .expect("the raw connection's close event, 4 frames");
    assert_eq!(close["end"], "eof");
    let sum = events.last().unwrap();
    assert_eq!(sum["event"], "summary", "{events:?}");
    assert_eq!(sum["connections"], 2);
}

#[test]
fn malformed_frames_get_error_frames_and_the_server_goes_on() {
    let srv = Server::start(&["tcp", "--max-header", "1000"]);
    // fatal: bad length prefixes and headers close the connection
    let fatal: Vec<(Vec<u8>, &str)> = vec![
        (1u32.to_be_bytes().to_vec(), "bad_header"),
        (70_000u32.to_be_bytes().to_vec(), "too_large"),
        (1001u32.to_be_bytes().to_vec(), "too_large"),
        (
            [&8u32.to_be_bytes()[..], b"not json"].concat(),
            "bad_header",
        ),
        ([&5u32.to_be_bytes()[..], b"[1,2]"].concat(), "bad_header"),
        (
            [&12u32.to_be_bytes()[..], br#"{"op":"echo"}"#].concat(),
            "bad_header",
        ),
        (
            [&22u32.to_be_bytes()[..], br#"{"op":"echo","size":-4}"#].concat(),
            "bad_header",
        ),
        (
            [&17u32.to_be_bytes()[..], br#"{"op":1,"size":0}"#].concat(),
            "bad_header",
        ),
    ];
    for (bytes, code) in fatal {
        let mut c = Raw::connect(srv.addr);
        c.bytes(&bytes);
        let r = c.reply();
        assert_eq!(error_code(&r), code, "{bytes:?}");
        assert!(c.closed(), "{bytes:?}: the connection should close");
    }
    // not fatal: unknown op and version, the body skipped, the stream in step
    let mut c = Raw::connect(srv.addr);
    c.frame(&json!({"op": "teleport", "size": 3, "id": 5}), b"xyz");
    let r = c.reply();
    assert_eq!(error_code(&r), "unsupported_op");
    assert_eq!(r.0["id"], 5);
    c.frame(&json!({"op": "ping", "size": 2, "v": 2}), b"..");
    assert_eq!(error_code(&c.reply()), "unsupported_version");
    c.frame(
        &json!({"op": "echo", "size": 2, "transform": "rot13"}),
        b"ab",
    );
    assert_eq!(error_code(&c.reply()), "bad_header");
    c.frame(&json!({"op": "ping", "size": 0}), b"");
    assert_eq!(c.reply().0["op"], "pong");
    // a body shorter than announced: the peer leaves, the server notes it
    let mut c2 = Raw::connect(srv.addr);
    c2.frame(&json!({"op": "discard", "size": 1000}), &[0u8; 10]);
    c2.s.shutdown(Shutdown::Write).unwrap();
    assert!(c2.closed());
    // the first connection still works
    c.frame(&json!({"op": "echo", "size": 2}), b"ok");
    assert_eq!(c.reply().1, b"ok");
    drop(c);
    let (code, events, _) = srv.stop();
    assert_eq!(code, 0);
    let ends = close_ends(&events);
    assert!(
        ends.iter().any(|e| e.contains("inside a frame's body")),
        "{ends:?}"
    );
    assert!(
        ends.iter()
            .filter(|e| e.starts_with("protocol error"))
            .count()
            >= 8,
        "{ends:?}"
    );
}

#[test]
fn a_stalled_half_header_is_freed_by_the_idle_timeout() {
    let srv = Server::start(&["tcp", "--idle-timeout", "0.5", "--max-conns", "1"]);
    let mut c = Raw::connect(srv.addr);
    c.bytes(&[0, 0]); // half a length prefix, then nothing
    let start = Instant::now();
    let r = c.reply();
    assert_eq!(error_code(&r), "timeout");
    assert!(c.closed());
    assert!(start.elapsed() < Duration::from_secs(5));
    // its slot is free again: the one connection allowed is served
    let mut c = Raw::connect(srv.addr);
    c.frame(&json!({"op": "ping", "size": 0}), b"");
    assert_eq!(c.reply().0["op"], "pong");
    drop(c);
    let (code, events, _) = srv.stop();
    assert_eq!(code, 0);
    assert!(
        events.iter().any(|e| e["end"] == "idle timeout"),
        "{events:?}"
    );
}

#[test]
fn the_connection_limit_answers_busy() {
    let srv = Server::start(&["tcp", "--max-conns", "2"]);
    let mut held: Vec<Raw> = (0..2).map(|_| Raw::connect(srv.addr)).collect();
    for c in &mut held {
        c.frame(&json!({"op": "ping", "size": 0}), b"");
        assert_eq!(c.reply().0["op"], "pong");
    }
    let mut third = Raw::connect(srv.addr);
    let r = third.reply();
    assert_eq!(error_code(&r), "busy");
    assert!(third.closed());
    srv.wait_event("busy", Duration::from_secs(5));
    // one leaves, a new one gets in
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    let mut again = Raw::connect(srv.addr);
    again.frame(&json!({"op": "ping", "size": 0}), b"");
    assert_eq!(again.reply().0["op"], "pong");
    drop((held, again));
    let (_, events, _) = srv.stop();
    assert_eq!(events.last().unwrap()["busy"], 1, "{events:?}");
}

#[test]
fn a_thousand_connections_at_once_are_all_served() {
    netray::scan::raise_fd_limit();
    // one address here: the per-address share is lifted for this test
    // (tests/it/attack.rs covers the share itself)
    let srv = Server::start(&["tcp", "--max-conns", "1100", "--max-conns-per-addr", "0"]);
    let addr = srv.addr;
    // 1000 clients connect and send before any reads its answer
    let mut conns: Vec<Raw> = (0..1000).map(|_| Raw::connect(addr)).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        c.frame(
            &json!({"op": "echo", "size": 8, "id": i}),
            format!("{i:08}").as_bytes(),
        );
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let (h, b) = c.reply();
        assert_eq!(h["id"], i);
        assert_eq!(b, format!("{i:08}").as_bytes());
    }
    drop(conns);
    let (code, events, _) = srv.stop();
    assert_eq!(code, 0);
    let sum = events.last().unwrap();
    assert_eq!(
        (sum["connections"].as_u64(), sum["busy"].as_u64()),
        (Some(1000), Some(0)),
        "{sum}"
    );
}

#[test]
fn put_get_list_and_their_refusals() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
    let srv = Server::start(&[
        "tcp",
        "--root",
        root.path().to_str().unwrap(),
        "--max-file",
        "2000000",
    ]);
    let mut c = Raw::connect(srv.addr);
    let body = pattern(1_500_000);
    let sha = sha256(&body);
    c.frame(
        &json!({"op": "put", "size": body.len(), "name": "d1/d2/data.bin", "sha256": sha, "id": 1}),
        &body,
    );
    let (h, _) = c.reply();
    assert_eq!(
        (h["op"].as_str(), h["bytes"].as_u64(), h["sha256"].as_str()),
        (Some("ok"), Some(1_500_000), Some(sha.as_str())),
        "{h}"
    );
    assert_eq!(
        std::fs::read(root.path().join("d1/d2/data.bin")).unwrap(),
        body
    );
    // exists, then overwrite
    c.frame(
        &json!({"op": "put", "size": 3, "name": "d1/d2/data.bin", "sha256": sha256(b"new")}),
        b"new",
    );
    assert_eq!(error_code(&c.reply()), "exists");
    c.frame(&json!({"op": "put", "size": 3, "name": "d1/d2/data.bin", "sha256": sha256(b"new"), "overwrite": true}), b"new");
    assert_eq!(c.reply().0["op"], "ok");
    assert_eq!(
        std::fs::read(root.path().join("d1/d2/data.bin")).unwrap(),
        b"new"
    );
    // checksum mismatch: refused, nothing stored
    c.frame(
        &json!({"op": "put", "size": 4, "name": "bad.bin", "sha256": sha256(b"else")}),
        b"data",
    );
    assert_eq!(error_code(&c.reply()), "checksum");
    assert!(!root.path().join("bad.bin").exists());
    // names that leave the root
    for name in [
        "../x",
        "/tmp/x",
        "a/../../x",
        "escape/planted",
        "escape/secret",
        "",
    ] {
        c.frame(
            &json!({"op": "put", "size": 2, "name": name, "sha256": sha256(b"hi")}),
            b"hi",
        );
        assert_eq!(error_code(&c.reply()), "forbidden", "put {name:?}");
    }
    for name in ["../etc/passwd", "/etc/passwd", "escape/secret"] {
        c.frame(&json!({"op": "get", "size": 0, "name": name}), b"");
        assert_eq!(error_code(&c.reply()), "forbidden", "get {name:?}");
    }
    assert!(!outside.path().join("planted").exists());
    // too large, missing fields
    c.frame(
        &json!({"op": "put", "size": 3_000_000, "name": "big", "sha256": sha}),
        &pattern(3_000_000),
    );
    assert_eq!(error_code(&c.reply()), "too_large");
    c.frame(&json!({"op": "put", "size": 1, "name": "x"}), b"x");
    assert_eq!(error_code(&c.reply()), "bad_header");
    c.frame(&json!({"op": "get", "size": 0, "name": "nope"}), b"");
    assert_eq!(error_code(&c.reply()), "not_found");
    // get and list
    c.frame(
        &json!({"op": "get", "size": 0, "name": "d1/d2/data.bin", "id": 9}),
        b"",
    );
    let (h, b) = c.reply();
    assert_eq!(
        (h["op"].as_str(), h["id"].as_i64(), h["sha256"].as_str()),
        (Some("file"), Some(9), Some(sha256(b"new").as_str()))
    );
    assert_eq!(b, b"new");
    c.frame(&json!({"op": "list", "size": 0}), b"");
    let (h, b) = c.reply();
    assert_eq!(h["op"], "listing");
    let listing: Value = serde_json::from_slice(&b).unwrap();
    let names: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["d1/d2/data.bin"],
        "symlinks are not followed: {listing}"
    );
    assert_eq!(listing[0]["size"], 3);
    assert!(listing[0]["mtime"].as_i64().unwrap() > 1_600_000_000);
    // a put that dies midway leaves nothing
    let mut d = Raw::connect(srv.addr);
    d.frame(
        &json!({"op": "put", "size": 1_000_000, "name": "half.bin", "sha256": sha}),
        &body[..300_000],
    );
    std::thread::sleep(Duration::from_millis(200));
    // in flight: the upload has no name at all (O_TMPFILE), so no request
    // can reach it, and neither the name nor list shows it
    assert_eq!(walk(root.path()), ["d1/d2/data.bin"]);
    assert!(!root.path().join("half.bin").exists());
    c.frame(&json!({"op": "list", "size": 0}), b"");
    let listing: Value = serde_json::from_slice(&c.reply().1).unwrap();
    assert_eq!(listing.as_array().unwrap().len(), 1, "{listing}");
    drop(d);
    std::thread::sleep(Duration::from_millis(300));
    let mut leftovers: Vec<String> = walk(root.path());
    leftovers.sort();
    assert_eq!(leftovers, ["d1/d2/data.bin"], "no partial file may remain");
    drop(c);
    assert_eq!(srv.stop().0, 0);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if t.is_dir() {
            out.extend(walk(&e.path()).into_iter().map(|n| format!("{name}/{n}")));
        } else if !t.is_symlink() {
            out.push(name);
        }
    }
    out
}

#[test]
fn file_commands_round_trip_and_verify() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let srv = Server::start(&["tcp", "--root", root.path().to_str().unwrap()]);
    let t = srv.target();
    let src = local.path().join("source.bin");
    let data = pattern(5_000_000);
    std::fs::write(&src, &data).unwrap();
    let out = netray()
        .args([
            "--json",
            "file",
            "put",
            &t,
            src.to_str().unwrap(),
            "--as",
            "x/y.bin",
        ])
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (v["bytes"].as_u64(), v["sha256"].as_str()),
        (Some(5_000_000), Some(sha256(&data).as_str()))
    );
    // again without --overwrite: exists, exit 4, a clear message
    let out = netray()
        .args(["file", "put", &t, src.to_str().unwrap(), "--as", "x/y.bin"])
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("exists"), "{err}");
    netray()
        .args([
            "file",
            "put",
            &t,
            src.to_str().unwrap(),
            "--as",
            "x/y.bin",
            "--overwrite",
        ])
        .assert()
        .code(0);
    let back = local.path().join("back.bin");
    netray()
        .args(["file", "get", &t, "x/y.bin", "-o", back.to_str().unwrap()])
        .assert()
        .code(0);
    assert_eq!(std::fs::read(&back).unwrap(), data);
    let v = super::util::json(&["file", "ls", &t], 0);
    assert_eq!(v[0]["name"], "x/y.bin");
    assert_eq!(v[0]["size"], 5_000_000);
    // a missing file: exit 4, nothing saved
    let missing = local.path().join("missing.bin");
    netray()
        .args([
            "file",
            "get",
            &t,
            "nope.bin",
            "-o",
            missing.to_str().unwrap(),
        ])
        .assert()
        .code(4);
    let names: Vec<String> = std::fs::read_dir(local.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "only source and back: {names:?}");
    // the CLI refuses a bad --as before connecting
    netray()
        .args(["file", "put", &t, src.to_str().unwrap(), "--as", "../up"])
        .assert()
        .code(2);
    assert_eq!(srv.stop().0, 0);
}

/// A server that lies about a file's SHA-256: the download must fail and
/// leave nothing under the name asked for.
#[test]
fn a_download_whose_hash_does_not_match_is_not_kept() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let liar = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut c = Raw { s };
        c.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let (h, _) = c.reply();
        assert_eq!(h["op"], "get");
        c.frame(&json!({"op": "file", "size": 4, "name": "f", "sha256": sha256(b"else"), "id": h["id"]}), b"data");
        std::thread::sleep(Duration::from_millis(200));
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let out = netray()
        .args([
            "file",
            "get",
            &addr.to_string(),
            "f",
            "-o",
            dest.to_str().unwrap(),
        ])
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("SHA-256"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    liar.join().unwrap();
}

#[test]
fn exec_runs_only_allowed_commands_with_limits() {
    let srv = Server::start(&[
        "tcp",
        "--allow-exec",
        "sh",
        "--allow-exec",
        "echo",
        "--exec-timeout",
        "1",
        "--exec-output",
        "1000",
    ]);
    let t = srv.target();
    let out = netray()
        .args([
            "exec",
            &t,
            "--",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 7",
        ])
        .assert()
        .code(7);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "to-out\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stderr),
        "to-err\n"
    );
    // no shell: the argument is not expanded
    let out = netray()
        .args(["exec", &t, "--", "echo", "$HOME", "*"])
        .assert()
        .code(0);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "$HOME *\n"
    );
    // not allowed
    let out = netray()
        .args(["exec", &t, "--", "cat", "/etc/passwd"])
        .assert()
        .code(4);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("forbidden"));
    // over the output cap: cut, flagged
    let mut c = Raw::connect(srv.addr);
    c.frame(
        &json!({"op": "exec", "size": 0, "cmd": "sh", "args": ["-c", "head -c 50000 /dev/zero"]}),
        b"",
    );
    let (h, b) = c.reply();
    assert_eq!(
        (
            h["op"].as_str(),
            h["exit_code"].as_i64(),
            h["stdout"].as_u64(),
            h["truncated"].as_bool()
        ),
        (Some("result"), Some(0), Some(1000), Some(true)),
        "{h}"
    );
    assert_eq!(b.len(), 1000);
    // over the time limit: killed, timeout
    let start = Instant::now();
    c.frame(
        &json!({"op": "exec", "size": 0, "cmd": "sh", "args": ["-c", "sleep 30"]}),
        b"",
    );
    assert_eq!(error_code(&c.reply()), "timeout");
    assert!(start.elapsed() < Duration::from_secs(10));
    c.frame(
        &json!({"op": "exec", "size": 0, "cmd": "sh", "args": [1, 2]}),
        b"",
    );
    assert_eq!(error_code(&c.reply()), "bad_header");
    drop(c);
    assert_eq!(srv.stop().0, 0);
    // a server without --allow-exec runs nothing
    let srv = Server::start(&["tcp"]);
    let mut c = Raw::connect(srv.addr);
    c.frame(&json!({"op": "exec", "size": 0, "cmd": "echo"}), b"");
    let r = c.reply();
    assert_eq!(error_code(&r), "forbidden");
    assert!(r.0["message"].as_str().unwrap().contains("off"));
    drop(c);
    srv.stop();
}

#[test]
fn raw_tcp_modes_echo_upper_discard() {
    for (mode, input, want) in [
        ("echo", &b"Hello, world\n"[..], &b"Hello, world\n"[..]),
        (
            "upper",
            b"Hello, w\xc3\xb6rld 42\n",
            b"HELLO, W\xc3\xb6RLD 42\n",
        ),
        ("discard", b"swallowed", b""),
    ] {
        let srv = Server::start(&["tcp", "--mode", mode]);
        // the classic client: connect, send, half-close, read to the end
        let mut s = TcpStream::connect(srv.addr).unwrap();
        s.write_all(input).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, want, "{mode}");
        // and through netray's own client
        let out = netray()
            .args(["client", "tcp", &srv.target()])
            .write_stdin(input)
            .assert()
            .code(0);
        assert_eq!(out.get_output().stdout, want, "{mode}");
        if mode == "upper" {
            // --frame against a frame server is tested elsewhere; here the
            // raw server must not be mistaken for one
            netray()
                .args([
                    "client",
                    "tcp",
                    &srv.target(),
                    "--frame",
                    "x",
                    "--timeout",
                    "1",
                ])
                .assert()
                .code(4);
        }
        drop(s);
        let (code, events, _) = srv.stop();
        assert_eq!(code, 0);
        let sum = events.last().unwrap();
        // the --frame probe sent a 4-byte prefix, a 29-byte header and "x"
        let frame_probe = if mode == "upper" { 4 + 29 + 1 } else { 0 };
        assert_eq!(
            sum["bytes_in"].as_u64(),
            Some(2 * input.len() as u64 + frame_probe),
            "{mode}: {sum}"
        );
    }
}

#[test]
fn udp_server_modes_and_oversized_datagrams() {
    let srv = Server::start(&["udp", "--mode", "upper", "--max-datagram", "100"]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    s.send_to(b"hello udp", srv.addr).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = s.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"HELLO UDP"[..], srv.addr));
    s.send_to(&[b'a'; 500], srv.addr).unwrap();
    assert!(
        s.recv_from(&mut buf).is_err(),
        "oversized datagrams are not answered"
    );
    s.send_to(b"still alive", srv.addr).unwrap();
    let (n, _) = s.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STILL ALIVE");
    let out = netray()
        .args(["client", "udp", &srv.target(), "via netray"])
        .assert()
        .code(0);
    assert_eq!(out.get_output().stdout, b"VIA NETRAY\n");
    let (code, events, _) = srv.stop();
    assert_eq!(code, 0);
    let sum = events.last().unwrap();
    assert_eq!(
        (
            sum["datagrams"].as_u64(),
            sum["oversized"].as_u64(),
            sum["connections"].as_u64()
        ),
        (Some(4), Some(1), Some(2)),
        "{sum}"
    );
    // discard answers nothing: the client says so and exits 1
    let srv = Server::start(&["udp", "--mode", "discard"]);
    let out = netray()
        .args(["client", "udp", &srv.target(), "x", "--timeout", "0.3"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no reply"));
    srv.stop();
}

#[test]
fn ping_tcp_and_frame_and_a_closed_port() {
    let srv = Server::start(&["tcp"]);
    for kind in ["tcp", "frame"] {
        let v = super::util::json(&["ping", kind, &srv.target(), "-c", "3", "-i", "0.05"], 0);
        assert_eq!(
            (
                v["transmitted"].as_u64(),
                v["received"].as_u64(),
                v["loss_percent"].as_f64()
            ),
            (Some(3), Some(3), Some(0.0)),
            "{v}"
        );
        let (min, avg, max) = (
            v["min_ms"].as_f64().unwrap(),
            v["avg_ms"].as_f64().unwrap(),
            v["max_ms"].as_f64().unwrap(),
        );
        assert!(min <= avg && avg <= max && max < 1000.0, "{v}");
    }
    let port = srv.addr.port();
    srv.stop();
    // the server is gone: refused, exit 1 like ping with no answer
    let v = super::util::json(
        &[
            "ping",
            "tcp",
            &format!("127.0.0.1:{port}"),
            "-c",
            "2",
            "-i",
            "0.05",
        ],
        1,
    );
    assert_eq!(v["received"], 0);
    assert_eq!(v["replies"][0]["status"], "refused");
}

/// A UDP echo server that misbehaves on purpose: it answers probe 2
/// twice, holds probe 3's answer until after probe 4's, and drops probe 5.
#[test]
fn ping_udp_sees_loss_duplicates_and_reordering() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let peer = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let mut held: Option<(Vec<u8>, SocketAddr)> = None;
        for _ in 0..6 {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                break;
            };
            let msg = buf[..n].to_vec();
            let seq: u32 = String::from_utf8_lossy(&msg)
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            match seq {
                2 => {
                    sock.send_to(&msg, from).unwrap();
                    sock.send_to(&msg, from).unwrap();
                }
                3 => held = Some((msg, from)),
                4 => {
                    sock.send_to(&msg, from).unwrap();
                    let (m, f) = held.take().unwrap();
                    sock.send_to(&m, f).unwrap();
                }
                5 => {}
                _ => {
                    sock.send_to(&msg, from).unwrap();
                }
            }
        }
    });
    let v = super::util::json(
        &[
            "ping",
            "udp",
            &addr.to_string(),
            "-c",
            "6",
            "-i",
            "0.1",
            "-W",
            "0.5",
        ],
        0,
    );
    peer.join().unwrap();
    assert_eq!(
        (
            v["transmitted"].as_u64(),
            v["received"].as_u64(),
            v["duplicates"].as_u64(),
            v["reordered"].as_u64()
        ),
        (Some(6), Some(5), Some(1), Some(1)),
        "{v}"
    );
    let statuses: Vec<(u64, &str)> = v["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["seq"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&(5, "timeout")), "{statuses:?}");
    assert!(statuses.contains(&(2, "duplicate")), "{statuses:?}");
    let late = v["replies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["seq"] == 3 && r["status"] == "ok")
        .unwrap();
    assert_eq!(late["reordered"], true);
    assert!((v["loss_percent"].as_f64().unwrap() - 100.0 / 6.0).abs() < 0.01);
}

#[test]
fn bench_send_reverse_and_round_trips() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("blob"), pattern(4 << 20)).unwrap();
    let srv = Server::start(&["tcp", "--root", root.path().to_str().unwrap()]);
    let t = srv.target();
    for extra in [&[][..], &["--reverse"][..], &["-P", "3"][..]] {
        let mut args = vec!["bench", t.as_str(), "-t", "0.6", "--interval", "0.2"];
        args.extend_from_slice(extra);
        let v = super::util::json(&args, 0);
        let total = &v["total"];
        assert!(
            total["bytes"].as_u64().unwrap() > 1_000_000,
            "{extra:?}: {v}"
        );
        let bps = total["bits_per_second"].as_f64().unwrap();
        let expect = total["bytes"].as_f64().unwrap() * 8.0 / total["seconds"].as_f64().unwrap();
        assert!((bps - expect).abs() / expect < 1e-6, "{v}");
        assert!(v["intervals"].as_array().unwrap().len() >= 2, "{v}");
        if extra == ["--reverse"] {
            assert_eq!(v["file"], "blob");
        }
    }
    let (_, events, _) = srv.stop();
    let sum = events.last().unwrap();
    assert!(sum["bytes_in"].as_u64().unwrap() > 2_000_000, "{sum}");
    let echo = Server::start(&["tcp", "--mode", "echo"]);
    let v = super::util::json(
        &["bench", &echo.target(), "--rr", "-P", "20", "-t", "0.5"],
        0,
    );
    let trips = v["total"]["round_trips"].as_u64().unwrap();
    assert!(trips > 100, "{v}");
    assert_eq!(v["total"]["bytes"].as_u64(), Some(trips * 64));
    let (_, events, _) = echo.stop();
    assert_eq!(events.last().unwrap()["connections"], 20);
}

#[test]
fn shutdown_lets_a_transfer_in_flight_finish() {
    let srv = Server::start(&["tcp", "--grace", "5"]);
    let mut idle = Raw::connect(srv.addr);
    idle.frame(&json!({"op": "ping", "size": 0}), b"");
    idle.reply();
    let mut busy = Raw::connect(srv.addr);
    let body = pattern(2_000_000);
    busy.frame(
        &json!({"op": "discard", "size": body.len(), "id": 1}),
        &body[..1_000_000],
    );
    std::thread::sleep(Duration::from_millis(200));
    let pid = srv.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    // the idle connection is closed at once; the transfer goes on
    assert!(idle.closed());
    std::thread::sleep(Duration::from_millis(300));
    busy.bytes(&body[1_000_000..]);
    let (h, _) = busy.reply();
    assert_eq!(
        (h["op"].as_str(), h["bytes"].as_u64()),
        (Some("ok"), Some(2_000_000))
    );
    assert!(busy.closed(), "after the transfer, the connection closes");
    let (code, events, _) = srv.stop();
    assert_eq!(code, 0);
    let sum = events.last().unwrap();
    assert_eq!(
        (sum["event"].as_str(), sum["cut"].as_u64()),
        (Some("summary"), Some(0)),
        "{sum}"
    );
}

#[test]
fn a_stuck_transfer_is_cut_after_the_grace_period() {
    let srv = Server::start(&["tcp", "--mode", "echo", "--grace", "0.3"]);
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    let (code, events, err) = srv.stop();
    assert_eq!(code, 0, "{err}");
    assert_eq!(events.last().unwrap()["cut"], 1);
}

#[test]
fn human_logs_one_line_per_connection() {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("netray"))
        .env("RUST_BACKTRACE", "0")
        .args(["serve", "tcp", "--mode", "upper", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("netray: serving upper on 127.0.0.1:"),
        "{first}"
    );
    let addr = first.split_whitespace().nth(4).unwrap();
    let out = netray()
        .args(["client", "tcp", addr, "abc"])
        .assert()
        .code(0);
    assert_eq!(out.get_output().stdout, b"ABC\n");
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(
        line.contains("eof") && line.contains("in 3 B") && line.contains("out 3 B"),
        "{line}"
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_eq!(wait_with_limit(&mut child, Duration::from_secs(10)), 0);
    assert!(
        rest.contains("stopped after") && rest.contains("1 connections"),
        "{rest}"
    );
}

#[test]
fn client_errors_are_clear() {
    // nothing listens: exit 4, the address named
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = format!("127.0.0.1:{port}");
    for args in [
        vec!["client", "tcp", target.as_str(), "x"],
        vec!["file", "ls", target.as_str()],
        vec!["exec", target.as_str(), "--", "true"],
        vec!["bench", target.as_str(), "-t", "0.2"],
    ] {
        let out = netray().args(&args).assert().code(4);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            err.contains(&target) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    netray()
        .args(["client", "tcp", "nonsense", "x"])
        .assert()
        .code(2);
    netray()
        .args(["serve", "udp", "--mode", "frame"])
        .assert()
        .code(2);
    netray()
        .args(["serve", "tcp", "--mode", "echo", "--root", "/tmp"])
        .assert()
        .code(2);
}

/// Drives the frame server with a client written from design.md with
/// nothing but Python's standard library, and the raw teaching clients
/// against echo, upper and UDP.
#[test]
#[ignore = "needs python3"]
fn python_clients_interoperate() {
    assert!(have("python3"), "python3 is not installed");
    let root = tempfile::tempdir().unwrap();
    let frame = Server::start(&[
        "tcp",
        "--root",
        root.path().to_str().unwrap(),
        "--allow-exec",
        "echo",
    ]);
    let echo = Server::start(&["tcp", "--mode", "echo"]);
    let upper = Server::start(&["tcp", "--mode", "upper"]);
    let udp = Server::start(&["udp", "--mode", "upper"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/py/frame_client.py");
    let out = Command::new("python3")
        .args([
            script,
            &frame.target(),
            &echo.target(),
            &upper.target(),
            &udp.target(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for check in [
        "echo ok",
        "ping ok",
        "put ok",
        "get ok",
        "list ok",
        "exec ok",
        "discard ok",
        "errors ok",
        "raw echo ok",
        "raw upper ok",
        "udp ok",
    ] {
        assert!(stdout.contains(check), "{check}: {stdout}");
    }
    // what Python stored is what netray serves back
    assert_eq!(
        std::fs::read(root.path().join("py/hello.txt")).unwrap(),
        b"hello from python\n"
    );
    for s in [frame, echo, upper, udp] {
        assert_eq!(s.stop().0, 0);
    }
}

/// On a terminal, `client` is a prompt loop: each line sent and its reply
/// shown; empty lines are not sent. `script` gives it a pseudo-terminal.
#[test]
#[ignore = "needs script (util-linux)"]
fn the_client_prompts_on_a_terminal() {
    assert!(have("script"), "script is not installed");
    let srv = Server::start(&["tcp", "--mode", "upper"]);
    let bin = assert_cmd::cargo::cargo_bin!("netray");
    let cmd = format!("{} client tcp {}", bin.display(), srv.target());
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            let mut stdin = child.stdin.take().expect("stdin");
            for line in ["first line\n", "\n", "second\n"] {
                stdin.write_all(line.as_bytes())?;
                std::thread::sleep(Duration::from_millis(300));
            }
            stdin.write_all(&[4])?; // Ctrl-D
            drop(stdin);
            child.wait_with_output()
        })
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(text.contains("connected to"), "{text}");
    assert!(
        text.contains("FIRST LINE\n") && text.contains("SECOND\n"),
        "{text}"
    );
    let (_, events, _) = srv.stop();
    let close = events
        .iter()
        .find(|e| e["event"] == "close")
        .expect("close");
    // "first line\n" and "second\n": the empty line was not sent
    assert_eq!(close["bytes_in"], 18, "{close}");
}

/// A client that stalls never holds up another, and one that resets ends
/// only its own connection.
#[test]
fn a_stalled_or_reset_client_affects_no_other() {
    let srv = Server::start(&["tcp", "--mode", "frame"]);
    // one client stalls inside a header (no idle timeout for 30 s)
    let mut stalled = Raw::connect(srv.addr);
    stalled.bytes(&[0, 0, 0, 40, b'{']);
    // another starts a large echo and resets in the middle of it
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.connect(&srv.addr.into()).unwrap();
    let mut resetter = TcpStream::from(s);
    let h = serde_json::to_vec(&json!({"op": "echo", "size": 10_000_000})).unwrap();
    resetter.write_all(&(h.len() as u32).to_be_bytes()).unwrap();
    resetter.write_all(&h).unwrap();
    resetter.write_all(&pattern(100_000)).unwrap();
    socket2::SockRef::from(&resetter)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(resetter); // RST
                    // a third is served at once, while the first still stalls
    let start = Instant::now();
    let mut c = Raw::connect(srv.addr);
    c.frame(&json!({"op": "echo", "size": 3}), b"abc");
    assert_eq!(c.reply().1, b"abc");
    assert!(start.elapsed() < Duration::from_secs(2));
    drop((c, stalled));
    let (code, events, _) = srv.stop();
    assert_eq!(code, 0);
    let ends = close_ends(&events);
    assert!(
        ends.iter()
            .any(|e| *e == "reset" || e.contains("inside a frame")),
        "{ends:?}"
    );
    assert_eq!(ends.len(), 3, "{ends:?}");
}
