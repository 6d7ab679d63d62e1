//! Reading a capture on one thread while worker threads decode and format
//! batches of packets in parallel; the formatted bytes come back in file
//! order. Used by `decode` for large inputs: decoding and formatting are
//! most of the work, and this spreads them over every core.
//!
//! Memory stays bounded: at most a few batches are in flight (bounded
//! channels), each holding a copy of `BATCH` packets.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use super::reader::{read_frames, Flow, Frame, ReadError, ReadSummary, Timestamp};

/// Packets per batch.
const BATCH: usize = 2048;

/// A frame copied out of the reader's buffer.
#[derive(Debug, Clone, Copy)]
struct Meta {
    n: u64,
    ts: Timestamp,
    linktype: u32,
    iface: Option<u32>,
    len: u32,
    start: usize,
    end: usize,
}

struct Batch {
    seq: u64,
    data: Vec<u8>,
    frames: Vec<Meta>,
    /// The timestamp of the packet before this batch (for delta times).
    prev: Option<Timestamp>,
    /// The timestamp of the first packet shown (for relative times).
    first: Option<Timestamp>,
}

/// What a worker made of a batch: bytes, and where each emitted packet's
/// bytes end (so a count limit can cut exactly).
struct Done {
    seq: u64,
    out: Vec<u8>,
    ends: Vec<usize>,
}

/// Per-worker state and how to turn a frame into output bytes.
pub trait Work: Send {
    /// Called before each batch with the timestamps of the file's first
    /// packet and of the packet before the batch.
    fn start_batch(&mut self, first: Option<Timestamp>, prev: Option<Timestamp>);
    /// Formats one frame into `out`; returns false when the frame is not
    /// shown (a filter said no).
    fn frame(&mut self, frame: &Frame<'_>, out: &mut Vec<u8>) -> bool;
}

/// Reads `input`, runs `make()`'s workers over batches on `workers`
/// threads, and hands the output bytes to `sink` in file order, stopping
/// after `limit` emitted packets.
///
/// # Errors
/// Reading errors, and the sink's write errors (as `ReadError::Io`).
pub fn run<W: Work, M: Fn() -> W + Sync>(
    input: impl Read + Send + 'static,
    workers: usize,
    skip: u64,
    limit: u64,
    make: M,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<ReadSummary, ReadError> {
    let stop = AtomicBool::new(false);
    let (work_tx, work_rx) = sync_channel::<Batch>(workers * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<Done>(workers * 2);
    // used buffers go back to be filled again: no page faults per batch
    let (spare_out_tx, spare_out_rx) = sync_channel::<Vec<u8>>(workers * 4);
    let spare_out_rx = Arc::new(Mutex::new(spare_out_rx));
    let (spare_in_tx, spare_in_rx) = sync_channel::<(Vec<u8>, Vec<Meta>)>(workers * 4);
    std::thread::scope(|sc| {
        for _ in 0..workers.max(1) {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            let spare_out = Arc::clone(&spare_out_rx);
            let spare_in = spare_in_tx.clone();
            let make = &make;
            sc.spawn(move || {
                let mut w = make();
                loop {
                    let batch = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok(batch) = batch else { return };
                    w.start_batch(batch.first, batch.prev);
                    let mut out = spare_out
                        .lock()
                        .ok()
                        .and_then(|rx| rx.try_recv().ok())
                        .unwrap_or_else(|| Vec::with_capacity(BATCH * 192));
                    out.clear();
                    let mut ends = Vec::with_capacity(batch.frames.len());
                    for m in &batch.frames {
                        let f = Frame {
                            n: m.n,
                            ts: m.ts,
                            linktype: m.linktype,
                            iface: m.iface,
                            len: m.len,
                            data: &batch.data[m.start..m.end],
                        };
                        if w.frame(&f, &mut out) {
                            ends.push(out.len());
                        }
                    }
                    let _ = spare_in.try_send((batch.data, batch.frames));
                    if tx
                        .send(Done {
                            seq: batch.seq,
                            out,
                            ends,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        // only the workers hold the receiving ends now: when they stop
        // (the writer reached the count), the reader's sends fail at once
        drop(work_rx);
        drop(done_tx);
        drop(spare_in_tx);
        let stop = &stop;
        let reader = sc.spawn(move || {
            let recycle = |seq, prev| {
                let mut b = new_batch(seq, prev);
                if let Ok((mut data, mut frames)) = spare_in_rx.try_recv() {
                    data.clear();
                    frames.clear();
                    b.data = data;
                    b.frames = frames;
                }
                b
            };
            let mut batch = recycle(0, None);
            let mut prev = None;
            let mut first_ts: Option<Timestamp> = None;
            let result = read_frames(input, |f| {
                if stop.load(Ordering::Relaxed) {
                    return Ok(Flow::Stop);
                }
                if f.n <= skip {
                    prev = Some(f.ts);
                    return Ok(Flow::Continue);
                }
                first_ts.get_or_insert(f.ts);
                let start = batch.data.len();
                batch.data.extend_from_slice(f.data);
                batch.frames.push(Meta {
                    n: f.n,
                    ts: f.ts,
                    linktype: f.linktype,
                    iface: f.iface,
                    len: f.len,
                    start,
                    end: batch.data.len(),
                });
                prev = Some(f.ts);
                if batch.frames.len() == BATCH {
                    let next = recycle(batch.seq + 1, prev);
                    let mut full = std::mem::replace(&mut batch, next);
                    full.first = first_ts;
                    if work_tx.send(full).is_err() {
                        return Ok(Flow::Stop);
                    }
                }
                Ok(Flow::Continue)
            });
            if !batch.frames.is_empty() {
                batch.first = first_ts;
                let _ = work_tx.send(batch);
            }
            result
        });
        // this thread writes, so the sink need not be Send
        let written = write_in_order(done_rx, limit, stop, sink, &spare_out_tx);
        let summary = reader
            .join()
            .unwrap_or_else(|_| Err(ReadError::Io(io::Error::other("reader thread failed"))))?;
        written?;
        Ok(summary)
    })
}

fn new_batch(seq: u64, prev: Option<Timestamp>) -> Batch {
    Batch {
        seq,
        data: Vec::new(),
        frames: Vec::new(),
        prev,
        first: None,
    }
}

fn write_in_order(
    rx: Receiver<Done>,
    limit: u64,
    stop: &AtomicBool,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    spare: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> io::Result<()> {
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0u64;
    let mut emitted = 0u64;
    for done in rx {
        pending.insert(done.seq, done);
        while let Some(d) = pending.remove(&next) {
            next += 1;
            let room = limit - emitted;
            if (d.ends.len() as u64) < room {
                emitted += d.ends.len() as u64;
                if let Err(e) = sink(&d.out) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                let _ = spare.try_send(d.out);
            } else {
                let cut = usize::try_from(room)
                    .ok()
                    .and_then(|r| r.checked_sub(1))
                    .map_or(0, |i| d.ends[i]);
                let res = sink(&d.out[..cut]);
                stop.store(true, Ordering::Relaxed);
                // drain the channel so workers can finish
                return res;
            }
        }
    }
    Ok(())
}
