//! A mock vault server. It holds secrets per (owner, namespace, key); for each requested X25519
//! key it returns the secret's ciphertext as hex and one share per simulated vault node, each
//! sealed to that key with a NaCl sealed box (`crypto_box`), as hex `shares` or as
//! `binary_shares`. It checks the method, the payload type and the batch size as the real vault
//! does (chainlink `core/capabilities/vault/capability.go`).
//!
//! Stand-in for TDH2: the ciphertext is the value XOR a random pad, and the node shares XOR to
//! the pad, so a test that opens every share can recover the value ([`MockSecret::reveal`]).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crypto_box::PublicKey;
use crypto_box::aead::OsRng;

use super::{ExecuteHandler, Reply};
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse};
use crate::proto::vault::{
    EncryptedShares, GetSecretsRequest, GetSecretsResponse, METHOD_SECRETS_GET, SecretData,
    SecretIdentifier, SecretResponse, secret_response,
};
use crate::proto::{pack, unpack};

/// The real vault rejects batches of this many secrets or more (`MaxBatchSize`).
pub const MAX_BATCH_SIZE: usize = 10;
/// The per-secret error of an unknown secret, as the real vault words it.
pub const KEY_DOES_NOT_EXIST: &str = "key does not exist";

/// A stored secret: its ciphertext and one plaintext share per vault node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockSecret {
    /// The value XOR the pad.
    pub ciphertext: Vec<u8>,
    /// Random shares that XOR to the pad.
    pub shares: Vec<Vec<u8>>,
}

impl MockSecret {
    /// Splits `value` into a ciphertext and `nodes` shares (at least one).
    pub fn split(value: &[u8], nodes: usize) -> Self {
        let mut pad = vec![0u8; value.len()];
        let mut shares = Vec::new();
        for _ in 1..nodes.max(1) {
            let mut share = vec![0u8; value.len()];
            rand::fill(share.as_mut_slice());
            xor_into(&mut pad, &share);
            shares.push(share);
        }
        let mut last = vec![0u8; value.len()];
        rand::fill(last.as_mut_slice());
        xor_into(&mut pad, &last);
        shares.push(last);
        let mut ciphertext = value.to_vec();
        xor_into(&mut ciphertext, &pad);
        Self { ciphertext, shares }
    }

    /// Recovers the value from the ciphertext and all opened shares.
    pub fn reveal(ciphertext: &[u8], shares: &[Vec<u8>]) -> Vec<u8> {
        let mut value = ciphertext.to_vec();
        for share in shares {
            xor_into(&mut value, share);
        }
        value
    }
}

fn xor_into(target: &mut [u8], other: &[u8]) {
    for (byte, mask) in target.iter_mut().zip(other) {
        *byte ^= mask;
    }
}

/// The mock vault.
#[derive(Debug)]
pub struct MockVault {
    nodes: usize,
    binary_shares: bool,
    secrets: BTreeMap<SecretIdentifier, MockSecret>,
    requests: Mutex<Vec<CapabilityRequest>>,
}

impl MockVault {
    /// An empty vault of `nodes` simulated nodes (at least one), answering hex `shares`.
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes: nodes.max(1),
            binary_shares: false,
            secrets: BTreeMap::new(),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Answers `binary_shares` instead of hex `shares`.
    pub fn with_binary_shares(mut self) -> Self {
        self.binary_shares = true;
        self
    }

    /// Stores `value` under (owner, namespace, key), split over the nodes.
    pub fn with_secret(mut self, owner: &str, namespace: &str, key: &str, value: &[u8]) -> Self {
        let id = SecretIdentifier {
            key: key.to_string(),
            namespace: namespace.to_string(),
            owner: owner.to_string(),
        };
        self.secrets
            .insert(id, MockSecret::split(value, self.nodes));
        self
    }

    /// The stored secret of an id, if any.
    pub fn secret(&self, id: &SecretIdentifier) -> Option<&MockSecret> {
        self.secrets.get(id)
    }

    /// The capability requests received, in arrival order.
    pub fn requests(&self) -> Vec<CapabilityRequest> {
        self.requests
            .lock()
            .map(|requests| requests.clone())
            .unwrap_or_default()
    }

    /// Answers one `vault.secrets.get` request; `Err` is the capability error text.
    pub fn answer(&self, request: &CapabilityRequest) -> Result<GetSecretsResponse, String> {
        let payload = request
            .payload
            .as_ref()
            .ok_or("capability does not support v1 requests")?;
        if request.method != METHOD_SECRETS_GET {
            return Err(format!("unsupported method: {}", request.method));
        }
        let secrets = unpack::<GetSecretsRequest>(payload)
            .map_err(|err| format!("failed to unmarshal payload: {err}"))?;
        if secrets.requests.is_empty() {
            return Err("no secret requests specified".into());
        }
        if secrets.requests.len() >= MAX_BATCH_SIZE {
            return Err(format!(
                "request batch size exceeds maximum of {MAX_BATCH_SIZE}"
            ));
        }
        let responses = secrets
            .requests
            .iter()
            .map(|secret_request| {
                let id = secret_request.id.clone().unwrap_or_default();
                let result = match self.secrets.get(&id) {
                    None => secret_response::Result::Error(KEY_DOES_NOT_EXIST.into()),
                    Some(secret) => match self.seal(secret, &secret_request.encryption_keys) {
                        Ok(data) => secret_response::Result::Data(data),
                        Err(err) => secret_response::Result::Error(err),
                    },
                };
                SecretResponse {
                    id: Some(id),
                    result: Some(result),
                }
            })
            .collect();
        Ok(GetSecretsResponse { responses })
    }

    fn seal(&self, secret: &MockSecret, keys: &[String]) -> Result<SecretData, String> {
        let mut entries = Vec::new();
        for key in keys {
            let bytes: [u8; 32] = hex::decode(key)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| format!("invalid encryption key {key:?}"))?;
            let public_key = PublicKey::from(bytes);
            let mut sealed = Vec::new();
            for share in &secret.shares {
                let sealed_share = public_key
                    .seal(&mut OsRng, share)
                    .map_err(|_| "failed to seal share".to_string())?;
                sealed.push(sealed_share);
            }
            entries.push(if self.binary_shares {
                EncryptedShares {
                    shares: Vec::new(),
                    encryption_key: key.clone(),
                    binary_shares: sealed,
                }
            } else {
                EncryptedShares {
                    shares: sealed.iter().map(hex::encode).collect(),
                    encryption_key: key.clone(),
                    binary_shares: Vec::new(),
                }
            });
        }
        Ok(SecretData {
            encrypted_value: hex::encode(&secret.ciphertext),
            encrypted_decryption_key_shares: entries,
        })
    }
}

#[async_trait::async_trait]
impl ExecuteHandler for MockVault {
    async fn execute(&self, request: CapabilityRequest) -> Result<Reply, tonic::Status> {
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(request.clone());
        }
        let response = match self.answer(&request) {
            Ok(answer) => CapabilityResponse {
                payload: Some(pack(&answer)),
                ..Default::default()
            },
            Err(error) => CapabilityResponse {
                error,
                ..Default::default()
            },
        };
        Ok(Reply::one(response))
    }
}
