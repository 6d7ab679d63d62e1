//! `dns trace` and `dns lookup` against a private hierarchy on loopback
//! (`dnsfake`): every case of the trace, and dig +trace on the same
//! hierarchy (root: in a private network and mount namespace).

use serde_json::Value;

use crate::dnsfake;
use crate::util::{have, netray};

fn trace(h: &dnsfake::Hierarchy, name: &str, qtype: &str) -> (i32, Value) {
    let port = h.port.to_string();
    let out = netray()
        .args([
            "--json",
            "dns",
            "trace",
            name,
            qtype,
            "--root",
            &h.root(),
            "--port",
            &port,
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn outcomes(v: &Value) -> Vec<(u64, String, String)> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["depth"].as_u64().unwrap(),
                s["zone"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn answers(v: &Value) -> Vec<String> {
    v["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["name"].as_str().unwrap(),
                r["type"].as_str().unwrap(),
                r["data"].as_str().unwrap()
            )
        })
        .collect()
}

fn s(x: &[(u64, &str, &str)]) -> Vec<(u64, String, String)> {
    x.iter()
        .map(|(d, z, o)| (*d, z.to_string(), o.to_string()))
        .collect()
}

#[test]
fn trace_walks_delegations_with_and_without_glue() {
    let h = dnsfake::start();
    let (code, v) = trace(&h, "www.example.com", "A");
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&v),
        s(&[
            (0, ".", "referral"),
            (0, "com.", "referral"),
            (0, "example.com.", "answer")
        ])
    );
    assert_eq!(v["steps"][1]["referral"][0], "ns1.example.com.");
    assert_eq!(
        v["steps"][1]["glue"][0],
        serde_json::json!({"name": "ns1.example.com.", "address": "127.0.0.5"})
    );
    assert_eq!(v["steps"][2]["flags"][0], "aa");
    assert!(v["steps"][2]["rtt_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(answers(&v), vec!["www.example.com. A 192.0.2.80"]);
    // glueless: the NS name is traced first, nested
    let (code, v) = trace(&h, "www.glueless.com", "A");
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&v),
        s(&[
            (0, ".", "referral"),
            (0, "com.", "referral"),
            (1, ".", "referral"),
            (1, "net.", "referral"),
            (1, "dns-host.net.", "answer"),
            (0, "glueless.com.", "answer"),
        ])
    );
    assert_eq!(v["steps"][1]["glue"].as_array().unwrap().len(), 0);
    assert_eq!(answers(&v), vec!["www.glueless.com. A 203.0.113.9"]);
}

#[test]
fn trace_follows_cnames_in_and_out_of_zone() {
    let h = dnsfake::start();
    let (_, v) = trace(&h, "alias.example.com", "A");
    assert_eq!(
        v["steps"].as_array().unwrap().len(),
        3,
        "in zone: one answer"
    );
    assert_eq!(
        answers(&v),
        vec![
            "alias.example.com. CNAME www.example.com.",
            "www.example.com. A 192.0.2.80"
        ]
    );
    let (code, v) = trace(&h, "cdn.example.com", "A");
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&v),
        s(&[
            (0, ".", "referral"),
            (0, "com.", "referral"),
            (0, "example.com.", "cname"),
            (0, ".", "referral"),
            (0, "net.", "referral"),
            (0, "dns-host.net.", "answer"),
        ])
    );
    assert_eq!(
        answers(&v),
        vec![
            "cdn.example.com. CNAME edge.dns-host.net.",
            "edge.dns-host.net. A 198.51.100.7"
        ]
    );
}

#[test]
fn trace_retries_truncated_answers_over_tcp() {
    let h = dnsfake::start();
    let (code, v) = trace(&h, "big.example.com", "TXT");
    assert_eq!(code, 0);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[2]["outcome"], "truncated");
    assert_eq!(steps[2]["transport"], "udp");
    assert!(steps[2]["flags"].as_array().unwrap().contains(&"tc".into()));
    assert_eq!(steps[3]["outcome"], "answer");
    assert_eq!(steps[3]["transport"], "tcp");
    let txt = v["answers"][0]["data"].as_str().unwrap();
    assert!(
        txt.starts_with("\"netray-large-txt-record-00-padding\" \"netray"),
        "{txt}"
    );
    assert!(txt.len() > 512);
}

