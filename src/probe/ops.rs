//! The frame server's operations (design.md, "Framing protocol v1").
//!
//! Each handler reads its request's body (or skips it), answers, and
//! returns `Ok` to go on with the next frame; `Err` ends the connection.
//! A refused request is answered with `error` first and its body skipped
//! after, so the stream stays in step and a client that reads while it
//! sends learns early.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use super::files::DIRECT_ALIGN;
use super::io::{Conn, End, CHUNK};
use super::state::{Place, State};
use crate::wire::frame::{ErrorCode, FrameError, Header};

/// A connection of the TCP server.
pub type TcpConn = Conn<OwnedReadHalf, OwnedWriteHalf>;

/// Bodies up to this size are answered in one write.
const SMALL: u64 = 64 << 10;

/// Serves frames until the peer leaves, errs, idles, or the server stops.
/// Returns how it ended and how many frames came.
pub async fn serve(
    conn: &mut TcpConn,
    st: &Arc<State>,
    place: &Place,
    shutdown: &mut watch::Receiver<bool>,
) -> (End, u64) {
    let mut frames = 0;
    loop {
        // while it waits for a header, a full server may ring it to make room
        place.waiting();
        let next = tokio::select! {
            r = conn.next_header(st.limits.max_header, shutdown) => r,
            () = place.kick.notified() => Err(End::Evicted),
        };
        place.working();
        let h = match next {
            Ok(Some(h)) => h,
            Ok(None) if *shutdown.borrow() => return (End::Shutdown, frames),
            Ok(None) => return (End::Eof, frames),
            Err(End::Protocol(e)) => {
                drop(conn.send_error(&e, None).await);
                return (End::Protocol(e), frames);
            }
            Err(end) => return (end, frames),
        };
        frames += 1;
        if let Err(end) = one(conn, st, &h).await {
            return (end, frames);
        }
    }
}

/// Answers `error` and skips the request's body.
async fn refuse(conn: &mut TcpConn, h: &Header, e: FrameError) -> Result<(), End> {
    conn.send_error(&e, h.id()).await?;
    conn.skip(h.size()).await
}

fn bad(message: impl Into<String>) -> FrameError {
    FrameError::new(ErrorCode::BadHeader, message)
}

async fn one(conn: &mut TcpConn, st: &Arc<State>, h: &Header) -> Result<(), End> {
    if let Err(e) = h.check_version() {
        return refuse(conn, h, e).await;
    }
    match h.op() {
        "echo" => echo(conn, st, h).await,
        "ping" => {
            conn.skip(h.size()).await?;
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            let mut r = Header::new("pong", 0).with("t", t);
            r.set_id(h.id());
            conn.send(&r, &[]).await
        }
        "discard" => {
            let start = Instant::now();
            conn.skip(h.size()).await?;
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let mut r = Header::new("ok", 0)
                .with("bytes", h.size())
                .with("elapsed_ns", ns);
            r.set_id(h.id());
            conn.send(&r, &[]).await
        }
        "put" => put(conn, st, h).await,
        "get" => get(conn, st, h).await,
        "list" => list(conn, st, h).await,
        "exec" => exec(conn, st, h).await,
        other => {
            let e = FrameError::new(
                ErrorCode::UnsupportedOp,
                format!("unknown op {other:?} (known: echo, ping, put, get, list, exec, discard)"),
            );
            refuse(conn, h, e).await
        }
    }
}

async fn echo(conn: &mut TcpConn, st: &Arc<State>, h: &Header) -> Result<(), End> {
    let size = h.size();
    if size > st.limits.max_echo {
        let e = FrameError::new(
            ErrorCode::TooLarge,
            format!(
                "echo body of {size} bytes is over the limit of {}",
                st.limits.max_echo
            ),
        );
        return refuse(conn, h, e).await;
    }
    let upper = match h.get("transform") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "upper" => true,
        Some(other) => {
            return refuse(
                conn,
                h,
                bad(format!("unknown transform {other} (known: \"upper\")")),
            )
            .await
        }
    };
    let mut r = Header::new("echo", size);
    r.set_id(h.id());
    if upper {
        r.set("transform", "upper");
    }
    if size <= SMALL {
        let mut body = conn.body(usize::try_from(size).unwrap_or(0)).await?;
        if upper {
            body.make_ascii_uppercase();
        }
        return conn.send(&r, &body).await;
    }
    conn.write(&r.encode()).await?;
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        let n = conn.body_chunk(&mut buf, left).await?;
        if upper {
            buf[..n].make_ascii_uppercase();
        }
        conn.write(&buf[..n]).await?;
        left -= n as u64;
    }
    Ok(())
}

fn file_ops(st: &State) -> Result<&Arc<super::files::Root>, FrameError> {
    st.root.as_ref().ok_or_else(|| {
        FrameError::new(
            ErrorCode::Forbidden,
            "file operations are off: the server was started without --root",
        )
    })
}

fn name_of(h: &Header) -> Result<String, FrameError> {
    h.str("name")
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("{} needs \"name\" (a string)", h.op())))
}

