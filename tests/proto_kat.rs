//! The `proto/*` known-answer vectors of kat.json, reproduced byte for byte by the hand-written
//! prost messages, and decoded back.

mod common;

use confidential_relay::backend::vault_capability_request;
use confidential_relay::proto::capabilities::{CapabilityRequest, RequestMetadata};
use confidential_relay::proto::confidentialworkflow::WorkflowExecution;
use confidential_relay::proto::sdk::capability_response::Response;
use confidential_relay::proto::sdk::{CapabilityRequest as SdkRequest, CapabilityResponse};
use confidential_relay::proto::values::{Value, value::Kind};
use confidential_relay::proto::vault::{GetSecretsRequest, SecretIdentifier, SecretRequest};
use confidential_relay::proto::{pack, unpack};
use prost::Message;

fn expected_hex(name: &str, field: &str) -> String {
    let vector = common::kat_vector(name);
    vector["expected"][field]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: expected.{field} missing"))
        .to_string()
}

fn input_str(name: &str, field: &str) -> String {
    common::kat_vector(name)["inputs"][field]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: inputs.{field} missing"))
        .to_string()
}

fn string_value(s: &str) -> Value {
    Value {
        kind: Some(Kind::StringValue(s.into())),
    }
}

#[test]
fn kat4_sdk_capability_request() {
    let name = "proto/kat4-sdk-capability-request";
    let inputs = common::kat_vector(name)["inputs"].clone();
    let payload = pack(&string_value(
        inputs["payload_value"]["string_value"].as_str().unwrap(),
    ));
    assert_eq!(payload.type_url, inputs["payload_any_type_url"]);
    let request = SdkRequest {
        id: input_str(name, "id"),
        payload: Some(payload),
        method: input_str(name, "method"),
        callback_id: i32::try_from(inputs["callback_id"].as_i64().unwrap()).unwrap(),
    };
    let bytes = request.encode_to_vec();
    assert_eq!(hex::encode(&bytes), expected_hex(name, "hex"));
    let decoded = SdkRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        unpack::<Value>(decoded.payload.as_ref().unwrap()),
        Ok(string_value("hi"))
    );
    assert_eq!(decoded, request);
}

#[test]
fn kat4_sdk_capability_response_error() {
    let name = "proto/kat4-sdk-capability-response-error";
    let response = CapabilityResponse {
        response: Some(Response::Error(input_str(name, "error"))),
    };
    assert_eq!(
        hex::encode(response.encode_to_vec()),
        expected_hex(name, "hex")
    );
}

#[test]
fn kat4_sdk_capability_response_ok() {
    let name = "proto/kat4-sdk-capability-response-ok";
    let response = CapabilityResponse {
        response: Some(Response::Payload(pack(&string_value("ok")))),
    };
    let bytes = response.encode_to_vec();
    assert_eq!(hex::encode(&bytes), expected_hex(name, "hex"));
    assert_eq!(
        CapabilityResponse::decode(bytes.as_slice()).unwrap(),
        response
    );
}

#[test]
fn empty_sdk_response_is_zero_bytes() {
    assert!(CapabilityResponse::default().encode_to_vec().is_empty());
}

fn kat5_request() -> GetSecretsRequest {
    let name = "proto/kat5-vault-get-secrets-request";
    let keys = common::kat_vector(name)["inputs"]["encryption_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    GetSecretsRequest {
        requests: vec![SecretRequest {
            id: Some(SecretIdentifier {
                key: input_str(name, "key"),
                namespace: input_str(name, "namespace"),
                owner: input_str(name, "owner"),
            }),
            encryption_keys: keys,
        }],
        ..Default::default()
    }
}

#[test]
fn kat5_vault_get_secrets_request_and_any() {
    let name = "proto/kat5-vault-get-secrets-request";
    let request = kat5_request();
    assert_eq!(
        hex::encode(request.encode_to_vec()),
        expected_hex(name, "hex")
    );
    let any = pack(&request);
    assert_eq!(any.type_url, "type.googleapis.com/vault.GetSecretsRequest");
    assert_eq!(
        hex::encode(any.encode_to_vec()),
        expected_hex(name, "any_hex")
    );
    assert_eq!(unpack::<GetSecretsRequest>(&any), Ok(request));
}

