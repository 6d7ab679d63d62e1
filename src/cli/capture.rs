//! Handlers of `decode` (and the other capture commands).

use std::fs::File;
use std::io::{self, Read, Write};

use super::args::{DecodeArgs, DirectionArg, FollowArgs, StatsArgs, TimeArg};
use crate::analysis::follow::{Ends, FollowSink, Piece, Select};
use crate::analysis::stats::Collector;
use crate::capture::engine;
use crate::capture::pipeline::{self, Work};
use crate::capture::{decode_into, Frame, ReadSummary, Timestamp};
use crate::error::{EXIT_IO, EXIT_NEGATIVE};
use crate::filter::Filter;
use crate::model::packet::Packet;
use crate::output::packet::{PacketWriter, TimeMode};
use crate::output::stats::{FollowText, StatsView};
use crate::output::{self, ndjson, packet_json, Format, Options};
use crate::{Error, Result};

/// Opens a capture, `-` meaning stdin.
pub(super) fn open(path: &str) -> Result<Box<dyn Read + Send>> {
    if path == "-" {
        return Ok(Box::new(io::stdin()));
    }
    File::open(path)
        .map(|f| Box::new(f) as Box<dyn Read + Send>)
        .map_err(|source| Error::File {
            path: path.into(),
            source,
        })
}

/// Reports a file that ended inside a record: a warning, or with --strict
/// an error.
pub(super) fn check_truncated(path: &str, s: &ReadSummary, strict: bool) -> Result<()> {
    if let Some(at) = s.truncated_at {
        let msg = format!(
            "{path}: the file ends inside a record at byte offset {at}; {} whole packets were read",
            s.packets
        );
        if strict {
            output::warn(&msg);
            return Err(Error::Reported(EXIT_IO));
        }
        output::warn(&format!("warning: {msg}"));
    }
    Ok(())
}

/// Decodes and formats packets; one per worker thread.
struct DecodeWork<'a> {
    opts: &'a Options,
    args: &'a DecodeArgs,
    filter: Option<&'a Filter>,
    packet: Packet,
    writer: PacketWriter,
    json: packet_json::JsonWriter,
}

impl Work for DecodeWork<'_> {
    fn start_batch(&mut self, first: Option<Timestamp>, prev: Option<Timestamp>) {
        self.writer.seed(first, prev);
    }

    fn frame(
        &mut self,
        frame: &Frame<'_>,
        out: &mut Vec<u8>,
        spill: &mut dyn FnMut(&mut Vec<u8>),
    ) -> bool {
        decode_into(frame, &mut self.packet);
        let p = &self.packet;
        if self.filter.is_some_and(|f| !f.matches(p)) {
            return false;
        }
        // writing into a Vec cannot fail
        let _ = match self.opts.format {
            Format::Json => {
                self.json.write(p, out);
                Ok(())
            }
            Format::Human => {
                let r = if self.opts.verbose > 0 {
                    self.writer.tree(p, out)
                } else {
                    self.writer.line_into(p, out);
                    Ok(())
                };
                if self.args.hex {
                    self.writer.hex_streamed(frame.data, out, spill);
                }
                r
            }
        };
        true
    }
}

pub(super) fn time_mode(t: TimeArg) -> TimeMode {
    match t {
        TimeArg::Abs => TimeMode::Abs,
        TimeArg::Rel => TimeMode::Rel,
        TimeArg::Delta => TimeMode::Delta,
        TimeArg::Epoch => TimeMode::Epoch,
    }
}

/// Whether stdin is a regular file (`decode - < file.pcap`), which is read
/// in fast batches; a pipe or a terminal is read live.
fn stdin_is_a_file() -> bool {
    use nix::sys::stat::{fstat, SFlag};
    fstat(io::stdin())
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG)
}

/// Compiles `-f`; a syntax error is a usage error naming the column.
pub(super) fn compile(filter: Option<&String>) -> Result<Option<Filter>> {
    filter
        .map(|f| Filter::parse(f).map_err(|e| Error::Usage(e.to_string())))
        .transpose()
}