async fn put(conn: &mut TcpConn, st: &Arc<State>, h: &Header) -> Result<(), End> {
    let size = h.size();
    // everything about the request is checked before any file-system call
    let checked = (|| {
        let root = file_ops(st)?;
        let name = name_of(h)?;
        super::files::components(&name)?;
        let want = h
            .str("sha256")
            .filter(|s| super::is_sha256(s))
            .ok_or_else(|| bad("put needs \"sha256\": the body's SHA-256 as 64 hex digits"))?
            .to_ascii_lowercase();
        if size > st.limits.max_file {
            return Err(FrameError::new(
                ErrorCode::TooLarge,
                format!(
                    "{size} bytes is over the file limit of {}",
                    st.limits.max_file
                ),
            ));
        }
        Ok((Arc::clone(root), name, want, h.flag("overwrite")))
    })();
    let (root, name, want, overwrite) = match checked {
        Ok(v) => v,
        Err(e) => return refuse(conn, h, e).await,
    };
    // the walk and the file's creation block: never on the async threads
    let n = name.clone();
    let begun =
        tokio::task::spawn_blocking(move || root.begin_put(&n, overwrite, size >= DIRECT_MIN))
            .await
            .unwrap_or_else(|e| Err(FrameError::new(ErrorCode::Internal, e.to_string())));
    let part = match begun {
        Ok(p) => p,
        Err(e) => return refuse(conn, h, e).await,
    };

    // The body flows through a pipeline of two blocking threads, one
    // writing the file and one hashing it, while this task reads the next
    // chunk; so the three run at once, and buffers come back for reuse.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    let (hash_tx, hash_rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Chunk>();
    let writer = tokio::task::spawn_blocking(move || {
        let mut part = part;
        let mut failed = None;
        while let Some(c) = rx.blocking_recv() {
            if failed.is_none() {
                if let Err(e) = part.write(c.data()) {
                    failed = Some(e);
                }
            }
            if hash_tx.send(c).is_err() {
                break;
            }
        }
        (part, failed)
    });
    let hasher = tokio::task::spawn_blocking(move || {
        let mut hash = Sha256::new();
        while let Ok(c) = hash_rx.recv() {
            hash.update(c.data());
            drop(back_tx.send(c));
        }
        super::sha256_hex(hash)
    });
    let mut left = size;
    let mut outcome = Ok(());
    while left > 0 {
        let mut c = back_rx.try_recv().unwrap_or_else(|_| Chunk::new());
        match fill(conn, c.window(), left).await {
            Ok(n) => {
                c.len = n;
                left -= n as u64;
                if tx.send(c).await.is_err() {
                    break;
                }
            }
            Err(end) => {
                outcome = Err(end);
                break;
            }
        }
    }
    drop(tx);
    let joined = |e: tokio::task::JoinError| End::Io(std::io::Error::other(e.to_string()));
    let (part, failed) = writer.await.map_err(joined)?;
    let got = hasher.await.map_err(joined)?;
    // a body cut short ends the connection; dropping the part removes it
    // (and the folders it made), off the async threads
    if let Err(end) = outcome {
        drop(tokio::task::spawn_blocking(move || drop(part)).await);
        return Err(end);
    }
    let n = name.clone();
    let matched = got == want;
    let mismatch = format!("body SHA-256 is {got}, the header announced {want}");
    // commit, or drop the part (and the folders it made): both block
    let reply = tokio::task::spawn_blocking(move || {
        if let Some(e) = failed {
            Err(FrameError::new(
                ErrorCode::Internal,
                format!("writing: {e}"),
            ))
        } else if !matched {
            Err(FrameError::new(ErrorCode::Checksum, mismatch))
        } else {
            part.commit(overwrite, &n)
        }
    })
    .await
    .unwrap_or_else(|e| Err(FrameError::new(ErrorCode::Internal, e.to_string())));
    match reply {
        Ok(()) => {
            // `size` is always the frame's body length (none here); the
            // count stored is `bytes` (docs/protocol.md, "Deviations")
            let mut r = Header::new("ok", 0)
                .with("bytes", size)
                .with("name", name)
                .with("sha256", got);
            r.set_id(h.id());
            conn.write(&r.encode()).await
        }
        Err(e) => conn.send_error(&e, h.id()).await,
    }
}

/// Uploads from this size on are written around the page cache.
const DIRECT_MIN: u64 = 8 << 20;

/// A piece of an upload: a buffer whose [`CHUNK`]-byte window starts at
/// an address aligned for direct writes.
struct Chunk {
    buf: Vec<u8>,
    off: usize,
    len: usize,
}

impl Chunk {
    fn new() -> Chunk {
        let buf = vec![0u8; CHUNK + DIRECT_ALIGN];
        let off = buf.as_ptr().align_offset(DIRECT_ALIGN).min(DIRECT_ALIGN);
        Chunk { buf, off, len: 0 }
    }

