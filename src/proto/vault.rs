//! Package `vault` (chainlink-common `pkg/capabilities/actions/vault/messages.proto`): the
//! secrets request and response of the vault capability, and its id and method constants.

use super::impl_name;

/// The capability id of the vault.
pub const VAULT_CAPABILITY_ID: &str = "vault@1.0.0";
/// The vault method that reads secrets.
pub const METHOD_SECRETS_GET: &str = "vault.secrets.get";
/// The namespace used when a request leaves it empty.
pub const DEFAULT_NAMESPACE: &str = "main";

/// Names one secret.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct SecretIdentifier {
    /// `key` = 1.
    #[prost(string, tag = "1")]
    pub key: String,
    /// `namespace` = 2.
    #[prost(string, tag = "2")]
    pub namespace: String,
    /// `owner` = 3: EIP-55 `0x` address for workflow secrets.
    #[prost(string, tag = "3")]
    pub owner: String,
}

/// One secret and the keys its decryption shares are sealed to.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecretRequest {
    /// `id` = 1.
    #[prost(message, optional, tag = "1")]
    pub id: Option<SecretIdentifier>,
    /// `encryption_keys` = 2: hex of 32-byte X25519 public keys.
    #[prost(string, repeated, tag = "2")]
    pub encryption_keys: Vec<String>,
}

/// The payload of `vault.secrets.get`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetSecretsRequest {
    /// `requests` = 1.
    #[prost(message, repeated, tag = "1")]
    pub requests: Vec<SecretRequest>,
    /// `org_id` = 2 (deprecated).
    #[prost(string, tag = "2")]
    pub org_id: String,
    /// `workflow_owner` = 3 (deprecated).
    #[prost(string, tag = "3")]
    pub workflow_owner: String,
}

/// The decryption key shares sealed to one requested key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EncryptedShares {
    /// `shares` = 1: hex of NaCl sealed boxes, one per vault node.
    #[prost(string, repeated, tag = "1")]
    pub shares: Vec<String>,
    /// `encryption_key` = 2: echo of the requested key.
    #[prost(string, tag = "2")]
    pub encryption_key: String,
    /// `binary_shares` = 3: raw sealed boxes; preferred over `shares` when non-empty.
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub binary_shares: Vec<Vec<u8>>,
}

/// A secret's ciphertext and its shares. Field 1 is unused upstream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecretData {
    /// `encrypted_value` = 2: hex of the TDH2 ciphertext.
    #[prost(string, tag = "2")]
    pub encrypted_value: String,
    /// `encrypted_decryption_key_shares` = 3.
    #[prost(message, repeated, tag = "3")]
    pub encrypted_decryption_key_shares: Vec<EncryptedShares>,
}

/// The answer for one requested secret.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecretResponse {
    /// `id` = 1.
    #[prost(message, optional, tag = "1")]
    pub id: Option<SecretIdentifier>,
    /// The `result` oneof.
    #[prost(oneof = "secret_response::Result", tags = "2, 3")]
    pub result: Option<secret_response::Result>,
}

/// The oneof of [`SecretResponse`].
pub mod secret_response {
    use super::SecretData;

    /// The `result` oneof.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Result {
        /// `data` = 2.
        #[prost(message, tag = "2")]
        Data(SecretData),
        /// `error` = 3.
        #[prost(string, tag = "3")]
        Error(String),
    }
}

/// The response payload of `vault.secrets.get`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetSecretsResponse {
    /// `responses` = 1, in request order.
    #[prost(message, repeated, tag = "1")]
    pub responses: Vec<SecretResponse>,
}

impl_name!(SecretIdentifier, "vault", "SecretIdentifier");
impl_name!(SecretRequest, "vault", "SecretRequest");
impl_name!(GetSecretsRequest, "vault", "GetSecretsRequest");
impl_name!(EncryptedShares, "vault", "EncryptedShares");
impl_name!(SecretData, "vault", "SecretData");
impl_name!(SecretResponse, "vault", "SecretResponse");
impl_name!(GetSecretsResponse, "vault", "GetSecretsResponse");
