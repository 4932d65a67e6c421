//! `confidential.capability.execute`: validated params -> attestation -> the named capability
//! -> capability result.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use prost_types::Any;
use serde_json::value::RawValue;

use super::domain_hash::TAG_CAPABILITY_EXECUTE;
use super::params::CapabilityRequestParams;
use super::result::CapabilityResponseResult;
use super::{Relay, RelayError, gojson, parse_params, validate};
use crate::backend::CapabilityError;
use crate::proto::values::{Map, Value, value};
use crate::proto::{capabilities, sdk};

impl Relay {
    pub(super) async fn capability_execute(
        &self,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, RelayError> {
        let parsed = parse_params::<CapabilityRequestParams>(params)?;
        let request = validate::capability_execute(parsed.typed)?;
        self.verify_binding(
            TAG_CAPABILITY_EXECUTE,
            &request.params,
            &parsed.as_received,
            request.attestation,
        )
        .await?;

        let params = &request.params;
        let sdk_request = request.request;
        let metadata = self.metadata(
            &params.workflow_id,
            &params.execution_id,
            request.owner.checksummed(),
            &params.org_id,
            &params.reference_id,
        );
        let backend_request = capabilities::CapabilityRequest {
            metadata: Some(metadata),
            config: Some(Map::default()),
            inputs: Some(legacy_inputs(sdk_request.payload.as_ref()).unwrap_or_default()),
            payload: sdk_request.payload,
            config_payload: None,
            method: sdk_request.method,
            capability_id: params.capability_id.clone(),
        };
        let response = self
            .capabilities
            .execute(backend_request)
            .await
            .map_err(|source| RelayError::Backend {
                context: "capability backend",
                source,
            })?;
        let result = capability_result(response);
        gojson::to_raw_value(&result).map_err(|err| {
            RelayError::Internal(format!("failed to marshal capability result: {err}"))
        })
    }
}

/// Old DAG-SDK capabilities read `inputs`: when the payload is a `values.v1.Value` holding a
/// map, that map is also sent as `inputs`. Anything else leaves `inputs` empty.
fn legacy_inputs(payload: Option<&Any>) -> Option<Map> {
    let value: Value = crate::proto::unpack(payload?).ok()?;
    match value.kind? {
        value::Kind::MapValue(map) => Some(map),
        _ => None,
    }
}

/// The result for a backend response: its error rendered as the Go client renders it, or its
/// payload (or legacy map value) as a deterministic `sdk.v1alpha.CapabilityResponse`.
pub(crate) fn capability_result(
    response: capabilities::CapabilityResponse,
) -> CapabilityResponseResult {
    if !response.error.is_empty() {
        return CapabilityResponseResult {
            error: CapabilityError::parse(&response.error).to_string(),
            ..CapabilityResponseResult::default()
        };
    }
    let payload = match (response.payload, response.value) {
        (Some(payload), _) => Some(payload),
        (None, Some(map)) => Some(crate::proto::pack(&Value {
            kind: Some(value::Kind::MapValue(map)),
        })),
        (None, None) => None,
    };
    let sdk_response = sdk::CapabilityResponse {
        response: payload.map(sdk::capability_response::Response::Payload),
    };
    let bytes = sdk_response.encode_to_vec();
    CapabilityResponseResult {
        payload: if bytes.is_empty() {
            String::new()
        } else {
            STANDARD.encode(bytes)
        },
        error: String::new(),
    }
}