pub(super) fn decode(args: &DecodeArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let filter = compile(args.filter.as_ref())?;
    let input = open(&args.file)?;
    let limit = args.count.unwrap_or(u64::MAX);
    if limit == 0 {
        return Ok(0);
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let make = || DecodeWork {
        opts,
        args,
        filter: filter.as_ref(),
        packet: Packet::default(),
        writer: PacketWriter::new(time_mode(args.time)),
        json: packet_json::JsonWriter::default(),
    };
    // stdin from a pipe (capture -w - | decode -): each packet as it comes
    let live = args.file == "-" && !stdin_is_a_file();
    let mut sink = |b: &[u8]| {
        out.write_all(b)?;
        if live {
            out.flush()?;
        }
        Ok(())
    };
    let summary = pipeline::run(input, live, workers, args.skip, limit, make, &mut sink).map_err(
        |source| Error::Capture {
            path: args.file.clone(),
            source,
        },
    )?;
    out.flush().map_err(|e| Error::io("writing output", e))?;
    check_truncated(&args.file, &summary, args.strict)?;
    Ok(0)
}

pub(super) fn stats(args: &StatsArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let filter = compile(args.filter.as_ref())?;
    let source = engine::Source::expand(&args.files, !args.no_merge)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let mut collector = Collector::new();
    // stats needs to know a message is DNS, not its names
    let outcomes = engine::run(&source, filter.as_ref(), true, &mut [&mut collector]);
    // a lone file that cannot be read at all reports nothing but the error
    if let [one] = outcomes.as_slice() {
        if one.read_nothing() {
            return verdicts(outcomes, args.strict).map(|()| 0);
        }
    }
    let report = collector.finish(&source.label(), &engine::total(&outcomes));
    output::emit(
        &StatsView {
            stats: &report,
            top: args.top,
        },
        opts,
        out,
    )
    .map_err(|e| Error::io("writing output", e))?;
    verdicts(outcomes, args.strict)?;
    Ok(0)
}

/// Each file's verdict after a run over a source (docs/decode.md):
/// truncations are warnings (errors with `strict`), a file that could not
/// be read whole is an error. One file's error is returned as it is;
/// with several files each is said on stderr and the run exits 4.
///
/// # Errors
/// As above.
pub(super) fn verdicts(outcomes: Vec<engine::FileOutcome>, strict: bool) -> Result<()> {
    let several = outcomes.len() > 1;
    let mut failed = false;
    for o in outcomes {
        if let Some(source) = o.error {
            if !several {
                return Err(Error::Capture {
                    path: o.path,
                    source,
                });
            }
            output::warn(&format!("{}: {source}", o.path));
            failed = true;
            continue;
        }
        if check_truncated(&o.path, &o.summary, strict).is_err() {
            failed = true;
        }
    }
    if failed {
        return Err(Error::Reported(EXIT_IO));
    }
    Ok(())
}

/// One piece of a followed stream in JSON.
#[derive(serde::Serialize)]
struct PieceJson<'a> {
    from: &'a str,
    to: &'a str,
    offset: u64,
    len: u64,
    /// The bytes in hex (absent for a gap).
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    gap: bool,
}

fn endpoint_text(e: (std::net::IpAddr, u16)) -> String {
    std::net::SocketAddr::new(e.0, e.1).to_string()
}

