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
//! - `capture`, `conformance`: decode, stats, follow and the capture
//!   engine on fixtures and made captures, and against tshark.
//! - `arp`, `dns` (with `dnsfake`), `probe`, `scan`: each domain's commands.
//! - `attack`: the standing attack suite (docs/security.md): hostile
//!   clients, captures and DNS servers.
//! - `invariants`: the architecture's rules checked on the source.

mod arp;
mod attack;
mod capture;
mod cli;
mod conformance;
mod dns;
mod dnsfake;
mod invariants;
mod link;
mod netns;
mod peers;
mod probe;
mod props;
mod scan;
mod subnet;
mod util;
