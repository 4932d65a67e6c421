//! The demo stack in one process, on loopback: a dev gateway, N relay nodes (F tolerated), each
//! with its own node key, gateway connector, Nitro verifier (trusting the fake attestor's demo
//! root and the demo PCRs) and gRPC backends, and one mock vault and one mock capability server.
//! Hooks kill a relay node and restart the dev gateway on the same ports.
//!
//! Each relay node runs on its own tokio runtime (one worker thread, plus its blocking pool for
//! attestation verification), with threads named [`NODE_THREAD_PREFIX`]`<n>`: the nodes are
//! isolated from the gateway and the enclave as separate processes would be, and their CPU
//! time can be read per thread ([`super::cpu::threads_cpu_time`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::consensus::{Agreement, ConsensusVault};
use super::enclave::{Enclave, EnclaveSetup, ExpectedSecret};
use super::{DemoError, setup};
use crate::attestation::fake::FakeAttestor;
use crate::attestation::{NitroVerifier, PcrSet, Policy, SystemClock};
use crate::backend::GrpcBackends;
use crate::backend::mock::capability::{Behaviour, MockCapabilities};
use crate::backend::mock::kit::MockBackends;
use crate::backend::mock::vault::MockVault;
use crate::gateway::dev::{DevConfig, DevGateway, DevGatewayHandle};
use crate::gateway::{Address, Connector, ConnectorConfig, ConnectorHandle, GatewayEntry, NodeKey};
use crate::proto::vault::{SecretIdentifier, VAULT_CAPABILITY_ID};
use crate::relay::owner::Owner;
use crate::relay::{METHODS, Relay, RelayConfig};
use crate::service::metrics::{Metrics, RequestLabels};
use crate::service::observe::{
    ObservedBackends, ObservedHandler, ObservedVerifier, route_label_for,
};

/// Name prefix of every relay node thread (a Linux thread name holds at most 15 bytes).
pub const NODE_THREAD_PREFIX: &str = "relay-node-";
/// Worker threads per relay node runtime.
const NODE_WORKER_THREADS: usize = 1;
/// The dev gateway's id.
pub const DEMO_GATEWAY_ID: &str = "demo-gateway";
/// The relay DON's id.
pub const DEMO_DON_ID: &str = "demo_relay_don";
/// Relay nodes by default (the smallest DON with F = 1).
pub const DEFAULT_NODES: usize = 4;
/// Faulty nodes tolerated by default.
pub const DEFAULT_F: usize = 1;
/// PCR0-2 of the demo enclave image; the relays trust exactly these.
pub const DEMO_PCRS: [[u8; 48]; 3] = [[0xd0; 48], [0xd1; 48], [0xd2; 48]];
/// The workflow owner the demo secrets belong to (as the enclave sends it).
pub const DEMO_OWNER: &str = "0x9f2c4a1b7d3e5f60718293a4b5c6d7e8f9012345";
/// The demo workflow id.
pub const DEMO_WORKFLOW_ID: &str = "demo-workflow-0001";
/// The capability the enclave calls (an echo on the mock capability server).
pub const DEMO_CAPABILITY_ID: &str = "demo-echo@1.0.0";
/// The demo secrets: (namespace, key, value).
pub const DEMO_SECRETS: [(&str, &str, &str); 3] = [
    ("main", "api_key", "sk-demo-4f1e9c2a"),
    ("main", "db_password", "correct horse battery staple"),
    ("payments", "webhook_token", "whk_7d3e5f60"),
];
/// Simulated vault nodes: shares per secret.
pub const VAULT_NODES: usize = 4;
/// Validity of the fake attestor's chain: long enough for any demo or benchmark run.
const ATTESTOR_VALIDITY_SECS: i64 = 3 * 3600;
/// Back-dating of the chain's notBefore, for clock differences.
const ATTESTOR_BACKDATE_SECS: i64 = 60;
/// Reconnect delays on loopback: short, so a restarted gateway is found within a second.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(500);
const STABLE_AFTER: Duration = Duration::from_millis(200);

