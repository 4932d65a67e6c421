//! The chain cache: a verified `(certificate, cabundle)` pair is remembered with its leaf key
//! until the earliest notAfter of the chain, bounded in size. A hit costs one hash of the
//! certificates plus the COSE verification; the validity window of every certificate is
//! re-checked on every hit (the window is the intersection over all of them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lc_rs::digest;

use super::chain::VerifiedChain;

/// Cache key: SHA-256 over the length-prefixed leaf and cabundle certificates (collision
/// resistant, so equal keys mean equal chains).
pub(crate) type ChainKey = [u8; 32];

/// The key for a leaf and its cabundle.
pub(crate) fn chain_key(leaf: &[u8], cabundle: &[&[u8]]) -> ChainKey {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for der in std::iter::once(&leaf).chain(cabundle.iter()) {
        ctx.update(&(der.len() as u64).to_be_bytes());
        ctx.update(der);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

/// A bounded map of verified chains with hit/miss counters.
#[derive(Debug)]
pub(crate) struct ChainCache {
    entries: Mutex<HashMap<ChainKey, Arc<VerifiedChain>>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ChainCache {
    /// An empty cache holding at most `capacity` chains (0 disables caching).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ChainKey, Arc<VerifiedChain>>> {
        // The map holds no invariant a panicking holder could break.
        self.entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The chain for `key` if cached and every certificate is valid at `now_s`.
    pub(crate) fn get(&self, key: &ChainKey, now_s: i64) -> Option<Arc<VerifiedChain>> {
        let mut map = self.lock();
        let found = match map.get(key) {
            Some(chain) if chain.not_before <= now_s && now_s <= chain.not_after => {
                Some(Arc::clone(chain))
            }
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        };
        drop(map);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Remembers a verified chain, evicting expired entries (then an arbitrary one) when full.
    pub(crate) fn insert(&self, key: ChainKey, chain: Arc<VerifiedChain>, now_s: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, c| c.not_before <= now_s && now_s <= c.not_after);
            if map.len() >= self.capacity
                && let Some(victim) = map.keys().next().copied()
            {
                map.remove(&victim);
            }
        }
        map.insert(key, chain);
    }

    /// `(hits, misses)` since creation.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Number of cached chains.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}
