//! Round trips through real tonic servers on loopback TCP and unix sockets: the vault's secrets
//! (shares opened with the enclave's X25519 secret key) and capability execute for echo, value,
//! error and map-input cases.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confidential_relay::backend::mock::capability::{Behaviour, MockCapabilities};
use confidential_relay::backend::mock::vault::{KEY_DOES_NOT_EXIST, MockSecret, MockVault};
use confidential_relay::backend::mock::{MockServer, serve_tcp, serve_unix};
use confidential_relay::backend::{
    BackendError, BackendsConfig, CapabilityBackend, CapabilityError, GrpcBackends, VaultBackend,
};
use confidential_relay::proto::capabilities::{CapabilityRequest, RequestMetadata};
use confidential_relay::proto::values::{Map, Value, value::Kind};
use confidential_relay::proto::vault::{
    GetSecretsRequest, SecretIdentifier, SecretRequest, secret_response,
};
use confidential_relay::proto::{pack, unpack};
use crypto_box::SecretKey;
use crypto_box::aead::OsRng;

const OWNER: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn backends(section: &str) -> GrpcBackends {
    let config: BackendsConfig = toml::from_str(section).expect("test config parses");
    GrpcBackends::from_config(&config).expect("test config is valid")
}

fn metadata() -> RequestMetadata {
    RequestMetadata {
        workflow_id: "wf-1".into(),
        workflow_execution_id: "ab".repeat(32),
        workflow_owner: OWNER.into(),
        workflow_don_id: 1,
        workflow_don_config_version: 1,
        reference_id: "req-1".into(),
        ..Default::default()
    }
}

fn secret_request(key: &str, public_key_hex: &str) -> SecretRequest {
    SecretRequest {
        id: Some(SecretIdentifier {
            key: key.into(),
            namespace: "main".into(),
            owner: OWNER.into(),
        }),
        encryption_keys: vec![public_key_hex.to_string()],
    }
}

