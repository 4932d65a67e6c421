//! Up-front validation: turns parsed params into a request the relay may act on, before any
//! attestation or backend work (`relay-protocol.md` §0.1 item 2). Every failure is a -32602
//! whose message names the field.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;

use super::RelayError;
use super::owner::Owner;
use super::params::{CapabilityRequestParams, SecretIdentifier, SecretsRequestParams};
use crate::proto::sdk;
use crate::proto::vault::VAULT_CAPABILITY_ID;

/// Default for the most secrets one request may name (the vault's own batch limit is 10).
pub const DEFAULT_MAX_SECRETS: usize = 10;

/// Bytes in an X25519 public key.
const ENCLAVE_KEY_BYTES: usize = 32;

/// Longest excerpt of a received value quoted back in an error message.
const MAX_QUOTED_CHARS: usize = 64;

/// Limits applied while validating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most secrets one `confidential.secrets.get` may name.
    pub max_secrets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_secrets: DEFAULT_MAX_SECRETS,
        }
    }
}

/// A validated `confidential.secrets.get`.
#[derive(Debug, Clone)]
pub struct SecretsGet {
    /// The params with `attestation` blanked (ready for the declared-order form).
    pub params: SecretsRequestParams,
    /// The validated owner.
    pub owner: Owner,
    /// The requested secrets (non-empty, each with a key).
    pub secrets: Vec<SecretIdentifier>,
    /// The decoded attestation document.
    pub attestation: Vec<u8>,
}

/// A validated `confidential.capability.execute`.
#[derive(Debug, Clone)]
pub struct CapabilityExecute {
    /// The params with `attestation` blanked (ready for the declared-order form).
    pub params: CapabilityRequestParams,
    /// The validated owner.
    pub owner: Owner,
    /// The decoded `payload`.
    pub request: sdk::CapabilityRequest,
    /// The decoded attestation document.
    pub attestation: Vec<u8>,
}

/// Validates secrets params, in field order; the first failure answers.
pub fn secrets_get(
    mut params: SecretsRequestParams,
    limits: Limits,
) -> Result<SecretsGet, RelayError> {
    required("workflow_id", &params.workflow_id)?;
    let owner = owner(&params.owner)?;
    required("execution_id", &params.execution_id)?;
    let secrets = params.secrets.clone().unwrap_or_default();
    if secrets.is_empty() {
        return Err(invalid("secrets is required"));
    }
    if secrets.len() > limits.max_secrets {
        return Err(invalid(format!(
            "secrets: at most {} entries allowed, got {}",
            limits.max_secrets,
            secrets.len()
        )));
    }
    if let Some(index) = secrets.iter().position(|secret| secret.key.is_empty()) {
        return Err(invalid(format!("secrets[{index}].key is required")));
    }
    enclave_public_key(&params.enclave_public_key)?;
    let attestation = attestation(std::mem::take(&mut params.attestation))?;
    Ok(SecretsGet {
        params,
        owner,
        secrets,
        attestation,
    })
}

/// Validates capability params, in field order; the first failure answers.
pub fn capability_execute(
    mut params: CapabilityRequestParams,
) -> Result<CapabilityExecute, RelayError> {
    required("workflow_id", &params.workflow_id)?;
    let owner = owner(&params.owner)?;
    required("execution_id", &params.execution_id)?;
    required("reference_id", &params.reference_id)?;
    required("capability_id", &params.capability_id)?;
    if params.capability_id == VAULT_CAPABILITY_ID {
        // Reaching the vault through execute would skip every secrets.get check (owner
        // normalization, the enclave key as the only encryption key, the batch limit).
        return Err(invalid(format!(
            "capability_id {VAULT_CAPABILITY_ID} is reserved: use confidential.secrets.get"
        )));
    }
    required("payload", &params.payload)?;
    let payload = STANDARD
        .decode(params.payload.as_bytes())
        .map_err(|err| invalid(format!("payload is not standard base64: {err}")))?;
    let request = sdk::CapabilityRequest::decode(payload.as_slice()).map_err(|err| {
        invalid(format!(
            "payload is not a valid sdk.v1alpha.CapabilityRequest: {err}"
        ))
    })?;
    let attestation = attestation(std::mem::take(&mut params.attestation))?;
    Ok(CapabilityExecute {
        params,
        owner,
        request,
        attestation,
    })
}

fn required(field: &str, value: &str) -> Result<(), RelayError> {
    if value.is_empty() {
        return Err(invalid(format!("{field} is required")));
    }
    Ok(())
}

fn owner(text: &str) -> Result<Owner, RelayError> {
    required("owner", text)?;
    Owner::parse(text).ok_or_else(|| {
        invalid(format!(
            "invalid owner address: {} (want 40 hex digits, optionally 0x-prefixed)",
            quoted(text)
        ))
    })
}

fn enclave_public_key(text: &str) -> Result<(), RelayError> {
    required("enclave_public_key", text)?;
    let key = hex::decode(text)
        .map_err(|err| invalid(format!("enclave_public_key is not hex: {err}")))?;
    if key.len() != ENCLAVE_KEY_BYTES {
        return Err(invalid(format!(
            "enclave_public_key must be {ENCLAVE_KEY_BYTES} bytes (64 hex digits), got {} bytes",
            key.len()
        )));
    }
    Ok(())
}

fn attestation(text: String) -> Result<Vec<u8>, RelayError> {
    required("attestation", &text)?;
    STANDARD
        .decode(text.as_bytes())
        .map_err(|err| invalid(format!("attestation is not standard base64: {err}")))
}

fn invalid(text: impl Into<String>) -> RelayError {
    RelayError::InvalidParams(text.into())
}

/// `text` in double quotes with escapes, cut to a readable length: for echoing received
/// values in error messages without echoing megabytes or control characters.
pub(crate) fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{:?}...", text.get(..end).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}
