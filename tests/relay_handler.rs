//! The relay core end to end behind its traits: one request in, one exact response out.
//! Backends are the in-memory doubles; the attestation double really compares user data.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use confidential_relay::attestation::{AttestationVerifier, FormatError, Problem, Rejection};
use confidential_relay::backend::BackendError;
use confidential_relay::backend::memory::{MemoryCapabilities, MemoryVault};
use confidential_relay::jsonrpc::{Request, Response};
use confidential_relay::proto::capabilities::CapabilityResponse;
use confidential_relay::proto::values::{Map, Value, value::Kind};
use confidential_relay::proto::vault::{
    EncryptedShares, GetSecretsResponse, SecretData, SecretIdentifier, SecretResponse,
    secret_response,
};
use confidential_relay::proto::{pack, sdk};
use confidential_relay::relay::binding::canonical_forms;
use confidential_relay::relay::domain_hash::{DomainHashFormula, domain_hash};
use confidential_relay::relay::{Limits, Relay, RelayConfig};
use prost::Message as _;
use serde_json::value::RawValue;

/// Accepts a document whose bytes equal one of the candidate user data values; the bytes
/// `MALFORMED` are a malformed document; anything else carries the wrong user data.
struct UserDataDouble;

impl AttestationVerifier for UserDataDouble {
    fn verify(&self, document: &[u8], candidates: &[&[u8]]) -> Result<(), Rejection> {
        if document == b"MALFORMED" {
            return Err(Rejection::Malformed(FormatError {
                field: "document",
                problem: Problem::Truncated,
            }));
        }
        if candidates.contains(&document) {
            Ok(())
        } else {
            Err(Rejection::UserDataMismatch)
        }
    }
}

const OWNER: &str = "0xab5801a7d398351b8be11c439e05c5b3259aec9b";
const OWNER_EIP55: &str = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";
const ENCLAVE_KEY: &str = "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
const EXECUTION: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn config() -> RelayConfig {
    RelayConfig {
        don_id: 42,
        don_config_version: 7,
        ..RelayConfig::default()
    }
}

fn relay_with(config: RelayConfig, vault: MemoryVault, caps: MemoryCapabilities) -> Relay {
    Relay::new(
        config,
        Arc::new(UserDataDouble),
        Arc::new(vault),
        Arc::new(caps),
    )
}

/// Appends an attestation bound to `params` (the as-received form, as a Go enclave that
/// hashed exactly these bytes would) with the current formula.
fn attest(method: &str, params: &str) -> String {
    attest_with(method, params, DomainHashFormula::Current, false)
}

fn attest_with(method: &str, params: &str, formula: DomainHashFormula, declared: bool) -> String {
    let raw: Box<RawValue> = serde_json::from_str(params).unwrap();
    let forms = canonical_forms(method, &raw).unwrap();
    let form = if declared {
        &forms.declared_order
    } else {
        &forms.as_received
    };
    let user_data = domain_hash(formula, forms.tag, form);
    let body = params.trim_end().strip_suffix('}').unwrap();
    format!(
        "{body},\"attestation\":\"{}\"}}",
        STANDARD.encode(user_data)
    )
}

fn request(method: &str, params: Option<&str>) -> Request {
    let params = params
        .map(|p| format!(",\"params\":{p}"))
        .unwrap_or_default();
    Request::from_slice(
        format!("{{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"{method}\"{params}}}")
            .as_bytes(),
    )
    .unwrap()
}

async fn call(relay: &Relay, method: &str, params: Option<&str>) -> String {
    let response: Response = relay.handle(request(method, params)).await;
    String::from_utf8(response.to_vec()).unwrap()
}

fn error_json(method: &str, code: i64, message: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": "req-1", "method": method,
        "error": {"code": code, "message": message}})
    .to_string()
}

fn result_json(method: &str, result: &str) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"{method}\",\"result\":{result}}}")
}

const SECRETS: &str = "confidential.secrets.get";
const CAPABILITY: &str = "confidential.capability.execute";

