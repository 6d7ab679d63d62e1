//! Human views of the `subnet` results, and the sinks of `subnet filter`.

use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;

use super::{fields, ndjson, paint, table, write_table, Format, Options, Paint, Render};
use crate::model::subnet::{Calc, CidrList, Containment, Count, SameSubnet};
use crate::subnet::filter::Sink;
use crate::subnet::{bounds, row, u128_to_ip, Split};

/// Splits a binary string at the network/host boundary after `prefix`
/// bits, skipping the `.`/`:` separators.
fn boundary(bits: &str, prefix: u8) -> (&str, &str) {
    let mut seen = 0u8;
    for (i, c) in bits.char_indices() {
        if seen == prefix {
            // a separator right at the boundary stays with the network
            // part, as ipcalc prints it: `00001010. 00000001`
            let at = if c == '.' || c == ':' { i + 1 } else { i };
            return bits.split_at(at);
        }
        if c == '0' || c == '1' {
            seen += 1;
        }
    }
    (bits, "")
}

/// Bits with the boundary marked: a space (as ipcalc does), and in colour
/// network bits green, host bits dim.
fn marked(opts: &Options, bits: &str, prefix: u8) -> String {
    let (net, host) = boundary(bits, prefix);
    if host.is_empty() || net.is_empty() {
        let style = if host.is_empty() {
            Paint::Green
        } else {
            Paint::Dim
        };
        return paint(opts.color, style, bits);
    }
    format!(
        "{} {}",
        paint(opts.color, Paint::Green, net),
        paint(opts.color, Paint::Dim, host)
    )
}

fn count(c: &Count) -> String {
    match c.pow2 {
        Some(p) if p >= 16 => format!("{c} (2^{p})"),
        _ => c.to_string(),
    }
}

impl Render for Calc {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            return writeln!(w, "{}", self.cidr);
        }
        let mut rows = vec![
            ("Address", self.address.to_string()),
            ("Network", self.cidr.to_string()),
            ("Netmask", format!("{} = {}", self.netmask, self.prefix)),
            ("Wildcard", self.wildcard.to_string()),
        ];
        if let Some(b) = self.broadcast {
            rows.push(("Broadcast", b.to_string()));
        }
        rows.push(("HostMin", self.first_host.to_string()));
        rows.push(("HostMax", self.last_host.to_string()));
        rows.push((
            "Hosts",
            format!(
                "{} usable of {} addresses",
                count(&self.usable_hosts),
                count(&self.total_addresses)
            ),
        ));
        if let Some(c) = self.class {
            rows.push(("Class", c.to_string()));
        }
        let scope = match self.scope.block {
            Some(b) => format!(
                "{} ({}, block {b})",
                self.scope.name, self.scope.description
            ),
            None => format!("{}: {}", self.scope.name, self.scope.description),
        };
        rows.push(("Scope", scope));
        if let Some(v4) = self.ipv4_mapped {
            rows.push(("IPv4", format!("{v4} (mapped)")));
        }
        rows.push(("Hex", self.address_hex.clone()));
        if let Some(n) = self.note {
            rows.push(("Note", n.to_string()));
        }
        write_table(&fields(opts, &rows), w)?;
        writeln!(w)?;
        let b = &self.binary;
        let mut bin = vec![
            ("Address", marked(opts, &b.address, self.prefix)),
            ("Netmask", marked(opts, &b.netmask, self.prefix)),
            ("Wildcard", marked(opts, &b.wildcard, self.prefix)),
            ("Network", marked(opts, &b.network, self.prefix)),
        ];
        if let Some(bc) = &b.broadcast {
            bin.push(("Broadcast", marked(opts, bc, self.prefix)));
        }
        writeln!(
            w,
            "{}",
            paint(
                opts.color,
                Paint::Bold,
                &format!(
                    "Binary (network bits | host bits after {} bits)",
                    self.prefix
                )
            )
        )?;
        write_table(&fields(opts, &bin), w)
    }
}

