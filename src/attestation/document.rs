//! Parsing a Nitro attestation document (COSE_Sign1 around a CBOR payload) into an
//! *unverified* [`ParsedDocument`] that borrows the input.
//!
//! Nothing here is trusted: the fields are only handed to the policy after the chain and the
//! signature have been verified (see [`super::verifier`]).

use super::cbor::{Entries, Head, Reader};
use super::error::{FormatError, Problem};
use super::limits::{
    MAX_CABUNDLE, MAX_CERTIFICATE_BYTES, MAX_DOCUMENT_BYTES, MAX_NONCE_BYTES, MAX_PAYLOAD_BYTES,
    MAX_PAYLOAD_ENTRIES, MAX_PCRS, MAX_PUBLIC_KEY_BYTES, MAX_USER_DATA_BYTES, PCR_LENGTHS,
    SIGNATURE_BYTES,
};

/// The COSE_Sign1 tag (RFC 9052), the only tag accepted on the outer array.
const COSE_SIGN1_TAG: u64 = 18;

/// The only protected header accepted: `{1: -35}` (alg ES384), as every real document encodes it.
const PROTECTED_ES384: [u8; 4] = [0xa1, 0x01, 0x38, 0x22];

/// The only `digest` value Nitro documents use.
const DIGEST_SHA384: &str = "SHA384";

/// A parsed but unverified attestation document, borrowing the input bytes.
#[derive(Debug, Clone)]
pub struct ParsedDocument<'a> {
    /// The protected header bytes as received (signed).
    pub protected: &'a [u8],
    /// The payload bytes as received (signed).
    pub payload_bytes: &'a [u8],
    /// The raw `r || s` signature (96 bytes).
    pub signature: &'a [u8],
    /// The decoded payload.
    pub payload: Payload<'a>,
}

/// The decoded payload fields (unverified until the verifier says otherwise).
#[derive(Debug, Clone)]
pub struct Payload<'a> {
    /// Enclave module identifier (non-empty).
    pub module_id: &'a str,
    /// Milliseconds since the Unix epoch (> 0).
    pub timestamp_ms: u64,
    /// PCR values by index (0-31); `None` when the document does not carry that index.
    pub pcrs: [Option<&'a [u8]>; MAX_PCRS],
    /// DER leaf certificate.
    pub certificate: &'a [u8],
    /// DER CA certificates in AWS order: `[root, intermediate_1, ..., intermediate_n]`.
    pub cabundle: Vec<&'a [u8]>,
    /// Optional enclave public key (`None`: absent or null; `Some(&[])`: empty byte string).
    pub public_key: Option<&'a [u8]>,
    /// Optional user data (the relay's binding).
    pub user_data: Option<&'a [u8]>,
    /// Optional nonce.
    pub nonce: Option<&'a [u8]>,
}

fn at(field: &'static str) -> impl Fn(Problem) -> FormatError {
    move |problem| FormatError::new(field, problem)
}

fn check_size(field: &'static str, len: usize, min: usize, max: usize) -> Result<(), FormatError> {
    if len < min || len > max {
        return Err(FormatError::new(
            field,
            Problem::Size {
                min,
                max,
                actual: len,
            },
        ));
    }
    Ok(())
}

/// Parses a document. Strict: see the module docs of [`super`] for every rule.
pub fn parse(document: &[u8]) -> Result<ParsedDocument<'_>, FormatError> {
    check_size("document", document.len(), 1, MAX_DOCUMENT_BYTES)?;
    let mut r = Reader::new(document);
    let mut head = r.head().map_err(at("document"))?;
    if let Head::Tag(tag) = head {
        if tag != COSE_SIGN1_TAG {
            return Err(FormatError::new(
                "document",
                Problem::Invalid("tag other than 18"),
            ));
        }
        head = r.head().map_err(at("document"))?;
    }
    if head != Head::Array(Some(4)) {
        return Err(FormatError::new(
            "document",
            Problem::WrongType {
                expected: "COSE_Sign1 array of 4",
            },
        ));
    }
    let protected = r.bytes().map_err(at("protected"))?;
    if protected != PROTECTED_ES384 {
        return Err(FormatError::new(
            "protected",
            Problem::Invalid("not exactly {1: -35}"),
        ));
    }
    match r.head().map_err(at("unprotected"))? {
        Head::Map(count) => skip_map(&mut r, count)?,
        _ => {
            return Err(FormatError::new(
                "unprotected",
                Problem::WrongType { expected: "map" },
            ));
        }
    }
    let payload_bytes = r.bytes().map_err(at("payload"))?;
    check_size("payload", payload_bytes.len(), 1, MAX_PAYLOAD_BYTES)?;
    let signature = r.bytes().map_err(at("signature"))?;
    check_size(
        "signature",
        signature.len(),
        SIGNATURE_BYTES,
        SIGNATURE_BYTES,
    )?;
    if !r.is_empty() {
        return Err(FormatError::new("document", Problem::TrailingBytes));
    }
    let payload = parse_payload(payload_bytes)?;
    Ok(ParsedDocument {
        protected,
        payload_bytes,
        signature,
        payload,
    })
}

