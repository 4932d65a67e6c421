//! JSON output byte-identical to Go's `encoding/json` `Marshal` (Go >= 1.22).
//!
//! Attestation user data and every relay result are hashed or compared byte for byte by Go
//! peers, so our JSON must be written the way Go writes it: compact, and with Go's string
//! escaping. serde_json already matches Go for `"`, `\`, the short escapes (`\b \f \n \r \t`)
//! and `\u00XX` (lowercase) for other control characters; Go additionally escapes `<`, `>`, `&`
//! and U+2028 / U+2029 (HTML-safe output), which [`GoFormatter`] adds. Everything else,
//! including `/`, DEL and non-ASCII, is written raw, as in Go.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// A serde_json formatter that escapes strings exactly as Go's `encoding/json` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let mut start = 0;
        for (index, ch) in fragment.char_indices() {
            let escape: &[u8] = match ch {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(fragment.as_bytes().get(start..index).unwrap_or_default())?;
            writer.write_all(escape)?;
            start = index + ch.len_utf8();
        }
        writer.write_all(fragment.as_bytes().get(start..).unwrap_or_default())
    }
}

/// Serializes `value` compactly with Go's escaping.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, value)?;
    Ok(out)
}

/// Appends `value`, serialized compactly with Go's escaping, to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), serde_json::Error> {
    let mut serializer = serde_json::Serializer::with_formatter(out, GoFormatter);
    value.serialize(&mut serializer)
}

/// Serializes `value` with Go's escaping into a raw JSON value (for a JSON-RPC `result`).
pub fn to_raw_value<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Box<serde_json::value::RawValue>, serde_json::Error> {
    let bytes = to_vec(value)?;
    // Our own serializer only emits UTF-8; a failure here would surface as a serde error.
    let text = String::from_utf8(bytes).map_err(serde::ser::Error::custom)?;
    serde_json::value::RawValue::from_string(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let input = "a<b>&c\u{2028}\u{2029}\u{8}\u{c}\n\r\t\"\\\u{1}\u{7f}/é😀";
        let out = String::from_utf8(to_vec(input).unwrap()).unwrap();
        assert_eq!(
            out,
            "\"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\\b\\f\\n\\r\\t\\\"\\\\\\u0001\u{7f}/é😀\""
        );
    }
}
