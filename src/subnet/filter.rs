//! The grepcidr-style line filter: finds IPv4 and IPv6 addresses anywhere
//! in a line and selects lines with an address inside (or, inverted,
//! outside) a set of networks.
//!
//! # Recognition rules (the same as grepcidr 2.0, checked against it)
//! - Input is split into *fields*. An IPv4 field is a run of ASCII letters,
//!   digits and dots; an IPv6 field a run of letters, digits, dots and
//!   colons. Anything else ends a field (space, `/`, `[`, `]`, `%`, `,`, ...).
//! - IPv4: the address starts at the first digit of a field and must end
//!   where the field ends: `x1.2.3.4` and `1.2.3.4:80` hold 1.2.3.4;
//!   `1.2.3.4.5`, `1.2.3.4a` and `5a.1.2.3.4` hold no address. Octets are
//!   decimal, 0-255, without leading zeros.
//! - IPv6: the address starts at most four hex digits before the first
//!   colon of a field (or at a `::`) and must end where the field ends:
//!   `x2001:db8::1` and `[2001:db8::1]:80` hold 2001:db8::1,
//!   `2001:db8::1x` holds none. Embedded IPv4 (`::ffff:192.0.2.1`) counts.
//! - Only the families that the patterns use are looked for. When both are,
//!   a dotted quad inside a recognised IPv6 address is not looked at again.
//! - `-v` selects lines that hold addresses but none inside; `-i` also
//!   selects lines without any address.
//!
//! The scanner jumps between dots (IPv4) or colons (IPv6) with `memchr`,
//! looks only at the fields around them, and checks membership in sorted,
//! merged ranges; input is read in large blocks and runs of selected lines
//! are handed on in one piece.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr};

use memchr::memchr;

use super::{u128_to_ip, Family, RangeSet};

/// How lines are selected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterOptions {
    /// Select lines with addresses, none of which is inside (`-v`).
    pub invert: bool,
    /// With `invert`, also select lines that hold no address (`-i`).
    pub include_no_address: bool,
    /// Only look at an address at the very start of the line (`-x`).
    pub strict_start: bool,
}

/// What a line holds, relative to the patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineClass {
    /// No address of a family the patterns use.
    NoAddress,
    /// Addresses, none inside.
    Outside,
    /// At least one address inside (the first one found).
    Inside(IpAddr),
}

/// Receives the selected lines. Implemented by `output/`.
pub trait Sink {
    /// True when the sink needs each line on its own (line number, address);
    /// false lets the filter pass runs of whole lines to [`Sink::raw`].
    fn per_line(&self) -> bool;
    /// Consecutive selected lines, each ending in `\n`.
    ///
    /// # Errors
    /// Write failures.
    fn raw(&mut self, lines: &[u8]) -> io::Result<()>;
    /// One selected line without its line ending, its 1-based number, and
    /// the first address inside (absent for inverted selections).
    ///
    /// # Errors
    /// Write failures.
    fn line(&mut self, number: u64, line: &[u8], hit: Option<IpAddr>) -> io::Result<()>;
}

/// Compiled patterns plus the scanner state.
#[derive(Debug, Clone)]
pub struct Filter {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    opts: FilterOptions,
    /// Spans of IPv6 addresses in the current line (both families only).
    spans: Vec<(usize, usize)>,
    block: usize,
}

impl Filter {
    /// Compiles a set of patterns.
    pub fn new(patterns: &mut RangeSet, opts: FilterOptions) -> Self {
        let v4 = patterns
            .ranges(Family::V4)
            .iter()
            .map(|&(a, b)| {
                (
                    u32::try_from(a).unwrap_or(u32::MAX),
                    u32::try_from(b).unwrap_or(u32::MAX),
                )
            })
            .collect();
        let v6 = patterns.ranges(Family::V6).to_vec();
        Filter {
            v4,
            v6,
            opts,
            spans: Vec::new(),
            block: 1 << 18,
        }
    }

    /// Sets the read block size (tests use tiny blocks to cross boundaries).
    pub fn with_block_size(mut self, bytes: usize) -> Self {
        self.block = bytes.max(1);
        self
    }

