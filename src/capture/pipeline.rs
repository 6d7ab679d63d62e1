//! Reading a capture on one thread while worker threads decode and format
//! batches of packets in parallel; the formatted bytes come back in file
//! order. Used by `decode` for large inputs: decoding and formatting are
//! most of the work, and this spreads them over every core.
//!
//! Memory stays bounded: at most a few batches are in flight (bounded
//! channels), each holding a copy of `BATCH` packets, or for legacy pcap
//! one chunk of the file read straight into the batch's buffer (the
//! records are found in place, nothing is copied but a record cut by the
//! chunk's end).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use super::reader::{read_frames, read_full, Flow, Frame, ReadError, ReadSummary, Timestamp};

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
/// bytes end (so a count limit can cut exactly). A batch whose output is
/// large (the hex of a 16 MiB frame) comes in several parts, each with
/// the ends that fall inside it; the last part has `last` set.
struct Done {
    seq: u64,
    out: Vec<u8>,
    ends: Vec<usize>,
    last: bool,
}

/// Output a worker holds before it hands a part to the writer.
pub const SPILL: usize = 1 << 20;

/// Output buffers larger than this are dropped, not recycled.
const KEEP_OUT: usize = 4 * SPILL;

/// Bytes of captured data queued or in the workers at once (a batch is
/// sent over it only when nothing else is in flight): files of 16 MiB
/// records cost a few records of memory, not a queue of them.
const IN_FLIGHT: usize = 32 << 20;

/// Per-worker state and how to turn a frame into output bytes.
pub trait Work: Send {
    /// Called before each batch with the timestamps of the file's first
    /// packet and of the packet before the batch.
    fn start_batch(&mut self, first: Option<Timestamp>, prev: Option<Timestamp>);
    /// Formats one frame into `out`; returns false when the frame is not
    /// shown (a filter said no). A frame whose output grows large calls
    /// `spill` whenever `out` holds [`SPILL`] bytes or more: the bytes go
    /// to the writer and `out` is emptied, so memory stays bounded by the
    /// part, not by the frame.
    fn frame(
        &mut self,
        frame: &Frame<'_>,
        out: &mut Vec<u8>,
        spill: &mut dyn FnMut(&mut Vec<u8>),
    ) -> bool;
}

