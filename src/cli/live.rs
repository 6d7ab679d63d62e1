//! `capture`: live capture from an interface.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::args::CaptureArgs;
use super::capture::{compile, time_mode};
use crate::capture::decode_into;
use crate::capture::live::{self, Limits};
use crate::capture::writer::{CaptureWriter, OutFormat};
use crate::link::channel::{ChannelOptions, PnetChannel};
use crate::link::iface;
use crate::model::packet::Packet;
use crate::output::packet::PacketWriter;
use crate::output::{self, packet_json, Format, Options};
use crate::{Error, Result};

/// Where the capture file goes.
fn file_sink(path: &str) -> Result<Box<dyn Write>> {
    if path == "-" {
        return Ok(Box::new(BufWriter::new(io::stdout())));
    }
    File::create(path)
        .map(|f| Box::new(BufWriter::with_capacity(256 * 1024, f)) as Box<dyn Write>)
        .map_err(|source| Error::File {
            path: path.into(),
            source,
        })
}

pub(super) fn capture(args: &CaptureArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let filter = compile(args.filter.as_ref())?;
    let duration = match args.duration {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(Error::Usage(format!(
                "--duration must be a positive number of seconds, not {s}"
            )))
        }
        Some(s) => Some(Duration::from_secs_f64(s.min(1e9))),
        None => None,
    };
    if args.snaplen == 0 {
        return Err(Error::Usage("--snaplen must be at least 1".into()));
    }
    let print = args.write.is_none() || args.print;
    if args.write.as_deref() == Some("-") && print {
        return Err(Error::Usage(
            "-w - writes the capture to stdout: --print cannot share it".into(),
        ));
    }
    let info = iface::by_name(&args.interface)
        .ok_or_else(|| crate::link::channel::no_such_interface(&args.interface))?;
    // open the socket before creating the file: no empty file is left
    // behind when privilege is missing
    let mut chan = PnetChannel::open(
        &args.interface,
        ChannelOptions {
            promiscuous: args.promisc,
            ..ChannelOptions::default()
        },
    )?;
    let mut file = match &args.write {
        Some(path) => {
            let format = if args.pcapng {
                OutFormat::Pcapng
            } else {
                OutFormat::Pcap
            };
            let w = CaptureWriter::new(file_sink(path)?, format, 1, args.snaplen, &info.name)
                .map_err(|e| Error::io(format!("writing {path}"), e))?;
            Some((path.as_str(), w))
        }
        None => None,
    };
    if !opts.quiet {
        // as tcpdump says "listening on": also the moment capture begins
        output::warn(&format!(
            "capturing on {} (Ethernet, snapshot length {} bytes{}){}",
            info.name,
            args.snaplen,
            if args.promisc { ", promiscuous" } else { "" },
            args.write
                .as_deref()
                .map_or(String::new(), |p| format!(", writing {p}"))
        ));
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        if let Err(e) = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed)) {
            output::warn(&format!(
                "warning: Ctrl-C will not end the capture cleanly: {e}"
            ));
        }
    }

    let mut packet = Packet::default();
    let mut writer = PacketWriter::new(time_mode(args.time));
    let mut json = packet_json::JsonWriter::default();
    let mut line = Vec::with_capacity(512);
    let limits = Limits {
        count: args.count,
        duration,
        loopback: info.is_loopback(),
    };
    let summary = live::capture(&mut chan, &stop, limits, |frame| {
        decode_into(frame, &mut packet);
        if filter.as_ref().is_some_and(|f| !f.matches(&packet)) {
            return Ok(false);
        }
        if let Some((path, w)) = &mut file {
            w.write(frame.ts, frame.data)?;
            // to stdout, each packet goes out as it comes (tcpdump -U)
            if *path == "-" {
                w.flush()?;
            }
        }
        if print {
            line.clear();
            match opts.format {
                Format::Json => json.write(&packet, &mut line),
                Format::Human => {
                    if opts.verbose > 0 {
                        writer.tree(&packet, &mut line)?;
                    } else {
                        writer.line_into(&packet, &mut line);
                    }
                    if args.hex {
                        writer.hex(frame.data, &mut line)?;
                    }
                }
            }
            // a live view shows each packet as it comes
            out.write_all(&line)?;
            out.flush()?;
        }
        Ok(true)
    });
    let summary = match summary {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(Error::io(format!("capturing on {}", args.interface), e)),
    };
    let mut written_to = String::new();
    if let Some((path, w)) = file {
        let n = w.written;
        w.finish()
            .map_err(|e| Error::io(format!("writing {path}"), e))?;
        let to = if path == "-" { "stdout" } else { path };
        written_to = format!(", {n} written to {to}");
    }
    if !opts.quiet {
        let dups = if summary.duplicates > 0 {
            format!(", {} loopback copies shown once", summary.duplicates)
        } else {
            String::new()
        };
        let filtered = summary.seen - summary.captured;
        let filtered = if filter.is_some() {
            format!(", {filtered} did not match the filter")
        } else {
            String::new()
        };
        // (pnet does not expose the socket's drop counter: no drops line)
        output::warn(&format!(
            "{} {} captured on {}{filtered}{dups}{written_to}",
            summary.captured,
            if summary.captured == 1 {
                "packet"
            } else {
                "packets"
            },
            args.interface
        ));
    }
    Ok(0)
}
