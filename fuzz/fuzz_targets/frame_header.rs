//! Any bytes as a stream of protocol v1 frames, read the way the server
//! reads them: length prefix, header, body skipped. Nothing panics; every
//! header that parses survives an encode/parse round trip; file names
//! are checked without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netray::probe::files::components;
use netray::wire::frame::{header_len, Header, MAX_HEADER};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while rest.len() >= 4 {
        let prefix = [rest[0], rest[1], rest[2], rest[3]];
        rest = &rest[4..];
        let Ok(len) = header_len(prefix, MAX_HEADER) else {
            return;
        };
        let Some(json) = rest.get(..len) else {
            return;
        };
        rest = &rest[len..];
        let Ok(h) = Header::parse_lenient(json) else {
            return;
        };
        let _ = h.check_version();
        let bytes = h.encode();
        let again = Header::parse_lenient(&bytes[4..]).expect("an encoded header parses");
        assert_eq!(again.op(), h.op());
        assert_eq!(again.size(), h.size());
        if let Some(name) = h.str("name") {
            if let Ok(parts) = components(name) {
                assert!(parts.iter().all(|p| !p.is_empty() && *p != ".." && *p != "."));
            }
        }
        let skip = usize::try_from(h.size()).unwrap_or(usize::MAX).min(rest.len());
        rest = &rest[skip..];
    }
});
