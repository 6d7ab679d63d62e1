//! Views of DNS lookups and traces.

use std::io::{self, Write};

use super::safe::{esc, Esc};
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
                writeln!(w, "{}", Esc(&rec.data))?;
            }
        }
        return Ok(());
    }
    writeln!(
        w,
        "{} via {} ({:.1} ms)",
        paint(opts.color, Paint::Bold, &esc(&r.name)),
        if r.servers.is_empty() {
            "-".to_string()
        } else {
            esc(&r.servers.join(", ")).into_owned()
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
                        Esc(&rec.name),
                        rec.ttl,
                        Esc(&rec.rtype),
                        Esc(&rec.data)
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
                    &esc(t.error.as_deref().unwrap_or("failed"))
                )
            )?,
        }
    }
    if let Some(s) = &r.system {
        match &s.error {
            Some(e) => writeln!(w, "system (getaddrinfo): {}", Esc(e))?,
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

/// A record as one line of zone-file text, escaped for the terminal.
fn record_text(r: &crate::dns::RecordView) -> String {
    format!(
        "{} {} {} {}",
        Esc(&r.name),
        r.ttl,
        Esc(&r.rtype),
        Esc(&r.data)
    )
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
                let list: Vec<String> = s
                    .glue
                    .iter()
                    .map(|g| format!("{} {}", g.name, g.address))
                    .collect();
                format!("glue {}", Esc(&list.join(", ")))
            };
            format!(
                "referral to {} NS {} ({glue})",
                Esc(s.referral_zone.as_deref().unwrap_or("?")),
                Esc(&s.referral.join(" "))
            )
        }
        "answer" | "cname" => {
            let recs: Vec<String> = s.answers.iter().map(record_text).collect();
            paint(
                opts.color,
                Paint::Green,
                &format!("{}: {}", s.outcome, recs.join("; ")),
            )
        }
        "nxdomain" => paint(
            opts.color,
            Paint::Red,
            &format!("NXDOMAIN ({})", Esc(s.soa.as_deref().unwrap_or("no SOA"))),
        ),
        "nodata" => format!("NODATA ({})", Esc(s.soa.as_deref().unwrap_or("no SOA"))),
        other => paint(opts.color, Paint::Yellow, &esc(other)),
    };
    let note = s
        .note
        .as_ref()
        .map_or(String::new(), |n| format!(" [{}]", Esc(n)));
    let flags = if s.flags.is_empty() {
        String::new()
    } else {
        format!(" {}", Esc(&s.flags.join(",")))
    };
    format!(
        "{indent}{:<18} {} ({}) {} {} ms{flags}  {what}{note}",
        Esc(&s.zone),
        Esc(&s.server),
        s.address,
        s.transport,
        rtt
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
            &format!("trace {} {}", Esc(&t.name), Esc(&t.qtype))
        )
    )?;
    for s in &t.steps {
        writeln!(w, "{}", step_line(s, opts))?;
    }
    match t.result {
        "answer" => {
            for r in &t.answers {
                writeln!(w, "{}", record_text(r))?;
            }
        }
        "nxdomain" => writeln!(w, "NXDOMAIN: {} does not exist", Esc(&t.name))?,
        "nodata" => writeln!(
            w,
            "NODATA: {} has no {} records",
            Esc(&t.name),
            Esc(&t.qtype)
        )?,
        _ => writeln!(
            w,
            "{}",
            paint(
                opts.color,
                Paint::Red,
                &format!("error: {}", Esc(t.error.as_deref().unwrap_or("?")))
            )
        )?,
    }
    writeln!(w, "{} queries in {:.1} ms", t.steps.len(), t.elapsed_ms)
}
