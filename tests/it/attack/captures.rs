//! Hostile captures, made here, through every command that reads a file:
//! records that lie about their length, huge and countless interface
//! blocks, timestamp extremes, 5000 VLAN tags, 1000 IPv6 extension
//! headers, DNS compression loops and long pointer chains, and DNS text
//! made to attack a terminal. Each file gets the same verdict (exit
//! status) from decode (every view), stats and follow, in bounded time
//! and memory, without a panic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use etherparse::PacketBuilder;

use super::no_panic;
use crate::util::{measured, measured_quiet, netray_cmd};

const MAC_A: [u8; 6] = [2, 0, 0x5e, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0x5e, 0, 0, 2];

/// A TCP SYN, so that `follow 0` has a stream in every file.
fn syn() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .tcp(40000, 80, 1, 64240)
        .syn()
        .write(&mut v, b"")
        .unwrap();
    v
}

fn udp(payload: &[u8], sport: u16, dport: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .udp(sport, dport)
        .write(&mut v, payload)
        .unwrap();
    v
}

/// A legacy pcap (microseconds, little-endian) of records given as
/// (ts_sec, ts_usec, caplen written, origlen, bytes).
fn pcap(records: &[(u32, u32, u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut f = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (s, us, cap, orig, data) in records {
        for w in [*s, *us, *cap, *orig] {
            f.extend_from_slice(&w.to_le_bytes());
        }
        f.extend_from_slice(data);
    }
    f
}

fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    let mut b = kind.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.extend(std::iter::repeat_n(0, pad));
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn shb() -> Vec<u8> {
    let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    block(0x0a0d_0d0a, &body)
}

/// An IDB with options given as (code, value).
fn idb(options: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = 1u16.to_le_bytes().to_vec();
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&65535u32.to_le_bytes());
    for (code, v) in options {
        body.extend_from_slice(&code.to_le_bytes());
        body.extend_from_slice(&(v.len() as u16).to_le_bytes());
        body.extend_from_slice(v);
        body.extend(std::iter::repeat_n(0, (4 - v.len() % 4) % 4));
    }
    if !options.is_empty() {
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    block(1, &body)
}

fn epb(if_id: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut body = if_id.to_le_bytes().to_vec();
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    block(6, &body)
}

/// Ethernet with `n` 802.1Q tags, then IPv4/UDP.
fn vlan_tags(n: usize) -> Vec<u8> {
    let inner = udp(b"tagged", 5000, 5001);
    let mut v = inner[..12].to_vec();
    for i in 0..n {
        v.extend_from_slice(&[0x81, 0x00]);
        v.extend_from_slice(&((i % 4094 + 1) as u16).to_be_bytes());
    }
    v.extend_from_slice(&inner[12..]);
    v
}

/// IPv6 with `n` destination-options headers, then UDP.
fn ipv6_ext_headers(n: usize) -> Vec<u8> {
    let mut ext = Vec::new();
    for i in 0..n {
        let next = if i + 1 == n { 17 } else { 60 };
        ext.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
    }
    let udp_hdr = [0x13, 0x88, 0x13, 0x89, 0, 8, 0, 0];
    let plen = (ext.len() + udp_hdr.len()) as u16;
    let mut v = MAC_A.to_vec();
    v.extend_from_slice(&MAC_B);
    v.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    v.extend_from_slice(&plen.to_be_bytes());
    v.extend_from_slice(&[60, 64]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v.extend_from_slice(&ext);
    v.extend_from_slice(&udp_hdr);
    v
}

/// A DNS response: its question name a pointer to itself (a loop).
fn dns_pointer_loop() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9]);
    udp(&m, 53, 40000)
}

/// A DNS response whose answer name is the last of 2000 pointers, each
/// to the one before (a chain, no loop).
fn dns_pointer_chain() -> Vec<u8> {
    let mut m = vec![0x12, 0x35, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
    let first = m.len();
    m.extend_from_slice(&[1, b'a', 0]);
    let mut prev = first;
    for _ in 0..2000 {
        let here = m.len();
        m.extend_from_slice(&[1, b'b']);
        m.extend_from_slice(&(0xc000 | prev as u16).to_be_bytes());
        prev = here;
        if m.len() > 16000 {
            break;
        }
    }
    m.extend_from_slice(&(0xc000 | prev as u16).to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9]);
    udp(&m, 53, 40000)
}

