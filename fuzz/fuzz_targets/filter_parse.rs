//! Any text as a filter: parsing never panics; an error names a column
//! inside the text (or just past it); a filter that parses evaluates on a
//! packet without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::filter::Filter;
use netray::model::packet::Packet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Filter::parse(text) {
        Ok(f) => {
            let _ = f.matches(&Packet::default());
        }
        Err(e) => assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "{e}"),
    }
});
