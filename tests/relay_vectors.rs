//! Known-answer vectors for the relay core's byte-exact rules: Go JSON re-serialization,
//! DomainHash, EIP-55, result JSON and vault translation (kat.json).

mod common;

use confidential_relay::proto::vault::GetSecretsResponse;
use confidential_relay::relay::binding::canonical_forms;
use confidential_relay::relay::domain_hash::{DomainHashFormula, domain_hash};
use confidential_relay::relay::owner::{Owner, passes_validate_rule};
use confidential_relay::relay::result::{SecretsResponseResult, translate_vault_response};
use confidential_relay::relay::{
    METHOD_CAPABILITY_EXECUTE, METHOD_SECRETS_GET, RelayError, gojson,
};
use prost::Message as _;
use serde_json::Value;
use serde_json::value::RawValue;

fn vectors(prefix: &str) -> Vec<Value> {
    let all = common::kat()["vectors"]
        .as_array()
        .expect("vectors")
        .clone();
    let found: Vec<Value> = all
        .into_iter()
        .filter(|v| v["name"].as_str().unwrap().starts_with(prefix))
        .collect();
    assert!(!found.is_empty(), "no vectors with prefix {prefix}");
    found
}

fn method_for_tag(tag: &str) -> &'static str {
    match tag {
        "ConfidentialSecretsGet" => METHOD_SECRETS_GET,
        "ConfidentialCapabilityExecute" => METHOD_CAPABILITY_EXECUTE,
        other => panic!("unknown tag {other}"),
    }
}