/// Reads `input`, runs `make()`'s workers over batches on `workers`
/// threads, and hands the output bytes to `sink` in file order, stopping
/// after `limit` emitted packets. `live` (a pipe, say
/// `capture -w - | decode -`) hands every packet on as soon as its record
/// has arrived, instead of batching for speed.
///
/// # Errors
/// Reading errors, and the sink's write errors (as `ReadError::Io`).
pub fn run<W: Work, M: Fn() -> W + Sync>(
    input: impl Read + Send + 'static,
    live: bool,
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
    // the batch being written: a worker spills parts only for that one
    let writing = AtomicU64::new(0);
    let in_flight = AtomicUsize::new(0);
    let in_flight = &in_flight;
    std::thread::scope(|sc| {
        for _ in 0..workers.max(1) {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            let spare_out = Arc::clone(&spare_out_rx);
            let spare_in = spare_in_tx.clone();
            let make = &make;
            let (writing, stop) = (&writing, &stop);
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
                        // a part goes out only when this batch is the one
                        // being written: parts never pile up in the writer
                        let mut spill = |buf: &mut Vec<u8>| {
                            while writing.load(Ordering::Acquire) != batch.seq
                                && !stop.load(Ordering::Relaxed)
                            {
                                std::thread::sleep(std::time::Duration::from_millis(1));
                            }
                            let part = Done {
                                seq: batch.seq,
                                out: std::mem::take(buf),
                                ends: std::mem::take(&mut ends),
                                last: false,
                            };
                            drop(tx.send(part));
                        };
                        if w.frame(&f, &mut out, &mut spill) {
                            ends.push(out.len());
                        }
                    }
                    in_flight.fetch_sub(batch.data.len(), Ordering::AcqRel);
                    // a buffer grown for one huge record is not kept
                    if batch.data.capacity() <= KEEP_OUT {
                        let _ = spare_in.try_send((batch.data, batch.frames));
                    }
                    if tx
                        .send(Done {
                            seq: batch.seq,
                            out,
                            ends,
                            last: true,
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
        // the reader waits while the queued bytes are over the budget
        let admit = move |b: &Batch| {
            let n = b.data.len();
            while in_flight.load(Ordering::Acquire) > 0
                && in_flight.load(Ordering::Acquire) + n > IN_FLIGHT
                && !stop.load(Ordering::Relaxed)
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            in_flight.fetch_add(n, Ordering::AcqRel);
        };
        let reader = sc.spawn(move || {
            // a recycled buffer keeps its length: the legacy path reads
            // over it without zeroing it again (the general path clears it)
            let recycle = |seq, prev| {
                let mut b = new_batch(seq, prev);
                if let Ok((data, mut frames)) = spare_in_rx.try_recv() {
                    frames.clear();
                    b.data = data;
                    b.frames = frames;
                }
                b
            };
            // legacy pcap: records are read in place, a chunk of the file
            // per batch, instead of being copied out one by one
            let mut input = input;
            let mut head = [0u8; 24];
            let got = match read_full(&mut input, &mut head) {
                Ok(n) => n,
                Err(e) => return Err(ReadError::Io(e)),
            };
            // a live input (a pipe) is not read in chunks: a chunk read
            // would wait for packets that have not been captured yet
            if let Some(kind) = legacy_kind(&head[..got]).filter(|_| !live) {
                return read_legacy(input, &head, kind, skip, stop, recycle, |b| {
                    admit(&b);
                    work_tx.send(b).is_ok()
                });
            }
            let input = io::Cursor::new(head[..got].to_vec()).chain(input);
            let recycle = |seq, prev| {
                let mut b = recycle(seq, prev);
                b.data.clear();
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
                // live: each packet is handed on as soon as it is read
                if batch.frames.len() == BATCH || live {
                    let next = recycle(batch.seq + 1, prev);
                    let mut full = std::mem::replace(&mut batch, next);
                    full.first = first_ts;
                    admit(&full);
                    if work_tx.send(full).is_err() {
                        return Ok(Flow::Stop);
                    }
                }
                Ok(Flow::Continue)
            });
            if !batch.frames.is_empty() {
                batch.first = first_ts;
                admit(&batch);
                let _ = work_tx.send(batch);
            }
            result
        });
        // this thread writes, so the sink need not be Send
        let written = write_in_order(done_rx, limit, stop, &writing, sink, &spare_out_tx);
        let summary = reader
            .join()
            .unwrap_or_else(|_| Err(ReadError::Io(io::Error::other("reader thread failed"))))?;
        written?;
        Ok(summary)
    })
}

/// A legacy pcap header's byte order and resolution.
#[derive(Debug, Clone, Copy)]
struct Legacy {
    big_endian: bool,
    nano: bool,
}

/// The kind of a legacy pcap file from its 24-byte header (not the
/// "modified" format, whose records are longer: the general reader
/// handles that one).
fn legacy_kind(head: &[u8]) -> Option<Legacy> {
    if head.len() < 24 {
        return None;
    }
    pcap_parser::pcap::parse_pcap_header(head).ok()?;
    match u32::from_le_bytes([head[0], head[1], head[2], head[3]]) {
        0xa1b2_c3d4 => Some(Legacy {
            big_endian: false,
            nano: false,
        }),
        0xa1b2_3c4d => Some(Legacy {
            big_endian: false,
            nano: true,
        }),
        0xd4c3_b2a1 => Some(Legacy {
            big_endian: true,
            nano: false,
        }),
        0x4d3c_b2a1 => Some(Legacy {
            big_endian: true,
            nano: true,
        }),
        _ => None,
    }
}

/// Bytes of file read per batch on the legacy path.
const CHUNK: usize = 256 << 10;
/// Largest record accepted (as the general reader).
const MAX_RECORD: usize = 16 << 20;

/// The legacy pcap path of the reader thread: the file is read a chunk
/// at a time straight into a batch's buffer, its records are found in
/// place with pcap-parser's frame parser, and the batch goes to the
/// workers with the offsets; only a record cut by the chunk's end is
/// copied, to the start of the next buffer.
fn read_legacy(
    mut input: impl Read,
    head: &[u8; 24],
    kind: Legacy,
    skip: u64,
    stop: &AtomicBool,
    mut recycle: impl FnMut(u64, Option<Timestamp>) -> Batch,
    mut send: impl FnMut(Batch) -> bool,
) -> Result<ReadSummary, ReadError> {
    use super::reader::{linktype, note_linktype, Format};
    let word = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if kind.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    let lt = linktype(i32::from_ne_bytes(word(&head[20..24]).to_ne_bytes()));
    let mut summary = ReadSummary {
        format: Some(Format::Pcap),
        bytes: 24,
        ..ReadSummary::default()
    };
    note_linktype(&mut summary, lt);
    let (res, digits): (u64, u8) = if kind.nano {
        (1_000_000_000, 9)
    } else {
        (1_000_000, 6)
    };
    let mut batch = recycle(0, None);
    let mut carry: Vec<u8> = Vec::new();
    let mut offset: u64 = 24;
    let mut prev: Option<Timestamp> = None;
    let mut first_ts: Option<Timestamp> = None;
    let mut eof = false;
    let mut need = CHUNK;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // the carried bytes first, then the file up to `want`; bytes past
        // `filled` are stale and never looked at
        let want = need.max(CHUNK).max(carry.len());
        if batch.data.len() < want {
            batch.data.resize(want, 0);
        }
        batch.data[..carry.len()].copy_from_slice(&carry);
        let have = carry.len();
        carry.clear();
        let mut filled = have;
        if !eof {
            let got = read_full(&mut input, &mut batch.data[have..want]).map_err(ReadError::Io)?;
            filled = have + got;
            eof = filled < want;
        }
        let mut o = 0;
        need = CHUNK;
        // a record no file may hold: the records before it are still shown
        let mut corrupt: Option<ReadError> = None;
        while filled - o >= 16 {
            let rest = &batch.data[o..filled];
            let caplen = word(&rest[8..12]) as usize;
            if caplen > MAX_RECORD {
                let detail =
                    super::reader::impossible_record(rest, Some(Format::Pcap), kind.big_endian)
                        .unwrap_or_default();
                corrupt = Some(ReadError::Corrupt {
                    offset: offset + o as u64,
                    detail,
                });
                break;
            }
            if rest.len() < 16 + caplen {
                need = 16 + caplen;
                break;
            }
            let parsed = if kind.big_endian {
                pcap_parser::pcap::parse_pcap_frame_be(rest)
            } else {
                pcap_parser::pcap::parse_pcap_frame(rest)
            };
            let Ok((_, rec)) = parsed else {
                corrupt = Some(ReadError::Corrupt {
                    offset: offset + o as u64,
                    detail: "a record header that cannot be read".into(),
                });
                break;
            };
            summary.packets += 1;
            let frac = u64::from(rec.ts_usec);
            let ts = Timestamp {
                secs: i64::from(rec.ts_sec) + i64::try_from(frac / res).unwrap_or(0),
                nanos: u32::try_from(u128::from(frac % res) * 1_000_000_000 / u128::from(res))
                    .unwrap_or(0),
                digits,
            };
            if summary.packets > skip {
                first_ts.get_or_insert(ts);
                batch.frames.push(Meta {
                    n: summary.packets,
                    ts,
                    linktype: lt,
                    iface: None,
                    len: rec.origlen,
                    start: o + 16,
                    end: o + 16 + caplen,
                });
            }
            prev = Some(ts);
            o += 16 + caplen;
        }
        carry.extend_from_slice(&batch.data[o..filled]);
        offset += o as u64;
        summary.bytes = offset;
        if !batch.frames.is_empty() {
            let next = recycle(batch.seq + 1, prev);
            let mut full = std::mem::replace(&mut batch, next);
            full.first = first_ts;
            if !send(full) {
                break;
            }
        } else {
            // nothing shown from this chunk (skipped): keep the batch
            batch.prev = prev;
        }
        if let Some(e) = corrupt {
            return Err(e);
        }
        if eof {
            // what is left is a record the file cuts short
            if !carry.is_empty() {
                summary.truncated_at = Some(offset);
            }
            break;
        }
    }
    Ok(summary)
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
    writing: &AtomicU64,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    spare: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> io::Result<()> {
    let mut pending: BTreeMap<u64, std::collections::VecDeque<Done>> = BTreeMap::new();
    let mut next = 0u64;
    let mut emitted = 0u64;
    for done in rx {
        pending.entry(done.seq).or_default().push_back(done);
        while let Some(d) = pending
            .get_mut(&next)
            .and_then(std::collections::VecDeque::pop_front)
        {
            let room = limit - emitted;
            if (d.ends.len() as u64) < room {
                emitted += d.ends.len() as u64;
                if let Err(e) = sink(&d.out) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                if d.last {
                    pending.remove(&next);
                    next += 1;
                    writing.store(next, Ordering::Release);
                }
                if d.out.capacity() <= KEEP_OUT {
                    let _ = spare.try_send(d.out);
                }
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