/// A DNS response with TXT data made to attack a terminal.
fn dns_escapes() -> Vec<u8> {
    let mut m = vec![0x12, 0x36, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(&[
        4, b'e', b'v', b'i', b'l', 4, b't', b'e', b's', b't', 0, 0, 16, 0, 1,
    ]);
    let txt = b"\x1b]0;owned\x07\x1b[2J\n   99 forged packet";
    m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
    m.extend_from_slice(&((txt.len() + 1) as u16).to_be_bytes());
    m.push(txt.len() as u8);
    m.extend_from_slice(txt);
    udp(&m, 53, 40000)
}

fn rec(data: Vec<u8>) -> (u32, u32, u32, u32, Vec<u8>) {
    let n = data.len() as u32;
    (1_700_000_000, 0, n, n, data)
}

/// The hostile files, each with the verdict every command must give.
fn hostile(dir: &Path) -> Vec<(PathBuf, i32)> {
    let mut out = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>, code: i32| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        out.push((p, code));
    };
    // records that lie about their length
    let mut f = pcap(&[rec(syn())]);
    f.extend_from_slice(&pcap(&[(1, 0, 0xffff_fff0, 0xffff_fff0, vec![0; 64])])[24..]);
    put("lie-4gib.pcap", f, 4);
    let mut f = pcap(&[rec(syn())]);
    f.extend_from_slice(&pcap(&[(1, 0, 9000, 9000, vec![0; 64])])[24..]);
    put("lie-cut.pcap", f, 0);
    let mut f = shb();
    f.extend(idb(&[]));
    f.extend(epb(0, 0, &syn()));
    f.extend_from_slice(&[6, 0, 0, 0, 8, 0, 0, 0]); // a block of length 8
    put("lie-block-8.pcapng", f, 4);
    let mut f = shb();
    f.extend(idb(&[]));
    f.extend(epb(0, 0, &syn()));
    let mut bad = epb(0, 0, &syn());
    let n = bad.len();
    bad[n - 4..].copy_from_slice(&1234u32.to_le_bytes()); // trailer disagrees
    f.extend(bad);
    put("lie-trailer.pcapng", f, 4);
    // a huge IDB (a 1 MiB comment) and a million IDBs
    let mut f = shb();
    f.extend(idb(&[(1, vec![b'c'; 60000]), (1, vec![b'd'; 60000])]));
    f.extend(epb(0, 0, &syn()));
    put("huge-idb.pcapng", f, 0);
    let mut f = shb();
    f.extend(epb(0, 0, &syn()));
    let one = idb(&[]);
    for _ in 0..1_000_000 {
        f.extend_from_slice(&one);
    }
    f.extend(epb(999_999, 0, &syn()));
    put("million-idbs.pcapng", f, 0);
    // timestamp extremes
    let mut f = shb();
    f.extend(idb(&[
        (14, i64::MAX.to_le_bytes().to_vec()),
        (9, vec![0x3f]),
    ]));
    f.extend(idb(&[(14, i64::MIN.to_le_bytes().to_vec()), (9, vec![19])]));
    f.extend(idb(&[(9, vec![0xff])]));
    f.extend(epb(0, u64::MAX, &syn()));
    f.extend(epb(1, u64::MAX, &syn()));
    f.extend(epb(2, u64::MAX, &syn()));
    put("timestamps.pcapng", f, 0);
    put(
        "timestamps.pcap",
        pcap(&[
            (u32::MAX, u32::MAX, 54, 54, syn()),
            (0, 0, 54, u32::MAX, syn()),
        ]),
        0,
    );
    // deep nesting and hostile DNS
    put(
        "deep.pcap",
        pcap(&[
            rec(syn()),
            rec(vlan_tags(5000)),
            rec(ipv6_ext_headers(1000)),
            rec(dns_pointer_loop()),
            rec(dns_pointer_chain()),
            rec(dns_escapes()),
        ]),
        0,
    );
    out
}

