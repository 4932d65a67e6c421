//! `DomainHash(tag, data)`: the 32-byte value an attestation's `user_data` must carry
//! (`relay-protocol.md` §6.3). Two incompatible formulas exist on the wire; configuration picks
//! one, and the relay never tries both for one request.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain separator prefixed to every relay hash.
pub const DOMAIN_SEPARATOR: &[u8] = b"CONFIDENTIAL_COMPUTE_PAYLOAD";

/// Attestation domain tag of `confidential.secrets.get`.
pub const TAG_SECRETS_GET: &str = "ConfidentialSecretsGet";

/// Attestation domain tag of `confidential.capability.execute`.
pub const TAG_CAPABILITY_EXECUTE: &str = "ConfidentialCapabilityExecute";

/// Which `DomainHash` formula enclaves use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainHashFormula {
    /// `SHA-256(sep ‖ u64be(len tag) ‖ tag ‖ u64be(len data) ‖ data)` (chainlink-common
    /// CL112-14, 2026-06-22 onward).
    #[default]
    Current,
    /// `SHA-256(sep ‖ "\n" ‖ tag ‖ "\n" ‖ data)`: older enclaves; ambiguous at the boundary.
    Legacy,
}

impl DomainHashFormula {
    /// The configuration name of the formula.
    pub fn name(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Legacy => "legacy",
        }
    }

    /// Parses a configuration or command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "current" => Some(Self::Current),
            "legacy" => Some(Self::Legacy),
            _ => None,
        }
    }
}

/// `DomainHash(tag, data)` with the given formula.
pub fn domain_hash(formula: DomainHashFormula, tag: &str, data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN_SEPARATOR);
    match formula {
        DomainHashFormula::Current => {
            hasher.update((tag.len() as u64).to_be_bytes());
            hasher.update(tag.as_bytes());
            hasher.update((data.len() as u64).to_be_bytes());
            hasher.update(data);
        }
        DomainHashFormula::Legacy => {
            hasher.update(b"\n");
            hasher.update(tag.as_bytes());
            hasher.update(b"\n");
            hasher.update(data);
        }
    }
    hasher.finalize().into()
}
