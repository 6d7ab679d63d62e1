//! `iface`, `route` and `capture`: argument errors for anyone, and the
//! real thing inside a namespace LAN (root only).

use std::time::Duration;

use serde_json::Value;

use crate::netns::{is_root, LanBuilder};
use crate::util::ndjson;
use crate::util::{have, netray, run};

#[test]
fn route_rejects_what_is_not_an_address() {
    let (code, _, err) = run(&["route", "example.com"], "");
    assert_eq!(code, 2);
    assert!(err.contains("not an IPv4 or IPv6 address"), "{err}");
}

#[test]
fn unknown_interfaces_are_usage_errors_listing_the_real_ones() {
    for args in [
        &["iface", "nosuch0"][..],
        &["capture", "-i", "nosuch0", "-c", "1"][..],
    ] {
        let (code, _, err) = run(args, "");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("no interface named \"nosuch0\""), "{err}");
        assert!(err.contains("lo"), "the list names lo: {err}");
    }
}

#[test]
fn capture_checks_its_arguments_before_opening_anything() {
    for (args, msg) in [
        (
            &["capture", "-i", "lo", "--duration", "0"][..],
            "--duration",
        ),
        (&["capture", "-i", "lo", "--snaplen", "0"][..], "--snaplen"),
        (
            &["capture", "-i", "lo", "-w", "-", "--print"][..],
            "--print",
        ),
        (&["capture", "-i", "lo", "-f", "tcp and"][..], "column"),
    ] {
        let (code, _, err) = run(args, "");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

#[test]
fn iface_lists_loopback_as_json() {
    let out = netray().args(["--json", "iface", "lo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lo = &v.as_array().unwrap()[0];
    assert_eq!(lo["name"], "lo");
    assert!(lo["flags"].as_array().unwrap().contains(&"loopback".into()));
    assert!(lo["mac"].is_null());
}

/// The decoded packets of a capture file, by netray.
fn decoded(path: &str) -> Vec<Value> {
    let out = netray().args(["--json", "decode", path]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ndjson(&out.stdout)
}

/// Runs traffic from host 0 to netray's namespace while netray captures
/// on lan0 into `file`; returns the capture's stderr.
fn capture_known_traffic(file: &str, extra: &[&str]) -> (crate::netns::Lan, String) {
    // the sender has an Intel address, so its vendor shows in the tree
    let mut lan = LanBuilder::new()
        .host("192.0.2.21".parse().unwrap(), Some(INTEL_MAC))
        .build();
    let me = lan.netray().clone();
    let h = lan.hosts[0].clone();
    // a one-shot TCP server in netray's namespace: reads a line, answers
    let server = format!(
        "import socket, sys\n\
         s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('{}', 8080)); s.listen(1); print('ready', file=sys.stderr, flush=True)\n\
         c,_=s.accept(); d=c.recv(100); c.sendall(b'pong:'+d); c.close()",
        me.ip
    );
    let mut srv = lan.spawn(&me.ns, &["python3", "-c", &server], Duration::from_secs(20));
    srv.wait_stderr("ready", Duration::from_secs(15))
        .expect("server up");
    let bin = env!("CARGO_BIN_EXE_netray");
    let mut args = vec![bin, "capture", "-i", "lan0", "-w", file, "--duration", "20"];
    args.extend_from_slice(extra);
    let mut cap = lan.spawn(&me.ns, &args, Duration::from_secs(25));
    cap.wait_stderr("capturing on lan0", Duration::from_secs(10))
        .expect("capture starts");
    // ping twice, one UDP datagram, one TCP exchange
    let ping = lan.exec(
        &h.ns,
        &[
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
            &me.ip.to_string(),
        ],
    );
    assert!(
        ping.status.success(),
        "ping: {}",
        String::from_utf8_lossy(&ping.stdout)
    );
    let client = format!(
        "import socket\n\
         u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('{h}', 40001)); u.sendto(b'datagram-xyz', ('{me}', 5300))\n\
         t=socket.create_connection(('{me}', 8080), timeout=5); t.sendall(b'ping'); print(t.recv(100).decode()); t.close()",
        h = h.ip,
        me = me.ip
    );
    let c = lan.exec(&h.ns, &["python3", "-c", &client]);
    assert_eq!(String::from_utf8_lossy(&c.stdout).trim(), "pong:ping");
    std::thread::sleep(Duration::from_millis(300));
    // Ctrl-C ends it cleanly
    cap.signal("INT");
    let out = cap.finish();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lan.adopt(srv);
    (lan, String::from_utf8_lossy(&out.stderr).into_owned())
}

const INTEL_MAC: &str = "3c:fd:fe:01:02:03";

fn check_known_traffic(lan: &crate::netns::Lan, packets: &[Value]) {
    let me = lan.netray();
    let h = &lan.hosts[0];
    let (me_ip, h_ip) = (me.ip.to_string(), h.ip.to_string());
    let icmp = |ty: u64, src: &str| {
        packets
            .iter()
            .filter(|p| p["icmp"]["type"] == ty && p["ipv4"]["src"] == src)
            .count()
    };
    assert_eq!(icmp(8, &h_ip), 2, "two echo requests");
    assert_eq!(icmp(0, &me_ip), 2, "two echo replies");
    let req = packets.iter().find(|p| p["icmp"]["type"] == 8).unwrap();
    assert_eq!(req["eth"]["src"], h.mac.as_str());
    assert_eq!(req["eth"]["dst"], me.mac.as_str());
    let udp = packets
        .iter()
        .find(|p| p["udp"]["dst_port"] == 5300)
        .expect("the datagram");
    assert_eq!(udp["udp"]["src_port"], 40001);
    assert_eq!(udp["udp"]["length"], 8 + 12);
    assert_eq!(udp["ipv4"]["src"], h_ip.as_str());
    let tcp: Vec<&Value> = packets
        .iter()
        .filter(|p| p["tcp"]["dst_port"] == 8080 || p["tcp"]["src_port"] == 8080)
        .collect();
    let syn = tcp.iter().filter(|p| p["tcp"]["flags"] == 0x02).count();
    let synack = tcp.iter().filter(|p| p["tcp"]["flags"] == 0x12).count();
    assert_eq!((syn, synack), (1, 1), "one handshake");
    let data: Vec<u64> = tcp
        .iter()
        .filter_map(|p| p["tcp"]["payload_len"].as_u64())
        .filter(|&n| n > 0)
        .collect();
    assert_eq!(data, vec![4, 9], "ping, then pong:ping");
    // ARP resolved the peers (one way or the other) before the first ping
    assert!(packets.iter().any(|p| p["arp"]["op"] == 1));
}

/// The same file through tshark and tcpdump: every packet, same fields.
fn readers_agree(path: &str, packets: &[Value]) {
    if have("tcpdump") {
        let out = std::process::Command::new("tcpdump")
            .args(["-n", "-r", path])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tcpdump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            packets.len()
        );
    }
    if have("tshark") {
        let out = std::process::Command::new("tshark")
            .args([
                "-n",
                "-r",
                path,
                "-T",
                "fields",
                "-E",
                "separator=|",
                "-E",
                "occurrence=f",
            ])
            .args([
                "-e",
                "frame.len",
                "-e",
                "eth.src",
                "-e",
                "eth.dst",
                "-e",
                "ip.src",
            ])
            .args([
                "-e",
                "ip.dst",
                "-e",
                "ip.proto",
                "-e",
                "tcp.seq_raw",
                "-e",
                "arp.opcode",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tshark: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let theirs: Vec<&str> = text.lines().collect();
        assert_eq!(theirs.len(), packets.len());
        for (t, p) in theirs.iter().zip(packets) {
            let s = |v: &Value| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let ours = [
                s(&p["len"]),
                s(&p["eth"]["src"]),
                s(&p["eth"]["dst"]),
                s(&p["ipv4"]["src"]),
                s(&p["ipv4"]["dst"]),
                s(&p["ipv4"]["protocol"]),
                s(&p["tcp"]["seq"]),
                s(&p["arp"]["op"]),
            ]
            .join("|");
            assert_eq!(*t, ours, "tshark vs netray");
        }
    }
}

#[test]
#[ignore = "needs root: network namespaces and a raw socket"]
fn capture_writes_pcap_that_every_reader_agrees_on() {
    assert!(is_root());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lan0.pcap");
    let file = file.to_str().unwrap();
    let (lan, err) = capture_known_traffic(file, &[]);
    let packets = decoded(file);
    check_known_traffic(&lan, &packets);
    assert!(
        err.contains(&format!(
            "{n} packets captured on lan0, {n} written to",
            n = packets.len()
        )),
        "{err}"
    );
    readers_agree(file, &packets);
    // decode's tree names the vendor of each MAC
    let out = netray()
        .args(["decode", "-v", "-f", "icmp", "-c", "1", file])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("src: {INTEL_MAC} (Intel Corporate)")),
        "{text}"
    );
    assert!(
        text.contains("dst: 02:00:c0:00:02:0a (locally administered)"),
        "{text}"
    );
}

#[test]
#[ignore = "needs root: network namespaces and a raw socket"]
fn capture_writes_pcapng_with_a_filter() {
    assert!(is_root());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lan0.pcapng");
    let file = file.to_str().unwrap();
    let (lan, err) = capture_known_traffic(file, &["--pcapng", "-f", "not ip6"]);
    let packets = decoded(file);
    check_known_traffic(&lan, &packets);
    assert!(packets.iter().all(|p| p["ipv6"].is_null()));
    assert!(err.contains("did not match the filter"), "{err}");
    assert_eq!(
        &std::fs::read(file).unwrap()[..4],
        &[0x0a, 0x0d, 0x0d, 0x0a]
    );
    readers_agree(file, &packets);
}

#[test]
#[ignore = "needs root: network namespaces and a raw socket"]
fn capture_prints_json_and_stops_at_the_count() {
    assert!(is_root());
    let mut lan = LanBuilder::new().hosts(1).build();
    let me = lan.netray().clone();
    let h = lan.hosts[0].clone();
    let bin = env!("CARGO_BIN_EXE_netray");
    let mut cap = lan.spawn(
        &me.ns,
        &[
            bin,
            "--json",
            "capture",
            "-i",
            "lan0",
            "-c",
            "3",
            "-f",
            "icmp",
            "--duration",
            "15",
        ],
        Duration::from_secs(20),
    );
    cap.wait_stderr("capturing on lan0", Duration::from_secs(10))
        .unwrap();
    let ping = lan.exec(&h.ns, &["ping", "-c", "3", "-i", "0.2", &me.ip.to_string()]);
    assert!(ping.status.success());
    let out = cap.finish();
    assert_eq!(out.status.code(), Some(0));
    let packets = ndjson(&out.stdout);
    assert_eq!(packets.len(), 3, "-c 3 stops after three");
    let types: Vec<u64> = packets
        .iter()
        .map(|p| p["icmp"]["type"].as_u64().unwrap())
        .collect();
    assert_eq!(types, vec![8, 0, 8]);
    assert_eq!(packets[0]["n"], 1);
    assert_eq!(packets[2]["n"], 3);
}

#[test]
#[ignore = "needs root: a raw socket on lo"]
fn capture_on_loopback_shows_each_packet_once() {
    assert!(is_root());
    // a namespace of its own, with only lo
    let mut lan = LanBuilder::new().build();
    let ns = lan.netray().ns.clone();
    let bin = env!("CARGO_BIN_EXE_netray");
    let mut cap = lan.spawn(
        &ns,
        &[
            bin,
            "--json",
            "capture",
            "-i",
            "lo",
            "-f",
            "udp port 7777",
            "--duration",
            "3",
        ],
        Duration::from_secs(10),
    );
    cap.wait_stderr("capturing on lo", Duration::from_secs(10))
        .unwrap();
    // a receiver, so that no port-unreachable errors join in
    let send = "import socket\n\
        r=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('127.0.0.1', 7777))\n\
        u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        [u.sendto(b'x%d' % i, ('127.0.0.1', 7777)) for i in range(5)]";
    assert!(lan.exec(&ns, &["python3", "-c", send]).status.success());
    let out = cap.finish();
    let packets = ndjson(&out.stdout);
    assert_eq!(packets.len(), 5, "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("5 loopback copies shown once"), "{err}");
}

/// `ip -o route get` in the namespace: (via, dev, src).
fn ip_route_get(
    lan: &crate::netns::Lan,
    ns: &str,
    target: &str,
) -> Option<(Option<String>, String, String)> {
    let out = lan.exec(ns, &["ip", "-o", "route", "get", target]);
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |k: &str| {
        words
            .iter()
            .position(|w| *w == k)
            .map(|i| words[i + 1].to_string())
    };
    Some((after("via"), after("dev")?, after("src")?))
}

#[test]
#[ignore = "needs root: network namespaces"]
fn route_agrees_with_ip_route_get() {
    assert!(is_root());
    let lan = LanBuilder::new().hosts(2).router().ipv6().build();
    let me = lan.netray().clone();
    // a more specific route through host 1 beside the default via the router
    lan.ip(
        &me.ns,
        &[
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            "192.0.2.22",
            "metric",
            "5",
        ],
    );
    lan.ip(
        &me.ns,
        &[
            "route",
            "add",
            "203.0.113.128/25",
            "via",
            "192.0.2.21",
            "metric",
            "7",
        ],
    );
    let cases = [
        ("192.0.2.21", "on_link"),
        ("198.51.100.10", "gateway"),
        ("203.0.113.5", "gateway"),
        ("203.0.113.200", "gateway"),
        ("2001:db8::15", "on_link"),
        ("2001:db8:1::a", "gateway"),
    ];
    for (target, kind) in cases {
        let out = lan.netray_cmd(&["--json", "route", target]);
        assert_eq!(out.status.code(), Some(0), "{target}");
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(d["kind"], kind, "{target}: {d}");
        let (via, dev, src) = ip_route_get(&lan, &me.ns, target).expect("ip route get");
        assert_eq!(d["iface"], dev.as_str(), "{target}");
        assert_eq!(d["source"], src.as_str(), "{target}");
        let hop = via.unwrap_or_else(|| target.to_string());
        assert_eq!(d["next_hop"], hop.as_str(), "{target}: {d}");
    }
    // the human view says whom ARP asks for
    let out = lan.netray_cmd(&["route", "198.51.100.10"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("198.51.100.10 is not on lan0's subnet 192.0.2.0/24")
            && text.contains("so ARP asks for 192.0.2.1"),
        "{text}"
    );
    // our own address is local, and a host without a default route has
    // no route off its subnet (exit 1), as `ip route get` says
    let out = lan.netray_cmd(&["--json", "route", "192.0.2.10"]);
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["kind"], "local");
    lan.ip(&lan.hosts[0].ns, &["route", "del", "default"]);
    let bin = env!("CARGO_BIN_EXE_netray");
    let out = lan.exec(&lan.hosts[0].ns, &[bin, "--json", "route", "198.51.100.10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(ip_route_get(&lan, &lan.hosts[0].ns, "198.51.100.10").is_none());
}

#[test]
#[ignore = "needs root: network namespaces"]
fn iface_lists_exactly_the_namespace_interfaces() {
    assert!(is_root());
    let lan = LanBuilder::new().ipv6().build();
    let me = lan.netray();
    let out = lan.netray_cmd(&["--json", "iface"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["lo", me.ifname.as_str()]);
    let lan0 = &v[1];
    assert_eq!(lan0["mac"], me.mac.as_str());
    assert_eq!(lan0["vendor"]["kind"], "local");
    assert_eq!(lan0["mtu"], 1500);
    let addrs: Vec<String> = lan0["addrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}/{}", a["addr"].as_str().unwrap(), a["prefix"]))
        .collect();
    assert!(addrs.contains(&"192.0.2.10/24".to_string()), "{addrs:?}");
    assert!(
        addrs.contains(&format!("{}/64", me.ip6.unwrap())),
        "{addrs:?}"
    );
    assert!(lan0["flags"].as_array().unwrap().contains(&"up".into()));
}

#[test]
#[ignore = "needs root: network namespaces, setpriv"]
fn raw_commands_without_privilege_exit_3_with_the_hint() {
    assert!(is_root());
    let lan = LanBuilder::new().build();
    let out = lan.netray_unprivileged(&["capture", "-i", "lan0", "-c", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("CAP_NET_RAW") && err.contains("setcap cap_net_raw"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // iface and route need no privilege
    let out = lan.netray_unprivileged(&["route", "192.0.2.99"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
