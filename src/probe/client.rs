//! Clients: a frame client (blocking, one request at a time), file
//! transfer over it, remote commands, and raw TCP/UDP clients for the
//! echo, upper and discard servers.

use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::files::Entry;
use crate::wire::frame::{self, Header, MAX_HEADER};
use crate::{Error, Result};

/// Bytes moved per read or write of a body.
const CHUNK: usize = 1 << 20;

/// Largest body a client keeps in memory (echo replies, listings, exec
/// output); files are streamed and have no such limit.
const MAX_HELD: u64 = 256 << 20;

fn io_err(what: impl std::fmt::Display, peer: SocketAddr) -> impl Fn(io::Error) -> Error {
    let context = format!("{what} {peer}");
    move |e| Error::io(context.clone(), e)
}

/// Connects with a time limit; a refused or unreachable peer is exit 4.
///
/// # Errors
/// The connection fails.
pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout).map_err(io_err("connecting to", addr))?;
    drop(s.set_nodelay(true));
    Ok(s)
}

/// A connection to a frame server.
#[derive(Debug)]
pub struct FrameClient {
    wr: TcpStream,
    rd: BufReader<TcpStream>,
    peer: SocketAddr,
    next_id: i64,
}

impl FrameClient {
    /// Connects; `timeout` bounds the connect and every later read.
    ///
    /// # Errors
    /// The connection fails.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<FrameClient> {
        let wr = connect(addr, timeout)?;
        wr.set_read_timeout(Some(timeout))
            .map_err(io_err("configuring", addr))?;
        let rd = wr.try_clone().map_err(io_err("configuring", addr))?;
        Ok(FrameClient {
            rd: BufReader::with_capacity(64 << 10, rd),
            wr,
            peer: addr,
            next_id: 1,
        })
    }

    /// The server.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Changes the read timeout (None: wait for ever).
    ///
    /// # Errors
    /// The socket refuses.
    pub fn set_timeout(&self, t: Option<Duration>) -> Result<()> {
        self.wr
            .set_read_timeout(t)
            .map_err(io_err("configuring", self.peer))
    }

    /// A second handle on the socket (to write while another thread reads).
    ///
    /// # Errors
    /// The socket cannot be duplicated.
    pub fn writer(&self) -> Result<TcpStream> {
        self.wr
            .try_clone()
            .map_err(io_err("configuring", self.peer))
    }

    /// A request header with a fresh id.
    pub fn request(&mut self, op: &str, size: u64) -> Header {
        let mut h = Header::new(op, size);
        h.set_id(Some(self.next_id));
        self.next_id += 1;
        h
    }

    /// Writes bytes as they are.
    ///
    /// # Errors
    /// The socket fails.
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.wr
            .write_all(bytes)
            .map_err(io_err("sending to", self.peer))
    }

    /// Writes a frame whose body is in memory, in one write.
    ///
    /// # Errors
    /// The socket fails.
    pub fn send(&mut self, h: &Header, body: &[u8]) -> Result<()> {
        let mut bytes = h.encode();
        bytes.extend_from_slice(body);
        self.write_raw(&bytes)
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        self.rd.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                Error::Protocol(format!(
                    "{} closed the connection inside a {what}",
                    self.peer
                ))
            } else {
                Error::io(format!("reading a {what} from {}", self.peer), e)
            }
        })
    }

    /// Reads the next frame's header; an `error` frame (its body skipped)
    /// becomes [`Error::Remote`].
    ///
    /// # Errors
    /// The socket fails, the frame is malformed, or it is an `error`.
    pub fn read_header(&mut self) -> Result<Header> {
        let mut prefix = [0u8; 4];
        match self.rd.read(&mut prefix[..1]) {
            Ok(0) => {
                return Err(Error::Protocol(format!(
                    "{} closed the connection without an answer",
                    self.peer
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(Error::io(format!("waiting for {}", self.peer), e)),
        }
        self.read_exact(&mut prefix[1..], "length prefix")?;
        let len = frame::header_len(prefix, MAX_HEADER)
            .map_err(|e| Error::Protocol(format!("{}: {e}", self.peer)))?;
        let mut json = vec![0u8; len];
        self.read_exact(&mut json, "header")?;
        let h = Header::parse(&json).map_err(|e| Error::Protocol(format!("{}: {e}", self.peer)))?;
        if h.op() == "error" {
            self.skip(h.size())?;
            return Err(Error::Remote {
                server: self.peer.to_string(),
                code: h.str("code").unwrap_or("unknown").to_owned(),
                message: h.str("message").unwrap_or("").to_owned(),
            });
        }
        Ok(h)
    }

    /// Reads a reply and checks it is `op`.
    ///
    /// # Errors
    /// As [`FrameClient::read_header`], or another op came.
    pub fn expect(&mut self, op: &str) -> Result<Header> {
        let h = self.read_header()?;
        if h.op() == op {
            Ok(h)
        } else {
            Err(Error::Protocol(format!(
                "{} answered {:?} where {op:?} was expected",
                self.peer,
                h.op()
            )))
        }
    }

    /// Reads a body of up to [`MAX_HELD`] bytes into memory.
    ///
    /// # Errors
    /// The socket fails, or the body is larger than that.
    pub fn body(&mut self, size: u64) -> Result<Vec<u8>> {
        if size > MAX_HELD {
            return Err(Error::Protocol(format!(
                "{} announced a {size}-byte body, over the {MAX_HELD} this client holds",
                self.peer
            )));
        }
        let mut b = vec![0u8; usize::try_from(size).unwrap_or(0)];
        self.read_exact(&mut b, "body")?;
        Ok(b)
    }

    /// Streams a body to `sink`, a piece at a time.
    ///
    /// # Errors
    /// The socket or the sink fails.
    pub fn copy_body(
        &mut self,
        size: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut left = size;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = self
                .rd
                .read(&mut buf[..want])
                .map_err(io_err("reading from", self.peer))?;
            if n == 0 {
                return Err(Error::Protocol(format!(
                    "{} closed the connection with {left} bytes of the body to come",
                    self.peer
                )));
            }
            sink(&buf[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Drops a body.
    ///
    /// # Errors
    /// The socket fails.
    pub fn skip(&mut self, size: u64) -> Result<()> {
        self.copy_body(size, &mut |_| Ok(()))
    }

    /// An `echo` round trip.
    ///
    /// # Errors
    /// As the steps.
    pub fn echo(&mut self, body: &[u8], upper: bool) -> Result<Vec<u8>> {
        let mut h = self.request("echo", body.len() as u64);
        if upper {
            h.set("transform", "upper");
        }
        self.send(&h, body)?;
        let r = self.expect("echo")?;
        self.body(r.size())
    }

    /// A `ping` round trip: the time it took and the server's clock (ns).
    ///
    /// # Errors
    /// As the steps.
    pub fn ping(&mut self) -> Result<(Duration, u64)> {
        let h = self.request("ping", 0);
        let start = Instant::now();
        self.send(&h, &[])?;
        let r = self.expect("pong")?;
        let rtt = start.elapsed();
        self.skip(r.size())?;
        if r.id() != h.id() {
            return Err(Error::Protocol(format!(
                "{} answered id {:?} to id {:?}",
                self.peer,
                r.id(),
                h.id()
            )));
        }
        Ok((rtt, r.u64("t").unwrap_or(0)))
    }

    /// The server's files.
    ///
    /// # Errors
    /// As the steps, or a listing that is not the documented JSON.
    pub fn list(&mut self) -> Result<Vec<Entry>> {
        let h = self.request("list", 0);
        self.send(&h, &[])?;
        let r = self.expect("listing")?;
        let body = self.body(r.size())?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::Protocol(format!("{}: listing is not JSON: {e}", self.peer)))
    }

    /// Runs an allow-listed command on the server.
    ///
    /// # Errors
    /// As the steps (`forbidden` for a command not allowed).
    pub fn exec(&mut self, cmd: &str, args: &[String]) -> Result<ExecResult> {
        let h = self
            .request("exec", 0)
            .with("cmd", cmd)
            .with("args", args.to_vec());
        self.send(&h, &[])?;
        let r = self.expect("result")?;
        let mut body = self.body(r.size())?;
        let out_len = usize::try_from(r.u64("stdout").unwrap_or(0))
            .unwrap_or(0)
            .min(body.len());
        let stderr = body.split_off(out_len);
        Ok(ExecResult {
            cmd: cmd.to_owned(),
            args: args.to_vec(),
            exit_code: r
                .get("exit_code")
                .and_then(serde_json::Value::as_i64)
                .and_then(|c| i32::try_from(c).ok()),
            signal: r
                .get("signal")
                .and_then(serde_json::Value::as_i64)
                .and_then(|c| i32::try_from(c).ok()),
            truncated: r.flag("truncated"),
            stdout: body,
            stderr,
        })
    }
}

/// What a remote command did.
#[derive(Debug, Clone, Serialize)]
pub struct ExecResult {
    /// The command.
    pub cmd: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its exit code (none when a signal ended it).
    pub exit_code: Option<i32>,
    /// The signal that ended it (null when it exited).
    pub signal: Option<i32>,
    /// Whether the server cut its output at its cap.
    pub truncated: bool,
    /// Standard output (JSON: as text, invalid UTF-8 replaced).
    #[serde(serialize_with = "lossy")]
    pub stdout: Vec<u8>,
    /// Standard error.
    #[serde(serialize_with = "lossy")]
    pub stderr: Vec<u8>,
}

fn lossy<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

/// A finished file transfer.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    /// `put` or `get`.
    pub op: &'static str,
    /// The name on the server.
    pub name: String,
    /// The local file.
    pub path: PathBuf,
    /// Bytes moved.
    pub bytes: u64,
    /// The SHA-256 both ends agreed on.
    pub sha256: String,
    /// Seconds, from the first byte read (hashing included) to the answer.
    pub seconds: f64,
    /// Throughput over those seconds.
    pub bits_per_second: f64,
}

/// Progress of a transfer: the phase, bytes done so far, and bytes in all.
pub type Progress<'a> = &'a mut dyn FnMut(&'static str, u64, u64);

/// Reads a file from start to end, handing each piece to `each` while a
/// second thread reads the next one (the read and the work overlap).
/// Returns the bytes read.
fn read_ahead(path: &Path, each: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<u64> {
    let file_err = |e| Error::File {
        path: path.to_owned(),
        source: e,
    };
    let mut f = fs::File::open(path).map_err(file_err)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(2);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        s.spawn(move || loop {
            let mut buf = back_rx.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
            match f.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx.send(Ok((buf, n))).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    drop(tx.send(Err(e)));
                    return;
                }
            }
        });
        let mut done = 0;
        for piece in rx {
            let (buf, n) = piece.map_err(file_err)?;
            each(&buf[..n])?;
            done += n as u64;
            drop(back_tx.send(buf));
        }
        Ok(done)
    })
}

/// Hashes a file, reporting progress.
fn hash_with_progress(path: &Path, size: u64, progress: Progress<'_>) -> Result<String> {
    let mut h = Sha256::new();
    let mut done = 0;
    read_ahead(path, &mut |b| {
        h.update(b);
        done += b.len() as u64;
        progress("hashing", done, size);
        Ok(())
    })?;
    Ok(super::sha256_hex(h))
}

/// Uploads `path` as `name`: hashes it, streams it, and checks the
/// server's SHA-256 against its own.
///
/// # Errors
/// The file, the connection, or the server's answer (`exists`,
/// `forbidden`, `checksum`, ...).
pub fn put(
    addr: SocketAddr,
    path: &Path,
    name: &str,
    overwrite: bool,
    timeout: Duration,
    progress: Progress<'_>,
) -> Result<Transfer> {
    let file_err = |e| Error::File {
        path: path.to_owned(),
        source: e,
    };
    let start = Instant::now();
    let size = fs::metadata(path).map_err(file_err)?.len();
    let sha = hash_with_progress(path, size, progress)?;
    let mut c = FrameClient::connect(addr, timeout)?;
    let mut h = c
        .request("put", size)
        .with("name", name)
        .with("sha256", sha.as_str());
    if overwrite {
        h.set("overwrite", true);
    }
    c.write_raw(&h.encode())?;
    let mut sent = 0u64;
    let mut refused = false;
    let streamed = read_ahead(path, &mut |b| {
        // a file that grew since it was hashed: only `size` bytes go
        let b = &b[..b
            .len()
            .min(usize::try_from(size - sent).unwrap_or(usize::MAX))];
        match c.wr.write_all(b) {
            Ok(()) => {}
            // the server refused early and closed: its answer says why
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                refused = true;
                return Err(Error::io(format!("sending to {addr}"), e));
            }
            Err(e) => return Err(Error::io(format!("sending to {addr}"), e)),
        }
        sent += b.len() as u64;
        progress("sending", sent, size);
        Ok(())
    });
    if let Err(e) = streamed {
        if refused {
            c.read_header()?;
        }
        return Err(e);
    }
    if sent < size {
        return Err(Error::Protocol(format!(
            "{} shrank while being sent ({sent} of {size} bytes)",
            path.display()
        )));
    }
    // the server hashes the tail of a large file after the last byte
    c.set_timeout(Some(timeout.max(Duration::from_secs(60))))?;
    let r = c.expect("ok")?;
    let theirs = r.str("sha256").unwrap_or("");
    if !theirs.eq_ignore_ascii_case(&sha) {
        return Err(Error::Protocol(format!(
            "{addr} stored SHA-256 {theirs}, but the file's is {sha}"
        )));
    }
    Ok(transfer("put", name, path, size, sha, start))
}

fn transfer(
    op: &'static str,
    name: &str,
    path: &Path,
    bytes: u64,
    sha256: String,
    start: Instant,
) -> Transfer {
    let seconds = crate::model::secs(start.elapsed());
    Transfer {
        op,
        name: name.to_owned(),
        path: path.to_owned(),
        bytes,
        sha256,
        seconds,
        bits_per_second: if seconds > 0.0 {
            bytes as f64 * 8.0 / seconds
        } else {
            0.0
        },
    }
}

/// A download's temporary file, removed unless it was renamed into place.
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            drop(fs::remove_file(&self.0));
        }
    }
}

