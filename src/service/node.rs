//! One relay node as an operator runs it: the verifier, the backends, the relay and one gateway
//! link per configured gateway, wired with metrics, readiness and reloadable policy.
//!
//! [`RelayNode::start`] builds everything from a validated [`Config`];
//! [`RelayNode::reload`] swaps the reloadable parts (trusted PCRs, trust root, backend
//! routing) without touching the gateway links; [`RelayNode::shutdown`] drains.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::admin::{AdminServer, Readiness};
use super::metrics::{Metrics, Probe, ProbeKind};
use super::observe::{ObservedBackends, ObservedHandler, ObservedVerifier, route_label_for};
use super::swap::{Backends, Swappable};
use crate::attestation::{AttestationVerifier, NitroVerifier, SystemClock};
use crate::backend::{BackendsPlan, CapabilityBackend, GrpcBackends, VaultBackend};
use crate::config::{AttestationConfig, Config, ConfigError};
use crate::gateway::{Connector, ConnectorHandle, ConnectorStatus};
use crate::relay::Relay;

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration (or the key it names) was refused.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The admin server could not bind.
    #[error("admin server cannot listen on {addr}: {source}")]
    Admin {
        /// The configured address.
        addr: SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
    /// The gateway connector could not start.
    #[error("gateway connector: {0}")]
    Connector(String),
}

/// A running relay node.
pub struct RelayNode {
    metrics: Arc<Metrics>,
    verifier: Arc<Swappable<NitroVerifier>>,
    backends: Arc<Swappable<dyn Backends>>,
    connector: ConnectorHandle,
    admin: AdminServer,
    admin_shutdown: CancellationToken,
    shutdown_grace: Duration,
    /// The settings a reload cannot change, to warn when a reloaded file changes them.
    fixed: FixedSettings,
}

/// Settings read only at start.
#[derive(Debug, Clone, PartialEq)]
struct FixedSettings {
    node_key: crate::config::NodeKeySource,
    relay: crate::relay::RelayConfig,
    connector: crate::gateway::ConnectorConfig,
    admin_listen: SocketAddr,
}

impl FixedSettings {
    fn of(config: &Config) -> Self {
        Self {
            node_key: config.node_key.clone(),
            relay: config.relay.clone(),
            connector: config.connector.clone(),
            admin_listen: config.admin_listen,
        }
    }
}

impl RelayNode {
    /// Starts every part from `config`. Logs one start-up summary (node address, gateways,
    /// backend routes, admin address); never a secret.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let key = Arc::new(config.node_key.load()?);
        let metrics = Arc::new(Metrics::new());
        let verifier = Arc::new(Swappable::new(Arc::new(build_verifier(
            &config.attestation,
        ))));
        let backends: Arc<Swappable<dyn Backends>> = Arc::new(Swappable::new(build_backends(
            &config.backends_plan,
            &metrics,
        )?));
        let observed_verifier: Arc<dyn AttestationVerifier> =
            Arc::new(ObservedVerifier::new(verifier.clone(), metrics.clone()));
        let relay = Relay::new(
            config.relay.clone(),
            observed_verifier,
            backends.clone() as Arc<dyn VaultBackend>,
            backends.clone() as Arc<dyn CapabilityBackend>,
        );
        let handler = Arc::new(ObservedHandler::new(Arc::new(relay), metrics.clone()));
        let connector = Connector::start(config.connector.clone(), key.clone(), handler)
            .map_err(|err| StartError::Connector(err.to_string()))?;
        add_probes(&metrics, &verifier, connector.status());

