//! The verification clock: wall clock in the service, fixed in tests and in the CLI (`--at`).
//! Certificate validity, freshness and the chain cache all read the same clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> u64;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        // A clock before 1970 reads as 0, which every certificate check then rejects.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock stopped at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl FixedClock {
    /// A clock stopped at `secs` seconds after the epoch.
    pub fn at_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }
}

impl Clock for FixedClock {
    fn now_unix_ms(&self) -> u64 {
        self.0
    }
}
