//! Raw Ethernet frames in and out of one interface (AF_PACKET through
//! pnet's datalink channel), behind [`FrameIo`] so that the logic above
//! (capture loops, ARP retries and reply matching) is unit-tested with a
//! fake.

use std::io;
use std::time::{Duration, Instant};

use crate::Error;

/// Sends frames and receives them with a deadline.
pub trait FrameIo {
    /// Sends one whole Ethernet frame.
    ///
    /// # Errors
    /// The kernel refused it.
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;

    /// The next frame, or `None` when `deadline` passes first.
    ///
    /// # Errors
    /// The socket failed.
    fn recv(&mut self, deadline: Instant) -> io::Result<Option<&[u8]>>;
}

/// How a channel is opened.
#[derive(Debug, Clone, Copy)]
pub struct ChannelOptions {
    /// Put the interface into promiscuous mode while open.
    pub promiscuous: bool,
    /// Largest frame kept whole (bigger ones are cut by the kernel).
    pub buffer: usize,
    /// How often `recv` wakes up to look at its deadline.
    pub poll: Duration,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        ChannelOptions {
            promiscuous: false,
            // loopback's MTU is 64 KiB, and GRO on veth can merge more
            buffer: 256 * 1024,
            poll: Duration::from_millis(50),
        }
    }
}

/// A pnet datalink channel on one interface.
pub struct PnetChannel {
    tx: Box<dyn pnet::datalink::DataLinkSender>,
    rx: Box<dyn pnet::datalink::DataLinkReceiver>,
    frame: Vec<u8>,
    /// A duplicate of the socket's descriptor, polled with the exact
    /// deadline (pnet's own wait has one fixed timeout).
    ready: std::os::fd::OwnedFd,
}

impl std::fmt::Debug for PnetChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PnetChannel").finish_non_exhaustive()
    }
}

pub use crate::error::exe_path;

/// Maps a socket error to netray's error: missing privilege is exit 3
/// with the hint, anything else an I/O error naming what was tried.
pub fn socket_error(what: &str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(1) {
        Error::raw_privilege(what)
    } else {
        Error::io(what, e)
    }
}

/// The usage error for an unknown interface, listing the ones there are.
pub fn no_such_interface(name: &str) -> Error {
    let names: Vec<String> = pnet::datalink::interfaces()
        .into_iter()
        .map(|i| i.name)
        .collect();
    Error::Usage(format!(
        "no interface named {name:?} (there are: {})",
        names.join(", ")
    ))
}

impl PnetChannel {
    /// Opens a channel on the named interface.
    ///
    /// # Errors
    /// No such interface (usage error, with the names there are), missing
    /// privilege (exit 3 with the hint), or another socket failure.
    pub fn open(name: &str, opts: ChannelOptions) -> Result<PnetChannel, Error> {
        use std::os::fd::IntoRawFd;
        let iface = super::iface::pnet_by_name(name).ok_or_else(|| no_such_interface(name))?;
        let what = format!("opening a raw socket on {name}");
        let fd = packet_socket().map_err(|e| socket_error(&what, e))?;
        let ready = fd.try_clone().map_err(|e| Error::io(&what, e))?;
        let cfg = pnet::datalink::Config {
            read_buffer_size: opts.buffer,
            write_buffer_size: 64 * 1024,
            read_timeout: Some(opts.poll),
            promiscuous: opts.promiscuous,
            // pnet owns (and closes) it from here on
            socket_fd: Some(fd.into_raw_fd()),
            ..Default::default()
        };
        match pnet::datalink::channel(&iface, cfg) {
            Ok(pnet::datalink::Channel::Ethernet(tx, rx)) => Ok(PnetChannel {
                tx,
                rx,
                frame: Vec::with_capacity(opts.buffer),
                ready,
            }),
            Ok(_) => Err(Error::io(
                &what,
                io::Error::other("not an Ethernet channel"),
            )),
            Err(e) => Err(socket_error(&what, e)),
        }
    }
}

/// The receive buffer asked for: a burst of 4 MiB of frames is kept.
const RCVBUF: usize = 4 << 20;

/// An AF_PACKET raw socket for every protocol, with a large receive
/// buffer: forced past `rmem_max` where the process may (CAP_NET_ADMIN),
/// else as large as `rmem_max` allows.
fn packet_socket() -> io::Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockProtocol, SockType};
    let fd = socket::socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthAll,
    )
    .map_err(io::Error::from)?;
    if socket::setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_err() {
        // not privileged for that: the plain option, capped by rmem_max
        let _ = socket::setsockopt(&fd, sockopt::RcvBuf, &RCVBUF);
    }
    Ok(fd)
}

