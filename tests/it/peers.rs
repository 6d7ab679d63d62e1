//! The same inputs through real peers: ipcalc and sipcalc for the
//! calculator, grepcidr for the filter, Python's ipaddress module for
//! summarize, exclude and range. Ignored unless run with --include-ignored
//! (.ci/run installs the peers).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::util::{have, json, peer, run};

const V4_INPUTS: &[&str] = &[
    "172.16.10.1/24",
    "10.0.0.1/8",
    "192.0.2.77/26",
    "198.51.100.9/31",
    "203.0.113.5/32",
    "0.0.0.0/0",
    "100.64.3.4/10",
    "172.16.10.1/20",
    "224.0.0.9/4",
    "8.8.4.4/30",
    "127.0.0.1/1",
    "192.168.255.254/17",
    "169.254.0.1/16",
];

/// ipcalc's "Name:  value" lines (first word of the value).
fn ipcalc_fields(input: &str) -> BTreeMap<String, String> {
    let out = peer("ipcalc", &["-n", "-b", input]);
    let mut m = BTreeMap::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let v = v.split_whitespace().next().unwrap_or("").to_string();
            m.insert(k.trim().to_string(), v);
        }
        if line.contains("Class ") {
            let class = line
                .split("Class ")
                .nth(1)
                .unwrap_or("")
                .chars()
                .next()
                .unwrap();
            m.insert("Class".into(), class.to_string());
        }
    }
    m
}

#[test]
#[ignore = "needs ipcalc (apt-get install ipcalc)"]
fn calc_agrees_with_ipcalc() {
    assert!(have("ipcalc"), "ipcalc is not installed");
    for input in V4_INPUTS {
        let ours = json(&["subnet", "calc", input], 0);
        let theirs = ipcalc_fields(input);
        let s = |k: &str| ours[k].as_str().unwrap_or_default().to_string();
        assert_eq!(theirs["Address"], s("address"), "{input}");
        assert_eq!(theirs["Netmask"], s("netmask"), "{input}");
        assert_eq!(theirs["Wildcard"], s("wildcard"), "{input}");
        let hosts = ours["usable_hosts"].to_string();
        assert_eq!(theirs["Hosts/Net"], hosts, "{input}");
        if let Some(route) = theirs.get("Hostroute") {
            // /32: ipcalc prints only the host route
            assert_eq!(route, &s("address"), "{input}");
            continue;
        }
        assert_eq!(theirs["Network"], s("cidr"), "{input}");
        assert_eq!(theirs["HostMin"], s("first_host"), "{input}");
        assert_eq!(theirs["HostMax"], s("last_host"), "{input}");
        assert_eq!(
            theirs.get("Broadcast").cloned(),
            ours["broadcast"].as_str().map(str::to_string),
            "{input}"
        );
        assert_eq!(theirs["Class"], s("class"), "{input}");
    }
}

/// sipcalc's "Name - value" lines.
fn sipcalc_fields(input: &str) -> BTreeMap<String, String> {
    let out = peer("sipcalc", &[input]);
    let mut m = BTreeMap::new();
    let mut last = String::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once("\t- ").or_else(|| line.split_once(" - ")) {
            last = k.trim().to_string();
            m.insert(last.clone(), v.trim().to_string());
        } else if line.starts_with('\t') && !last.is_empty() {
            // a value continued on the next line
            let prev = m.remove(&last).unwrap_or_default();
            m.insert(last.clone(), format!("{prev} {}", line.trim()));
        }
    }
    m
}

