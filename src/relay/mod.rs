//! The two relay methods: from one gateway request to exactly one response.
//!
//! Each request runs the same stages, and the first failure answers it:
//! parse the params (duplicate keys refused; both canonical forms computed) -> validate every
//! field ([`validate`]) -> check the attestation binding ([`binding`]) -> call the backend
//! (`secrets_get.rs`, `capability_execute.rs`) -> serialize the result the Go way ([`gojson`]).
//! Transport, attestation crypto and backends sit behind traits, so this module is tested alone.

pub mod binding;
pub mod canonical;
mod capability_execute;
pub mod domain_hash;
mod error;
pub mod gojson;
pub mod owner;
pub mod params;
pub mod result;
mod secrets_get;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

pub use self::domain_hash::DomainHashFormula;
pub use self::error::RelayError;
pub use self::validate::Limits;
use crate::attestation::AttestationVerifier;
use crate::backend::{CapabilityBackend, VaultBackend};
use crate::gateway::RequestHandler;
use crate::jsonrpc::{Outcome, Request, Response};
use crate::proto::capabilities::RequestMetadata;

/// Method name of the secrets request.
pub const METHOD_SECRETS_GET: &str = "confidential.secrets.get";
/// Method name of the capability request.
pub const METHOD_CAPABILITY_EXECUTE: &str = "confidential.capability.execute";
/// The methods the relay serves, in the reference's registration order.
pub const METHODS: [&str; 2] = [METHOD_SECRETS_GET, METHOD_CAPABILITY_EXECUTE];

/// Longest decoder message sent back for undecodable params: serde quotes the offending
/// value, which may be as large as the frame.
const MAX_DECODER_MESSAGE_CHARS: usize = 200;

/// Longest request id or method written to a log line (both come from the gateway; Debug
/// formatting escapes newlines so they cannot forge log lines).
const MAX_LOGGED_CHARS: usize = 200;

/// Longest failure cause written to a log line.
const MAX_LOGGED_ERROR_CHARS: usize = 1000;

/// Default bound on one request, attestation and backend call included (the reference's
/// per-request serve timeout).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the relay needs to know about the node it runs beside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// The node's Workflow DON id, sent in backend metadata.
    pub don_id: u32,
    /// The Workflow DON's config version, sent in backend metadata.
    pub don_config_version: u32,
    /// The `DomainHash` formula enclaves use.
    pub domain_hash: DomainHashFormula,
    /// Validation limits.
    pub limits: Limits,
    /// Forward the request's `org_id` in backend metadata (off by default, as in the reference).
    pub forward_org_id: bool,
    /// Bound on one request; past it the caller gets -32000.
    pub request_timeout: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            don_id: 0,
            don_config_version: 0,
            domain_hash: DomainHashFormula::default(),
            limits: Limits::default(),
            forward_org_id: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The relay core: one request in, one response out.
#[derive(Clone)]
pub struct Relay {
    config: Arc<RelayConfig>,
    verifier: Arc<dyn AttestationVerifier>,
    vault: Arc<dyn VaultBackend>,
    capabilities: Arc<dyn CapabilityBackend>,
}

impl Relay {
    /// A relay over the given verifier and backends.
    pub fn new(
        config: RelayConfig,
        verifier: Arc<dyn AttestationVerifier>,
        vault: Arc<dyn VaultBackend>,
        capabilities: Arc<dyn CapabilityBackend>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            verifier,
            vault,
            capabilities,
        }
    }

    /// The relay's configuration.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// Answers one request. Never fails: every error becomes an error response, and every
    /// `-32603` cause is logged here with the request id.
    pub async fn handle(&self, request: Request) -> Response {
        let Request {
            id, method, params, ..
        } = request;
        let work = self.dispatch(&id, &method, params.as_deref());
        let outcome = tokio::time::timeout(self.config.request_timeout, work)
            .await
            .unwrap_or(Err(RelayError::TimedOut(self.config.request_timeout)));
        match outcome {
            Ok(result) => Response {
                id,
                method,
                outcome: Outcome::Result(result),
            },
            Err(err) => {
                tracing::warn!(
                    request_id = ?crate::jsonrpc::bounded(&id, MAX_LOGGED_CHARS),
                    method = ?crate::jsonrpc::bounded(&method, MAX_LOGGED_CHARS),
                    error = ?crate::jsonrpc::bounded(&err.to_string(), MAX_LOGGED_ERROR_CHARS),
                    "request failed"
                );
                let failure = err.failure();
                Response::failure(id, method, &failure)
            }
        }
    }

    async fn dispatch(
        &self,
        id: &str,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, RelayError> {
        match method {
            METHOD_SECRETS_GET => self.secrets_get(id, params).await,
            METHOD_CAPABILITY_EXECUTE => self.capability_execute(params).await,
            _ => Err(RelayError::UnknownMethod(method.to_owned())),
        }
    }

    /// Checks that `document` attests `params` (declared-order form) or the params as received,
    /// under `tag`.
    async fn verify_binding<T: serde::Serialize>(
        &self,
        tag: &str,
        params: &T,
        as_received: &[u8],
        document: Vec<u8>,
    ) -> Result<(), RelayError> {
        let declared = canonical::declared_order(params)
            .map_err(|err| RelayError::Internal(err.to_string()))?;
        let candidates =
            binding::UserDataCandidates::new(self.config.domain_hash, tag, &declared, as_received);
        binding::verify(self.verifier.clone(), document, candidates).await
    }

    /// Backend metadata common to both methods.
    fn metadata(
        &self,
        workflow_id: &str,
        execution_id: &str,
        owner: &str,
        org_id: &str,
        reference_id: &str,
    ) -> RequestMetadata {
        RequestMetadata {
            workflow_id: workflow_id.to_owned(),
            workflow_execution_id: execution_id.to_owned(),
            workflow_owner: owner.to_owned(),
            workflow_don_id: self.config.don_id,
            workflow_don_config_version: self.config.don_config_version,
            reference_id: reference_id.to_owned(),
            org_id: if self.config.forward_org_id {
                org_id.to_owned()
            } else {
                String::new()
            },
            ..RequestMetadata::default()
        }
    }
}

#[async_trait]
impl RequestHandler for Relay {
    async fn handle(&self, _gateway_id: &str, request: Request) -> Response {
        Relay::handle(self, request).await
    }
}

/// Received params, checked for duplicates and parsed into `T`, with their *as received*
/// canonical form.
struct Parsed<T> {
    typed: T,
    as_received: Vec<u8>,
}

fn parse_params<T: DeserializeOwned>(params: Option<&RawValue>) -> Result<Parsed<T>, RelayError> {
    let raw = params.ok_or(RelayError::MissingParams)?;
    let as_received =
        canonical::as_received(raw).map_err(|err| RelayError::InvalidParams(err.to_string()))?;
    let typed = serde_json::from_str(raw.get()).map_err(|err| {
        let text = crate::jsonrpc::bounded(&err.to_string(), MAX_DECODER_MESSAGE_CHARS);
        RelayError::InvalidParams(format!("invalid params: {text}"))
    })?;
    Ok(Parsed { typed, as_received })
}
