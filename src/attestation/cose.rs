//! The COSE_Sign1 signature: the Sig_structure built from the received bytes and its ES384
//! verification. High-S signatures are valid (AWS emits them), which aws-lc-rs accepts.

use aws_lc_rs::signature::ParsedPublicKey;

use super::error::{Rejection, SignatureError};

/// CBOR encoding of the array head (4 items) and the text "Signature1".
const SIG_STRUCTURE_PREFIX: &[u8] = b"\x84\x6aSignature1";

/// Appends a CBOR byte-string head for `len` bytes.
fn bstr_head(out: &mut Vec<u8>, len: usize) {
    let len = len as u64;
    match len {
        0..=23 => out.push(0x40 | len as u8),
        24..=0xff => out.extend_from_slice(&[0x58, len as u8]),
        0x100..=0xffff => {
            out.push(0x59);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0x5a);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
        _ => {
            out.push(0x5b);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// `["Signature1", protected, h'', payload]` from the received protected and payload bytes.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(SIG_STRUCTURE_PREFIX.len() + protected.len() + payload.len() + 12);
    out.extend_from_slice(SIG_STRUCTURE_PREFIX);
    bstr_head(&mut out, protected.len());
    out.extend_from_slice(protected);
    bstr_head(&mut out, 0);
    bstr_head(&mut out, payload.len());
    out.extend_from_slice(payload);
    out
}

/// Verifies the raw `r || s` ES384 signature over the Sig_structure.
pub(crate) fn verify(
    key: &ParsedPublicKey,
    protected: &[u8],
    payload: &[u8],
    signature: &[u8],
) -> Result<(), Rejection> {
    key.verify_sig(&sig_structure(protected, payload), signature)
        .map_err(|_| Rejection::BadSignature(SignatureError::Invalid))
}
