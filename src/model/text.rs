//! Fast text forms of numbers and addresses for the hot output paths
//! (the summary line and JSON): `core::fmt` costs most of a packet's time
//! otherwise. Every function appends to a `String` or fills a stack buffer.

use std::net::Ipv4Addr;

use serde::Serializer;

/// Somewhere text can be appended as ASCII bytes: a `String`, or the byte
/// buffers of the hot output paths (which skip UTF-8 checks).
pub trait Put {
    /// Appends ASCII bytes.
    fn put(&mut self, b: &[u8]);

    /// Appends the first `len` bytes of a stack buffer. Byte buffers copy
    /// all `N` bytes (a fixed-size copy the compiler inlines) and cut the
    /// tail off again, which is cheaper than a `memcpy` call of a
    /// variable length for the short pieces of a summary line.
    #[inline]
    fn put_fixed<const N: usize>(&mut self, b: &[u8; N], len: usize) {
        self.put(&b[..len.min(N)]);
    }
}

impl Put for Vec<u8> {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }

    #[inline]
    fn put_fixed<const N: usize>(&mut self, b: &[u8; N], len: usize) {
        let end = self.len() + len.min(N);
        self.extend_from_slice(b);
        self.truncate(end);
    }
}

impl Put for String {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        // callers put ASCII only
        self.push_str(std::str::from_utf8(b).unwrap_or(""));
    }
}

/// Appends `v` in decimal.
#[inline]
pub fn push_u64<P: Put>(s: &mut P, v: u64) {
    if let Ok(small) = u32::try_from(v) {
        let (d, n) = u32_text(small, 0);
        s.put_fixed(&d, n);
        return;
    }
    let mut buf = [0u8; 20];
    let n = u64_digits(&mut buf, v);
    s.put_fixed(&buf, n);
}

/// "00" "01" ... "99": two digits a step, as itoa does.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The same pairs, indexable by `0..100` without a bounds check.
const PAIR: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [PAIRS[i * 2], PAIRS[i * 2 + 1]];
        i += 1;
    }
    t
};

const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Eight decimal digits of `v` (< 10^8, zero-padded) as ASCII, the first
/// digit in the lowest byte: all eight at once in one register (SWAR),
/// halving into 4-, 2- and 1-digit lanes with multiply-shift divisions
/// that are exact for the lane ranges (checked exhaustively in the tests).
#[inline]
fn swar8(v: u32) -> u64 {
    let x = u64::from(v);
    let hi = x / 10_000;
    // lanes of 32 bits: the first four digits low, the last four high
    let y = hi | ((x - hi * 10_000) << 32);
    // n / 100 for n < 10^4 in each lane
    let z = ((y * 10_486) >> 20) & 0x0000_007F_0000_007F;
    // lanes of 16 bits: four pairs, in order
    let w = z | ((y - z * 100) << 16);
    // n / 10 for n < 100 in each lane
    let t = ((w * 103) >> 10) & 0x000F_000F_000F_000F;
    (t | ((w - t * 10) << 8)) | 0x3030_3030_3030_3030
}

/// `v` in decimal, at least `width` digits (zero-padded, `width <= 10`),
/// at the start of a 16-byte buffer; returns the buffer and the length.
/// Branch-free but for the size class: the digits are made at once in a
/// register ([`swar8`]), then the leading zeros are shifted out.
#[inline]
pub fn u32_text(v: u32, width: usize) -> ([u8; 16], usize) {
    // digits: floor(log10(v)) + 1, from the bit length
    let bits = 32 - (v | 1).leading_zeros();
    let t = ((bits * 1233) >> 12).min(9) as usize;
    let len = (t + usize::from(v >= POW10[t])).max(1).max(width.min(10));
    let mut out = [0u8; 16];
    if len <= 8 {
        let x = swar8(v) >> ((8 - len) * 8);
        out[..8].copy_from_slice(&x.to_le_bytes());
        return (out, len);
    }
    let hi = v / 100_000_000;
    let lo = v - hi * 100_000_000;
    let x = u128::from(u16::from_le_bytes(PAIR[hi as usize])) | (u128::from(swar8(lo)) << 16);
    ((x >> ((10 - len) * 8)).to_le_bytes(), len)
}

/// Writes `v` in decimal at the start of `buf`; returns the length. For
/// values beyond `u32` (the rare case): a pair at a time from the end.
fn u64_digits(buf: &mut [u8; 20], v: u64) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut v = v;
    while v >= 100 {
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&PAIR[(v % 100) as usize]);
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&PAIR[v as usize]);
    } else {
        i -= 1;
        tmp[i] = b'0' + v as u8;
    }
    let len = tmp.len() - i;
    buf[..len].copy_from_slice(&tmp[i..]);
    len
}

