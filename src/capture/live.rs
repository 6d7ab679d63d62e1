//! Live capture: frames from a [`FrameIo`] (an AF_PACKET channel in
//! practice) until a count, a duration or a stop flag (Ctrl-C) ends it.
//!
//! On a loopback interface the kernel hands a packet socket every packet
//! twice, once leaving and once arriving, and pnet does not say which is
//! which. tcpdump shows each once (libpcap drops the outgoing copy), so
//! here a frame identical to one seen in the last few milliseconds that
//! has not been paired yet is taken for the second copy and dropped.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::capture::reader::Frame;
use crate::link::channel::FrameIo;
use crate::model::packet::Timestamp;

/// When a live capture ends.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Stop after this many captured (accepted) packets.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Drop loopback's second copy of each packet.
    pub loopback: bool,
}

/// What a live capture saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveSummary {
    /// Frames the socket delivered (loopback duplicates included).
    pub received: u64,
    /// Loopback second copies dropped.
    pub duplicates: u64,
    /// Frames handed to the callback.
    pub seen: u64,
    /// Frames the callback accepted (matched the filter).
    pub captured: u64,
}

/// How long a loopback copy may trail its original.
const DUP_WINDOW: Duration = Duration::from_millis(50);
/// How many recent frames are remembered for pairing.
const DUP_RING: usize = 16;

#[derive(Default)]
struct Dedup {
    ring: Vec<(u64, usize, Instant)>,
}

impl Dedup {
    /// True when `frame` is the second copy of a recent one.
    fn is_copy(&mut self, frame: &[u8], now: Instant) -> bool {
        use std::hash::BuildHasher;
        let h = foldhash::fast::FixedState::with_seed(0x6e65_7472_6179).hash_one(frame);
        self.ring
            .retain(|&(_, _, t)| now.saturating_duration_since(t) <= DUP_WINDOW);
        if let Some(i) = self
            .ring
            .iter()
            .position(|&(hh, len, _)| hh == h && len == frame.len())
        {
            // paired: the next identical frame is a new packet again
            self.ring.remove(i);
            return true;
        }
        if self.ring.len() == DUP_RING {
            self.ring.remove(0);
        }
        self.ring.push((h, frame.len(), now));
        false
    }
}

fn now_timestamp() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos(),
        digits: 6,
    }
}

/// Captures until a limit or `stop`. `each` gets every frame (numbered
/// from 1 in arrival order, Ethernet link type) and says whether it was
/// accepted; accepted frames count toward `limits.count`.
///
/// # Errors
/// A socket failure, or an error from `each`.
pub fn capture(
    io: &mut dyn FrameIo,
    stop: &AtomicBool,
    limits: Limits,
    mut each: impl FnMut(&Frame<'_>) -> io::Result<bool>,
) -> io::Result<LiveSummary> {
    let start = Instant::now();
    let end = limits.duration.map(|d| start + d);
    let mut s = LiveSummary::default();
    let mut dedup = Dedup::default();
    // wake at least this often to look at the stop flag
    let tick = Duration::from_millis(100);
    loop {
        if stop.load(Ordering::Relaxed) || limits.count.is_some_and(|c| s.captured >= c) {
            break;
        }
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            break;
        }
        let deadline = end.map_or(now + tick, |e| e.min(now + tick));
        let Some(data) = io.recv(deadline)? else {
            continue;
        };
        s.received += 1;
        if limits.loopback && dedup.is_copy(data, Instant::now()) {
            s.duplicates += 1;
            continue;
        }
        s.seen += 1;
        let frame = Frame {
            n: s.captured + 1,
            ts: now_timestamp(),
            linktype: 1,
            iface: None,
            len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            data,
        };
        if each(&frame)? {
            s.captured += 1;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Frames handed out one per call; `None` (a timeout) once empty.
    struct Fake {
        frames: VecDeque<Vec<u8>>,
        cur: Vec<u8>,
        sent: Vec<Vec<u8>>,
    }

    impl FrameIo for Fake {
        fn send(&mut self, frame: &[u8]) -> io::Result<()> {
            self.sent.push(frame.to_vec());
            Ok(())
        }
        fn recv(&mut self, deadline: Instant) -> io::Result<Option<&[u8]>> {
            match self.frames.pop_front() {
                Some(f) => {
                    self.cur = f;
                    Ok(Some(&self.cur))
                }
                None => {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    Ok(None)
                }
            }
        }
    }

    fn fake(frames: &[&[u8]]) -> Fake {
        Fake {
            frames: frames.iter().map(|f| f.to_vec()).collect(),
            cur: Vec::new(),
            sent: Vec::new(),
        }
    }

    #[test]
    fn count_stops_after_accepted_frames() {
        let mut io = fake(&[b"a", b"bb", b"c", b"dd", b"e"]);
        let stop = AtomicBool::new(false);
        let mut got = Vec::new();
        let limits = Limits {
            count: Some(2),
            ..Limits::default()
        };
        // accept only two-byte frames
        let s = capture(&mut io, &stop, limits, |f| {
            if f.data.len() == 2 {
                got.push((f.n, f.data.to_vec()));
                Ok(true)
            } else {
                Ok(false)
            }
        })
        .unwrap();
        assert_eq!(got, vec![(1, b"bb".to_vec()), (2, b"dd".to_vec())]);
        assert_eq!(s.captured, 2);
        assert_eq!(s.seen, 4);
        assert!(io.sent.is_empty());
    }

    #[test]
    fn duration_and_stop_flag_end_it() {
        let mut io = fake(&[b"x"]);
        let stop = AtomicBool::new(false);
        let t = Instant::now();
        let limits = Limits {
            duration: Some(Duration::from_millis(150)),
            ..Limits::default()
        };
        let s = capture(&mut io, &stop, limits, |_| Ok(true)).unwrap();
        assert_eq!(s.captured, 1);
        assert!(t.elapsed() >= Duration::from_millis(150));
        assert!(t.elapsed() < Duration::from_secs(2));
        let stop = AtomicBool::new(true);
        let s = capture(&mut fake(&[b"x"]), &stop, Limits::default(), |_| Ok(true)).unwrap();
        assert_eq!(s.received, 0);
    }

    #[test]
    fn loopback_second_copies_are_dropped_once() {
        // a, a (copy), b, a (a new packet), a (its copy), c, b (the first
        // b is still unpaired within the window: taken for its copy)
        let frames: [&[u8]; 7] = [b"a", b"a", b"b", b"a", b"a", b"c", b"b"];
        let stop = AtomicBool::new(false);
        let limits = Limits {
            duration: Some(Duration::from_millis(100)),
            loopback: true,
            ..Limits::default()
        };
        let mut got = Vec::new();
        let s = capture(&mut fake(&frames), &stop, limits, |f| {
            got.push(f.data.to_vec());
            Ok(true)
        })
        .unwrap();
        assert_eq!(
            got,
            vec![b"a".to_vec(), b"b".to_vec(), b"a".to_vec(), b"c".to_vec()]
        );
        assert_eq!(s.duplicates, 3);
        // without the flag every frame counts
        let mut n = 0;
        let limits = Limits {
            count: Some(7),
            ..Limits::default()
        };
        capture(&mut fake(&frames), &stop, limits, |_| {
            n += 1;
            Ok(true)
        })
        .unwrap();
        assert_eq!(n, 7);
    }
}
