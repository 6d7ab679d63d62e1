//! Handlers of `netray subnet ...`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};

use super::args::{FilterArgs, SubnetCmd};
use super::written;
use crate::error::{EXIT_IO, EXIT_NEGATIVE};
use crate::model::subnet::CidrList;
use crate::output::subnet::{CountSink, FilterCount, JsonSink, PlainSink};
use crate::output::{self, Format, Options};
use crate::subnet::filter::{Filter, FilterOptions, Sink};
use crate::subnet::{
    self as domain, parse_cidr_input, parse_ip, parse_prefix_or_mask, Family, RangeSet, SubnetError,
};
use crate::{Error, Result};

pub(super) fn run(cmd: SubnetCmd, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    match cmd {
        SubnetCmd::Calc { input } => {
            let text = input.join(" ");
            let net = parse_cidr_input(&text)?;
            written(output::emit(&domain::calc(&text, &net), opts, out))?;
            Ok(0)
        }
        SubnetCmd::Same { a, b, prefix, mask } => same(&a, &b, prefix, mask, opts, out),
        SubnetCmd::Split {
            cidr,
            prefix,
            count,
            force,
            limit,
        } => {
            let parent = parse_cidr_input(&cidr)?;
            let prefix = match (prefix, count) {
                (Some(p), _) => p,
                (None, Some(0)) => {
                    return Err(Error::Usage("--count must be at least 1".into()));
                }
                (None, Some(n)) => domain::prefix_for_count(parent.prefix(), n),
                (None, None) => return Err(Error::Usage("give --prefix or --count".into())),
            };
            let split = domain::split(&parent, prefix, (!force).then_some(limit))?;
            written(output::subnet::split(split, opts, limit, out))?;
            Ok(0)
        }
        SubnetCmd::Summarize { inputs } => {
            let mut set = RangeSet::default();
            let n = if inputs.is_empty() || inputs == ["-"] {
                read_specs(io::stdin().lock(), "stdin", &mut set)?
            } else {
                add_specs(&inputs, &mut set)?
            };
            let list = list(
                format!("{n} inputs summarized"),
                &domain::summarize(&mut set),
            );
            written(output::emit(&list, opts, out))?;
            Ok(0)
        }
        SubnetCmd::Exclude { cidr, minus } => {
            let mut base = RangeSet::default();
            add_specs(&cidr, &mut base)?;
            let mut holes = RangeSet::default();
            for m in &minus {
                let one: RangeSet = m.parse()?;
                for f in [Family::V4, Family::V6] {
                    if !one.clone().ranges(f).is_empty() && base.ranges(f).is_empty() {
                        return Err(SubnetError::MixedFamilies {
                            a: cidr.join(" "),
                            fa: other(f),
                            b: m.clone(),
                            fb: f,
                        }
                        .into());
                    }
                }
                holes.extend(&one);
            }
            let left = domain::exclude(&mut base, &mut holes);
            let title = format!("{} minus {}", cidr.join(", "), minus.join(", "));
            written(output::emit(&list(title, &left), opts, out))?;
            Ok(0)
        }
        SubnetCmd::Contains { cidr, ip } => {
            let net = parse_cidr_input(&cidr)?;
            let r = domain::contains(&net, parse_ip(ip.trim())?)?;
            written(output::emit(&r, opts, out))?;
            Ok(if r.inside { 0 } else { EXIT_NEGATIVE })
        }
        SubnetCmd::Range { range } => {
            let text = match range.as_slice() {
                [one] => one.clone(),
                [a, b] => format!("{a}-{b}"),
                [a, dash, b] if dash == "-" => format!("{a}-{b}"),
                _ => return Err(Error::Usage("expected a range as A-B, A B or A - B".into())),
            };
            if !text.contains('-') {
                return Err(Error::Usage(format!(
                    "'{text}' is not a range: expected A-B, A B or A - B"
                )));
            }
            let (family, a, b) = domain::parse_spec(&text)?;
            let cidrs = domain::range_to_cidrs(family, a, b);
            written(output::emit(
                &list(format!("range {text}"), &cidrs),
                opts,
                out,
            ))?;
            Ok(0)
        }
        SubnetCmd::Filter(args) => filter(args, opts, out),
    }
}

fn other(f: Family) -> Family {
    match f {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    }
}

fn list(title: String, nets: &[ipnetwork::IpNetwork]) -> CidrList {
    CidrList {
        title,
        cidrs: nets.iter().map(domain::row).collect(),
    }
}

