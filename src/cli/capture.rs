//! Handlers of `decode` (and the other capture commands).

use std::fs::File;
use std::io::{self, Read, Write};

use super::args::{DecodeArgs, TimeArg};
use crate::capture::pipeline::{self, Work};
use crate::capture::{decode_into, Frame, ReadSummary, Timestamp};
use crate::error::EXIT_IO;
use crate::filter::Filter;
use crate::model::packet::Packet;
use crate::output::packet::{PacketWriter, TimeMode};
use crate::output::{self, packet_json, Format, Options};
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
}

impl Work for DecodeWork<'_> {
    fn start_batch(&mut self, first: Option<Timestamp>, prev: Option<Timestamp>) {
        self.writer.seed(first, prev);
    }

    fn frame(&mut self, frame: &Frame<'_>, out: &mut Vec<u8>) -> bool {
        decode_into(frame, &mut self.packet);
        let p = &self.packet;
        if self.filter.is_some_and(|f| !f.matches(p)) {
            return false;
        }
        // writing into a Vec cannot fail
        let _ = match self.opts.format {
            Format::Json => {
                packet_json::write_packet(p, out);
                Ok(())
            }
            Format::Human => {
                let r = if self.opts.verbose > 0 {
                    self.writer.tree(p, out)
                } else {
                    self.writer.line(p, out)
                };
                if self.args.hex {
                    self.writer.hex(frame.data, out)
                } else {
                    r
                }
            }
        };
        true
    }
}

fn time_mode(t: TimeArg) -> TimeMode {
    match t {
        TimeArg::Abs => TimeMode::Abs,
        TimeArg::Rel => TimeMode::Rel,
        TimeArg::Delta => TimeMode::Delta,
        TimeArg::Epoch => TimeMode::Epoch,
    }
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
    };
    let mut sink = |b: &[u8]| out.write_all(b);
    let summary =
        pipeline::run(input, workers, args.skip, limit, make, &mut sink).map_err(|source| {
            Error::Capture {
                path: args.file.clone(),
                source,
            }
        })?;
    out.flush().map_err(|e| Error::io("writing output", e))?;
    check_truncated(&args.file, &summary, args.strict)?;
    Ok(0)
}
