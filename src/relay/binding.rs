//! The attestation binding: the user data a document must carry for the received params, and
//! the call into the verifier (`relay-protocol.md` §0.1 item 1, §6).

use std::sync::Arc;

use serde_json::value::RawValue;

use super::domain_hash::{DomainHashFormula, TAG_CAPABILITY_EXECUTE, TAG_SECRETS_GET, domain_hash};
use super::params::{CapabilityRequestParams, SecretsRequestParams};
use super::{METHOD_CAPABILITY_EXECUTE, METHOD_SECRETS_GET, RelayError, canonical, parse_params};
use crate::attestation::AttestationVerifier;

/// The user data values an attestation may carry for one request: the `DomainHash` of each
/// canonical params form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserDataCandidates {
    /// Hash of the declared-order form (the reference's rule).
    pub declared_order: [u8; 32],
    /// Hash of the as-received form (tolerates fields this relay does not know yet).
    pub as_received: [u8; 32],
}

impl UserDataCandidates {
    /// Hashes both canonical forms under `tag` with `formula`.
    pub fn new(
        formula: DomainHashFormula,
        tag: &str,
        declared_order: &[u8],
        as_received: &[u8],
    ) -> Self {
        Self {
            declared_order: domain_hash(formula, tag, declared_order),
            as_received: domain_hash(formula, tag, as_received),
        }
    }
}

/// Verifies `document` against the candidates on the blocking pool (a cold verification costs
/// about a millisecond of CPU, which must not stall the socket tasks).
pub async fn verify(
    verifier: Arc<dyn AttestationVerifier>,
    document: Vec<u8>,
    candidates: UserDataCandidates,
) -> Result<(), RelayError> {
    let outcome = tokio::task::spawn_blocking(move || {
        let UserDataCandidates {
            declared_order,
            as_received,
        } = candidates;
        if declared_order == as_received {
            verifier.verify(&document, &[&declared_order])
        } else {
            verifier.verify(&document, &[&declared_order, &as_received])
        }
    })
    .await
    .map_err(|err| RelayError::Internal(format!("attestation verification task failed: {err}")))?;
    outcome.map_err(RelayError::AttestationRejected)
}

/// Both canonical forms of some params, as the CLI's `user-data` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalForms {
    /// The `DomainHash` tag of the method.
    pub tag: &'static str,
    /// The declared-order form.
    pub declared_order: Vec<u8>,
    /// The as-received form.
    pub as_received: Vec<u8>,
}

/// Computes both canonical forms of `params` for `method`, exactly as the relay does before
/// verifying (duplicate keys refused, attestation dropped), without validating the fields.
pub fn canonical_forms(method: &str, params: &RawValue) -> Result<CanonicalForms, RelayError> {
    match method {
        METHOD_SECRETS_GET => {
            let parsed = parse_params::<SecretsRequestParams>(Some(params))?;
            let typed = SecretsRequestParams {
                attestation: String::new(),
                ..parsed.typed
            };
            forms(TAG_SECRETS_GET, &typed, parsed.as_received)
        }
        METHOD_CAPABILITY_EXECUTE => {
            let parsed = parse_params::<CapabilityRequestParams>(Some(params))?;
            let typed = CapabilityRequestParams {
                attestation: String::new(),
                ..parsed.typed
            };
            forms(TAG_CAPABILITY_EXECUTE, &typed, parsed.as_received)
        }
        _ => Err(RelayError::UnknownMethod(method.to_owned())),
    }
}

fn forms<T: serde::Serialize>(
    tag: &'static str,
    typed: &T,
    as_received: Vec<u8>,
) -> Result<CanonicalForms, RelayError> {
    let declared_order =
        canonical::declared_order(typed).map_err(|err| RelayError::Internal(err.to_string()))?;
    Ok(CanonicalForms {
        tag,
        declared_order,
        as_received,
    })
}
