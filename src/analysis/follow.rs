//! `follow`: the reassembled payload of one TCP connection, in order
//! despite out-of-order and retransmitted segments, both directions.
//!
//! Each direction keeps the next expected sequence number; a segment at it
//! is passed on at once (with any buffered segments it makes contiguous),
//! the part of a retransmission already passed on is dropped, and a
//! segment ahead of it waits in a bounded buffer. When the buffer is full,
//! or the capture ends, the missing bytes are reported as a gap and the
//! stream goes on after them.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use crate::model::packet::Packet;

/// Which connection to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    /// The n-th TCP conversation, counted from 0 in order of first
    /// appearance (as `stats` numbers them).
    Index(usize),
    /// The connection between two endpoints, either way round.
    Tuple((IpAddr, u16), (IpAddr, u16)),
}

/// A piece of the reassembled stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Bytes, in order, `from_client` telling the direction; `offset` is
    /// the position in that direction's stream.
    Data {
        /// Client (the side that sent first) to server.
        from_client: bool,
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes.
        data: &'a [u8],
    },
    /// Bytes that never arrived.
    Gap {
        /// Direction.
        from_client: bool,
        /// Stream offset where they were missing.
        offset: u64,
        /// How many.
        len: u64,
    },
}

/// The connection's (client, server) endpoints.
pub type Ends = ((IpAddr, u16), (IpAddr, u16));

/// Buffered out-of-order bytes per direction before a gap is declared.
const MAX_PENDING: usize = 16 << 20;

#[derive(Debug, Default)]
struct Direction {
    /// Sequence number of stream offset 0.
    isn: Option<u32>,
    /// Next expected offset.
    next: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
}

impl Direction {
    fn offset_of(&self, seq: u32) -> u64 {
        u64::from(seq.wrapping_sub(self.isn.unwrap_or(seq)))
    }
}

/// Follows one connection through a capture.
#[derive(Debug)]
pub struct Follower {
    select: Select,
    seen: HashSet<((IpAddr, u16), (IpAddr, u16))>,
    /// (client, server) once known.
    target: Option<((IpAddr, u16), (IpAddr, u16))>,
    dirs: [Direction; 2],
    /// Packets of the connection seen.
    pub packets: u64,
}

impl Follower {
    /// Starts following.
    pub fn new(select: Select) -> Self {
        Follower {
            select,
            seen: HashSet::new(),
            target: None,
            dirs: Default::default(),
            packets: 0,
        }
    }

    /// The connection's (client, server), once a packet of it was seen.
    pub fn endpoints(&self) -> Option<Ends> {
        self.target
    }