#[test]
#[ignore = "needs sipcalc (apt-get install sipcalc)"]
fn calc_agrees_with_sipcalc() {
    assert!(have("sipcalc"), "sipcalc is not installed");
    for input in V4_INPUTS {
        let ours = json(&["subnet", "calc", input], 0);
        let t = sipcalc_fields(input);
        let s = |k: &str| ours[k].as_str().unwrap_or_default().to_string();
        assert_eq!(t["Network address"], s("network"), "{input}");
        assert_eq!(t["Network mask"], s("netmask"), "{input}");
        assert_eq!(
            t["Network mask (bits)"],
            ours["prefix"].to_string(),
            "{input}"
        );
        assert_eq!(t["Cisco wildcard"], s("wildcard"), "{input}");
        if *input == "0.0.0.0/0" {
            // sipcalc saturates at u32::MAX here (4294967295); 2^32 is right
            // (docs/subnet.md, "Differences from the anchor tools")
            assert_eq!(t["Addresses in network"], "4294967295");
            assert_eq!(ours["total_addresses"], serde_json::json!(4_294_967_296u64));
        } else {
            assert_eq!(
                t["Addresses in network"],
                ours["total_addresses"].to_string(),
                "{input}"
            );
        }
        // sipcalc drops leading zeros: compare the values
        let hex = |h: &str| u32::from_str_radix(h, 16).unwrap();
        assert_eq!(
            hex(&t["Host address (hex)"]),
            hex(&s("address_hex")),
            "{input}"
        );
    }
    for input in [
        "2001:db8::1/64",
        "2001:db8:abcd:12::5/48",
        "fe80::1/10",
        "::1/128",
        "2001:db8::/127",
        "ff02::1:ff00:1/104",
    ] {
        let ours = json(&["subnet", "calc", input], 0);
        let t = sipcalc_fields(input);
        let s = |k: &str| ours[k].as_str().unwrap_or_default().to_string();
        // sipcalc writes the range expanded: compare as addresses
        let range: Vec<std::net::IpAddr> = t["Network range"]
            .split(" - ")
            .map(|a| a.trim().parse().unwrap())
            .collect();
        assert_eq!(range[0].to_string(), s("first_host"), "{input}");
        assert_eq!(range[1].to_string(), s("last_host"), "{input}");
        let mask: std::net::IpAddr = t["Prefix address"].parse().unwrap();
        assert_eq!(mask.to_string(), s("netmask"), "{input}");
        assert_eq!(t["Prefix length"], ours["prefix"].to_string(), "{input}");
        let net: std::net::IpAddr = t["Subnet prefix (masked)"]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(net.to_string(), s("network"), "{input}");
    }
}

/// A log with every kind of line the recognition rules distinguish.
fn tricky_log() -> String {
    let mut s = String::new();
    let fields = [
        "1.2.3.4",
        "x1.2.3.4",
        "1.2.3.4.5",
        "01.2.3.4",
        "1.2.3.256",
        "5a.1.2.3.4",
        "a.b.1.2.3.4",
        "[2001:db8::1]:80",
        "2001:db8::1x",
        "12001:db8::1",
        "x:2001:db8::1",
        "::ffff:1.2.3.4",
        "fe80::1:1.2.3.4",
        "2001:db8::1.2.3.4",
        "10:24:33",
        "198.51.100.7:443",
        "203.0.113.9/24",
        "2001:db8:1::/48",
        "q::1",
        "192.0.2.1,192.0.2.2",
        "text",
        "255.255.255.255",
        "0.0.0.0",
    ];
    // every pair of fields, with different separators
    for (i, a) in fields.iter().enumerate() {
        for (j, b) in fields.iter().enumerate() {
            let sep = [" ", ", ", "\t", "=", " from "][(i + j) % 5];
            s.push_str(&format!("{a}{sep}{b}\n"));
        }
    }
    s
}

