//! Handlers of `decode` (and the other capture commands).

use std::fs::File;
use std::io::{self, Read, Write};

use super::args::{DecodeArgs, TimeArg};
use crate::capture::{decode as decode_frame, read_frames, Flow, ReadSummary};
use crate::error::EXIT_IO;
use crate::output::packet::{PacketWriter, TimeMode};
use crate::output::{self, ndjson, Format, Options};
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

pub(super) fn decode(args: &DecodeArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let input = open(&args.file)?;
    let time = match args.time {
        TimeArg::Abs => TimeMode::Abs,
        TimeArg::Rel => TimeMode::Rel,
        TimeArg::Delta => TimeMode::Delta,
        TimeArg::Epoch => TimeMode::Epoch,
    };
    let mut writer = PacketWriter::new(time);
    let mut shown = 0u64;
    let limit = args.count.unwrap_or(u64::MAX);
    if limit == 0 {
        return Ok(0);
    }
    let summary = read_frames(input, |frame| {
        if frame.n <= args.skip {
            return Ok(Flow::Continue);
        }
        let p = decode_frame(frame);
        match opts.format {
            Format::Json => ndjson(&p, out)?,
            Format::Human => {
                if opts.verbose > 0 {
                    writer.tree(&p, out)?;
                } else {
                    writer.line(&p, out)?;
                }
                if args.hex {
                    writer.hex(frame.data, out)?;
                }
            }
        }
        shown += 1;
        Ok(if shown >= limit {
            Flow::Stop
        } else {
            Flow::Continue
        })
    })
    .map_err(|source| Error::Capture {
        path: args.file.clone(),
        source,
    })?;
    out.flush().map_err(|e| Error::io("writing output", e))?;
    check_truncated(&args.file, &summary, args.strict)?;
    Ok(0)
}
