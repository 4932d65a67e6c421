//! Known-answer vectors for the gateway handshake: Keccak-256, EIP-191, the auth header and
//! challenge layouts and hashes, and the JSON-RPC digests; plus the challenge checks a node
//! applies (spec §1.7) against the vector's challenge.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use confidential_relay::gateway::NodeKey;
use confidential_relay::gateway::digest::{canonical_json, request_digest, response_digest};
use confidential_relay::gateway::eip191::{keccak256, personal_hash, recover_signer};
use confidential_relay::gateway::handshake::{
    self, AUTH_HEADER_LEN, ChallengeError, ChallengePolicy, build_challenge, pack_auth,
    verify_challenge,
};
use confidential_relay::jsonrpc::{Request, Response};

fn text<'a>(vector: &'a serde_json::Value, path: &[&str]) -> &'a str {
    let mut value = vector;
    for key in path {
        value = &value[*key];
    }
    value
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string"))
}

#[test]
fn keccak256_empty() {
    let vector = common::kat_vector("keccak256/empty");
    assert_eq!(
        hex::encode(keccak256(b"")),
        text(&vector, &["expected", "keccak256_hex"])
    );
}

#[test]
fn eip191_hello_world() {
    let vector = common::kat_vector("eip191/hello-world");
    let data = text(&vector, &["inputs", "data_utf8"]);
    assert_eq!(
        hex::encode(personal_hash(data.as_bytes())),
        text(&vector, &["expected", "hash_hex"])
    );
}

#[test]
fn auth_header_layout_and_hash() {
    let vector = common::kat_vector("gateway/auth-header-eip191");
    let inputs = &vector["inputs"];
    let timestamp = u32::try_from(inputs["timestamp"].as_u64().unwrap()).unwrap();
    let packed = pack_auth(
        timestamp,
        text(&vector, &["inputs", "don_id"]),
        text(&vector, &["inputs", "gateway_id"]),
    )
    .unwrap();
    assert_eq!(
        packed.len() as u64,
        vector["expected"]["packed_length"].as_u64().unwrap()
    );
    assert_eq!(
        hex::encode(&packed),
        text(&vector, &["expected", "packed_hex"])
    );
    assert_eq!(
        hex::encode(personal_hash(&packed)),
        text(&vector, &["expected", "eip191_hash_hex"])
    );

    // The full header: the packed bytes, then the node's signature over them.
    let key = NodeKey::generate();
    let header =
        handshake::auth_header_value(&key, timestamp, "example_don", "example_gateway").unwrap();
    let bytes = STANDARD.decode(&header).unwrap();
    assert_eq!(bytes.len(), AUTH_HEADER_LEN);
    assert_eq!(&bytes[..196], &packed[..]);
    assert_eq!(&bytes[196..], &key.sign(&packed)[..]);
    assert_eq!(
        recover_signer(&packed, &bytes[196..]).unwrap(),
        key.address()
    );
    let decoded = handshake::decode_auth_header(Some(&header)).unwrap();
    assert_eq!(decoded.timestamp, timestamp);
    assert_eq!(decoded.don_id, "example_don");
    assert_eq!(decoded.gateway_id, "example_gateway");
    assert_eq!(decoded.signer, key.address());
}

#[test]
fn challenge_layout_hash_and_node_checks() {
    let vector = common::kat_vector("gateway/challenge-eip191");
    let random = hex::decode(text(&vector, &["inputs", "random_hex"])).unwrap();
    let challenge = build_challenge(1_700_000_000, "example_gateway", &random).unwrap();
    assert_eq!(challenge.len(), 142);
    assert_eq!(
        hex::encode(&challenge),
        text(&vector, &["expected", "challenge_hex"])
    );
    assert_eq!(
        STANDARD.encode(&challenge),
        text(&vector, &["expected", "challenge_base64"])
    );
    assert_eq!(
        hex::encode(personal_hash(&challenge)),
        text(&vector, &["expected", "eip191_hash_hex"])
    );

    let header = text(&vector, &["expected", "challenge_base64"]);
    let policy = ChallengePolicy {
        gateway_id: "example_gateway",
        min_random_len: 10,
        tolerance_secs: 10,
        now: 1_700_000_000,
    };
    assert_eq!(verify_challenge(Some(header), &policy).unwrap(), challenge);
    assert_eq!(
        verify_challenge(None, &policy),
        Err(ChallengeError::Missing)
    );
    assert_eq!(
        verify_challenge(Some(""), &policy),
        Err(ChallengeError::Missing)
    );
    assert_eq!(
        verify_challenge(Some("***"), &policy),
        Err(ChallengeError::NotBase64)
    );
    let late = ChallengePolicy {
        now: 1_700_000_100,
        ..policy
    };
    let err = verify_challenge(Some(header), &late).unwrap_err();
    assert_eq!(err.reason(), "challenge_stale_timestamp");
    assert_eq!(
        err.to_string(),
        "challenge timestamp 1700000000 is more than 10 s from node time 1700000100"
    );
    let other = ChallengePolicy {
        gateway_id: "other_gateway",
        ..policy
    };
    assert_eq!(
        verify_challenge(Some(header), &other),
        Err(ChallengeError::WrongGateway("example_gateway".into()))
    );
    let short =
        STANDARD.encode(build_challenge(1_700_000_000, "example_gateway", &[1, 2, 3, 4]).unwrap());
    assert_eq!(
        verify_challenge(Some(&short), &policy),
        Err(ChallengeError::TooShort { random: 4, min: 10 })
    );
    // Even with no minimum configured, one random byte is required (133 bytes).
    let bare = STANDARD.encode(build_challenge(1_700_000_000, "example_gateway", &[]).unwrap());
    let lax = ChallengePolicy {
        min_random_len: 0,
        ..policy
    };
    assert_eq!(
        verify_challenge(Some(&bare), &lax),
        Err(ChallengeError::TooShort { random: 0, min: 1 })
    );
}

#[test]
fn jsonrpc_digests() {
    let response = Response::success(
        "42".into(),
        "service.method".into(),
        &serde_json::json!({"value": "success"}),
    );
    let vector = common::kat_vector("jsonrpc-digest/resp-result");
    let canonical = canonical_json(&serde_json::to_value(&response).unwrap());
    assert_eq!(canonical, text(&vector, &["inputs", "canonical_json"]));
    assert_eq!(
        response_digest(&response).unwrap(),
        text(&vector, &["expected", "digest_hex"])
    );

    let error = Response::from_slice(br#"{"jsonrpc":"2.0","id":"err1","method":"service.method","error":{"code":-32600,"message":"bad request","data":null}}"#).unwrap();
    let vector = common::kat_vector("jsonrpc-digest/resp-error");
    assert_eq!(
        response_digest(&error).unwrap(),
        text(&vector, &["expected", "digest_hex"])
    );

    let request = Request::from_slice(br#"{"jsonrpc":"2.0","id":"1","method":"service.method","params":{"owner":"test","namespace":"test","id":"1"},"auth":"jwt"}"#).unwrap();
    let vector = common::kat_vector("jsonrpc-digest/req");
    assert_eq!(
        request_digest(&request).unwrap(),
        text(&vector, &["expected", "digest_hex"])
    );
}
