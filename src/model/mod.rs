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
