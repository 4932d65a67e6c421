//! Test support for the service tests: a dev gateway, mock backends, a fake-attested enclave,
//! and a `confidential-relay run` child process configured to use them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use confidential_relay::attestation::fake::{DocumentSpec, FakeAttestor};
use confidential_relay::backend::mock::capability::{Behaviour, MockCapabilities};
use confidential_relay::backend::mock::kit::MockBackends;
use confidential_relay::backend::mock::vault::MockVault;
use confidential_relay::gateway::NodeKey;
use confidential_relay::gateway::dev::{DevConfig, DevGateway, DevGatewayHandle};
use confidential_relay::relay::binding::canonical_forms;
use confidential_relay::relay::domain_hash::{DomainHashFormula, domain_hash};
use secrecy::SecretString;
use serde_json::value::RawValue;

/// The owner whose secrets the mock vault holds.
pub const OWNER: &str = "0xab5801a7d398351b8be11c439e05c5b3259aec9b";
/// Its EIP-55 form (what the vault is keyed by).
pub const OWNER_EIP55: &str = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";
/// The node key used by the child relay (test-only).
pub const NODE_KEY_HEX: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
/// Gateway id of the dev gateway.
pub const GATEWAY_ID: &str = "gateway-test";

/// A PCR set made of one repeated byte.
pub fn pcrs(byte: u8) -> [[u8; 48]; 3] {
    [
        [byte; 48],
        [byte.wrapping_add(1); 48],
        [byte.wrapping_add(2); 48],
    ]
}

/// `pcr` TOML inline table for a set.
pub fn pcrs_toml(set: [[u8; 48]; 3]) -> String {
    format!(
        "{{ pcr0 = \"{}\", pcr1 = \"{}\", pcr2 = \"{}\" }}",
        hex::encode(set[0]),
        hex::encode(set[1]),
        hex::encode(set[2])
    )
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Everything around one relay process.
pub struct Harness {
    pub dir: PathBuf,
    pub attestor: FakeAttestor,
    pub backends: MockBackends,
    pub gateway: DevGatewayHandle,
    pub child: Option<Child>,
    pub admin: String,
}

impl Harness {
    /// Starts the dev gateway (one member, F = 0) and the mock backends, writes a config that
    /// trusts `trusted`, and starts `confidential-relay run` on it.
    pub async fn start(
        name: &str,
        trusted: [[u8; 48]; 3],
        behaviours: Vec<(&str, Behaviour)>,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!("relay-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let attestor = FakeAttestor::valid_between(now_s() - 60, now_s() + 3600).unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(attestor.root_der())
        );
        std::fs::write(dir.join("root.pem"), pem).unwrap();
        let key_path = dir.join("node.key");
        std::fs::write(&key_path, NODE_KEY_HEX).unwrap();
        set_private(&key_path);
        let key = NodeKey::from_hex(&SecretString::from(NODE_KEY_HEX.to_owned())).unwrap();
        let mut caps = MockCapabilities::new();
        for (id, behaviour) in behaviours {
            caps = caps.with(id, behaviour);
        }
        let vault = MockVault::new(4).with_secret(OWNER_EIP55, "main", "API_KEY", b"s3cr3t-value");
        let backends = MockBackends::start(vault, caps).await.unwrap();
        let gateway = DevGateway::start(
            DevConfig::new(GATEWAY_ID, "relay_don", 0, &[key.address()]).unwrap(),
        )
        .await
        .unwrap();
        let admin_port = free_port();
        let mut harness = Self {
            dir,
            attestor,
            backends,
            gateway,
            child: None,
            admin: format!("127.0.0.1:{admin_port}"),
        };
        harness.write_config(trusted);
        harness.spawn();
        assert!(
            harness
                .gateway
                .wait_for_node(key.address(), Duration::from_secs(20))
                .await,
            "relay did not connect to the dev gateway"
        );
        harness
    }

    /// The config path.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("relay.toml")
    }

    /// (Re)writes the config trusting `trusted`.
    pub fn write_config(&self, trusted: [[u8; 48]; 3]) {
        let text = format!(
            r#"[node]
key_file = "node.key"
workflow_don_id = 42
workflow_don_config_version = 7

[attestation]
trusted_pcrs = [{pcrs}]
insecure_trust_root_pem_file = "root.pem"

[gateway]
don_id = "relay_don"
backoff_min_ms = 100
backoff_max_ms = 500
shutdown_grace_ms = 5000

[[gateway.gateways]]
id = "{GATEWAY_ID}"
url = "{url}"

[backends]
default_endpoint = "{caps}"

[backends.vault]
endpoint = "{vault}"

[admin]
listen = "{admin}"
"#,
            pcrs = pcrs_toml(trusted),
            url = self.gateway.node_url(),
            caps = self.backends.capabilities_endpoint(),
            vault = self.backends.vault_endpoint(),
            admin = self.admin,
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
            .args(["run", "--config"])
            .arg(self.config_path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Sends a signal (`TERM`, `HUP`, ...) to the relay process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill")
            .args([format!("-{name}"), pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the relay process to exit and returns its exit code.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        let child = self.child.as_mut().unwrap();
        while std::time::Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// A JSON-RPC body for `method` with `params` (an object without `attestation`), attested
    /// by an enclave measured as `measured`.
    pub fn request_body(
        &self,
        id: &str,
        method: &str,
        params: &str,
        measured: [[u8; 48]; 3],
    ) -> Vec<u8> {
        let raw: Box<RawValue> = serde_json::from_str(params).unwrap();
        let forms = canonical_forms(method, &raw).unwrap();
        let user_data = domain_hash(DomainHashFormula::Current, forms.tag, &forms.declared_order);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let document = self
            .attestor
            .mint(&DocumentSpec::new(measured, &user_data, now_ms))
            .unwrap();
        let body = params.trim_end().strip_suffix('}').unwrap();
        let params = format!("{body},\"attestation\":\"{}\"}}", STANDARD.encode(document));
        format!(r#"{{"jsonrpc":"2.0","id":"{id}","method":"{method}","params":{params}}}"#)
            .into_bytes()
    }

    /// GETs a path of the relay's admin server.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("http://{}{path}", self.admin))
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Secrets-get params for `key` of the test owner, sealed to a fixed enclave key.
pub fn secrets_params(key: &str) -> String {
    format!(
        r#"{{"workflow_id":"wf-1","owner":"{OWNER}","execution_id":"e-1","secrets":[{{"key":"{key}","namespace":"main"}}],"enclave_public_key":"{}"}}"#,
        "11".repeat(32)
    )
}

/// Capability-execute params calling `capability_id` with an empty sdk request.
pub fn capability_params(capability_id: &str) -> String {
    format!(
        r#"{{"workflow_id":"wf-1","owner":"{OWNER}","execution_id":"e-1","reference_id":"1","capability_id":"{capability_id}","payload":"GgNydW4="}}"#
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[cfg(unix)]
fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
