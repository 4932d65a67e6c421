//! Workflow owner addresses: the hex-address check and EIP-55 normalization
//! (`relay-protocol.md` §7).
//!
//! The relay accepts what geth's `IsHexAddress` accepts (optional `0x`/`0X`, then 40 hex digits
//! of any case, no checksum check) and passes the EIP-55 checksum form to the vault and in
//! backend metadata. The attestation binding uses the owner exactly as sent.

use sha3::{Digest, Keccak256};

/// Number of hex digits in a 20-byte address.
const ADDRESS_HEX_DIGITS: usize = 40;

/// A validated owner address, kept in EIP-55 checksum form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    checksummed: String,
}

impl Owner {
    /// Parses `text` by geth's `IsHexAddress` rule; `None` when it is not a hex address.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        if digits.len() != ADDRESS_HEX_DIGITS || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let lower = digits.to_ascii_lowercase();
        let hash = Keccak256::digest(lower.as_bytes());
        let mut checksummed = String::with_capacity(2 + ADDRESS_HEX_DIGITS);
        checksummed.push_str("0x");
        for (index, ch) in lower.chars().enumerate() {
            let byte = hash.get(index / 2).copied().unwrap_or_default();
            let nibble = if index % 2 == 0 {
                byte >> 4
            } else {
                byte & 0x0f
            };
            checksummed.push(if nibble >= 8 {
                ch.to_ascii_uppercase()
            } else {
                ch
            });
        }
        Some(Self { checksummed })
    }

    /// The EIP-55 checksum form, e.g. `0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B`.
    pub fn checksummed(&self) -> &str {
        &self.checksummed
    }
}

/// chainlink-common's `Validate` owner rule (used when hashing for signatures): exactly 42
/// characters, a lowercase `0x` prefix, then hex of any case.
pub fn passes_validate_rule(text: &str) -> bool {
    text.len() == 2 + ADDRESS_HEX_DIGITS
        && text
            .strip_prefix("0x")
            .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()))
}
