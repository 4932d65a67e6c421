//! The connector: one link task per configured gateway, a shared in-flight limit, the live
//! status, and a handle that shuts everything down gracefully.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::RequestHandler;
use super::config::ConnectorConfig;
use super::key::NodeKey;
use super::link;
use super::serve::ServeContext;
use super::status::{ConnectorStatus, GatewayStatus};
use super::tls::{self, TlsError};

/// Why the connector did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// `node_address` is configured and the key derives another address.
    #[error("node key address {actual} does not match configured node_address {configured}")]
    AddressMismatch {
        /// From the config.
        configured: String,
        /// From the key.
        actual: String,
    },
    /// The TLS client config could not be built (e.g. an unreadable `tls_ca_file`).
    #[error("gateway connector TLS: {0}")]
    Tls(#[from] TlsError),
}

/// The node-side gateway connector.
pub struct Connector;

/// Controls a running connector.
pub struct ConnectorHandle {
    status: Arc<ConnectorStatus>,
    shutdown: CancellationToken,
    grace: Arc<Mutex<Duration>>,
    links: TaskTracker,
    abandoned: Arc<AtomicUsize>,
}

impl Connector {
    /// Starts one link per gateway on the current tokio runtime. Logs the node address.
    pub fn start(
        config: ConnectorConfig,
        key: Arc<NodeKey>,
        handler: Arc<dyn RequestHandler>,
    ) -> Result<ConnectorHandle, StartError> {
        if let Some(configured) = config.node_address
            && configured != key.address()
        {
            return Err(StartError::AddressMismatch {
                configured: configured.to_string(),
                actual: key.address().to_string(),
            });
        }
        info!(node_address = %key.address(), don_id = %config.don_id, gateways = config.gateways.len(), "starting gateway connector");
        let tls = tls::client_config(config.tls_ca_file.as_deref())?;
        let config = Arc::new(config);
        let permits = Arc::new(Semaphore::new(config.max_in_flight));
        let shutdown = CancellationToken::new();
        let grace = Arc::new(Mutex::new(config.shutdown_grace));
        let links = TaskTracker::new();
        let abandoned = Arc::new(AtomicUsize::new(0));
        let mut statuses = Vec::with_capacity(config.gateways.len());
        for gateway in &config.gateways {
            let status = Arc::new(GatewayStatus::new(&gateway.id));
            statuses.push(status.clone());
            let ctx = ServeContext {
                gateway_id: Arc::from(gateway.id.as_str()),
                handler: handler.clone(),
                permits: permits.clone(),
                max_message_bytes: config.max_message_bytes,
                shutdown: shutdown.clone(),
                grace: grace.clone(),
                abandoned: abandoned.clone(),
            };
            links.spawn(link::run(
                config.clone(),
                key.clone(),
                tls.clone(),
                gateway.clone(),
                status,
                ctx,
            ));
        }
        links.close();
        let status = Arc::new(ConnectorStatus::new(
            statuses,
            permits,
            config.max_in_flight,
        ));
        Ok(ConnectorHandle {
            abandoned,
            status,
            shutdown,
            grace,
            links,
        })
    }
}

impl ConnectorHandle {
    /// Live counters (cheap to clone and keep for metrics).
    pub fn status(&self) -> Arc<ConnectorStatus> {
        self.status.clone()
    }

    /// Waits until gateway `id` is connected, up to `timeout`; false if it was not.
    pub async fn await_connected(&self, id: &str, timeout: Duration) -> bool {
        let Some(gateway) = self.status.gateway(id) else {
            return false;
        };
        let mut connected = gateway.watch_connected();
        tokio::time::timeout(timeout, connected.wait_for(|up| *up))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// Stops dialing, lets in-flight requests finish for up to `grace` and sends their
    /// responses, then closes every socket with a close frame. Returns when all links ended,
    /// with the number of requests cut off because the grace expired (0 after a clean drain).
    pub async fn shutdown(self, grace: Duration) -> usize {
        if let Ok(mut slot) = self.grace.lock() {
            *slot = grace;
        }
        self.shutdown.cancel();
        self.links.wait().await;
        let abandoned = self.abandoned.load(Ordering::Relaxed);
        if abandoned > 0 {
            warn!(
                abandoned,
                "gateway connector stopped with requests unanswered"
            );
        } else {
            info!("gateway connector stopped");
        }
        abandoned
    }
}
