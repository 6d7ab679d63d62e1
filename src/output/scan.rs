//! The human view of a port scan: per host, the open ports as a table
//! and the rest as counts, like nmap's "Not shown".

use std::io::{self, Write};

use super::{paint, table, write_table, Options, Paint};
use crate::scan::{by_host, PortResult, State};

/// A finished scan.
pub struct ScanView<'a> {
    /// Every result, in plan order.
    pub results: &'a [PortResult],
    /// connect, SYN or UDP.
    pub method: &'a str,
    /// Ports per host.
    pub ports: usize,
    /// Wall time.
    pub seconds: f64,
}

/// Rows shown for states other than open before they are only counted.
const SHOW_QUIET: u64 = 20;

impl ScanView<'_> {
    /// Writes the human view.
    ///
    /// # Errors
    /// Write failures.
    pub fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        let hosts = by_host(self.results);
        if opts.quiet {
            for (h, _, rs) in &hosts {
                for r in rs.iter().filter(|r| r.state == State::Open) {
                    writeln!(w, "{h}\t{}/{}", r.port, r.proto.name())?;
                }
            }
            return Ok(());
        }
        for (h, c, rs) in &hosts {
            let silent = c.filtered + c.open_filtered;
            let mut t = table(opts, &["Port", "State", "Service", "RTT", "Banner"]);
            let mut shown = 0;
            for r in rs.iter() {
                let show =
                    r.state == State::Open || (r.state != State::Closed && silent <= SHOW_QUIET);
                if !show {
                    continue;
                }
                shown += 1;
                let state = match r.state {
                    State::Open => paint(opts.color, Paint::Green, r.state.name()),
                    _ => paint(opts.color, Paint::Yellow, r.state.name()),
                };
                t.add_row(vec![
                    format!("{}/{}", r.port, r.proto.name()),
                    state,
                    r.service.unwrap_or("").to_string(),
                    r.rtt.map_or(String::new(), |d| {
                        format!("{:.3} ms", d.as_secs_f64() * 1e3)
                    }),
                    r.banner
                        .as_deref()
                        .map_or(String::new(), |b| super::safe::esc(b).into_owned()),
                ]);
            }
            writeln!(
                w,
                "{}",
                paint(opts.color, Paint::Bold, &format!("Host {h}"))
            )?;
            if shown > 0 {
                write_table(&t, w)?;
            }
            let mut parts = vec![format!("{} open", c.open)];
            if c.closed > 0 {
                parts.push(format!("{} closed", c.closed));
            }
            if c.filtered > 0 {
                parts.push(format!("{} filtered", c.filtered));
            }
            if c.open_filtered > 0 {
                parts.push(format!("{} open|filtered", c.open_filtered));
            }
            writeln!(w, "{}", parts.join(", "))?;
        }
        writeln!(
            w,
            "{} scan of {} hosts x {} ports in {:.2} s",
            self.method,
            hosts.len(),
            self.ports,
            self.seconds
        )
    }
}
