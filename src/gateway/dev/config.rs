//! The dev gateway's TOML configuration, validated once (errors name the field). Field names
//! follow the Chainlink gateway config in snake_case (spec §4.2); one DON, one service
//! (`confidential`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::gateway::eip191::Address;
use crate::gateway::handshake::{DON_ID_LEN, GATEWAY_ID_LEN};

/// Default challenge random length (Chainlink default).
pub const DEFAULT_CHALLENGE_LEN: usize = 10;
/// Default auth timestamp tolerance in seconds (Chainlink default).
pub const DEFAULT_TIMESTAMP_TOLERANCE_SECS: u32 = 5;
/// Default ping interval (Chainlink default 20 s).
pub const DEFAULT_HEARTBEAT_MS: u64 = 20_000;
/// Default bound on reading the node's challenge answer (Go has none; spec §1.8 asks for one).
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Default user request timeout (Chainlink `RequestTimeoutSec` default 30).
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Default quorum grace window (Chainlink `QuorumGraceMillis` default).
pub const DEFAULT_QUORUM_GRACE_MS: i64 = 10_000;
/// Default per-node send timeout (Chainlink `NodeSendTimeoutSec` default 10).
pub const DEFAULT_NODE_SEND_TIMEOUT_MS: u64 = 10_000;
/// Default body and websocket message limit (Chainlink `MaxRequestBytes` default).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1_000_000;

/// A refused dev gateway configuration value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dev gateway config: {field}: {reason}")]
pub struct DevConfigError {
    /// The offending field.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> DevConfigError {
    DevConfigError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The relay DON: its name (the DON id nodes send), F, and member node addresses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DonEntry {
    /// DON id as nodes send it in the auth header.
    pub name: String,
    /// Faulty nodes tolerated; members must be at least 3F+1.
    pub f: usize,
    /// Node addresses (`0x` + 40 hex).
    pub members: Vec<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The raw configuration; see the constants for defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevConfig {
    /// `AuthGatewayID`.
    pub gateway_id: String,
    /// Websocket listen address; default 127.0.0.1:0.
    #[serde(default = "default_listen")]
    pub node_listen: SocketAddr,
    /// HTTP listen address; default 127.0.0.1:0.
    #[serde(default = "default_listen")]
    pub http_listen: SocketAddr,
    /// The relay DON.
    pub don: DonEntry,
    /// Default [`DEFAULT_TIMESTAMP_TOLERANCE_SECS`].
    #[serde(default)]
    pub auth_timestamp_tolerance_secs: Option<u32>,
    /// Default [`DEFAULT_CHALLENGE_LEN`].
    #[serde(default)]
    pub auth_challenge_len: Option<usize>,
    /// Default [`DEFAULT_HEARTBEAT_MS`]; 0 disables pings.
    #[serde(default)]
    pub heartbeat_interval_ms: Option<u64>,
    /// Default 0 (off); else must exceed the heartbeat.
    #[serde(default)]
    pub pong_timeout_ms: Option<u64>,
    /// Default [`DEFAULT_HANDSHAKE_TIMEOUT_MS`].
    #[serde(default)]
    pub handshake_timeout_ms: Option<u64>,
    /// Default [`DEFAULT_REQUEST_TIMEOUT_MS`].
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// Default [`DEFAULT_QUORUM_GRACE_MS`]; ≤ 0 disables.
    #[serde(default)]
    pub quorum_grace_ms: Option<i64>,
    /// Default [`DEFAULT_NODE_SEND_TIMEOUT_MS`].
    #[serde(default)]
    pub node_send_timeout_ms: Option<u64>,
    /// Default [`DEFAULT_MAX_REQUEST_BYTES`].
    #[serde(default)]
    pub max_request_bytes: Option<usize>,
    /// PEM certificate chain for `wss://` (with `tls_key_file`).
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for `wss://` (with `tls_cert_file`).
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Test hook: seconds added to the gateway clock (simulates clock skew).
    #[serde(default)]
    pub clock_offset_secs: i64,
}

/// Validated dev gateway configuration.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// `AuthGatewayID`: nodes must name it, and it goes into every challenge.
    pub gateway_id: String,
    /// Websocket (node) listen address.
    pub node_listen: SocketAddr,
    /// HTTP (user) listen address.
    pub http_listen: SocketAddr,
    /// DON id.
    pub don_name: String,
    /// F.
    pub f: usize,
    /// Members in configured order, unique.
    pub members: Vec<Address>,
    /// Auth timestamp tolerance.
    pub timestamp_tolerance_secs: u32,
    /// Random bytes per challenge.
    pub challenge_len: usize,
    /// Ping interval; `None` disables pings.
    pub heartbeat: Option<Duration>,
    /// Drop a node that sends no pong for this long; `None` disables.
    pub pong_timeout: Option<Duration>,
    /// Bound on reading the challenge answer.
    pub handshake_timeout: Duration,
    /// User request timeout.
    pub request_timeout: Duration,
    /// Grace window once F+1 ok responses are in; `None` disables (clamped to the timeout).
    pub quorum_grace: Option<Duration>,
    /// Bound on handing a request to one node (clamped to the request timeout).
    pub node_send_timeout: Duration,
    /// HTTP body and websocket message limit.
    pub max_request_bytes: usize,
    /// PEM certificate chain and key: the node endpoint serves `wss://` when set.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Test hook: gateway clock skew in seconds.
    pub clock_offset_secs: i64,
}

impl DevConfig {
    /// Defaults for everything but the identity and the DON; listens on 127.0.0.1:0.
    pub fn new(
        gateway_id: &str,
        don_name: &str,
        f: usize,
        members: &[Address],
    ) -> Result<Self, DevConfigError> {
        Self::try_from(RawDevConfig {
            gateway_id: gateway_id.to_owned(),
            node_listen: default_listen(),
            http_listen: default_listen(),
            don: DonEntry {
                name: don_name.to_owned(),
                f,
                members: members.iter().map(ToString::to_string).collect(),
            },
            auth_timestamp_tolerance_secs: None,
            auth_challenge_len: None,
            heartbeat_interval_ms: None,
            pong_timeout_ms: None,
            handshake_timeout_ms: None,
            request_timeout_ms: None,
            quorum_grace_ms: None,
            node_send_timeout_ms: None,
            max_request_bytes: None,
            tls_cert_file: None,
            tls_key_file: None,
            clock_offset_secs: 0,
        })
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, DevConfigError> {
        let raw: RawDevConfig =
            toml::from_str(text).map_err(|err| refuse("(toml)", err.message()))?;
        Self::try_from(raw)
    }
}

fn ms(value: Option<u64>, default: u64) -> Duration {
    Duration::from_millis(value.unwrap_or(default))
}

impl TryFrom<RawDevConfig> for DevConfig {
    type Error = DevConfigError;

