//! The port scanner's result pipeline: 65535 results (a full scan of
//! one host) grouped per host, written as NDJSON, and rendered for
//! people; and the port-list parser on `-` (every port).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netray::output::scan::ScanView;
use netray::output::{ndjson, Options};
use netray::scan::{by_host, ports, PortResult, Proto, State};

fn results() -> Vec<PortResult> {
    (1..=65_535u16)
        .map(|port| PortResult {
            host: "127.0.0.1".parse().unwrap(),
            port,
            proto: Proto::Tcp,
            state: if port % 4001 == 0 {
                State::Open
            } else {
                State::Closed
            },
            rtt: Some(Duration::from_nanos(u64::from(port) * 7 + 20_000)),
            service: ports::service(port, Proto::Tcp),
            banner: (port % 4001 == 0).then(|| "SSH-2.0-bench".to_string()),
        })
        .collect()
}

fn pipeline(c: &mut Criterion) {
    let r = results();
    let mut g = c.benchmark_group("scan_results");
    g.throughput(Throughput::Elements(r.len() as u64));
    g.bench_function("group_by_host", |b| {
        b.iter(|| black_box(by_host(black_box(&r))).len())
    });
    g.bench_function("ndjson", |b| {
        let mut out = Vec::with_capacity(8 << 20);
        b.iter(|| {
            out.clear();
            for x in &r {
                ndjson(x, &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    g.bench_function("human_view", |b| {
        let mut out = Vec::with_capacity(1 << 16);
        let opts = Options::default();
        b.iter(|| {
            out.clear();
            ScanView {
                results: &r,
                method: "connect",
                ports: r.len(),
                seconds: 1.0,
            }
            .human(&opts, &mut out)
            .unwrap();
            black_box(out.len())
        })
    });
    g.finish();
    c.bench_function("ports_parse_all", |b| {
        b.iter(|| black_box(ports::parse(black_box("-")).unwrap()).len())
    });
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
