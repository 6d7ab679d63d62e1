//! ARP over raw sockets: frames ([`frame`]), resolve / sweep / duplicate
//! detection ([`probe`]), and the passive watch ([`watch`]).

pub mod frame;
pub mod ndp;
pub mod probe;
pub mod watch;