    /// The whole window, to fill.
    fn window(&mut self) -> &mut [u8] {
        &mut self.buf[self.off..self.off + CHUNK]
    }

    /// The bytes held.
    fn data(&self) -> &[u8] {
        &self.buf[self.off..self.off + self.len]
    }
}

/// Reads body bytes until `buf` is full or the body ends (whole chunks
/// keep the pipeline's per-chunk cost low).
async fn fill(conn: &mut TcpConn, buf: &mut [u8], left: u64) -> Result<usize, End> {
    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
    let mut at = 0;
    while at < want {
        at += conn
            .body_chunk(&mut buf[at..want], left - at as u64)
            .await?;
    }
    Ok(at)
}

async fn get(conn: &mut TcpConn, st: &Arc<State>, h: &Header) -> Result<(), End> {
    let checked = (|| {
        let root = file_ops(st)?;
        let name = name_of(h)?;
        super::files::components(&name)?;
        Ok((Arc::clone(root), name))
    })();
    let (root, name) = match checked {
        Ok(v) => v,
        Err(e) => return refuse(conn, h, e).await,
    };
    conn.skip(h.size()).await?;
    // open, check and hash off the async threads; the bytes sent are read
    // from the very file that was hashed
    let n = name.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let f = root.open_for_get(&n)?;
        let (size, sha) = root
            .sha256(&f)
            .map_err(|e| FrameError::new(ErrorCode::Internal, format!("reading {n:?}: {e}")))?;
        Ok::<_, FrameError>((f, size, sha))
    })
    .await;
    let (file, size, sha) = match opened {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return conn.send_error(&e, h.id()).await,
        Err(e) => return Err(End::Io(std::io::Error::other(e.to_string()))),
    };
    let mut r = Header::new("file", size)
        .with("name", name)
        .with("sha256", sha);
    r.set_id(h.id());
    conn.write(&r.encode()).await?;
    // a thread reads the file ahead of the socket
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;
        let mut at = 0u64;
        loop {
            let mut buf = vec![0u8; CHUNK];
            match file.read_at(&mut buf, at) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    at += n as u64;
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    drop(tx.blocking_send(Err(e)));
                    return;
                }
            }
        }
    });
    let mut left = size;
    while left > 0 {
        match rx.recv().await {
            Some(Ok(buf)) => {
                let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                conn.write(&buf[..n]).await?;
                left -= n as u64;
            }
            Some(Err(e)) => return Err(End::Io(e)),
            // the file shrank after its size was announced: the frame
            // cannot be completed, so the connection ends
            None => {
                return Err(End::Io(std::io::Error::other(
                    "file shrank while being sent",
                )))
            }
        }
    }
    Ok(())
}

async fn list(conn: &mut TcpConn, st: &Arc<State>, h: &Header) -> Result<(), End> {
    let root = match file_ops(st) {
        Ok(r) => Arc::clone(r),
        Err(e) => return refuse(conn, h, e).await,
    };
    conn.skip(h.size()).await?;
    let listed = tokio::task::spawn_blocking(move || root.list()).await;
    match listed {
        Ok(Ok(entries)) => {
            let body = serde_json::to_vec(&entries).unwrap_or_else(|_| b"[]".to_vec());
            let mut r = Header::new("listing", body.len() as u64).with("count", entries.len());
            r.set_id(h.id());
            conn.send(&r, &body).await
        }
        Ok(Err(e)) => {
            let e = FrameError::new(ErrorCode::Internal, format!("listing: {e}"));
            conn.send_error(&e, h.id()).await
        }
        Err(e) => Err(End::Io(std::io::Error::other(e.to_string()))),
    }
}

async fn exec(conn: &mut TcpConn, st: &Arc<State>, h: &Header) -> Result<(), End> {
    let parsed = (|| {
        let cmd = h
            .str("cmd")
            .ok_or_else(|| bad("exec needs \"cmd\" (a string)"))?
            .to_owned();
        let args = match h.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("\"args\" must be an array of strings"))?,
            Some(_) => return Err(bad("\"args\" must be an array of strings")),
        };
        Ok((cmd, args))
    })();
    let (cmd, args) = match parsed {
        Ok(v) => v,
        Err(e) => return refuse(conn, h, e).await,
    };
    conn.skip(h.size()).await?;
    let l = &st.limits;
    match super::exec::run(&cmd, &args, &st.allow_exec, l.exec_timeout, l.exec_output).await {
        Ok(out) => {
            let mut r = Header::new("result", (out.stdout.len() + out.stderr.len()) as u64)
                .with("exit_code", out.code)
                .with("stdout", out.stdout.len())
                .with("stderr", out.stderr.len());
            if let Some(sig) = out.signal {
                r.set("signal", sig);
            }
            if out.truncated {
                r.set("truncated", true);
            }
            r.set_id(h.id());
            let mut body = out.stdout;
            body.extend_from_slice(&out.stderr);
            conn.send(&r, &body).await
        }
        Err(e) => conn.send_error(&e, h.id()).await,
    }
}
