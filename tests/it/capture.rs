//! `decode`, `stats` and `follow` on the project's own fixtures and on
//! captures built in the test; peer checks against tshark on the shared
//! corpus (ignored unless run with --include-ignored).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{have, json, netray, run};

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Writes a little-endian microsecond pcap of Ethernet frames.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&[
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ])
    .unwrap();
    for (i, d) in frames.iter().enumerate() {
        let n = d.len() as u32;
        f.write_all(&(1_700_000_000u32 + i as u32).to_le_bytes())
            .unwrap();
        f.write_all(&(i as u32 * 1000).to_le_bytes()).unwrap();
        f.write_all(&n.to_le_bytes()).unwrap();
        f.write_all(&n.to_le_bytes()).unwrap();
        f.write_all(d).unwrap();
    }
}

fn tcp(seq: u32, flags: &str, payload: &[u8], from_client: bool) -> Vec<u8> {
    let (a, b) = ([192, 0, 2, 10], [198, 51, 100, 20]);
    let (src, dst, sp, dp) = if from_client {
        (a, b, 40000, 80)
    } else {
        (b, a, 80, 40000)
    };
    let mut t = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, seq, 1000);
    for f in flags.chars() {
        t = match f {
            'S' => t.syn(),
            'A' => t.ack(1),
            'F' => t.fin(),
            'R' => t.rst(),
            _ => t,
        };
    }
    let mut v = Vec::new();
    t.write(&mut v, payload).unwrap();
    v
}

fn conversation(dir: &Path) -> PathBuf {
    let path = dir.join("conv.pcap");
    write_pcap(
        &path,
        &[
            tcp(100, "S", b"", true),
            tcp(900, "SA", b"", false),
            tcp(101, "A", b"", true),
            tcp(101, "A", b"GET /a", true),
            tcp(113, "A", b"1.1\r\n\r\n", true), // ahead of a hole
            tcp(107, "A", b" HTTP/", true),      // fills it
            tcp(101, "A", b"GET /a", true),      // retransmission
            tcp(901, "A", b"HTTP/1.1 200 OK\r\n\r\nhello", false),
            tcp(120, "FA", b"", true),
            tcp(925, "FA", b"", false),
        ],
    );
    path
}

#[test]
fn decode_the_fixture_in_every_view() {
    let mix = fixture("mix.pcap");
    let (code, out, err) = run(&["decode", &mix], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 300);
    assert!(
        out.lines()
            .any(|l| l.contains("TCP [S]") && l.contains("mss 1460")),
        "{out}"
    );
    assert!(out.contains("DNS/UDP query 0x"));
    assert!(out.contains("ARP who-has"));
    assert!(out.contains("vlan 100,20"));
    assert!(out.contains("IPv4 fragment"));
    assert!(out.contains("ICMPv6 echo-request"));
    // JSON: one object a line, with the documented keys
    let out = netray().args(["--json", "decode", &mix]).output().unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    for (i, p) in lines.iter().enumerate() {
        assert_eq!(p["n"], i as u64 + 1);
        assert!(p["ts"].as_str().unwrap().ends_with('Z'));
        assert!(p["eth"]["src"].is_string());
    }
    // -c, --skip, --time, -v, -x
    let (_, out, _) = run(
        &["decode", &mix, "-c", "3", "--skip", "10", "--time", "rel"],
        "",
    );
    let first: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(first, ["11", "12", "13"]);
    assert!(out.lines().next().unwrap().contains(" 0.000000 "), "{out}");
    let (_, out, _) = run(&["decode", &mix, "-c", "1", "-v", "-x"], "");
    assert!(
        out.contains("    frame: ") && out.contains("    eth:") && out.contains("    0000  "),
        "{out}"
    );
}

