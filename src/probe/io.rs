//! Frames over an async byte stream: the server's side of the protocol's
//! I/O. Every read is bounded by the idle timeout, every byte counted.

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio::time::timeout;

use crate::wire::frame::{self, FrameError, Header};

/// Bytes a body is moved in: large enough for loopback speed, small
/// enough that a thousand connections moving bodies at once stay bounded.
pub const CHUNK: usize = 256 << 10;

/// Why a connection ended.
#[derive(Debug)]
pub enum End {
    /// The peer closed between frames (or, raw modes, at any time).
    Eof,
    /// The peer closed inside a frame.
    Truncated(&'static str),
    /// Nothing arrived within the idle timeout.
    Idle,
    /// A header did not arrive whole within the header timeout.
    SlowHeader(Duration),
    /// A body arrived slower than the minimum rate (bytes per second).
    SlowBody(u64),
    /// The server was full and this connection had waited longest for a
    /// header: closed to make room for a newcomer.
    Evicted,
    /// The server is shutting down.
    Shutdown,
    /// A frame the server could not make sense of (answered with `error`).
    Protocol(FrameError),
    /// The socket failed (reset, broken pipe).
    Io(io::Error),
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Eof => f.write_str("eof"),
            End::Truncated(what) => write!(f, "closed inside a frame's {what}"),
            End::Idle => f.write_str("idle timeout"),
            End::SlowHeader(d) => write!(f, "header not complete within {} s", d.as_secs_f64()),
            End::SlowBody(rate) => write!(f, "body slower than {rate} bytes/s"),
            End::Evicted => f.write_str(
                "closed to make room: the server was full and it waited longest for a header",
            ),
            End::Shutdown => f.write_str("shutdown"),
            End::Protocol(e) => write!(f, "protocol error: {e}"),
            End::Io(e) if e.kind() == io::ErrorKind::ConnectionReset => f.write_str("reset"),
            End::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for End {
    fn from(e: io::Error) -> Self {
        End::Io(e)
    }
}

/// How long a body's rate is measured over before it is judged.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// What bounds the time one peer can hold a connection without doing work
/// (docs/security.md): silence, a header sent slowly, a body sent slowly.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Nothing at all for this long ends the connection.
    pub idle: Duration,
    /// A header must arrive whole within this, from its first byte.
    pub header: Duration,
    /// A body must move at least this many bytes per second, judged over
    /// each [`RATE_WINDOW`]; 0: no minimum.
    pub min_rate: u64,
}

impl Pace {
    /// Only the idle timeout (raw modes, clients).
    pub fn idle(idle: Duration) -> Self {
        Pace {
            idle,
            header: idle,
            min_rate: 0,
        }
    }
}

/// One connection: a buffered reader, a writer, its pace limits, counts.
pub struct Conn<R, W> {
    rd: BufReader<R>,
    wr: W,
    pace: Pace,
    /// Time spent waiting for body bytes in the current rate window, and
    /// the bytes read in it.
    window: Option<(Duration, u64)>,
    /// When the connection opened, until its first header is whole: the
    /// first header's deadline runs from the connect.
    opened: Option<Instant>,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Conn<R, W> {
    /// Wraps the two halves of a stream.
    pub fn new(rd: R, wr: W, pace: Pace) -> Self {
        Conn {
            rd: BufReader::with_capacity(16 << 10, rd),
            wr,
            pace,
            window: None,
            opened: Some(Instant::now()),
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    /// Reads some body bytes: within the idle timeout, and at the minimum
    /// rate over each [`RATE_WINDOW`] of time spent waiting for the peer
    /// (a peer that drips a byte now and then cannot hold the connection by
    /// resetting the idle timer; time the server itself spends elsewhere,
    /// writing to a slow disk say, is not held against the peer).
    async fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, End> {
        if self.pace.min_rate == 0 {
            return self.read(buf).await;
        }
        // nothing has arrived since this call began
        let mut quiet = Duration::ZERO;
        loop {
            let (waited, got) = *self.window.get_or_insert((Duration::ZERO, 0));
            if waited >= RATE_WINDOW {
                let need = self.pace.min_rate.saturating_mul(RATE_WINDOW.as_secs());
                if got < need {
                    return Err(End::SlowBody(self.pace.min_rate));
                }
                self.window = Some((Duration::ZERO, 0));
                continue;
            }
            let idle_left = self.pace.idle.saturating_sub(quiet);
            if idle_left.is_zero() {
                return Err(End::Idle);
            }
            let wait = (RATE_WINDOW - waited).min(idle_left);
            let t0 = Instant::now();
            // `read` is cancel-safe: a wait cut at the window's end loses nothing
            let r = timeout(wait, self.rd.read(buf)).await;
            let spent = t0.elapsed();
            let w = self.window.get_or_insert((Duration::ZERO, 0));
            w.0 += spent;
            match r {
                Ok(r) => {
                    let n = r?;
                    self.bytes_in += n as u64;
                    w.1 += n as u64;
                    return Ok(n);
                }
                Err(_) if wait == idle_left => return Err(End::Idle),
                // the window ended: judge its rate
                Err(_) => quiet += spent,
            }
        }
    }

    /// Reads some bytes (0 at end of stream) within the idle timeout.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, End> {
        let n = timeout(self.pace.idle, self.rd.read(buf))
            .await
            .map_err(|_| End::Idle)??;
        self.bytes_in += n as u64;
        Ok(n)
    }

    /// Fills `buf`; the stream ending first is [`End::Truncated`] naming `what`.
    async fn fill(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), End> {
        let mut at = 0;
        while at < buf.len() {
            match self.read(&mut buf[at..]).await? {
                0 => return Err(End::Truncated(what)),
                n => at += n,
            }
        }
        Ok(())
    }

    /// Waits for the next frame's header. `Ok(None)` is a clean end: the
    /// peer closed between frames, or the server began shutting down while
    /// this connection was idle. A length or header the server cannot
    /// accept is `Err(End::Protocol)`, after which the connection closes
    /// (the body's length is unknown, so the stream cannot be resynchronised).
    pub async fn next_header(
        &mut self,
        max_header: u32,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Header>, End> {
        let mut prefix = [0u8; 4];
        // the first header is due within the header timeout of the connect
        // (a peer that connects and says nothing holds its slot no longer);
        // later ones may wait the idle timeout between frames
        let header = self.pace.header;
        let first_due = self.opened.map(|t| t + header);
        let wait_first = async {
            match first_due {
                Some(due) => tokio::time::timeout_at(due.into(), self.read(&mut prefix))
                    .await
                    .map_err(|_| End::SlowHeader(header))?,
                None => self.read(&mut prefix).await,
            }
        };
        // between frames the connection is idle: a shutdown ends it here
        let first = tokio::select! {
            r = wait_first => r?,
            _ = shutdown.wait_for(|s| *s) => return Ok(None),
        };
        if first == 0 {
            return Ok(None);
        }
        // from its first byte, the whole header has a deadline: a peer that
        // drips it byte by byte is cut, however often it resets the idle timer
        let due = first_due.unwrap_or_else(|| Instant::now() + header);
        let rest = async {
            self.fill(&mut prefix[first..], "length prefix").await?;
            let len = frame::header_len(prefix, max_header).map_err(End::Protocol)?;
            let mut json = vec![0u8; len];
            self.fill(&mut json, "header").await?;
            Ok::<_, End>(json)
        };
        let json = tokio::time::timeout_at(due.into(), rest)
            .await
            .map_err(|_| End::SlowHeader(header))??;
        // each body is judged on its own rate
        self.window = None;
        self.opened = None;
        Header::parse_lenient(&json)
            .map(Some)
            .map_err(End::Protocol)
    }

    /// Reads and drops `size` body bytes.
    pub async fn skip(&mut self, size: u64) -> Result<(), End> {
        let mut buf = vec![0u8; CHUNK.min(usize::try_from(size).unwrap_or(CHUNK)).max(1)];
        let mut left = size;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match self.read_body(&mut buf[..want]).await? {
                0 => return Err(End::Truncated("body")),
                n => left -= n as u64,
            }
        }
        Ok(())
    }

    /// Reads the next piece of a body into `buf` (at most `left` bytes).
    pub async fn body_chunk(&mut self, buf: &mut [u8], left: u64) -> Result<usize, End> {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        match self.read_body(&mut buf[..want]).await? {
            0 => Err(End::Truncated("body")),
            n => Ok(n),
        }
    }

    /// Reads a whole (small) body.
    pub async fn body(&mut self, size: usize) -> Result<Vec<u8>, End> {
        let mut buf = vec![0u8; size];
        let mut at = 0;
        while at < size {
            match self.read_body(&mut buf[at..]).await? {
                0 => return Err(End::Truncated("body")),
                n => at += n,
            }
        }
        Ok(buf)
    }

    /// Writes raw bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), End> {
        timeout(self.pace.idle, self.wr.write_all(bytes))
            .await
            .map_err(|_| End::Idle)??;
        self.bytes_out += bytes.len() as u64;
        Ok(())
    }

    /// Writes a frame: header and a body held in memory, in one write.
    pub async fn send(&mut self, h: &Header, body: &[u8]) -> Result<(), End> {
        let mut bytes = h.encode();
        bytes.extend_from_slice(body);
        self.write(&bytes).await
    }

    /// Answers with an `error` frame.
    pub async fn send_error(&mut self, e: &FrameError, id: Option<i64>) -> Result<(), End> {
        self.send(&e.to_header(id), &[]).await
    }

    /// Flushes and half-closes the write side.
    pub async fn finish(&mut self) {
        drop(timeout(Duration::from_secs(1), self.wr.shutdown()).await);
    }
}