        let admin_shutdown = CancellationToken::new();
        let status = connector.status();
        let readiness: Arc<Readiness> = Arc::new(move || {
            if status.connected_count() == 0 {
                return Err("no gateway connected".to_owned());
            }
            Ok(())
        });
        let admin = AdminServer::start(
            config.admin_listen,
            metrics.clone(),
            readiness,
            admin_shutdown.clone(),
        )
        .await
        .map_err(|source| StartError::Admin {
            addr: config.admin_listen,
            source,
        })?;
        tracing::info!(
            node_address = %key.address(),
            don_id = %config.connector.don_id,
            gateways = ?config.connector.gateways.iter().map(|g| format!("{}={}", g.id, g.url)).collect::<Vec<_>>(),
            backends = ?config.backends_plan.summary(),
            admin = %admin.local_addr,
            domain_hash = config.relay.domain_hash.name(),
            "relay node started"
        );
        Ok(Self {
            metrics,
            verifier,
            backends,
            connector,
            admin,
            admin_shutdown,
            shutdown_grace: config.connector.shutdown_grace,
            fixed: FixedSettings::of(config),
        })
    }

    /// The admin server's address (`/metrics`, `/health`, `/ready`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The gateway links' state.
    pub fn connector_status(&self) -> Arc<ConnectorStatus> {
        self.connector.status()
    }

    /// Applies the reloadable parts of `config`: trusted PCR sets, the trust root and the
    /// backend routing. Gateway links stay up; requests already running finish on the old
    /// policy. Other changed settings take effect at the next start.
    pub fn reload(&self, config: &Config) -> Result<(), ConfigError> {
        let backends = build_backends(&config.backends_plan, &self.metrics)?;
        self.verifier
            .store(Arc::new(build_verifier(&config.attestation)));
        self.backends.store(backends);
        if FixedSettings::of(config) != self.fixed {
            tracing::warn!(
                "the reloaded file also changes [node], [relay], [gateway] or [admin] settings; \
                 those take effect at the next start"
            );
        }
        tracing::info!(
            trusted_pcr_sets = config.attestation.policy.trusted_pcrs().len(),
            backends = ?config.backends_plan.summary(),
            "configuration reloaded (attestation policy, trust root, backend routes)"
        );
        Ok(())
    }

    /// Stops dialing, lets in-flight requests finish within the configured grace (their
    /// responses are sent), closes each gateway socket with a close frame, then stops the admin
    /// server. Returns how many requests the grace cut off.
    pub async fn shutdown(self) -> usize {
        let cut_off = self.connector.shutdown(self.shutdown_grace).await;
        self.admin_shutdown.cancel();
        self.admin.join().await;
        cut_off
    }
}

fn build_verifier(config: &AttestationConfig) -> NitroVerifier {
    NitroVerifier::new(
        config.policy.clone(),
        config.root.clone(),
        Arc::new(SystemClock),
    )
}

fn build_backends(
    plan: &BackendsPlan,
    metrics: &Arc<Metrics>,
) -> Result<Arc<dyn Backends>, ConfigError> {
    let grpc = GrpcBackends::new(plan).map_err(|err| ConfigError {
        field: err.field,
        reason: err.reason,
    })?;
    let label = route_label_for(
        plan.routes.keys().cloned().collect(),
        plan.default.is_some(),
    );
    Ok(Arc::new(ObservedBackends::new(
        Arc::new(grpc),
        metrics.clone(),
        label,
    )))
}

fn add_probes(
    metrics: &Metrics,
    verifier: &Arc<Swappable<NitroVerifier>>,
    status: Arc<ConnectorStatus>,
) {
    let cache = verifier.clone();
    metrics.add_probe(Probe {
        name: "attestation_chain_cache_hits",
        help: "Attestation chain-cache hits since the policy was last loaded",
        kind: ProbeKind::Counter,
        read: Box::new(move || vec![(Vec::new(), cache.load().cache_stats().0)]),
    });
    let cache = verifier.clone();
    metrics.add_probe(Probe {
        name: "attestation_chain_cache_misses",
        help: "Attestation chain-cache misses since the policy was last loaded",
        kind: ProbeKind::Counter,
        read: Box::new(move || vec![(Vec::new(), cache.load().cache_stats().1)]),
    });
    let gateways = status.clone();
    metrics.add_probe(Probe {
        name: "gateway_connected",
        help: "1 while the link to the gateway is serving",
        kind: ProbeKind::Gauge,
        read: Box::new(move || {
            gateways
                .gateways()
                .iter()
                .map(|g| {
                    (
                        vec![("gateway".to_owned(), g.id().to_owned())],
                        u64::from(g.is_connected()),
                    )
                })
                .collect()
        }),
    });
    metrics.add_probe(Probe {
        name: "gateway_connects",
        help: "Successful gateway handshakes (the first connect and every reconnect)",
        kind: ProbeKind::Counter,
        read: Box::new(move || {
            status
                .gateways()
                .iter()
                .map(|g| {
                    (
                        vec![("gateway".to_owned(), g.id().to_owned())],
                        g.snapshot().connects,
                    )
                })
                .collect()
        }),
    });
}
