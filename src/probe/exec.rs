//! `exec`: one allow-listed command, no shell, a time limit, capped output.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::wire::frame::{ErrorCode, FrameError};

/// What a finished command left.
#[derive(Debug)]
pub struct Output {
    /// Exit code, when it exited (not killed by a signal).
    pub code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// Standard output, up to the cap.
    pub stdout: Vec<u8>,
    /// Standard error, up to the cap.
    pub stderr: Vec<u8>,
    /// Whether either stream went over the cap (the rest was read and dropped).
    pub truncated: bool,
}

/// Reads a stream to its end, keeping the first `cap` bytes.
async fn capped<R: AsyncRead + Unpin>(mut r: R, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut over = false;
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                over |= n > room;
            }
        }
    }
    (kept, over)
}

/// Runs `cmd args` if `cmd` is one of `allowed` (compared as given).
///
/// # Errors
/// `forbidden` for a command not allowed, `not_found` when it cannot be
/// started, `timeout` when it runs past `limit` (it is killed).
pub async fn run(
    cmd: &str,
    args: &[String],
    allowed: &[String],
    limit: Duration,
    cap: usize,
) -> Result<Output, FrameError> {
    if !allowed.iter().any(|a| a == cmd) {
        return Err(FrameError::new(
            ErrorCode::Forbidden,
            if allowed.is_empty() {
                format!("{cmd:?} is not allowed: exec is off on this server")
            } else {
                format!("{cmd:?} is not allowed (allowed: {})", allowed.join(", "))
            },
        ));
    }
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| FrameError::new(ErrorCode::NotFound, format!("{cmd:?} cannot run: {e}")))?;
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(FrameError::new(
            ErrorCode::Internal,
            "no pipes to the command",
        ));
    };
    let work = async {
        let ((stdout, o1), (stderr, o2), status) =
            tokio::join!(capped(out, cap), capped(err, cap), child.wait());
        (stdout, stderr, o1 || o2, status)
    };
    match tokio::time::timeout(limit, work).await {
        Ok((stdout, stderr, truncated, status)) => {
            let status = status
                .map_err(|e| FrameError::new(ErrorCode::Internal, format!("waiting: {e}")))?;
            use std::os::unix::process::ExitStatusExt;
            Ok(Output {
                code: status.code(),
                signal: status.signal(),
                stdout,
                stderr,
                truncated,
            })
        }
        // dropping `work` drops the child, which kill_on_drop kills
        Err(_) => Err(FrameError::new(
            ErrorCode::Timeout,
            format!(
                "{cmd:?} ran over its {} s limit and was killed",
                limit.as_secs_f64()
            ),
        )),
    }
}
