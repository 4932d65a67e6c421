//! The connector's configuration: a raw serde shape, validated once into [`ConnectorConfig`]
//! whose errors name the field. Nothing downstream re-checks these values.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::eip191::Address;
use super::handshake::{DON_ID_LEN, GATEWAY_ID_LEN};

/// Default bound on the websocket dial plus handshake (Go has none; spec §3.3 suggests ~10 s).
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// First reconnect delay (jpillora/backoff min as the Go connector uses it).
pub const DEFAULT_BACKOFF_MIN_MS: u64 = 1_000;
/// Longest reconnect delay (Go: 15 s).
pub const DEFAULT_BACKOFF_MAX_MS: u64 = 15_000;
/// A link must serve this long before its backoff resets, so a gateway that closes right after
/// the handshake cannot drive a tight reconnect loop.
pub const DEFAULT_STABLE_AFTER_MS: u64 = 5_000;
/// Requests handled at once per connector; beyond it the node answers -32000 at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Largest inbound websocket message (the gateway's own default `MaxRequestBytes`).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;
/// How long shutdown waits for in-flight requests before closing anyway.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 10_000;
/// Minimum random challenge bytes required from a gateway (Chainlink docs use 10).
pub const DEFAULT_MIN_CHALLENGE_LEN: usize = 10;
/// Allowed difference between the echoed challenge timestamp and the node clock.
pub const DEFAULT_TIMESTAMP_TOLERANCE_SECS: u32 = 10;

/// A configuration value that was refused; `field` is the TOML path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gateway connector config: {field}: {reason}")]
pub struct ConfigError {
    /// The offending field, e.g. `gateways[1].url`.
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

/// One gateway as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayEntry {
    /// Must equal the gateway's `AuthGatewayID`; 1–128 bytes, no NUL.
    pub id: String,
    /// `ws://` or `wss://` URL of the gateway's node endpoint.
    pub url: String,
}

/// The raw TOML/serde shape; see [`ConnectorConfig`] for meanings and defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnectorConfig {
    /// DON id (see [`ConnectorConfig::don_id`]).
    pub don_id: String,
    /// Expected key address, `0x` + 40 hex.
    #[serde(default)]
    pub node_address: Option<String>,
    /// The gateways.
    pub gateways: Vec<GatewayEntry>,
    /// Dial + handshake bound; default [`DEFAULT_HANDSHAKE_TIMEOUT_MS`].
    #[serde(default)]
    pub handshake_timeout_ms: Option<u64>,
    /// First reconnect delay; default [`DEFAULT_BACKOFF_MIN_MS`].
    #[serde(default)]
    pub backoff_min_ms: Option<u64>,
    /// Longest reconnect delay; default [`DEFAULT_BACKOFF_MAX_MS`].
    #[serde(default)]
    pub backoff_max_ms: Option<u64>,
    /// Serving time that resets the backoff; default [`DEFAULT_STABLE_AFTER_MS`].
    #[serde(default)]
    pub stable_after_ms: Option<u64>,
    /// Concurrent requests; default [`DEFAULT_MAX_IN_FLIGHT`].
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Inbound message limit; default [`DEFAULT_MAX_MESSAGE_BYTES`].
    #[serde(default)]
    pub max_message_bytes: Option<usize>,
    /// Default drain time; default [`DEFAULT_SHUTDOWN_GRACE_MS`].
    #[serde(default)]
    pub shutdown_grace_ms: Option<u64>,
    /// Minimum challenge random bytes; default [`DEFAULT_MIN_CHALLENGE_LEN`].
    #[serde(default)]
    pub auth_min_challenge_len: Option<usize>,
    /// Challenge timestamp tolerance; default [`DEFAULT_TIMESTAMP_TOLERANCE_SECS`].
    #[serde(default)]
    pub auth_timestamp_tolerance_secs: Option<u32>,
    /// Extra PEM trust anchors for `wss://`.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

/// Validated connector configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorConfig {
    /// DON id sent in every auth header (1–64 bytes, no NUL).
    pub don_id: String,
    /// If set, the node key's address must equal it (a guard against loading the wrong key).
    pub node_address: Option<Address>,
    /// The gateways, unique by id and by URL.
    pub gateways: Vec<GatewayEntry>,
    /// Bound on TCP connect + TLS + websocket upgrade + challenge answer.
    pub handshake_timeout: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// How long a link must serve before its backoff resets.
    pub stable_after: Duration,
    /// Requests in progress at once, over all gateways.
    pub max_in_flight: usize,
    /// Largest inbound websocket message in bytes.
    pub max_message_bytes: usize,
    /// Default grace for [`super::ConnectorHandle::shutdown`].
    pub shutdown_grace: Duration,
    /// Minimum random bytes in a challenge.
    pub min_challenge_len: usize,
    /// Allowed challenge timestamp difference.
    pub timestamp_tolerance_secs: u32,
    /// Extra trust anchors (PEM) for `wss://` gateways, besides the web PKI roots.
    pub tls_ca_file: Option<PathBuf>,
}

