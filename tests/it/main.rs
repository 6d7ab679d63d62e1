//! netray's one integration-test binary (one link step on 2 cores).
//!
//! - `cli`: help, version, completions, man page, colour rules.
//! - `subnet`: every subnet command, human and JSON, and every error path.
//! - `props`: property tests of the subnet arithmetic and the filter.
//! - `peers`: the same inputs through ipcalc, sipcalc, grepcidr and
//!   Python's ipaddress (ignored unless those are installed; .ci/run
//!   installs them).

mod capture;
mod cli;
mod conformance;
mod peers;
mod props;
mod subnet;
mod util;
