//! `confidential.secrets.get`: validated params -> attestation -> vault -> secrets result.

use serde_json::value::RawValue;

use super::domain_hash::TAG_SECRETS_GET;
use super::params::SecretsRequestParams;
use super::result::translate_vault_response;
use super::{Relay, RelayError, gojson, parse_params, validate};
use crate::proto::vault;

/// Namespace the vault uses when a request names none.
pub const DEFAULT_NAMESPACE: &str = "main";

impl Relay {
    pub(super) async fn secrets_get(
        &self,
        id: &str,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, RelayError> {
        let parsed = parse_params::<SecretsRequestParams>(params)?;
        let request = validate::secrets_get(parsed.typed, self.config.limits)?;
        self.verify_binding(
            TAG_SECRETS_GET,
            &request.params,
            &parsed.as_received,
            request.attestation,
        )
        .await?;

        let params = &request.params;
        let owner = request.owner.checksummed();
        let vault_request = vault::GetSecretsRequest {
            requests: request
                .secrets
                .iter()
                .map(|secret| vault::SecretRequest {
                    id: Some(vault::SecretIdentifier {
                        key: secret.key.clone(),
                        namespace: if secret.namespace.is_empty() {
                            DEFAULT_NAMESPACE.to_owned()
                        } else {
                            secret.namespace.clone()
                        },
                        owner: owner.to_owned(),
                    }),
                    encryption_keys: vec![params.enclave_public_key.clone()],
                })
                .collect(),
            ..vault::GetSecretsRequest::default()
        };
        let metadata = self.metadata(
            &params.workflow_id,
            &params.execution_id,
            owner,
            &params.org_id,
            id,
        );
        let response = self
            .vault
            .get_secrets(metadata, vault_request)
            .await
            .map_err(|source| RelayError::Backend {
                context: "vault backend",
                source,
            })?;
        if response.responses.len() != request.secrets.len() {
            return Err(RelayError::Internal(format!(
                "vault answered {} secrets for {} requested",
                response.responses.len(),
                request.secrets.len()
            )));
        }
        let result = translate_vault_response(&response, &params.enclave_public_key)?;
        gojson::to_raw_value(&result)
            .map_err(|err| RelayError::Internal(format!("failed to marshal secrets result: {err}")))
    }
}