    #[inline]
    fn inside_v4(&self, a: u32) -> bool {
        if self.v4.len() <= 8 {
            self.v4.iter().any(|&(lo, hi)| lo <= a && a <= hi)
        } else {
            let i = self.v4.partition_point(|&(lo, _)| lo <= a);
            i > 0 && a <= self.v4[i - 1].1
        }
    }

    #[inline]
    fn inside_v6(&self, a: u128) -> bool {
        let i = self.v6.partition_point(|&(lo, _)| lo <= a);
        i > 0 && a <= self.v6[i - 1].1
    }

    /// Classifies one line (without its line ending).
    pub fn classify(&mut self, line: &[u8]) -> LineClass {
        let mut seen = false;
        self.spans.clear();
        if !self.v6.is_empty() {
            let mut pos = 0;
            while let Some((a, start, end)) = next_v6(line, pos, self.opts.strict_start) {
                // an address inside decides the line either way
                if self.inside_v6(a) {
                    return LineClass::Inside(u128_to_ip(Family::V6, a));
                }
                seen = true;
                if !self.v4.is_empty() {
                    self.spans.push((start, end));
                }
                if self.opts.strict_start {
                    break;
                }
                pos = end;
            }
        }
        if !(self.v4.is_empty() || self.opts.strict_start && seen) {
            let mut pos = 0;
            while let Some((a, start, end)) = next_v4(line, pos, self.opts.strict_start) {
                pos = end;
                if self.spans.iter().any(|&(s, e)| s <= start && start < e) {
                    continue;
                }
                if self.inside_v4(a) {
                    return LineClass::Inside(IpAddr::V4(Ipv4Addr::from(a)));
                }
                seen = true;
                if self.opts.strict_start {
                    break;
                }
            }
        }
        if seen {
            LineClass::Outside
        } else {
            LineClass::NoAddress
        }
    }

    /// True when a line of this class is selected.
    #[inline]
    fn selects(&self, class: LineClass) -> bool {
        match class {
            LineClass::Inside(_) => !self.opts.invert,
            LineClass::Outside => self.opts.invert,
            LineClass::NoAddress => self.opts.invert && self.opts.include_no_address,
        }
    }

