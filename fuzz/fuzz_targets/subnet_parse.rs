//! Any text through every subnet parser: no panic, and what parses
//! round-trips through its own output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::subnet::{bounds, calc, parse_cidr_input, parse_spec, range_to_cidrs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(net) = parse_cidr_input(text) {
        let c = calc(text, &net);
        // the network prints as CIDR and parses back to itself
        let back = parse_cidr_input(&c.cidr.to_string()).expect("own output parses");
        assert_eq!(bounds(&back), bounds(&c.cidr));
        assert!(c.first_host <= c.last_host);
    }
    if let Ok((family, a, b)) = parse_spec(text) {
        let cidrs = range_to_cidrs(family, a, b);
        // contiguous cover of exactly [a, b]
        let mut next = a;
        for n in &cidrs {
            let (_, first, last) = bounds(n);
            assert_eq!(first, next);
            next = last.wrapping_add(1);
        }
        assert_eq!(next, b.wrapping_add(1));
    }
});