impl Render for SameSubnet {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        let verdict = if self.same {
            paint(
                opts.color,
                Paint::Green,
                &format!("same subnet: {}/{}", self.a.network, self.prefix),
            )
        } else {
            paint(
                opts.color,
                Paint::Red,
                &format!(
                    "different subnets: {}/{} vs {}/{}",
                    self.a.network, self.prefix, self.b.network, self.prefix
                ),
            )
        };
        if opts.quiet {
            return writeln!(w, "{verdict}");
        }
        let mut t = table(opts, &["", "binary", "address"]);
        let mask = format!("mask /{}", self.prefix);
        for (label, bits, value) in [
            (
                self.a.address.to_string(),
                &self.a.address_binary,
                self.a.address,
            ),
            (mask.clone(), &self.netmask_binary, self.netmask),
            ("AND".to_string(), &self.a.network_binary, self.a.network),
            (
                self.b.address.to_string(),
                &self.b.address_binary,
                self.b.address,
            ),
            (mask, &self.netmask_binary, self.netmask),
            ("AND".to_string(), &self.b.network_binary, self.b.network),
        ] {
            let value = if label == "AND" {
                paint(opts.color, Paint::Bold, &value.to_string())
            } else {
                value.to_string()
            };
            t.add_row(vec![label, marked(opts, bits, self.prefix), value]);
        }
        write_table(&t, w)?;
        writeln!(w, "{verdict}")
    }
}

impl Render for Containment {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        let (word, style) = if self.inside {
            ("inside", Paint::Green)
        } else {
            ("outside", Paint::Red)
        };
        let (family, first, last) = bounds(&self.cidr);
        let range = format!(
            "{} - {}",
            u128_to_ip(family, first),
            u128_to_ip(family, last)
        );
        writeln!(
            w,
            "{} is {} {} ({range})",
            self.address,
            paint(opts.color, style, word),
            self.cidr
        )
    }
}

impl Render for [Containment] {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        for c in self {
            c.human(opts, w)?;
        }
        Ok(())
    }
}

impl Render for CidrList {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            for r in &self.cidrs {
                writeln!(w, "{}", r.cidr)?;
            }
            return Ok(());
        }
        if self.cidrs.is_empty() {
            return writeln!(w, "{}: nothing left (no addresses)", self.title);
        }
        let mut t = table(opts, &["cidr", "first", "last", "addresses"]);
        for r in &self.cidrs {
            t.add_row(vec![
                r.cidr.to_string(),
                r.first.to_string(),
                r.last.to_string(),
                count(&r.addresses),
            ]);
        }
        write_table(&t, w)?;
        let n = self.cidrs.len();
        writeln!(
            w,
            "{}: {n} network{}",
            self.title,
            if n == 1 { "" } else { "s" }
        )
    }
}

/// The header of a split, in JSON.
#[derive(Serialize)]
struct SplitHead {
    parent: String,
    prefix: u8,
    count: String,
}

/// Writes the subnets of a split as they are produced: a table (up to
/// `table_limit` rows), bare lines (-q, or a forced split past the limit),
/// or one JSON document streamed without holding the list.
///
/// # Errors
/// Write failures.
pub fn split(split: Split, opts: &Options, table_limit: u128, w: &mut dyn Write) -> io::Result<()> {
    let total = split
        .count
        .map_or_else(|| "2^128".to_string(), |c| c.to_string());
    match opts.format {
        Format::Json => {
            let head = serde_json::to_string(&SplitHead {
                parent: split.parent.to_string(),
                prefix: split.prefix(),
                count: total.clone(),
            })?;
            // `{"parent":..,"prefix":..,"count":..` then the streamed array
            write!(w, "{},\"subnets\":[", head.trim_end_matches('}'))?;
            for (i, net) in split.enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                serde_json::to_writer(&mut *w, &row(&net))?;
            }
            writeln!(w, "]}}")?;
        }
        Format::Human if opts.quiet || split.count.is_none_or(|c| c > table_limit) => {
            for net in split {
                writeln!(w, "{net}")?;
            }
        }
        Format::Human => {
            let parent = split.parent;
            let prefix = split.prefix();
            let mut t = table(opts, &["#", "network", "first", "last", "addresses"]);
            for (i, net) in split.enumerate() {
                let r = row(&net);
                t.add_row(vec![
                    (i + 1).to_string(),
                    net.to_string(),
                    r.first.to_string(),
                    r.last.to_string(),
                    count(&r.addresses),
                ]);
            }
            write_table(&t, w)?;
            writeln!(w, "{parent} split into {total} /{prefix} networks")?;
        }
    }
    w.flush()
}

