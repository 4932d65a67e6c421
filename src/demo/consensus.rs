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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::memory::MemoryVault;
    use crate::proto::vault::{SecretIdentifier, SecretResponse};

    /// A vault whose every answer differs (like fresh sealed boxes): the id's key is a counter.
    fn counting_vault() -> Arc<dyn VaultBackend> {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        Arc::new(MemoryVault::new(move |_, _| {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(GetSecretsResponse {
                responses: vec![SecretResponse {
                    id: Some(SecretIdentifier {
                        key: format!("answer-{n}"),
                        ..SecretIdentifier::default()
                    }),
                    result: None,
                }],
            })
        }))
    }

    fn metadata(reference_id: &str) -> RequestMetadata {
        RequestMetadata {
            reference_id: reference_id.to_owned(),
            ..RequestMetadata::default()
        }
    }

    fn key_of(response: &GetSecretsResponse) -> String {
        response.responses[0].id.as_ref().unwrap().key.clone()
    }

    #[tokio::test]
    async fn every_node_gets_the_first_answer_for_one_request() {
        let agreement = Agreement::new();
        let vault = counting_vault();
        let nodes: Vec<ConsensusVault> = (0..4)
            .map(|_| ConsensusVault::new(vault.clone(), agreement.clone()))
            .collect();
        let request = GetSecretsRequest::default();
        let mut answers = Vec::new();
        for node in &nodes {
            let answer = node.get_secrets(metadata("r1"), request.clone()).await;
            answers.push(key_of(&answer.unwrap()));
        }
        assert_eq!(answers, vec!["answer-0"; 4]);
        // Another request id is another agreement.
        let other = nodes[1].get_secrets(metadata("r2"), request).await.unwrap();
        assert_eq!(key_of(&other), "answer-4");
        assert_eq!(agreement.len(), 2);
    }

    #[tokio::test]
    async fn a_failed_call_is_not_agreed() {
        let agreement = Agreement::new();
        let failing: Arc<dyn VaultBackend> = Arc::new(MemoryVault::failing(
            BackendError::Unavailable("connection refused".into()),
        ));
        let node = ConsensusVault::new(failing, agreement.clone());
        let outcome = node
            .get_secrets(metadata("r1"), GetSecretsRequest::default())
            .await;
        assert!(outcome.is_err());
        assert!(agreement.is_empty());
    }
}
