//! Framing protocol v1: the bytes of a frame header (docs/protocol.md).
//!
//! ```text
//! | u32 big-endian: header length H | H bytes: JSON object, UTF-8 | header.size bytes: body |
//! ```
//!
//! Pure functions: a length prefix is checked against its limits, a
//! header's bytes become a [`Header`] or a [`FrameError`] with the code the
//! peer is told. Bodies never pass through here; they are streamed by the
//! I/O layer (`probe`).

use std::fmt;

use serde_json::{Map, Value};

/// The smallest header a frame may announce (`{}`).
pub const MIN_HEADER: u32 = 2;
/// The largest header a frame may announce.
pub const MAX_HEADER: u32 = 65536;
/// The protocol version this module speaks.
pub const VERSION: u64 = 1;

/// The `code` of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The header is not a JSON object, or lacks `op` or `size`.
    BadHeader,
    /// A header or body over the server's limit.
    TooLarge,
    /// An op the server does not know.
    UnsupportedOp,
    /// A `v` other than 1.
    UnsupportedVersion,
    /// No such file.
    NotFound,
    /// A name outside the root, or a command not allowed.
    Forbidden,
    /// The file exists and `overwrite` was not asked for.
    Exists,
    /// The body's SHA-256 is not the one announced.
    Checksum,
    /// The server is at its connection limit.
    Busy,
    /// The peer was idle too long, or a command ran too long.
    Timeout,
    /// The server failed (I/O); the message says how.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadHeader => "bad_header",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedOp => "unsupported_op",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Exists => "exists",
            ErrorCode::Checksum => "checksum",
            ErrorCode::Busy => "busy",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a frame (or a request in it) is refused, as the peer is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// The wire code.
    pub code: ErrorCode,
    /// One line for a person.
    pub message: String,
}

impl FrameError {
    /// A new error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
        }
    }

    /// The `error` frame header that reports this error, answering `id`.
    pub fn to_header(&self, id: Option<i64>) -> Header {
        let mut h = Header::new("error", 0)
            .with("code", self.code.as_str())
            .with("message", self.message.as_str());
        h.set_id(id);
        h
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for FrameError {}

/// Checks a length prefix: `H` must lie in `MIN_HEADER..=limit` (the limit
/// itself at most [`MAX_HEADER`]). Returns H as a length.
///
/// # Errors
/// `bad_header` for H below 2, `too_large` above the limit.
pub fn header_len(prefix: [u8; 4], limit: u32) -> Result<usize, FrameError> {
    let h = u32::from_be_bytes(prefix);
    let limit = limit.min(MAX_HEADER);
    if h < MIN_HEADER {
        return Err(FrameError::new(
            ErrorCode::BadHeader,
            format!("header length {h} is below the minimum of {MIN_HEADER}"),
        ));
    }
    if h > limit {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            format!("header length {h} is over the limit of {limit} bytes"),
        ));
    }
    usize::try_from(h).map_err(|_| FrameError::new(ErrorCode::TooLarge, "header length"))
}

/// A frame header: a JSON object with at least `op` and `size`.
///
/// The object is kept whole (in its original key order), so fields this
/// version does not know survive a round trip; the accessors read the ones
/// it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    fields: Map<String, Value>,
    op: String,
    size: u64,
}

impl Header {
    /// A header with `op` and `size` (and nothing else yet).
    pub fn new(op: &str, size: u64) -> Self {
        let mut fields = Map::new();
        fields.insert("op".into(), Value::from(op));
        fields.insert("size".into(), Value::from(size));
        Header {
            fields,
            op: op.to_owned(),
            size,
        }
    }

    /// Adds (or replaces) a field; `op` and `size` are set by [`Header::new`]
    /// and [`Header::set_size`], not here.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.set(key, value);
        self
    }

    /// Sets a field (see [`Header::with`]).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        if key != "op" && key != "size" {
            self.fields.insert(key.to_owned(), value.into());
        }
    }

    /// Sets the body length.
    pub fn set_size(&mut self, size: u64) {
        self.size = size;
        self.fields.insert("size".into(), Value::from(size));
    }

    /// Copies a request's `id` into this reply (nothing when it had none).
    pub fn set_id(&mut self, id: Option<i64>) {
        if let Some(id) = id {
            self.fields.insert("id".into(), Value::from(id));
        }
    }

    /// Parses the H bytes after a length prefix.
    ///
    /// # Errors
    /// `bad_header` when the bytes are not UTF-8 JSON, not an object, or
    /// `op` is not a string or `size` not an integer >= 0;
    /// `unsupported_version` for a `v` other than 1 (the error carries
    /// the size, so the caller can skip the body: see [`Header::parse_lenient`]).
    pub fn parse(bytes: &[u8]) -> Result<Header, FrameError> {
        let h = Self::parse_lenient(bytes)?;
        h.check_version()?;
        Ok(h)
    }

    /// Parses a header without checking its version, so that a caller can
    /// answer `unsupported_version` and still skip the body it announced.
    ///
    /// # Errors
    /// As [`Header::parse`], apart from the version.
    pub fn parse_lenient(bytes: &[u8]) -> Result<Header, FrameError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            FrameError::new(ErrorCode::BadHeader, format!("header is not JSON: {e}"))
        })?;
        let Value::Object(fields) = value else {
            return Err(FrameError::new(
                ErrorCode::BadHeader,
                format!("header is a JSON {}, not an object", kind(&value)),
            ));
        };
        let op = match fields.get("op") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                return Err(FrameError::new(
                    ErrorCode::BadHeader,
                    format!("\"op\" is a {}, not a string", kind(v)),
                ))
            }
            None => {
                return Err(FrameError::new(
                    ErrorCode::BadHeader,
                    "header has no \"op\"",
                ))
            }
        };
        let size = match fields.get("size") {
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                FrameError::new(
                    ErrorCode::BadHeader,
                    format!("\"size\" must be an integer >= 0, not {n}"),
                )
            })?,
            Some(v) => {
                return Err(FrameError::new(
                    ErrorCode::BadHeader,
                    format!("\"size\" is a {}, not an integer", kind(v)),
                ))
            }
            None => {
                return Err(FrameError::new(
                    ErrorCode::BadHeader,
                    "header has no \"size\"",
                ))
            }
        };
        Ok(Header { fields, op, size })
    }

    /// `unsupported_version` unless `v` is absent or 1.
    ///
    /// # Errors
    /// As said.
    pub fn check_version(&self) -> Result<(), FrameError> {
        match self.fields.get("v") {
            None => Ok(()),
            Some(v) if v.as_u64() == Some(VERSION) => Ok(()),
            Some(v) => Err(FrameError::new(
                ErrorCode::UnsupportedVersion,
                format!("version {v} is not supported (this server speaks 1)"),
            )),
        }
    }

    /// The operation.
    pub fn op(&self) -> &str {
        &self.op
    }

    /// The body length.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The request id, when it is an integer.
    pub fn id(&self) -> Option<i64> {
        self.fields.get("id").and_then(Value::as_i64)
    }

    /// A field, raw.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// An unsigned integer field.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.fields.get(key).and_then(Value::as_u64)
    }

    /// A boolean field (absent is false).
    pub fn flag(&self, key: &str) -> bool {
        self.fields
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The whole object.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The frame's first bytes: the length prefix and the JSON header.
    pub fn encode(&self) -> Vec<u8> {
        let json = serde_json::to_vec(&self.fields).unwrap_or_else(|_| b"{}".to_vec());
        let mut out = Vec::with_capacity(4 + json.len());
        let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&json);
        out
    }
}