#[test]
fn kat6_vault_capability_request() {
    let name = "proto/kat6-loop-capability-request-vault";
    let md = common::kat_vector(name)["inputs"]["metadata"].clone();
    let text = |field: &str| md[field].as_str().unwrap().to_string();
    let number = |field: &str| u32::try_from(md[field].as_u64().unwrap()).unwrap();
    let metadata = RequestMetadata {
        workflow_id: text("workflow_id"),
        workflow_execution_id: text("workflow_execution_id"),
        workflow_owner: text("workflow_owner"),
        workflow_don_id: number("workflow_don_id"),
        workflow_don_config_version: number("workflow_don_config_version"),
        reference_id: text("reference_id"),
        ..Default::default()
    };
    let request = vault_capability_request(metadata, &kat5_request());
    assert_eq!(request.method, input_str(name, "method"));
    assert_eq!(request.capability_id, input_str(name, "capabilityId"));
    let bytes = request.encode_to_vec();
    assert_eq!(hex::encode(&bytes), expected_hex(name, "hex"));
    assert_eq!(
        CapabilityRequest::decode(bytes.as_slice()).unwrap(),
        request
    );
}

#[test]
fn workflow_execution_public_data() {
    let name = "proto/workflow-execution-public-data";
    let execution = WorkflowExecution {
        workflow_id: input_str(name, "workflow_id"),
        owner: input_str(name, "owner"),
        execution_id: input_str(name, "execution_id"),
        ..Default::default()
    };
    let bytes = execution.encode_to_vec();
    assert_eq!(hex::encode(&bytes), expected_hex(name, "hex"));
    assert_eq!(
        WorkflowExecution::decode(bytes.as_slice()).unwrap(),
        execution
    );
}

#[test]
fn vault_translate_responses_decode_and_reencode() {
    use confidential_relay::backend::vault_response;
    use confidential_relay::proto::capabilities::CapabilityResponse as LoopResponse;
    use confidential_relay::proto::vault::{GetSecretsResponse, secret_response::Result as R};

    for name in [
        "vault-translate/kat11-hex-shares",
        "vault-translate/kat11b-binary-shares",
        "vault-translate/kat11c-user-error",
    ] {
        let bytes = hex::decode(input_str(name, "get_secrets_response_hex")).unwrap();
        let response = GetSecretsResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(response.encode_to_vec(), bytes, "{name}");
        assert_eq!(response.responses.len(), 1, "{name}");
    }

    let name = "vault-translate/kat11-hex-shares";
    let wrapped = hex::decode(input_str(name, "capability_response_hex")).unwrap();
    let loop_response = LoopResponse::decode(wrapped.as_slice()).unwrap();
    assert_eq!(loop_response.encode_to_vec(), wrapped);
    let response = vault_response(loop_response).unwrap();
    let Some(R::Data(data)) = &response.responses[0].result else {
        panic!("kat11 holds data");
    };
    assert_eq!(data.encrypted_value, hex::encode("encrypted-value"));
    assert_eq!(
        data.encrypted_decryption_key_shares[1].encryption_key,
        "aabbcc"
    );
    assert_eq!(
        data.encrypted_decryption_key_shares[1].shares,
        [hex::encode("share-1"), hex::encode("share-2")]
    );

    let name = "vault-translate/kat11b-binary-shares";
    let bytes = hex::decode(input_str(name, "get_secrets_response_hex")).unwrap();
    let response = GetSecretsResponse::decode(bytes.as_slice()).unwrap();
    let Some(R::Data(data)) = &response.responses[0].result else {
        panic!("kat11b holds data");
    };
    assert_eq!(
        data.encrypted_decryption_key_shares[0].binary_shares,
        [b"bin-share-1".to_vec(), vec![0x00, 0xff]]
    );
}