impl FrameIo for PnetChannel {
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        match self.tx.send_to(frame, None) {
            Some(r) => r,
            None => Err(io::Error::other("the channel could not send")),
        }
    }

    fn recv(&mut self, deadline: Instant) -> io::Result<Option<&[u8]>> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // poll counts whole milliseconds: the last fraction is slept
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.ready.as_fd(), PollFlags::POLLIN)];
            let n = match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(io::Error::from(e)),
            };
            if n == 0 {
                if ms == 0 {
                    std::thread::sleep(left.min(Duration::from_millis(1)));
                }
                continue;
            }
            // readable: pnet's own wait returns at once
            match self.rx.next() {
                Ok(f) => {
                    self.frame.clear();
                    self.frame.extend_from_slice(f);
                    return Ok(Some(&self.frame));
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Loopback for frames that must reach the local stack: a frame written
/// to lo's packet socket is seen leaving but never arrives, so frames go
/// out through raw IP sockets instead (IPv4 with the frame's own header,
/// IPv6 as the TCP segment under the kernel's header), while frames are
/// read from lo's packet socket as usual. TCP only (the SYN scan's use).
pub struct LoopbackIo {
    chan: PnetChannel,
    v4: Option<pnet::transport::TransportSender>,
    v6: Option<pnet::transport::TransportSender>,
}

impl std::fmt::Debug for LoopbackIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackIo").finish_non_exhaustive()
    }
}

fn raw_tcp(v4: bool) -> io::Result<pnet::transport::TransportSender> {
    use pnet::packet::ip::IpNextHeaderProtocols::Tcp;
    use pnet::transport::{TransportChannelType, TransportProtocol};
    let kind = if v4 {
        TransportChannelType::Layer3(Tcp)
    } else {
        TransportChannelType::Layer4(TransportProtocol::Ipv6(Tcp))
    };
    // the receiving half is not read: its queue just fills and drops
    let (tx, _rx) = pnet::transport::transport_channel(4096, kind)?;
    Ok(tx)
}

impl LoopbackIo {
    /// Opens lo's packet socket and the raw IP socket of one family now,
    /// so that a missing privilege is exit 3 before anything is sent.
    ///
    /// # Errors
    /// No such interface, missing privilege, or another socket failure.
    pub fn open(lo: &str, ipv4: bool) -> Result<LoopbackIo, Error> {
        let chan = PnetChannel::open(lo, ChannelOptions::default())?;
        let tx = raw_tcp(ipv4).map_err(|e| socket_error("opening a raw IP socket", e))?;
        let (v4, v6) = if ipv4 {
            (Some(tx), None)
        } else {
            (None, Some(tx))
        };
        Ok(LoopbackIo { chan, v4, v6 })
    }
}

impl FrameIo for LoopbackIo {
    fn send(&mut self, f: &[u8]) -> io::Result<()> {
        let bad = || io::Error::other("not an IP frame");
        let ip = f.get(14..).ok_or_else(bad)?;
        match f.get(12..14) {
            Some([0x08, 0x00]) => {
                let dst: [u8; 4] = ip
                    .get(16..20)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?;
                let pkt = pnet::packet::ipv4::Ipv4Packet::new(ip).ok_or_else(bad)?;
                if self.v4.is_none() {
                    self.v4 = Some(raw_tcp(true)?);
                }
                if let Some(tx) = &mut self.v4 {
                    tx.send_to(pkt, std::net::IpAddr::from(dst))?;
                }
            }
            Some([0x86, 0xdd]) => {
                let dst: [u8; 16] = ip
                    .get(24..40)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?;
                let seg = pnet::packet::tcp::TcpPacket::new(ip.get(40..).ok_or_else(bad)?)
                    .ok_or_else(bad)?;
                if self.v6.is_none() {
                    self.v6 = Some(raw_tcp(false)?);
                }
                if let Some(tx) = &mut self.v6 {
                    tx.send_to(seg, std::net::IpAddr::from(dst))?;
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    fn recv(&mut self, deadline: Instant) -> io::Result<Option<&[u8]>> {
        self.chan.recv(deadline)
    }
}
