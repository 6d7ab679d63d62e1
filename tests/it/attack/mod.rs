//! The standing attack suite (docs/security.md): hostile clients against
//! the real server on loopback, hostile captures against every command
//! that reads them, hostile DNS servers against lookup and trace. Each
//! test asserts no panic, bounded time and memory, the exact exit status,
//! and, for the server, that no other client was starved.

mod captures;
mod dns;
mod server;

/// No panic message on a process's stderr.
pub fn no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "a panic reached the user: {stderr}"
    );
}