fn skip_map(r: &mut Reader<'_>, count: Option<u64>) -> Result<(), FormatError> {
    let mut entries = Entries::new(count);
    while entries.next(r).map_err(at("unprotected"))? {
        r.skip(2).map_err(at("unprotected"))?;
        r.skip(2).map_err(at("unprotected"))?;
    }
    Ok(())
}

/// Known payload keys, in AWS order; the index is the bit in the `seen` mask.
const KEYS: [&str; 9] = [
    "module_id",
    "digest",
    "timestamp",
    "pcrs",
    "certificate",
    "cabundle",
    "public_key",
    "user_data",
    "nonce",
];

fn parse_payload(bytes: &[u8]) -> Result<Payload<'_>, FormatError> {
    let mut r = Reader::new(bytes);
    let count = match r.head().map_err(at("payload"))? {
        Head::Map(count) => count,
        _ => {
            return Err(FormatError::new(
                "payload",
                Problem::WrongType { expected: "map" },
            ));
        }
    };
    let mut payload = Payload {
        module_id: "",
        timestamp_ms: 0,
        pcrs: [None; MAX_PCRS],
        certificate: &[],
        cabundle: Vec::new(),
        public_key: None,
        user_data: None,
        nonce: None,
    };
    let mut seen = [false; KEYS.len()];
    let mut unknown: Vec<&str> = Vec::new();
    let mut digest = None;
    let mut entries = Entries::new(count);
    let mut total = 0usize;
    while entries.next(&mut r).map_err(at("payload"))? {
        total += 1;
        if total > MAX_PAYLOAD_ENTRIES {
            return Err(FormatError::new(
                "payload",
                Problem::Size {
                    min: 1,
                    max: MAX_PAYLOAD_ENTRIES,
                    actual: total,
                },
            ));
        }
        let key = r.text().map_err(at("payload key"))?;
        let Some(slot) = KEYS.iter().position(|k| *k == key) else {
            if unknown.contains(&key) {
                return Err(FormatError::new("payload", Problem::DuplicateKey));
            }
            unknown.push(key);
            r.skip(2).map_err(at("unknown payload value"))?;
            continue;
        };
        let field = KEYS.get(slot).copied().unwrap_or("payload");
        match seen.get_mut(slot) {
            Some(true) => return Err(FormatError::new(field, Problem::DuplicateKey)),
            Some(flag) => *flag = true,
            None => {}
        }
        let f = at(field);
        match slot {
            0 => payload.module_id = r.text().map_err(f)?,
            1 => digest = Some(r.text().map_err(f)?),
            2 => {
                payload.timestamp_ms = match r.head().map_err(f)? {
                    Head::Uint(v) => v,
                    _ => {
                        return Err(FormatError::new(
                            field,
                            Problem::WrongType { expected: "uint" },
                        ));
                    }
                }
            }
            3 => payload.pcrs = parse_pcrs(&mut r)?,
            4 => payload.certificate = r.bytes().map_err(f)?,
            5 => payload.cabundle = parse_cabundle(&mut r)?,
            6 => payload.public_key = r.bytes_or_null().map_err(f)?,
            7 => payload.user_data = r.bytes_or_null().map_err(f)?,
            _ => payload.nonce = r.bytes_or_null().map_err(f)?,
        }
    }
    if !r.is_empty() {
        return Err(FormatError::new("payload", Problem::TrailingBytes));
    }
    for (name, present) in KEYS.iter().zip(seen).take(6) {
        if !present {
            return Err(FormatError::new(name, Problem::Missing));
        }
    }
    check_content(&payload, digest)?;
    Ok(payload)
}