async fn vault_round_trip(binary: bool, unix: bool) {
    let mut vault = MockVault::new(4).with_secret(OWNER, "main", "API_KEY", b"s3cret value");
    if binary {
        vault = vault.with_binary_shares();
    }
    let vault = Arc::new(vault);
    let dir = std::env::temp_dir().join(format!("relay-vault-{}-{binary}", std::process::id()));
    let server: MockServer = if unix {
        std::fs::create_dir_all(&dir).unwrap();
        serve_unix(vault.clone(), &dir.join("vault.sock"))
            .await
            .unwrap()
    } else {
        serve_tcp(vault.clone()).await.unwrap()
    };
    let client = backends(&format!("[vault]\nendpoint = {:?}\n", server.endpoint()));

    let enclave_key = SecretKey::generate(&mut OsRng);
    let public_hex = hex::encode(enclave_key.public_key().as_bytes());
    let request = GetSecretsRequest {
        requests: vec![
            secret_request("API_KEY", &public_hex),
            secret_request("MISSING", &public_hex),
        ],
        ..Default::default()
    };
    let response = client
        .get_secrets(metadata(), request.clone())
        .await
        .expect("vault answers");

    // The vault got exactly the Go-shaped request.
    let received = vault.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].capability_id, "vault@1.0.0");
    assert_eq!(received[0].method, "vault.secrets.get");
    assert_eq!(received[0].metadata, Some(metadata()));
    assert_eq!(received[0].config, Some(Map::default()));
    assert_eq!(received[0].inputs, Some(Map::default()));
    assert_eq!(
        unpack::<GetSecretsRequest>(received[0].payload.as_ref().unwrap()),
        Ok(request)
    );

    assert_eq!(response.responses.len(), 2);
    let Some(secret_response::Result::Data(data)) = &response.responses[0].result else {
        panic!("API_KEY has data: {:?}", response.responses[0]);
    };
    let entry = &data.encrypted_decryption_key_shares[0];
    assert_eq!(entry.encryption_key, public_hex);
    let sealed: Vec<Vec<u8>> = if binary {
        assert!(entry.shares.is_empty());
        entry.binary_shares.clone()
    } else {
        assert!(entry.binary_shares.is_empty());
        entry
            .shares
            .iter()
            .map(|s| hex::decode(s).unwrap())
            .collect()
    };
    assert_eq!(sealed.len(), 4, "one share per simulated vault node");
    let opened: Vec<Vec<u8>> = sealed
        .iter()
        .map(|share| {
            enclave_key
                .unseal(share)
                .expect("share is sealed to the enclave key")
        })
        .collect();
    let stored = vault
        .secret(response.responses[0].id.as_ref().unwrap())
        .unwrap();
    assert_eq!(opened, stored.shares);
    let ciphertext = hex::decode(&data.encrypted_value).unwrap();
    assert_eq!(MockSecret::reveal(&ciphertext, &opened), b"s3cret value");

    assert_eq!(
        response.responses[1].result,
        Some(secret_response::Result::Error(KEY_DOES_NOT_EXIST.into()))
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn secrets_get_hex_shares_over_tcp() {
    vault_round_trip(false, false).await;
}

#[tokio::test]
async fn secrets_get_binary_shares_over_unix_socket() {
    vault_round_trip(true, true).await;
}

#[tokio::test]
async fn vault_checks_batch_size_and_payload_like_the_real_one() {
    let server = serve_tcp(Arc::new(MockVault::new(1))).await.unwrap();
    let client = backends(&format!("[vault]\nendpoint = {:?}\n", server.endpoint()));
    let too_many = GetSecretsRequest {
        requests: (0..10)
            .map(|i| secret_request(&format!("K{i}"), "00"))
            .collect(),
        ..Default::default()
    };
    assert_eq!(
        client.get_secrets(metadata(), too_many).await,
        Err(BackendError::Remote(
            "vault execute failed: request batch size exceeds maximum of 10".into()
        ))
    );
    assert_eq!(
        client
            .get_secrets(metadata(), GetSecretsRequest::default())
            .await,
        Err(BackendError::Remote(
            "vault execute failed: no secret requests specified".into()
        ))
    );
    // The same server reached as a capability with a foreign payload type.
    let mut request = CapabilityRequest {
        capability_id: "vault@1.0.0".into(),
        method: "vault.secrets.get".into(),
        payload: Some(pack(&Value::default())),
        ..Default::default()
    };
    let response = client.execute(request.clone()).await.unwrap();
    assert_eq!(
        response.error,
        "failed to unmarshal payload: unexpected Any type URL \
         \"type.googleapis.com/values.v1.Value\" (expected \
         \"type.googleapis.com/vault.GetSecretsRequest\")"
    );
    request.method = "vault.secrets.list".into();
    let response = client.execute(request).await.unwrap();
    assert_eq!(response.error, "unsupported method: vault.secrets.list");
}

fn string_value(text: &str) -> Value {
    Value {
        kind: Some(Kind::StringValue(text.into())),
    }
}

#[tokio::test]
async fn capability_execute_echo_value_error_and_inputs() {
    let caps = Arc::new(
        MockCapabilities::new()
            .with("echo@1.0.0", Behaviour::Echo)
            .with("value@1.0.0", Behaviour::Value(string_value("fixed")))
            .with(
                "error@1.0.0",
                Behaviour::Error("Public:User:InvalidArgument:bad input".into()),
            )
            .with("legacy@1.0.0", Behaviour::Error("boom".into()))
            .with("dag@1.0.0", Behaviour::EchoInputs),
    );
    let server = serve_tcp(caps.clone()).await.unwrap();
    // Everything through the default endpoint; no vault entry needed.
    let client = backends(&format!("default_endpoint = {:?}\n", server.endpoint()));
    let request =
        |id: &str, payload: Option<prost_types::Any>, inputs: Option<Map>| CapabilityRequest {
            metadata: Some(metadata()),
            config: Some(Map::default()),
            inputs: Some(inputs.unwrap_or_default()),
            payload,
            method: "PerformAction".into(),
            capability_id: id.into(),
            ..Default::default()
        };

    // Echo: the Any passes through byte for byte (including a type the relay does not know).
    let opaque = prost_types::Any {
        type_url: "type.googleapis.com/some.Unknown".into(),
        value: vec![0xff, 0x00, 0x7f],
    };
    let echoed = client
        .execute(request("echo@1.0.0", Some(opaque.clone()), None))
        .await
        .unwrap();
    assert_eq!(echoed.payload, Some(opaque));
    assert!(echoed.error.is_empty());

    let valued = client
        .execute(request("value@1.0.0", None, None))
        .await
        .unwrap();
    assert_eq!(
        unpack::<Value>(valued.payload.as_ref().unwrap()),
        Ok(string_value("fixed"))
    );

    // A capability error is a response, not an Err; it renders like the Go client.
    let failed = client
        .execute(request("error@1.0.0", None, None))
        .await
        .unwrap();
    assert_eq!(failed.error, "Public:User:InvalidArgument:bad input");
    assert_eq!(
        CapabilityError::parse(&failed.error).to_string(),
        "[3]InvalidArgument: bad input"
    );
    let legacy = client
        .execute(request("legacy@1.0.0", None, None))
        .await
        .unwrap();
    assert_eq!(
        CapabilityError::parse(&legacy.error).to_string(),
        "[2]Unknown: boom"
    );

    // Legacy map input: the DAG capability reads `inputs`.
    let mut fields = BTreeMap::new();
    fields.insert("b".to_string(), string_value("2"));
    fields.insert("a".to_string(), string_value("1"));
    let inputs = Map { fields };
    let dag = client
        .execute(request("dag@1.0.0", None, Some(inputs.clone())))
        .await
        .unwrap();
    assert_eq!(dag.value, Some(inputs));

    let ids: Vec<String> = caps
        .requests()
        .into_iter()
        .map(|r| r.capability_id)
        .collect();
    assert_eq!(
        ids,
        [
            "echo@1.0.0",
            "value@1.0.0",
            "error@1.0.0",
            "legacy@1.0.0",
            "dag@1.0.0"
        ]
    );
    assert!(
        caps.requests()
            .iter()
            .all(|r| r.metadata == Some(metadata()))
    );
}

#[tokio::test]
async fn routes_by_id_and_unknown_id_is_not_found() {
    let first = serve_tcp(Arc::new(
        MockCapabilities::new().with("a@1.0.0", Behaviour::Value(string_value("from-first"))),
    ))
    .await
    .unwrap();
    let vault = serve_tcp(Arc::new(MockVault::new(1))).await.unwrap();
    let client = backends(&format!(
        "[vault]\nendpoint = {:?}\n[capabilities.\"a@1.0.0\"]\nendpoint = {:?}\n",
        vault.endpoint(),
        first.endpoint()
    ));
    let request = |id: &str| CapabilityRequest {
        capability_id: id.into(),
        ..Default::default()
    };
    let answer = client.execute(request("a@1.0.0")).await.unwrap();
    assert_eq!(
        unpack::<Value>(answer.payload.as_ref().unwrap()),
        Ok(string_value("from-first"))
    );
    let missing = client.execute(request("b@1.0.0")).await.unwrap_err();
    assert_eq!(
        missing,
        BackendError::NotFound {
            capability_id: "b@1.0.0".into()
        }
    );
    assert_eq!(missing.to_string(), "capability not found: b@1.0.0");

    let stats = client.stats();
    let names: Vec<(&str, u64, u64)> = stats
        .iter()
        .map(|s| (s.backend.as_str(), s.calls, s.errors))
        .collect();
    assert_eq!(names, [("a@1.0.0", 1, 0), ("vault@1.0.0", 0, 0)]);
}

/// Streams are read to their end (the Go server ends it right after its one message), so
/// calls do not reset HTTP/2 streams: an h2 server closed the connection after ~1400 reset
/// streams ("too_many_internal_resets") when the client dropped them unread. A backend that keeps
/// the stream open is reset after the grace period; the call returns as soon as its message is in.
#[tokio::test]
async fn streams_are_read_to_their_end_within_a_grace_period() {
    let echo_then = |linger: Duration| Behaviour::Linger(linger, Box::new(Behaviour::Echo));
    let caps = Arc::new(
        MockCapabilities::new()
            .with("short@1.0.0", echo_then(Duration::from_millis(20)))
            .with("long@1.0.0", echo_then(Duration::from_secs(30))),
    );
    let server = serve_tcp(caps.clone()).await.unwrap();
    let client = backends(&format!("default_endpoint = {:?}\n", server.endpoint()));
    let request = |id: &str| CapabilityRequest {
        capability_id: id.into(),
        ..Default::default()
    };
    for _ in 0..5 {
        client.execute(request("short@1.0.0")).await.unwrap();
    }
    // Streams are drained in the background, after each caller has its answer.
    let waited = Instant::now();
    while caps.streams_ended() < 5 && waited.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(caps.streams_ended(), 5);
    let started = Instant::now();
    client.execute(request("long@1.0.0")).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(caps.streams_ended(), 5);
}

#[tokio::test]
async fn mock_kit_routes_vault_and_capabilities() {
    use confidential_relay::backend::mock::kit::MockBackends;

    let kit = MockBackends::start(
        MockVault::new(2).with_secret(OWNER, "main", "K", b"v"),
        MockCapabilities::new().with("cap@1.0.0", Behaviour::Value(string_value("x"))),
    )
    .await
    .unwrap();
    let client = GrpcBackends::from_config(&kit.config()).unwrap();
    let key = hex::encode(SecretKey::generate(&mut OsRng).public_key().as_bytes());
    let secrets = GetSecretsRequest {
        requests: vec![secret_request("K", &key)],
        ..Default::default()
    };
    let answer = client.get_secrets(metadata(), secrets).await.unwrap();
    assert!(matches!(
        answer.responses[0].result,
        Some(secret_response::Result::Data(_))
    ));
    let response = client
        .execute(CapabilityRequest {
            capability_id: "cap@1.0.0".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        unpack::<Value>(response.payload.as_ref().unwrap()),
        Ok(string_value("x"))
    );
    assert_eq!(kit.vault.requests().len(), 1);
    assert_eq!(kit.capabilities.requests().len(), 1);
}
