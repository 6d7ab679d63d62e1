//! Results of the ARP commands (the JSON contract of `arp resolve`,
//! `arp scan` and `arp check`; `arp watch` streams `arp::watch::Alert`s).

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use crate::oui::Vendor;

/// One MAC that answered, with its vendor and round trip.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    /// The MAC.
    pub mac: String,
    /// Its vendor or kind.
    pub vendor: Vendor,
    /// Round trip in milliseconds.
    pub rtt_ms: f64,
}

/// `arp resolve`.
#[derive(Debug, Clone, Serialize)]
pub struct ResolveReport {
    /// The address the user asked about.
    pub target: Ipv4Addr,
    /// The address ARP asked for: the target, or the gateway when the
    /// target is off-link.
    pub asked: Ipv4Addr,
    /// True when `asked` is the gateway.
    pub via_gateway: bool,
    /// The interface.
    pub iface: String,
    /// Our address on it (the ARP sender address).
    pub source: Ipv4Addr,
    /// Why this interface and address (the routing decision).
    pub explanation: String,
    /// Each round: the replies it got (empty: none).
    pub rounds: Vec<Vec<Reply>>,
    /// Rounds that got a reply.
    pub answered: u32,
    /// min / avg / max round trip over all replies, in ms.
    pub rtt_min_ms: Option<f64>,
    /// Average.
    pub rtt_avg_ms: Option<f64>,
    /// Maximum.
    pub rtt_max_ms: Option<f64>,
    /// More than one MAC answered for the address.
    pub duplicate: bool,
}

/// One host found by `arp scan` (one NDJSON line).
#[derive(Debug, Clone, Serialize)]
pub struct ScanHost {
    /// The address.
    pub ip: IpAddr,
    /// The (first) MAC that answered.
    pub mac: String,
    /// Its vendor or kind.
    pub vendor: Vendor,
    /// Round trip of that answer, in ms.
    pub rtt_ms: f64,
    /// Several MACs answered for this address.
    pub duplicate: bool,
    /// Every MAC that answered (one unless duplicate).
    pub macs: Vec<String>,
    /// `arp` or `ndp`.
    pub via: &'static str,
}

/// The end of an `arp scan` (human view only; JSON has the hosts).
#[derive(Debug, Clone, Serialize)]
pub struct ScanSummary {
    /// The interface.
    pub iface: String,
    /// Addresses swept.
    pub targets: u64,
    /// Requests sent.
    pub sent: u64,
    /// Hosts that answered.
    pub found: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The sweep was of an IPv6 prefix (neighbour discovery only).
    pub ipv6_prefix: bool,
}

/// `arp check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The address probed.
    pub target: Ipv4Addr,
    /// The interface.
    pub iface: String,
    /// Probes sent.
    pub probes: u32,
    /// True when nobody claimed it.
    pub free: bool,
    /// The stations that did.
    pub conflicts: Vec<ConflictView>,
}

/// One station using a probed address.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictView {
    /// Its MAC.
    pub mac: String,
    /// Its vendor or kind.
    pub vendor: Vendor,
    /// `reply`, `request` or `probe`.
    pub how: &'static str,
    /// Milliseconds after the first probe.
    pub after_ms: f64,
}
