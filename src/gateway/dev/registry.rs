//! The dev gateway's shared state: connected nodes (one connection per node, a new one
//! replaces the old), user requests waiting for node replies, and the event log tests read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::gateway::eip191::Address;
use crate::jsonrpc::{Request, Response};

/// Replies queued for one user request (at most one per member is accepted anyway).
pub(crate) const REPLY_QUEUE: usize = 64;

/// Something the node endpoint did, recorded for tests and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A handshake was refused; `reason` is [`crate::gateway::handshake::AuthError::reason`].
    Rejected {
        /// Stable token.
        reason: &'static str,
        /// The full explanation.
        detail: String,
    },
    /// A node authenticated.
    Connected(Address),
    /// A node's connection ended.
    Dropped {
        /// Which node.
        node: Address,
        /// Why.
        reason: String,
    },
}

struct NodeConn {
    id: u64,
    outbox: mpsc::Sender<Request>,
    close: CancellationToken,
}

/// Connected nodes, waiting user requests and the event log.
pub(crate) struct Registry {
    nodes: Mutex<HashMap<Address, NodeConn>>,
    pending: Mutex<HashMap<String, mpsc::Sender<(Address, Response)>>>,
    connected: watch::Sender<usize>,
    events: Mutex<Vec<NodeEvent>>,
    next_id: AtomicU64,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            nodes: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            connected: watch::Sender::new(0),
            events: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }

    pub(crate) fn record(&self, event: NodeEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    pub(crate) fn events(&self) -> Vec<NodeEvent> {
        self.events
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    pub(crate) fn connected_nodes(&self) -> Vec<Address> {
        let mut nodes: Vec<Address> = self
            .nodes
            .lock()
            .map(|nodes| nodes.keys().copied().collect())
            .unwrap_or_default();
        nodes.sort();
        nodes
    }

    pub(crate) fn watch_connected(&self) -> watch::Receiver<usize> {
        self.connected.subscribe()
    }

    /// The queue of a connected node.
    pub(crate) fn outbox(&self, node: &Address) -> Option<mpsc::Sender<Request>> {
        self.nodes
            .lock()
            .ok()?
            .get(node)
            .map(|conn| conn.outbox.clone())
    }

    /// Registers a user request id; false if one with that id is in flight.
    pub(crate) fn add_pending(&self, id: &str, replies: mpsc::Sender<(Address, Response)>) -> bool {
        let Ok(mut pending) = self.pending.lock() else {
            return false;
        };
        if pending.contains_key(id) {
            return false;
        }
        pending.insert(id.to_owned(), replies);
        true
    }

    pub(crate) fn remove_pending(&self, id: &str) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(id);
        }
    }

    pub(crate) fn deliver(&self, node: Address, response: Response) {
        let target = self
            .pending
            .lock()
            .ok()
            .and_then(|pending| pending.get(&response.id).cloned());
        match target {
            Some(replies) => {
                let _ = replies.try_send((node, response));
            }
            None => debug!(%node, id = %response.id, "late or unknown response ignored"),
        }
    }

    pub(crate) fn install(
        &self,
        node: Address,
        outbox: mpsc::Sender<Request>,
        close: CancellationToken,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut nodes) = self.nodes.lock() {
            if let Some(old) = nodes.insert(node, NodeConn { id, outbox, close }) {
                old.close.cancel();
            }
            self.connected.send_replace(nodes.len());
        }
        id
    }

    pub(crate) fn uninstall(&self, node: Address, id: u64) {
        if let Ok(mut nodes) = self.nodes.lock() {
            // A replaced connection must not remove its successor.
            if nodes.get(&node).is_some_and(|conn| conn.id == id) {
                nodes.remove(&node);
            }
            self.connected.send_replace(nodes.len());
        }
    }
}
