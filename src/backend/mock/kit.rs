//! A ready-made pair of mock backends (a vault and a capability server on loopback) and the
//! `[backends]` config that routes to them: the vault entry to the vault, every other id to the
//! capability server. For the demo and end-to-end tests.

use std::sync::Arc;

use super::capability::MockCapabilities;
use super::vault::MockVault;
use super::{MockError, MockServer, serve_tcp};
use crate::backend::config::{BackendsConfig, RouteConfig};

/// Running mock vault and capability servers. Both stop when this is dropped.
pub struct MockBackends {
    /// The vault handler (read its received requests and stored secrets).
    pub vault: Arc<MockVault>,
    /// The capability handler (read its received requests and in-flight counts).
    pub capabilities: Arc<MockCapabilities>,
    vault_server: MockServer,
    capabilities_server: MockServer,
}

impl MockBackends {
    /// Starts both servers on `127.0.0.1:<free port>`.
    pub async fn start(
        vault: MockVault,
        capabilities: MockCapabilities,
    ) -> Result<Self, MockError> {
        let vault = Arc::new(vault);
        let capabilities = Arc::new(capabilities);
        let vault_server = serve_tcp(vault.clone()).await?;
        let capabilities_server = serve_tcp(capabilities.clone()).await?;
        Ok(Self {
            vault,
            capabilities,
            vault_server,
            capabilities_server,
        })
    }

    /// The vault server's endpoint.
    pub fn vault_endpoint(&self) -> &str {
        self.vault_server.endpoint()
    }

    /// The capability server's endpoint.
    pub fn capabilities_endpoint(&self) -> &str {
        self.capabilities_server.endpoint()
    }

    /// A `[backends]` section routing the vault to the mock vault and every other capability id
    /// to the mock capability server, with default limits.
    pub fn config(&self) -> BackendsConfig {
        BackendsConfig {
            default_endpoint: Some(self.capabilities_endpoint().to_string()),
            vault: Some(RouteConfig {
                endpoint: self.vault_endpoint().to_string(),
                deadline_ms: None,
                max_concurrency: None,
            }),
            ..BackendsConfig::default()
        }
    }
}
