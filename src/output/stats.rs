//! Human views of `stats` and `follow`.

use std::io::{self, Write};

use super::packet::Buf;
use super::{human_bytes, paint, rate, table, write_table, Options, Paint, Render};
use crate::model::stats::{Conversation, Stats};

/// `stats` with its row limit.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct StatsView<'a> {
    /// The report.
    pub stats: &'a Stats,
    /// Rows per table in the human view.
    #[serde(skip)]
    pub top: usize,
}

fn end(c: &Conversation) -> (String, String) {
    let f = |a: std::net::IpAddr, p: Option<u16>| match (a, p) {
        (std::net::IpAddr::V6(v6), Some(p)) => format!("[{v6}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    };
    (f(c.a, c.a_port), f(c.b, c.b_port))
}

fn conversations(
    opts: &Options,
    w: &mut dyn Write,
    title: &str,
    rows: &[Conversation],
    top: usize,
) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "\n{}",
        paint(
            opts.color,
            Paint::Bold,
            &format!("{title} ({})", rows.len())
        )
    )?;
    let tcp = rows.iter().any(|r| r.state.is_some());
    let mut header = vec![
        "#",
        "A",
        "B",
        "A→B pkts",
        "A→B bytes",
        "B→A pkts",
        "B→A bytes",
        "start s",
        "dur s",
    ];
    if tcp {
        header.push("state");
    }
    let mut t = table(opts, &header);
    let mut sorted: Vec<&Conversation> = rows.iter().collect();
    sorted.sort_by_key(|c| std::cmp::Reverse(c.bytes_ab + c.bytes_ba));
    let shown = if top == 0 {
        sorted.len()
    } else {
        top.min(sorted.len())
    };
    for c in &sorted[..shown] {
        let (a, b) = end(c);
        let mut row = vec![
            c.index.to_string(),
            a,
            b,
            c.packets_ab.to_string(),
            human_bytes(c.bytes_ab),
            c.packets_ba.to_string(),
            human_bytes(c.bytes_ba),
            format!("{:.3}", c.start_s),
            format!("{:.3}", c.duration_s),
        ];
        if let Some(s) = c.state {
            row.push(s.to_string());
        }
        t.add_row(row);
    }
    write_table(&t, w)?;
    if shown < sorted.len() {
        writeln!(
            w,
            "({} more; --top 0 shows all, --json has all)",
            sorted.len() - shown
        )?;
    }
    Ok(())
}

