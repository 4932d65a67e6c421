//! [`NitroVerifier`]: parse, then verify the chain (through the cache) and the COSE signature,
//! then apply the [`Policy`]. Only this module can build a [`VerifiedDocument`], so the policy
//! never sees fields of a document whose signature and chain were not verified.

use std::sync::Arc;

use super::cache::{ChainCache, chain_key};
use super::chain::{TrustRoot, verify_chain};
use super::clock::Clock;
use super::document::{ParsedDocument, parse};
use super::error::Rejection;
use super::limits::{CHAIN_CACHE_CAPACITY, MAX_PCRS};
use super::policy::Policy;
use super::{AttestationVerifier, cose};

/// A document whose chain and signature verified at a given time. Only the verifier builds it:
///
/// ```compile_fail
/// use confidential_relay::attestation::{parse, VerifiedDocument};
/// let parsed = parse(&[]).unwrap();
/// let forged = VerifiedDocument { parsed };
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedDocument<'a> {
    parsed: ParsedDocument<'a>,
}

impl<'a> VerifiedDocument<'a> {
    /// Enclave module id.
    pub fn module_id(&self) -> &'a str {
        self.parsed.payload.module_id
    }

    /// Document timestamp, ms since the epoch.
    pub fn timestamp_ms(&self) -> u64 {
        self.parsed.payload.timestamp_ms
    }

    /// PCR values by index.
    pub fn pcrs(&self) -> &[Option<&'a [u8]>; MAX_PCRS] {
        &self.parsed.payload.pcrs
    }

    /// `user_data` (`None`: absent or null).
    pub fn user_data(&self) -> Option<&'a [u8]> {
        self.parsed.payload.user_data
    }

    /// `public_key` (`None`: absent or null).
    pub fn public_key(&self) -> Option<&'a [u8]> {
        self.parsed.payload.public_key
    }

    /// `nonce` (`None`: absent or null).
    pub fn nonce(&self) -> Option<&'a [u8]> {
        self.parsed.payload.nonce
    }

    /// The whole parsed document (verified).
    pub fn parsed(&self) -> &ParsedDocument<'a> {
        &self.parsed
    }
}

/// The production [`AttestationVerifier`]: AWS Nitro documents under a pinned root.
pub struct NitroVerifier {
    root: TrustRoot,
    policy: Policy,
    clock: Arc<dyn Clock>,
    cache: ChainCache,
}

impl std::fmt::Debug for NitroVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NitroVerifier")
            .field("root_sha256", &self.root.sha256_hex())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl NitroVerifier {
    /// A verifier trusting `root` (normally [`TrustRoot::aws_nitro_root_g1`]; anything else
    /// comes from [`TrustRoot::insecure_custom_root`]) with a chain cache of the default size.
    pub fn new(policy: Policy, root: TrustRoot, clock: Arc<dyn Clock>) -> Self {
        Self::with_cache_capacity(policy, root, clock, CHAIN_CACHE_CAPACITY)
    }

    /// As [`NitroVerifier::new`] with a chosen cache capacity (0 disables the cache).
    pub fn with_cache_capacity(
        policy: Policy,
        root: TrustRoot,
        clock: Arc<dyn Clock>,
        capacity: usize,
    ) -> Self {
        if !root.is_aws() {
            tracing::warn!(
                sha256 = %root.sha256_hex(),
                "attestation trust root is NOT the AWS Nitro Root-G1: real enclaves will be refused"
            );
        }
        Self {
            root,
            policy,
            clock,
            cache: ChainCache::new(capacity),
        }
    }

    /// The trust root.
    pub fn root(&self) -> &TrustRoot {
        &self.root
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// `(hits, misses)` of the chain cache, for metrics.
    pub fn cache_stats(&self) -> (u64, u64) {
        self.cache.stats()
    }

    /// Number of chains currently cached.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Parses and verifies chain and signature at `now_ms`, without the policy.
    pub fn verify_document_at<'a>(
        &self,
        document: &'a [u8],
        now_ms: u64,
    ) -> Result<VerifiedDocument<'a>, Rejection> {
        let parsed = parse(document)?;
        let payload = &parsed.payload;
        let now_s = now_ms / 1000;
        let now_i = i64::try_from(now_s).unwrap_or(i64::MAX);
        // The cache never admits a chain whose root is not ours: check the pin first.
        if payload.cabundle.first().copied() != Some(self.root.der()) {
            return Err(Rejection::UntrustedRoot);
        }
        let key = chain_key(payload.certificate, &payload.cabundle);
        let chain = match self.cache.get(&key, now_i) {
            Some(chain) => chain,
            None => {
                let chain = Arc::new(verify_chain(
                    &self.root,
                    payload.certificate,
                    &payload.cabundle,
                    now_s,
                )?);
                self.cache.insert(key, Arc::clone(&chain), now_i);
                chain
            }
        };
        cose::verify(
            &chain.leaf_key,
            parsed.protected,
            parsed.payload_bytes,
            parsed.signature,
        )?;
        Ok(VerifiedDocument { parsed })
    }

    /// Full verification (chain, signature, policy) at `now_ms`.
    pub fn verify_at(
        &self,
        document: &[u8],
        user_data_candidates: &[&[u8]],
        now_ms: u64,
    ) -> Result<(), Rejection> {
        let verified = self.verify_document_at(document, now_ms)?;
        self.policy.check(&verified, user_data_candidates, now_ms)
    }
}

impl AttestationVerifier for NitroVerifier {
    fn verify(&self, document: &[u8], user_data_candidates: &[&[u8]]) -> Result<(), Rejection> {
        self.verify_at(document, user_data_candidates, self.clock.now_unix_ms())
    }
}
