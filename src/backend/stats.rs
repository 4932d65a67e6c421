//! Per-backend call counters: a lock-free hook the service can export as metrics later.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters of one backend, updated after every call.
#[derive(Debug, Default)]
pub struct BackendStats {
    calls: AtomicU64,
    errors: AtomicU64,
    latency_micros_total: AtomicU64,
    latency_micros_max: AtomicU64,
}

/// A copy of one backend's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatsSnapshot {
    /// The capability id of the route (`*` for the default endpoint).
    pub backend: String,
    /// The endpoint address.
    pub endpoint: String,
    /// Calls finished (successful or not).
    pub calls: u64,
    /// Calls that ended in a [`super::BackendError`].
    pub errors: u64,
    /// Sum of call latencies.
    pub latency_total: Duration,
    /// Longest call latency.
    pub latency_max: Duration,
}

impl BackendStats {
    /// Records one finished call.
    pub fn record(&self, latency: Duration, failed: bool) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_micros_total
            .fetch_add(micros, Ordering::Relaxed);
        self.latency_micros_max.fetch_max(micros, Ordering::Relaxed);
    }

    /// The current counters, labelled.
    pub fn snapshot(&self, backend: &str, endpoint: &str) -> BackendStatsSnapshot {
        BackendStatsSnapshot {
            backend: backend.to_string(),
            endpoint: endpoint.to_string(),
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            latency_total: Duration::from_micros(self.latency_micros_total.load(Ordering::Relaxed)),
            latency_max: Duration::from_micros(self.latency_micros_max.load(Ordering::Relaxed)),
        }
    }
}
