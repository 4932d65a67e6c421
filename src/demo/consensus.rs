//! The demo's stand-in for the vault DON's agreement.
//!
//! In production every relay node asks its own node's vault capability, and the vault DON
//! agrees (OCR) on one response, so every relay node receives the same sealed shares and the
//! enclave sees byte-identical results. The single mock vault seals each answer afresh (a
//! NaCl sealed box is randomised), so without this layer no two nodes would agree. Each node
//! still makes its own gRPC call; the first answer for a request becomes the agreed one, and
//! every node returns it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prost::Message as _;

use crate::backend::{BackendError, VaultBackend};
use crate::proto::capabilities::RequestMetadata;
use crate::proto::vault::{GetSecretsRequest, GetSecretsResponse};

/// How long an agreed answer is kept for slower nodes: far above any demo request's life.
const AGREEMENT_TTL: Duration = Duration::from_secs(60);

/// Agreed answers kept before old ones are pruned (a killed node never fetches its copy).
const PRUNE_ABOVE: usize = 4096;

/// One request as the vault DON identifies it.
type Key = (String, String, Vec<u8>);

/// Agreed answers, shared by every node's [`ConsensusVault`].
#[derive(Debug, Default)]
pub struct Agreement {
    answers: Mutex<HashMap<Key, (Instant, GetSecretsResponse)>>,
}

impl Agreement {
    /// An empty agreement table.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The agreed answer for `key`: the stored one, or `answer` when it is the first.
    fn settle(&self, key: Key, answer: GetSecretsResponse) -> GetSecretsResponse {
        let Ok(mut answers) = self.answers.lock() else {
            return answer;
        };
        if answers.len() > PRUNE_ABOVE {
            let now = Instant::now();
            answers.retain(|_, (at, _)| now.duration_since(*at) < AGREEMENT_TTL);
        }
        answers
            .entry(key)
            .or_insert_with(|| (Instant::now(), answer))
            .1
            .clone()
    }

    /// Answers held now.
    pub fn len(&self) -> usize {
        self.answers.lock().map(|a| a.len()).unwrap_or_default()
    }

    /// Whether no answer is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One node's vault: its own backend, answers settled through the shared [`Agreement`].
pub struct ConsensusVault {
    inner: Arc<dyn VaultBackend>,
    agreement: Arc<Agreement>,
}

impl ConsensusVault {
    /// Wraps one node's vault backend.
    pub fn new(inner: Arc<dyn VaultBackend>, agreement: Arc<Agreement>) -> Self {
        Self { inner, agreement }
    }
}

#[async_trait]
impl VaultBackend for ConsensusVault {
    async fn get_secrets(
        &self,
        metadata: RequestMetadata,
        request: GetSecretsRequest,
    ) -> Result<GetSecretsResponse, BackendError> {
        let key = (
            metadata.reference_id.clone(),
            metadata.workflow_execution_id.clone(),
            request.encode_to_vec(),
        );
        let answer = self.inner.get_secrets(metadata, request).await?;
        Ok(self.agreement.settle(key, answer))
    }
}