/// The decimal text of every octet, padded to four bytes, with its length.
const OCTETS: [([u8; 4], u8); 256] = {
    let mut t = [([0u8; 4], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let v = i as u8;
        t[i] = if v >= 100 {
            ([b'0' + v / 100, b'0' + (v / 10) % 10, b'0' + v % 10, 0], 3)
        } else if v >= 10 {
            ([b'0' + v / 10, b'0' + v % 10, 0, 0], 2)
        } else {
            ([b'0' + v, 0, 0, 0], 1)
        };
        i += 1;
    }
    t
};

/// Dotted quad into a stack buffer; returns the used length (7..=15).
#[inline]
pub fn ipv4_text(a: Ipv4Addr, out: &mut [u8; 15]) -> usize {
    // four fixed-size copies from a table, then the dots
    let mut buf = [0u8; 19];
    let mut n = 0;
    for (k, o) in a.octets().iter().enumerate() {
        let (digits, len) = OCTETS[usize::from(*o)];
        buf[n..n + 4].copy_from_slice(&digits);
        n += usize::from(len);
        if k < 3 {
            buf[n] = b'.';
            n += 1;
        }
    }
    out.copy_from_slice(&buf[..15]);
    n
}

/// Appends a dotted quad.
#[inline]
pub fn push_ipv4<P: Put>(s: &mut P, a: Ipv4Addr) {
    let mut buf = [0u8; 15];
    let n = ipv4_text(a, &mut buf);
    s.put_fixed(&buf, n);
}

/// serde `serialize_with` for an IPv4 address, without `core::fmt`.
pub fn ser_ipv4<S: Serializer>(a: &Ipv4Addr, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 15];
    let n = ipv4_text(*a, &mut buf);
    s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or(""))
}

/// serde `serialize_with` for an optional IPv4 address.
pub fn ser_opt_ipv4<S: Serializer>(a: &Option<Ipv4Addr>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => ser_ipv4(a, s),
        None => s.serialize_none(),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// An IPv6 address as `std`'s `Display` writes it (RFC 5952: lowercase,
/// no leading zeros, the longest run of two or more zero groups as `::`,
/// the first on a tie; IPv4-mapped addresses end in a dotted quad), into a
/// stack buffer. Returns the used length.
pub fn ipv6_text(a: std::net::Ipv6Addr, out: &mut [u8; 45]) -> usize {
    let g = a.segments();
    let mut n = 0;
    if let Some(v4) = a.to_ipv4_mapped() {
        out[..7].copy_from_slice(b"::ffff:");
        let mut q = [0u8; 15];
        let k = ipv4_text(v4, &mut q);
        out[7..7 + k].copy_from_slice(&q[..k]);
        return 7 + k;
    }
    // the longest run of zero groups (length >= 2)
    let (mut best, mut best_len, mut cur, mut cur_len) = (8, 0, 0, 0);
    for (i, &x) in g.iter().enumerate() {
        if x == 0 {
            if cur_len == 0 {
                cur = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                best = cur;
                best_len = cur_len;
            }
        } else {
            cur_len = 0;
        }
    }
    if best_len < 2 {
        best = 8;
    }
    let mut i = 0;
    while i < 8 {
        if i == best {
            out[n] = b':';
            out[n + 1] = b':';
            n += 2;
            i += best_len;
            continue;
        }
        if i > 0 && i != best + best_len {
            out[n] = b':';
            n += 1;
        }
        let x = g[i];
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = (x >> shift) & 15;
            if d != 0 || started || shift == 0 {
                out[n] = HEX[usize::from(d)];
                n += 1;
                started = true;
            }
        }
        i += 1;
    }
    n
}

/// Appends an IPv6 address (as `Display` writes it).
#[inline]
pub fn push_ipv6<P: Put>(s: &mut P, a: std::net::Ipv6Addr) {
    let mut buf = [0u8; 45];
    let n = ipv6_text(a, &mut buf);
    s.put_fixed(&buf, n);
}

