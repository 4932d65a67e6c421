//! The TOML configuration file, validated once into typed values whose errors name the field
//! (`section.key`). Nothing downstream re-checks these values.
//!
//! Secrets never appear inline: the node key is named by a file path or an environment
//! variable, and is read by [`NodeKeySource::load`] at start. `config.example.toml` documents
//! every field with its default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::attestation::{PcrSet, Policy, TrustRoot, parse_trusted_pcrs_json};
use crate::backend::{BackendsConfig, BackendsPlan};
use crate::gateway::config::RawConnectorConfig;
use crate::gateway::{ConnectorConfig, NodeKey};
use crate::relay::{DEFAULT_REQUEST_TIMEOUT, DomainHashFormula, Limits, RelayConfig};

/// Default admin (metrics, health) listen address: loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9464";

/// Largest configurable request timeout (the gateway gives up long before).
pub const MAX_REQUEST_TIMEOUT_SECS: u64 = 600;

/// Largest configurable document age: freshness is what makes a captured attestation useless
/// after a while; beyond an hour the check would no longer mean much.
pub const MAX_DOCUMENT_AGE_SECS: u64 = 3600;

/// Largest configurable future skew of a document timestamp.
pub const MAX_FUTURE_SKEW_SECS: u64 = 300;

/// A refused configuration value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The offending field as a TOML path, e.g. `gateway.gateways[0].url`.
    pub field: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The whole file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    node: RawNode,
    #[serde(default)]
    relay: RawRelay,
    attestation: RawAttestation,
    gateway: RawConnectorConfig,
    backends: BackendsConfig,
    #[serde(default)]
    admin: RawAdmin,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    key_file: Option<PathBuf>,
    key_env: Option<String>,
    #[serde(default)]
    workflow_don_id: u32,
    #[serde(default)]
    workflow_don_config_version: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    domain_hash: Option<String>,
    max_secrets: Option<usize>,
    #[serde(default)]
    forward_org_id: bool,
    request_timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttestation {
    trusted_pcrs: Option<toml::Value>,
    trusted_pcrs_file: Option<PathBuf>,
    #[serde(default)]
    insecure_allow_debug_enclaves: bool,
    max_age_secs: Option<u64>,
    max_future_skew_secs: Option<u64>,
    insecure_trust_root_pem_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    listen: Option<String>,
}

/// Where the node's secp256k1 key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKeySource {
    /// A file holding the key as hex.
    File(PathBuf),
    /// An environment variable holding the key as hex.
    Env(String),
}

impl NodeKeySource {
    /// Reads the key. A key file readable by group or others is loaded with a warning.
    pub fn load(&self) -> Result<NodeKey, ConfigError> {
        match self {
            Self::File(path) => {
                warn_if_shared(path);
                NodeKey::from_hex_file(path).map_err(|err| refuse("node.key_file", err.to_string()))
            }
            Self::Env(var) => {
                NodeKey::from_env(var).map_err(|err| refuse("node.key_env", err.to_string()))
            }
        }
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "node key file is readable by group or others; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

/// The attestation settings that a SIGHUP reloads.
#[derive(Debug, Clone)]
pub struct AttestationConfig {
    /// Trusted PCRs, debug refusal and freshness.
    pub policy: Policy,
    /// The pinned trust root.
    pub root: TrustRoot,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the node key comes from.
    pub node_key: NodeKeySource,
    /// What the relay core needs.
    pub relay: RelayConfig,
    /// Attestation policy and trust root.
    pub attestation: AttestationConfig,
    /// The gateway links.
    pub connector: ConnectorConfig,
    /// Backend routes as written (for summaries).
    pub backends: BackendsConfig,
    /// Backend routes validated.
    pub backends_plan: BackendsPlan,
    /// Admin server address.
    pub admin_listen: SocketAddr,
}

impl Config {
    /// Reads and validates the file at `path`; relative paths inside are taken from its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| refuse("(file)", format!("cannot read {}: {err}", path.display())))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Self::parse(&text, base)
    }

    /// Validates TOML `text`; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| toml_error(&err))?;
        let relay = relay_config(&raw.relay, &raw.node)?;
        let node_key = match (raw.node.key_file, raw.node.key_env) {
            (Some(file), None) => NodeKeySource::File(base.join(file)),
            (None, Some(var)) if !var.is_empty() => NodeKeySource::Env(var),
            (None, Some(_)) => {
                return Err(refuse("node.key_env", "must name an environment variable"));
            }
            (Some(_), Some(_)) => {
                return Err(refuse("node.key_file", "set key_file or key_env, not both"));
            }
            (None, None) => {
                return Err(refuse(
                    "node.key_file",
                    "the node key is required: set key_file or key_env",
                ));
            }
        };
        let attestation = attestation_config(&raw.attestation, base)?;
        let connector = ConnectorConfig::try_from(raw.gateway)
            .map_err(|err| refuse(format!("gateway.{}", err.field), err.reason))?;
        let backends_plan = raw
            .backends
            .validate()
            .map_err(|err| refuse(err.field, err.reason))?;
        let listen = raw
            .admin
            .listen
            .unwrap_or_else(|| DEFAULT_ADMIN_LISTEN.to_owned());
        let admin_listen = listen.parse().map_err(|err| {
            refuse(
                "admin.listen",
                format!("{listen:?} is not a socket address: {err}"),
            )
        })?;
        Ok(Self {
            node_key,
            relay,
            attestation,
            connector,
            backends: raw.backends,
            backends_plan,
            admin_listen,
        })
    }
}

