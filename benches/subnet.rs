//! Hot paths of the subnet toolkit: the filter's line scanner (bytes per
//! second over a synthetic log held in memory) and summarize.

use std::hint::black_box;
use std::io;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netray::subnet::filter::{Filter, FilterOptions, Sink};
use netray::subnet::{summarize, RangeSet};

/// A small deterministic generator (xorshift), so the bench needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn v4(&mut self) -> String {
        let a = self.next() as u32;
        format!(
            "{}.{}.{}.{}",
            a >> 24,
            (a >> 16) & 255,
            (a >> 8) & 255,
            a & 255
        )
    }
}

fn log(lines: usize) -> Vec<u8> {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut s = String::new();
    for i in 0..lines {
        match i % 4 {
            0 => s.push_str(&format!(
                "{} - - [22/Nov/2026:10:00:01 +0000] \"GET / HTTP/1.1\" 200 512\n",
                r.v4()
            )),
            1 => s.push_str(&format!(
                "Nov 22 sshd[42]: Failed password from {} port 2222 ssh2\n",
                r.v4()
            )),
            2 => s.push_str(&format!(
                "kernel: IN=eth0 SRC={} DST={} LEN=60 TTL=64\n",
                r.v4(),
                r.v4()
            )),
            _ => s.push_str(&format!(
                "named: client 2001:db8:{:x}::1#5353 query A v1.2.3\n",
                r.next() as u16
            )),
        }
    }
    s.into_bytes()
}

struct Discard;

impl Sink for Discard {
    fn per_line(&self) -> bool {
        false
    }
    fn raw(&mut self, lines: &[u8]) -> io::Result<()> {
        black_box(lines);
        Ok(())
    }
    fn line(&mut self, _: u64, line: &[u8], _: Option<IpAddr>) -> io::Result<()> {
        black_box(line);
        Ok(())
    }
}

fn patterns(specs: &[&str]) -> RangeSet {
    let mut set = RangeSet::default();
    for s in specs {
        set.extend(&s.parse().expect("pattern"));
    }
    set
}

fn bench_filter(c: &mut Criterion) {
    let data = log(100_000);
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, pats, invert) in [
        (
            "v4_3cidrs",
            &["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"][..],
            false,
        ),
        (
            "v4_3cidrs_invert",
            &["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"][..],
            true,
        ),
        ("v4_v6", &["10.0.0.0/8", "2001:db8:8000::/33"][..], false),
    ] {
        let opts = FilterOptions {
            invert,
            ..FilterOptions::default()
        };
        let mut f = Filter::new(&mut patterns(pats), opts);
        g.bench_function(name, |b| {
            b.iter(|| f.run(&data[..], &mut Discard).expect("in memory"))
        });
    }
    g.finish();
}

fn bench_summarize(c: &mut Criterion) {
    let mut r = Rng(7);
    let specs: Vec<String> = (0..10_000)
        .map(|_| format!("{}/{}", r.v4(), 16 + r.next() % 17))
        .collect();
    let set = patterns(&specs.iter().map(String::as_str).collect::<Vec<_>>());
    c.bench_function("summarize_10k", |b| {
        b.iter(|| summarize(&mut black_box(set.clone())).len())
    });
}

criterion_group!(benches, bench_filter, bench_summarize);
criterion_main!(benches);
