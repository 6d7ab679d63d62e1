//! Views of DNS lookups and traces.

use std::io::{self, Write};

use super::{paint, Options, Paint, Render};
use crate::dns::lookup::Report;
use crate::dns::trace::{Step, Trace};

impl Render for Report {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        lookup_human(self, opts.quiet, opts, w)
    }
}

impl Render for Trace {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        trace_human(self, opts, w)
    }
}

/// The lookup view: each type's records with TTL, or why there are none.
///
/// # Errors
/// Write failures.
pub fn lookup_human(r: &Report, short: bool, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
    if short {
        for t in &r.results {
            for rec in &t.records {
                writeln!(w, "{}", rec.data)?;
            }
        }
        return Ok(());
    }
    writeln!(
        w,
        "{} via {} ({:.1} ms)",
        paint(opts.color, Paint::Bold, &r.name),
        if r.servers.is_empty() {
            "-".to_string()
        } else {
            r.servers.join(", ")
        },
        r.ms
    )?;
    for t in &r.results {
        match t.status {
            "ok" => {
                for rec in &t.records {
                    writeln!(
                        w,
                        "  {:<28} {:>7}  {:<6} {}",
                        rec.name, rec.ttl, rec.rtype, rec.data
                    )?;
                }
            }
            "nxdomain" => writeln!(
                w,
                "  {:<6} {}",
                t.qtype,
                paint(opts.color, Paint::Red, "NXDOMAIN: the name does not exist")
            )?,
            "nodata" => writeln!(w, "  {:<6} no records of this type (NODATA)", t.qtype)?,
            _ => writeln!(
                w,
                "  {:<6} {}",
                t.qtype,
                paint(
                    opts.color,
                    Paint::Red,
                    t.error.as_deref().unwrap_or("failed")
                )
            )?,
        }
    }
    if let Some(s) = &r.system {
        match &s.error {
            Some(e) => writeln!(w, "system (getaddrinfo): {e}")?,
            None => {
                let list: Vec<String> = s.addresses.iter().map(ToString::to_string).collect();
                writeln!(w, "system (getaddrinfo): {}", list.join(", "))?;
            }
        }
        if s.only_system.is_empty() && s.only_dns.is_empty() {
            writeln!(w, "the system and DNS agree")?;
        } else {
            if !s.only_system.is_empty() {
                let l: Vec<String> = s.only_system.iter().map(ToString::to_string).collect();
                let t = format!(
                    "only the system knows {} (/etc/hosts or nsswitch)",
                    l.join(", ")
                );
                writeln!(w, "{}", paint(opts.color, Paint::Yellow, &t))?;
            }
            if !s.only_dns.is_empty() {
                let l: Vec<String> = s.only_dns.iter().map(ToString::to_string).collect();
                let t = format!("only DNS knows {}", l.join(", "));
                writeln!(w, "{}", paint(opts.color, Paint::Yellow, &t))?;
            }
        }
    }
    Ok(())
}

fn step_line(s: &Step, opts: &Options) -> String {
    let indent = "    ".repeat(s.depth as usize);
    let rtt = s
        .rtt_ms
        .map_or("      -".to_string(), |r| format!("{r:7.2}"));
    let what = match s.outcome {
        "referral" => {
            let glue = if s.glue.is_empty() {
                "no glue".to_string()
            } else {
                format!("glue {}", s.glue.join(", "))
            };
            format!(
                "referral to {} NS {} ({glue})",
                s.referral_zone.as_deref().unwrap_or("?"),
                s.referral.join(" ")
            )
        }
        "answer" | "cname" => {
            let recs: Vec<String> = s
                .answers
                .iter()
                .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.rtype, r.data))
                .collect();
            paint(
                opts.color,
                Paint::Green,
                &format!("{}: {}", s.outcome, recs.join("; ")),
            )
        }
        "nxdomain" => paint(
            opts.color,
            Paint::Red,
            &format!("NXDOMAIN ({})", s.soa.as_deref().unwrap_or("no SOA")),
        ),
        "nodata" => format!("NODATA ({})", s.soa.as_deref().unwrap_or("no SOA")),
        other => paint(opts.color, Paint::Yellow, other),
    };
    let note = s.note.as_ref().map_or(String::new(), |n| format!(" [{n}]"));
    let flags = if s.flags.is_empty() {
        String::new()
    } else {
        format!(" {}", s.flags.join(","))
    };
    format!(
        "{indent}{:<18} {} ({}) {} {} ms{flags}  {what}{note}",
        s.zone, s.server, s.address, s.transport, rtt
    )
}

/// The trace view: one line per query, nested walks indented, then the
/// result.
///
/// # Errors
/// Write failures.
pub fn trace_human(t: &Trace, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{}",
        paint(
            opts.color,
            Paint::Bold,
            &format!("trace {} {}", t.name, t.qtype)
        )
    )?;
    for s in &t.steps {
        writeln!(w, "{}", step_line(s, opts))?;
    }
    match t.result {
        "answer" => {
            for r in &t.answers {
                writeln!(w, "{} {} {} {}", r.name, r.ttl, r.rtype, r.data)?;
            }
        }
        "nxdomain" => writeln!(w, "NXDOMAIN: {} does not exist", t.name)?,
        "nodata" => writeln!(w, "NODATA: {} has no {} records", t.name, t.qtype)?,
        _ => writeln!(
            w,
            "{}",
            paint(
                opts.color,
                Paint::Red,
                &format!("error: {}", t.error.as_deref().unwrap_or("?"))
            )
        )?,
    }
    writeln!(w, "{} queries in {:.1} ms", t.steps.len(), t.elapsed_ms)
}