pub(super) fn follow(args: &FollowArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let select = match args.stream.as_slice() {
        [one] => Select::Index(one.parse().map_err(|_| {
            Error::Usage(format!(
                "'{one}' is not a stream index; give an index or two endpoints ADDR:PORT ADDR:PORT"
            ))
        })?),
        [a, b] => {
            let parse = |t: &str| {
                t.parse::<std::net::SocketAddr>()
                    .map(|s| (s.ip(), s.port()))
                    .map_err(|_| {
                        Error::Usage(format!(
                            "'{t}' is not an endpoint ADDR:PORT (IPv6: [ADDR]:PORT)"
                        ))
                    })
            };
            Select::Tuple(parse(a)?, parse(b)?)
        }
        _ => return Err(Error::Usage("give a stream index or two endpoints".into())),
    };
    let filter = compile(args.filter.as_ref())?;
    // a missing input is said before anything is created
    drop(open(&args.file)?);
    let mut raw = match &args.raw {
        Some(path) => Some(std::io::BufWriter::new(File::create(path).map_err(
            |source| Error::File {
                path: path.clone(),
                source,
            },
        )?)),
        None => None,
    };
    let want = |from_client: bool| match args.direction {
        DirectionArg::Both => true,
        DirectionArg::Client => from_client,
        DirectionArg::Server => !from_client,
    };
    let mut text = FollowText::default();
    // a write failure (a closed pipe, say) stops the reading too
    let failed: std::cell::RefCell<Option<std::io::Error>> = std::cell::RefCell::new(None);
    let mut sent = [0u64; 2];
    // true: go on reading
    let handle = |piece: Piece<'_>, (client, server): Ends| -> bool {
        if failed.borrow().is_some() {
            return false;
        }
        let (from_client, offset, len, data) = match piece {
            Piece::Data {
                from_client,
                offset,
                data,
            } => (from_client, offset, data.len() as u64, Some(data)),
            Piece::Gap {
                from_client,
                offset,
                len,
            } => (from_client, offset, len, None),
        };
        if !want(from_client) {
            return true;
        }
        let (src, dst) = if from_client {
            (client, server)
        } else {
            (server, client)
        };
        let (src, dst) = (endpoint_text(src), endpoint_text(dst));
        if data.is_some() {
            sent[usize::from(!from_client)] += len;
        }
        let r = if let Some(w) = raw.as_mut() {
            data.map_or(Ok(()), |d| w.write_all(d))
        } else if opts.format == Format::Json {
            let hex = data.map(|d| d.iter().map(|b| format!("{b:02x}")).collect::<String>());
            ndjson(
                &PieceJson {
                    from: &src,
                    to: &dst,
                    offset,
                    len,
                    data: hex,
                    gap: data.is_none(),
                },
                &mut *out,
            )
        } else {
            let label = format!("{} {src} -> {dst}", if from_client { ">>>" } else { "<<<" });
            match data {
                Some(d) => text.data(opts, &label, from_client, d, args.hex, &mut *out),
                None => text.gap(&src, &dst, offset, len, &mut *out),
            }
        };
        if let Err(e) = r {
            *failed.borrow_mut() = Some(e);
            return false;
        }
        true
    };
    let mut sink = FollowSink::new(select, handle);
    let source = engine::Source {
        files: vec![args.file.clone()],
        merge: true,
    };
    // follow needs the TCP stream, not DNS names
    let mut outcomes = engine::run(&source, filter.as_ref(), true, &mut [&mut sink]);
    // nothing read at all: only the error, as stats does
    if outcomes[0].read_nothing() {
        return verdicts(outcomes, args.strict).map(|()| 0);
    }
    let engine::FileOutcome { summary, error, .. } = outcomes.remove(0);
    let unreadable = error.map(|source| Error::Capture {
        path: args.file.clone(),
        source,
    });
    sink.finish();
    let follower = sink.follower;
    let ends = follower.endpoints();
    if let Some(e) = failed.into_inner() {
        return Err(Error::io("writing output", e));
    }
    if let Some(w) = raw.as_mut() {
        w.flush()
            .map_err(|e| Error::io("writing the raw stream", e))?;
    }
    // the closing line, for people: also after an unreadable record, for
    // the stream as far as the file could be read (then the error)
    let closing = |out: &mut dyn Write| -> Result<()> {
        if let (Some((client, server)), Format::Human, None) = (ends, opts.format, &raw) {
            FollowText::summary(
                follower.packets,
                &endpoint_text(client),
                &endpoint_text(server),
                sent,
                out,
            )
            .map_err(|e| Error::io("writing output", e))?;
        }
        Ok(())
    };
    if let Some(e) = unreadable {
        closing(&mut *out)?;
        return Err(e);
    }
    check_truncated(&args.file, &summary, args.strict)?;
    if ends.is_none() {
        output::warn(&format!("{}: no such TCP stream", args.file));
        return Ok(EXIT_NEGATIVE);
    }
    closing(&mut *out)?;
    Ok(0)
}