fn secrets_params(secrets: &str) -> String {
    format!(
        "{{\"workflow_id\":\"wf-secrets-1\",\"owner\":\"{OWNER}\",\"execution_id\":\"{EXECUTION}\",\
         \"org_id\":\"org-123\",\"secrets\":{secrets},\"enclave_public_key\":\"{ENCLAVE_KEY}\"}}"
    )
}

fn vault_answer(key: &str, namespace: &str, result: secret_response::Result) -> GetSecretsResponse {
    GetSecretsResponse {
        responses: vec![SecretResponse {
            id: Some(SecretIdentifier {
                key: key.into(),
                namespace: namespace.into(),
                owner: OWNER_EIP55.into(),
            }),
            result: Some(result),
        }],
    }
}

fn vault_data(shares: Vec<String>, binary: Vec<Vec<u8>>) -> secret_response::Result {
    secret_response::Result::Data(SecretData {
        encrypted_value: hex::encode("encrypted-value"),
        encrypted_decryption_key_shares: vec![
            EncryptedShares {
                shares: vec!["00".into()],
                encryption_key: "ffff".into(),
                binary_shares: vec![],
            },
            EncryptedShares {
                shares,
                encryption_key: ENCLAVE_KEY.into(),
                binary_shares: binary,
            },
        ],
    })
}

