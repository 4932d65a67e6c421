//! In-memory test doubles of both backend traits, for the core's unit and integration tests:
//! each answers through a closure and records every request it got.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{BackendError, CapabilityBackend, VaultBackend, vault_capability_request};
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse, RequestMetadata};
use crate::proto::vault::{GetSecretsRequest, GetSecretsResponse};

/// How [`MemoryVault`] answers.
pub type VaultHandler = dyn Fn(&RequestMetadata, &GetSecretsRequest) -> Result<GetSecretsResponse, BackendError>
    + Send
    + Sync;

/// How [`MemoryCapabilities`] answers one capability id.
pub type CapabilityHandler =
    dyn Fn(&CapabilityRequest) -> Result<CapabilityResponse, BackendError> + Send + Sync;

/// A vault double. Clones share the handler and the record.
#[derive(Clone)]
pub struct MemoryVault {
    handler: Arc<VaultHandler>,
    calls: Arc<Mutex<Vec<CapabilityRequest>>>,
}

impl MemoryVault {
    /// A vault answering with `handler`.
    pub fn new(
        handler: impl Fn(
            &RequestMetadata,
            &GetSecretsRequest,
        ) -> Result<GetSecretsResponse, BackendError>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            handler: Arc::new(handler),
            calls: Arc::default(),
        }
    }

    /// A vault always answering `response`.
    pub fn answering(response: GetSecretsResponse) -> Self {
        Self::new(move |_, _| Ok(response.clone()))
    }

    /// A vault always failing with `error`.
    pub fn failing(error: BackendError) -> Self {
        Self::new(move |_, _| Err(error.clone()))
    }

    /// The capability requests the vault got, in order, as
    /// [`vault_capability_request`] builds them for the wire.
    pub fn requests(&self) -> Vec<CapabilityRequest> {
        recorded(&self.calls)
    }
}

#[async_trait::async_trait]
impl VaultBackend for MemoryVault {
    async fn get_secrets(
        &self,
        metadata: RequestMetadata,
        request: GetSecretsRequest,
    ) -> Result<GetSecretsResponse, BackendError> {
        let answer = (self.handler)(&metadata, &request);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(vault_capability_request(metadata, &request));
        }
        answer
    }
}

/// A capabilities double: one handler per capability id; other ids are
/// [`BackendError::NotFound`]. Clones share the handlers and the record.
#[derive(Clone, Default)]
pub struct MemoryCapabilities {
    handlers: Arc<BTreeMap<String, Arc<CapabilityHandler>>>,
    calls: Arc<Mutex<Vec<CapabilityRequest>>>,
}

impl MemoryCapabilities {
    /// No capabilities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the handler of `capability_id`. Call before cloning.
    pub fn with(
        mut self,
        capability_id: &str,
        handler: impl Fn(&CapabilityRequest) -> Result<CapabilityResponse, BackendError>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let mut handlers = (*self.handlers).clone();
        handlers.insert(capability_id.to_string(), Arc::new(handler));
        self.handlers = Arc::new(handlers);
        self
    }

    /// Adds a capability that always answers `response`.
    pub fn answering(self, capability_id: &str, response: CapabilityResponse) -> Self {
        self.with(capability_id, move |_| Ok(response.clone()))
    }

    /// The requests received (routed or not), in order.
    pub fn requests(&self) -> Vec<CapabilityRequest> {
        recorded(&self.calls)
    }
}

#[async_trait::async_trait]
impl CapabilityBackend for MemoryCapabilities {
    async fn execute(
        &self,
        request: CapabilityRequest,
    ) -> Result<CapabilityResponse, BackendError> {
        let answer = match self.handlers.get(&request.capability_id) {
            Some(handler) => handler(&request),
            None => Err(BackendError::NotFound {
                capability_id: request.capability_id.clone(),
            }),
        };
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(request);
        }
        answer
    }
}

/// A copy of the requests recorded so far.
fn recorded(calls: &Mutex<Vec<CapabilityRequest>>) -> Vec<CapabilityRequest> {
    calls.lock().map(|calls| calls.clone()).unwrap_or_default()
}