/// Prints selected lines as they are (with `file:` in front when several
/// files are searched, as grep does).
pub struct PlainSink<'w> {
    w: &'w mut dyn Write,
    prefix: Option<Vec<u8>>,
}

impl<'w> PlainSink<'w> {
    /// A sink writing to `w`, with `prefix` (the file name) before each line.
    pub fn new(w: &'w mut dyn Write, prefix: Option<&str>) -> Self {
        PlainSink {
            w,
            prefix: prefix.map(|p| format!("{p}:").into_bytes()),
        }
    }
}

impl Sink for PlainSink<'_> {
    fn per_line(&self) -> bool {
        self.prefix.is_some()
    }
    fn raw(&mut self, lines: &[u8]) -> io::Result<()> {
        self.w.write_all(lines)
    }
    fn line(&mut self, _: u64, line: &[u8], _: Option<IpAddr>) -> io::Result<()> {
        if let Some(p) = &self.prefix {
            self.w.write_all(p)?;
        }
        self.w.write_all(line)?;
        self.w.write_all(b"\n")
    }
}

/// One selected line in JSON.
#[derive(Serialize)]
struct FilterLine<'a> {
    file: Option<&'a str>,
    line_number: u64,
    line: std::borrow::Cow<'a, str>,
    address: Option<IpAddr>,
}

/// Prints selected lines as NDJSON objects.
pub struct JsonSink<'w> {
    w: &'w mut dyn Write,
    file: Option<String>,
}

impl<'w> JsonSink<'w> {
    /// A sink writing NDJSON to `w`, naming `file` in each object.
    pub fn new(w: &'w mut dyn Write, file: Option<&str>) -> Self {
        JsonSink {
            w,
            file: file.map(str::to_string),
        }
    }
}

impl Sink for JsonSink<'_> {
    fn per_line(&self) -> bool {
        true
    }
    fn raw(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn line(&mut self, number: u64, line: &[u8], hit: Option<IpAddr>) -> io::Result<()> {
        ndjson(
            &FilterLine {
                file: self.file.as_deref(),
                line_number: number,
                line: String::from_utf8_lossy(line),
                address: hit,
            },
            self.w,
        )
    }
}

/// Counts only (`-c`): prints nothing per line.
pub struct CountSink;

impl Sink for CountSink {
    fn per_line(&self) -> bool {
        false
    }
    fn raw(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn line(&mut self, _: u64, _: &[u8], _: Option<IpAddr>) -> io::Result<()> {
        Ok(())
    }
}

/// The `-c` result.
#[derive(Serialize)]
pub struct FilterCount {
    /// Selected lines over all inputs.
    pub count: u64,
}

impl Render for FilterCount {
    fn human(&self, _: &Options, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_skips_separators() {
        assert_eq!(
            boundary("11111111.11111111.11110000.00000000", 20),
            ("11111111.11111111.1111", "0000.00000000")
        );
        assert_eq!(boundary("1111.0000", 0), ("", "1111.0000"));
        assert_eq!(boundary("1111.0000", 8), ("1111.0000", ""));
        let o = Options::default();
        assert_eq!(marked(&o, "11111111.00000000", 8), "11111111. 00000000");
        assert_eq!(boundary("1111.0000", 4), ("1111.", "0000"));
    }
}
