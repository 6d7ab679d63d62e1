//! `netray subnet ...`: human and JSON output of every command, and every
//! error path.

use serde::Deserialize;
use serde_json::json;

use crate::util::{json, netray, run};

/// The JSON contract of `subnet calc` (docs/json.md). `deny_unknown_fields`
/// makes any drift in the schema fail here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Calc {
    input: String,
    family: String,
    address: String,
    cidr: String,
    network: String,
    prefix: u8,
    netmask: String,
    wildcard: String,
    broadcast: Option<String>,
    first_host: String,
    last_host: String,
    total_addresses: serde_json::Value,
    usable_hosts: serde_json::Value,
    class: Option<String>,
    scope: Scope,
    ipv4_mapped: Option<String>,
    note: Option<String>,
    address_hex: String,
    binary: Binary,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Scope {
    name: String,
    description: String,
    block: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Binary {
    address: String,
    netmask: String,
    wildcard: String,
    network: String,
    broadcast: Option<String>,
}

fn calc(args: &[&str]) -> Calc {
    let mut a = vec!["subnet", "calc"];
    a.extend_from_slice(args);
    serde_json::from_value(json(&a, 0)).expect("calc schema")
}

#[test]
fn calc_accepts_every_input_form() {
    for args in [
        &["172.16.10.1/24"][..],
        &["172.16.10.1", "255.255.255.0"],
        &["172.16.10.1 255.255.255.0"],
        &["172.16.10.1/255.255.255.0"],
    ] {
        let c = calc(args);
        assert_eq!(c.address, "172.16.10.1", "{args:?}");
        assert_eq!(c.network, "172.16.10.0");
        assert_eq!(c.cidr, "172.16.10.0/24");
        assert_eq!(c.broadcast.as_deref(), Some("172.16.10.255"));
        assert_eq!(c.first_host, "172.16.10.1");
        assert_eq!(c.last_host, "172.16.10.254");
        assert_eq!(c.usable_hosts, json!(254));
        assert_eq!(c.total_addresses, json!(256));
        assert_eq!(c.class.as_deref(), Some("B"));
        assert_eq!(c.scope.name, "private");
        assert_eq!(c.wildcard, "0.0.0.255");
    }
}

#[test]
fn calc_ipv6_counts_are_strings() {
    let c = calc(&["2001:db8::1/64"]);
    assert_eq!(c.family, "ipv6");
    assert_eq!(c.network, "2001:db8::");
    assert_eq!(c.netmask, "ffff:ffff:ffff:ffff::");
    assert_eq!(c.last_host, "2001:db8::ffff:ffff:ffff:ffff");
    assert_eq!(c.total_addresses, json!("18446744073709551616"));
    assert_eq!(c.broadcast, None);
    assert_eq!(c.class, None);
    assert_eq!(c.scope.name, "documentation");
    let c = calc(&["::/0"]);
    assert_eq!(
        c.total_addresses,
        json!("340282366920938463463374607431768211456")
    );
}

#[test]
fn calc_edges() {
    let c = calc(&["192.0.2.1/31"]);
    assert_eq!(
        (c.first_host.as_str(), c.last_host.as_str()),
        ("192.0.2.0", "192.0.2.1")
    );
    assert_eq!(c.usable_hosts, json!(2));
    assert!(c.note.unwrap().contains("RFC 3021"));
    let c = calc(&["192.0.2.1/32"]);
    assert_eq!(c.usable_hosts, json!(1));
    assert_eq!(c.first_host, "192.0.2.1");
    let c = calc(&["192.0.2.1"]);
    assert_eq!(c.prefix, 32);
    let c = calc(&["0.0.0.0/0"]);
    assert_eq!(c.total_addresses, json!(4_294_967_296u64));
    assert_eq!(c.broadcast.as_deref(), Some("255.255.255.255"));
    let c = calc(&["2001:db8::/127"]);
    assert_eq!(c.usable_hosts, json!("2"));
    let c = calc(&["2001:db8::5/128"]);
    assert_eq!(
        (c.first_host.as_str(), c.last_host.as_str()),
        ("2001:db8::5", "2001:db8::5")
    );
    let c = calc(&["::ffff:192.0.2.1/120"]);
    assert_eq!(c.ipv4_mapped.as_deref(), Some("192.0.2.1"));
    assert_eq!(c.scope.name, "ipv4-mapped");
    let c = calc(&["100.64.1.1/10"]);
    assert_eq!(c.scope.name, "cgnat");
}

#[test]
fn calc_human_view_shows_the_boundary() {
    let (code, out, _) = run(&["subnet", "calc", "172.16.10.1/20"], "");
    assert_eq!(code, 0);
    for want in [
        "Network    172.16.0.0/20",
        "Netmask    255.255.240.0 = 20",
        "Broadcast  172.16.15.255",
        "HostMin    172.16.0.1",
        "HostMax    172.16.15.254",
        "4094 usable of 4096 addresses",
        "Class      B",
        // the boundary falls inside the third octet
        "10101100.00010000.0000 1010.00000001",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let (_, out, _) = run(&["subnet", "calc", "-q", "172.16.10.1/24"], "");
    assert_eq!(out, "172.16.0.0/24\n".replace("0.0/24", "10.0/24"));
}

#[test]
fn calc_errors_name_the_bad_part() {
    for (input, want) in [
        ("300.1.1.1/24", "octet 300 is larger than 255"),
        (
            "10.0.0.1/33",
            "prefix '/33' in '10.0.0.1/33' is out of range for IPv4 (0-32)",
        ),
        ("2001:db8::/129", "out of range for IPv6 (0-128)"),
        (
            "10.0.0.1/255.0.255.0",
            "netmask 255.0.255.0 is not contiguous",
        ),
        ("garbage", "'garbage' is not a valid IP address"),
        (
            "10.0.0.1/abc",
            "'abc' is neither a prefix length nor a netmask",
        ),
        ("", "'' is not a valid IP address: it is empty"),
    ] {
        let (code, out, err) = run(&["subnet", "calc", input], "");
        assert_eq!(code, 2, "{input}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "{input}: {err}");
    }
    let (code, _, err) = run(&["subnet", "calc", "10.0.0.1", "255.0.255.0"], "");
    assert_eq!(code, 2);
    assert!(err.contains("not contiguous"));
}

#[test]
fn same_shows_the_and_and_sets_the_exit_code() {
    let (code, out, _) = run(
        &[
            "subnet",
            "same",
            "192.168.1.10",
            "192.168.1.200",
            "--prefix",
            "24",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("11000000.10101000.00000001. 00001010"),
        "{out}"
    );
    assert!(out.contains("same subnet: 192.168.1.0/24"), "{out}");
    let (code, out, _) = run(
        &[
            "subnet",
            "same",
            "192.168.1.10",
            "192.168.2.10",
            "--mask",
            "255.255.255.0",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("different subnets: 192.168.1.0/24 vs 192.168.2.0/24"),
        "{out}"
    );
    // the prefix may come with the first address
    let v = json(&["subnet", "same", "192.168.1.10/16", "192.168.2.10"], 0);
    assert_eq!(v["same"], json!(true));
    assert_eq!(v["prefix"], json!(16));
    assert_eq!(v["a"]["network"], json!("192.168.0.0"));
    assert_eq!(
        v["netmask_binary"],
        json!("11111111.11111111.00000000.00000000")
    );
    let v = json(
        &[
            "subnet",
            "same",
            "2001:db8::1",
            "2001:db8:0:1::1",
            "-p",
            "64",
        ],
        1,
    );
    assert_eq!(v["same"], json!(false));
    assert_eq!(v["b"]["network"], json!("2001:db8:0:1::"));
}

#[test]
fn same_errors() {
    for (args, want) in [
        (
            &["192.0.2.1", "2001:db8::1", "-p", "24"][..],
            "mixed address families",
        ),
        (&["192.0.2.1", "192.0.2.2"], "give --prefix N or --mask M"),
        (
            &["192.0.2.1", "192.0.2.2", "-p", "33"],
            "out of range for IPv4",
        ),
        (
            &["192.0.2.1", "192.0.2.2", "-m", "255.0.255.0"],
            "not contiguous",
        ),
        (&["192.0.2.1/24", "192.0.2.2/25"], "different prefixes"),
    ] {
        let mut a = vec!["subnet", "same"];
        a.extend_from_slice(args);
        let (code, _, err) = run(&a, "");
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn split_by_prefix_count_and_limit() {
    let v = json(&["subnet", "split", "192.0.2.0/24", "--count", "3"], 0);
    assert_eq!(v["prefix"], json!(26));
    assert_eq!(v["count"], json!("4"));
    let nets: Vec<&str> = v["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cidr"].as_str().unwrap())
        .collect();
    assert_eq!(
        nets,
        [
            "192.0.2.0/26",
            "192.0.2.64/26",
            "192.0.2.128/26",
            "192.0.2.192/26"
        ]
    );
    assert_eq!(v["subnets"][1]["last"], json!("192.0.2.127"));
    let (code, out, _) = run(&["subnet", "split", "2001:db8::/48", "-p", "50", "-q"], "");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "2001:db8::/50\n2001:db8:0:4000::/50\n2001:db8:0:8000::/50\n2001:db8:0:c000::/50\n"
    );
    let (_, out, _) = run(&["subnet", "split", "198.51.100.0/24", "-p", "25"], "");
    assert!(out.contains("198.51.100.128/25"), "{out}");
    assert!(
        out.contains("198.51.100.0/24 split into 2 /25 networks"),
        "{out}"
    );
    // over the limit: refused, unless forced
    let (code, _, err) = run(&["subnet", "split", "10.0.0.0/8", "-p", "32"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("16777216 networks, more than the limit of 65536: use --force"),
        "{err}"
    );
    let (code, out, _) = run(
        &[
            "subnet",
            "split",
            "10.0.0.0/14",
            "-p",
            "32",
            "--force",
            "-q",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 262_144);
    assert_eq!(out.lines().last(), Some("10.3.255.255/32"));
    for bad in [
        &["192.0.2.0/24", "-p", "23"][..],
        &["192.0.2.0/24", "-p", "33"],
        &["192.0.2.0/24", "-n", "0"],
    ] {
        let mut a = vec!["subnet", "split"];
        a.extend_from_slice(bad);
        assert_eq!(run(&a, "").0, 2, "{bad:?}");
    }
}

#[test]
fn summarize_from_args_and_stdin() {
    let v = json(
        &[
            "subnet",
            "summarize",
            "192.0.2.0/25",
            "192.0.2.128/25",
            "198.51.100.1-198.51.100.2",
            "2001:db8::/33",
            "2001:db8:8000::/33",
        ],
        0,
    );
    let cidrs: Vec<&str> = v["cidrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cidr"].as_str().unwrap())
        .collect();
    assert_eq!(
        cidrs,
        [
            "192.0.2.0/24",
            "198.51.100.1/32",
            "198.51.100.2/32",
            "2001:db8::/32"
        ]
    );
    let input =
        "# my list\n192.0.2.1, 192.0.2.0\n192.0.2.2 - 192.0.2.3\n\n203.0.113.0/24 # office\n";
    let (code, out, _) = run(&["subnet", "summarize", "-q"], input);
    assert_eq!(code, 0);
    assert_eq!(out, "192.0.2.0/30\n203.0.113.0/24\n");
    let (code, out, _) = run(&["subnet", "summarize"], input);
    assert_eq!(code, 0);
    assert!(out.contains("4 inputs summarized: 2 networks"), "{out}");
    let (code, _, err) = run(&["subnet", "summarize"], "192.0.2.1\n192.0.2.300\n");
    assert_eq!(code, 2);
    assert!(err.contains("stdin line 2: '192.0.2.300'"), "{err}");
}

#[test]
fn exclude_both_families() {
    let (code, out, _) = run(
        &[
            "subnet",
            "exclude",
            "192.0.2.0/24",
            "--minus",
            "192.0.2.64/26",
            "-q",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(out, "192.0.2.0/26\n192.0.2.128/25\n");
    let (_, out, _) = run(
        &[
            "subnet",
            "exclude",
            "2001:db8::/32",
            "-x",
            "2001:db8::/34,2001:db8:c000::/34",
            "-q",
        ],
        "",
    );
    assert_eq!(out, "2001:db8:4000::/34\n2001:db8:8000::/34\n");
    // removing everything leaves nothing, and says so
    let v = json(
        &["subnet", "exclude", "192.0.2.0/25", "-x", "192.0.2.0/24"],
        0,
    );
    assert_eq!(v["cidrs"], json!([]));
    let (_, out, _) = run(
        &["subnet", "exclude", "192.0.2.0/25", "-x", "192.0.2.0/24"],
        "",
    );
    assert!(out.contains("nothing left"), "{out}");
    let (code, _, err) = run(
        &["subnet", "exclude", "192.0.2.0/24", "-x", "2001:db8::/64"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("mixed address families"), "{err}");
    assert_eq!(
        run(&["subnet", "exclude", "192.0.2.0/24"], "").0,
        2,
        "--minus is required"
    );
}

#[test]
fn contains_exit_codes() {
    let v = json(&["subnet", "contains", "192.0.2.0/24", "192.0.2.7"], 0);
    assert_eq!(
        v,
        json!({"cidr": "192.0.2.0/24", "address": "192.0.2.7", "inside": true})
    );
    let (code, out, _) = run(&["subnet", "contains", "192.0.2.0/24", "198.51.100.7"], "");
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "198.51.100.7 is outside 192.0.2.0/24 (192.0.2.0 - 192.0.2.255)\n"
    );
    assert_eq!(
        run(
            &["subnet", "contains", "2001:db8::/32", "2001:db8:ffff::1"],
            ""
        )
        .0,
        0
    );
    assert_eq!(
        run(
            &["subnet", "contains", "192.0.2.0/24", "::ffff:192.0.2.9"],
            ""
        )
        .0,
        0
    );
    let (code, _, err) = run(&["subnet", "contains", "192.0.2.0/24", "2001:db8::1"], "");
    assert_eq!(code, 2);
    assert!(err.contains("mixed"));
    assert_eq!(
        run(&["subnet", "contains", "192.0.2.0/24", "nope"], "").0,
        2
    );
}

#[test]
fn range_forms() {
    for args in [
        &["192.0.2.10-192.0.2.20"][..],
        &["192.0.2.10", "192.0.2.20"],
        &["192.0.2.10", "-", "192.0.2.20"],
    ] {
        let mut a = vec!["subnet", "range", "-q"];
        a.extend_from_slice(args);
        let (code, out, _) = run(&a, "");
        assert_eq!(code, 0, "{args:?}");
        assert_eq!(
            out,
            "192.0.2.10/31\n192.0.2.12/30\n192.0.2.16/30\n192.0.2.20/32\n"
        );
    }
    let v = json(&["subnet", "range", "2001:db8::-2001:db8::ffff"], 0);
    assert_eq!(v["cidrs"][0]["cidr"], json!("2001:db8::/112"));
    assert_eq!(v["cidrs"][0]["addresses"], json!("65536"));
    for (bad, want) in [
        ("192.0.2.9-192.0.2.1", "comes before"),
        ("192.0.2.1-2001:db8::1", "mixed"),
        ("192.0.2.1", "not a range"),
    ] {
        let (code, _, err) = run(&["subnet", "range", bad], "");
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains(want), "{bad}: {err}");
    }
}

const LOG: &str = "\
Nov 22 sshd: Failed password from 192.0.2.15 port 22
Nov 22 sshd: Failed password from 203.0.113.9 port 22
GET / from [2001:db8::7]:443
no address on this line
v1.2.3.4 not an address, 198.51.100.300 neither
";

#[test]
fn filter_prints_matching_lines() {
    let (code, out, _) = run(&["subnet", "filter", "192.0.2.0/24", "2001:db8::/32"], LOG);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Nov 22 sshd: Failed password from 192.0.2.15 port 22\nGET / from [2001:db8::7]:443\n"
    );
    // -v: lines with addresses, all outside; -i adds lines without
    let (_, out, _) = run(&["subnet", "filter", "-v", "192.0.2.0/24"], LOG);
    assert_eq!(out, "Nov 22 sshd: Failed password from 203.0.113.9 port 22\nv1.2.3.4 not an address, 198.51.100.300 neither\n");
    let (_, out, _) = run(&["subnet", "filter", "-i", "192.0.2.0/24"], LOG);
    assert_eq!(out.lines().count(), 4, "{out}");
    let (_, out, _) = run(&["subnet", "filter", "-c", "0.0.0.0/0"], LOG);
    assert_eq!(out, "3\n");
    // nothing selected: exit 1
    let (code, out, _) = run(&["subnet", "filter", "10.0.0.0/8"], LOG);
    assert_eq!((code, out.as_str()), (1, ""));
}

#[test]
fn filter_files_patterns_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    std::fs::write(&a, LOG).unwrap();
    std::fs::write(&b, "203.0.113.200 x\n").unwrap();
    let pats = dir.path().join("nets.txt");
    std::fs::write(&pats, "# networks\n203.0.113.0/24\n").unwrap();
    let (a, b, pats) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        pats.to_str().unwrap(),
    );
    // several files: each line carries its file name, as grep prints it
    let (code, out, _) = run(&["subnet", "filter", "203.0.113.0/24", a, b], "");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("{a}:Nov 22 sshd: Failed password from 203.0.113.9 port 22\n{b}:203.0.113.200 x\n")
    );
    let (_, out2, _) = run(&["subnet", "filter", "-f", pats, a, b], "");
    assert_eq!(out, out2);
    let (_, out3, _) = run(&["subnet", "filter", "-e", "203.0.113.0/24", a, b], "");
    assert_eq!(out, out3);
    let out = netray()
        .args(["--json", "subnet", "filter", "203.0.113.0/24", a])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        json!({"file": a, "line_number": 2, "line": "Nov 22 sshd: Failed password from 203.0.113.9 port 22", "address": "203.0.113.9"})
    );
    // a missing file is reported, the others are still searched, exit 4
    let (code, out, err) = run(
        &[
            "subnet",
            "filter",
            "203.0.113.0/24",
            "/nonexistent/x.log",
            b,
        ],
        "",
    );
    assert_eq!(code, 4);
    assert!(out.contains("203.0.113.200 x"), "{out}");
    assert!(err.contains("/nonexistent/x.log"), "{err}");
}

#[test]
fn filter_errors() {
    let (code, _, err) = run(&["subnet", "filter", "300.0.0.0/8"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("not a valid pattern") && err.contains("octet 300"),
        "{err}"
    );
    let (code, _, err) = run(&["subnet", "filter"], "");
    assert_eq!(code, 2);
    assert!(err.contains("at least one pattern"), "{err}");
    let (code, _, err) = run(&["subnet", "filter", "-f", "/nonexistent/pats"], "");
    assert_eq!(code, 4);
    assert!(err.contains("/nonexistent/pats"), "{err}");
}

#[test]
fn filter_keeps_lines_without_a_final_newline_and_odd_bytes() {
    let input = b"\xff\xfe 192.0.2.1 \x00 binary\n192.0.2.2";
    let out = netray()
        .args(["subnet", "filter", "192.0.2.0/24"])
        .write_stdin(&input[..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"\xff\xfe 192.0.2.1 \x00 binary\n192.0.2.2\n");
}

/// The README's example on the fixture log.
#[test]
fn readme_example_on_the_fixture() {
    let log = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sample.log");
    let (code, out, _) = run(&["subnet", "filter", "203.0.113.0/24", log], "");
    assert_eq!(code, 0);
    // the two sshd failures and the IPv4-mapped peer; nothing else
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.lines().all(|l| l.contains("203.0.113.")));
    let (_, out, _) = run(&["subnet", "filter", "-c", "2001:db8::/32", log], "");
    assert_eq!(out, "2\n");
    // 192.0.2.300 and 1.2.3.4.5 are not addresses: the line has none
    let (_, out, _) = run(&["subnet", "filter", "-i", "0.0.0.0/0", log], "");
    assert!(out.contains("cron") && out.contains("1.2.3.4.5"), "{out}");
}
