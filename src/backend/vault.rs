//! The vault exchange as the Go relay handler does it: a `vault.GetSecretsRequest` wrapped in a
//! `capabilities.CapabilityRequest` for `vault@1.0.0`, and the `vault.GetSecretsResponse`
//! unpacked from the `capabilities.CapabilityResponse`.

use super::BackendError;
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse, RequestMetadata};
use crate::proto::values::Map;
use crate::proto::vault::{
    GetSecretsRequest, GetSecretsResponse, METHOD_SECRETS_GET, VAULT_CAPABILITY_ID,
};
use crate::proto::{pack, unpack};

/// Builds the vault's capability request: method `vault.secrets.get`, capability id
/// `vault@1.0.0`, empty `config` and `inputs` maps present on the wire (as Go sends them),
/// `payload = Any(GetSecretsRequest)` and the given metadata.
pub fn vault_capability_request(
    metadata: RequestMetadata,
    request: &GetSecretsRequest,
) -> CapabilityRequest {
    CapabilityRequest {
        metadata: Some(metadata),
        config: Some(Map::default()),
        inputs: Some(Map::default()),
        payload: Some(pack(request)),
        config_payload: None,
        method: METHOD_SECRETS_GET.to_string(),
        capability_id: VAULT_CAPABILITY_ID.to_string(),
    }
}

/// Unpacks the vault's answer: a non-empty `error` is [`BackendError::Remote`] (`vault execute
/// failed: ...`); a missing payload, another Any type or bad bytes are [`BackendError::Decode`].
pub fn vault_response(response: CapabilityResponse) -> Result<GetSecretsResponse, BackendError> {
    if !response.error.is_empty() {
        return Err(BackendError::Remote(format!(
            "vault execute failed: {}",
            response.error
        )));
    }
    let payload = response.payload.ok_or_else(|| {
        BackendError::Decode("failed to unmarshal vault response: no payload".into())
    })?;
    unpack::<GetSecretsResponse>(&payload)
        .map_err(|err| BackendError::Decode(format!("failed to unmarshal vault response: {err}")))
}

#[cfg(test)]
mod tests {
    use prost_types::Any;

    use super::*;
    use crate::proto::vault::{SecretIdentifier, SecretResponse, secret_response};

    fn response_with(payload: Option<Any>, error: &str) -> CapabilityResponse {
        CapabilityResponse {
            payload,
            error: error.into(),
            ..Default::default()
        }
    }

    #[test]
    fn unpacks_payload() {
        let answer = GetSecretsResponse {
            responses: vec![SecretResponse {
                id: Some(SecretIdentifier {
                    key: "K".into(),
                    namespace: "main".into(),
                    owner: "0x1".into(),
                }),
                result: Some(secret_response::Result::Error("key does not exist".into())),
            }],
        };
        let got = vault_response(response_with(Some(pack(&answer)), ""));
        assert_eq!(got, Ok(answer));
    }

    #[test]
    fn error_field_is_remote() {
        let got = vault_response(response_with(None, "Private:System:Internal:down"));
        assert_eq!(
            got,
            Err(BackendError::Remote(
                "vault execute failed: Private:System:Internal:down".into()
            ))
        );
    }

    #[test]
    fn missing_or_foreign_payload_is_decode() {
        assert_eq!(
            vault_response(response_with(None, "")),
            Err(BackendError::Decode(
                "failed to unmarshal vault response: no payload".into()
            ))
        );
        let foreign = pack(&GetSecretsRequest::default());
        assert_eq!(
            vault_response(response_with(Some(foreign), "")),
            Err(BackendError::Decode(
                "failed to unmarshal vault response: unexpected Any type URL \
                 \"type.googleapis.com/vault.GetSecretsRequest\" (expected \
                 \"type.googleapis.com/vault.GetSecretsResponse\")"
                    .into()
            ))
        );
    }
}
