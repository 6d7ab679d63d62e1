//! The capture engine: one place where packets are read from a
//! [`Source`], decoded, filtered and handed to one or more [`Sink`]s in a
//! single pass.
//!
//! A source is one or more capture files, or stdin (`-`). A glob or a
//! folder among the inputs is expanded; several files are read in
//! timestamp order (a k-way merge, as `mergecap` does) or one after
//! another (`merge: false`). Each file keeps its own verdict: a corrupt or
//! unreadable file is reported at the end while the others are read
//! whole.
//!
//! Sinks are where the kind of work lives: `stats`' collector, `follow`'s
//! reassembler, the ARP watcher. The engine calls each sink with every
//! packet that passed the filter; a sink that says [`Flow::Stop`] ends the
//! reading. `decode`'s printers run on the parallel pipeline
//! ([`super::pipeline`]), which has its own batching for speed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};

use super::reader::{read_frames_partial, Flow, Frame, ReadError, ReadSummary};
use crate::filter::Filter;
use crate::model::packet::{Packet, Timestamp};

/// Where packets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Capture files in the order given (`-`: stdin), globs and folders
    /// already expanded.
    pub files: Vec<String>,
    /// Several files: in timestamp order (true) or one after another.
    pub merge: bool,
}

/// A consumer of decoded packets.
pub trait Sink {
    /// One packet that passed the filter, with its frame.
    ///
    /// # Errors
    /// A write failure, which ends the reading.
    fn packet(&mut self, p: &Packet, frame: &Frame<'_>) -> io::Result<Flow>;
}

/// A closure is a sink too (small consumers need no type of their own).
impl<F: FnMut(&Packet, &Frame<'_>) -> io::Result<Flow>> Sink for F {
    fn packet(&mut self, p: &Packet, frame: &Frame<'_>) -> io::Result<Flow> {
        self(p, frame)
    }
}

/// What reading one file of a source gave.
#[derive(Debug)]
pub struct FileOutcome {
    /// The file as given (`-` for stdin).
    pub path: String,
    /// What was read of it.
    pub summary: ReadSummary,
    /// Why it stopped early, if it did.
    pub error: Option<ReadError>,
}

impl FileOutcome {
    /// True when nothing of the file could be read (it is not a capture,
    /// or it cannot be opened): a command then says only the error.
    pub fn read_nothing(&self) -> bool {
        self.summary.format.is_none() && self.error.is_some()
    }
}

/// Why a source cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A glob pattern that does not parse.
    #[error("{pattern:?} is not a valid pattern: {message}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        message: String,
    },
    /// A glob or folder that names no capture file.
    #[error("{0:?} names no capture file")]
    Empty(String),
    /// A file or folder that cannot be opened.
    #[error("{path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// The cause.
        source: io::Error,
    },
}

/// Names that look like captures, when a folder is expanded.
fn is_capture_name(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".pcap", ".pcapng", ".cap", ".pcap.gz", ".ntar"]
        .iter()
        .any(|ext| name.ends_with(ext))
        || name.contains(".pcap")
}

impl Source {
    /// The inputs as given: `-` is stdin; an existing path is one file; a
    /// folder is every capture file directly in it (by name, sorted); a
    /// pattern with `*`, `?` or `[` is expanded (sorted). `merge` says how
    /// several files are read.
    ///
    /// # Errors
    /// A bad pattern, or one (or a folder) that names no file.
    pub fn expand(inputs: &[String], merge: bool) -> Result<Source, SourceError> {
        let mut files = Vec::new();
        for input in inputs {
            let path = Path::new(input);
            if input == "-" || (path.exists() && !path.is_dir()) {
                files.push(input.clone());
            } else if path.is_dir() {
                let rd = std::fs::read_dir(path).map_err(|source| SourceError::Open {
                    path: input.clone(),
                    source,
                })?;
                let mut found: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file() && is_capture_name(p))
                    .collect();
                if found.is_empty() {
                    return Err(SourceError::Empty(input.clone()));
                }
                found.sort();
                files.extend(found.into_iter().map(|p| p.display().to_string()));
            } else if input.contains(['*', '?', '[']) {
                let paths = glob::glob(input).map_err(|e| SourceError::Pattern {
                    pattern: input.clone(),
                    message: e.msg.to_string(),
                })?;
                let mut found: Vec<PathBuf> = paths
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .collect();
                if found.is_empty() {
                    return Err(SourceError::Empty(input.clone()));
                }
                found.sort();
                files.extend(found.into_iter().map(|p| p.display().to_string()));
            } else {
                // a missing file: reported when it is opened, like any other
                files.push(input.clone());
            }
        }
        Ok(Source { files, merge })
    }

    /// The name to show for the whole source: the file, or `N files`.
    pub fn label(&self) -> String {
        match self.files.as_slice() {
            [one] => one.clone(),
            many => format!("{} files", many.len()),
        }
    }
}

