//! Rendering of results: human tables (comfy-table, colour on a terminal)
//! or JSON (serde). The only layer that writes to stdout, and it writes
//! only to the `io::Write` it is handed, so tests capture everything.
//!
//! A result type implements [`Render`]: its JSON form is its `Serialize`
//! implementation (one document, pretty-printed; streams use NDJSON through
//! their own sinks), its human form is written by `Render::human`.

pub mod arp;
pub mod dns;
pub mod link;
pub mod packet;
pub mod packet_json;
pub mod probe;
pub mod safe;
pub mod scan;
pub mod stats;
mod style;
pub mod subnet;

use std::io::{self, Write};

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

pub use style::{paint, Paint};

/// Human tables or machine JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Tables and text for people.
    Human,
    /// JSON (NDJSON for streams).
    Json,
}

/// How results are rendered, decided once from the global flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Human or JSON.
    pub format: Format,
    /// ANSI colour in the human view.
    pub color: bool,
    /// Bare results only (`-q`), for scripts that do not want JSON.
    pub quiet: bool,
    /// Extra detail (`-v`, counted).
    pub verbose: u8,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: Format::Human,
            color: false,
            quiet: false,
            verbose: 0,
        }
    }
}

/// A result that can be shown to a person or serialised.
pub trait Render: Serialize {
    /// Writes the human view.
    ///
    /// # Errors
    /// Write failures.
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()>;
}

/// Writes one result in the chosen format.
///
/// # Errors
/// Write failures (a closed pipe included: callers treat it as success).
pub fn emit<T: Render + ?Sized>(value: &T, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
    match opts.format {
        Format::Human => value.human(opts, w)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, value)?;
            writeln!(w)?;
        }
    }
    w.flush()
}

/// Writes one value as a line of NDJSON.
///
/// # Errors
/// Write failures.
pub fn ndjson<T: Serialize + ?Sized, W: Write + ?Sized>(value: &T, w: &mut W) -> io::Result<()> {
    // generic, not `dyn`: serde_json makes many tiny writes, which inline
    // into a Vec<u8> but each cost a virtual call through `dyn Write`
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}

/// Bytes with a decimal unit (1.5 MB).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Bits per second with a decimal unit.
pub fn rate(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{:.2} Gbit/s", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.2} Mbit/s", bps / 1e6)
    } else if bps >= 1e3 {
        format!("{:.2} kbit/s", bps / 1e3)
    } else {
        format!("{bps:.0} bit/s")
    }
}

/// A warning on stderr: something failed but the command goes on (an
/// unreadable file among several, say).
pub fn warn(message: &str) {
    // nothing sensible is left to do when stderr itself fails
    let _ = writeln!(io::stderr(), "netray: {}", safe::esc_lines(message));
}

/// A line for the person at the terminal on stderr, without the `netray:`
/// prefix (server logs, the client's prompt loop), escaped for the
/// terminal.
pub fn note(line: &str) {
    let _ = writeln!(io::stderr(), "{}", safe::esc_lines(line));
}

/// A prompt on stderr, without a line break.
pub fn prompt(text: &str) {
    let mut e = io::stderr();
    let _ = write!(e, "{text}");
    let _ = e.flush();
}

/// A progress bar on stderr, only for people watching a terminal (not
/// with --json or -q, not into a pipe).
pub fn progress(opts: &Options, len: u64, template: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    (opts.format == Format::Human && !opts.quiet && io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(len);
        b.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

/// A table with netray's look: rounded UTF-8 borders and a header row.
pub fn table(opts: &Options, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED.with_rounded_corners())
        .set_content_arrangement(ContentArrangement::Dynamic);
    let header: Vec<String> = header
        .iter()
        .map(|h| paint(opts.color, Paint::Bold, h))
        .collect();
    t.set_header(header);
    t
}

/// A borderless two-column `field  value` view, like ipcalc's.
pub fn fields(opts: &Options, rows: &[(&str, String)]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    for (k, v) in rows {
        t.add_row(vec![paint(opts.color, Paint::Bold, k), v.clone()]);
    }
    t
}

/// Writes a table followed by a newline.
///
/// # Errors
/// Write failures.
pub fn write_table(t: &Table, w: &mut dyn Write) -> io::Result<()> {
    for line in t.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}
