//! Conformance: `decode --json` on every capture of ../shared/captures
//! against tshark's reference fields in `expected/*.tsv` (see its
//! MANIFEST.md). Prints the agreement per capture and fails below 99%
//! overall; the differences that remain are explained in docs/decode.md.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::netray;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
    dir.join("expected").is_dir().then_some(dir)
}

/// Column names of the TSV, for the report.
const COLUMNS: [&str; 35] = [
    "frame.number",
    "frame.len",
    "frame.cap_len",
    "eth.src",
    "eth.dst",
    "eth.type",
    "vlan.id",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.ttl",
    "ip.flags.mf",
    "ip.frag_offset",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.nxt",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "dns.id",
    "dns.qry.name",
    "dns.flags.response",
];

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(t) => t.clone(),
        Value::Bool(b) => u8::from(*b).to_string(),
        other => other.to_string(),
    }
}

fn hex4(v: &Value) -> String {
    v.as_u64().map(|x| format!("0x{x:04x}")).unwrap_or_default()
}

/// Our value for each TSV column.
fn ours(p: &Value) -> Vec<String> {
    let vlan: Vec<String> = p["vlan"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|t| t["tpid"] == 0x8100)
                .map(|t| s(&t["id"]))
                .collect()
        })
        .unwrap_or_default();
    let frag = p["ipv4"]["frag_offset"]
        .as_u64()
        .map(|b| (b / 8).to_string())
        .unwrap_or_default();
    vec![
        s(&p["n"]),
        s(&p["len"]),
        s(&p["caplen"]),
        s(&p["eth"]["src"]),
        s(&p["eth"]["dst"]),
        hex4(&p["eth"]["ethertype"]),
        vlan.join(","),
        s(&p["arp"]["op"]),
        s(&p["arp"]["sender_mac"]),
        s(&p["arp"]["sender_ip"]),
        s(&p["arp"]["target_ip"]),
        s(&p["ipv4"]["src"]),
        s(&p["ipv4"]["dst"]),
        s(&p["ipv4"]["protocol"]),
        s(&p["ipv4"]["ttl"]),
        s(&p["ipv4"]["mf"]),
        frag,
        s(&p["ipv6"]["src"]),
        s(&p["ipv6"]["dst"]),
        s(&p["ipv6"]["next_header"]),
        s(&p["tcp"]["src_port"]),
        s(&p["tcp"]["dst_port"]),
        s(&p["tcp"]["seq"]),
        s(&p["tcp"]["ack"]),
        hex4(&p["tcp"]["flags"]),
        s(&p["tcp"]["window"]),
        s(&p["udp"]["src_port"]),
        s(&p["udp"]["dst_port"]),
        s(&p["udp"]["length"]),
        s(&p["icmp"]["type"]),
        s(&p["icmp"]["code"]),
        s(&p["icmpv6"]["type"]),
        hex4(&p["dns"]["id"]),
        s(&p["dns"]["questions"][0]["name"]),
        s(&p["dns"]["response"]),
    ]
}

/// tshark's value: the first occurrence, except VLAN ids (all tags).
fn theirs(cell: &str, col: usize) -> String {
    if col == 6 {
        return cell.to_string();
    }
    cell.split(',').next().unwrap_or("").to_string()
}

#[test]
#[ignore = "needs ../shared/captures (the shared tshark corpus)"]
fn decode_agrees_with_tshark() {
    let Some(dir) = corpus() else {
        panic!("../shared/captures is not there");
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 60, "the corpus has 60 captures");
    let (mut total, mut agree) = (0usize, 0usize);
    let mut per_column = vec![(0usize, 0usize); 35];
    let mut report = String::new();
    let mut diffs = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let out = netray()
            .args(["--json", "decode"])
            .arg(file)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        // no capture may crash netray; a cut file is a warning, exit 0
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let packets: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: bad JSON {e}: {l}"))
            })
            .collect();
        let tsv =
            std::fs::read_to_string(dir.join("expected").join(format!("{name}.tsv"))).unwrap();
        let rows: Vec<&str> = tsv.lines().collect();
        assert_eq!(packets.len(), rows.len(), "{name}: packet count");
        let (mut t, mut a) = (0, 0);
        for (p, row) in packets.iter().zip(&rows) {
            let cells: Vec<&str> = row.split('\t').collect();
            let mine = ours(p);
            for col in 1..35 {
                let want = theirs(cells.get(col).copied().unwrap_or(""), col);
                let got = &mine[col];
                if want.is_empty() && got.is_empty() {
                    continue;
                }
                t += 1;
                per_column[col].0 += 1;
                if *got == want {
                    a += 1;
                    per_column[col].1 += 1;
                } else if diffs.len() < 400 {
                    diffs.push(format!(
                        "{name} #{}: {} tshark={want:?} netray={got:?}",
                        p["n"], COLUMNS[col]
                    ));
                }
            }
        }
        total += t;
        agree += a;
        report.push_str(&format!(
            "{name:45} {a:6}/{t:<6} {:6.2}%\n",
            if t == 0 {
                100.0
            } else {
                100.0 * a as f64 / t as f64
            }
        ));
    }
    let pct = 100.0 * agree as f64 / total as f64;
    println!("{report}");
    for (col, (t, a)) in per_column.iter().enumerate().skip(1) {
        if t != a {
            println!("column {:22} {a}/{t}", COLUMNS[col]);
        }
    }
    for d in &diffs {
        println!("{d}");
    }
    println!("overall: {agree}/{total} fields agree ({pct:.3}%)");
    assert!(pct >= 99.0, "agreement {pct:.3}% is below 99%");
}

/// The hand-written `--json` writer says exactly what the serde schema
/// says, on every packet of the corpus (damaged ones included).
#[test]
#[ignore = "needs ../shared/captures (the shared tshark corpus)"]
fn fast_json_equals_serde_on_the_corpus() {
    let Some(dir) = corpus() else {
        panic!("../shared/captures is not there");
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file()
            || !path
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng")
        {
            continue;
        }
        let f = std::fs::File::open(&path).unwrap();
        netray::capture::read_frames(f, |frame| {
            let p = netray::capture::decode(frame);
            let mut out = Vec::new();
            netray::output::packet_json::write_packet(&p, &mut out);
            let ours: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(
                ours,
                serde_json::to_value(&p).unwrap(),
                "{} #{}",
                path.display(),
                p.n
            );
            checked += 1;
            Ok(netray::capture::Flow::Continue)
        })
        .unwrap();
    }
    assert_eq!(checked, 6108);
}