fn check_content(p: &Payload<'_>, digest: Option<&str>) -> Result<(), FormatError> {
    if p.module_id.is_empty() {
        return Err(FormatError::new("module_id", Problem::Invalid("empty")));
    }
    if digest != Some(DIGEST_SHA384) {
        return Err(FormatError::new("digest", Problem::Invalid("not SHA384")));
    }
    if p.timestamp_ms == 0 {
        return Err(FormatError::new("timestamp", Problem::Invalid("zero")));
    }
    check_size("certificate", p.certificate.len(), 1, MAX_CERTIFICATE_BYTES)?;
    let optional = [
        ("public_key", p.public_key, MAX_PUBLIC_KEY_BYTES),
        ("user_data", p.user_data, MAX_USER_DATA_BYTES),
        ("nonce", p.nonce, MAX_NONCE_BYTES),
    ];
    for (name, value, max) in optional {
        if let Some(value) = value {
            check_size(name, value.len(), 0, max)?;
        }
    }
    Ok(())
}

fn parse_pcrs<'a>(r: &mut Reader<'a>) -> Result<[Option<&'a [u8]>; MAX_PCRS], FormatError> {
    let f = at("pcrs");
    let count = match r.head().map_err(&f)? {
        Head::Map(count) => count,
        _ => return Err(f(Problem::WrongType { expected: "map" })),
    };
    let mut pcrs = [None; MAX_PCRS];
    let mut entries = Entries::new(count);
    let mut total = 0usize;
    while entries.next(r).map_err(&f)? {
        total += 1;
        let index = match r.head().map_err(&f)? {
            Head::Uint(i) => i,
            _ => {
                return Err(f(Problem::WrongType {
                    expected: "uint index",
                }));
            }
        };
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| pcrs.get_mut(i))
            .ok_or(f(Problem::Invalid("index above 31")))?;
        if slot.is_some() {
            return Err(f(Problem::DuplicateKey));
        }
        let value = r.bytes().map_err(&f)?;
        if !PCR_LENGTHS.contains(&value.len()) {
            return Err(f(Problem::Invalid("value length not 32, 48 or 64")));
        }
        *slot = Some(value);
    }
    // Duplicates are rejected above, so the count of filled slots is the entry count.
    check_size("pcrs", total, 1, MAX_PCRS)?;
    Ok(pcrs)
}

fn parse_cabundle<'a>(r: &mut Reader<'a>) -> Result<Vec<&'a [u8]>, FormatError> {
    let f = at("cabundle");
    let count = match r.head().map_err(&f)? {
        Head::Array(count) => count,
        _ => return Err(f(Problem::WrongType { expected: "array" })),
    };
    if let Some(n) = count {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        check_size("cabundle", n, 1, MAX_CABUNDLE)?;
    }
    let mut bundle = Vec::new();
    let mut entries = Entries::new(count);
    while entries.next(r).map_err(&f)? {
        if bundle.len() == MAX_CABUNDLE {
            return Err(f(Problem::Size {
                min: 1,
                max: MAX_CABUNDLE,
                actual: MAX_CABUNDLE + 1,
            }));
        }
        let cert = r.bytes().map_err(&f)?;
        check_size("cabundle", cert.len(), 1, MAX_CERTIFICATE_BYTES)?;
        bundle.push(cert);
    }
    check_size("cabundle", bundle.len(), 1, MAX_CABUNDLE)?;
    Ok(bundle)
}

/// Fuzzing entry point: parses arbitrary bytes and, when they parse, walks every field. Must
/// never panic; used by the `fuzz/` target and by the mutation test in `cargo test`.
pub fn fuzz_parse(data: &[u8]) -> usize {
    match parse(data) {
        Err(e) => e.field.len(),
        Ok(doc) => {
            let p = &doc.payload;
            let pcr_bytes: usize = p.pcrs.iter().flatten().map(|v| v.len()).sum();
            let optional = [p.public_key, p.user_data, p.nonce]
                .iter()
                .flatten()
                .map(|v| v.len())
                .sum::<usize>();
            p.module_id.len()
                + pcr_bytes
                + optional
                + p.certificate.len()
                + p.cabundle.iter().map(|c| c.len()).sum::<usize>()
                + doc.signature.len()
        }
    }
}
