//! Views of interfaces and routing decisions.

use std::io::{self, Write};

use serde::Serialize;

use super::{fields, paint, table, write_table, Options, Paint, Render};
use crate::link::iface::Interface;
use crate::link::route::{Decision, Kind};

/// The interface list.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Interfaces(pub Vec<Interface>);

impl Render for Interfaces {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            for i in &self.0 {
                writeln!(w, "{}", i.name)?;
            }
            return Ok(());
        }
        let mut t = table(
            opts,
            &[
                "#",
                "Interface",
                "MAC",
                "Vendor",
                "Addresses",
                "MTU",
                "Flags",
            ],
        );
        for i in &self.0 {
            let name = if i.is_up() {
                paint(opts.color, Paint::Green, &i.name)
            } else {
                paint(opts.color, Paint::Dim, &i.name)
            };
            let addrs: Vec<String> = i
                .addrs
                .iter()
                .map(|a| format!("{}/{}", a.addr, a.prefix))
                .collect();
            t.add_row(vec![
                i.index.to_string(),
                name,
                i.mac.clone().unwrap_or_else(|| "-".into()),
                i.vendor
                    .as_ref()
                    .map_or("-".into(), |v| v.label().to_string()),
                if addrs.is_empty() {
                    "-".into()
                } else {
                    addrs.join("\n")
                },
                i.mtu.map_or("-".into(), |m| m.to_string()),
                i.flags.join(","),
            ]);
        }
        write_table(&t, w)
    }
}

impl Render for Decision {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        if opts.quiet {
            return match (self.kind, self.next_hop, &self.iface) {
                (Kind::Unreachable, ..) => writeln!(w, "unreachable"),
                (Kind::Local, _, Some(i)) => writeln!(w, "local dev {i}"),
                (Kind::Local, ..) => writeln!(w, "local"),
                (_, Some(h), Some(i)) => writeln!(w, "{h} dev {i}"),
                _ => writeln!(w, "-"),
            };
        }
        let kind = match self.kind {
            Kind::Local => paint(opts.color, Paint::Green, "local (this host)"),
            Kind::OnLink => paint(opts.color, Paint::Green, "on-link"),
            Kind::Gateway => paint(opts.color, Paint::Yellow, "via gateway"),
            Kind::Unreachable => paint(opts.color, Paint::Red, "unreachable"),
        };
        let mut rows = vec![("Target", self.target.to_string()), ("Decision", kind)];
        if let Some(r) = &self.route {
            let of = if self.matched > 1 {
                format!(" (longest prefix of {} matching routes)", self.matched)
            } else {
                String::new()
            };
            rows.push(("Route", format!("{}{of}", r.text())));
        }
        if let Some(i) = &self.iface {
            rows.push(("Interface", i.clone()));
        }
        if let Some(s) = self.source {
            rows.push(("Source", s.to_string()));
        }
        if let Some(c) = &self.and_check {
            let tw = c
                .target_network
                .to_string()
                .len()
                .max(c.source_network.to_string().len());
            let aw = self
                .target
                .to_string()
                .len()
                .max(c.source.to_string().len());
            rows.push((
                "Mask AND",
                format!(
                    "{:<aw$} AND {} = {:<tw$}  (target)\n{:<aw$} AND {} = {:<tw$}  (interface /{}) -> {}",
                    self.target.to_string(),
                    c.mask,
                    c.target_network.to_string(),
                    c.source.to_string(),
                    c.mask,
                    c.source_network.to_string(),
                    c.prefix,
                    if c.same { "same subnet" } else { "different subnets" }
                ),
            ));
        }
        if let (Some(h), Some(r)) = (self.next_hop, self.resolution) {
            let who = if Some(h) == Some(self.target) {
                "the target itself"
            } else {
                "the gateway"
            };
            rows.push((
                "Next hop",
                format!("{h}: {} asks for {who}", r.to_uppercase()),
            ));
        }
        write_table(&fields(opts, &rows), w)?;
        writeln!(w)?;
        writeln!(w, "{}", self.explanation)
    }
}
