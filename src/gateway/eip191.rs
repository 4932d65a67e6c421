//! Keccak-256, EIP-191 personal-sign hashing, and recovery of the signer's Ethereum address
//! from a 65-byte `r ‖ s ‖ v` signature (spec §1.5).

use std::fmt;

use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use sha3::{Digest, Keccak256};

/// Length of a recoverable signature on the wire: `r(32) ‖ s(32) ‖ v(1)`.
pub const SIGNATURE_LEN: usize = 65;

/// The EIP-191 version-0x45 prefix; the decimal length of the data follows it.
const PERSONAL_SIGN_PREFIX: &[u8] = b"\x19Ethereum Signed Message:\n";

/// Why a signature does not yield a signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    /// Not exactly 65 bytes.
    #[error("signature must be {SIGNATURE_LEN} bytes, got {0}")]
    Length(usize),
    /// `v` is not one of 0, 1, 27, 28.
    #[error("signature recovery byte v={0} is not 0, 1, 27 or 28")]
    RecoveryByte(u8),
    /// `r`/`s` out of range (e.g. a zeroed signature) or no point recovers.
    #[error("signature does not recover a public key")]
    NoSigner,
}

/// A 20-byte Ethereum address; displayed as lowercase `0x` hex (the form gateways compare).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// Parses `0x` followed by 40 hex digits (either case).
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix("0x")?;
        let mut out = [0u8; 20];
        hex::decode_to_slice(digits, &mut out).ok()?;
        Some(Self(out))
    }

    /// The address of a public key: the last 20 bytes of keccak256 of the uncompressed point
    /// without its 0x04 prefix.
    pub fn of_key(key: &VerifyingKey) -> Self {
        let point = key.to_sec1_point(false);
        let hash = keccak256(point.as_bytes().get(1..).unwrap_or_default());
        let mut out = [0u8; 20];
        out.copy_from_slice(hash.get(12..).unwrap_or(&[0u8; 20]));
        Self(out)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Original Keccak-256 (not NIST SHA3-256).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// keccak256(`"\x19Ethereum Signed Message:\n"` ‖ decimal(len) ‖ data).
pub fn personal_hash(data: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(PERSONAL_SIGN_PREFIX);
    hasher.update(data.len().to_string().as_bytes());
    hasher.update(data);
    hasher.finalize().into()
}

/// The address that signed `data` (EIP-191) with `signature`. Does not modify its inputs.
pub fn recover_signer(data: &[u8], signature: &[u8]) -> Result<Address, RecoverError> {
    let bytes: &[u8; SIGNATURE_LEN] = signature
        .try_into()
        .map_err(|_| RecoverError::Length(signature.len()))?;
    let (rs, v) = bytes.split_at(64);
    let v = v.first().copied().unwrap_or_default();
    let normalized = match v {
        0 | 1 => v,
        27 | 28 => v - 27,
        other => return Err(RecoverError::RecoveryByte(other)),
    };
    let recovery_id =
        RecoveryId::try_from(normalized).map_err(|_| RecoverError::RecoveryByte(v))?;
    let signature = Signature::from_slice(rs).map_err(|_| RecoverError::NoSigner)?;
    let key = VerifyingKey::recover_from_prehash(&personal_hash(data), &signature, recovery_id)
        .map_err(|_| RecoverError::NoSigner)?;
    Ok(Address::of_key(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_parse_round_trips_lowercase() {
        let text = "0x00000000000000000000000000000000000000aB";
        let address = Address::parse(text).unwrap();
        assert_eq!(address.to_string(), text.to_lowercase());
        assert_eq!(
            Address::parse("00000000000000000000000000000000000000ab"),
            None
        );
        assert_eq!(Address::parse("0x00"), None);
    }

    #[test]
    fn accepts_v_27_and_28_without_touching_the_input() {
        let key = crate::gateway::NodeKey::generate();
        let mut signature = key.sign(b"data");
        let original = signature;
        signature[64] += 27;
        let copy = signature;
        assert_eq!(recover_signer(b"data", &signature), Ok(key.address()));
        assert_eq!(signature, copy, "the caller's buffer is not modified");
        assert_ne!(signature, original);
    }

    #[test]
    fn rejects_bad_v_and_length() {
        let mut sig = [1u8; 65];
        sig[64] = 2;
        assert_eq!(
            recover_signer(b"x", &sig),
            Err(RecoverError::RecoveryByte(2))
        );
        assert_eq!(
            recover_signer(b"x", &sig[..64]),
            Err(RecoverError::Length(64))
        );
        assert_eq!(
            recover_signer(b"x", &[0u8; 65]),
            Err(RecoverError::NoSigner)
        );
    }
}