impl Render for StatsView<'_> {
    fn human(&self, opts: &Options, w: &mut dyn Write) -> io::Result<()> {
        let s = self.stats;
        let mut t = super::fields(
            opts,
            &[
                (
                    "File",
                    format!("{} ({})", s.file, s.format.unwrap_or("empty")),
                ),
                ("Packets", s.packets.to_string()),
                (
                    "Bytes",
                    format!(
                        "{} on the wire, {} captured",
                        human_bytes(s.bytes),
                        human_bytes(s.captured_bytes)
                    ),
                ),
                ("First", s.first.clone().unwrap_or_else(|| "-".into())),
                ("Last", s.last.clone().unwrap_or_else(|| "-".into())),
                ("Duration", format!("{:.6} s", s.duration_s)),
                (
                    "Rate",
                    format!("{:.1} packets/s, {}", s.avg_pps, rate(s.avg_bps)),
                ),
                (
                    "Link types",
                    s.linktypes
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
        );
        if let Some(at) = s.truncated_at {
            t.add_row(vec![
                paint(opts.color, Paint::Bold, "Truncated"),
                format!("the file ends inside a record at byte {at}"),
            ]);
        }
        write_table(&t, w)?;
        if !s.protocols.is_empty() {
            writeln!(
                w,
                "\n{}",
                paint(opts.color, Paint::Bold, "Protocol hierarchy")
            )?;
            let mut t = table(opts, &["protocol", "packets", "bytes", "% packets"]);
            for p in &s.protocols {
                let name = p.path.rsplit(':').next().unwrap_or(&p.path);
                t.add_row(vec![
                    format!("{}{name}", "  ".repeat(p.depth)),
                    p.packets.to_string(),
                    human_bytes(p.bytes),
                    format!("{:.2}", p.percent),
                ]);
            }
            write_table(&t, w)?;
        }
        conversations(opts, w, "TCP conversations", &s.tcp_conversations, self.top)?;
        conversations(opts, w, "UDP conversations", &s.udp_conversations, self.top)?;
        conversations(opts, w, "IP conversations", &s.ip_conversations, self.top)?;
        if !s.endpoints.is_empty() {
            writeln!(
                w,
                "\n{}",
                paint(
                    opts.color,
                    Paint::Bold,
                    &format!("Endpoints ({})", s.endpoints.len())
                )
            )?;
            let mut t = table(
                opts,
                &["address", "tx pkts", "tx bytes", "rx pkts", "rx bytes"],
            );
            let shown = if self.top == 0 {
                s.endpoints.len()
            } else {
                self.top.min(s.endpoints.len())
            };
            for e in &s.endpoints[..shown] {
                t.add_row(vec![
                    e.address.to_string(),
                    e.tx_packets.to_string(),
                    human_bytes(e.tx_bytes),
                    e.rx_packets.to_string(),
                    human_bytes(e.rx_bytes),
                ]);
            }
            write_table(&t, w)?;
        }
        let c = &s.tcp;
        if c.connections > 0 {
            writeln!(
                w,
                "\nTCP: {} connections, {} with a completed handshake, {} SYN unanswered, {} reset, {} closed",
                c.connections, c.handshake_completed, c.syn_unanswered, c.reset, c.closed
            )?;
        }
        let a = &s.arp;
        if a.requests + a.replies > 0 {
            writeln!(
                w,
                "ARP: {} requests, {} replies, {} gratuitous, {} addresses announced",
                a.requests, a.replies, a.gratuitous, a.ips
            )?;
            for d in &a.ips_with_several_macs {
                let t = format!("several MACs for {} ({})", d.ip, d.macs.join(", "));
                writeln!(w, "  {}", paint(opts.color, Paint::Yellow, &t))?;
            }
        }
        Ok(())
    }
}

/// Shows `follow` pieces as text: a header when the direction changes,
/// then the bytes with non-printing ones as dots.
#[derive(Default)]
pub struct FollowText {
    last: Option<bool>,
    buf: Buf,
}

impl FollowText {
    /// Bytes that never arrived.
    ///
    /// # Errors
    /// Write failures.
    pub fn gap(
        &mut self,
        src: &str,
        dst: &str,
        offset: u64,
        len: u64,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        writeln!(
            w,
            "\n[{len} bytes missing at offset {offset} of {src} -> {dst}]"
        )
    }

    /// The closing line: packets and bytes each way.
    ///
    /// # Errors
    /// Write failures.
    pub fn summary(
        packets: u64,
        client: &str,
        server: &str,
        sent: [u64; 2],
        w: &mut dyn Write,
    ) -> io::Result<()> {
        writeln!(
            w,
            "\n=== {packets} packets; {client} -> {server}: {} bytes; {server} -> {client}: {} bytes",
            sent[0], sent[1]
        )
    }

    /// Writes the data of one piece.
    ///
    /// # Errors
    /// Write failures.
    pub fn data(
        &mut self,
        opts: &Options,
        label: &str,
        from_client: bool,
        data: &[u8],
        hex: bool,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        if self.last != Some(from_client) {
            if self.last.is_some() && !hex {
                writeln!(w)?;
            }
            let style = if from_client {
                Paint::Cyan
            } else {
                Paint::Yellow
            };
            writeln!(w, "{}", paint(opts.color, style, label))?;
            self.last = Some(from_client);
        }
        self.buf.clear();
        if hex {
            super::packet::hexdump(data, &mut self.buf);
        } else {
            // a carriage return only as part of CRLF: alone it would move
            // the cursor back over what was shown
            for (i, &b) in data.iter().enumerate() {
                let crlf = b == b'\r' && data.get(i + 1) == Some(&b'\n');
                if b == b'\n' || b == b'\t' || crlf || (0x20..0x7f).contains(&b) {
                    self.buf.0.push(b);
                } else {
                    self.buf.0.push(b'.');
                }
            }
        }
        w.write_all(&self.buf.0)
    }
}
