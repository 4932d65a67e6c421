//! Mutation helpers that turn a document into the spec's bad inputs (§7): re-tagging, outer
//! array changes, signature edits (length, bit flips, the high-S/low-S twin), payload
//! re-encodings and byte replacements. Each returns `None` when the input is not a COSE_Sign1
//! the helper understands.

use super::cbor::{Cbor, head};
use crate::attestation::cbor::{Head, Reader};

/// The order `n` of the P-384 group, big-endian.
const P384_ORDER: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

/// The four COSE_Sign1 items of a document, as owned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// Whether the document had a tag (any number) in front.
    pub tag: Option<u64>,
    /// Protected header bytes.
    pub protected: Vec<u8>,
    /// Raw encoding of the unprotected map.
    pub unprotected: Vec<u8>,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// Signature bytes.
    pub signature: Vec<u8>,
}

impl Parts {
    /// Splits a document into its items.
    pub fn split(doc: &[u8]) -> Option<Self> {
        let mut r = Reader::new(doc);
        let mut tag = None;
        let mut h = r.head().ok()?;
        if let Head::Tag(t) = h {
            tag = Some(t);
            h = r.head().ok()?;
        }
        if h != Head::Array(Some(4)) {
            return None;
        }
        let protected = r.bytes().ok()?.to_vec();
        let before = r.clone();
        r.skip(1).ok()?;
        let unprotected = before_slice(&before, &r)?;
        let payload = r.bytes().ok()?.to_vec();
        let signature = r.bytes().ok()?.to_vec();
        Some(Self {
            tag,
            protected,
            unprotected,
            payload,
            signature,
        })
    }

    /// Encodes the items again.
    pub fn join(&self) -> Vec<u8> {
        let array = Cbor::Array(vec![
            Cbor::Bytes(self.protected.clone()),
            Cbor::Raw(self.unprotected.clone()),
            Cbor::Bytes(self.payload.clone()),
            Cbor::Bytes(self.signature.clone()),
        ]);
        match self.tag {
            Some(t) => Cbor::Tag(t, Box::new(array)).encode(),
            None => array.encode(),
        }
    }
}

fn before_slice(before: &Reader<'_>, after: &Reader<'_>) -> Option<Vec<u8>> {
    let all = before.remaining();
    let consumed = all.len().checked_sub(after.remaining().len())?;
    all.get(..consumed).map(<[u8]>::to_vec)
}

/// Applies `f` to the parts and joins them again.
pub fn edit(doc: &[u8], f: impl FnOnce(&mut Parts)) -> Option<Vec<u8>> {
    let mut parts = Parts::split(doc)?;
    f(&mut parts);
    Some(parts.join())
}

/// The document wrapped in tag `tag` (18 is COSE_Sign1).
pub fn tagged(doc: &[u8], tag: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.len() + 9);
    head(&mut out, 6, tag);
    out.extend_from_slice(doc);
    out
}

/// The document with `extra` appended after the COSE array.
pub fn with_trailing(doc: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut out = doc.to_vec();
    out.extend_from_slice(extra);
    out
}

/// The outer array with `items` items: 3 drops the signature, 5 appends `null`.
pub fn with_outer_items(doc: &[u8], items: usize) -> Option<Vec<u8>> {
    let p = Parts::split(doc)?;
    let mut list = vec![
        Cbor::Bytes(p.protected),
        Cbor::Raw(p.unprotected),
        Cbor::Bytes(p.payload),
        Cbor::Bytes(p.signature),
    ];
    list.resize(items, Cbor::Null);
    Some(Cbor::Array(list).encode())
}

/// The document with `signature` replacing its signature.
pub fn with_signature(doc: &[u8], signature: &[u8]) -> Option<Vec<u8>> {
    edit(doc, |p| p.signature = signature.to_vec())
}

/// The document with `protected` replacing its protected header bytes.
pub fn with_protected(doc: &[u8], protected: &[u8]) -> Option<Vec<u8>> {
    edit(doc, |p| p.protected = protected.to_vec())
}

/// The document with `payload` replacing its payload bytes (signature unchanged).
pub fn with_payload(doc: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
    edit(doc, |p| p.payload = payload.to_vec())
}

/// The equally valid twin `(r, n - s)` of the signature (high-S <-> low-S).
pub fn malleable_twin(doc: &[u8]) -> Option<Vec<u8>> {
    let p = Parts::split(doc)?;
    let (r, s) = p.signature.split_at_checked(48)?;
    let s: [u8; 48] = s.try_into().ok()?;
    let mut twin = [0u8; 48];
    let mut borrow = 0i16;
    for i in (0..48).rev() {
        let n = i16::from(*P384_ORDER.get(i)?);
        let d = n - i16::from(*s.get(i)?) - borrow;
        borrow = i16::from(d < 0);
        *twin.get_mut(i)? = (d + 256 * borrow) as u8;
    }
    let mut signature = r.to_vec();
    signature.extend_from_slice(&twin);
    with_signature(doc, &signature)
}

/// Whether the signature's `s` is above `n / 2` (high-S).
pub fn is_high_s(doc: &[u8]) -> Option<bool> {
    let p = Parts::split(doc)?;
    let s = p.signature.get(48..96)?;
    let twin = Parts::split(&malleable_twin(doc)?)?;
    Some(s > twin.signature.get(48..96)?)
}

/// The document with bit `bit` of byte `offset` flipped.
pub fn flip_bit(doc: &[u8], offset: usize, bit: u8) -> Option<Vec<u8>> {
    let mut out = doc.to_vec();
    *out.get_mut(offset)? ^= 1u8.checked_shl(u32::from(bit))?;
    Some(out)
}

/// The document with the first occurrence of `from` replaced by `to` (any lengths).
pub fn replace_once(doc: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    let at = doc.windows(from.len()).position(|w| w == from)?;
    let mut out = doc.get(..at)?.to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(doc.get(at + from.len()..)?);
    Some(out)
}

/// Re-encodes an indefinite-length payload map as definite (same entries, same bytes
/// otherwise); `None` if the payload map is already definite.
pub fn definite_payload(doc: &[u8]) -> Option<Vec<u8>> {
    let p = Parts::split(doc)?;
    let (first, body) = p.payload.split_first()?;
    if *first != 0xbf {
        return None;
    }
    let mut r = Reader::new(body);
    let mut count = 0u64;
    while !r.at_break() {
        r.skip(1).ok()?;
        r.skip(1).ok()?;
        count += 1;
    }
    let entries_len = body.len().checked_sub(r.remaining().len())?;
    let mut payload = Vec::new();
    head(&mut payload, 5, count);
    payload.extend_from_slice(body.get(..entries_len)?);
    with_payload(doc, &payload)
}

/// The payload with its last byte (the final break of an indefinite map) removed.
pub fn drop_final_payload_byte(doc: &[u8]) -> Option<Vec<u8>> {
    let p = Parts::split(doc)?;
    let (_, rest) = p.payload.split_last()?;
    with_payload(doc, rest)
}
