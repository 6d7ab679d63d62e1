//! Any bytes as a frame for the ARP and NDP readers, and as a baseline
//! file for `arp watch`: no panics; what parses as ARP feeds the watcher.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::arp::{frame, ndp, watch};
use netray::model::packet::Timestamp;

fuzz_target!(|data: &[u8]| {
    let _ = ndp::parse(data);
    if let Some(seen) = frame::parse(data) {
        let mut w = watch::Watcher::new(watch::Baseline::default(), 2);
        let _ = w.observe(Timestamp::default(), &seen);
        let _ = w.observe(Timestamp::default(), &seen);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = watch::Baseline::parse(text);
        let _ = watch::parse_mac(text);
    }
});
