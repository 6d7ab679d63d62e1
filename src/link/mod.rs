//! The link layer of this host: interfaces ([`iface`]), the routing
//! decision ([`route`]), and raw frame channels ([`channel`]) behind a
//! small trait so that the logic above them is tested with a fake.

pub mod channel;
pub mod iface;
pub mod route;
