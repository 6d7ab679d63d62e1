//! Any bytes through the filter's scanner: no panic, and an address it
//! reports inside really is inside one of the patterns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::subnet::filter::{Filter, FilterOptions, LineClass};
use netray::subnet::RangeSet;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, line)) = data.split_first() else {
        return;
    };
    let pats: &[&str] = match sel % 4 {
        0 => &["0.0.0.0/0"],
        1 => &["::/0"],
        2 => &["0.0.0.0/0", "::/0"],
        _ => &["192.0.2.0/24", "2001:db8::/32", "10.0.0.0-10.0.0.9"],
    };
    let mut set = RangeSet::default();
    for p in pats {
        set.extend(&p.parse().expect("fixed pattern"));
    }
    let nets: Vec<ipnetwork::IpNetwork> = set.clone().to_cidrs();
    let opts = FilterOptions {
        invert: sel & 4 != 0,
        include_no_address: sel & 8 != 0,
        strict_start: sel & 16 != 0,
    };
    let mut f = Filter::new(&mut set, opts);
    if let LineClass::Inside(a) = f.classify(line) {
        assert!(nets.iter().any(|n| n.contains(a)), "{a} reported inside");
    }
    // the streaming driver over the same bytes, in tiny blocks
    struct Null;
    impl netray::subnet::filter::Sink for Null {
        fn per_line(&self) -> bool {
            false
        }
        fn raw(&mut self, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }
        fn line(&mut self, _: u64, _: &[u8], _: Option<std::net::IpAddr>) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut f = f.with_block_size(usize::from(sel % 7) + 1);
    f.run(line, &mut Null).expect("in memory");
});