#[tokio::test]
async fn secrets_get_success_calls_vault_with_normalized_owner() {
    let vault = MemoryVault::answering(vault_answer(
        "API_KEY",
        "main",
        vault_data(vec![hex::encode("share-1")], vec![]),
    ));
    let relay = relay_with(config(), vault.clone(), MemoryCapabilities::new());
    let params = attest(
        SECRETS,
        &secrets_params(r#"[{"key":"API_KEY","namespace":""}]"#),
    );
    assert_eq!(
        call(&relay, SECRETS, Some(&params)).await,
        result_json(
            SECRETS,
            r#"{"secrets":[{"id":{"key":"API_KEY","namespace":"main"},"ciphertext":"ZW5jcnlwdGVkLXZhbHVl","encrypted_shares":["c2hhcmUtMQ=="]}]}"#
        )
    );
    let sent = vault.requests();
    assert_eq!(sent.len(), 1);
    let metadata = sent[0].metadata.clone().unwrap();
    assert_eq!(metadata.workflow_id, "wf-secrets-1");
    assert_eq!(metadata.workflow_owner, OWNER_EIP55);
    assert_eq!(metadata.workflow_execution_id, EXECUTION);
    assert_eq!(metadata.workflow_don_id, 42);
    assert_eq!(metadata.workflow_don_config_version, 7);
    assert_eq!(metadata.reference_id, "req-1");
    assert_eq!(
        metadata.org_id, "",
        "org id is forwarded only behind the gate"
    );
    let request: confidential_relay::proto::vault::GetSecretsRequest =
        confidential_relay::proto::unpack(sent[0].payload.as_ref().unwrap()).unwrap();
    assert_eq!(request.requests.len(), 1);
    let id = request.requests[0].id.clone().unwrap();
    assert_eq!(
        (id.key.as_str(), id.namespace.as_str(), id.owner.as_str()),
        ("API_KEY", "main", OWNER_EIP55)
    );
    assert_eq!(
        request.requests[0].encryption_keys,
        vec![ENCLAVE_KEY.to_owned()]
    );
}

#[tokio::test]
async fn org_id_is_forwarded_when_the_gate_is_on() {
    let vault = MemoryVault::answering(vault_answer(
        "K",
        "main",
        vault_data(vec![], vec![b"s".to_vec()]),
    ));
    let relay = relay_with(
        RelayConfig {
            forward_org_id: true,
            ..config()
        },
        vault.clone(),
        MemoryCapabilities::new(),
    );
    let params = attest(
        SECRETS,
        &secrets_params(r#"[{"key":"K","namespace":"main"}]"#),
    );
    assert_eq!(
        call(&relay, SECRETS, Some(&params)).await,
        result_json(
            SECRETS,
            r#"{"secrets":[{"id":{"key":"K","namespace":"main"},"ciphertext":"ZW5jcnlwdGVkLXZhbHVl","encrypted_shares":["cw=="]}]}"#
        )
    );
    assert_eq!(
        vault.requests()[0].metadata.clone().unwrap().org_id,
        "org-123"
    );
}

#[tokio::test]
async fn vault_user_error_is_invalid_params_and_system_error_is_masked() {
    let user = MemoryVault::answering(vault_answer(
        "API_TOKEN",
        "main",
        secret_response::Result::Error("key does not exist".into()),
    ));
    let relay = relay_with(config(), user, MemoryCapabilities::new());
    let params = attest(
        SECRETS,
        &secrets_params(r#"[{"key":"API_TOKEN","namespace":"main"}]"#),
    );
    assert_eq!(
        call(&relay, SECRETS, Some(&params)).await,
        error_json(
            SECRETS,
            -32602,
            "vault error for secret main/API_TOKEN: key does not exist"
        )
    );

    let system = MemoryVault::answering(vault_answer(
        "API_TOKEN",
        "main",
        secret_response::Result::Error("failed to handle get secret request".into()),
    ));
    let relay = relay_with(config(), system, MemoryCapabilities::new());
    assert_eq!(
        call(&relay, SECRETS, Some(&params)).await,
        error_json(SECRETS, -32603, "internal error")
    );
}

#[tokio::test]
async fn vault_outage_and_short_answers_are_masked_internal_errors() {
    let params = attest(SECRETS, &secrets_params(r#"[{"key":"A"},{"key":"B"}]"#));
    let down = MemoryVault::failing(BackendError::Unavailable("connection refused".into()));
    let relay = relay_with(config(), down, MemoryCapabilities::new());
    assert_eq!(
        call(&relay, SECRETS, Some(&params)).await,
        error_json(SECRETS, -32603, "internal error")
    );

    // Two secrets asked, one answered: no partial results.
    let short = MemoryVault::answering(vault_answer(
        "A",
        "main",
        vault_data(vec!["01".into()], vec![]),
    ));
    let relay = relay_with(config(), short, MemoryCapabilities::new());
    assert_eq!(
        call(&relay, SECRETS, Some(&params)).await,
        error_json(SECRETS, -32603, "internal error")
    );
}

fn sdk_payload(payload: Option<prost_types::Any>) -> String {
    let request = sdk::CapabilityRequest {
        id: "ignored@1.0.0".into(),
        payload,
        method: "PerformAction".into(),
        callback_id: 17,
    };
    STANDARD.encode(request.encode_to_vec())
}

fn capability_params(capability_id: &str, payload: &str) -> String {
    format!(
        "{{\"workflow_id\":\"wf-1\",\"owner\":\"{OWNER}\",\"execution_id\":\"{EXECUTION}\",\"org_id\":\"org-1\",\
         \"reference_id\":\"17\",\"capability_id\":\"{capability_id}\",\"payload\":\"{payload}\"}}"
    )
}

fn string_value(text: &str) -> Value {
    Value {
        kind: Some(Kind::StringValue(text.into())),
    }
}

#[tokio::test]
async fn capability_execute_success_returns_sdk_response_with_backend_any() {
    let backend_any = pack(&string_value("ok"));
    let caps = MemoryCapabilities::new().answering(
        "my-cap@1.0.0",
        CapabilityResponse {
            payload: Some(backend_any),
            ..CapabilityResponse::default()
        },
    );
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("unused".into())),
        caps.clone(),
    );
    let input = pack(&string_value("hi"));
    let params = attest(
        CAPABILITY,
        &capability_params("my-cap@1.0.0", &sdk_payload(Some(input.clone()))),
    );
    // kat proto/kat4-sdk-capability-response-ok: the sdk response carrying Any(Value "ok").
    assert_eq!(
        call(&relay, CAPABILITY, Some(&params)).await,
        result_json(
            CAPABILITY,
            r#"{"payload":"CisKI3R5cGUuZ29vZ2xlYXBpcy5jb20vdmFsdWVzLnYxLlZhbHVlEgQKAm9r"}"#
        )
    );
    let sent = caps.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].capability_id, "my-cap@1.0.0");
    assert_eq!(sent[0].method, "PerformAction");
    assert_eq!(sent[0].payload, Some(input));
    assert_eq!(sent[0].config, Some(Map::default()));
    assert_eq!(
        sent[0].inputs,
        Some(Map::default()),
        "a string Value fills no legacy inputs"
    );
    let metadata = sent[0].metadata.clone().unwrap();
    assert_eq!(metadata.reference_id, "17");
    assert_eq!(metadata.workflow_owner, OWNER_EIP55);
    assert_eq!(metadata.workflow_id, "wf-1");
}

#[tokio::test]
async fn capability_map_payload_also_fills_legacy_inputs_and_value_result_is_wrapped() {
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("echo".to_owned(), string_value("hello"));
    let map = Map { fields };
    let caps = MemoryCapabilities::new().answering(
        "echo@1.0.0",
        CapabilityResponse {
            value: Some(map.clone()),
            ..CapabilityResponse::default()
        },
    );
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("unused".into())),
        caps.clone(),
    );
    let input = pack(&Value {
        kind: Some(Kind::MapValue(map.clone())),
    });
    let params = attest(
        CAPABILITY,
        &capability_params("echo@1.0.0", &sdk_payload(Some(input.clone()))),
    );
    let expected_payload = STANDARD.encode(
        sdk::CapabilityResponse {
            response: Some(sdk::capability_response::Response::Payload(input)),
        }
        .encode_to_vec(),
    );
    assert_eq!(
        call(&relay, CAPABILITY, Some(&params)).await,
        result_json(
            CAPABILITY,
            &format!("{{\"payload\":\"{expected_payload}\"}}")
        )
    );
    assert_eq!(caps.requests()[0].inputs, Some(map));
}