/// Downloads `name` to `dest`: written to a temporary file beside it,
/// hashed on the way, renamed only when the SHA-256 matches. A download
/// that fails leaves nothing under `dest`.
///
/// # Errors
/// The connection, the server's answer, the local file, or a SHA-256
/// mismatch.
pub fn get(
    addr: SocketAddr,
    name: &str,
    dest: &Path,
    timeout: Duration,
    progress: Progress<'_>,
) -> Result<Transfer> {
    let start = Instant::now();
    let mut c = FrameClient::connect(addr, timeout)?;
    let h = c.request("get", 0).with("name", name);
    c.send(&h, &[])?;
    c.set_timeout(Some(timeout.max(Duration::from_secs(60))))?;
    let r = c.expect("file")?;
    let want = r.str("sha256").unwrap_or("").to_ascii_lowercase();
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = dest
        .file_name()
        .map_or_else(|| "download".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{base}.netray-part-{}", std::process::id()));
    let file_err = |p: &Path| {
        let p = p.to_owned();
        move |e| Error::File { path: p, source: e }
    };
    let mut f = fs::File::create(&tmp).map_err(file_err(&tmp))?;
    let mut part = Partial(tmp.clone());
    let mut hash = Sha256::new();
    let mut done = 0u64;
    c.copy_body(r.size(), &mut |b| {
        hash.update(b);
        f.write_all(b).map_err(file_err(&tmp))?;
        done += b.len() as u64;
        progress("receiving", done, r.size());
        Ok(())
    })?;
    drop(f);
    let got = super::sha256_hex(hash);
    if got != want {
        return Err(Error::Protocol(format!(
            "{name:?}: received SHA-256 {got}, the server announced {want}; nothing saved"
        )));
    }
    fs::rename(&tmp, dest).map_err(file_err(dest))?;
    part.0 = PathBuf::new();
    Ok(transfer("get", name, dest, r.size(), got, start))
}

/// Sends one message on a new TCP connection, half-closes, and returns
/// everything the server sent until it closed (the classic client: echo
/// and upper answer and close, discard closes).
///
/// # Errors
/// The connection fails.
pub fn tcp_once(addr: SocketAddr, msg: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let mut s = connect(addr, timeout)?;
    s.set_read_timeout(Some(timeout))
        .map_err(io_err("configuring", addr))?;
    s.write_all(msg).map_err(io_err("sending to", addr))?;
    s.shutdown(Shutdown::Write)
        .map_err(io_err("closing the write side to", addr))?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply)
        .map_err(io_err("reading from", addr))?;
    Ok(reply)
}