/// A MAC address from `aa:bb:cc:dd:ee:ff` or `aa-bb-...` (one or two hex
/// digits a part).
pub fn parse_mac(t: &str) -> Option<[u8; 6]> {
    let mut m = [0u8; 6];
    let mut parts = t.split([':', '-']);
    for byte in &mut m {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(m)
}

/// `aa:bb:cc:dd:ee:ff` into a stack buffer.
#[inline]
pub fn mac_text(m: &[u8; 6]) -> [u8; 17] {
    let mut out = [b':'; 17];
    for (i, b) in m.iter().enumerate() {
        out[i * 3] = HEX[usize::from(b >> 4)];
        out[i * 3 + 1] = HEX[usize::from(b & 15)];
    }
    out
}

/// Appends a MAC address.
#[inline]
pub fn push_mac<P: Put>(s: &mut P, m: &[u8; 6]) {
    s.put(&mac_text(m));
}

/// Appends `0x` and four hex digits.
#[inline]
pub fn push_hex4<P: Put>(s: &mut P, v: u16) {
    let mut b = *b"0x0000";
    for (k, shift) in [12, 8, 4, 0].into_iter().enumerate() {
        b[2 + k] = HEX[usize::from((v >> shift) & 15)];
    }
    s.put(&b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_like_display() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut cases: Vec<std::net::Ipv6Addr> = [
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "fe80::1:2:3:4",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "1:0:2:0:3:0:4:0",
            "0:0:1:0:0:0:0:0",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8:0:1::",
            "64:ff9b::c000:201",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        for _ in 0..20_000 {
            // random groups, many of them zero
            let mut g = [0u16; 8];
            for v in &mut g {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = if x.is_multiple_of(3) {
                    (x >> 20) as u16
                } else {
                    0
                };
            }
            cases.push(std::net::Ipv6Addr::from(g));
        }
        for a in cases {
            let mut s = String::new();
            push_ipv6(&mut s, a);
            assert_eq!(s, a.to_string(), "{:?}", a.segments());
        }
    }

    #[test]
    fn numbers_and_addresses() {
        let mut s = String::new();
        for v in [
            0u64,
            7,
            10,
            99,
            100,
            101,
            255,
            1000,
            65535,
            4_294_967_295,
            u64::MAX,
        ] {
            s.clear();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
        for a in ["0.0.0.0", "255.255.255.255", "192.0.2.10", "10.100.9.1"] {
            s.clear();
            push_ipv4(&mut s, a.parse().unwrap());
            assert_eq!(s, a);
        }
        s.clear();
        push_mac(&mut s, &[0, 0x1b, 0xff, 0xa0, 1, 2]);
        assert_eq!(s, "00:1b:ff:a0:01:02");
        s.clear();
        push_hex4(&mut s, 0x86dd);
        assert_eq!(s, "0x86dd");
    }

    #[test]
    fn every_digit_count_and_width_matches_std() {
        // each power of ten, one either side, the limits, and a walk
        let mut vals: Vec<u64> = vec![0, 1, 9, u64::from(u32::MAX), u64::from(u32::MAX) + 1];
        for p in 0..20u32 {
            let t = 10u64.pow(p);
            vals.extend([t - 1, t, t + 1]);
        }
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            vals.push(x >> (x % 64));
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for v in vals {
            a.clear();
            push_u64(&mut a, v);
            assert_eq!(a, v.to_string().as_bytes());
            if let Ok(small) = u32::try_from(v) {
                for w in 0..=10 {
                    let (d, n) = u32_text(small, w);
                    b.clear();
                    b.put_fixed(&d, n);
                    assert_eq!(b, format!("{small:0w$}").as_bytes(), "{small} width {w}");
                }
            }
        }
    }

    #[test]
    fn swar_lane_divisions_are_exact() {
        for n in 0..10_000u64 {
            assert_eq!((n * 10_486) >> 20, n / 100, "{n}");
        }
        for n in 0..100u64 {
            assert_eq!((n * 103) >> 10, n / 10, "{n}");
        }
        for v in (0..100_000_000u32).step_by(9_973).chain([0, 1, 99_999_999]) {
            assert_eq!(swar8(v).to_le_bytes(), *format!("{v:08}").as_bytes());
        }
    }

    #[test]
    fn macs_parse_in_both_spellings() {
        assert_eq!(parse_mac("02:00:5e:00:00:01"), Some([2, 0, 0x5e, 0, 0, 1]));
        assert_eq!(parse_mac("2-0-5E-0-0-1"), Some([2, 0, 0x5e, 0, 0, 1]));
        for bad in [
            "",
            "02:00:5e:00:00",
            "02:00:5e:00:00:01:02",
            "002:00:5e:00:00:01",
            "02::5e:00:00:01",
            "zz:00:5e:00:00:01",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
