//! A development gateway: the gateway side of the node protocol plus a user HTTP endpoint that
//! fans confidential-relay requests out to the DON and applies the quorum rules. For tests,
//! the demo and local development; not a production gateway.
//!
//! - `config`: TOML configuration; `nodes`: websocket endpoint; `registry`: connected nodes;
//! - `http`: user endpoint and fan-out; `quorum`: completion rules.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

pub mod config;
pub mod http;
mod nodes;
pub mod quorum;
mod registry;

pub use config::{DevConfig, DevConfigError};
pub use registry::NodeEvent;

use crate::gateway::eip191::Address;
use crate::gateway::tls::{self, TlsError};
use crate::jsonrpc::{Request, Response};
use http::UserApi;
use nodes::NodeServer;
use registry::Registry;
use tokio_rustls::TlsAcceptor;

/// Why the dev gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum DevGatewayError {
    /// A listen address could not be bound.
    #[error("cannot bind {which} listener on {addr}: {source}")]
    Bind {
        /// `node` or `http`.
        which: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("dev gateway TLS: {0}")]
    Tls(#[from] TlsError),
}

/// Why [`DevGatewayHandle::send_to_node`] got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The node is not connected (or its connection ended).
    #[error("node {0} is not connected")]
    NotConnected(Address),
    /// A request with this id is already waiting.
    #[error("request id {0:?} is already in flight")]
    DuplicateId(String),
    /// No response within the timeout.
    #[error("no response within the timeout")]
    Timeout,
}

/// The dev gateway.
pub struct DevGateway;

/// A running dev gateway.
pub struct DevGatewayHandle {
    config: Arc<DevConfig>,
    registry: Arc<Registry>,
    api: Arc<UserApi>,
    node_addr: SocketAddr,
    http_addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// Binds `addr` and returns the listener with the address it got (port 0 picks one).
async fn bind(
    which: &'static str,
    addr: SocketAddr,
) -> Result<(TcpListener, SocketAddr), DevGatewayError> {
    let fail = |source| DevGatewayError::Bind {
        which,
        addr,
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(fail)?;
    let local = listener.local_addr().map_err(fail)?;
    Ok((listener, local))
}

impl DevGateway {
    /// Binds both listeners and starts serving.
    pub async fn start(config: DevConfig) -> Result<DevGatewayHandle, DevGatewayError> {
        let tls = match &config.tls {
            Some((cert, key)) => Some(TlsAcceptor::from(tls::server_config(cert, key)?)),
            None => None,
        };
        let config = Arc::new(config);
        let (node_listener, node_addr) = bind("node", config.node_listen).await?;
        let (http_listener, http_addr) = bind("http", config.http_listen).await?;
        let registry = Arc::new(Registry::new());
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let server = Arc::new(NodeServer {
            config: config.clone(),
            registry: registry.clone(),
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
            tls,
        });
        tasks.spawn(server.run(node_listener));
        let api = Arc::new(UserApi {
            config: config.clone(),
            registry: registry.clone(),
        });
        let router = http::router(api.clone());
        let stop = shutdown.clone();
        tasks.spawn(async move {
            if let Err(err) = axum::serve(http_listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
            {
                tracing::warn!(error = %err, "dev gateway HTTP server failed");
            }
        });
        info!(gateway_id = %config.gateway_id, %node_addr, %http_addr, don = %config.don_name, f = config.f, members = config.members.len(), "dev gateway started");
        Ok(DevGatewayHandle {
            config,
            registry,
            api,
            node_addr,
            http_addr,
            shutdown,
            tasks,
        })
    }
}

impl DevGatewayHandle {
    /// The bound websocket (node) address.
    pub fn node_addr(&self) -> SocketAddr {
        self.node_addr
    }

    /// The URL nodes dial: `ws://<node addr>/` (`wss://localhost:<port>/` with TLS, so the
    /// name matches a certificate issued for `localhost`).
    pub fn node_url(&self) -> String {
        match self.config.tls {
            Some(_) => format!("wss://localhost:{}/", self.node_addr.port()),
            None => format!("ws://{}/", self.node_addr),
        }
    }

    /// The bound HTTP (user) address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The gateway id nodes must name.
    pub fn gateway_id(&self) -> &str {
        &self.config.gateway_id
    }

    /// The DON members.
    pub fn members(&self) -> &[Address] {
        &self.config.members
    }

    /// F of the DON.
    pub fn f(&self) -> usize {
        self.config.f
    }

    /// Ready as the Go gateway defines it: at least 2F+1 DON members connected.
    pub fn is_ready(&self) -> bool {
        self.registry.connected_nodes().len() > self.config.f.saturating_mul(2)
    }

    /// Nodes connected now, sorted.
    pub fn connected_nodes(&self) -> Vec<Address> {
        self.registry.connected_nodes()
    }

    /// Waits until exactly `count` nodes are connected, up to `timeout`.
    pub async fn wait_for_nodes(&self, count: usize, timeout: Duration) -> bool {
        let mut connected = self.registry.watch_connected();
        tokio::time::timeout(timeout, connected.wait_for(|now| *now == count))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// Waits until `node` is connected, up to `timeout`.
    pub async fn wait_for_node(&self, node: Address, timeout: Duration) -> bool {
        let mut connected = self.registry.watch_connected();
        let registry = &self.registry;
        let wait = connected.wait_for(|_| registry.outbox(&node).is_some());
        tokio::time::timeout(timeout, wait)
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// Everything the node endpoint did so far, in order.
    pub fn events(&self) -> Vec<NodeEvent> {
        self.registry.events()
    }

    /// Handles a user JSON-RPC body exactly as `POST /` does: (HTTP status, response body).
    pub async fn call(&self, body: &[u8]) -> (u16, Vec<u8>) {
        let (status, response) = self.api.handle(body).await;
        (status.as_u16(), response.to_vec())
    }

    /// Sends one request to one node and waits for its response (the gateway's `SendToNode`).
    pub async fn send_to_node(
        &self,
        node: Address,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, SendError> {
        let (replies, mut inbox) = mpsc::channel(registry::REPLY_QUEUE);
        if !self.registry.add_pending(&request.id, replies) {
            return Err(SendError::DuplicateId(request.id));
        }
        let id = request.id.clone();
        let outcome = async {
            let outbox = self
                .registry
                .outbox(&node)
                .ok_or(SendError::NotConnected(node))?;
            outbox
                .send(request)
                .await
                .map_err(|_| SendError::NotConnected(node))?;
            loop {
                tokio::select! {
                    // Replies first: a node that answers and then closes has delivered its
                    // response before its socket task ended.
                    biased;
                    received = inbox.recv() => match received {
                        Some((from, response)) if from == node => return Ok(response),
                        Some(_) => {}
                        None => return Err(SendError::NotConnected(node)),
                    },
                    // The node's socket task ended: only what is already queued can come.
                    () = outbox.closed() => {
                        while let Ok((from, response)) = inbox.try_recv() {
                            if from == node {
                                return Ok(response);
                            }
                        }
                        return Err(SendError::NotConnected(node));
                    }
                }
            }
        };
        let result = tokio::time::timeout(timeout, outcome)
            .await
            .unwrap_or(Err(SendError::Timeout));
        self.registry.remove_pending(&id);
        result
    }

    /// Stops accepting, closes every node connection and the HTTP server, and waits for them.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        info!(gateway_id = %self.config.gateway_id, "dev gateway stopped");
    }
}