fn relay_config(raw: &RawRelay, node: &RawNode) -> Result<RelayConfig, ConfigError> {
    let domain_hash = match raw.domain_hash.as_deref() {
        None => DomainHashFormula::default(),
        Some(name) => DomainHashFormula::from_name(name).ok_or_else(|| {
            refuse(
                "relay.domain_hash",
                format!("{name:?} is not current or legacy"),
            )
        })?,
    };
    let max_secrets = raw.max_secrets.unwrap_or(Limits::default().max_secrets);
    if max_secrets == 0 {
        return Err(refuse("relay.max_secrets", "must be at least 1"));
    }
    let request_timeout = match raw.request_timeout_secs {
        None => DEFAULT_REQUEST_TIMEOUT,
        Some(secs @ 1..=MAX_REQUEST_TIMEOUT_SECS) => Duration::from_secs(secs),
        Some(secs) => {
            return Err(refuse(
                "relay.request_timeout_secs",
                format!("{secs} is outside 1..={MAX_REQUEST_TIMEOUT_SECS}"),
            ));
        }
    };
    Ok(RelayConfig {
        don_id: node.workflow_don_id,
        don_config_version: node.workflow_don_config_version,
        domain_hash,
        limits: Limits { max_secrets },
        forward_org_id: raw.forward_org_id,
        request_timeout,
    })
}

fn attestation_config(raw: &RawAttestation, base: &Path) -> Result<AttestationConfig, ConfigError> {
    let sets = trusted_pcrs(raw, base)?;
    let mut policy = Policy::new(sets)
        .map_err(|err| refuse("attestation.trusted_pcrs", err.to_string()))?
        .insecure_allow_debug_enclaves(raw.insecure_allow_debug_enclaves);
    if let Some(secs) = raw.max_age_secs {
        if !(1..=MAX_DOCUMENT_AGE_SECS).contains(&secs) {
            return Err(refuse(
                "attestation.max_age_secs",
                format!("{secs} is outside 1..={MAX_DOCUMENT_AGE_SECS}"),
            ));
        }
        policy = policy.with_max_age(Duration::from_secs(secs));
    }
    if let Some(secs) = raw.max_future_skew_secs {
        if secs > MAX_FUTURE_SKEW_SECS {
            return Err(refuse(
                "attestation.max_future_skew_secs",
                format!("{secs} is outside 0..={MAX_FUTURE_SKEW_SECS}"),
            ));
        }
        policy = policy.with_max_future_skew(Duration::from_secs(secs));
    }
    let root = match &raw.insecure_trust_root_pem_file {
        None => TrustRoot::aws_nitro_root_g1()
            .map_err(|err| refuse("attestation", format!("embedded AWS root: {err}")))?,
        Some(path) => {
            let path = base.join(path);
            let pem = std::fs::read(&path).map_err(|err| {
                refuse(
                    "attestation.insecure_trust_root_pem_file",
                    format!("cannot read {}: {err}", path.display()),
                )
            })?;
            TrustRoot::insecure_custom_root_pem(&pem, None).map_err(|err| {
                refuse("attestation.insecure_trust_root_pem_file", err.to_string())
            })?
        }
    };
    Ok(AttestationConfig { policy, root })
}

fn trusted_pcrs(raw: &RawAttestation, base: &Path) -> Result<Vec<PcrSet>, ConfigError> {
    match (&raw.trusted_pcrs, &raw.trusted_pcrs_file) {
        (Some(value), None) => {
            let json = serde_json::to_vec(value)
                .map_err(|err| refuse("attestation.trusted_pcrs", err.to_string()))?;
            parse_trusted_pcrs_json(&json)
                .map_err(|err| refuse("attestation.trusted_pcrs", err.to_string()))
        }
        (None, Some(path)) => {
            let path = base.join(path);
            let json = std::fs::read(&path).map_err(|err| {
                refuse(
                    "attestation.trusted_pcrs_file",
                    format!("cannot read {}: {err}", path.display()),
                )
            })?;
            parse_trusted_pcrs_json(&json)
                .map_err(|err| refuse("attestation.trusted_pcrs_file", err.to_string()))
        }
        (Some(_), Some(_)) => Err(refuse(
            "attestation.trusted_pcrs",
            "set trusted_pcrs or trusted_pcrs_file, not both",
        )),
        (None, None) => Err(refuse(
            "attestation.trusted_pcrs",
            "at least one trusted PCR set is required",
        )),
    }
}

/// Names the field of a TOML decode error by its span when the message does not.
fn toml_error(err: &toml::de::Error) -> ConfigError {
    refuse("(toml)", err.to_string().replace('\n', " "))
}
