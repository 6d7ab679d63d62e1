//! Any bytes as a packet of any common link type: decoding never panics,
//! the hand-written JSON equals serde's, and the summary line and tree are
//! written without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::capture::{decode, Frame, Timestamp};
use netray::output::packet::PacketWriter;
use netray::output::packet_json::write_packet;

const LINKTYPES: [u32; 8] = [1, 101, 113, 276, 0, 108, 228, 229];

fuzz_target!(|input: &[u8]| {
    let Some((&sel, data)) = input.split_first() else {
        return;
    };
    let frame = Frame {
        n: 1,
        ts: Timestamp { secs: i64::from(sel) * 1_000_000, nanos: 7, digits: 6 },
        linktype: LINKTYPES[usize::from(sel) % LINKTYPES.len()],
        iface: None,
        len: data.len() as u32,
        data,
    };
    let p = decode(&frame);
    let mut out = Vec::new();
    write_packet(&p, &mut out);
    let ours: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(ours, serde_json::to_value(&p).expect("serde"));
    let mut w = PacketWriter::new(Default::default());
    let mut text = Vec::new();
    w.tree(&p, &mut text).expect("in memory");
    w.hex(data, &mut text).expect("in memory");
});