#[test]
fn hostile_captures_get_one_verdict_from_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let views: [&[&str]; 7] = [
        &["decode"],
        &["decode", "-v"],
        &["decode", "-x"],
        &["--json", "decode"],
        &["stats"],
        &["--json", "stats"],
        &["follow"],
    ];
    for (path, want) in hostile(dir.path()) {
        let p = path.to_str().unwrap();
        for view in views {
            let mut c = netray_cmd();
            c.args(view).arg(p);
            if view == ["follow"] {
                c.arg("0");
            }
            let m = measured(c, Duration::from_secs(60));
            let what = format!("{view:?} {}", path.display());
            assert!(!m.timed_out, "{what} ran past 60 s");
            no_panic(&m.stderr);
            assert_eq!(m.code, want, "{what}: {}", m.stderr);
            assert!(
                m.peak_kib < 256 * 1024,
                "{what}: peak RSS {} KiB",
                m.peak_kib
            );
            if want == 4 {
                // in words, with the offset, not the parser's internals
                assert!(m.stderr.contains("at byte offset"), "{what}: {}", m.stderr);
                assert!(
                    !m.stderr.contains("Nom") && !m.stderr.contains("[0, 0"),
                    "{what}: {}",
                    m.stderr
                );
            }
            if !view.contains(&"--json") {
                assert!(
                    !m.stdout.contains(&0x1b),
                    "{what}: ESC reached the terminal"
                );
            }
        }
    }
}

#[test]
fn a_forged_line_in_dns_text_stays_on_its_packet_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("escapes.pcap");
    std::fs::write(&p, pcap(&[rec(dns_escapes()), rec(syn())])).unwrap();
    let mut c = netray_cmd();
    c.args(["decode", p.to_str().unwrap()]);
    let m = measured(c, Duration::from_secs(30));
    assert_eq!(m.code, 0);
    let out = String::from_utf8(m.stdout).unwrap();
    assert_eq!(out.lines().count(), 2, "one line per packet: {out}");
    assert!(
        out.contains("\\x1b]0;owned\\x07\\x1b[2J\\n   99 forged packet"),
        "{out}"
    );
}

/// Every capture input the fuzzers keep (each crash ever found among them)
/// goes through the reader and the decoder on every `cargo test`, so a
/// crash cannot come back even where no fuzzer runs.
#[test]
fn every_kept_fuzz_input_reads_without_a_panic() {
    use netray::capture::{decode, read_frames_partial, Flow};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/capture_reader");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).expect("the fuzz corpus") {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let (summary, _) = read_frames_partial(&bytes[..], |f| {
            let p = decode(f);
            // timestamps saturate instead of wrapping (the if_tsoffset crash)
            assert!(p.ts.rfc3339().len() >= 20);
            Ok(Flow::Continue)
        });
        assert!(summary.bytes <= bytes.len() as u64, "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 5, "the corpus has {seen} inputs");
    let crash = std::fs::read(dir.join("crash-if-tsoffset-i64max.pcapng")).unwrap();
    let mut stamps = Vec::new();
    let (s, err) = read_frames_partial(&crash[..], |f| {
        stamps.push(f.ts.secs);
        Ok(Flow::Continue)
    });
    assert!(err.is_none() && s.packets == 1, "{err:?}");
    assert_eq!(stamps, [i64::MAX], "saturated, not wrapped to 1969");
}

/// `decode -x` streams its hex: memory does not grow with the number of
/// large records (it was 192 MB for one 16 MiB record and 489 MB for six).
#[test]
fn hex_of_large_records_streams() {
    let dir = tempfile::tempdir().unwrap();
    let mut peaks = Vec::new();
    for records in [1usize, 4] {
        let big = {
            let mut f = syn();
            f.resize(16 << 20, 0xab);
            f
        };
        let p = dir.path().join(format!("big{records}.pcap"));
        let recs: Vec<_> = (0..records).map(|_| rec(big.clone())).collect();
        let mut bytes = pcap(&recs);
        bytes[16..20].copy_from_slice(&(16u32 << 20).to_le_bytes()); // snaplen
        std::fs::write(&p, bytes).unwrap();
        let mut c = netray_cmd();
        c.args(["decode", "-x"]).arg(&p);
        let m = measured_quiet(c, Duration::from_secs(120));
        assert_eq!(m.code, 0, "{}", m.stderr);
        no_panic(&m.stderr);
        peaks.push(m.peak_kib);
    }
    // four records cost little more than one: a few in flight, not a queue
    assert!(
        peaks[1] < 128 * 1024,
        "four 16 MiB records: {} KiB",
        peaks[1]
    );
    assert!(peaks[1] < peaks[0] * 3, "{peaks:?}");
}
