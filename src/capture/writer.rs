//! Writing captures: legacy pcap (microseconds, little-endian, as tcpdump
//! writes it) or pcapng (one section, one interface, nanoseconds), with
//! pcap-parser's serialisers. Records are written as they come, through a
//! buffer the caller flushes.

use std::io::{self, Write};

use pcap_parser::pcapng::{
    EnhancedPacketBlock, InterfaceDescriptionBlock, OptionCode, PcapNGOption, SectionHeaderBlock,
};
use pcap_parser::{Linktype, PcapHeader, ToVec};

use crate::model::packet::Timestamp;

/// Which container to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// Legacy pcap, microsecond timestamps.
    Pcap,
    /// pcapng, nanosecond timestamps.
    Pcapng,
}

/// A capture file being written.
pub struct CaptureWriter<W: Write> {
    out: W,
    format: OutFormat,
    snaplen: u32,
    /// Records written.
    pub written: u64,
}

fn gen_err(e: impl std::fmt::Debug) -> io::Error {
    io::Error::other(format!("serialising a capture block: {e:?}"))
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the file header (pcap) or the section and interface blocks
    /// (pcapng) for one interface of `linktype`.
    ///
    /// # Errors
    /// Write failures.
    pub fn new(
        mut out: W,
        format: OutFormat,
        linktype: u32,
        snaplen: u32,
        iface_name: &str,
    ) -> io::Result<Self> {
        let lt = Linktype(i32::try_from(linktype).unwrap_or(1));
        match format {
            OutFormat::Pcap => {
                let mut h = PcapHeader::new();
                h.snaplen = snaplen;
                h.network = lt;
                out.write_all(&h.to_vec().map_err(gen_err)?)?;
            }
            OutFormat::Pcapng => {
                let app = concat!("netray ", env!("CARGO_PKG_VERSION"));
                let mut shb = SectionHeaderBlock {
                    block_type: 0,
                    block_len1: 0,
                    bom: 0,
                    major_version: 1,
                    minor_version: 0,
                    section_len: -1,
                    options: vec![PcapNGOption {
                        code: OptionCode::ShbUserAppl,
                        len: app.len() as u16,
                        value: app.as_bytes().into(),
                    }],
                    block_len2: 0,
                };
                out.write_all(&shb.to_vec().map_err(gen_err)?)?;
                let name = iface_name.as_bytes();
                let mut idb = InterfaceDescriptionBlock {
                    block_type: 0,
                    block_len1: 0,
                    linktype: lt,
                    reserved: 0,
                    snaplen,
                    options: vec![PcapNGOption {
                        code: OptionCode::IfName,
                        len: u16::try_from(name.len()).unwrap_or(0),
                        value: name.into(),
                    }],
                    block_len2: 0,
                    if_tsresol: 9,
                    if_tsoffset: 0,
                };
                out.write_all(&idb.to_vec().map_err(gen_err)?)?;
            }
        }
        Ok(CaptureWriter {
            out,
            format,
            snaplen,
            written: 0,
        })
    }

    /// Appends one packet, cut to the snap length.
    ///
    /// # Errors
    /// Write failures.
    pub fn write(&mut self, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        let keep = data.len().min(self.snaplen as usize);
        let caplen = u32::try_from(keep).unwrap_or(u32::MAX);
        let origlen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let bytes = match self.format {
            OutFormat::Pcap => pcap_parser::LegacyPcapBlock {
                ts_sec: u32::try_from(ts.secs).unwrap_or(0),
                ts_usec: ts.nanos / 1000,
                caplen,
                origlen,
                data: &data[..keep],
            }
            .to_vec(),
            OutFormat::Pcapng => {
                let t = u64::try_from(ts.as_nanos()).unwrap_or(0);
                EnhancedPacketBlock {
                    block_type: 0,
                    block_len1: 0,
                    if_id: 0,
                    ts_high: (t >> 32) as u32,
                    ts_low: t as u32,
                    caplen,
                    origlen,
                    data: &data[..keep],
                    options: Vec::new(),
                    block_len2: 0,
                }
                .to_vec()
            }
        }
        .map_err(gen_err)?;
        self.out.write_all(&bytes)?;
        self.written += 1;
        Ok(())
    }

    /// Pushes what is buffered to the output (after each packet when the
    /// output is a pipe: `capture -w - | decode -` shows packets live, as
    /// `tcpdump -U -w -` does).
    ///
    /// # Errors
    /// Flush failures.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and hands back the writer.
    ///
    /// # Errors
    /// Flush failures.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::reader::{read_frames, Flow};

    fn roundtrip(format: OutFormat) {
        let frames: Vec<(Timestamp, Vec<u8>)> = (0..5u32)
            .map(|i| {
                (
                    Timestamp {
                        secs: 1_790_000_000 + i64::from(i),
                        nanos: 123_456_789 + i,
                        digits: 9,
                    },
                    vec![i as u8; 60 + i as usize * 7],
                )
            })
            .collect();
        let mut w = CaptureWriter::new(Vec::new(), format, 1, 80, "lan0").unwrap();
        for (ts, d) in &frames {
            w.write(*ts, d).unwrap();
        }
        assert_eq!(w.written, 5);
        let bytes = w.finish().unwrap();
        let mut got = Vec::new();
        let summary = read_frames(std::io::Cursor::new(bytes), |f| {
            got.push((f.ts, f.len, f.data.to_vec(), f.linktype));
            Ok(Flow::Continue)
        })
        .unwrap();
        assert!(summary.truncated_at.is_none());
        assert_eq!(got.len(), 5);
        for ((ts, d), (gts, glen, gdata, lt)) in frames.iter().zip(&got) {
            assert_eq!(*lt, 1);
            assert_eq!(*glen as usize, d.len());
            // snaplen 80 cuts the last two frames
            assert_eq!(gdata[..], d[..d.len().min(80)]);
            assert_eq!(gts.secs, ts.secs);
            match format {
                OutFormat::Pcap => assert_eq!(gts.nanos, ts.nanos / 1000 * 1000),
                OutFormat::Pcapng => assert_eq!(gts.nanos, ts.nanos),
            }
        }
    }

    #[test]
    fn pcap_reads_back() {
        roundtrip(OutFormat::Pcap);
    }

    #[test]
    fn pcapng_reads_back() {
        roundtrip(OutFormat::Pcapng);
    }
}
