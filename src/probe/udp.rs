//! The UDP server: one socket, each datagram answered to its sender
//! (echo, upper) or counted (discard). A datagram over the size limit is
//! counted and not answered; nothing a peer sends stops the server.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::{Event, Mode, Summary};
use crate::{Error, Result};

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65507;

/// Peers remembered for `peer` events (beyond this, new peers are still
/// served but no longer announced).
const PEERS: usize = 4096;

/// Binds the socket (SO_REUSEADDR). Must be called inside a tokio runtime.
///
/// # Errors
/// The address cannot be bound.
pub fn bind(addr: SocketAddr) -> Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let fail = |e: std::io::Error| Error::io(format!("binding UDP {addr}"), e);
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, None).map_err(fail)?;
    s.set_reuse_address(true).map_err(fail)?;
    s.set_nonblocking(true).map_err(fail)?;
    // bursts from many clients queue here instead of being dropped
    drop(s.set_recv_buffer_size(4 << 20));
    s.bind(&addr.into()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            Error::port_privilege(format!("binding UDP port {}", addr.port()), addr.port())
        } else {
            fail(e)
        }
    })?;
    UdpSocket::from_std(s.into()).map_err(fail)
}

/// Serves datagrams until `shutdown` turns true; returns the totals.
///
/// # Errors
/// The socket fails for good (not a per-datagram error).
pub async fn serve(
    sock: UdpSocket,
    mode: Mode,
    max_datagram: usize,
    mut shutdown: watch::Receiver<bool>,
    events: Sender<Event>,
) -> Result<Summary> {
    let addr = sock
        .local_addr()
        .map_err(|e| Error::io("reading the bound address", e))?;
    drop(events.send(Event::Listening {
        proto: "udp",
        addr,
        mode,
    }));
    let started = Instant::now();
    let mut s = Summary {
        datagrams: Some(0),
        oversized: Some(0),
        ..Summary::default()
    };
    let (mut datagrams, mut oversized) = (0u64, 0u64);
    let mut peers: HashSet<SocketAddr> = HashSet::new();
    // one byte more than the largest datagram, so nothing is cut silently
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, peer) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(v) => v,
                // ICMP errors from earlier sends (port unreachable) land
                // here on Linux: they concern one peer, not the server
                Err(_) => continue,
            },
            _ = shutdown.wait_for(|s| *s) => break,
        };
        datagrams += 1;
        s.bytes_in += n as u64;
        if peers.len() < PEERS && peers.insert(peer) {
            s.connections += 1;
            drop(events.send(Event::Peer { peer }));
        }
        if n > max_datagram {
            oversized += 1;
            continue;
        }
        let out = &mut buf[..n];
        match mode {
            Mode::Discard | Mode::Frame => continue,
            Mode::Upper => out.make_ascii_uppercase(),
            Mode::Echo => {}
        }
        if let Ok(sent) = sock.send_to(out, peer).await {
            s.bytes_out += sent as u64;
        }
    }
    s.datagrams = Some(datagrams);
    s.oversized = Some(oversized);
    s.seconds = crate::model::secs(started.elapsed());
    Ok(s)
}
