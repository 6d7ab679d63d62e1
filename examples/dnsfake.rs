//! Runs the test DNS hierarchy (tests/it/dnsfake.rs) on loopback for the
//! benchmark script and for trying `dns trace` by hand: prints the port,
//! then serves until stdin closes or the lifetime (seconds, default 60)
//! ends.
//!
//!     cargo run --example dnsfake -- [SECONDS]

#[path = "../tests/it/dnsfake.rs"]
mod dnsfake;

use std::io::Read;
use std::time::Duration;

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let h = dnsfake::start();
    println!("{}", h.port);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(Duration::from_secs(secs));
    drop(h);
}