#[test]
fn decode_filters() {
    let mix = fixture("mix.pcap");
    let out = netray()
        .args(["--json", "decode", &mix, "-f", "tcp and dst port 443"])
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|p| p["tcp"]["dst_port"] == 443));
    let (code, out, _) = run(&["decode", &mix, "-f", "arp or icmp6"], "");
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .all(|l| l.contains("ARP") || l.contains("ICMPv6")),
        "{out}"
    );
    let (code, _, err) = run(&["decode", &mix, "-f", "tcp and port 70000"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("column 14") && err.contains("larger than 65535"),
        "{err}"
    );
}

#[test]
fn decode_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    let whole = std::fs::read(fixture("mix.pcap")).unwrap();
    std::fs::write(&cut, &whole[..whole.len() - 10]).unwrap();
    let cut = cut.to_str().unwrap();
    let (code, out, err) = run(&["decode", cut], "");
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 299);
    assert!(
        err.contains("ends inside a record at byte offset") && err.contains("299 whole packets"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let (code, _, _) = run(&["decode", "--strict", cut], "");
    assert_eq!(code, 4);
    let (code, _, err) = run(&["decode", &fixture("sample.log")], "");
    assert_eq!(code, 4);
    assert!(err.contains("not a pcap or pcapng file"), "{err}");
    let (code, _, err) = run(&["decode", "/nonexistent.pcap"], "");
    assert_eq!(code, 4);
    assert!(err.contains("/nonexistent.pcap"), "{err}");
    // stdin
    let out = netray()
        .args(["decode", "-", "-c", "2"])
        .write_stdin(whole)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    // empty input: nothing, exit 0
    let (code, out, _) = run(&["decode", "-"], "");
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn follow_reassembles_out_of_order_and_retransmitted() {
    let dir = tempfile::tempdir().unwrap();
    let conv = conversation(dir.path());
    let conv = conv.to_str().unwrap();
    let (code, out, _) = run(&["follow", conv, "0"], "");
    assert_eq!(code, 0);
    assert!(
        out.contains(">>> 192.0.2.10:40000 -> 198.51.100.20:80\nGET /a HTTP/1.1\r\n\r\n"),
        "{out:?}"
    );
    assert!(
        out.contains("<<< 198.51.100.20:80 -> 192.0.2.10:40000\nHTTP/1.1 200 OK\r\n\r\nhello"),
        "{out:?}"
    );
    assert!(
        out.contains("10 packets; 192.0.2.10:40000 -> 198.51.100.20:80: 19 bytes"),
        "{out}"
    );
    // by endpoints, either order; raw bytes to a file, one direction
    let raw = dir.path().join("server.bin");
    let (code, _, _) = run(
        &[
            "follow",
            conv,
            "198.51.100.20:80",
            "192.0.2.10:40000",
            "--direction",
            "server",
            "--raw",
            raw.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read(&raw).unwrap(),
        b"HTTP/1.1 200 OK\r\n\r\nhello"
    );
    let out = netray()
        .args(["--json", "follow", conv, "0"])
        .output()
        .unwrap();
    let pieces: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pieces[0]["from"], "192.0.2.10:40000");
    assert_eq!(pieces[0]["data"], "474554202f61");
    // a filter applies before streams are counted
    let (code, out, _) = run(&["follow", conv, "0", "-f", "src port 80"], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("HTTP/1.1 200 OK") && !out.contains("GET /a"),
        "{out}"
    );
    let (code, _, err) = run(&["follow", conv, "1"], "");
    assert_eq!(code, 1);
    assert!(err.contains("no such TCP stream"), "{err}");
    assert_eq!(run(&["follow", conv, "nope"], "").0, 2);
}

#[test]
fn stats_counts_conversations_and_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    let conv = conversation(dir.path());
    let out = netray()
        .args(["--json", "stats", conv.to_str().unwrap()])
        .output()
        .unwrap();
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["packets"], 10);
    assert_eq!(s["tcp"]["connections"], 1);
    assert_eq!(s["tcp"]["handshake_completed"], 1);
    assert_eq!(s["tcp"]["closed"], 1);
    let c = &s["tcp_conversations"][0];
    assert_eq!(
        (
            c["a"].as_str(),
            c["a_port"].as_u64(),
            c["packets_ab"].as_u64(),
            c["packets_ba"].as_u64()
        ),
        (Some("192.0.2.10"), Some(40000), Some(7), Some(3))
    );
    assert_eq!(c["state"], "closed");
    let paths: Vec<&str> = s["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["eth", "eth:ipv4", "eth:ipv4:tcp"]);
    // the fixture: every layer the generator makes shows in the hierarchy
    let (code, out, _) = run(&["stats", &fixture("mix.pcap")], "");
    assert_eq!(code, 0);
    for want in [
        "Protocol hierarchy",
        "vlan",
        "arp",
        "ipv6",
        "icmpv6",
        "dns",
        "TCP conversations",
        "Endpoints",
        "ARP:",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    let (_, out, _) = run(&["stats", &fixture("mix.pcap"), "-f", "udp"], "");
    assert!(
        out.contains("Packets     ") && !out.contains("TCP conversations"),
        "{out}"
    );
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures")
}

#[test]
#[ignore = "needs tshark and ../shared/captures"]
fn stats_tcp_conversations_agree_with_tshark() {
    assert!(have("tshark"), "tshark is not installed");
    for name in [
        "ssh.pcap",
        "many-protocols.pcap",
        "bgp-4byte-asn.pcap",
        "dns_tcp.pcap",
        "pcapng-example.pcapng",
    ] {
        let file = corpus().join(name);
        let t = std::process::Command::new("tshark")
            .args(["-n", "-q", "-z", "conv,tcp", "-r"])
            .arg(&file)
            .output()
            .unwrap();
        let mut theirs: Vec<(String, u64)> = String::from_utf8_lossy(&t.stdout)
            .lines()
            .filter(|l| l.contains("<->"))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let mut ends = [w[0].to_string(), w[2].to_string()];
                ends.sort();
                // frames <-, bytes (with unit), frames ->, ...: the total is the 3rd frames column
                let frames: Vec<u64> = w.iter().skip(3).filter_map(|x| x.parse().ok()).collect();
                (ends.join(" "), frames[0] + frames[2])
            })
            .collect();
        let out = netray()
            .args(["--json", "stats"])
            .arg(&file)
            .output()
            .unwrap();
        let s: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut ours: Vec<(String, u64)> = s["tcp_conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let mut ends = [
                    format!("{}:{}", c["a"].as_str().unwrap(), c["a_port"]),
                    format!("{}:{}", c["b"].as_str().unwrap(), c["b_port"]),
                ];
                ends.sort();
                (
                    ends.join(" "),
                    c["packets_ab"].as_u64().unwrap() + c["packets_ba"].as_u64().unwrap(),
                )
            })
            .collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "{name}");
    }
}

