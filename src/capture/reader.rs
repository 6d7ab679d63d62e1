//! Reading pcap and pcapng files incrementally with pcap-parser.
//!
//! The reader hands each packet to a callback as a [`Frame`] that borrows
//! the reader's buffer, so memory stays at one buffer (grown only for a
//! record larger than it) however large the file. Both pcap byte orders,
//! the microsecond and nanosecond magics, and pcapng with several
//! sections and interfaces (each with its own link type and if_tsresol /
//! if_tsoffset) are handled; pcapng Enhanced, Simple and the obsolete
//! Packet Block carry packets. A file that ends inside a record yields
//! every whole record and then reports where it stopped.

use std::io::{self, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

pub use crate::model::packet::Timestamp;

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based packet number in the file.
    pub n: u64,
    /// When it was captured.
    pub ts: Timestamp,
    /// The link type (LINKTYPE_* number) of its interface.
    pub linktype: u32,
    /// The pcapng interface index; `None` for pcap.
    pub iface: Option<u32>,
    /// Original length on the wire.
    pub len: u32,
    /// The captured bytes (may be shorter than `len`: snaplen).
    pub data: &'a [u8],
}

/// Which container the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap.
    Pcap,
    /// pcapng.
    Pcapng,
}

/// What reading a whole file found, besides its packets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// pcap or pcapng (None for an empty input).
    pub format: Option<Format>,
    /// Packets read.
    pub packets: u64,
    /// Bytes of the file consumed by whole records.
    pub bytes: u64,
    /// Set when the file ends inside a record: the offset of that record.
    pub truncated_at: Option<u64>,
    /// Link types seen (in order of first appearance).
    pub linktypes: Vec<u32>,
}

/// Why a capture cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not a pcap or pcapng file.
    #[error("not a pcap or pcapng file (unknown magic {magic})")]
    NotACapture {
        /// The first bytes, in hex.
        magic: String,
    },
    /// The data is damaged in a way the container parser cannot skip.
    #[error("corrupt capture data at byte offset {offset}: {detail}")]
    Corrupt {
        /// Where.
        offset: u64,
        /// What the parser said.
        detail: String,
    },
    /// A read failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// How a callback wants reading to go on.
pub enum Flow {
    /// Next packet.
    Continue,
    /// Stop reading (enough packets).
    Stop,
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u32,
    /// Units per second of the timestamps.
    resolution: u64,
    digits: u8,
    offset_secs: i64,
}

impl Default for Iface {
    fn default() -> Self {
        Iface {
            linktype: 1,
            resolution: 1_000_000,
            digits: 6,
            offset_secs: 0,
        }
    }
}

/// Largest record accepted (pcapng blocks up to this size); the buffer
/// grows to it only when a record needs it.
pub(crate) const MAX_RECORD: usize = 16 << 20;
const INITIAL_BUFFER: usize = 1 << 20;
/// Interfaces kept per pcapng section; packets of any further interface
/// are read as Ethernet with microsecond stamps.
const MAX_IFACES: usize = 1 << 16;

