//! Any bytes as a capture file: the reader never panics, frames are within
//! the input, and every frame decodes without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::capture::{decode, read_frames, Flow};

fuzz_target!(|data: &[u8]| {
    let mut count = 0u64;
    let result = read_frames(data, |frame| {
        count += 1;
        assert_eq!(frame.n, count);
        assert!(frame.data.len() <= data.len());
        let _ = decode(frame);
        Ok(Flow::Continue)
    });
    if let Ok(summary) = result {
        assert_eq!(summary.packets, count);
        assert!(summary.bytes <= data.len() as u64);
    }
});
