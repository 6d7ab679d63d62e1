//! Any bytes as text from the wire, and as a packet: nothing that can
//! steer a terminal (C0 and C1 controls, DEL, bidirectional overrides)
//! survives `output::safe`, and a decoded packet's summary is one line
//! without an ESC, whatever its DNS names and data hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::capture::{decode, Frame, Timestamp};
use netray::output::packet::PacketWriter;
use netray::output::safe::{esc, esc_bytes};

fn steers(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fuzz_target!(|data: &[u8]| {
    let shown = esc_bytes(data);
    assert!(!shown.chars().any(steers), "{shown:?}");
    if let Ok(s) = std::str::from_utf8(data) {
        let e = esc(s);
        assert!(!e.chars().any(steers), "{e:?}");
        if !s.chars().any(steers) {
            assert_eq!(e, s, "clean text is shown as it is");
        }
    }
    // the same bytes as a DNS response over UDP, as decode shows it
    let mut frame = vec![2, 0, 0x5e, 0, 0, 1, 2, 0, 0x5e, 0, 0, 2, 0x08, 0x00];
    let udp_len = (8 + data.len()).min(65_507) as u16;
    let ip_len = 20 + udp_len;
    frame.extend_from_slice(&[0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, 0, 0, 0, 64, 17, 0, 0]);
    frame.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2, 0, 53, 0x9c, 0x40]);
    frame.extend_from_slice(&udp_len.to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&data[..data.len().min(65_507 - 8)]);
    let f = Frame {
        n: 1,
        ts: Timestamp::default(),
        linktype: 1,
        iface: None,
        len: frame.len() as u32,
        data: &frame,
    };
    let p = decode(&f);
    let mut w = PacketWriter::new(Default::default());
    let mut line = Vec::new();
    w.line_into(&p, &mut line);
    assert!(!line.contains(&0x1b), "{}", String::from_utf8_lossy(&line));
    let body = line.strip_suffix(b"\n").unwrap_or(&line);
    assert!(!body.contains(&b'\n'), "{}", String::from_utf8_lossy(&line));
    let mut tree = Vec::new();
    w.tree(&p, &mut tree).expect("in memory");
    assert!(!tree.contains(&0x1b), "{}", String::from_utf8_lossy(&tree));
});
