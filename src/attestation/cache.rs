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

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P384_SHA384_FIXED, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
        UnparsedPublicKey,
    };

    use super::*;

    fn chain(not_before: i64, not_after: i64) -> Arc<VerifiedChain> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let leaf_key = UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, pair.public_key().as_ref())
            .parse()
            .unwrap();
        Arc::new(VerifiedChain {
            leaf_key,
            not_before,
            not_after,
        })
    }

    #[test]
    fn hit_only_inside_the_window_and_expired_entries_are_dropped() {
        let cache = ChainCache::new(4);
        cache.insert([1; 32], chain(100, 200), 150);
        assert!(cache.get(&[1; 32], 99).is_none());
        assert!(
            cache.get(&[1; 32], 100).is_none(),
            "entry was dropped at the previous miss"
        );
        cache.insert([1; 32], chain(100, 200), 150);
        assert!(cache.get(&[1; 32], 200).is_some());
        assert!(cache.get(&[1; 32], 201).is_none());
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.stats(), (1, 3));
    }

    #[test]
    fn bounded_with_expired_entries_evicted_first() {
        let cache = ChainCache::new(2);
        cache.insert([1; 32], chain(0, 10), 5);
        cache.insert([2; 32], chain(0, 1000), 5);
        cache.insert([3; 32], chain(0, 1000), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&[2; 32], 50).is_some());
        assert!(cache.get(&[3; 32], 50).is_some());
        cache.insert([4; 32], chain(0, 1000), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&[4; 32], 50).is_some());
    }

    #[test]
    fn zero_capacity_disables_caching() {
        let cache = ChainCache::new(0);
        cache.insert([1; 32], chain(0, 10), 5);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn key_separates_certificate_boundaries() {
        assert_ne!(chain_key(b"ab", &[b"c"]), chain_key(b"a", &[b"bc"]));
        assert_eq!(chain_key(b"ab", &[b"c"]), chain_key(b"ab", &[b"c"]));
    }
}