fn same(
    a: &str,
    b: &str,
    prefix: Option<String>,
    mask: Option<String>,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<u8> {
    let na = parse_cidr_input(a)?;
    let nb = parse_cidr_input(b)?;
    let family = Family::of(na.ip());
    if family != Family::of(nb.ip()) {
        return Err(SubnetError::MixedFamilies {
            a: a.into(),
            fa: family,
            b: b.into(),
            fb: Family::of(nb.ip()),
        }
        .into());
    }
    let given = |n: &ipnetwork::IpNetwork, s: &str| s.contains('/').then_some(n.prefix());
    let prefix = match (prefix.or(mask), given(&na, a), given(&nb, b)) {
        (Some(p), _, _) => parse_prefix_or_mask(family, &format!("{a} {p}"), &p)?,
        (None, Some(pa), Some(pb)) if pa != pb => {
            return Err(Error::Usage(format!(
                "{a} and {b} carry different prefixes: give --prefix or --mask"
            )))
        }
        (None, Some(p), _) | (None, None, Some(p)) => p,
        (None, None, None) => {
            return Err(Error::Usage(
                "give --prefix N or --mask M (or write the first address as A/N)".into(),
            ))
        }
    };
    let r = domain::same_subnet(na.ip(), nb.ip(), prefix)?;
    written(output::emit(&r, opts, out))?;
    Ok(if r.same { 0 } else { EXIT_NEGATIVE })
}

/// Adds specs given as arguments (each may hold several, separated by
/// commas or whitespace). Returns how many were added.
fn add_specs(items: &[String], set: &mut RangeSet) -> Result<usize> {
    let mut n = 0;
    for item in items {
        for spec in split_specs(item) {
            set.extend(&spec.parse()?);
            n += 1;
        }
    }
    Ok(n)
}

/// Splits on commas and whitespace, but keeps `A - B` ranges together.
fn split_specs(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut tokens = s
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .peekable();
    while let Some(t) = tokens.next() {
        if t == "-" || t.ends_with('-') {
            // `A - B` or `A- B`: join with the neighbours
            let mut joined = out.pop().filter(|_| t == "-").unwrap_or_default();
            joined.push_str(if t == "-" { "-" } else { t });
            if let Some(next) = tokens.next() {
                joined.push_str(next);
            }
            out.push(joined);
        } else if t.starts_with('-') && !out.is_empty() {
            let mut prev = out.pop().unwrap_or_default();
            prev.push_str(t);
            out.push(prev);
        } else {
            out.push(t.to_string());
        }
    }
    out
}

/// Reads specs from a text source, one or more per line, with `#`
/// comments. Errors name the line.
fn read_specs(r: impl BufRead, name: &str, set: &mut RangeSet) -> Result<usize> {
    let mut n = 0;
    for (i, line) in r.lines().enumerate() {
        let line = line.map_err(|e| Error::io(format!("reading {name}"), e))?;
        let line = line.split('#').next().unwrap_or("");
        for spec in split_specs(line) {
            let one: RangeSet = spec
                .parse()
                .map_err(|e| Error::Usage(format!("{name} line {}: {e}", i + 1)))?;
            set.extend(&one);
            n += 1;
        }
    }
    Ok(n)
}

fn filter(args: FilterArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let mut set = RangeSet::default();
    let mut files = args.args.clone();
    if args.patterns.is_empty() && args.pattern_files.is_empty() {
        // leading arguments that parse as patterns are patterns
        let n = args
            .args
            .iter()
            .take_while(|a| {
                let specs = split_specs(a);
                !specs.is_empty() && specs.iter().all(|s| s.parse::<RangeSet>().is_ok())
            })
            .count();
        if n == 0 {
            return match args.args.first() {
                Some(first) => Err(
                    match split_specs(first)
                        .iter()
                        .find_map(|s| s.parse::<RangeSet>().err())
                    {
                        Some(e) => Error::Usage(format!("not a valid pattern: {e}")),
                        None => Error::Usage(format!("not a valid pattern: '{first}'")),
                    },
                ),
                None => Err(Error::Usage(
                    "give at least one pattern (CIDR, address or A-B range)".into(),
                )),
            };
        }
        add_specs(&args.args[..n], &mut set)?;
        files.drain(..n);
    } else {
        add_specs(&args.patterns, &mut set)?;
        for p in &args.pattern_files {
            let f = File::open(p).map_err(|source| Error::File {
                path: p.clone(),
                source,
            })?;
            read_specs(BufReader::new(f), &p.display().to_string(), &mut set)?;
        }
    }
    if set.is_empty() {
        return Err(Error::Usage("no patterns given".into()));
    }
    let fopts = FilterOptions {
        // the global -v means "invert" here, as grep users expect
        invert: args.invert || opts.verbose > 0 || args.include_no_address,
        include_no_address: args.include_no_address,
        strict_start: args.strict,
    };
    let mut filter = Filter::new(&mut set, fopts);
    if files.is_empty() {
        files.push("-".into());
    }
    let label = files.len() > 1;
    let mut selected = 0;
    let mut failed = false;
    for name in &files {
        let input: Box<dyn Read> = if name == "-" {
            Box::new(io::stdin().lock())
        } else {
            match File::open(name) {
                Ok(f) => Box::new(f),
                Err(source) => {
                    // reported at once; the other files are still searched
                    // and the exit status says it at the end, as grep does
                    output::warn(&format!("{name}: {source}"));
                    failed = true;
                    continue;
                }
            }
        };
        let shown = if name == "-" {
            "(standard input)"
        } else {
            name.as_str()
        };
        let mut sink: Box<dyn Sink + '_> = match (opts.format, args.count) {
            (_, true) => Box::new(CountSink),
            (Format::Json, false) => Box::new(JsonSink::new(
                &mut *out,
                Some(shown).filter(|_| label || name != "-"),
            )),
            (Format::Human, false) => Box::new(PlainSink::new(&mut *out, label.then_some(shown))),
        };
        match filter.run(input, sink.as_mut()) {
            Ok(n) => selected += n,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                return Err(Error::io("writing output", e));
            }
            Err(source) => {
                output::warn(&format!("{name}: {source}"));
                failed = true;
            }
        }
    }
    if args.count {
        written(output::emit(&FilterCount { count: selected }, opts, out))?;
    }
    written(out.flush())?;
    if failed {
        return Err(Error::Reported(EXIT_IO));
    }
    Ok(if selected > 0 { 0 } else { EXIT_NEGATIVE })
}