#[test]
#[ignore = "needs tshark and ../shared/captures"]
fn follow_agrees_with_tshark() {
    assert!(have("tshark"), "tshark is not installed");
    for (name, stream) in [
        ("dns_tcp.pcap", 0),
        ("ssh.pcap", 0),
        ("many-protocols.pcap", 99),
        ("many-protocols.pcap", 2),
    ] {
        let file = corpus().join(name);
        let t = std::process::Command::new("tshark")
            .args(["-n", "-q", "-z", &format!("follow,tcp,raw,{stream}"), "-r"])
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&t.stdout);
        // tshark: client lines flush left, server lines indented by a tab
        let (mut client, mut server) = (String::new(), String::new());
        for line in text
            .lines()
            .skip_while(|l| !l.starts_with("Node 1:"))
            .skip(1)
        {
            if line.starts_with('=') {
                break;
            }
            if let Some(h) = line.strip_prefix('\t') {
                server.push_str(h.trim());
            } else {
                client.push_str(line.trim());
            }
        }
        let hex = |dir: &str| {
            let out = netray()
                .args(["--json", "follow"])
                .arg(&file)
                .arg(stream.to_string())
                .args(["--direction", dir])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter_map(|p| p["data"].as_str().map(str::to_string))
                .collect::<String>()
        };
        assert!(
            !client.is_empty() && !server.is_empty(),
            "{name}: tshark output not understood"
        );
        assert_eq!(hex("client"), client, "{name} stream {stream} client");
        assert_eq!(hex("server"), server, "{name} stream {stream} server");
    }
}