/// A JSON value's kind, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Upper-cases ASCII letters in place (the `upper` transform; other bytes,
/// UTF-8 included, pass unchanged).
pub fn upper(bytes: &mut [u8]) {
    bytes.make_ascii_uppercase();
}

/// Lower-case hex of bytes (SHA-256 digests on the wire).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefix_bounds() {
        assert_eq!(header_len(2u32.to_be_bytes(), MAX_HEADER), Ok(2));
        assert_eq!(header_len(65536u32.to_be_bytes(), MAX_HEADER), Ok(65536));
        let e = header_len(1u32.to_be_bytes(), MAX_HEADER).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadHeader);
        let e = header_len(65537u32.to_be_bytes(), u32::MAX).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        let e = header_len(1000u32.to_be_bytes(), 999).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        assert!(e.message.contains("999"), "{e}");
    }

    #[test]
    fn header_round_trip_keeps_unknown_fields() {
        let h = Header::new("echo", 5).with("id", 7).with("x-extra", "kept");
        let bytes = h.encode();
        let len = header_len(bytes[..4].try_into().unwrap(), MAX_HEADER).unwrap();
        assert_eq!(len, bytes.len() - 4);
        let back = Header::parse(&bytes[4..]).unwrap();
        assert_eq!(back, h);
        assert_eq!((back.op(), back.size(), back.id()), ("echo", 5, Some(7)));
        assert_eq!(back.str("x-extra"), Some("kept"));
        // the wire form is the documented one, key order preserved
        assert_eq!(
            &bytes[4..],
            br#"{"op":"echo","size":5,"id":7,"x-extra":"kept"}"#
        );
    }

    #[test]
    fn bad_headers_say_why() {
        for (input, needle) in [
            (&b"not json"[..], "not JSON"),
            (b"[1,2]", "array"),
            (b"{\"size\":1}", "no \"op\""),
            (b"{\"op\":3,\"size\":1}", "\"op\" is a number"),
            (b"{\"op\":\"echo\"}", "no \"size\""),
            (b"{\"op\":\"echo\",\"size\":-1}", ">= 0"),
            (b"{\"op\":\"echo\",\"size\":1.5}", ">= 0"),
            (b"{\"op\":\"echo\",\"size\":\"3\"}", "string"),
            (b"\xff\xfe", "not JSON"),
        ] {
            let e = Header::parse(input).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadHeader, "{input:?}");
            assert!(e.message.contains(needle), "{input:?}: {e}");
        }
    }

    #[test]
    fn version_is_checked_but_size_survives() {
        assert!(Header::parse(br#"{"op":"ping","size":0,"v":1}"#).is_ok());
        let e = Header::parse(br#"{"op":"ping","size":3,"v":2}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedVersion);
        let lenient = Header::parse_lenient(br#"{"op":"ping","size":3,"v":2}"#).unwrap();
        assert_eq!(lenient.size(), 3);
    }

    #[test]
    fn error_frames_answer_the_id() {
        let h = FrameError::new(ErrorCode::Busy, "full").to_header(Some(9));
        assert_eq!(h.op(), "error");
        assert_eq!(h.str("code"), Some("busy"));
        assert_eq!(h.id(), Some(9));
        assert_eq!(h.size(), 0);
    }

    #[test]
    fn op_and_size_cannot_be_overwritten_by_set() {
        let h = Header::new("ok", 3).with("size", 99).with("op", "x");
        assert_eq!((h.op(), h.size()), ("ok", 3));
    }

    #[test]
    fn hex_and_upper() {
        assert_eq!(hex(&[0, 0xab, 0x7f]), "00ab7f");
        let mut b = *b"hello, w\xc3\xb6rld 42";
        upper(&mut b);
        assert_eq!(&b, b"HELLO, W\xc3\xb6RLD 42");
    }
}