#[tokio::test]
async fn capability_error_is_a_successful_response_with_the_go_rendering() {
    let caps = MemoryCapabilities::new()
        .answering(
            "legacy@1.0.0",
            CapabilityResponse {
                error: "execution failed".into(),
                ..Default::default()
            },
        )
        .answering(
            "typed@1.0.0",
            CapabilityResponse {
                error: "Public:User:InvalidArgument:bad: input".into(),
                ..Default::default()
            },
        )
        .answering("empty@1.0.0", CapabilityResponse::default());
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("unused".into())),
        caps,
    );
    for (id, result) in [
        (
            "legacy@1.0.0",
            r#"{"error":"[2]Unknown: execution failed"}"#,
        ),
        (
            "typed@1.0.0",
            r#"{"error":"[3]InvalidArgument: bad: input"}"#,
        ),
        ("empty@1.0.0", "{}"),
    ] {
        let params = attest(CAPABILITY, &capability_params(id, &sdk_payload(None)));
        assert_eq!(
            call(&relay, CAPABILITY, Some(&params)).await,
            result_json(CAPABILITY, result),
            "{id}"
        );
    }
}

#[tokio::test]
async fn missing_capability_backend_is_masked_internal_error() {
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("unused".into())),
        MemoryCapabilities::new(),
    );
    let params = attest(
        CAPABILITY,
        &capability_params("nobody@1.0.0", &sdk_payload(None)),
    );
    assert_eq!(
        call(&relay, CAPABILITY, Some(&params)).await,
        error_json(CAPABILITY, -32603, "internal error")
    );
}

#[tokio::test]
async fn unknown_method_and_missing_params() {
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("x".into())),
        MemoryCapabilities::new(),
    );
    assert_eq!(
        call(&relay, "confidential.other", Some("{}")).await,
        error_json(
            "confidential.other",
            -32601,
            "unsupported method: confidential.other"
        )
    );
    for method in [SECRETS, CAPABILITY] {
        assert_eq!(
            call(&relay, method, None).await,
            error_json(method, -32602, "missing params")
        );
        assert_eq!(
            call(&relay, method, Some("null")).await,
            error_json(method, -32602, "missing params")
        );
    }
}