/// Many batches through the parallel pipeline: output in file order, and a
/// count that stops in the middle ends the run (it once waited forever).
#[test]
fn large_capture_in_order_and_count_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pcap");
    let frames: Vec<Vec<u8>> = (0..20_000u32)
        .map(|i| tcp(i, "A", &i.to_be_bytes(), i % 2 == 0))
        .collect();
    write_pcap(&path, &frames);
    let out = netray()
        .args(["decode"])
        .arg(&path)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<u64> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers, (1..=20_000).collect::<Vec<u64>>());
    for count in ["1", "2048", "5000", "19999"] {
        let out = netray()
            .args(["--json", "decode", "-c", count])
            .arg(&path)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let n = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(n.to_string(), count);
    }
    // with a filter, the count is of shown packets
    let out = netray()
        .args(["decode", "-c", "3000", "-f", "src port 80"])
        .arg(&path)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3000);
    assert!(text.lines().all(|l| l.contains("198.51.100.20.80 >")));
}

/// Splits a legacy little-endian pcap into two files, packets alternating.
fn split_alternating(src: &Path, a: &Path, b: &Path) -> usize {
    let bytes = std::fs::read(src).unwrap();
    let (head, mut rest) = bytes.split_at(24);
    let (mut fa, mut fb) = (head.to_vec(), head.to_vec());
    let mut n = 0;
    while rest.len() >= 16 {
        let caplen = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
        let (rec, more) = rest.split_at(16 + caplen);
        if n % 2 == 0 { &mut fa } else { &mut fb }.extend_from_slice(rec);
        rest = more;
        n += 1;
    }
    std::fs::write(a, fa).unwrap();
    std::fs::write(b, fb).unwrap();
    n
}

#[test]
fn stats_over_several_files_equals_stats_over_their_merge() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("ring");
    std::fs::create_dir(&parts).unwrap();
    let (a, b) = (parts.join("a.pcap"), parts.join("b.pcap"));
    let n = split_alternating(Path::new(&fixture("mix.pcap")), &a, &b);
    assert!(n > 100);
    let whole = json(&["stats", &fixture("mix.pcap")], 0);
    let same = |v: &serde_json::Value, how: &str| {
        for k in [
            "packets",
            "bytes",
            "first",
            "last",
            "protocols",
            "ip_conversations",
            "tcp_conversations",
            "udp_conversations",
            "endpoints",
            "tcp",
            "arp",
        ] {
            assert_eq!(v[k], whole[k], "{how}: {k}");
        }
    };
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let two = json(&["stats", pa, pb], 0);
    same(&two, "two files");
    assert_eq!(two["file"], "2 files");
    // a folder, and a quoted pattern, are expanded
    same(&json(&["stats", parts.to_str().unwrap()], 0), "a folder");
    let pattern = format!("{}/*.pcap", parts.display());
    same(&json(&["stats", &pattern], 0), "a pattern");
    // one after the other: the same counts, only the order differs
    let seq = json(&["stats", "--no-merge", pa, pb], 0);
    assert_eq!(seq["packets"], whole["packets"]);
    assert_eq!(
        seq["tcp_conversations"].as_array().map(Vec::len),
        whole["tcp_conversations"].as_array().map(Vec::len)
    );
    // a pattern that matches nothing is a usage error
    let (code, _, err) = run(&["stats", &format!("{}/*.nothing", parts.display())], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("names no capture file"), "{err}");
}