#[test]
fn trace_passes_lame_and_dead_servers() {
    let h = dnsfake::start();
    let (code, v) = trace(&h, "www.lame.com", "A");
    assert_eq!(code, 0);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[2]["outcome"], "lame");
    assert_eq!(steps[2]["server"], "ns1.lame.com.");
    assert_eq!(steps[2]["rcode"], "refused");
    assert_eq!(steps[3]["outcome"], "answer");
    assert_eq!(steps[3]["server"], "ns2.lame.com.");
    // the dead server costs the hedge delay, not the 2 s timeout
    let (code, v) = trace(&h, "www.dead.com", "A");
    assert_eq!(code, 0);
    assert_eq!(answers(&v), vec!["www.dead.com. A 192.0.2.8"]);
    let dead = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["server"] == "ns1.dead.com.")
        .expect("the dead server is shown");
    assert_eq!(dead["outcome"], "timeout");
    assert!(dead["note"].as_str().unwrap().contains("hedge"));
    assert!(
        v["elapsed_ms"].as_f64().unwrap() < 1500.0,
        "{}",
        v["elapsed_ms"]
    );
    // two dead servers before the good one: two hedges
    let (code, v) = trace(&h, "www.slow.com", "A");
    assert_eq!(code, 0);
    assert!(v["elapsed_ms"].as_f64().unwrap() < 1500.0);
    // one NS name with two addresses, the dead one first
    let (code, v) = trace(&h, "www.dual.com", "A");
    assert_eq!(code, 0);
    assert_eq!(answers(&v), vec!["www.dual.com. A 192.0.2.12"]);
    assert!(v["elapsed_ms"].as_f64().unwrap() < 1500.0);
}