/// Drain time for each relay node on [`DemoStack::shutdown`].
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// How to build the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOptions {
    /// Relay nodes the stack runs (DON members).
    pub nodes: usize,
    /// Further DON members the stack does not run: relays started by the caller (e.g. the
    /// service under test) with their own keys. Members must total at least 3F+1.
    pub external_members: Vec<Address>,
    /// Faulty nodes tolerated.
    pub f: usize,
    /// How long to wait for nodes to connect (start and gateway restart).
    pub connect_timeout: Duration,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            nodes: DEFAULT_NODES,
            external_members: Vec::new(),
            f: DEFAULT_F,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

struct RelayNode {
    key: Arc<NodeKey>,
    metrics: Arc<Metrics>,
    connector: Option<ConnectorHandle>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RelayNode {
    /// Stops the connector (with `grace` for in-flight requests), then the node's runtime,
    /// which drops whatever is still running on it.
    async fn stop(&mut self, grace: Duration) -> Option<usize> {
        let connector = self.connector.take()?;
        let abandoned = connector.shutdown(grace).await;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        Some(abandoned)
    }
}

impl Drop for RelayNode {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside async code; this does not block.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A running demo stack. Stop it with [`DemoStack::shutdown`].
pub struct DemoStack {
    options: StackOptions,
    gateway: Option<DevGatewayHandle>,
    gateway_config: DevConfig,
    http_addr: SocketAddr,
    nodes: Vec<RelayNode>,
    backends: MockBackends,
    attestor: Arc<FakeAttestor>,
    agreement: Arc<Agreement>,
}

fn unix_now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl DemoStack {
    /// Starts everything and waits until every relay node is connected to the dev gateway.
    pub async fn start(options: StackOptions) -> Result<Self, DemoError> {
        let now = unix_now_secs();
        let attestor = FakeAttestor::valid_between(
            now.saturating_sub(ATTESTOR_BACKDATE_SECS),
            now.saturating_add(ATTESTOR_VALIDITY_SECS),
        )
        .map_err(|e| setup("fake attestor", e))?;
        let attestor = Arc::new(attestor);
        let owner = Owner::parse(DEMO_OWNER).ok_or_else(|| setup("demo owner", DEMO_OWNER))?;
        let mut vault = MockVault::new(VAULT_NODES);
        for (namespace, key, value) in DEMO_SECRETS {
            vault = vault.with_secret(owner.checksummed(), namespace, key, value.as_bytes());
        }
        let capabilities = MockCapabilities::new().with(DEMO_CAPABILITY_ID, Behaviour::Echo);
        let backends = MockBackends::start(vault, capabilities)
            .await
            .map_err(|e| setup("mock backends", e))?;

        let keys: Vec<Arc<NodeKey>> = (0..options.nodes)
            .map(|_| Arc::new(NodeKey::generate()))
            .collect();
        let mut members: Vec<Address> = keys.iter().map(|key| key.address()).collect();
        members.extend(options.external_members.iter().copied());
        let gateway_config = DevConfig::new(DEMO_GATEWAY_ID, DEMO_DON_ID, options.f, &members)
            .map_err(|e| setup("dev gateway config", e))?;
        let gateway = DevGateway::start(gateway_config.clone())
            .await
            .map_err(|e| setup("dev gateway", e))?;
        // Later restarts bind the same ports, so the nodes' URL stays valid.
        let mut gateway_config = gateway_config;
        gateway_config.node_listen = gateway.node_addr();
        gateway_config.http_listen = gateway.http_addr();
        let http_addr = gateway.http_addr();

        let policy = Policy::new(vec![PcrSet::new(DEMO_PCRS[0], DEMO_PCRS[1], DEMO_PCRS[2])])
            .map_err(|e| setup("policy", e))?;
        let root = attestor.trust_root().map_err(|e| setup("trust root", e))?;
        let agreement = Agreement::new();
        let mut nodes = Vec::with_capacity(keys.len());
        for (index, key) in keys.into_iter().enumerate() {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(NODE_WORKER_THREADS)
                .thread_name(format!("{NODE_THREAD_PREFIX}{index}"))
                .enable_all()
                .build()
                .map_err(|e| setup("relay node runtime", e))?;
            let metrics = Arc::new(Metrics::new());
            let grpc =
                GrpcBackends::from_config(&backends.config()).map_err(|e| setup("backends", e))?;
            let routes = vec![
                VAULT_CAPABILITY_ID.to_owned(),
                DEMO_CAPABILITY_ID.to_owned(),
            ];
            let observed = Arc::new(ObservedBackends::new(
                Arc::new(grpc),
                metrics.clone(),
                route_label_for(routes, true),
            ));
            let vault = Arc::new(ConsensusVault::new(observed.clone(), agreement.clone()));
            let verifier = NitroVerifier::new(policy.clone(), root.clone(), Arc::new(SystemClock));
            let verifier = Arc::new(ObservedVerifier::new(Arc::new(verifier), metrics.clone()));
            let relay = Relay::new(RelayConfig::default(), verifier, vault, observed);
            let handler = Arc::new(ObservedHandler::new(Arc::new(relay), metrics.clone()));
            let config = connector_config(&gateway)?;
            // Spawned inside the node's runtime: the links, the request tasks, the gRPC
            // connections and the verification threads all run there.
            let connector = {
                let _context = runtime.enter();
                Connector::start(config, key.clone(), handler)
                    .map_err(|e| setup("gateway connector", e))?
            };
            nodes.push(RelayNode {
                key,
                metrics,
                connector: Some(connector),
                runtime: Some(runtime),
            });
        }
        let started = options.nodes;
        let stack = Self {
            options,
            gateway: Some(gateway),
            gateway_config,
            http_addr,
            nodes,
            backends,
            attestor,
            agreement,
        };
        stack.wait_for_nodes(started).await?;
        Ok(stack)
    }

    /// The gateway's user endpoint, `http://127.0.0.1:<port>/`.
    pub fn http_url(&self) -> String {
        format!("http://{}/", self.http_addr)
    }

    /// The gateway's user endpoint address (stable across gateway restarts).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The running dev gateway (`None` only while it is being restarted).
    pub fn gateway(&self) -> Option<&DevGatewayHandle> {
        self.gateway.as_ref()
    }

    /// The URL relay nodes dial (`ws://127.0.0.1:<port>/`, stable across restarts).
    pub fn node_url(&self) -> String {
        format!("ws://{}/", self.gateway_config.node_listen)
    }

    /// The fake attestor; its `root_der()` is the trust root every relay must be given.
    pub fn attestor(&self) -> &Arc<FakeAttestor> {
        &self.attestor
    }

    /// A `[backends]` section routing to the stack's mock vault and capability server.
    pub fn backends_config(&self) -> crate::backend::BackendsConfig {
        self.backends.config()
    }

    /// F of the relay DON.
    pub fn f(&self) -> usize {
        self.options.f
    }

    /// Relay nodes started (running or killed).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Relay nodes still running.
    pub fn running_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.connector.is_some()).count()
    }