/// Reads a source: decodes each packet into one reused [`Packet`], keeps
/// the packets `filter` accepts, and hands them to every sink in turn.
/// `shallow_dns` decodes DNS only as far as its header (for sinks that need
/// to know a message is DNS, not its names).
///
/// Returns one outcome per file, in the order of the source.
pub fn run(
    source: &Source,
    filter: Option<&Filter>,
    shallow_dns: bool,
    sinks: &mut [&mut dyn Sink],
) -> Vec<FileOutcome> {
    let mut packet = Packet {
        shallow_dns,
        ..Packet::default()
    };
    let mut each = |frame: &Frame<'_>| -> io::Result<Flow> {
        super::decode_into(frame, &mut packet);
        if filter.is_some_and(|f| !f.matches(&packet)) {
            return Ok(Flow::Continue);
        }
        let mut flow = Flow::Continue;
        for s in sinks.iter_mut() {
            if matches!(s.packet(&packet, frame)?, Flow::Stop) {
                flow = Flow::Stop;
            }
        }
        Ok(flow)
    };
    if source.files.len() > 1 && source.merge {
        return merged(&source.files, &mut each);
    }
    let mut out = Vec::with_capacity(source.files.len());
    let mut n = 0u64;
    let mut stopped = false;
    for path in &source.files {
        if stopped {
            break;
        }
        let (summary, error) = match open(path) {
            Ok(input) => read_frames_partial(input, |f| {
                // packets are numbered across the whole source
                n += 1;
                let frame = Frame { n, ..*f };
                let flow = each(&frame)?;
                if matches!(flow, Flow::Stop) {
                    stopped = true;
                }
                Ok(flow)
            }),
            Err(e) => (ReadSummary::default(), Some(ReadError::Io(e))),
        };
        out.push(FileOutcome {
            path: path.clone(),
            summary,
            error,
        });
    }
    out
}

/// Opens a capture file, or stdin for `-`.
///
/// # Errors
/// The file cannot be opened.
pub fn open(path: &str) -> io::Result<Box<dyn Read + Send>> {
    if path == "-" {
        return Ok(Box::new(io::stdin()));
    }
    std::fs::File::open(path).map(|f| Box::new(f) as Box<dyn Read + Send>)
}

/// A frame copied out of its reader, for the merge.
struct Owned {
    ts: Timestamp,
    linktype: u32,
    iface: Option<u32>,
    len: u32,
    data: Vec<u8>,
}

/// Frames a file's reader thread has queued for the merge.
const QUEUE: usize = 256;