    /// Filters a whole input, handing selected lines to `sink`. Returns the
    /// number of selected lines. Memory use is one block plus the longest
    /// line.
    ///
    /// # Errors
    /// Read errors, and write errors from the sink.
    pub fn run(&mut self, mut input: impl Read, sink: &mut dyn Sink) -> io::Result<u64> {
        let per_line = sink.per_line();
        let mut buf = vec![0u8; self.block];
        let mut filled = 0;
        let mut selected = 0u64;
        let mut number = 0u64;
        let mut eof = false;
        while !eof {
            if filled == buf.len() {
                // a line longer than the buffer: grow
                buf.resize(buf.len() * 2, 0);
            }
            let n = match input.read(&mut buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            filled += n;
            eof = n == 0;
            // the complete lines of the block; at EOF also a last line
            // without a line ending
            let end = if eof {
                filled
            } else {
                match memchr::memrchr(b'\n', &buf[..filled]) {
                    Some(i) => i + 1,
                    None => continue,
                }
            };
            let mut pos = 0;
            let mut run_start = 0;
            while pos < end {
                let (line_end, next) = match memchr(b'\n', &buf[pos..end]) {
                    Some(i) => (pos + i, pos + i + 1),
                    None => (end, end),
                };
                number += 1;
                let class = self.classify(&buf[pos..line_end]);
                let take = self.selects(class);
                if take {
                    selected += 1;
                    if per_line {
                        let hit = match class {
                            LineClass::Inside(a) => Some(a),
                            _ => None,
                        };
                        sink.line(number, strip_cr(&buf[pos..line_end]), hit)?;
                    }
                } else if !per_line {
                    if run_start < pos {
                        sink.raw(&buf[run_start..pos])?;
                    }
                    run_start = next;
                }
                pos = next;
            }
            if !per_line && run_start < end {
                sink.raw(&buf[run_start..end])?;
                if eof && buf[end - 1] != b'\n' {
                    sink.raw(b"\n")?;
                }
            }
            buf.copy_within(end..filled, 0);
            filled -= end;
        }
        Ok(selected)
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[inline]
fn is_v4_field(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.'
}

#[inline]
fn is_v6_field(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b':'
}

#[inline]
fn is_v6_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b'.' || b == b':'
}

/// The next IPv4 address at or after `pos`: (value, start, end of field).
/// With `strict`, only an address at position 0.
fn next_v4(line: &[u8], mut pos: usize, strict: bool) -> Option<(u32, usize, usize)> {
    if strict {
        if pos > 0 {
            return None;
        }
        let field_end = line
            .iter()
            .position(|&b| !is_v4_field(b))
            .unwrap_or(line.len());
        return parse_v4(line, 0).and_then(|(a, e)| (e == field_end).then_some((a, 0, e)));
    }
    while let Some(off) = memchr(b'.', &line[pos..]) {
        let dot = pos + off;
        let mut start = dot;
        while start > pos && is_v4_field(line[start - 1]) {
            start -= 1;
        }
        let mut end = dot + 1;
        while end < line.len() && is_v4_field(line[end]) {
            end += 1;
        }
        // the scan tries the first digit of the field, and only that one
        if let Some(d) = line[start..end].iter().position(u8::is_ascii_digit) {
            if let Some((a, e)) = parse_v4(line, start + d) {
                if e == end {
                    return Some((a, start + d, end));
                }
            }
        }
        pos = end;
    }
    None
}

/// A dotted quad at `i`: four decimal octets, 0-255, no leading zeros.
/// Returns the value and the index after it.
#[inline]
fn parse_v4(line: &[u8], mut i: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for octet in 0..4 {
        if octet > 0 {
            if line.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let first = *line.get(i)?;
        if !first.is_ascii_digit() {
            return None;
        }
        let mut v = u32::from(first - b'0');
        i += 1;
        let mut digits = 1;
        while let Some(&b) = line.get(i) {
            if !b.is_ascii_digit() {
                break;
            }
            if digits == 3 || first == b'0' {
                return None;
            }
            v = v * 10 + u32::from(b - b'0');
            digits += 1;
            i += 1;
        }
        if v > 255 {
            return None;
        }
        value = value << 8 | v;
    }
    Some((value, i))
}

/// The next IPv6 address at or after `pos`: (value, start, end).
///
/// In each field with a colon, the candidate starts at most four hex
/// digits before the field's first colon (or at a `::`; a lone `:` moves
/// on to the next colon) and must run to the end of the field; when it does
/// not parse, the rest of the field is skipped. This reproduces grepcidr
/// 2.0 on every case in the tests below.
fn next_v6(line: &[u8], mut pos: usize, strict: bool) -> Option<(u128, usize, usize)> {
    if strict {
        if pos > 0 {
            return None;
        }
        let end = line
            .iter()
            .position(|&b| !is_v6_field(b))
            .unwrap_or(line.len());
        return parse_v6(&line[..end]).map(|a| (a, 0, end));
    }
    while let Some(off) = memchr(b':', &line[pos..]) {
        let mut colon = pos + off;
        let mut field_start = colon;
        while field_start > pos && is_v6_field(line[field_start - 1]) {
            field_start -= 1;
        }
        let mut end = colon + 1;
        while end < line.len() && is_v6_field(line[end]) {
            end += 1;
        }
        loop {
            let mut start = colon;
            while start > field_start && colon - start < 4 && line[start - 1].is_ascii_hexdigit() {
                start -= 1;
            }
            if start == colon && line.get(colon + 1) != Some(&b':') {
                // a lone colon starts nothing: look at the next one
                match memchr(b':', &line[colon + 1..end]) {
                    Some(o) => {
                        colon += 1 + o;
                        continue;
                    }
                    None => break,
                }
            }
            if let Some(a) = parse_v6(&line[start..end]) {
                return Some((a, start, end));
            }
            break;
        }
        pos = end;
    }
    None
}

#[inline]
fn parse_v6(text: &[u8]) -> Option<u128> {
    if !text.contains(&b':') || !text.iter().all(|&b| is_v6_char(b)) {
        return None;
    }
    let s = std::str::from_utf8(text).ok()?;
    s.parse::<std::net::Ipv6Addr>().ok().map(u128::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str], opts: FilterOptions) -> Filter {
        let mut set = RangeSet::default();
        for p in patterns {
            set.extend(&p.parse().unwrap());
        }
        Filter::new(&mut set, opts)
    }

    fn class(f: &mut Filter, line: &str) -> LineClass {
        f.classify(line.as_bytes())
    }

    /// Cases checked against grepcidr 2.0 (Debian), pattern 1.2.3.0/24.
    #[test]
    fn ipv4_recognition_matches_grepcidr() {
        let mut f = filter(&["1.2.3.0/24"], FilterOptions::default());
        for inside in [
            "1.2.3.4",
            "x1.2.3.4",
            "a 1.2.3.4, b",
            "-1.2.3.4-",
            "_1.2.3.4_",
            "foo.1.2.3.4",
            "9.9.9.9 1.2.3.4",
            "1.2.3.4:80",
            "[::ffff:1.2.3.4]",
            "1.2.3.4/24",
            "1..2.3.4 1.2.3.4",
            "ip=1.2.3.4;",
            "a1.2.3.4 1.2.3.4",
            "1.2.3.4 b",
            "1.2.3.4.5 1.2.3.5",
            "1.2.3.4x 1.2.3.5",
            "a.b.1.2.3.4",
            "1a 1.2.3.4",
            "x.1.2.3.4",
            "1.2.3.4-1.2.3.9",
            "fe80::1:1.2.3.4",
            "1.2.3.4\r",
        ] {
            assert!(
                matches!(class(&mut f, inside), LineClass::Inside(_)),
                "{inside:?}"
            );
        }
        for none in [
            "a 1.2.3.4a",
            "a 1.2.3.4.",
            "1.2.3.4.5",
            "01.2.3.4",
            "001.002.003.004",
            "1.2.3.256",
            "1.2.3",
            "1.2.3.04",
            "0001.2.3.4",
            "5.1.2.3.4",
            "12.1.2.3.4",
            "5a.1.2.3.4",
            "ab12.1.2.3.4",
            "2001:db8::1",
            "",
        ] {
            assert_eq!(class(&mut f, none), LineClass::NoAddress, "{none:?}");
        }
        assert_eq!(class(&mut f, "11.2.3.4"), LineClass::Outside);
        assert_eq!(class(&mut f, "0.0.0.0"), LineClass::Outside);
    }

    /// Cases checked against grepcidr 2.0, pattern 2001:db8::/32.
    #[test]
    fn ipv6_recognition_matches_grepcidr() {
        let mut f = filter(&["2001:db8::/32"], FilterOptions::default());
        for inside in [
            "2001:db8::1",
            "x2001:db8::1",
            "[2001:db8::1]:80",
            "2001:db8::1/64",
            "2001:db8::1%eth0",
            "fe80::1 2001:db8::5",
            "a2001:db8::1",
            "g2001:db8::1",
            "2001:DB8::1",
            "2001:db8:0:0:0:0:0:1",
            "zz2001:db8::1",
            "abc2001:db8::1",
            "x:2001:db8::1",
            "12001:db8::1",
            "2001:db8::1.2.3.4",
            "q::1 2001:db8::7",
            "2001:0db8:00::1",
        ] {
            assert!(
                matches!(class(&mut f, inside), LineClass::Inside(_)),
                "{inside:?}"
            );
        }
        for none in [
            "2001:db8::1.",
            "2001:db8::1:",
            "2001:db8::1x",
            "2001:db8::g",
            "2001:db8::1.2.3",
            "2001:db8::1:2:3:4:5:6:7",
            "1.2.3.4",
            "time 10:24:33",
        ] {
            assert_eq!(class(&mut f, none), LineClass::NoAddress, "{none:?}");
        }
        for outside in ["a:2001:db8::1", "::ffff:1.2.3.4", "::1"] {
            assert_eq!(class(&mut f, outside), LineClass::Outside, "{outside:?}");
        }
    }

    #[test]
    fn both_families_hide_embedded_ipv4() {
        let mut f = filter(&["2001:db8::/32", "1.2.3.0/24"], FilterOptions::default());
        assert_eq!(class(&mut f, "::ffff:1.2.3.4"), LineClass::Outside);
        assert_eq!(class(&mut f, "fe80::1:1.2.3.4"), LineClass::Outside);
        assert!(matches!(class(&mut f, "1.2.3.4:5"), LineClass::Inside(_)));
        assert!(matches!(
            class(&mut f, "2001:db8::1.2.3.4"),
            LineClass::Inside(_)
        ));
    }

    #[test]
    fn strict_start() {
        let opts = FilterOptions {
            strict_start: true,
            ..FilterOptions::default()
        };
        let mut f = filter(&["1.2.3.0/24"], opts);
        for yes in ["1.2.3.4", "1.2.3.4:80", "1.2.3.4/24", "1.2.3.4 b"] {
            assert!(matches!(class(&mut f, yes), LineClass::Inside(_)), "{yes}");
        }
        for no in ["x1.2.3.4", " 1.2.3.4", "9.9.9.9 1.2.3.4", "1.2.3.4.5"] {
            assert!(!matches!(class(&mut f, no), LineClass::Inside(_)), "{no}");
        }
    }

    struct Collect {
        per_line: bool,
        out: Vec<u8>,
    }

    impl Sink for Collect {
        fn per_line(&self) -> bool {
            self.per_line
        }
        fn raw(&mut self, lines: &[u8]) -> io::Result<()> {
            self.out.extend_from_slice(lines);
            Ok(())
        }
        fn line(&mut self, n: u64, line: &[u8], _: Option<IpAddr>) -> io::Result<()> {
            self.out.extend_from_slice(format!("{n}:").as_bytes());
            self.out.extend_from_slice(line);
            self.out.push(b'\n');
            Ok(())
        }
    }

    #[test]
    fn runs_across_tiny_blocks() {
        let input =
            "a 192.0.2.1\nb 198.51.100.1\nc 192.0.2.200\nd 192.0.2.3\nno address\ne 10.0.0.1";
        for block in [1, 2, 3, 7, 64, 4096] {
            let mut f = filter(&["192.0.2.0/24"], FilterOptions::default()).with_block_size(block);
            let mut sink = Collect {
                per_line: false,
                out: Vec::new(),
            };
            assert_eq!(f.run(input.as_bytes(), &mut sink).unwrap(), 3);
            assert_eq!(
                String::from_utf8(sink.out).unwrap(),
                "a 192.0.2.1\nc 192.0.2.200\nd 192.0.2.3\n",
                "block {block}"
            );
            let opts = FilterOptions {
                invert: true,
                ..FilterOptions::default()
            };
            let mut f = filter(&["192.0.2.0/24"], opts).with_block_size(block);
            let mut sink = Collect {
                per_line: true,
                out: Vec::new(),
            };
            assert_eq!(f.run(input.as_bytes(), &mut sink).unwrap(), 2);
            assert_eq!(
                String::from_utf8(sink.out).unwrap(),
                "2:b 198.51.100.1\n6:e 10.0.0.1\n"
            );
        }
        let opts = FilterOptions {
            invert: true,
            include_no_address: true,
            ..FilterOptions::default()
        };
        let mut f = filter(&["192.0.2.0/24"], opts);
        let mut sink = Collect {
            per_line: false,
            out: Vec::new(),
        };
        assert_eq!(f.run(input.as_bytes(), &mut sink).unwrap(), 3);
        assert_eq!(
            String::from_utf8(sink.out).unwrap(),
            "b 198.51.100.1\nno address\ne 10.0.0.1\n"
        );
    }
}