#[test]
fn gojson_declared_order_reproduces_every_vector() {
    let mut checked = 0;
    for vector in vectors("gojson/") {
        let name = vector["name"].as_str().unwrap();
        if vector["inputs"]["params_wire"].is_null() {
            continue; // the escaping-only vector is checked below
        }
        let tag = vector["inputs"]["method_tag"].as_str().unwrap();
        let wire = vector["inputs"]["params_wire"].as_str().unwrap();
        let raw: Box<RawValue> = serde_json::from_str(wire).unwrap();
        let forms = canonical_forms(method_for_tag(tag), &raw).unwrap();
        assert_eq!(forms.tag, tag, "{name}");
        let expected = vector["expected"]["canonical_json"].as_str().unwrap();
        assert_eq!(
            String::from_utf8(forms.declared_order.clone()).unwrap(),
            expected,
            "{name}"
        );
        for (formula, key) in [
            (DomainHashFormula::Current, "domainhash_current_hex"),
            (DomainHashFormula::Legacy, "domainhash_legacy_hex"),
        ] {
            assert_eq!(
                hex::encode(domain_hash(formula, tag, &forms.declared_order)),
                vector["expected"][key].as_str().unwrap(),
                "{name} {key}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn as_received_form_keeps_unknown_fields_and_order() {
    let vector = common::kat_vector("gojson/unknown-fields-dropped");
    let wire = vector["inputs"]["params_wire"].as_str().unwrap();
    let raw: Box<RawValue> = serde_json::from_str(wire).unwrap();
    let forms = canonical_forms(METHOD_SECRETS_GET, &raw).unwrap();
    // The wire input is already compact Go output, so as-received is the wire minus attestation.
    let expected = wire.replace(",\"attestation\":\"ZHVtbXktYXR0ZXN0YXRpb24=\"", "");
    assert_eq!(String::from_utf8(forms.as_received).unwrap(), expected);
    assert_ne!(forms.declared_order, expected.as_bytes());
}

#[test]
fn go122_backspace_formfeed_escaping() {
    let vector = common::kat_vector("gojson/go122-backspace-formfeed");
    let text: String = vector["inputs"]["string_value_codepoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let code = c.as_str().unwrap().strip_prefix("U+").unwrap();
            char::from_u32(u32::from_str_radix(code, 16).unwrap()).unwrap()
        })
        .collect();
    let out = gojson::to_vec(&text).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        vector["expected"]["go_json_string"].as_str().unwrap()
    );
}

#[test]
fn domainhash_vectors() {
    for name in ["domainhash/testtag", "domainhash/empty-data"] {
        let v = common::kat_vector(name);
        let tag = v["inputs"]["tag"].as_str().unwrap();
        let data = v["inputs"]["data_utf8"].as_str().unwrap().as_bytes();
        assert_eq!(
            hex::encode(domain_hash(DomainHashFormula::Current, tag, data)),
            v["expected"]["current_hex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(domain_hash(DomainHashFormula::Legacy, tag, data)),
            v["expected"]["legacy_hex"].as_str().unwrap(),
            "{name}"
        );
    }
    let v = common::kat_vector("domainhash/boundary-collision-pair");
    for (pair, suffix) in [("pair_a", "a"), ("pair_b", "b")] {
        let tag = v["inputs"][pair]["tag"].as_str().unwrap();
        let data = v["inputs"][pair]["data_utf8"].as_str().unwrap().as_bytes();
        assert_eq!(
            hex::encode(domain_hash(DomainHashFormula::Current, tag, data)),
            v["expected"][format!("current_{suffix}_hex")]
                .as_str()
                .unwrap()
        );
        assert_eq!(
            hex::encode(domain_hash(DomainHashFormula::Legacy, tag, data)),
            v["expected"][format!("legacy_{suffix}_hex")]
                .as_str()
                .unwrap()
        );
    }
}

#[test]
fn eip55_vectors() {
    let all = vectors("eip55/");
    assert_eq!(all.len(), 20);
    for v in all {
        let name = v["name"].as_str().unwrap();
        let address = v["inputs"]["address"].as_str().unwrap();
        let owner = Owner::parse(address);
        assert_eq!(
            owner.is_some(),
            v["expected"]["is_hex_address"].as_bool().unwrap(),
            "{name}"
        );
        assert_eq!(
            owner.as_ref().map(|o| o.checksummed().to_owned()),
            v["expected"]["normalized"].as_str().map(str::to_owned),
            "{name}"
        );
        assert_eq!(
            passes_validate_rule(address),
            v["expected"]["passes_validate"].as_bool().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn empty_secrets_result_is_null() {
    let v = common::kat_vector("result-json/secrets-nil");
    let out = gojson::to_vec(&SecretsResponseResult { secrets: None }).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        v["expected"]["result_json"].as_str().unwrap()
    );
}

fn vault_response(v: &Value) -> GetSecretsResponse {
    let bytes = hex::decode(v["inputs"]["get_secrets_response_hex"].as_str().unwrap()).unwrap();
    GetSecretsResponse::decode(bytes.as_slice()).unwrap()
}

#[test]
fn vault_translation_vectors() {
    for name in [
        "vault-translate/kat11-hex-shares",
        "vault-translate/kat11b-binary-shares",
    ] {
        let v = common::kat_vector(name);
        let key = v["inputs"]["enclave_public_key"].as_str().unwrap();
        let result = translate_vault_response(&vault_response(&v), key).unwrap();
        assert_eq!(
            String::from_utf8(gojson::to_vec(&result).unwrap()).unwrap(),
            v["expected"]["result_json"].as_str().unwrap(),
            "{name}"
        );
    }
    let v = common::kat_vector("vault-translate/kat11c-user-error");
    let key = v["inputs"]["enclave_public_key"].as_str().unwrap();
    let err = translate_vault_response(&vault_response(&v), key).unwrap_err();
    let failure = err.failure();
    assert_eq!(
        failure.code().code(),
        v["expected"]["error_code"].as_i64().unwrap()
    );
    assert_eq!(
        failure.public_message(),
        v["expected"]["error_message"].as_str().unwrap()
    );
}

#[test]
fn vault_translation_failures_are_internal_and_named() {
    use confidential_relay::proto::vault::{
        EncryptedShares, SecretData, SecretIdentifier, SecretResponse, secret_response,
    };
    let id = Some(SecretIdentifier {
        key: "K".into(),
        namespace: "ns".into(),
        owner: String::new(),
    });
    let respond = |result| GetSecretsResponse {
        responses: vec![SecretResponse {
            id: id.clone(),
            result,
        }],
    };
    let data = |value: &str, key: &str, shares: Vec<String>| {
        Some(secret_response::Result::Data(SecretData {
            encrypted_value: value.into(),
            encrypted_decryption_key_shares: vec![EncryptedShares {
                shares,
                encryption_key: key.into(),
                binary_shares: vec![],
            }],
        }))
    };
    let cases: Vec<(GetSecretsResponse, &str)> = vec![
        (
            respond(Some(secret_response::Result::Error(
                "failed to handle get secret request".into(),
            ))),
            "vault error for secret ns/K: failed to handle get secret request",
        ),
        (respond(None), "vault returned no data for secret ns/K"),
        (
            respond(data("zz", "aa", vec!["00".into()])),
            "failed to decode encrypted value for K: Invalid character 'z' at position 0",
        ),
        (
            respond(data("00", "bb", vec!["00".into()])),
            "no shares found for enclave key in secret ns/K",
        ),
        (
            respond(data("00", "aa", vec![])),
            "no shares found for enclave key in secret ns/K",
        ),
        (
            respond(data("00", "aa", vec!["0g".into()])),
            "failed to decode share: Invalid character 'g' at position 1",
        ),
    ];
    for (response, cause) in cases {
        let err = translate_vault_response(&response, "aa").unwrap_err();
        assert!(matches!(err, RelayError::Internal(_)), "{err:?}");
        assert_eq!(err.to_string(), cause);
        assert_eq!(err.failure().public_message(), "internal error");
    }
}

#[test]
fn vault_capability_response_unpacks_and_translates() {
    use confidential_relay::backend::vault_response;
    use confidential_relay::proto::capabilities::CapabilityResponse;
    let v = common::kat_vector("vault-translate/kat11-hex-shares");
    let bytes = hex::decode(v["inputs"]["capability_response_hex"].as_str().unwrap()).unwrap();
    let response = vault_response(CapabilityResponse::decode(bytes.as_slice()).unwrap()).unwrap();
    let key = v["inputs"]["enclave_public_key"].as_str().unwrap();
    let result = translate_vault_response(&response, key).unwrap();
    assert_eq!(
        String::from_utf8(gojson::to_vec(&result).unwrap()).unwrap(),
        v["expected"]["result_json"].as_str().unwrap()
    );
}