/// Copies `input` to the server and the server's bytes to `output` at the
/// same time (like `nc -N`): at the end of input the write side is closed,
/// and the copy ends when the server closes. Returns bytes (sent, received).
///
/// # Errors
/// The connection fails.
pub fn tcp_pipe(
    addr: SocketAddr,
    mut input: impl Read + Send,
    output: &mut dyn Write,
    timeout: Duration,
) -> Result<(u64, u64)> {
    let s = connect(addr, timeout)?;
    let mut rd = s.try_clone().map_err(io_err("configuring", addr))?;
    let mut wr = s;
    std::thread::scope(|scope| {
        let sender = scope.spawn(move || -> Result<u64> {
            let n = io::copy(&mut input, &mut wr).map_err(io_err("sending to", addr))?;
            drop(wr.shutdown(Shutdown::Write));
            Ok(n)
        });
        let received = io::copy(&mut rd, output).map_err(io_err("reading from", addr));
        let sent = sender
            .join()
            .unwrap_or_else(|_| Err(Error::Protocol("sender thread failed".into())));
        Ok((sent?, received?))
    })
}

/// An interactive TCP session: each message sent, then what comes back
/// read until as many bytes as were sent arrived or the line went quiet.
#[derive(Debug)]
pub struct Session {
    s: TcpStream,
    peer: SocketAddr,
    quiet: Duration,
}