    /// Feeds one decoded packet with its frame bytes; in-order pieces go
    /// to `out` with the connection's endpoints.
    pub fn add(&mut self, p: &Packet, frame: &[u8], out: &mut dyn FnMut(Piece<'_>, Ends)) {
        let Some(t) = &p.tcp else { return };
        let (src, dst) = match (&p.ipv4, &p.ipv6) {
            (Some(v4), None) => (IpAddr::V4(v4.src), IpAddr::V4(v4.dst)),
            (_, Some(v6)) => (IpAddr::V6(v6.src), IpAddr::V6(v6.dst)),
            _ => return,
        };
        let (s, d) = ((src, t.src_port), (dst, t.dst_port));
        if self.target.is_none() {
            let key = if s <= d { (s, d) } else { (d, s) };
            let index = self.seen.len();
            let new = self.seen.insert(key);
            let hit = match &self.select {
                Select::Index(i) => new && index == *i,
                Select::Tuple(a, b) => (s == *a && d == *b) || (s == *b && d == *a),
            };
            if !hit {
                return;
            }
            // the side that sends first is the client; a SYN-ACK first
            // means its receiver is
            let syn_ack = t.flags & 0x12 == 0x12;
            self.target = Some(if syn_ack { (d, s) } else { (s, d) });
            self.seen.clear();
        }
        let Some((client, server)) = self.target else {
            return;
        };
        let from_client = if s == client && d == server {
            true
        } else if s == server && d == client {
            false
        } else {
            return;
        };
        self.packets += 1;
        let dir = &mut self.dirs[usize::from(!from_client)];
        let syn = t.flags & 0x002 != 0;
        if dir.isn.is_none() {
            dir.isn = Some(if syn { t.seq.wrapping_add(1) } else { t.seq });
        }
        let start = t.payload_offset.min(frame.len());
        let payload = &frame[start..(start + t.payload_len).min(frame.len())];
        if payload.is_empty() {
            return;
        }
        let seq = if syn { t.seq.wrapping_add(1) } else { t.seq };
        let offset = dir.offset_of(seq);
        deliver(dir, offset, payload, from_client, &mut |piece| {
            out(piece, (client, server))
        });
    }

    /// The end of the capture: what is still buffered comes out after a
    /// gap marker.
    pub fn finish(&mut self, out: &mut dyn FnMut(Piece<'_>, Ends)) {
        let Some(ends) = self.target else { return };
        let out = &mut |piece: Piece<'_>| out(piece, ends);
        for (k, dir) in self.dirs.iter_mut().enumerate() {
            let from_client = k == 0;
            // each remaining hole becomes a gap, then what follows it flows
            while let Some((&first, _)) = dir.pending.first_key_value() {
                if first > dir.next {
                    out(Piece::Gap {
                        from_client,
                        offset: dir.next,
                        len: first - dir.next,
                    });
                    dir.next = first;
                }
                drain(dir, from_client, out);
            }
        }
    }
}

fn deliver(
    dir: &mut Direction,
    offset: u64,
    payload: &[u8],
    from_client: bool,
    out: &mut dyn FnMut(Piece<'_>),
) {
    let end = offset + payload.len() as u64;
    if end <= dir.next {
        // a retransmission of bytes already passed on
        return;
    }
    if offset > dir.next {
        // ahead of a hole: wait for the hole to fill
        if dir.pending_bytes + payload.len() > MAX_PENDING {
            // give up on the hole
            if let Some((&first, _)) = dir.pending.first_key_value() {
                let to = first.min(offset);
                out(Piece::Gap {
                    from_client,
                    offset: dir.next,
                    len: to - dir.next,
                });
                dir.next = to;
                drain(dir, from_client, out);
                return deliver(dir, offset, payload, from_client, out);
            }
        }
        let keep = dir.pending.entry(offset).or_default();
        if payload.len() > keep.len() {
            dir.pending_bytes += payload.len() - keep.len();
            *keep = payload.to_vec();
        }
        return;
    }
    let skip = usize::try_from(dir.next - offset).unwrap_or(0);
    out(Piece::Data {
        from_client,
        offset: dir.next,
        data: &payload[skip..],
    });
    dir.next = end;
    drain(dir, from_client, out);
}

/// Passes on buffered segments that are now contiguous.
fn drain(dir: &mut Direction, from_client: bool, out: &mut dyn FnMut(Piece<'_>)) {
    while let Some((&off, _)) = dir.pending.first_key_value() {
        if off > dir.next {
            break;
        }
        let Some((off, data)) = dir.pending.pop_first() else {
            break;
        };
        dir.pending_bytes -= data.len();
        let end = off + data.len() as u64;
        if end > dir.next {
            let skip = usize::try_from(dir.next - off).unwrap_or(0);
            out(Piece::Data {
                from_client,
                offset: dir.next,
                data: &data[skip..],
            });
            dir.next = end;
        }
    }
}

/// `follow` as a sink of the capture engine: the pieces of the selected
/// stream go to `out`, which answers false to end the reading (a write
/// failure downstream, say).
pub struct FollowSink<F: FnMut(Piece<'_>, Ends) -> bool> {
    /// The reassembler.
    pub follower: Follower,
    out: F,
    go: bool,
}

impl<F: FnMut(Piece<'_>, Ends) -> bool> FollowSink<F> {
    /// Follows `select`, handing each piece to `out`.
    pub fn new(select: Select, out: F) -> Self {
        FollowSink {
            follower: Follower::new(select),
            out,
            go: true,
        }
    }

    /// The end of the input: what is still held is delivered (with gaps).
    pub fn finish(&mut self) {
        let (out, go) = (&mut self.out, &mut self.go);
        self.follower.finish(&mut |piece, ends| {
            if *go && !out(piece, ends) {
                *go = false;
            }
        });
    }
}

impl<F: FnMut(Piece<'_>, Ends) -> bool> crate::capture::engine::Sink for FollowSink<F> {
    fn packet(
        &mut self,
        p: &Packet,
        frame: &crate::capture::Frame<'_>,
    ) -> std::io::Result<crate::capture::Flow> {
        let (out, go) = (&mut self.out, &mut self.go);
        self.follower.add(p, frame.data, &mut |piece, ends| {
            if *go && !out(piece, ends) {
                *go = false;
            }
        });
        Ok(if self.go {
            crate::capture::Flow::Continue
        } else {
            crate::capture::Flow::Stop
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{decode, Frame, Timestamp};

    fn seg(seq: u32, flags: &str, payload: &[u8], from_client: bool) -> Vec<u8> {
        let (a, b) = ([192, 0, 2, 1], [198, 51, 100, 2]);
        let mut v = Vec::new();
        let (src, dst, sp, dp) = if from_client {
            (a, b, 40000, 80)
        } else {
            (b, a, 80, 40000)
        };
        let mut t = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 1000);
        for f in flags.chars() {
            t = match f {
                'S' => t.syn(),
                'A' => t.ack(1),
                'F' => t.fin(),
                _ => t,
            };
        }
        t.write(&mut v, payload).unwrap();
        v
    }

    fn run(frames: &[Vec<u8>]) -> (String, String, Vec<Piece<'static>>) {
        let mut f = Follower::new(Select::Index(0));
        let (mut c, mut s) = (String::new(), String::new());
        let mut gaps = Vec::new();
        let mut sink = |p: Piece<'_>, _: Ends| match p {
            Piece::Data {
                from_client, data, ..
            } => {
                let t = String::from_utf8_lossy(data);
                if from_client {
                    c.push_str(&t)
                } else {
                    s.push_str(&t)
                }
            }
            Piece::Gap {
                from_client,
                offset,
                len,
            } => gaps.push(Piece::Gap {
                from_client,
                offset,
                len,
            }),
        };
        for (i, d) in frames.iter().enumerate() {
            let frame = Frame {
                n: i as u64 + 1,
                ts: Timestamp::default(),
                linktype: 1,
                iface: None,
                len: d.len() as u32,
                data: d,
            };
            let p = decode(&frame);
            f.add(&p, d, &mut sink);
        }
        f.finish(&mut sink);
        (c, s, gaps)
    }

    #[test]
    fn in_order_out_of_order_and_retransmitted() {
        let frames = vec![
            seg(100, "S", b"", true),
            seg(500, "SA", b"", false),
            seg(101, "A", b"GET ", true),
            seg(109, "A", b"HTTP/1.1\r\n", true), // arrives before the middle part
            seg(105, "A", b"/ix ", true),
            seg(101, "A", b"GET ", true), // a retransmission
            seg(501, "A", b"200 OK", false),
            seg(107, "A", b"x HTTP", true), // overlaps both sides
        ];
        let (c, s, gaps) = run(&frames);
        assert_eq!(c, "GET /ix HTTP/1.1\r\n");
        assert_eq!(s, "200 OK");
        assert!(gaps.is_empty());
    }

    #[test]
    fn a_hole_that_never_fills_is_a_gap() {
        let frames = vec![
            seg(100, "S", b"", true),
            seg(101, "A", b"abc", true),
            seg(110, "A", b"xyz", true),
        ];
        let (c, _, gaps) = run(&frames);
        assert_eq!(c, "abcxyz");
        assert_eq!(
            gaps,
            vec![Piece::Gap {
                from_client: true,
                offset: 3,
                len: 6
            }]
        );
    }
}