#[test]
fn trace_negative_answers_and_loops() {
    let h = dnsfake::start();
    let (code, v) = trace(&h, "nope.example.com", "A");
    assert_eq!(code, 1);
    assert_eq!(v["result"], "nxdomain");
    assert!(v["steps"][2]["soa"].as_str().unwrap().contains("SOA"));
    let (code, v) = trace(&h, "www.example.com", "AAAA");
    assert_eq!(code, 1);
    assert_eq!(v["result"], "nodata");
    let (code, v) = trace(&h, "x.loop.com", "A");
    assert_eq!(code, 4);
    assert_eq!(v["result"], "error");
    assert!(
        v["error"].as_str().unwrap().starts_with("referral loop"),
        "{}",
        v["error"]
    );
    // human view: every step and the answer
    let port = h.port.to_string();
    let out = netray()
        .args([
            "dns",
            "trace",
            "www.example.com",
            "--root",
            &h.root(),
            "--port",
            &port,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("referral to com. NS a.gtld.test."), "{text}");
    assert!(text.contains("www.example.com. 300 A 192.0.2.80"), "{text}");
}

#[test]
fn lookup_through_a_server() {
    let h = dnsfake::start();
    let server = format!("127.0.0.5:{}", h.port);
    let out = netray()
        .args([
            "--json",
            "dns",
            "lookup",
            "www.example.com",
            "A",
            "AAAA",
            "--server",
            &server,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["servers"][0], server.as_str());
    assert_eq!(v["results"][0]["type"], "A");
    assert_eq!(v["results"][0]["records"][0]["data"], "192.0.2.80");
    assert_eq!(v["results"][0]["records"][0]["ttl"], 300);
    assert_eq!(v["results"][1]["status"], "nodata");
    // NXDOMAIN is exit 1 and named
    let out = netray()
        .args(["dns", "lookup", "nope.example.com", "--server", &server])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NXDOMAIN"));
    // --short, over TCP, CNAME then address
    let out = netray()
        .args([
            "dns",
            "lookup",
            "alias.example.com",
            "--server",
            &server,
            "--short",
            "--tcp",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "www.example.com.\n192.0.2.80\n"
    );
    // reverse
    let out = netray()
        .args([
            "dns",
            "reverse",
            "192.0.2.80",
            "--server",
            &server,
            "--short",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "www.example.com.\n");
    // a silent server: a timeout naming it, exit 4
    let silent = format!("127.0.0.8:{}", h.port);
    let out = netray()
        .args([
            "dns",
            "lookup",
            "www.example.com",
            "A",
            "--server",
            &silent,
            "--timeout",
            "200",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("no answer from {silent}")));
    // --resolv-conf with that server, and getaddrinfo beside it (the
    // system side only for localhost, which /etc/hosts answers)
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("resolv.conf");
    std::fs::write(&rc, "nameserver 127.0.0.5\n").unwrap();
    let out = netray()
        .args([
            "--json",
            "dns",
            "lookup",
            "localhost",
            "--server",
            &server,
            "--system",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["system"]["addresses"]
            .as_array()
            .unwrap()
            .contains(&"127.0.0.1".into()),
        "{v}"
    );
    let out = netray()
        .args([
            "--json",
            "dns",
            "lookup",
            "www.example.com",
            "--resolv-conf",
            rc.to_str().unwrap(),
            "--timeout",
            "300",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // port 53 on 127.0.0.5: nobody there (the file cannot give a port)
    assert_eq!(v["servers"][0], "127.0.0.5:53");
}

#[test]
fn dns_arguments_are_checked() {
    for (args, msg) in [
        (
            &[
                "dns",
                "lookup",
                "example.com",
                "BOGUS",
                "--server",
                "127.0.0.1:9",
            ][..],
            "not a record type",
        ),
        (
            &["dns", "lookup", "example.com", "--server", "dns.example"][..],
            "not ADDR or ADDR:PORT",
        ),
        (
            &["dns", "reverse", "nope", "--server", "127.0.0.1:9"][..],
            "not an IPv4 or IPv6",
        ),
        (
            &[
                "dns",
                "trace",
                "example.com",
                "ANY",
                "--root",
                "127.0.0.1:9",
            ][..],
            "one type",
        ),
    ] {
        let (code, _, err) = crate::util::run(args, "");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

/// Runs a script in a private network and mount namespace, where
/// /etc/hosts names the hierarchy's servers (dig looks NS names up
/// through the system's resolver, not from glue) and nothing leaves lo.
pub fn in_private_net(script: &str) -> std::process::Output {
    std::process::Command::new("unshare")
        .args(["-n", "-m", "sh", "-c", script])
        .output()
        .expect("unshare")
}

#[test]
#[ignore = "needs root (a private namespace) and dig"]
fn dig_trace_agrees_on_answers_and_zones() {
    assert!(
        have("dig"),
        "dig is not installed (apt-get install dnsutils)"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    std::fs::write(dir.path().join("hosts"), dnsfake::HOSTS).unwrap();
    let bin = env!("CARGO_BIN_EXE_netray");
    let fake = std::path::Path::new(bin)
        .parent()
        .unwrap()
        .join("examples/dnsfake");
    assert!(fake.exists(), "cargo test builds the dnsfake example");
    let names = [
        ("www.example.com", "A"),
        ("www.glueless.com", "A"),
        ("cdn.example.com", "A"),
        ("big.example.com", "TXT"),
    ];
    let mut script = format!(
        "ip link set lo up; mount --bind {d}/hosts /etc/hosts; (sleep 20 | {} 20 > {d}/port) >/dev/null 2>&1 & sleep 1; P=$(cat {d}/port); ",
        fake.display()
    );
    for (i, (n, t)) in names.iter().enumerate() {
        script.push_str(&format!(
            "dig +trace +nodnssec -p $P @127.0.0.2 {n} {t} > {d}/dig{i} 2>&1; {bin} --json dns trace {n} {t} --root 127.0.0.2 --port $P > {d}/nr{i}; "
        ));
    }
    // (the hierarchy ends with its 20 s lifetime, inside the namespace)
    script.push_str("true");
    let out = in_private_net(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, (n, t)) in names.iter().enumerate() {
        let dig = std::fs::read_to_string(dir.path().join(format!("dig{i}"))).unwrap();
        let nr: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("nr{i}"))).unwrap(),
        )
        .unwrap();
        // dig's records: "name ttl IN TYPE data"
        let recs: Vec<(String, String, String)> = dig
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 5 && f[2] == "IN")
                    .then(|| (f[0].to_string(), f[3].to_string(), f[4..].join(" ")))
            })
            .collect();
        // the chain of zones: owners of NS records, in order
        let mut dig_zones: Vec<String> = Vec::new();
        for (owner, ty, _) in &recs {
            if ty == "NS" && !dig_zones.contains(owner) {
                dig_zones.push(owner.clone());
            }
        }
        let final_dig: Vec<String> = recs
            .iter()
            .filter(|(_, ty, _)| ty == t || ty == "CNAME")
            .map(|(o, ty, d)| format!("{o} {ty} {d}"))
            .collect();
        // dig stops at an out-of-zone CNAME; netray follows it: dig's
        // final records are netray's first ones
        let ours = answers(&nr);
        assert!(!final_dig.is_empty(), "{n}: {dig}");
        assert_eq!(&ours[..final_dig.len()], &final_dig[..], "{n}: {dig}");
        let our_zones: Vec<String> = nr["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["depth"] == 0)
            .map(|s| s["zone"].as_str().unwrap().to_string())
            .fold(Vec::new(), |mut v, z| {
                if !v.contains(&z) {
                    v.push(z);
                }
                v
            });
        // dig's zones are a prefix-chain of ours (dig stops at the zone
        // that answers; an out-of-zone CNAME is not followed by dig)
        assert_eq!(
            &our_zones[..dig_zones.len().min(our_zones.len())],
            &dig_zones[..dig_zones.len().min(our_zones.len())],
            "{n}: {dig}"
        );
    }
}
