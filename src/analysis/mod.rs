//! Analyses over decoded packets: statistics and TCP stream reassembly.
//! Memory grows with the number of flows, never with the number of packets.

pub mod follow;
pub mod stats;