#[test]
#[ignore = "needs grepcidr (apt-get install grepcidr)"]
fn filter_agrees_with_grepcidr() {
    assert!(have("grepcidr"), "grepcidr is not installed");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tricky.log");
    std::fs::write(&log, tricky_log()).unwrap();
    let log = log.to_str().unwrap();
    for (flags, pats) in [
        ("", "1.2.3.0/24"),
        ("-v", "1.2.3.0/24"),
        ("-i", "1.2.3.0/24"),
        ("", "2001:db8::/32"),
        ("-v", "2001:db8::/32"),
        ("", "1.2.3.0/24 2001:db8::/32"),
        ("-v", "198.51.100.0/24 2001:db8::/33"),
        ("-x", "0.0.0.0/0"),
        ("-c", "192.0.2.0/24"),
        ("", "192.0.2.1-192.0.2.1"),
    ] {
        let mut g = Command::new("grepcidr");
        if !flags.is_empty() {
            g.arg(flags);
        }
        let theirs = g.arg(pats).arg(log).output().unwrap();
        let mut args = vec!["subnet", "filter"];
        if !flags.is_empty() {
            args.push(flags);
        }
        args.push(pats);
        args.push(log);
        let (code, ours, _) = run(&args, "");
        assert_eq!(
            ours,
            String::from_utf8_lossy(&theirs.stdout),
            "{flags} {pats}"
        );
        assert_eq!(Some(code), theirs.status.code(), "{flags} {pats}");
    }
}

fn python(code: &str) -> String {
    let out = Command::new("python3").args(["-c", code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn quiet(args: &[&str]) -> String {
    let (code, out, err) = run(args, "");
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
#[ignore = "needs python3 (its ipaddress module is the reference)"]
fn summarize_exclude_range_agree_with_python_ipaddress() {
    assert!(have("python3"), "python3 is not installed");
    let nets = [
        "192.0.2.0/26",
        "192.0.2.64/26",
        "192.0.2.128/27",
        "198.51.100.17/32",
        "198.51.100.16/32",
        "10.0.0.0/9",
        "10.128.0.0/9",
    ];
    let ours = quiet(&[&["subnet", "summarize", "-q"], &nets[..]].concat());
    let theirs = python(&format!(
        "import ipaddress as i\nfor n in i.collapse_addresses(i.ip_network(x, strict=False) for x in {nets:?}): print(n)"
    ));
    assert_eq!(ours, theirs);

    for (base, minus) in [
        ("192.0.2.0/24", vec!["192.0.2.64/26", "192.0.2.7/32"]),
        (
            "0.0.0.0/0",
            vec!["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        ),
        (
            "2001:db8::/32",
            vec!["2001:db8:1234::/48", "2001:db8::1/128"],
        ),
    ] {
        let mut args = vec!["subnet", "exclude", base, "-q", "--minus"];
        args.extend(minus.iter().copied());
        let ours = quiet(&args);
        let theirs = python(&format!(
            "import ipaddress as i\nleft=[i.ip_network('{base}')]\nfor m in {minus:?}:\n m=i.ip_network(m)\n nl=[]\n for n in left:\n  nl += list(n.address_exclude(m)) if m.subnet_of(n) else ([] if n.subnet_of(m) else [n])\n left=nl\nfor n in i.collapse_addresses(left): print(n)"
        ));
        assert_eq!(ours, theirs, "{base} minus {minus:?}");
    }

    for (a, b) in [
        ("192.0.2.10", "192.0.2.20"),
        ("0.0.0.1", "255.255.255.254"),
        ("2001:db8::3", "2001:db8::1:0"),
    ] {
        let ours = quiet(&["subnet", "range", "-q", &format!("{a}-{b}")]);
        let theirs = python(&format!(
            "import ipaddress as i\nfor n in i.summarize_address_range(i.ip_address('{a}'), i.ip_address('{b}')): print(n)"
        ));
        assert_eq!(ours, theirs, "{a}-{b}");
    }

    let v: Value = json(&["subnet", "split", "2001:db8::/60", "-p", "64"], 0);
    let ours: Vec<String> = v["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cidr"].as_str().unwrap().to_string())
        .collect();
    let theirs = python("import ipaddress as i\nfor n in i.ip_network('2001:db8::/60').subnets(new_prefix=64): print(n)");
    assert_eq!(ours.join("\n") + "\n", theirs);
}
