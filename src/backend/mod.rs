//! Backends the relay proxies to: the vault capability and the capabilities named in requests.
//!
//! The relay core talks to them only through [`VaultBackend`] and [`CapabilityBackend`]. This
//! file owns those traits and [`BackendError`]; [`vault`] builds and unpacks the vault's
//! capability messages, [`capability_error`] parses the wire error strings, [`config`] validates
//! the routing section, [`grpc`] is the production client, [`memory`] holds in-process test
//! doubles and [`mock`] real tonic mock servers.

pub mod capability_error;
pub mod config;
pub mod grpc;
pub mod memory;
pub mod mock;
pub mod stats;
pub mod vault;

use std::time::Duration;

pub use capability_error::{CapabilityError, ErrorCode, Origin, Visibility};
pub use config::{BackendsConfig, BackendsPlan, ConfigError};
pub use grpc::GrpcBackends;
pub use vault::{vault_capability_request, vault_response};

use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse, RequestMetadata};
use crate::proto::vault::{GetSecretsRequest, GetSecretsResponse};

/// The vault capability (`vault@1.0.0`, method `vault.secrets.get`).
#[async_trait::async_trait]
pub trait VaultBackend: Send + Sync {
    /// Wraps `request` in a capabilities.CapabilityRequest for vault@1.0.0 (method vault.secrets.get,
    /// empty config/inputs maps present, payload Any(GetSecretsRequest), the given metadata), executes it,
    /// and unpacks Any(GetSecretsResponse). A non-empty response `error` is BackendError::Remote.
    async fn get_secrets(
        &self,
        metadata: RequestMetadata,
        request: GetSecretsRequest,
    ) -> Result<GetSecretsResponse, BackendError>;
}

/// Any capability, routed by its id.
#[async_trait::async_trait]
pub trait CapabilityBackend: Send + Sync {
    /// Routes by request.capability_id. Returns the response as received (a non-empty `error` field is
    /// NOT an Err: the core renders it); Err only for routing/transport/timeout/decode failures.
    async fn execute(&self, request: CapabilityRequest)
    -> Result<CapabilityResponse, BackendError>;
}

/// Why a backend call failed. The core masks all of them as -32603 and logs the Display text
/// (it words [`BackendError::NotFound`] as `capability not found: <id>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No route for the capability id and no default endpoint.
    #[error("capability not found: {capability_id}")]
    NotFound {
        /// The id that has no route.
        capability_id: String,
    },
    /// The backend could not be reached (connection refused, connect timeout, TLS, reset).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The call (waiting for a concurrency slot, connecting, the first message) took longer
    /// than the backend's deadline.
    #[error("backend deadline of {0:?} exceeded")]
    DeadlineExceeded(Duration),
    /// The backend's answer could not be decoded (bad bytes, oversize message, wrong Any type,
    /// missing payload, empty stream).
    #[error("backend response undecodable: {0}")]
    Decode(String),
    /// The backend answered with an error of its own (the vault's `error` field).
    #[error("backend returned an error: {0}")]
    Remote(String),
    /// The backend answered with a gRPC status other than the ones above.
    #[error("backend gRPC status {code}: {message}")]
    Status {
        /// The gRPC status code name, e.g. `Unimplemented`.
        code: String,
        /// The status message.
        message: String,
    },
}

impl BackendError {
    /// A short stable token per variant, for metrics labels and structured logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Unavailable(_) => "unavailable",
            Self::DeadlineExceeded(_) => "deadline_exceeded",
            Self::Decode(_) => "decode",
            Self::Remote(_) => "remote",
            Self::Status { .. } => "status",
        }
    }
}
