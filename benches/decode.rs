//! The decode hot path on the fixture capture: reading, decoding into a
//! reused `Packet`, the summary line and the JSON writer (per packet).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netray::capture::{decode_into, read_frames, Flow};
use netray::model::packet::Packet;
use netray::output::packet::{PacketWriter, TimeMode};
use netray::output::packet_json::JsonWriter;

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mix.pcap"))
        .expect("fixtures/mix.pcap")
}

fn bench(c: &mut Criterion) {
    let file = fixture();
    let mut packets = 0u64;
    read_frames(&file[..], |_| {
        packets += 1;
        Ok(Flow::Continue)
    })
    .expect("fixture reads");
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(packets));
    g.bench_function("read", |b| {
        b.iter(|| {
            read_frames(&file[..], |f| {
                black_box(f.data);
                Ok(Flow::Continue)
            })
        })
    });
    let mut p = Packet::default();
    g.bench_function("read+decode", |b| {
        b.iter(|| {
            read_frames(&file[..], |f| {
                decode_into(f, &mut p);
                black_box(&p);
                Ok(Flow::Continue)
            })
        })
    });
    let mut out = Vec::with_capacity(1 << 20);
    let mut w = PacketWriter::new(TimeMode::Abs);
    g.bench_function("read+decode+line", |b| {
        b.iter(|| {
            out.clear();
            read_frames(&file[..], |f| {
                decode_into(f, &mut p);
                w.line_into(&p, &mut out);
                Ok(Flow::Continue)
            })
        })
    });
    let mut json = JsonWriter::default();
    g.bench_function("read+decode+json", |b| {
        b.iter(|| {
            out.clear();
            read_frames(&file[..], |f| {
                decode_into(f, &mut p);
                json.write(&p, &mut out);
                Ok(Flow::Continue)
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