    fn try_from(raw: RawDevConfig) -> Result<Self, DevConfigError> {
        if raw.gateway_id.is_empty()
            || raw.gateway_id.len() > GATEWAY_ID_LEN
            || raw.gateway_id.contains('\0')
        {
            return Err(refuse(
                "gateway_id",
                format!("must be 1..={GATEWAY_ID_LEN} bytes without NUL"),
            ));
        }
        if raw.don.name.is_empty() || raw.don.name.len() > DON_ID_LEN || raw.don.name.contains('\0')
        {
            return Err(refuse(
                "don.name",
                format!("must be 1..={DON_ID_LEN} bytes without NUL"),
            ));
        }
        let mut members = Vec::with_capacity(raw.don.members.len());
        let mut seen = HashSet::new();
        for (index, text) in raw.don.members.iter().enumerate() {
            let address = Address::parse(text).ok_or_else(|| {
                refuse(
                    format!("don.members[{index}]"),
                    "must be 0x followed by 40 hex digits",
                )
            })?;
            if !seen.insert(address) {
                return Err(refuse(
                    format!("don.members[{index}]"),
                    format!("duplicate node address {address}"),
                ));
            }
            members.push(address);
        }
        let needed = raw.don.f.saturating_mul(3).saturating_add(1);
        if members.len() < needed {
            return Err(refuse(
                "don.members",
                format!("{} members, need at least 3F+1 = {needed}", members.len()),
            ));
        }
        let heartbeat = match raw.heartbeat_interval_ms.unwrap_or(DEFAULT_HEARTBEAT_MS) {
            0 => None,
            interval => Some(Duration::from_millis(interval)),
        };
        let pong_timeout = match raw.pong_timeout_ms.unwrap_or(0) {
            0 => None,
            timeout => {
                let Some(interval) = heartbeat else {
                    return Err(refuse("pong_timeout_ms", "needs heartbeat_interval_ms > 0"));
                };
                if Duration::from_millis(timeout) <= interval {
                    return Err(refuse(
                        "pong_timeout_ms",
                        "must be greater than heartbeat_interval_ms",
                    ));
                }
                Some(Duration::from_millis(timeout))
            }
        };
        let request_timeout = ms(raw.request_timeout_ms, DEFAULT_REQUEST_TIMEOUT_MS);
        if request_timeout.is_zero() {
            return Err(refuse("request_timeout_ms", "must be greater than 0"));
        }
        let quorum_grace = match raw.quorum_grace_ms.unwrap_or(DEFAULT_QUORUM_GRACE_MS) {
            grace if grace <= 0 => None,
            grace => Some(Duration::from_millis(grace.unsigned_abs()).min(request_timeout)),
        };
        let tls = match (raw.tls_cert_file, raw.tls_key_file) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => return Err(refuse("tls_key_file", "required with tls_cert_file")),
            (None, Some(_)) => return Err(refuse("tls_cert_file", "required with tls_key_file")),
        };
        let challenge_len = raw.auth_challenge_len.unwrap_or(DEFAULT_CHALLENGE_LEN);
        Ok(Self {
            gateway_id: raw.gateway_id,
            node_listen: raw.node_listen,
            http_listen: raw.http_listen,
            don_name: raw.don.name,
            f: raw.don.f,
            members,
            timestamp_tolerance_secs: raw
                .auth_timestamp_tolerance_secs
                .unwrap_or(DEFAULT_TIMESTAMP_TOLERANCE_SECS),
            challenge_len,
            heartbeat,
            pong_timeout,
            handshake_timeout: ms(raw.handshake_timeout_ms, DEFAULT_HANDSHAKE_TIMEOUT_MS),
            request_timeout,
            quorum_grace,
            node_send_timeout: ms(raw.node_send_timeout_ms, DEFAULT_NODE_SEND_TIMEOUT_MS)
                .min(request_timeout),
            max_request_bytes: raw.max_request_bytes.unwrap_or(DEFAULT_MAX_REQUEST_BYTES),
            tls,
            clock_offset_secs: raw.clock_offset_secs,
        })
    }
}
