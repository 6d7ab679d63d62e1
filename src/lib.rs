//! netray: network diagnostics and packet inspection in one binary.
//!
//! The crate is layered (see docs/architecture.md); each layer is a module
//! and depends only on the layers above it in this list:
//!
//! 1. `model`: owned, serialisable results, the JSON contract.
//! 2. domains: [`subnet`], [`capture`], [`filter`], [`analysis`],
//!    [`link`], [`oui`], [`arp`], [`dns`], [`scan`], [`probe`] (`wire`
//!    parses bytes for them).
//! 3. [`output`]: renders models as tables or JSON; the only writer of stdout.
//! 4. [`cli`]: clap definitions and one handler per command.
//!
//! [`Error`] carries the exit code of every failure.

// Library code reports errors; it does not unwrap them (tests may).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod analysis;
pub mod arp;
pub mod capture;
pub mod cli;
pub mod dns;
pub mod error;
pub mod filter;
pub mod link;
pub mod model;
pub mod oui;
pub mod output;
pub mod probe;
pub mod scan;
pub mod subnet;
pub mod wire;

pub use error::{Error, Result};