impl Session {
    /// Connects.
    ///
    /// # Errors
    /// The connection fails.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Session> {
        let s = connect(addr, timeout)?;
        Ok(Session {
            s,
            peer: addr,
            quiet: Duration::from_millis(500),
        })
    }

    /// Sends `msg`, returns the reply (empty when the server keeps quiet,
    /// None when it closed).
    ///
    /// # Errors
    /// The connection fails.
    pub fn exchange(&mut self, msg: &[u8]) -> Result<Option<Vec<u8>>> {
        self.s
            .write_all(msg)
            .map_err(io_err("sending to", self.peer))?;
        self.s
            .set_read_timeout(Some(self.quiet))
            .map_err(io_err("configuring", self.peer))?;
        let mut reply = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        while reply.len() < msg.len() {
            match self.s.read(&mut buf) {
                Ok(0) if reply.is_empty() => return Ok(None),
                Ok(0) => break,
                Ok(n) => reply.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(Error::io(format!("reading from {}", self.peer), e)),
            }
        }
        Ok(Some(reply))
    }
}

/// A UDP socket connected to `addr`, bound to the matching wildcard.
///
/// # Errors
/// Binding or connecting fails.
pub fn udp_socket(addr: SocketAddr) -> Result<UdpSocket> {
    let local: SocketAddr = if addr.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local).map_err(|e| Error::io("binding a UDP socket", e))?;
    s.connect(addr).map_err(io_err("connecting to", addr))?;
    Ok(s)
}

/// Sends one datagram and waits for one answer (None: nothing within the
/// timeout, as from a discard server, or a port with no server).
///
/// # Errors
/// Sending fails, or the datagram is too large.
pub fn udp_once(addr: SocketAddr, msg: &[u8], timeout: Duration) -> Result<Option<Vec<u8>>> {
    if msg.len() > super::udp::MAX_DATAGRAM {
        return Err(Error::Usage(format!(
            "a {}-byte message does not fit in one UDP datagram (at most {})",
            msg.len(),
            super::udp::MAX_DATAGRAM
        )));
    }
    let s = udp_socket(addr)?;
    s.set_read_timeout(Some(timeout))
        .map_err(io_err("configuring", addr))?;
    s.send(msg).map_err(io_err("sending to", addr))?;
    let mut buf = vec![0u8; 65536];
    match s.recv(&mut buf) {
        Ok(n) => Ok(Some(buf[..n].to_vec())),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::io(format!("reading from {addr}"), e)),
    }
}
