//! The in-memory doubles behave like the traits promise: the vault double wraps the request
//! the way the wire client does; the capabilities double routes by id and records requests.

use confidential_relay::backend::memory::{MemoryCapabilities, MemoryVault};
use confidential_relay::backend::{BackendError, CapabilityBackend, VaultBackend};
use confidential_relay::proto::capabilities::{
    CapabilityRequest, CapabilityResponse, RequestMetadata,
};
use confidential_relay::proto::vault::{GetSecretsRequest, GetSecretsResponse};
use confidential_relay::proto::{pack, vault};

#[tokio::test]
async fn memory_vault_records_wire_request_and_answers() {
    let vault_double = MemoryVault::answering(GetSecretsResponse::default());
    let metadata = RequestMetadata {
        workflow_id: "wf-1".into(),
        reference_id: "7".into(),
        ..Default::default()
    };
    let request = GetSecretsRequest::default();
    let answer = vault_double
        .get_secrets(metadata.clone(), request.clone())
        .await;
    assert_eq!(answer, Ok(GetSecretsResponse::default()));
    let recorded = vault_double.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].capability_id, vault::VAULT_CAPABILITY_ID);
    assert_eq!(recorded[0].method, vault::METHOD_SECRETS_GET);
    assert_eq!(recorded[0].metadata, Some(metadata));
    assert_eq!(recorded[0].payload, Some(pack(&request)));

    let failing = MemoryVault::failing(BackendError::Remote("down".into()));
    let err = failing
        .get_secrets(RequestMetadata::default(), request)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "backend returned an error: down");
}

#[tokio::test]
async fn memory_capabilities_route_by_id() {
    let response = CapabilityResponse {
        error: "Public:User:InvalidArgument:bad".into(),
        ..Default::default()
    };
    let caps = MemoryCapabilities::new()
        .answering("a@1.0.0", response.clone())
        .with("b@1.0.0", |_| {
            Err(BackendError::Unavailable("refused".into()))
        });
    let request = |id: &str| CapabilityRequest {
        capability_id: id.into(),
        ..Default::default()
    };
    assert_eq!(caps.execute(request("a@1.0.0")).await, Ok(response));
    assert_eq!(
        caps.execute(request("b@1.0.0")).await,
        Err(BackendError::Unavailable("refused".into()))
    );
    let missing = caps.execute(request("c@1.0.0")).await.unwrap_err();
    assert_eq!(missing.to_string(), "capability not found: c@1.0.0");
    let ids: Vec<_> = caps
        .requests()
        .into_iter()
        .map(|r| r.capability_id)
        .collect();
    assert_eq!(ids, ["a@1.0.0", "b@1.0.0", "c@1.0.0"]);
}
