//! `arp resolve|scan|check|watch` against the kernel's own ARP and NDP,
//! in a namespace LAN (root only), plus the argument errors anyone can
//! check.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::netns::{is_root, Lan, LanBuilder};
use crate::util::ndjson;
use crate::util::run;

#[test]
fn arp_arguments_are_checked_first() {
    for (args, msg) in [
        (
            &["arp", "resolve", "2001:db8::1"][..],
            "not an IPv4 address",
        ),
        (
            &["arp", "resolve", "192.0.2.1", "-i", "nosuch0"][..],
            "no interface named",
        ),
        (&["arp", "scan", "192.0.2.0/33"][..], "not an IPv4 CIDR"),
        (
            &["arp", "scan", "10.0.0.0/8", "-i", "lo"][..],
            "needs --force",
        ),
        (
            &["arp", "scan", "192.0.2.0/24", "--rate", "0"][..],
            "--rate",
        ),
        (&["arp", "check", "banana"][..], "not an IPv4 address"),
        (&["arp", "watch"][..], "--interface"),
        (
            &[
                "arp",
                "watch",
                "-r",
                "x.pcap",
                "--baseline",
                "/nonexistent/b",
            ][..],
            "/nonexistent/b",
        ),
    ] {
        let (code, _, err) = run(args, "");
        assert!(code == 2 || code == 4, "{args:?}: {code} {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

fn netray_json(lan: &Lan, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = lan.netray_cmd(&all);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, err)
}

#[test]
#[ignore = "needs root: network namespaces and raw sockets"]
fn resolve_on_link_off_link_and_silent() {
    assert!(is_root());
    let lan = LanBuilder::new().hosts(2).router().build();
    let h = &lan.hosts[1];
    // on-link, the interface chosen from the routing table
    let (code, v, err) = netray_json(
        &lan,
        &[
            "arp",
            "resolve",
            &h.ip.to_string(),
            "-c",
            "2",
            "--interval",
            "100",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["iface"], "lan0");
    assert_eq!(v["via_gateway"], false);
    assert_eq!(v["answered"], 2);
    assert_eq!(v["rounds"][0][0]["mac"], h.mac.as_str());
    assert_eq!(v["rounds"][0][0]["vendor"]["kind"], "local");
    assert_eq!(v["duplicate"], false);
    assert!(v["rtt_min_ms"].as_f64().unwrap() <= v["rtt_max_ms"].as_f64().unwrap());
    // off-link: the gateway is resolved instead, and the view says so
    let rt = lan.router.as_ref().unwrap();
    let (code, v, _) = netray_json(&lan, &["arp", "resolve", "198.51.100.10"]);
    assert_eq!(code, 0);
    assert_eq!(v["via_gateway"], true);
    assert_eq!(v["asked"], "192.0.2.1");
    assert_eq!(v["rounds"][0][0]["mac"], rt.mac.as_str());
    let out = lan.netray_cmd(&["arp", "resolve", "198.51.100.10"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("so ARP asks for 192.0.2.1"), "{text}");
    assert!(
        text.contains(&format!("192.0.2.1 is-at {}", rt.mac)),
        "{text}"
    );
    // silent: every retry, then exit 1
    let out = lan.netray_cmd(&[
        "arp",
        "resolve",
        "192.0.2.99",
        "--timeout",
        "150",
        "--retries",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1: no reply") && text.contains("1 requests, 0 answered"),
        "{text}"
    );
}

#[test]
#[ignore = "needs root: network namespaces and raw sockets"]
fn scan_finds_exactly_the_fifty_hosts_and_the_gateway_in_both_families() {
    assert!(is_root());
    let lan = LanBuilder::new().hosts(50).router().ipv6().build();
    let mut want: BTreeMap<String, String> = lan
        .hosts
        .iter()
        .map(|h| (h.ip.to_string(), h.mac.clone()))
        .collect();
    let rt = lan.router.as_ref().unwrap();
    want.insert(rt.ip.to_string(), rt.mac.clone());
    let out = lan.netray_cmd(&["--json", "arp", "scan", "192.0.2.0/24", "--ipv6"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hosts = ndjson(&out.stdout);
    let v4: Vec<&Value> = hosts.iter().filter(|h| h["via"] == "arp").collect();
    let got: BTreeMap<String, String> = v4
        .iter()
        .map(|h| {
            (
                h["ip"].as_str().unwrap().to_string(),
                h["mac"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // sorted by address
    let order: Vec<u32> = v4
        .iter()
        .map(|h| {
            u32::from(
                h["ip"]
                    .as_str()
                    .unwrap()
                    .parse::<std::net::Ipv4Addr>()
                    .unwrap(),
            )
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
    assert!(v4.iter().all(|h| h["duplicate"] == false));
    // the IPv6 sweep finds the same stations by their 2001:db8:: addresses
    let mut want6: BTreeMap<String, String> = lan
        .hosts
        .iter()
        .map(|h| (h.ip6.unwrap().to_string(), h.mac.clone()))
        .collect();
    want6.insert(rt.ip6.unwrap().to_string(), rt.mac.clone());
    let got6: BTreeMap<String, String> = hosts
        .iter()
        .filter(|h| h["via"] == "ndp")
        .map(|h| {
            (
                h["ip"].as_str().unwrap().to_string(),
                h["mac"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got6, want6);
    // the human view: a table and the count, default subnet of lan0
    let out = lan.netray_cmd(&["arp", "scan"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("51 of 253 addresses answered on lan0"),
        "{text}"
    );
    // an IPv6 prefix small enough to walk: every address solicited
    let out = lan.netray_cmd(&["--json", "arp", "scan", "2001:db8::/120"]);
    let got: Vec<Value> = ndjson(&out.stdout);
    assert_eq!(got.len(), 51, "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "needs root: network namespaces and raw sockets"]
fn duplicates_are_reported_and_check_tells_taken_from_free() {
    assert!(is_root());
    let dup = "192.0.2.40".parse().unwrap();
    let lan = LanBuilder::new()
        .host(dup, Some("02:00:00:00:40:01"))
        .host(dup, Some("02:00:00:00:40:02"))
        .host("192.0.2.41".parse().unwrap(), None)
        .build();
    let out = lan.netray_cmd(&["--json", "arp", "scan", "192.0.2.32/28"]);
    let hosts = ndjson(&out.stdout);
    let d = hosts
        .iter()
        .find(|h| h["ip"] == "192.0.2.40")
        .expect("found");
    assert_eq!(d["duplicate"], true);
    let mut macs: Vec<&str> = d["macs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    macs.sort_unstable();
    assert_eq!(macs, vec!["02:00:00:00:40:01", "02:00:00:00:40:02"]);
    let out = lan.netray_cmd(&["arp", "scan", "192.0.2.32/28"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("DUPLICATE"));
    let (_, v, _) = netray_json(&lan, &["arp", "resolve", "192.0.2.40"]);
    assert_eq!(v["duplicate"], true);
    // duplicate address detection
    let (code, v, err) = netray_json(
        &lan,
        &[
            "arp",
            "check",
            "192.0.2.41",
            "--interval",
            "100",
            "--wait",
            "300",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["free"], false);
    assert_eq!(v["conflicts"][0]["mac"], lan.hosts[2].mac.as_str());
    assert_eq!(v["conflicts"][0]["how"], "reply");
    let (code, v, _) = netray_json(
        &lan,
        &[
            "arp",
            "check",
            "192.0.2.77",
            "--interval",
            "100",
            "--wait",
            "300",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(v["free"], true);
    assert_eq!(v["probes"], 3);
}

/// An ARP reply forged with a raw socket from a host's namespace.
fn forge(lan: &Lan, ns: &str, claim_ip: &str, evil_mac: &str, to_mac: &str, to_ip: &str) {
    let script = format!(
        "import socket, struct\n\
         s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('eth0', 0))\n\
         evil=bytes.fromhex('{e}'); dst=bytes.fromhex('{d}')\n\
         arp=struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 2, evil, socket.inet_aton('{c}'), dst, socket.inet_aton('{t}'))\n\
         s.send(dst+evil+b'\\x08\\x06'+arp)",
        e = evil_mac.replace(':', ""),
        d = to_mac.replace(':', ""),
        c = claim_ip,
        t = to_ip
    );
    let out = lan.exec(ns, &["python3", "-c", &script]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs root: network namespaces and raw sockets"]
fn watch_flags_forged_replies_in_a_recorded_capture() {
    assert!(is_root());
    let mut lan = LanBuilder::new().hosts(2).router().build();
    let me = lan.netray().clone();
    let rt = lan.router.clone().unwrap();
    let attacker = lan.hosts[1].clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("arp.pcap");
    let file = file.to_str().unwrap().to_string();
    let bin = env!("CARGO_BIN_EXE_netray");
    let mut cap = lan.spawn(
        &me.ns,
        &[
            bin,
            "capture",
            "-i",
            "lan0",
            "-f",
            "arp",
            "-w",
            &file,
            "--duration",
            "20",
        ],
        Duration::from_secs(25),
    );
    cap.wait_stderr("capturing on lan0", Duration::from_secs(10))
        .unwrap();
    // genuine traffic: netray resolves the gateway and a host
    assert_eq!(
        lan.netray_cmd(&["arp", "resolve", "192.0.2.1"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        lan.netray_cmd(&["arp", "resolve", &lan.hosts[0].ip.to_string()])
            .status
            .code(),
        Some(0)
    );
    std::thread::sleep(Duration::from_millis(100));
    // the attacker claims the gateway's address, twice, unasked
    forge(
        &lan,
        &attacker.ns,
        "192.0.2.1",
        &attacker.mac,
        &me.mac,
        "192.0.2.10",
    );
    forge(
        &lan,
        &attacker.ns,
        "192.0.2.1",
        &attacker.mac,
        &me.mac,
        "192.0.2.10",
    );
    std::thread::sleep(Duration::from_millis(300));
    cap.signal("INT");
    assert_eq!(cap.finish().status.code(), Some(0));

    let out = crate::util::netray()
        .args(["--json", "arp", "watch", "-r", &file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "alerts raised: exit 1");
    let alerts = ndjson(&out.stdout);
    let kinds = |ip: &str| -> Vec<String> {
        alerts
            .iter()
            .filter(|a| a["ip"] == ip)
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let gw = kinds("192.0.2.1");
    assert!(gw.contains(&"new-station".to_string()), "{gw:?}");
    assert!(gw.contains(&"unsolicited".to_string()), "{gw:?}");
    assert!(gw.contains(&"mac-changed".to_string()), "{gw:?}");
    let changed = alerts.iter().find(|a| a["kind"] == "mac-changed").unwrap();
    assert_eq!(changed["mac"], attacker.mac.as_str());
    assert_eq!(changed["previous_mac"], rt.mac.as_str());
    assert_eq!(changed["severity"], "alert");

    // a baseline of the real stations: known pairs are quiet, the forged
    // pair contradicts it
    let base = dir.path().join("known.txt");
    std::fs::write(
        &base,
        format!(
            "# the real LAN\n192.0.2.1 {}\n192.0.2.10 {}\n{} {}\n",
            rt.mac, me.mac, lan.hosts[0].ip, lan.hosts[0].mac
        ),
    )
    .unwrap();
    let out = crate::util::netray()
        .args([
            "--json",
            "arp",
            "watch",
            "-r",
            &file,
            "--baseline",
            base.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let alerts = ndjson(&out.stdout);
    assert!(!alerts.is_empty());
    assert!(
        alerts.iter().all(|a| a["mac"] == attacker.mac.as_str()),
        "only the forged pair is reported: {alerts:?}"
    );
    assert!(alerts.iter().any(|a| a["kind"] == "baseline-mismatch"));
    // the human view: lines with time and evidence, then the table
    let out = crate::util::netray()
        .args(["arp", "watch", "-r", &file])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("192.0.2.1 was at {}", rt.mac)),
        "{text}"
    );
    assert!(text.contains("ARP packets,"), "{text}");
}

#[test]
#[ignore = "needs root: network namespaces, setpriv"]
fn arp_without_privilege_exits_3() {
    assert!(is_root());
    let lan = LanBuilder::new().hosts(1).build();
    for args in [
        &["arp", "resolve", "192.0.2.21"][..],
        &["arp", "scan"][..],
        &["arp", "check", "192.0.2.50"][..],
    ] {
        let out = lan.netray_unprivileged(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains("setcap cap_net_raw"), "{err}");
    }
}
