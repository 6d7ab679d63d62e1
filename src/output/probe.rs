//! Human views of the probe servers and clients.

use std::io::{self, Write};

use super::{fields, human_bytes, rate, table, write_table, Options, Render};
use crate::probe::bench::{Interval, Report as BenchReport};
use crate::probe::client::Transfer;
use crate::probe::files::Entry;
use crate::probe::ping::{Reply, Report as PingReport};
use crate::probe::{Event, Summary};

/// A server event as one stderr line (None: not shown to people).
pub fn event_line(e: &Event) -> Option<String> {
    match e {
        Event::Listening { proto, addr, mode } => Some(format!(
            "netray: serving {} on {addr} ({proto}); Ctrl-C to stop",
            mode.as_str()
        )),
        Event::Open { .. } => None,
        Event::Close {
            peer,
            bytes_in,
            bytes_out,
            frames,
            duration_ms,
            end,
        } => Some(format!(
            "{peer}  {end}  in {}  out {}{}  {duration_ms:.1} ms",
            human_bytes(*bytes_in),
            human_bytes(*bytes_out),
            frames.map_or(String::new(), |f| format!("  {f} frames")),
        )),
        Event::Busy { peer } => Some(format!("{peer}  refused: busy (connection limit)")),
        Event::Peer { peer } => Some(format!("{peer}  first datagram")),
        Event::Summary(s) => Some(summary_line(s)),
    }
}

fn summary_line(s: &Summary) -> String {
    let mut line = format!(
        "netray: stopped after {:.1} s: {} {}, {} in, {} out",
        s.seconds,
        s.connections,
        if s.datagrams.is_some() {
            "peers"
        } else {
            "connections"
        },
        human_bytes(s.bytes_in),
        human_bytes(s.bytes_out),
    );
    if let Some(d) = s.datagrams {
        line.push_str(&format!(", {d} datagrams"));
    }
    if let Some(o) = s.oversized.filter(|o| *o > 0) {
        line.push_str(&format!(", {o} oversized"));
    }
    if s.busy > 0 {
        line.push_str(&format!(", {} refused busy", s.busy));
    }
    if s.cut > 0 {
        line.push_str(&format!(", {} cut at the end of the grace period", s.cut));
    }
    line
}

impl Render for Transfer {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            return writeln!(w, "{}", self.sha256);
        }
        let rows = [
            (
                if self.op == "put" { "stored" } else { "saved" },
                if self.op == "put" {
                    super::safe::esc(&self.name).into_owned()
                } else {
                    self.path.display().to_string()
                },
            ),
            (
                "bytes",
                format!("{} ({})", self.bytes, human_bytes(self.bytes)),
            ),
            ("sha256", format!("{} (verified on both ends)", self.sha256)),
            (
                "time",
                format!("{:.3} s, {}", self.seconds, rate(self.bits_per_second)),
            ),
        ];
        write_table(&fields(opts, &rows), w)
    }
}

/// A server's file listing.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct Listing(pub Vec<Entry>);

impl Render for Listing {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            for e in &self.0 {
                writeln!(w, "{}", super::safe::Esc(&e.name))?;
            }
            return Ok(());
        }
        if self.0.is_empty() {
            return writeln!(w, "no files");
        }
        let mut t = table(opts, &["name", "size", "modified (UTC)"]);
        for e in &self.0 {
            t.add_row(vec![
                super::safe::esc(&e.name).into_owned(),
                human_bytes(e.size),
                utc(e.mtime),
            ]);
        }
        write_table(&t, w)?;
        let total: u64 = self.0.iter().map(|e| e.size).sum();
        let n = self.0.len();
        writeln!(
            w,
            "{n} file{}, {}",
            if n == 1 { "" } else { "s" },
            human_bytes(total)
        )
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
fn utc(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = crate::model::packet::civil(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

/// One ping probe, as ping prints it.
pub fn reply_line(target: &str, r: &Reply) -> String {
    match (r.status, r.rtt_ms) {
        ("ok", Some(t)) => format!(
            "reply from {target}: seq={} time={t:.3} ms{}",
            r.seq,
            if r.reordered { " (out of order)" } else { "" }
        ),
        ("duplicate", Some(t)) => {
            format!("reply from {target}: seq={} time={t:.3} ms (DUP!)", r.seq)
        }
        (status, _) => format!(
            "{status} from {target}: seq={}{}",
            r.seq,
            r.detail
                .as_deref()
                .map_or(String::new(), |d| format!(" ({d})"))
        ),
    }
}

impl Render for PingReport {
    fn human(&self, _opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "--- {} {} ping statistics ---",
            self.target,
            self.kind.as_str()
        )?;
        let mut line = format!(
            "{} probes transmitted, {} received, {:.1}% loss",
            self.transmitted, self.received, self.loss_percent
        );
        if self.duplicates > 0 {
            line.push_str(&format!(", {} duplicates", self.duplicates));
        }
        if self.reordered > 0 {
            line.push_str(&format!(", {} out of order", self.reordered));
        }
        writeln!(w, "{line}")?;
        if let (Some(a), Some(b), Some(c), Some(d)) =
            (self.min_ms, self.avg_ms, self.max_ms, self.mdev_ms)
        {
            writeln!(w, "rtt min/avg/max/mdev = {a:.3}/{b:.3}/{c:.3}/{d:.3} ms")?;
        }
        Ok(())
    }
}

/// One bench interval, as iperf3 prints it.
pub fn interval_line(iv: &Interval) -> String {
    let mut s = format!(
        "{:6.2}-{:<6.2} sec  {:>10}  {:>14}",
        iv.start,
        iv.end,
        human_bytes(iv.bytes),
        rate(iv.bits_per_second)
    );
    if let Some(r) = iv.round_trips_per_second {
        s.push_str(&format!("  {r:>10.0} round trips/s"));
    }
    s
}

impl Render for BenchReport {
    fn human(&self, _opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "- - - - - - - - - - - - - - - - - - - - - - - - -")?;
        let unit = match (self.mode, &self.file) {
            (_, Some(f)) => format!("file {f}"),
            ("rr", None) => format!("{} bytes per request", self.size),
            _ => format!("{} bytes per frame", self.size),
        };
        writeln!(
            w,
            "{}  total ({}, {} stream{}, {unit})",
            interval_line(&self.total),
            self.mode,
            self.streams,
            if self.streams == 1 { "" } else { "s" },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        // `date -u -d @1795000000` says the same
        assert_eq!(utc(1_795_000_000), "2026-11-18 11:06:40");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
    }
}
