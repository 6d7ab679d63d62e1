//! Any bytes as a server's response during a trace: whatever hickory
//! parses, the walk's judgement (answer, referral, CNAME, negative, lame)
//! never panics, for a query at the root and one deep in the tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::dns::trace::outcome_of;

fuzz_target!(|data: &[u8]| {
    let _ = outcome_of(data, "www.example.com.", ".");
    let _ = outcome_of(data, "www.example.com.", "example.com.");
});
