//! Owned, serialisable results: the JSON contract of netray.
//!
//! Every type here derives `Serialize`; its field names are the JSON field
//! names documented in docs/json.md. Domains build these values; `output/`
//! renders them as tables or JSON. Nothing here does I/O.

pub mod arp;
pub mod packet;
pub mod stats;
pub mod subnet;
pub mod text;

use std::time::Duration;

/// A duration in seconds for the JSON contract: one division of the whole
/// nanoseconds, so the value is the double nearest the decimal and prints
/// without float noise (`1.012946`, not the `1.0129460000000001` that
/// `Duration::as_secs_f64`'s sum of two parts can give).
pub fn secs(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e9
}

/// A duration in milliseconds for the JSON contract, as [`secs`].
pub fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_without_float_noise() {
        for nanos in [
            1_012_946_000u64,
            3_141_592_653,
            999_999,
            1,
            86_399_999_999_999,
        ] {
            let d = Duration::from_nanos(nanos);
            let s = serde_json::to_string(&secs(d)).unwrap();
            let m = serde_json::to_string(&ms(d)).unwrap();
            // the decimal digits of the nanoseconds, nothing more
            assert!(s.len() <= 16, "{nanos}: {s}");
            assert!(m.len() <= 20, "{nanos}: {m}");
            assert_eq!(s.parse::<f64>().unwrap(), nanos as f64 / 1e9);
        }
        assert_eq!(
            serde_json::to_string(&secs(Duration::from_nanos(1_012_946_000))).unwrap(),
            "1.012946"
        );
        assert_eq!(
            serde_json::to_string(&ms(Duration::from_nanos(1_012_946_000))).unwrap(),
            "1012.946"
        );
    }
}