#[test]
fn a_bad_file_among_several_is_named_and_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, b"not a capture, just text\n").unwrap();
    let mix = fixture("mix.pcap");
    let whole = json(&["stats", &mix], 0);
    let out = netray()
        .args(["--json", "stats", bad.to_str().unwrap(), &mix])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["packets"], whole["packets"],
        "the good file is counted whole"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.pcap: not a pcap or pcapng file"), "{err}");
    // alone, the same file is the same error, and nothing else is printed
    let (code, out, err) = run(&["stats", bad.to_str().unwrap()], "");
    assert_eq!((code, out.as_str()), (4, ""), "{err}");
}

/// The worked example of docs/architecture.md ("Adding a consumer of
/// packets"): a new sink beside stats, in one pass.
#[test]
fn a_new_sink_runs_beside_stats_in_one_pass() {
    use netray::capture::engine::{self, Sink, Source};
    use netray::capture::{Flow, Frame};
    use netray::model::packet::Packet;

    #[derive(Default)]
    struct Syns(u64);

    impl Sink for Syns {
        fn packet(&mut self, p: &Packet, _frame: &Frame<'_>) -> std::io::Result<Flow> {
            if p.tcp.as_ref().is_some_and(|t| t.flags & 0x002 != 0) {
                self.0 += 1;
            }
            Ok(Flow::Continue)
        }
    }

    let source = Source::expand(&[fixture("mix.pcap")], true).unwrap();
    let (mut syns, mut stats) = (Syns::default(), netray::analysis::stats::Collector::new());
    let outcomes = engine::run(&source, None, false, &mut [&mut syns, &mut stats]);
    let report = stats.finish("mix", &engine::total(&outcomes));
    // the same SYNs as decode's JSON shows
    let out = netray()
        .args(["--json", "decode", &fixture("mix.pcap")])
        .output()
        .unwrap();
    let by_decode = crate::util::ndjson(&out.stdout)
        .iter()
        .filter(|p| p["tcp"]["flags"].as_u64().is_some_and(|f| f & 2 != 0))
        .count() as u64;
    assert!(syns.0 > 0);
    assert_eq!(syns.0, by_decode);
    assert_eq!(report.packets, outcomes[0].summary.packets);
}

/// `capture -i lo -w - | decode -` is live: in a private network namespace
/// (only `lo`), UDP datagrams are sent one by one and each decoded line
/// must arrive within a second of its datagram.
#[test]
#[ignore = "needs root: a network namespace (unshare -n)"]
fn a_capture_piped_into_decode_shows_each_packet_as_it_comes() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    assert!(crate::netns::is_root());
    let bin = assert_cmd::cargo::cargo_bin!("netray");
    let script = format!(
        r#"ip link set lo up
"{bin}" capture -i lo -w - -c 3 -f 'udp and dst port 9' 2>/dev/null | "{bin}" decode - &
sleep 1.5
for i in 1 2 3; do echo "sent $i"; echo ping$i > /dev/udp/127.0.0.1/9; sleep 0.8; done
wait"#,
        bin = bin.display()
    );
    let mut child = std::process::Command::new("unshare")
        .args(["-n", "bash", "-c", &script])
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("unshare");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let mut sent: Vec<Instant> = Vec::new();
    let mut shown: Vec<(Instant, String)> = Vec::new();
    let end = Instant::now() + Duration::from_secs(20);
    while shown.len() < 3 && Instant::now() < end {
        let Ok((at, line)) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if line.starts_with("sent ") {
            sent.push(at);
        } else if line.contains("127.0.0.1") {
            shown.push((at, line));
        }
    }
    drop(child.kill());
    drop(child.wait());
    assert_eq!(shown.len(), 3, "decoded lines: {shown:?}");
    for (i, (at, line)) in shown.iter().enumerate() {
        let lag = at.duration_since(sent[i]);
        assert!(
            lag < Duration::from_secs(1),
            "packet {} shown {lag:?} after it was sent: {line}",
            i + 1
        );
    }
}