/// Several files in timestamp order: each is read by a thread of its own
/// into a bounded queue, and the earliest head goes next (ties in the
/// order of the files), so memory is a few hundred frames per file.
fn merged(
    files: &[String],
    each: &mut dyn FnMut(&Frame<'_>) -> io::Result<Flow>,
) -> Vec<FileOutcome> {
    std::thread::scope(|sc| {
        let mut queues: Vec<Receiver<Owned>> = Vec::new();
        let mut readers = Vec::new();
        for path in files {
            let (tx, rx) = sync_channel::<Owned>(QUEUE);
            queues.push(rx);
            readers.push(sc.spawn(move || match open(path) {
                Ok(input) => read_frames_partial(input, |f| {
                    let owned = Owned {
                        ts: f.ts,
                        linktype: f.linktype,
                        iface: f.iface,
                        len: f.len,
                        data: f.data.to_vec(),
                    };
                    // the merge has stopped: stop reading too
                    Ok(if tx.send(owned).is_err() {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    })
                }),
                Err(e) => (ReadSummary::default(), Some(ReadError::Io(e))),
            }));
        }
        let mut heads: BinaryHeap<Reverse<(i64, u32, usize)>> = BinaryHeap::new();
        let mut held: Vec<Option<Owned>> = Vec::with_capacity(files.len());
        for (i, q) in queues.iter().enumerate() {
            let head = q.recv().ok();
            if let Some(h) = &head {
                heads.push(Reverse((h.ts.secs, h.ts.nanos, i)));
            }
            held.push(head);
        }
        let mut n = 0u64;
        let mut failed: Option<io::Error> = None;
        while let Some(Reverse((_, _, i))) = heads.pop() {
            let Some(o) = held[i].take() else { continue };
            n += 1;
            let frame = Frame {
                n,
                ts: o.ts,
                linktype: o.linktype,
                iface: o.iface,
                len: o.len,
                data: &o.data,
            };
            match each(&frame) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if let Ok(next) = queues[i].recv() {
                heads.push(Reverse((next.ts.secs, next.ts.nanos, i)));
                held[i] = Some(next);
            }
        }
        // readers blocked on a full queue end when their queue is dropped
        drop(queues);
        let mut out: Vec<FileOutcome> = files
            .iter()
            .zip(readers)
            .map(|(path, r)| {
                let (summary, error) = r.join().unwrap_or_else(|_| {
                    (
                        ReadSummary::default(),
                        Some(ReadError::Io(io::Error::other("reader thread failed"))),
                    )
                });
                FileOutcome {
                    path: path.clone(),
                    summary,
                    error,
                }
            })
            .collect();
        if let (Some(e), Some(first)) = (failed, out.first_mut()) {
            // a sink's write failure is the whole run's
            first.error = Some(ReadError::Io(e));
        }
        out
    })
}

/// The sum of several files' summaries (packets, bytes, link types); the
/// format and the truncation offset are kept only for a single file.
pub fn total(outcomes: &[FileOutcome]) -> ReadSummary {
    if let [one] = outcomes {
        return one.summary.clone();
    }
    let mut t = ReadSummary::default();
    for o in outcomes {
        t.packets += o.summary.packets;
        t.bytes += o.summary.bytes;
        if t.format.is_none() {
            t.format = o.summary.format;
        }
        for lt in &o.summary.linktypes {
            super::reader::note_linktype(&mut t, *lt);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy pcap of UDP frames at the given seconds.
    fn pcap(seconds: &[u32]) -> Vec<u8> {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        for s in seconds {
            let mut frame = Vec::new();
            etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
                .udp(1000, 2000)
                .write(&mut frame, &s.to_be_bytes())
                .unwrap();
            for w in [*s, 0, frame.len() as u32, frame.len() as u32] {
                f.extend_from_slice(&w.to_le_bytes());
            }
            f.extend_from_slice(&frame);
        }
        f
    }

    struct Times(Vec<(u64, i64)>);

    impl Sink for Times {
        fn packet(&mut self, _: &Packet, frame: &Frame<'_>) -> io::Result<Flow> {
            self.0.push((frame.n, frame.ts.secs));
            Ok(Flow::Continue)
        }
    }

    #[test]
    fn several_files_merge_in_time_order_or_follow_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pcap");
        let b = dir.path().join("b.pcap");
        std::fs::write(&a, pcap(&[1, 4, 5, 9])).unwrap();
        std::fs::write(&b, pcap(&[2, 3, 9, 10])).unwrap();
        let inputs = vec![dir.path().display().to_string()];
        let src = Source::expand(&inputs, true).unwrap();
        assert_eq!(src.files.len(), 2);
        let mut t = Times(Vec::new());
        let out = run(&src, None, false, &mut [&mut t]);
        let secs: Vec<i64> = t.0.iter().map(|x| x.1).collect();
        assert_eq!(secs, [1, 2, 3, 4, 5, 9, 9, 10]);
        let ns: Vec<u64> = t.0.iter().map(|x| x.0).collect();
        assert_eq!(ns, (1..=8).collect::<Vec<_>>());
        assert_eq!(total(&out).packets, 8);
        let src = Source::expand(&[format!("{}/*.pcap", dir.path().display())], false).unwrap();
        let mut t = Times(Vec::new());
        run(&src, None, false, &mut [&mut t]);
        let secs: Vec<i64> = t.0.iter().map(|x| x.1).collect();
        assert_eq!(secs, [1, 4, 5, 9, 2, 3, 9, 10]);
    }

    #[test]
    fn a_bad_file_among_several_keeps_its_own_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.pcap");
        let bad = dir.path().join("bad.pcap");
        std::fs::write(&good, pcap(&[1, 2])).unwrap();
        std::fs::write(&bad, b"this is not a capture file at all").unwrap();
        for merge in [true, false] {
            let src = Source {
                files: vec![bad.display().to_string(), good.display().to_string()],
                merge,
            };
            let mut t = Times(Vec::new());
            let out = run(&src, None, false, &mut [&mut t]);
            assert_eq!(t.0.len(), 2, "the good file is read whole");
            assert!(matches!(out[0].error, Some(ReadError::NotACapture { .. })));
            assert!(out[1].error.is_none());
        }
        let e = Source::expand(&[format!("{}/*.nothing", dir.path().display())], true);
        assert!(matches!(e, Err(SourceError::Empty(_))));
    }
}
