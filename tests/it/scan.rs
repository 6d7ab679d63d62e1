//! `scan`: every state on loopback with listeners the test starts, nmap
//! on the same ports, and (root) a firewalled port and the SYN scan in a
//! namespace LAN.

use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use serde_json::Value;

use crate::netns::{is_root, LanBuilder};
use crate::util::ndjson;
use crate::util::{have, netray, run};

/// A free port (bound and released).
fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn scan_arguments_are_checked() {
    for (args, msg) in [
        (&["scan", "127.0.0.1", "-p", "0"][..], "ports are 1-65535"),
        (&["scan", "127.0.0.1", "-p", "90-80"][..], "backwards"),
        (&["scan", "127.0.0.1", "--top", "0"][..], "--top"),
        (&["scan", "192.0.2.0/24", "-p", "-"][..], "needs --force"),
        (&["scan", "192.0.2.0/33"][..], "not a CIDR"),
        (
            &["scan", "127.0.0.1", "--udp", "--syn"][..],
            "cannot be used with",
        ),
    ] {
        let (code, _, err) = run(args, "");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

#[test]
fn tcp_states_and_banners_on_loopback() {
    let quiet = TcpListener::bind("127.0.0.1:0").unwrap();
    let greeter = TcpListener::bind("127.0.0.1:0").unwrap();
    let (qp, gp) = (
        quiet.local_addr().unwrap().port(),
        greeter.local_addr().unwrap().port(),
    );
    let closed = free_tcp();
    std::thread::spawn(move || {
        for s in greeter.incoming().take(4) {
            let Ok(mut s) = s else { break };
            let _ = s.write_all(b"SSH-2.0-netray_test\r\n");
        }
    });
    let ports = format!("{qp},{gp},{closed}");
    let out = netray()
        .args([
            "--json",
            "scan",
            "127.0.0.1",
            "localhost",
            "-p",
            &ports,
            "--banner",
            "--banner-wait",
            "300",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = ndjson(&out.stdout);
    // localhost is 127.0.0.1 again: one host
    assert_eq!(r.len(), 3);
    let by_port = |p: u16| r.iter().find(|x| x["port"] == p).unwrap();
    assert_eq!(by_port(qp)["state"], "open");
    assert_eq!(by_port(qp)["banner"], Value::Null);
    assert_eq!(by_port(gp)["state"], "open");
    assert_eq!(by_port(gp)["banner"], "SSH-2.0-netray_test");
    assert_eq!(by_port(closed)["state"], "closed");
    for x in &r {
        assert_eq!(x["host"], "127.0.0.1");
        assert_eq!(x["proto"], "tcp");
        assert!(x["rtt_ms"].as_f64().unwrap() >= 0.0);
    }
    // the event-driven path (a rate limit takes it, also on loopback)
    // gives the same states
    let out = netray()
        .args([
            "--json",
            "scan",
            "127.0.0.1",
            "-p",
            &ports,
            "--rate",
            "100000",
        ])
        .output()
        .unwrap();
    let states: Vec<(u64, String)> = ndjson(&out.stdout)
        .iter()
        .map(|x| {
            (
                x["port"].as_u64().unwrap(),
                x["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = r
        .iter()
        .map(|x| {
            (
                x["port"].as_u64().unwrap(),
                x["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states, want);
    // the human view lists the open ones and counts the rest
    let out = netray()
        .args(["scan", "127.0.0.1", "-p", &ports])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{qp}/tcp")) && text.contains("2 open, 1 closed"),
        "{text}"
    );
    drop(quiet);
}

#[test]
fn udp_states_on_loopback() {
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (ep, sp) = (
        echo.local_addr().unwrap().port(),
        silent.local_addr().unwrap().port(),
    );
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::thread::spawn(move || {
        let mut b = [0u8; 512];
        for _ in 0..4 {
            let Ok((n, from)) = echo.recv_from(&mut b) else {
                break;
            };
            let _ = echo.send_to(&b[..n], from);
        }
    });
    let ports = format!("{ep},{sp},{closed}");
    let out = netray()
        .args([
            "--json",
            "scan",
            "127.0.0.1",
            "--udp",
            "-p",
            &ports,
            "--timeout",
            "300",
            "--retries",
            "0",
        ])
        .output()
        .unwrap();
    let r = ndjson(&out.stdout);
    let state = |p: u16| r.iter().find(|x| x["port"] == p).unwrap()["state"].clone();
    assert_eq!(state(ep), "open");
    assert_eq!(state(sp), "open|filtered");
    assert_eq!(state(closed), "closed");
    drop(silent);
}

#[test]
#[ignore = "needs nmap"]
fn connect_scan_agrees_with_nmap_on_loopback() {
    assert!(have("nmap"), "nmap is not installed");
    let listeners: Vec<TcpListener> = (0..5)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    ports.sort_unstable();
    // exactly these ports and a few free ones (a wide range would catch
    // the listeners of tests running beside this one)
    let mut list: Vec<String> = ports.iter().map(ToString::to_string).collect();
    list.extend((0..5).map(|_| free_tcp().to_string()));
    let range = list.join(",");
    let out = std::process::Command::new("nmap")
        .args(["-sT", "-n", "-Pn", "-p", &range, "-oG", "-", "127.0.0.1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // grepable: "Host: ... Ports: 40001/open/tcp//unknown///, ...\tIgnored ..."
    let mut theirs: Vec<u16> = text
        .lines()
        .filter_map(|l| l.split("Ports: ").nth(1))
        .flat_map(|l| l.split('\t').next().unwrap_or("").split(", "))
        .filter_map(|item| {
            let f: Vec<&str> = item.trim().split('/').collect();
            (f.len() > 2 && f[1] == "open")
                .then(|| f[0].parse().ok())
                .flatten()
        })
        .collect();
    theirs.sort_unstable();
    let out = netray()
        .args(["--json", "scan", "127.0.0.1", "-p", &range])
        .output()
        .unwrap();
    let mut ours: Vec<u16> = ndjson(&out.stdout)
        .iter()
        .filter(|x| x["state"] == "open")
        .map(|x| x["port"].as_u64().unwrap() as u16)
        .collect();
    ours.sort_unstable();
    assert!(theirs.len() >= 5, "nmap found {theirs:?}: {text}");
    assert_eq!(ours, theirs);
    drop(listeners);
}

#[test]
#[ignore = "needs root: network namespaces, nftables, raw sockets"]
fn filtered_ports_and_the_syn_scan_agree_in_a_namespace() {
    assert!(is_root() && have("nft"));
    let mut lan = LanBuilder::new().hosts(1).build();
    let h = lan.hosts[0].clone();
    // listeners on 8080 and 8081; 8081 dropped by the host's firewall;
    // 8082 closed
    let server = "import socket, sys, time\n\
        ls=[]\n\
        for p in (8080, 8081):\n    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', p)); s.listen(50); ls.append(s)\n\
        print('ready', file=sys.stderr, flush=True)\n\
        time.sleep(30)";
    let mut srv = lan.spawn(
        &h.ns,
        &["python3", "-u", "-c", server],
        Duration::from_secs(40),
    );
    let nft = "add table inet nr; add chain inet nr in { type filter hook input priority 0; }; add rule inet nr in tcp dport 8081 drop";
    let out = lan.exec(&h.ns, &["nft", nft]);
    assert!(
        out.status.success(),
        "nft: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv.wait_stderr("ready", Duration::from_secs(15))
        .expect("listeners up");
    let ip = h.ip.to_string();
    let states = |extra: &[&str]| -> Vec<(u64, String)> {
        let mut args = vec![
            "--json",
            "scan",
            ip.as_str(),
            "-p",
            "8080-8082",
            "--timeout",
            "300",
        ];
        args.extend_from_slice(extra);
        let out = lan.netray_cmd(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ndjson(&out.stdout)
            .iter()
            .map(|x| {
                (
                    x["port"].as_u64().unwrap(),
                    x["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let want = vec![
        (8080, "open".to_string()),
        (8081, "filtered".into()),
        (8082, "closed".into()),
    ];
    assert_eq!(states(&[]), want, "connect scan");
    assert_eq!(states(&["--syn"]), want, "SYN scan");
    lan.adopt(srv);
    // without privilege the SYN scan is exit 3
    let out = lan.netray_unprivileged(&["scan", &ip, "-p", "8080", "--syn"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
