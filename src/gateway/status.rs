//! Live counters of the connector for metrics and readiness: per-gateway connected flag and
//! attempt counters, and the in-flight gauge. Lock-free reads; written by the link tasks.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, watch};

/// Counters of one gateway link.
#[derive(Debug)]
pub struct GatewayStatus {
    id: String,
    connected: watch::Sender<bool>,
    dial_attempts: AtomicU64,
    failed_attempts: AtomicU64,
    connects: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A copy of one gateway's counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySnapshot {
    /// The configured gateway id.
    pub id: String,
    /// Whether a socket is up and serving now.
    pub connected: bool,
    /// Dials started (including the first).
    pub dial_attempts: u64,
    /// Dials or handshakes that failed, plus links closed before they were stable.
    pub failed_attempts: u64,
    /// Handshakes that succeeded.
    pub connects: u64,
    /// Why the last attempt or link ended, if it did.
    pub last_error: Option<String>,
}

impl GatewayStatus {
    pub(crate) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            connected: watch::Sender::new(false),
            dial_attempts: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// The gateway id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether a socket is up now.
    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// A receiver that sees every change of the connected flag.
    pub fn watch_connected(&self) -> watch::Receiver<bool> {
        self.connected.subscribe()
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        if connected {
            self.connects.fetch_add(1, Ordering::Relaxed);
        }
        self.connected.send_replace(connected);
    }

    pub(crate) fn dialing(&self) {
        self.dial_attempts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self, reason: String) {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
        self.set_last_error(reason);
    }

    pub(crate) fn set_last_error(&self, reason: String) {
        if let Ok(mut slot) = self.last_error.lock() {
            *slot = Some(reason);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> GatewaySnapshot {
        GatewaySnapshot {
            id: self.id.clone(),
            connected: self.is_connected(),
            dial_attempts: self.dial_attempts.load(Ordering::Relaxed),
            failed_attempts: self.failed_attempts.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|slot| slot.clone()),
        }
    }
}

/// Counters of the whole connector.
#[derive(Debug)]
pub struct ConnectorStatus {
    gateways: Vec<Arc<GatewayStatus>>,
    permits: Arc<Semaphore>,
    max_in_flight: usize,
}

impl ConnectorStatus {
    pub(crate) fn new(
        gateways: Vec<Arc<GatewayStatus>>,
        permits: Arc<Semaphore>,
        max_in_flight: usize,
    ) -> Self {
        Self {
            gateways,
            permits,
            max_in_flight,
        }
    }

    /// Each gateway's live status, in configuration order.
    pub fn gateways(&self) -> &[Arc<GatewayStatus>] {
        &self.gateways
    }

    /// One gateway's status by id.
    pub fn gateway(&self, id: &str) -> Option<&Arc<GatewayStatus>> {
        self.gateways.iter().find(|gateway| gateway.id() == id)
    }

    /// How many gateways are connected now.
    pub fn connected_count(&self) -> usize {
        self.gateways
            .iter()
            .filter(|gateway| gateway.is_connected())
            .count()
    }

    /// Requests being handled now, over all gateways.
    pub fn in_flight(&self) -> usize {
        self.max_in_flight
            .saturating_sub(self.permits.available_permits())
    }

    /// Reconnects so far: successful handshakes beyond the first per gateway.
    pub fn reconnects(&self) -> u64 {
        self.gateways
            .iter()
            .map(|gateway| gateway.snapshot().connects.saturating_sub(1))
            .sum()
    }
}
