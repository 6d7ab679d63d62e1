//! TCP options (RFC 9293 3.1, RFC 7323, RFC 2018).
//!
//! ```text
//! kind 0 end of list | kind 1 no-op | kind 2 len 4 MSS u16
//! kind 3 len 3 window scale u8 | kind 4 len 2 SACK permitted
//! kind 5 len 2+8n SACK blocks (left, right u32) | kind 8 len 10 timestamps (TSval, TSecr u32)
//! ```

use super::be32;

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption {
    /// End of option list (kind 0).
    End,
    /// No-operation padding (kind 1).
    Nop,
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift.
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks: up to four (left, right) edges; `count` are valid.
    Sack {
        /// The blocks.
        blocks: [(u32, u32); 4],
        /// How many of them are present.
        count: u8,
    },
    /// Timestamps.
    Timestamps {
        /// TSval.
        value: u32,
        /// TSecr.
        echo: u32,
    },
    /// Any other kind, with its length.
    Other {
        /// The kind byte.
        kind: u8,
        /// The length byte (including kind and length).
        len: u8,
    },
}

/// An option list that stops being valid at `offset` (bytes into the
/// options): a length that runs past the end or is too short for its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadOption {
    /// Offset of the option within the options area.
    pub offset: usize,
    /// The kind byte.
    pub kind: u8,
}

/// Iterates over the options of a TCP header (the bytes after the fixed 20).
#[derive(Debug, Clone)]
pub struct Options<'a> {
    b: &'a [u8],
    i: usize,
    done: bool,
}

/// Starts iterating over `options`.
pub fn options(options: &[u8]) -> Options<'_> {
    Options {
        b: options,
        i: 0,
        done: false,
    }
}

impl Iterator for Options<'_> {
    type Item = Result<TcpOption, BadOption>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.i >= self.b.len() {
            return None;
        }
        let start = self.i;
        let kind = self.b[start];
        let bad = BadOption {
            offset: start,
            kind,
        };
        match kind {
            0 => {
                // the rest is padding
                self.done = true;
                return Some(Ok(TcpOption::End));
            }
            1 => {
                self.i += 1;
                return Some(Ok(TcpOption::Nop));
            }
            _ => {}
        }
        let Some(&len) = self.b.get(start + 1) else {
            self.done = true;
            return Some(Err(bad));
        };
        let end = start + usize::from(len);
        if len < 2 || end > self.b.len() {
            self.done = true;
            return Some(Err(bad));
        }
        let body = &self.b[start + 2..end];
        self.i = end;
        let opt = match (kind, body.len()) {
            (2, 2) => TcpOption::Mss(u16::from_be_bytes([body[0], body[1]])),
            (3, 1) => TcpOption::WindowScale(body[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n % 8 == 0 && n > 0 && n <= 32 => {
                let mut blocks = [(0, 0); 4];
                for (k, blk) in blocks.iter_mut().enumerate().take(n / 8) {
                    *blk = (be32(body, k * 8), be32(body, k * 8 + 4));
                }
                TcpOption::Sack {
                    blocks,
                    count: u8::try_from(n / 8).unwrap_or(4),
                }
            }
            (8, 8) => TcpOption::Timestamps {
                value: be32(body, 0),
                echo: be32(body, 4),
            },
            (2 | 3 | 4 | 5 | 8, _) => {
                self.done = true;
                return Some(Err(bad));
            }
            _ => TcpOption::Other { kind, len },
        };
        Some(Ok(opt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MSS 1460, SACK permitted, timestamps, NOP, window scale 7: a Linux SYN.
    const SYN: [u8; 20] = [
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, // TSval 42, TSecr 0
        0x01, // NOP
        0x03, 0x03, 0x07, // window scale 7
    ];

    #[test]
    fn linux_syn_options() {
        let got: Vec<_> = options(&SYN).collect();
        assert_eq!(
            got,
            vec![
                Ok(TcpOption::Mss(1460)),
                Ok(TcpOption::SackPermitted),
                Ok(TcpOption::Timestamps { value: 42, echo: 0 }),
                Ok(TcpOption::Nop),
                Ok(TcpOption::WindowScale(7)),
            ]
        );
    }

    #[test]
    fn sack_blocks_and_padding() {
        let b = [1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0xff, 0xff];
        let got: Vec<_> = options(&b).collect();
        let mut blocks = [(0, 0); 4];
        blocks[0] = (1, 9);
        assert_eq!(got[2], Ok(TcpOption::Sack { blocks, count: 1 }));
        assert_eq!(got[3], Ok(TcpOption::End));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn every_cut_is_an_error_never_a_panic() {
        for n in 0..SYN.len() {
            let got: Vec<_> = options(&SYN[..n]).collect();
            assert!(got.len() <= 5);
        }
        assert_eq!(
            options(&[2, 4, 5]).next(),
            Some(Err(BadOption { offset: 0, kind: 2 }))
        );
        assert_eq!(
            options(&[3, 1]).next(),
            Some(Err(BadOption { offset: 0, kind: 3 }))
        );
        assert_eq!(
            options(&[2, 3, 0]).next(),
            Some(Err(BadOption { offset: 0, kind: 2 }))
        );
        assert_eq!(
            options(&[30, 3, 9]).next(),
            Some(Ok(TcpOption::Other { kind: 30, len: 3 }))
        );
    }
}
