//! Views of the ARP commands.

use std::io::{self, Write};

use super::{paint, table, write_table, Options, Paint, Render};
use crate::arp::watch::Alert;
use crate::model::arp::{CheckReport, Reply, ResolveReport, ScanHost, ScanSummary};

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.3} ms")
    } else {
        format!("{v:.1} ms")
    }
}

/// The first line(s) of `arp resolve`: what is asked, where.
///
/// # Errors
/// Write failures.
pub fn resolve_header(r: &ResolveReport, w: &mut dyn Write) -> io::Result<()> {
    if r.via_gateway {
        writeln!(w, "{}", r.explanation)?;
    }
    writeln!(
        w,
        "ARP who-has {} tell {} on {}",
        r.asked, r.source, r.iface
    )
}

/// One round of `arp resolve` (arping's line per reply).
///
/// # Errors
/// Write failures.
pub fn resolve_round(
    n: usize,
    asked: std::net::Ipv4Addr,
    round: &[Reply],
    opts: &Options,
    w: &mut dyn Write,
) -> io::Result<()> {
    if round.is_empty() {
        writeln!(w, "  {n}: no reply")?;
    }
    for r in round {
        writeln!(
            w,
            "  {n}: {asked} is-at {} {} in {}",
            paint(opts.color, Paint::Cyan, &r.mac),
            r.vendor,
            ms(r.rtt_ms)
        )?;
    }
    Ok(())
}

/// The closing lines of `arp resolve`: duplicates, loss, min/avg/max.
///
/// # Errors
/// Write failures.
pub fn resolve_footer(r: &ResolveReport, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
    let n = r.rounds.len();
    if r.duplicate {
        let t = format!("several MACs answered for {}: a duplicate address", r.asked);
        writeln!(w, "{}", paint(opts.color, Paint::Red, &t))?;
    }
    let loss = 100.0 * (n as f64 - f64::from(r.answered)) / n.max(1) as f64;
    write!(w, "{n} requests, {} answered ({loss:.0}% loss)", r.answered)?;
    if let (Some(a), Some(b), Some(c)) = (r.rtt_min_ms, r.rtt_avg_ms, r.rtt_max_ms) {
        write!(w, ", rtt min/avg/max = {a:.3}/{b:.3}/{c:.3} ms")?;
    }
    writeln!(w)
}

impl Render for ResolveReport {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            if let Some(r) = self.rounds.iter().flatten().next() {
                writeln!(w, "{}", r.mac)?;
            }
            return Ok(());
        }
        resolve_header(self, w)?;
        for (i, round) in self.rounds.iter().enumerate() {
            resolve_round(i + 1, self.asked, round, opts, w)?;
        }
        resolve_footer(self, opts, w)
    }
}

/// The hosts a sweep found, as a table.
pub struct ScanTable<'a> {
    /// The hosts, sorted.
    pub hosts: &'a [ScanHost],
    /// The totals.
    pub summary: &'a ScanSummary,
}

impl ScanTable<'_> {
    /// Writes the human view.
    ///
    /// # Errors
    /// Write failures.
    pub fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            for h in self.hosts {
                writeln!(w, "{}\t{}", h.ip, h.mac)?;
            }
            return Ok(());
        }
        let mut t = table(opts, &["Address", "MAC", "Vendor", "RTT", "Note"]);
        for h in self.hosts {
            let note = if h.duplicate {
                paint(
                    opts.color,
                    Paint::Red,
                    &format!("DUPLICATE: {}", h.macs.join(", ")),
                )
            } else {
                String::new()
            };
            t.add_row(vec![
                h.ip.to_string(),
                h.mac.clone(),
                h.vendor.label().to_string(),
                ms(h.rtt_ms),
                note,
            ]);
        }
        if !self.hosts.is_empty() {
            write_table(&t, w)?;
        }
        let s = self.summary;
        let v4 = self.hosts.iter().filter(|h| h.via == "arp").count();
        let v6 = self.hosts.len() - v4;
        let six = if v6 > 0 {
            format!(", and {v6} IPv6 neighbours by NDP,")
        } else {
            String::new()
        };
        if s.ipv6_prefix {
            let of = if s.targets > 0 {
                format!(" of {} addresses", s.targets)
            } else {
                String::new()
            };
            return writeln!(
                w,
                "{v6}{of} answered neighbour discovery on {} in {:.2} s",
                s.iface, s.seconds
            );
        }
        writeln!(
            w,
            "{v4} of {} addresses answered on {}{six} in {:.2} s ({} ARP requests)",
            s.targets, s.iface, s.seconds, s.sent
        )
    }
}

impl Render for CheckReport {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if self.free {
            let t = format!(
                "{} is free on {}: {} probes, no station claims it",
                self.target, self.iface, self.probes
            );
            return writeln!(w, "{}", paint(opts.color, Paint::Green, &t));
        }
        let t = format!("{} is in use on {}", self.target, self.iface);
        writeln!(w, "{}", paint(opts.color, Paint::Red, &t))?;
        for c in &self.conflicts {
            let how = match c.how {
                "probe" => "is probing for it too",
                "request" => "sends requests from it",
                _ => "answered our probe",
            };
            writeln!(
                w,
                "  {} {} {how} (after {})",
                c.mac,
                c.vendor,
                ms(c.after_ms)
            )?;
        }
        Ok(())
    }
}

/// One line per watch event.
pub fn alert_line(a: &Alert, opts: &Options) -> String {
    let sev = match a.severity {
        "alert" => paint(opts.color, Paint::Red, "ALERT  "),
        "warning" => paint(opts.color, Paint::Yellow, "warning"),
        _ => paint(opts.color, Paint::Dim, "info   "),
    };
    let kind = serde_json::to_value(a.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!(
        "{} {sev} {kind:<17} {} {}: {}",
        a.ts.rfc3339(),
        a.ip,
        a.mac,
        a.evidence
    )
}
