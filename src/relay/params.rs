//! The params of both relay methods, as typed structs that mirror chainlink-common's Go structs
//! (`pkg/capabilities/v2/actions/confidentialrelay/types.go`).
//!
//! Field order, `omitempty` and the null-versus-empty distinctions are part of the protocol: the
//! attestation binds a Go re-serialization of these structs (the *declared order* form), so
//! serializing them with [`super::gojson`] must reproduce Go's bytes exactly. Unknown members are
//! dropped on parse, as Go does. Lists that Go distinguishes as nil (`null`) or empty (`[]`) are
//! `Option<Vec<_>>`; Go `[]byte` values are [`GoBytes`].

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

/// A secret named by a request: `{"key", "namespace"}`, neither omitted when empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecretIdentifier {
    /// The secret's key.
    #[serde(default)]
    pub key: String,
    /// The secret's namespace; empty means `main`.
    #[serde(default)]
    pub namespace: String,
}

/// Params of `confidential.secrets.get` (Go `SecretsRequestParams`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SecretsRequestParams {
    /// Workflow id.
    #[serde(default)]
    pub workflow_id: String,
    /// Workflow owner as sent (a hex address).
    #[serde(default)]
    pub owner: String,
    /// Workflow execution id.
    #[serde(default)]
    pub execution_id: String,
    /// Organisation id (omitempty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub org_id: String,
    /// The requested secrets; `None` is Go's nil slice (`null`).
    #[serde(default)]
    pub secrets: Option<Vec<SecretIdentifier>>,
    /// Hex of the enclave's 32-byte X25519 key, as sent.
    #[serde(default)]
    pub enclave_public_key: String,
    /// The enclave's view of the Workflow DON (omitempty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enclave_config: Option<EnclaveConfig>,
    /// Std base64 of the Nitro attestation document (omitempty; blanked before hashing).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub attestation: String,
    /// Workflow-DON signed compute requests (omitempty).
    #[serde(default, skip_serializing_if = "is_nil_or_empty")]
    pub signed_compute_requests: Option<Vec<SignedComputeRequest>>,
}

/// Params of `confidential.capability.execute` (Go `CapabilityRequestParams`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CapabilityRequestParams {
    /// Workflow id.
    #[serde(default)]
    pub workflow_id: String,
    /// Workflow owner as sent (a hex address).
    #[serde(default)]
    pub owner: String,
    /// Workflow execution id.
    #[serde(default)]
    pub execution_id: String,
    /// Organisation id (omitempty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub org_id: String,
    /// The enclave's reference for this call (decimal callback id).
    #[serde(default)]
    pub reference_id: String,
    /// The capability to execute, e.g. `my-cap@1.0.0`.
    #[serde(default)]
    pub capability_id: String,
    /// Std base64 of an `sdk.v1alpha.CapabilityRequest`.
    #[serde(default)]
    pub payload: String,
    /// The enclave's view of the Workflow DON (omitempty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enclave_config: Option<EnclaveConfig>,
    /// Std base64 of the Nitro attestation document (omitempty; blanked before hashing).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub attestation: String,
}

/// The enclave's view of the Workflow DON (Go `EnclaveConfig`); nothing inside is omitempty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnclaveConfig {
    /// 32-byte ed25519 signer keys.
    #[serde(default)]
    pub signers: Option<Vec<GoBytes>>,
    /// The vault's TDH2 master public key.
    #[serde(default)]
    pub master_public_key: GoBytes,
    /// Decryption threshold.
    #[serde(default)]
    pub t: u32,
    /// Fault tolerance.
    #[serde(default)]
    pub f: u32,
}

/// A compute request signed by a Workflow-DON node (Go `SignedComputeRequest`, with the
/// embedded `ComputeRequest` fields promoted).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SignedComputeRequest {
    /// Go `[32]byte`: a JSON array of exactly 32 integers.
    #[serde(rename = "requestID", default)]
    pub request_id: RequestId,
    /// Application request id.
    #[serde(rename = "applicationRequestID", default)]
    pub application_request_id: String,
    /// Protobuf `WorkflowExecution` bytes.
    #[serde(rename = "publicData", default)]
    pub public_data: GoBytes,
    /// Ciphertexts.
    #[serde(default)]
    pub ciphertexts: Option<Vec<GoBytes>>,
    /// Names of the ciphertexts (capital `C` on the wire).
    #[serde(rename = "CiphertextNames", default)]
    pub ciphertext_names: Option<Vec<String>>,
    /// Encrypted decryption-key shares.
    #[serde(rename = "encryptedDecryptionKeyShares", default)]
    pub encrypted_decryption_key_shares: Option<Vec<Option<Vec<GoBytes>>>>,
    /// The enclave's ephemeral public key.
    #[serde(rename = "enclaveEphemeralPublicKey", default)]
    pub enclave_ephemeral_public_key: GoBytes,
    /// The vault master public key.
    #[serde(rename = "masterPublicKey", default)]
    pub master_public_key: GoBytes,
    /// Application id.
    #[serde(rename = "appID", default)]
    pub app_id: String,
    /// Compute-request version.
    #[serde(default)]
    pub version: String,
    /// ed25519 signature.
    #[serde(default)]
    pub signature: GoBytes,
    /// Per-node data (Go map: keys sorted when written; omitempty).
    #[serde(
        rename = "perNodeData",
        default,
        skip_serializing_if = "is_nil_or_empty_map"
    )]
    pub per_node_data: Option<BTreeMap<String, String>>,
}

fn is_nil_or_empty<T>(list: &Option<Vec<T>>) -> bool {
    list.as_ref().is_none_or(Vec::is_empty)
}

fn is_nil_or_empty_map(map: &Option<BTreeMap<String, String>>) -> bool {
    map.as_ref().is_none_or(BTreeMap::is_empty)
}

/// A Go `[]byte`: `null` for nil, otherwise padded standard base64 (`""` for empty).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct GoBytes(pub Option<Vec<u8>>);

impl fmt::Debug for GoBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(bytes) => write!(f, "GoBytes({})", hex::encode(bytes)),
            None => f.write_str("GoBytes(nil)"),
        }
    }
}

impl Serialize for GoBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(bytes) => serializer.serialize_str(&STANDARD.encode(bytes)),
            None => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for GoBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        match text {
            None => Ok(Self(None)),
            Some(text) => STANDARD
                .decode(text.as_bytes())
                .map(|bytes| Self(Some(bytes)))
                .map_err(|err| de::Error::custom(format!("invalid standard base64: {err}"))),
        }
    }
}

/// A Go `[32]byte`: written as an array of 32 decimal numbers.
///
/// Go zero-fills a shorter array and drops extra elements; we require exactly 32 values in
/// 0..=255 instead (an enclave never sends anything else, and rejecting fails closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestId(pub [u8; 32]);

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(32)?;
        for byte in &self.0 {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RequestIdVisitor)
    }
}

struct RequestIdVisitor;

impl<'de> Visitor<'de> for RequestIdVisitor {
    type Value = RequestId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of exactly 32 integers in 0..=255")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RequestId, A::Error> {
        let mut id = [0u8; 32];
        for (index, slot) in id.iter_mut().enumerate() {
            *slot = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(index, &self))?;
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(33, &self));
        }
        Ok(RequestId(id))
    }
}