    /// The address of each relay node, in DON member order.
    pub fn node_addresses(&self) -> Vec<Address> {
        self.nodes.iter().map(|n| n.key.address()).collect()
    }

    /// Each relay node's metrics (request counts and latencies, verifier, backends).
    pub fn node_metrics(&self) -> Vec<Arc<Metrics>> {
        self.nodes.iter().map(|n| n.metrics.clone()).collect()
    }

    /// Successful requests answered by each relay node so far.
    pub fn node_successes(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .map(|node| successes(&node.metrics))
            .collect()
    }

    /// Reconnects of each relay node's gateway link so far (`None` for a killed node).
    pub fn node_reconnects(&self) -> Vec<Option<u64>> {
        self.nodes
            .iter()
            .map(|node| node.connector.as_ref().map(|c| c.status().reconnects()))
            .collect()
    }

    /// The mock vault (its stored secrets and received requests).
    pub fn vault(&self) -> &Arc<MockVault> {
        &self.backends.vault
    }

    /// The mock capability server.
    pub fn capabilities(&self) -> &Arc<MockCapabilities> {
        &self.backends.capabilities
    }

    /// Vault answers agreed so far and still held.
    pub fn agreed_vault_answers(&self) -> usize {
        self.agreement.len()
    }

    /// A synthetic enclave (fresh X25519 key) that sends through this stack's gateway and
    /// knows the demo secrets' stored shares, to check answers end to end.
    pub fn enclave(&self) -> Result<Enclave, DemoError> {
        self.enclave_with_pcrs(DEMO_PCRS)
    }