/// Reads every packet of `input`, calling `each` for each one in order.
///
/// # Errors
/// Not a capture, corrupt data, read errors, or an error from `each`.
pub fn read_frames(
    input: impl Read + Send,
    each: impl FnMut(&Frame<'_>) -> io::Result<Flow>,
) -> Result<ReadSummary, ReadError> {
    let mut summary = ReadSummary::default();
    read_into(input, each, &mut summary)?;
    Ok(summary)
}

/// [`read_frames`], keeping what was read before an error: the summary of
/// every packet handed to `each`, and the error that stopped the reading.
/// Commands that report on a whole file (stats, follow) show what they
/// have and then the error, as decode does.
pub fn read_frames_partial(
    input: impl Read + Send,
    each: impl FnMut(&Frame<'_>) -> io::Result<Flow>,
) -> (ReadSummary, Option<ReadError>) {
    let mut summary = ReadSummary::default();
    let err = read_into(input, each, &mut summary).err();
    (summary, err)
}

fn read_into(
    input: impl Read + Send,
    mut each: impl FnMut(&Frame<'_>) -> io::Result<Flow>,
    summary: &mut ReadSummary,
) -> Result<(), ReadError> {
    // pcap-parser decides the format from its first read: make sure that
    // read holds the whole file header even from a pipe, and no more (a
    // live pipe must not wait for bytes that have not been captured yet)
    let mut input = input;
    let mut head = vec![0u8; 12];
    let mut got = read_full(&mut input, &mut head)?;
    if got == head.len() {
        let want = header_length(&head);
        head.resize(want, 0);
        got += read_full(&mut input, &mut head[got..])?;
    }
    head.truncate(got);
    if got == 0 {
        return Ok(());
    }
    let magic: String = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut rd = match create_reader(INITIAL_BUFFER, io::Cursor::new(head).chain(input)) {
        Ok(r) => r,
        Err(PcapError::Incomplete(_) | PcapError::Eof) => {
            return Err(ReadError::Corrupt {
                offset: 0,
                detail: format!("the file ends inside its header ({got} bytes)"),
            })
        }
        Err(_) => return Err(ReadError::NotACapture { magic }),
    };
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut legacy = Iface::default();
    // the byte order of the current pcapng section, or of the pcap file
    let mut big_endian = false;
    let mut stopped = false;
    while !stopped {
        let consumed = rd.consumed() as u64;
        match rd.next() {
            Ok((off, block)) => {
                let flow = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        summary.format = Some(Format::Pcap);
                        big_endian = h.is_bigendian();
                        let nano = h.is_nanosecond_precision();
                        legacy = Iface {
                            linktype: linktype(h.network.0),
                            resolution: if nano { 1_000_000_000 } else { 1_000_000 },
                            digits: if nano { 9 } else { 6 },
                            // thiszone is ignored, as libpcap and tshark do
                            offset_secs: 0,
                        };
                        note_linktype(summary, legacy.linktype);
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        summary.packets += 1;
                        let frac = u64::from(b.ts_usec);
                        let frame = Frame {
                            n: summary.packets,
                            ts: stamp(&legacy, i64::from(b.ts_sec), frac),
                            linktype: legacy.linktype,
                            iface: None,
                            len: b.origlen,
                            data: clip(b.data, b.caplen),
                        };
                        Some(each(&frame)?)
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                        summary.format = Some(Format::Pcapng);
                        big_endian = shb.big_endian();
                        // interface numbers restart in every section
                        ifaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        let raw = idb.if_tsresol;
                        let (resolution, digits) = if raw & 0x80 == 0 {
                            let d = raw.min(19);
                            (10u64.pow(u32::from(d)), d.min(9))
                        } else {
                            let b = (raw & 0x7f).min(63);
                            // 2^-b s: about b * log10(2) decimal digits
                            (
                                1u64 << b,
                                u8::try_from((u32::from(b) * 30103).div_ceil(100_000))
                                    .unwrap_or(9)
                                    .min(9),
                            )
                        };
                        let iface = Iface {
                            linktype: linktype(idb.linktype.0),
                            resolution: resolution.max(1),
                            digits,
                            offset_secs: idb.if_tsoffset,
                        };
                        note_linktype(summary, iface.linktype);
                        // interfaces are kept up to a bound: a file of a
                        // million IDBs costs no more memory than this
                        if ifaces.len() < MAX_IFACES {
                            ifaces.push(iface);
                        }
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        summary.packets += 1;
                        let iface = ifaces.get(epb.if_id as usize).copied().unwrap_or_default();
                        let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let frame = Frame {
                            n: summary.packets,
                            ts: stamp(&iface, 0, ticks),
                            linktype: iface.linktype,
                            iface: Some(epb.if_id),
                            len: epb.origlen,
                            data: clip(epb.data, epb.caplen),
                        };
                        Some(each(&frame)?)
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        summary.packets += 1;
                        let iface = ifaces.first().copied().unwrap_or_default();
                        let frame = Frame {
                            n: summary.packets,
                            ts: Timestamp::default(),
                            linktype: iface.linktype,
                            iface: Some(0),
                            len: spb.origlen,
                            data: clip(spb.data, spb.origlen),
                        };
                        Some(each(&frame)?)
                    }
                    PcapBlockOwned::NG(Block::Unknown(u)) if u.block_type == 2 => {
                        // the obsolete Packet Block: if_id u16, drops u16,
                        // ts high, ts low, caplen, len, data
                        match obsolete_packet(u.data, big_endian) {
                            Some((if_id, ticks, caplen, len, data)) => {
                                summary.packets += 1;
                                let iface =
                                    ifaces.get(usize::from(if_id)).copied().unwrap_or_default();
                                let frame = Frame {
                                    n: summary.packets,
                                    ts: stamp(&iface, 0, ticks),
                                    linktype: iface.linktype,
                                    iface: Some(u32::from(if_id)),
                                    len,
                                    data: clip(data, caplen),
                                };
                                Some(each(&frame)?)
                            }
                            None => None,
                        }
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                rd.consume(off);
                summary.bytes = rd.consumed() as u64;
                if matches!(flow, Some(Flow::Stop)) {
                    stopped = true;
                }
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if rd.reader_exhausted() {
                    cut_short(summary, rd.data(), consumed, big_endian)?;
                    break;
                }
                rd.refill().map_err(|_| ReadError::Corrupt {
                    offset: consumed,
                    detail: "the input could not be read further".into(),
                })?;
            }
            Err(PcapError::UnexpectedEof) => {
                cut_short(summary, rd.data(), consumed, big_endian)?;
                break;
            }
            Err(PcapError::BufferTooSmall) => {
                let size = rd.data().len().max(INITIAL_BUFFER) * 2;
                if size > MAX_RECORD || !rd.grow(size) {
                    let detail = impossible_record(rd.data(), summary.format, big_endian)
                        .unwrap_or_else(|| {
                            format!("a record larger than {} MiB", MAX_RECORD >> 20)
                        });
                    return Err(ReadError::Corrupt {
                        offset: consumed,
                        detail,
                    });
                }
                rd.refill().map_err(|_| ReadError::Corrupt {
                    offset: consumed,
                    detail: "the input could not be read further".into(),
                })?;
            }
            Err(_) => {
                return Err(ReadError::Corrupt {
                    offset: consumed,
                    detail: describe_unreadable(rd.data(), summary.format, big_endian),
                })
            }
        }
    }
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// How many bytes the file header takes, from its first 12: a pcapng
/// section header block's own length (bounded), or pcap's 24.
fn header_length(first: &[u8]) -> usize {
    if word_at(first, 0, false) == Some(0x0A0D_0D0A) {
        let be = word_at(first, 8, true) == Some(0x1A2B_3C4D);
        word_at(first, 4, be).map_or(28, |l| (l as usize).clamp(28, 64 << 10))
    } else {
        24
    }
}

/// The file ends inside the record at `consumed`: a truncation, unless
/// the record's own length is impossible, which is corruption.
fn cut_short(
    summary: &mut ReadSummary,
    at: &[u8],
    consumed: u64,
    big_endian: bool,
) -> Result<(), ReadError> {
    if let Some(detail) = impossible_record(at, summary.format, big_endian) {
        return Err(ReadError::Corrupt {
            offset: consumed,
            detail,
        });
    }
    summary.truncated_at = Some(consumed);
    Ok(())
}

/// The link type proper: the upper bits of the field carry FCS
/// information (pcap's LT_FCS_* bits), which libpcap masks off too.
pub(crate) fn linktype(v: i32) -> u32 {
    u32::from_ne_bytes(v.to_ne_bytes()) & 0x03FF_FFFF
}

pub(crate) fn note_linktype(summary: &mut ReadSummary, lt: u32) {
    if !summary.linktypes.contains(&lt) {
        summary.linktypes.push(lt);
    }
}

/// The captured bytes, trimmed to caplen (pcapng pads to 4 bytes).
fn clip(data: &[u8], caplen: u32) -> &[u8] {
    &data[..data.len().min(caplen as usize)]
}

fn stamp(iface: &Iface, base_secs: i64, ticks: u64) -> Timestamp {
    // every term comes from the file: checked, saturating at the ends of
    // the i64 range rather than wrapping (if_tsoffset may be anything)
    let res = iface.resolution.max(1);
    let secs = base_secs
        .saturating_add(iface.offset_secs)
        .saturating_add(i64::try_from(ticks / res).unwrap_or(i64::MAX));
    let frac = u128::from(ticks % res);
    let nanos = u32::try_from(frac * 1_000_000_000 / u128::from(res)).unwrap_or(0);
    Timestamp {
        secs,
        nanos,
        digits: iface.digits,
    }
}

/// The 32-bit word at `i`, in the file's byte order (None past the end).
fn word_at(at: &[u8], i: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = at.get(i..i.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// What the bytes at a record that cannot be read whole say about it: a
/// length no record may have is corruption (in words, for the user);
/// anything else is a record the file cuts short (`None`).
pub(crate) fn impossible_record(
    at: &[u8],
    format: Option<Format>,
    big_endian: bool,
) -> Option<String> {
    let word = |i: usize| word_at(at, i, big_endian);
    match format {
        Some(Format::Pcap) => {
            let caplen = word(8)?;
            (caplen as usize > MAX_RECORD).then(|| {
                format!(
                    "a record claims {caplen} captured bytes, over the limit of {} MiB",
                    MAX_RECORD >> 20
                )
            })
        }
        Some(Format::Pcapng) => {
            let (kind, len) = (word(0)?, word(4)?);
            if len < 12 || len % 4 != 0 {
                Some(format!(
                    "a {} has length {len} (a block length is a multiple of 4, at least 12)",
                    block_name(kind)
                ))
            } else if len as usize > MAX_RECORD {
                Some(format!(
                    "a {} claims {len} bytes, over the limit of {} MiB",
                    block_name(kind),
                    MAX_RECORD >> 20
                ))
            } else {
                None
            }
        }
        None => None,
    }
}

/// What the parser could not read at `at`, in words.
fn describe_unreadable(at: &[u8], format: Option<Format>, big_endian: bool) -> String {
    if let Some(why) = impossible_record(at, format, big_endian) {
        return why;
    }
    let word = |i: usize| word_at(at, i, big_endian);
    match (format, word(0), word(4)) {
        (Some(Format::Pcapng), Some(kind), Some(len)) => {
            let trailer = word(len as usize - 4);
            match trailer {
                Some(t) if t != len => format!(
                    "a {} of {len} bytes ends with the length {t} (the two must agree)",
                    block_name(kind)
                ),
                _ => format!(
                    "a {} of {len} bytes whose fields do not fit inside it",
                    block_name(kind)
                ),
            }
        }
        (Some(Format::Pcap), _, _) => "a record header that cannot be read".into(),
        _ => "data that is neither a pcap record nor a pcapng block".into(),
    }
}

/// A pcapng block type by name.
fn block_name(kind: u32) -> String {
    match kind {
        0x0A0D_0D0A => "section header block".into(),
        1 => "interface description block".into(),
        2 => "packet block".into(),
        3 => "simple packet block".into(),
        4 => "name resolution block".into(),
        5 => "interface statistics block".into(),
        6 => "enhanced packet block".into(),
        other => format!("block of type 0x{other:08x}"),
    }
}

type Obsolete<'a> = (u16, u64, u32, u32, &'a [u8]);

fn obsolete_packet(body: &[u8], big_endian: bool) -> Option<Obsolete<'_>> {
    let u16_at = |i: usize| -> Option<u16> {
        let b: [u8; 2] = body.get(i..i + 2)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = body.get(i..i + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let if_id = u16_at(0)?;
    let ticks = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
    let caplen = u32_at(12)?;
    let len = u32_at(16)?;
    let data = body.get(20..)?;
    Some((if_id, ticks, caplen, len, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Got = Vec<(u64, Timestamp, u32, Option<u32>, u32, Vec<u8>)>;

    fn collect(bytes: &[u8]) -> (Result<ReadSummary, ReadError>, Got) {
        let mut got = Vec::new();
        let r = read_frames(bytes, |f| {
            got.push((f.n, f.ts, f.linktype, f.iface, f.len, f.data.to_vec()));
            Ok(Flow::Continue)
        });
        (r, got)
    }

    fn pcap(big_endian: bool, nano: bool, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut b = Vec::new();
        b.extend_from_slice(&w32(if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        b.extend_from_slice(&w16(2));
        b.extend_from_slice(&w16(4));
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&w32(65535));
        b.extend_from_slice(&w32(1));
        for (s, frac, data) in records {
            b.extend_from_slice(&w32(*s));
            b.extend_from_slice(&w32(*frac));
            b.extend_from_slice(&w32(data.len() as u32));
            b.extend_from_slice(&w32(data.len() as u32 + 10));
            b.extend_from_slice(data);
        }
        b
    }

    #[test]
    fn pcap_both_orders_and_resolutions() {
        for be in [false, true] {
            for nano in [false, true] {
                let b = pcap(
                    be,
                    nano,
                    &[(1_700_000_000, 123, b"abc"), (1_700_000_001, 999, b"")],
                );
                let (r, got) = collect(&b);
                let s = r.unwrap();
                assert_eq!(
                    (s.format, s.packets, s.truncated_at),
                    (Some(Format::Pcap), 2, None)
                );
                assert_eq!(got[0].1.secs, 1_700_000_000);
                assert_eq!(got[0].1.nanos, if nano { 123 } else { 123_000 });
                assert_eq!(got[0].1.digits, if nano { 9 } else { 6 });
                assert_eq!((got[0].2, got[0].3, got[0].4), (1, None, 13));
                assert_eq!(got[0].5, b"abc");
            }
        }
    }

    #[test]
    fn cut_files_report_where_they_end() {
        let b = pcap(false, false, &[(1, 0, b"first"), (2, 0, b"second")]);
        for cut in [b.len() - 1, b.len() - 7, 24 + 16 + 5 + 3] {
            let (r, got) = collect(&b[..cut]);
            let s = r.unwrap();
            assert_eq!(got.len(), 1, "cut at {cut}");
            assert_eq!(s.truncated_at, Some(24 + 16 + 5), "cut at {cut}");
        }
        let (r, got) = collect(&b[..10]);
        assert!(
            matches!(r, Err(ReadError::Corrupt { offset: 0, .. })),
            "{r:?}"
        );
        assert!(got.is_empty());
        let (r, _) = collect(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(matches!(r, Err(ReadError::NotACapture { .. })), "{r:?}");
        let (r, got) = collect(b"");
        assert_eq!((r.unwrap().packets, got.len()), (0, 0));
    }

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let total = (body.len() + 12) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(&body);
        b.extend_from_slice(&total.to_le_bytes());
        b
    }

    fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&65535u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&[9, 0, 1, 0, r, 0, 0, 0]);
        }
        body.extend_from_slice(&[0, 0, 0, 0]);
        block(1, &body)
    }

    fn shb() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        block(0x0A0D_0D0A, &body)
    }

    fn epb(if_id: u32, ticks: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ticks as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(6, &body)
    }

    #[test]
    fn pcapng_sections_interfaces_and_resolutions() {
        let mut b = shb();
        b.extend(idb(1, Some(9)));
        b.extend(idb(101, None));
        b.extend(epb(0, 1_700_000_000_123_456_789, b"ns"));
        b.extend(epb(1, 1_700_000_000_654_321, b"us"));
        // a Simple Packet Block (interface 0) and the obsolete Packet Block
        let mut spb = 3u32.to_le_bytes().to_vec();
        spb.extend_from_slice(b"spb");
        b.extend(block(3, &spb));
        let mut pb = Vec::new();
        pb.extend_from_slice(&1u16.to_le_bytes());
        pb.extend_from_slice(&0u16.to_le_bytes());
        let ticks: u64 = 5_000_001;
        pb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        pb.extend_from_slice(&(ticks as u32).to_le_bytes());
        pb.extend_from_slice(&2u32.to_le_bytes());
        pb.extend_from_slice(&2u32.to_le_bytes());
        pb.extend_from_slice(b"pb");
        b.extend(block(2, &pb));
        // a second section: interface numbers restart
        b.extend(shb());
        b.extend(idb(113, Some(3)));
        b.extend(epb(0, 42_001, b"ms"));
        let (r, got) = collect(&b);
        let s = r.unwrap();
        assert_eq!((s.format, s.packets), (Some(Format::Pcapng), 5));
        assert_eq!(s.linktypes, vec![1, 101, 113]);
        assert_eq!(
            got[0].1,
            Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_789,
                digits: 9
            }
        );
        assert_eq!(
            (got[0].2, got[0].3, got[0].5.as_slice()),
            (1, Some(0), &b"ns"[..])
        );
        assert_eq!(
            got[1].1,
            Timestamp {
                secs: 1_700_000_000,
                nanos: 654_321_000,
                digits: 6
            }
        );
        assert_eq!(got[1].2, 101);
        assert_eq!((got[2].2, got[2].5.as_slice()), (1, &b"spb"[..]));
        assert_eq!(
            (got[3].2, got[3].3, got[3].1.secs, got[3].1.nanos),
            (101, Some(1), 5, 1_000)
        );
        assert_eq!(
            (got[4].2, got[4].1.secs, got[4].1.nanos, got[4].1.digits),
            (113, 42, 1_000_000, 3)
        );
    }
}
