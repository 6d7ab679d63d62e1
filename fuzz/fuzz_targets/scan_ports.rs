//! Any text as a port list: parsing never panics, and what parses is
//! sorted, without repeats, inside 1-65535. (Target specs are not fuzzed:
//! a name would go to the system's DNS resolver.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::scan::ports;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = ports::parse(text) {
        assert!(!list.is_empty());
        assert!(list.windows(2).all(|w| w[0] < w[1]));
        assert!(list[0] >= 1);
    }
});
