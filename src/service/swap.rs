//! Hot-swappable stage implementations for SIGHUP reloads: the relay holds a [`Swappable`],
//! a reload stores a new implementation, and requests already running finish on the old one.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::attestation::{AttestationVerifier, Rejection};
use crate::backend::{BackendError, CapabilityBackend, VaultBackend};
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse, RequestMetadata};
use crate::proto::vault::{GetSecretsRequest, GetSecretsResponse};

/// An `Arc<T>` that can be replaced while readers hold the previous one.
pub struct Swappable<T: ?Sized> {
    current: RwLock<Arc<T>>,
}

impl<T: ?Sized> Swappable<T> {
    /// Starts with `initial`.
    pub fn new(initial: Arc<T>) -> Self {
        Self {
            current: RwLock::new(initial),
        }
    }

    /// The current implementation.
    pub fn load(&self) -> Arc<T> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            // A writer panicked mid-store; the value inside is still a whole Arc.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the implementation for every later call.
    pub fn store(&self, next: Arc<T>) {
        match self.current.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}

impl<T: AttestationVerifier + ?Sized> AttestationVerifier for Swappable<T> {
    fn verify(&self, document: &[u8], user_data_candidates: &[&[u8]]) -> Result<(), Rejection> {
        self.load().verify(document, user_data_candidates)
    }
}

/// Both backend traits, so one routing table can be swapped as a whole.
pub trait Backends: VaultBackend + CapabilityBackend {}

impl<T: VaultBackend + CapabilityBackend> Backends for T {}

#[async_trait]
impl<T: VaultBackend + ?Sized> VaultBackend for Swappable<T> {
    async fn get_secrets(
        &self,
        metadata: RequestMetadata,
        request: GetSecretsRequest,
    ) -> Result<GetSecretsResponse, BackendError> {
        self.load().get_secrets(metadata, request).await
    }
}

#[async_trait]
impl<T: CapabilityBackend + ?Sized> CapabilityBackend for Swappable<T> {
    async fn execute(
        &self,
        request: CapabilityRequest,
    ) -> Result<CapabilityResponse, BackendError> {
        self.load().execute(request).await
    }
}