impl ConnectorConfig {
    /// A configuration with defaults for everything but the DON and the gateways.
    pub fn new(don_id: &str, gateways: Vec<GatewayEntry>) -> Result<Self, ConfigError> {
        Self::try_from(RawConnectorConfig {
            don_id: don_id.to_owned(),
            node_address: None,
            gateways,
            handshake_timeout_ms: None,
            backoff_min_ms: None,
            backoff_max_ms: None,
            stable_after_ms: None,
            max_in_flight: None,
            max_message_bytes: None,
            shutdown_grace_ms: None,
            auth_min_challenge_len: None,
            auth_timestamp_tolerance_secs: None,
            tls_ca_file: None,
        })
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConnectorConfig =
            toml::from_str(text).map_err(|err| refuse("(toml)", err.message()))?;
        Self::try_from(raw)
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ConfigError> {
    if value.is_empty() || value.len() > max || value.contains('\0') {
        return Err(refuse(
            field,
            format!(
                "must be 1..={max} bytes without NUL, got {} bytes",
                value.len()
            ),
        ));
    }
    Ok(())
}

fn positive(field: &str, value: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    match value.unwrap_or(default) {
        0 => Err(refuse(field, "must be greater than 0")),
        ms => Ok(Duration::from_millis(ms)),
    }
}

impl TryFrom<RawConnectorConfig> for ConnectorConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConnectorConfig) -> Result<Self, ConfigError> {
        check_text("don_id", &raw.don_id, DON_ID_LEN)?;
        let node_address =
            match raw.node_address.as_deref() {
                None | Some("") => None,
                Some(text) => Some(Address::parse(text).ok_or_else(|| {
                    refuse("node_address", "must be 0x followed by 40 hex digits")
                })?),
            };
        if raw.gateways.is_empty() {
            return Err(refuse("gateways", "at least one gateway is required"));
        }
        let mut ids = HashSet::new();
        let mut urls = HashSet::new();
        for (index, gateway) in raw.gateways.iter().enumerate() {
            check_text(
                &format!("gateways[{index}].id"),
                &gateway.id,
                GATEWAY_ID_LEN,
            )?;
            if !ids.insert(gateway.id.as_str()) {
                return Err(refuse(
                    format!("gateways[{index}].id"),
                    format!("duplicate gateway id {:?}", gateway.id),
                ));
            }
            if !(gateway.url.starts_with("ws://") || gateway.url.starts_with("wss://")) {
                return Err(refuse(
                    format!("gateways[{index}].url"),
                    "must start with ws:// or wss://",
                ));
            }
            if !urls.insert(gateway.url.as_str()) {
                return Err(refuse(
                    format!("gateways[{index}].url"),
                    format!("duplicate gateway URL {:?}", gateway.url),
                ));
            }
        }
        let backoff_min = positive("backoff_min_ms", raw.backoff_min_ms, DEFAULT_BACKOFF_MIN_MS)?;
        let backoff_max = positive("backoff_max_ms", raw.backoff_max_ms, DEFAULT_BACKOFF_MAX_MS)?;
        if backoff_max < backoff_min {
            return Err(refuse("backoff_max_ms", "must be at least backoff_min_ms"));
        }
        let max_in_flight = raw.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT);
        if max_in_flight == 0 {
            return Err(refuse("max_in_flight", "must be greater than 0"));
        }
        let max_message_bytes = raw.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        if max_message_bytes == 0 {
            return Err(refuse("max_message_bytes", "must be greater than 0"));
        }
        Ok(Self {
            don_id: raw.don_id,
            node_address,
            gateways: raw.gateways,
            handshake_timeout: positive(
                "handshake_timeout_ms",
                raw.handshake_timeout_ms,
                DEFAULT_HANDSHAKE_TIMEOUT_MS,
            )?,
            backoff_min,
            backoff_max,
            stable_after: Duration::from_millis(
                raw.stable_after_ms.unwrap_or(DEFAULT_STABLE_AFTER_MS),
            ),
            max_in_flight,
            max_message_bytes,
            shutdown_grace: Duration::from_millis(
                raw.shutdown_grace_ms.unwrap_or(DEFAULT_SHUTDOWN_GRACE_MS),
            ),
            min_challenge_len: raw
                .auth_min_challenge_len
                .unwrap_or(DEFAULT_MIN_CHALLENGE_LEN),
            timestamp_tolerance_secs: raw
                .auth_timestamp_tolerance_secs
                .unwrap_or(DEFAULT_TIMESTAMP_TOLERANCE_SECS),
            tls_ca_file: raw.tls_ca_file,
        })
    }
}
