//! A strict, borrowing CBOR reader for the subset Nitro documents use.
//!
//! It never allocates: strings are returned as slices of the input after checking the declared
//! length against the remaining bytes. It rejects the reserved additional-information values
//! 28-30, indefinite-length (chunked) strings, and nesting deeper than [`MAX_CBOR_DEPTH`].
//! Callers attach the field name to the [`Problem`]s it reports.

use super::error::Problem;
use super::limits::MAX_CBOR_DEPTH;

/// The CBOR break byte that ends indefinite-length arrays and maps.
const BREAK: u8 = 0xff;

/// One decoded data-item head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    /// Major type 2 with its declared length.
    Bytes(u64),
    /// Major type 3 with its declared length.
    Text(u64),
    /// Major type 4; `None` for indefinite length.
    Array(Option<u64>),
    /// Major type 5; `None` for indefinite length.
    Map(Option<u64>),
    /// Major type 6 with the tag number.
    Tag(u64),
    /// Major type 7: a simple value (false 20, true 21, null 22, undefined 23, ...).
    Simple(u8),
    /// Major type 7: a half, single or double float (its bytes skipped).
    Float,
    /// The break marker `0xff`.
    Break,
}

/// A cursor over borrowed CBOR input.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    /// The input not consumed yet.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether all input was consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Takes `n` bytes, or fails with `Truncated` without allocating.
    fn take(&mut self, n: usize) -> Result<&'a [u8], Problem> {
        if n > self.rest.len() {
            return Err(Problem::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Problem> {
        let (first, tail) = self.rest.split_first().ok_or(Problem::Truncated)?;
        self.rest = tail;
        Ok(*first)
    }

    fn argument(&mut self, info: u8) -> Result<u64, Problem> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(Problem::Reserved),
        };
        let bytes = self.take(width)?;
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// Whether the next byte is the break marker (without consuming it).
    pub(crate) fn at_break(&self) -> bool {
        self.rest.first() == Some(&BREAK)
    }

    /// Reads one data-item head.
    pub(crate) fn head(&mut self) -> Result<Head, Problem> {
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if (28..=30).contains(&info) {
            return Err(Problem::Reserved);
        }
        if info == 31 {
            return match major {
                2 | 3 => Err(Problem::ChunkedString),
                4 => Ok(Head::Array(None)),
                5 => Ok(Head::Map(None)),
                7 => Ok(Head::Break),
                _ => Err(Problem::Reserved),
            };
        }
        if major == 7 {
            return match info {
                0..=23 => Ok(Head::Simple(info)),
                // RFC 8949 3.3: a two-byte simple value below 32 is not well-formed.
                24 => match self.byte()? {
                    0..=31 => Err(Problem::Reserved),
                    value => Ok(Head::Simple(value)),
                },
                25 => self.take(2).map(|_| Head::Float),
                26 => self.take(4).map(|_| Head::Float),
                _ => self.take(8).map(|_| Head::Float),
            };
        }
        let arg = self.argument(info)?;
        Ok(match major {
            0 => Head::Uint(arg),
            1 => Head::Nint(arg),
            2 => Head::Bytes(arg),
            3 => Head::Text(arg),
            4 => Head::Array(Some(arg)),
            5 => Head::Map(Some(arg)),
            _ => Head::Tag(arg),
        })
    }

    /// The content of a string whose head declared `len` bytes.
    pub(crate) fn content(&mut self, len: u64) -> Result<&'a [u8], Problem> {
        let len = usize::try_from(len).map_err(|_| Problem::Truncated)?;
        self.take(len)
    }

    /// Reads a byte string.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Problem> {
        match self.head()? {
            Head::Bytes(len) => self.content(len),
            _ => Err(Problem::WrongType {
                expected: "byte string",
            }),
        }
    }

    /// Reads a UTF-8 text string.
    pub(crate) fn text(&mut self) -> Result<&'a str, Problem> {
        match self.head()? {
            Head::Text(len) => {
                std::str::from_utf8(self.content(len)?).map_err(|_| Problem::InvalidUtf8)
            }
            _ => Err(Problem::WrongType { expected: "text" }),
        }
    }

    /// Reads a byte string, or `None` for `null`.
    pub(crate) fn bytes_or_null(&mut self) -> Result<Option<&'a [u8]>, Problem> {
        match self.head()? {
            Head::Bytes(len) => self.content(len).map(Some),
            Head::Simple(22) => Ok(None),
            _ => Err(Problem::WrongType {
                expected: "byte string or null",
            }),
        }
    }

    /// Skips one complete data item; `depth` is the nesting level of the item itself.
    pub(crate) fn skip(&mut self, depth: usize) -> Result<(), Problem> {
        if depth > MAX_CBOR_DEPTH {
            return Err(Problem::TooDeep);
        }
        match self.head()? {
            Head::Uint(_) | Head::Nint(_) | Head::Simple(_) | Head::Float => Ok(()),
            Head::Bytes(len) | Head::Text(len) => self.content(len).map(|_| ()),
            Head::Tag(_) => self.skip(depth + 1),
            Head::Break => Err(Problem::WrongType {
                expected: "a value, not a break",
            }),
            Head::Array(count) => self.skip_items(count, 1, depth),
            Head::Map(count) => self.skip_items(count, 2, depth),
        }
    }

    fn skip_items(
        &mut self,
        count: Option<u64>,
        per_entry: u64,
        depth: usize,
    ) -> Result<(), Problem> {
        match count {
            Some(count) => {
                // Every item takes at least one byte: a count above the remaining input is
                // rejected before looping on it.
                let items = count.saturating_mul(per_entry);
                if items > self.rest.len() as u64 {
                    return Err(Problem::Truncated);
                }
                for _ in 0..items {
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            None => loop {
                if self.at_break() {
                    self.byte()?;
                    return Ok(());
                }
                for _ in 0..per_entry {
                    self.skip(depth + 1)?;
                }
            },
        }
    }

    /// Consumes the break marker ending an indefinite container.
    pub(crate) fn take_break(&mut self) -> Result<(), Problem> {
        match self.byte()? {
            BREAK => Ok(()),
            _ => Err(Problem::Invalid("expected break")),
        }
    }
}

/// Iterates the entries of a map or array whose head was already read: yields until the
/// declared count is reached or (indefinite form) the break marker is consumed.
#[derive(Debug)]
pub(crate) struct Entries {
    remaining: Option<u64>,
}

impl Entries {
    /// Entries of a container with `count` items (`None`: indefinite).
    pub(crate) fn new(count: Option<u64>) -> Self {
        Self { remaining: count }
    }

    /// Whether another entry follows; consumes the break of an indefinite container.
    pub(crate) fn next(&mut self, reader: &mut Reader<'_>) -> Result<bool, Problem> {
        match &mut self.remaining {
            Some(0) => Ok(false),
            Some(n) => {
                *n -= 1;
                Ok(true)
            }
            None if reader.at_break() => reader.take_break().map(|()| false),
            None if reader.is_empty() => Err(Problem::Truncated),
            None => Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_reserved_and_chunked() {
        assert_eq!(Reader::new(&[0x1c]).head(), Err(Problem::Reserved));
        assert_eq!(Reader::new(&[0x5f]).head(), Err(Problem::ChunkedString));
        assert_eq!(Reader::new(&[0x7f]).head(), Err(Problem::ChunkedString));
        assert_eq!(Reader::new(&[0x1f]).head(), Err(Problem::Reserved));
        assert_eq!(Reader::new(&[0xf8, 0x16]).head(), Err(Problem::Reserved));
        assert_eq!(Reader::new(&[0xf8, 0x20]).head(), Ok(Head::Simple(0x20)));
    }

    #[test]
    fn huge_declared_length_is_truncated_not_allocated() {
        let input = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
        assert_eq!(Reader::new(&input).bytes(), Err(Problem::Truncated));
        let map = [0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(Reader::new(&map).skip(0), Err(Problem::Truncated));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let input = [0x81; 64];
        assert_eq!(Reader::new(&input).skip(0), Err(Problem::TooDeep));
    }

    #[test]
    fn reads_heads() {
        let mut r = Reader::new(&[0x38, 0x22, 0xf6, 0x19, 0x01, 0x00]);
        assert_eq!(r.head(), Ok(Head::Nint(34)));
        assert_eq!(r.head(), Ok(Head::Simple(22)));
        assert_eq!(r.head(), Ok(Head::Uint(256)));
        assert!(r.is_empty());
    }
}
