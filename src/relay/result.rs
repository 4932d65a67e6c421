//! Result types of both methods, and the translation of a vault response into the secrets
//! result (`relay-protocol.md` §4 and §8.3).
//!
//! Results are serialized with [`super::gojson`] so every relay node, Rust or Go, writes the
//! same bytes for the same answer: the enclave groups responses by their bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::RelayError;
use super::params::SecretIdentifier;
use crate::proto::vault::{self, secret_response};

/// The vault's per-secret error text for its own failures: a system error, not the caller's.
pub const VAULT_SYSTEM_ERROR: &str = "failed to handle get secret request";

/// One secret of a `confidential.secrets.get` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretEntry {
    /// The secret as the vault named it (owner dropped).
    pub id: SecretIdentifier,
    /// Std base64 of the TDH2 ciphertext.
    pub ciphertext: String,
    /// Std base64 of each share sealed to the enclave key.
    pub encrypted_shares: Vec<String>,
}

/// The result of `confidential.secrets.get`; no entries serialize as `{"secrets":null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretsResponseResult {
    /// The secrets, in vault order.
    pub secrets: Option<Vec<SecretEntry>>,
}

/// The result of `confidential.capability.execute`; both members omitted when empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CapabilityResponseResult {
    /// Std base64 of a deterministic `sdk.v1alpha.CapabilityResponse`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub payload: String,
    /// The capability's error, rendered as the Go client renders it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Translates a vault response for `enclave_public_key`, in vault order, all or nothing.
pub fn translate_vault_response(
    response: &vault::GetSecretsResponse,
    enclave_public_key: &str,
) -> Result<SecretsResponseResult, RelayError> {
    let mut entries = Vec::with_capacity(response.responses.len());
    for secret in &response.responses {
        let id = secret.id.clone().unwrap_or_default();
        let name = format!("{}/{}", id.namespace, id.key);
        let data = match &secret.result {
            Some(secret_response::Result::Error(error)) if !error.is_empty() => {
                let text = format!("vault error for secret {name}: {error}");
                return Err(if error == VAULT_SYSTEM_ERROR {
                    RelayError::Internal(text)
                } else {
                    RelayError::VaultUserError(text)
                });
            }
            Some(secret_response::Result::Data(data)) => data,
            _ => {
                return Err(RelayError::Internal(format!(
                    "vault returned no data for secret {name}"
                )));
            }
        };
        let ciphertext = hex::decode(&data.encrypted_value).map_err(|err| {
            RelayError::Internal(format!(
                "failed to decode encrypted value for {}: {err}",
                id.key
            ))
        })?;
        let shares = select_shares(data, enclave_public_key)?;
        if shares.is_empty() {
            return Err(RelayError::Internal(format!(
                "no shares found for enclave key in secret {name}"
            )));
        }
        entries.push(SecretEntry {
            id: SecretIdentifier {
                key: id.key,
                namespace: id.namespace,
            },
            ciphertext: STANDARD.encode(ciphertext),
            encrypted_shares: shares,
        });
    }
    Ok(SecretsResponseResult {
        secrets: (!entries.is_empty()).then_some(entries),
    })
}

/// The shares of the first entry addressed to exactly `enclave_public_key`, std-base64'd:
/// `binary_shares` when present, else the hex `shares` decoded.
fn select_shares(
    data: &vault::SecretData,
    enclave_public_key: &str,
) -> Result<Vec<String>, RelayError> {
    let Some(entry) = data
        .encrypted_decryption_key_shares
        .iter()
        .find(|entry| entry.encryption_key == enclave_public_key)
    else {
        return Ok(Vec::new());
    };
    if !entry.binary_shares.is_empty() {
        return Ok(entry
            .binary_shares
            .iter()
            .map(|share| STANDARD.encode(share))
            .collect());
    }
    entry
        .shares
        .iter()
        .map(|share| {
            hex::decode(share)
                .map(|bytes| STANDARD.encode(bytes))
                .map_err(|err| RelayError::Internal(format!("failed to decode share: {err}")))
        })
        .collect()
}