/// Each validation rule, in order, answered before any attestation or backend work (the
/// double would answer `user_data_mismatch` for these documents, and the vault would fail).
#[tokio::test]
async fn validation_failures_name_the_field() {
    let vault = MemoryVault::failing(BackendError::Remote("must not be called".into()));
    let caps = MemoryCapabilities::new();
    let relay = relay_with(
        RelayConfig {
            limits: Limits { max_secrets: 2 },
            ..config()
        },
        vault.clone(),
        caps.clone(),
    );
    let att = r#","attestation":"d3Jvbmc=""#;
    let key = ENCLAVE_KEY;
    let secrets_cases: Vec<(String, &str)> = vec![
        (
            format!(r#"{{"owner":"{OWNER}"}}"#),
            "workflow_id is required",
        ),
        (r#"{"workflow_id":"w"}"#.to_owned(), "owner is required"),
        (
            r#"{"workflow_id":"w","owner":"0xzz"}"#.to_owned(),
            r#"invalid owner address: "0xzz" (want 40 hex digits, optionally 0x-prefixed)"#,
        ),
        (
            format!(r#"{{"workflow_id":"w","owner":"{OWNER}"}}"#),
            "execution_id is required",
        ),
        (
            format!(r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":null}}"#),
            "secrets is required",
        ),
        (
            format!(r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[]}}"#),
            "secrets is required",
        ),
        (
            format!(
                r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[{{"key":"a"}},{{"key":"b"}},{{"key":"c"}}]}}"#
            ),
            "secrets: at most 2 entries allowed, got 3",
        ),
        (
            format!(
                r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[{{"key":"a"}},{{"namespace":"n"}}]}}"#
            ),
            "secrets[1].key is required",
        ),
        (
            format!(
                r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[{{"key":"a"}}]}}"#
            ),
            "enclave_public_key is required",
        ),
        (
            format!(
                r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[{{"key":"a"}}],"enclave_public_key":"aabbcc"}}"#
            ),
            "enclave_public_key must be 32 bytes (64 hex digits), got 3 bytes",
        ),
        (
            format!(
                r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[{{"key":"a"}}],"enclave_public_key":"xyz"}}"#
            ),
            "enclave_public_key is not hex: Odd number of digits",
        ),
        (
            format!(
                r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[{{"key":"a"}}],"enclave_public_key":"{key}"}}"#
            ),
            "attestation is required",
        ),
        (
            format!(
                r#"{{"workflow_id":"w","owner":"{OWNER}","execution_id":"e","secrets":[{{"key":"a"}}],"enclave_public_key":"{key}","attestation":"***"}}"#
            ),
            "attestation is not standard base64: Invalid symbol 42, offset 0.",
        ),
    ];
    for (params, message) in secrets_cases {
        assert_eq!(
            call(&relay, SECRETS, Some(&params)).await,
            error_json(SECRETS, -32602, message),
            "{params}"
        );
    }
    let base = format!(
        r#""workflow_id":"w","owner":"0X{}","execution_id":"e""#,
        &OWNER[2..]
    );
    let capability_cases: Vec<(String, String)> = vec![
        (format!("{{{base}{att}}}"), "reference_id is required".into()),
        (format!(r#"{{{base},"reference_id":"1"{att}}}"#), "capability_id is required".into()),
        (format!(r#"{{{base},"reference_id":"1","capability_id":"vault@1.0.0"{att}}}"#), "capability_id vault@1.0.0 is reserved: use confidential.secrets.get".into()),
        (format!(r#"{{{base},"reference_id":"1","capability_id":"c"{att}}}"#), "payload is required".into()),
        (format!(r#"{{{base},"reference_id":"1","capability_id":"c","payload":"!"{att}}}"#), "payload is not standard base64: Invalid symbol 33, offset 0.".into()),
        (format!(r#"{{{base},"reference_id":"1","capability_id":"c","payload":"/w=="{att}}}"#), "payload is not a valid sdk.v1alpha.CapabilityRequest: failed to decode Protobuf message: invalid varint".into()),
    ];
    for (params, message) in capability_cases {
        assert_eq!(
            call(&relay, CAPABILITY, Some(&params)).await,
            error_json(CAPABILITY, -32602, &message),
            "{params}"
        );
    }
    assert!(
        vault.requests().is_empty() && caps.requests().is_empty(),
        "no backend was called"
    );
}

#[tokio::test]
async fn attestation_rejections_carry_only_the_reason_token() {
    let vault = MemoryVault::failing(BackendError::Remote("must not be called".into()));
    let relay = relay_with(config(), vault.clone(), MemoryCapabilities::new());
    let params = secrets_params(r#"[{"key":"A"}]"#);
    let wrong = format!(
        "{},\"attestation\":\"d3Jvbmc=\"}}",
        params.strip_suffix('}').unwrap()
    );
    assert_eq!(
        call(&relay, SECRETS, Some(&wrong)).await,
        error_json(SECRETS, -32602, "attestation rejected: user_data_mismatch")
    );
    let malformed = format!(
        "{},\"attestation\":\"{}\"}}",
        params.strip_suffix('}').unwrap(),
        STANDARD.encode("MALFORMED")
    );
    assert_eq!(
        call(&relay, SECRETS, Some(&malformed)).await,
        error_json(SECRETS, -32602, "attestation rejected: malformed")
    );
    // A document bound to other params (a different secret) is refused.
    let other = attest(SECRETS, &secrets_params(r#"[{"key":"B"}]"#));
    let swapped = other.replace(r#"[{"key":"B"}]"#, r#"[{"key":"A"}]"#);
    assert_eq!(
        call(&relay, SECRETS, Some(&swapped)).await,
        error_json(SECRETS, -32602, "attestation rejected: user_data_mismatch")
    );
    assert!(vault.requests().is_empty());
}

#[tokio::test]
async fn both_canonical_forms_and_the_configured_formula_are_honoured() {
    let answer = vault_answer("A", "main", vault_data(vec!["01".into()], vec![]));
    let ok = result_json(
        SECRETS,
        r#"{"secrets":[{"id":{"key":"A","namespace":"main"},"ciphertext":"ZW5jcnlwdGVkLXZhbHVl","encrypted_shares":["AQ=="]}]}"#,
    );
    // Reordered, with an unknown member: the declared-order hash (reference enclave) and the
    // as-received hash (a newer enclave that knows the member) are both accepted.
    let wire = format!(
        r#"{{"enclave_public_key":"{ENCLAVE_KEY}","callback_id":7,"secrets":[{{"key":"A","namespace":"main"}}],"execution_id":"e","owner":"{OWNER}","workflow_id":"w"}}"#
    );
    for declared in [true, false] {
        let relay = relay_with(
            config(),
            MemoryVault::answering(answer.clone()),
            MemoryCapabilities::new(),
        );
        let params = attest_with(SECRETS, &wire, DomainHashFormula::Current, declared);
        assert_eq!(
            call(&relay, SECRETS, Some(&params)).await,
            ok,
            "declared={declared}"
        );
    }
    // A legacy-formula document is refused under the default formula and accepted when configured.
    let legacy = attest_with(SECRETS, &wire, DomainHashFormula::Legacy, true);
    let relay = relay_with(
        config(),
        MemoryVault::answering(answer.clone()),
        MemoryCapabilities::new(),
    );
    assert_eq!(
        call(&relay, SECRETS, Some(&legacy)).await,
        error_json(SECRETS, -32602, "attestation rejected: user_data_mismatch")
    );
    let relay = relay_with(
        RelayConfig {
            domain_hash: DomainHashFormula::Legacy,
            ..config()
        },
        MemoryVault::answering(answer),
        MemoryCapabilities::new(),
    );
    assert_eq!(call(&relay, SECRETS, Some(&legacy)).await, ok);
}

#[tokio::test]
async fn malformed_params_are_invalid_params() {
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("x".into())),
        MemoryCapabilities::new(),
    );
    let cases = [
        (r#""a string""#, "params must be a JSON object"),
        ("[1,2]", "params must be a JSON object"),
        (
            r#"{"workflow_id":"a","workflow_id":"b"}"#,
            r#"duplicate key "workflow_id" in params"#,
        ),
        (
            r#"{"secrets":[{"key":"a","key":"b"}]}"#,
            r#"duplicate key "key" in params"#,
        ),
        (
            r#"{"future":{"x":1,"x":2}}"#,
            r#"duplicate key "x" in params"#,
        ),
        (
            r#"{"workflow_id":5}"#,
            "invalid params: invalid type: integer `5`, expected a string at line 1 column 16",
        ),
        (
            r#"{"secrets":"no"}"#,
            "invalid params: invalid type: string \"no\", expected a sequence at line 1 column 15",
        ),
    ];
    for (params, message) in cases {
        assert_eq!(
            call(&relay, SECRETS, Some(params)).await,
            error_json(SECRETS, -32602, message),
            "{params}"
        );
    }
}

/// Truncated and garbage params for both methods: every one gets exactly one well-formed
/// answer, never a panic.
#[tokio::test]
async fn truncated_and_garbage_params_never_panic() {
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("x".into())),
        MemoryCapabilities::new(),
    );
    let secrets = attest(SECRETS, &secrets_params(r#"[{"key":"A"}]"#));
    let capability = attest(
        CAPABILITY,
        &capability_params("c@1", &sdk_payload(Some(pack(&string_value("x"))))),
    );
    let mut state = 0x2545_f491_u32;
    for (method, params) in [(SECRETS, &secrets), (CAPABILITY, &capability)] {
        for cut in 0..params.len() {
            let Some(prefix) = params.get(..cut) else {
                continue;
            };
            // Only prefixes that are still a JSON value can reach the relay inside a request.
            let Ok(raw) = serde_json::from_str::<Box<RawValue>>(prefix) else {
                continue;
            };
            let response = relay.handle(request_with_raw(method, raw)).await;
            assert!(response.error().is_some());
        }
        for _ in 0..300 {
            let mut bytes = params.as_bytes().to_vec();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let index = state as usize % bytes.len();
                bytes[index] = (state >> 8) as u8;
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let Ok(raw) = serde_json::from_str::<Box<RawValue>>(&text) else {
                continue;
            };
            let response = relay.handle(request_with_raw(method, raw)).await;
            assert_eq!(response.id, "req-1");
        }
    }
}

fn request_with_raw(method: &str, params: Box<RawValue>) -> Request {
    Request {
        jsonrpc: "2.0".into(),
        id: "req-1".into(),
        method: method.into(),
        params: Some(params),
        auth: String::new(),
    }
}

#[tokio::test]
async fn echoed_values_are_bounded() {
    let relay = relay_with(
        config(),
        MemoryVault::failing(BackendError::Remote("x".into())),
        MemoryCapabilities::new(),
    );
    let huge = "z".repeat(100_000);
    for params in [
        format!(r#"{{"secrets":"{huge}"}}"#),
        format!(r#"{{"workflow_id":"w","owner":"{huge}"}}"#),
    ] {
        let response = relay.handle(request(SECRETS, Some(&params))).await;
        let error = response.error().expect("an error");
        assert_eq!(error.code, -32602);
        assert!(
            error.message.len() < 300,
            "message of {} bytes",
            error.message.len()
        );
    }
}

/// A vault that never answers.
struct HangingVault;

#[async_trait::async_trait]
impl confidential_relay::backend::VaultBackend for HangingVault {
    async fn get_secrets(
        &self,
        _metadata: confidential_relay::proto::capabilities::RequestMetadata,
        _request: confidential_relay::proto::vault::GetSecretsRequest,
    ) -> Result<GetSecretsResponse, BackendError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_request_past_its_timeout_gets_server_timeout() {
    let config = RelayConfig {
        request_timeout: std::time::Duration::from_millis(100),
        ..config()
    };
    let relay = Relay::new(
        config,
        Arc::new(UserDataDouble),
        Arc::new(HangingVault),
        Arc::new(MemoryCapabilities::new()),
    );
    let params = attest(SECRETS, &secrets_params(r#"[{"key":"A"}]"#));
    assert_eq!(
        call(&relay, SECRETS, Some(&params)).await,
        error_json(SECRETS, -32000, "request timed out after 100 ms")
    );
}
