//! Text from outside (packets, servers, peers) made safe for a terminal.
//!
//! Every human view writes strings that came off the wire through this
//! module, and only through it: C0 control characters (newline and tab
//! included), DEL, C1 controls and the Unicode bidirectional overrides
//! become visible escapes (`\x1b`, `\n`, `\u{202e}`), so a hostile TXT
//! record, HTTP host or file name can neither move the cursor, retitle or
//! clear the terminal, forge an extra output line, nor reorder what is
//! shown. Invalid UTF-8 never gets here: decoders turn it into U+FFFD or
//! `\DDD` escapes first. JSON output needs none of this (serde escapes
//! control characters).

use std::borrow::Cow;
use std::fmt;

/// Whether a character must not reach a terminal as it is.
#[inline]
fn unsafe_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // bidirectional embeddings, overrides and isolates
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Whether a string can be shown as it is (the common case, checked a byte
/// at a time: every unsafe character starts with a byte below 0x20, 0x7f,
/// 0xc2 (C1), 0xd8 (U+061C) or 0xe2 (U+200E.., U+202A.., U+2066..).
#[inline]
pub fn is_clean(s: &str) -> bool {
    let b = s.as_bytes();
    if b.iter().all(|&x| (0x20..0x7f).contains(&x)) {
        return true;
    }
    !s.chars().any(unsafe_char)
}

/// Appends `s` to `out` with every unsafe character escaped.
pub fn push_escaped(out: &mut String, s: &str) {
    if is_clean(s) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        if unsafe_char(c) {
            escape_char(out, c);
        } else {
            out.push(c);
        }
    }
}

fn escape_char(out: &mut String, c: char) {
    use fmt::Write;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` with every unsafe character escaped (borrowed when it is clean).
pub fn esc(s: &str) -> Cow<'_, str> {
    if is_clean(s) {
        Cow::Borrowed(s)
    } else {
        let mut out = String::with_capacity(s.len() + 8);
        push_escaped(&mut out, s);
        Cow::Owned(out)
    }
}

/// `s` escaped line by line: our own multi-line messages (a filter error
/// with its caret line) keep their line breaks, anything else is escaped.
pub fn esc_lines(s: &str) -> Cow<'_, str> {
    if is_clean(s) || s.split('\n').all(is_clean) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(esc).collect();
    Cow::Owned(lines.join("\n"))
}

/// Displays a string escaped, for `format!` and `write!`.
#[derive(Debug, Clone, Copy)]
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_clean(self.0) {
            // padding and alignment as for a plain string
            return f.pad(self.0);
        }
        f.pad(&esc(self.0))
    }
}

/// Bytes from a peer as text: valid UTF-8 escaped as above, any invalid
/// byte as `\xNN`.
pub fn esc_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for x in chunk.invalid() {
            use fmt::Write;
            let _ = write!(out, "\\x{x:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings that attack a terminal, as a hostile peer would send them.
    pub const HOSTILE: &[&str] = &[
        "\x1b]0;owned\x07\x1b[2J",
        "line\n2024-01-01 forged packet line",
        "bell\x07 and back\x08space\r",
        "\u{9b}31m C1 CSI",
        "bidi \u{202e}txt.exe",
        "tab\there\x7f",
    ];

    #[test]
    fn nothing_unsafe_survives() {
        for h in HOSTILE {
            let e = esc(h);
            assert!(!e.chars().any(unsafe_char), "{h:?} -> {e:?}");
            assert!(!e.contains('\n') && !e.contains('\x1b'), "{e:?}");
        }
        assert_eq!(esc("\x1b]0;t\x07"), "\\x1b]0;t\\x07");
        assert_eq!(esc("a\nb"), "a\\nb");
        assert_eq!(esc("\u{202e}x"), "\\u{202e}x");
        assert_eq!(esc_bytes(b"ok\xff\x1b"), "ok\\xff\\x1b");
    }

    #[test]
    fn clean_text_is_borrowed_and_unchanged() {
        for s in ["example.com", "müller.de", "日本.jp", "v=spf1 -all", ""] {
            assert!(matches!(esc(s), Cow::Borrowed(_)), "{s}");
        }
        assert_eq!(format!("[{:<6}]", Esc("ab")), "[ab    ]");
        assert_eq!(format!("[{:<6}]", Esc("a\nb")), "[a\\nb  ]");
    }
}
