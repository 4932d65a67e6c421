//! The node's secp256k1 signing key: loaded from hex (file, environment or string), held in a
//! `secrecy` box, used only to sign handshake messages (EIP-191). Debug shows the address only.

use std::fmt;
use std::path::Path;

use k256::ecdsa::SigningKey;
use rand::Rng;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};

use super::eip191::{Address, SIGNATURE_LEN, personal_hash};

/// Length of a secp256k1 private key in bytes.
const KEY_LEN: usize = 32;

/// Why a key could not be loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read node key file {path}: {source}")]
    File {
        /// The path tried.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The environment variable is unset or not Unicode.
    #[error("node key environment variable {0} is not set")]
    MissingEnv(String),
    /// Not 64 hex digits (an optional `0x` prefix and surrounding whitespace are allowed).
    #[error("node key must be 64 hex digits (optionally 0x-prefixed)")]
    NotHex,
    /// Zero or not below the curve order.
    #[error("node key is not a valid secp256k1 scalar")]
    OutOfRange,
}

/// The node's Ethereum signing key.
pub struct NodeKey {
    secret: SecretBox<[u8; KEY_LEN]>,
    address: Address,
}

impl NodeKey {
    /// Parses a hex key (64 digits, optional `0x`, surrounding whitespace ignored).
    pub fn from_hex(hex_key: &SecretString) -> Result<Self, KeyError> {
        let text = hex_key.expose_secret().trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let mut bytes = SecretBox::new(Box::new([0u8; KEY_LEN]));
        hex::decode_to_slice(digits, bytes.expose_secret_mut()).map_err(|_| KeyError::NotHex)?;
        Self::from_secret(bytes)
    }

    /// Reads a hex key from a file.
    pub fn from_hex_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::File {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_hex(&SecretString::from(text))
    }

    /// Reads a hex key from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let text = std::env::var(var).map_err(|_| KeyError::MissingEnv(var.to_owned()))?;
        Self::from_hex(&SecretString::from(text))
    }

    /// A fresh random key (demo and tests).
    pub fn generate() -> Self {
        loop {
            let mut bytes = SecretBox::new(Box::new([0u8; KEY_LEN]));
            rand::rng().fill_bytes(bytes.expose_secret_mut());
            // Retried only in the ~2^-128 case of a scalar out of range.
            if let Ok(key) = Self::from_secret(bytes) {
                return key;
            }
        }
    }

    fn from_secret(secret: SecretBox<[u8; KEY_LEN]>) -> Result<Self, KeyError> {
        let signing =
            SigningKey::from_slice(secret.expose_secret()).map_err(|_| KeyError::OutOfRange)?;
        let address = Address::of_key(signing.verifying_key());
        Ok(Self { secret, address })
    }

    /// The node address derived from the key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The 65-byte EIP-191 signature `r ‖ s ‖ v` (v ∈ {0, 1}) over `data`.
    pub fn sign(&self, data: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        // The scalar was validated at construction, so this always succeeds.
        if let Ok(signing) = SigningKey::from_slice(self.secret.expose_secret()) {
            let (signature, recovery_id) = signing.sign_prehash_recoverable(&personal_hash(data));
            let (rs, v) = out.split_at_mut(64);
            rs.copy_from_slice(&signature.to_bytes());
            if let Some(v) = v.first_mut() {
                *v = recovery_id.to_byte();
            }
        }
        out
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::eip191::recover_signer;

    #[test]
    fn known_key_address_and_round_trip() {
        // Private key 1: its address is the well-known 0x7e5f...bdf.
        let key = NodeKey::from_hex(&SecretString::from(format!("0x{:064x}\n", 1))).unwrap();
        assert_eq!(
            key.address().to_string(),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
        let signature = key.sign(b"hello");
        assert!(signature[64] <= 1);
        assert_eq!(recover_signer(b"hello", &signature).unwrap(), key.address());
        assert_ne!(recover_signer(b"hellO", &signature).unwrap(), key.address());
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            "NodeKey { address: 0x7e5f4552091a69125d5dfcb7b8c2659029395bdf, .. }"
        );
    }

    #[test]
    fn rejects_bad_keys_without_echoing_them() {
        let err = NodeKey::from_hex(&SecretString::from("zz".repeat(32))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "node key must be 64 hex digits (optionally 0x-prefixed)"
        );
        let zero = NodeKey::from_hex(&SecretString::from("0".repeat(64))).unwrap_err();
        assert_eq!(zero.to_string(), "node key is not a valid secp256k1 scalar");
        assert!(matches!(
            NodeKey::from_env("CR_TEST_UNSET_NODE_KEY_VAR"),
            Err(KeyError::MissingEnv(_))
        ));
    }
}
