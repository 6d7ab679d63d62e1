//! Any text as /proc/net/route or /proc/net/ipv6_route: parsing never
//! panics, and whatever parses can be decided on without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::link::route::{decide, parse_v4, parse_v6};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut routes = parse_v4(text).unwrap_or_default();
    routes.extend(parse_v6(text).unwrap_or_default());
    for r in &routes {
        let _ = r.text();
    }
    for target in ["192.0.2.1", "2001:db8::1", "127.0.0.1", "0.0.0.0"] {
        let _ = decide(target.parse().unwrap(), &routes, &[]);
    }
});