    /// Like [`DemoStack::enclave`], for an enclave image with other PCR0-2 (which the relays
    /// refuse with `pcr_mismatch` until they trust them).
    pub fn enclave_with_pcrs(&self, pcrs: [[u8; 48]; 3]) -> Result<Enclave, DemoError> {
        let owner = Owner::parse(DEMO_OWNER).ok_or_else(|| setup("demo owner", DEMO_OWNER))?;
        let mut secrets = Vec::with_capacity(DEMO_SECRETS.len());
        for (namespace, key, value) in DEMO_SECRETS {
            let id = SecretIdentifier {
                key: key.to_owned(),
                namespace: namespace.to_owned(),
                owner: owner.checksummed().to_owned(),
            };
            let stored =
                self.backends.vault.secret(&id).ok_or_else(|| {
                    setup("mock vault", format!("secret {namespace}/{key} missing"))
                })?;
            secrets.push(ExpectedSecret {
                namespace: namespace.to_owned(),
                key: key.to_owned(),
                value: value.as_bytes().to_vec(),
                ciphertext: stored.ciphertext.clone(),
                shares: stored.shares.clone(),
            });
        }
        Enclave::new(EnclaveSetup {
            attestor: self.attestor.clone(),
            pcrs,
            owner: DEMO_OWNER.to_owned(),
            workflow_id: DEMO_WORKFLOW_ID.to_owned(),
            capability_id: DEMO_CAPABILITY_ID.to_owned(),
            secrets,
            f: self.options.f,
            url: self.http_url(),
        })
    }

    /// Waits until exactly `count` relay nodes are connected to the dev gateway.
    pub async fn wait_for_nodes(&self, count: usize) -> Result<(), DemoError> {
        let timeout = self.options.connect_timeout;
        let Some(gateway) = &self.gateway else {
            return Err(DemoError::NotConnected {
                connected: 0,
                expected: count,
                secs: timeout.as_secs(),
            });
        };
        if gateway.wait_for_nodes(count, timeout).await {
            return Ok(());
        }
        Err(DemoError::NotConnected {
            connected: gateway.connected_nodes().len(),
            expected: count,
            secs: timeout.as_secs(),
        })
    }

    /// Kills relay node `index` abruptly: its connector stops with no grace, so requests it
    /// is handling are never answered, and its runtime is shut down. Returns how many requests
    /// were cut off.
    pub async fn kill_node(&mut self, index: usize) -> Result<usize, DemoError> {
        let node = self
            .nodes
            .get_mut(index)
            .ok_or(DemoError::NoSuchNode(index))?;
        node.stop(Duration::ZERO)
            .await
            .ok_or(DemoError::NoSuchNode(index))
    }

    /// Stops the dev gateway (every node link drops), starts it again on the same ports and
    /// waits until every running relay node has reconnected.
    pub async fn restart_gateway(&mut self) -> Result<(), DemoError> {
        if let Some(gateway) = self.gateway.take() {
            gateway.shutdown().await;
        }
        let gateway = DevGateway::start(self.gateway_config.clone())
            .await
            .map_err(|e| setup("dev gateway restart", e))?;
        self.gateway = Some(gateway);
        self.wait_for_nodes(self.running_nodes()).await
    }

    /// Stops the relay nodes (draining in-flight requests briefly), then the gateway and the
    /// mock backends.
    pub async fn shutdown(mut self) {
        for node in &mut self.nodes {
            node.stop(SHUTDOWN_GRACE).await;
        }
        if let Some(gateway) = self.gateway.take() {
            gateway.shutdown().await;
        }
    }
}

fn connector_config(gateway: &DevGatewayHandle) -> Result<ConnectorConfig, DemoError> {
    let entry = GatewayEntry {
        id: gateway.gateway_id().to_owned(),
        url: gateway.node_url(),
    };
    let mut config =
        ConnectorConfig::new(DEMO_DON_ID, vec![entry]).map_err(|e| setup("connector config", e))?;
    config.backoff_min = BACKOFF_MIN;
    config.backoff_max = BACKOFF_MAX;
    config.stable_after = STABLE_AFTER;
    Ok(config)
}

/// Successful requests recorded in `metrics`, over both relay methods.
pub fn successes(metrics: &Metrics) -> u64 {
    METHODS
        .iter()
        .map(|method| {
            metrics
                .requests
                .get_or_create(&RequestLabels {
                    method,
                    outcome: "success",
                    code: 0,
                })
                .get()
        })
        .sum()
}
