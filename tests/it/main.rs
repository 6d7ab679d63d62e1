//! netray's one integration-test binary (one link step on 2 cores).
//!
//! - `cli`: help, version, completions, man page, colour rules.
//! - `subnet`: every subnet command, human and JSON, and every error path.
//! - `props`: property tests of the subnet arithmetic and the filter.
//! - `peers`: the same inputs through ipcalc, sipcalc, grepcidr and
//!   Python's ipaddress (ignored unless those are installed; .ci/run
//!   installs them).
//! - `link`: iface, route and live capture; the real thing runs in a
//!   namespace LAN built by `netns` (root only, ignored otherwise).

mod arp;
mod attack;
mod capture;
mod cli;
mod conformance;
mod dns;
mod dnsfake;
mod link;
mod netns;
mod peers;
mod probe;
mod props;
mod scan;
mod subnet;
mod util;
