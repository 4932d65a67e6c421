//! Backend routing configuration: the raw `[backends]` TOML section ([`BackendsConfig`]) and its
//! validation into a [`BackendsPlan`] that names the offending field on error. Nothing downstream
//! re-checks these values.
//!
//! ```toml
//! [backends]
//! default_endpoint = "http://127.0.0.1:7001"   # optional: ids not listed below go here
//! deadline_ms = 10000                          # per call, unless a route overrides it
//! connect_timeout_ms = 2000
//! max_decode_bytes = 1048576
//! max_concurrency = 64                         # per backend
//!
//! [backends.vault]                             # vault@1.0.0; else the default endpoint
//! endpoint = "unix:///run/chainlink/vault.sock"
//!
//! [backends.capabilities."my-action@1.0.0"]
//! endpoint = "https://capability.internal:7443"
//! deadline_ms = 30000
//! max_concurrency = 8
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use tonic::codegen::http::Uri;

use crate::proto::vault::VAULT_CAPABILITY_ID;

/// Default per-call deadline: the Go relay handler's request timeout.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// Longest accepted deadline: the enclave and the gateway give up long before this.
pub const MAX_DEADLINE: Duration = Duration::from_secs(300);
/// Default TCP/unix connect timeout: a local backend that takes longer is down.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest accepted connect timeout.
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default largest decoded response message. A response is base64'd into a gateway frame of
/// at most 1 MB, so a larger backend answer could never be delivered anyway.
pub const DEFAULT_MAX_DECODE_BYTES: usize = 1024 * 1024;
/// Largest accepted `max_decode_bytes` (gRPC's usual default is 4 MiB; 16 MiB leaves room).
pub const MAX_MAX_DECODE_BYTES: usize = 16 * 1024 * 1024;
/// Smallest accepted `max_decode_bytes`: below this even a vault answer for one secret fails.
pub const MIN_MAX_DECODE_BYTES: usize = 1024;
/// Default concurrent calls per backend; excess calls wait for a slot within their deadline.
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;
/// Largest accepted per-backend concurrency (each call holds an HTTP/2 stream).
pub const MAX_MAX_CONCURRENCY: usize = 4096;
/// Longest accepted capability id (ids are short `name@semver` strings).
pub const MAX_CAPABILITY_ID_LEN: usize = 256;

/// The raw `[backends]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendsConfig {
    /// Endpoint for capability ids without their own entry (and the vault, if it has none).
    pub default_endpoint: Option<String>,
    /// Per-call deadline in milliseconds (default 10000).
    pub deadline_ms: Option<u64>,
    /// Connect timeout in milliseconds (default 2000).
    pub connect_timeout_ms: Option<u64>,
    /// Largest decoded response message in bytes (default 1 MiB).
    pub max_decode_bytes: Option<usize>,
    /// Concurrent calls per backend (default 64).
    pub max_concurrency: Option<usize>,
    /// The vault (`vault@1.0.0`).
    pub vault: Option<RouteConfig>,
    /// Other capabilities by id.
    #[serde(default)]
    pub capabilities: BTreeMap<String, RouteConfig>,
}

/// One backend's raw entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// `http://host:port`, `https://host:port` or `unix:///absolute/path`.
    pub endpoint: String,
    /// Per-call deadline in milliseconds (default: the section's).
    pub deadline_ms: Option<u64>,
    /// Concurrent calls (default: the section's).
    pub max_concurrency: Option<usize>,
}

/// A configuration value that was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The TOML path of the field, e.g. `backends.vault.endpoint`.
    pub field: String,
    /// What is wrong and what is accepted.
    pub reason: String,
}

impl ConfigError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A validated endpoint address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointAddr {
    /// Plain-text HTTP/2 (`http://host:port`).
    Http(Uri),
    /// HTTP/2 over TLS with the webpki roots (`https://host:port`).
    Https(Uri),
    /// A unix socket path (`unix:///path`).
    Unix(String),
}

impl fmt::Display for EndpointAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `Uri` displays a bare authority with a trailing `/`; show what was configured.
            Self::Http(uri) | Self::Https(uri) => {
                let text = uri.to_string();
                f.write_str(text.strip_suffix('/').unwrap_or(&text))
            }
            Self::Unix(path) => write!(f, "unix://{path}"),
        }
    }
}

/// One validated backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    /// Where it is.
    pub endpoint: EndpointAddr,
    /// Bound on each call, from waiting for a slot to the first response message.
    pub deadline: Duration,
    /// Concurrent calls.
    pub max_concurrency: usize,
}

/// The validated `[backends]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendsPlan {
    /// Backends by capability id; includes `vault@1.0.0` when the vault has its own entry.
    pub routes: BTreeMap<String, RoutePlan>,
    /// Backend for every other id (and the vault when it has no entry).
    pub default: Option<RoutePlan>,
    /// Connect timeout of every channel.
    pub connect_timeout: Duration,
    /// Largest decoded response message.
    pub max_decode_bytes: usize,
}

impl BackendsConfig {
    /// Validates the section; the error names the field.
    pub fn validate(&self) -> Result<BackendsPlan, ConfigError> {
        let deadline = millis(
            "backends.deadline_ms",
            self.deadline_ms,
            DEFAULT_DEADLINE,
            MAX_DEADLINE,
        )?;
        let connect_timeout = millis(
            "backends.connect_timeout_ms",
            self.connect_timeout_ms,
            DEFAULT_CONNECT_TIMEOUT,
            MAX_CONNECT_TIMEOUT,
        )?;
        let max_decode_bytes = self.max_decode_bytes.unwrap_or(DEFAULT_MAX_DECODE_BYTES);
        if !(MIN_MAX_DECODE_BYTES..=MAX_MAX_DECODE_BYTES).contains(&max_decode_bytes) {
            return Err(ConfigError::new(
                "backends.max_decode_bytes",
                format!(
                    "{max_decode_bytes} is outside {MIN_MAX_DECODE_BYTES}..={MAX_MAX_DECODE_BYTES}"
                ),
            ));
        }
        let default_concurrency = concurrency(
            "backends.max_concurrency",
            self.max_concurrency,
            DEFAULT_MAX_CONCURRENCY,
        )?;
        let route = |field: &str, raw: &RouteConfig| -> Result<RoutePlan, ConfigError> {
            Ok(RoutePlan {
                endpoint: parse_endpoint(&format!("{field}.endpoint"), &raw.endpoint)?,
                deadline: millis(
                    &format!("{field}.deadline_ms"),
                    raw.deadline_ms,
                    deadline,
                    MAX_DEADLINE,
                )?,
                max_concurrency: concurrency(
                    &format!("{field}.max_concurrency"),
                    raw.max_concurrency,
                    default_concurrency,
                )?,
            })
        };
        let default = match &self.default_endpoint {
            Some(text) => Some(RoutePlan {
                endpoint: parse_endpoint("backends.default_endpoint", text)?,
                deadline,
                max_concurrency: default_concurrency,
            }),
            None => None,
        };
        let mut routes = BTreeMap::new();
        for (id, raw) in &self.capabilities {
            let field = format!("backends.capabilities.{id:?}");
            if id.is_empty() || id.len() > MAX_CAPABILITY_ID_LEN {
                return Err(ConfigError::new(
                    field,
                    format!("a capability id has 1..={MAX_CAPABILITY_ID_LEN} characters"),
                ));
            }
            if id == VAULT_CAPABILITY_ID {
                return Err(ConfigError::new(
                    field,
                    "configure the vault in [backends.vault]",
                ));
            }
            routes.insert(id.clone(), route(&field, raw)?);
        }
        match (&self.vault, &default) {
            (Some(raw), _) => {
                routes.insert(
                    VAULT_CAPABILITY_ID.to_string(),
                    route("backends.vault", raw)?,
                );
            }
            (None, Some(_)) => {}
            (None, None) => {
                return Err(ConfigError::new(
                    "backends.vault",
                    "missing: set [backends.vault] or backends.default_endpoint",
                ));
            }
        }
        Ok(BackendsPlan {
            routes,
            default,
            connect_timeout,
            max_decode_bytes,
        })
    }
}

impl BackendsPlan {
    /// One line per route, for `check-config` and the start-up log: `<id> -> <endpoint>
    /// (deadline <d>, max <n> concurrent)`, the default last as `* -> ...`.
    pub fn summary(&self) -> Vec<String> {
        let line = |id: &str, route: &RoutePlan| {
            format!(
                "{id} -> {} (deadline {:?}, max {} concurrent)",
                route.endpoint, route.deadline, route.max_concurrency
            )
        };
        let mut lines: Vec<String> = self
            .routes
            .iter()
            .map(|(id, route)| line(id, route))
            .collect();
        if let Some(default) = &self.default {
            lines.push(line("*", default));
        }
        lines
    }
}

fn concurrency(field: &str, value: Option<usize>, default: usize) -> Result<usize, ConfigError> {
    let value = value.unwrap_or(default);
    if (1..=MAX_MAX_CONCURRENCY).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            field,
            format!("{value} is outside 1..={MAX_MAX_CONCURRENCY}"),
        ))
    }
}

fn millis(
    field: &str,
    value: Option<u64>,
    default: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let Some(ms) = value else {
        return Ok(default);
    };
    let duration = Duration::from_millis(ms);
    if ms == 0 || duration > max {
        return Err(ConfigError::new(
            field,
            format!("{ms} ms is outside 1..={}", max.as_millis()),
        ));
    }
    Ok(duration)
}

/// Parses `http://host[:port]`, `https://host[:port]` or `unix:///absolute/path`.
pub fn parse_endpoint(field: &str, text: &str) -> Result<EndpointAddr, ConfigError> {
    if let Some(path) = text.strip_prefix("unix://") {
        if !path.starts_with('/') || path.len() < 2 {
            return Err(ConfigError::new(
                field,
                format!("{text:?}: a unix endpoint is unix:///absolute/path"),
            ));
        }
        return Ok(EndpointAddr::Unix(path.to_string()));
    }
    let uri: Uri = text
        .parse()
        .map_err(|err| ConfigError::new(field, format!("{text:?} is not a URI: {err}")))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(ConfigError::new(
            field,
            format!("{text:?}: expected scheme://host:port (the host is missing)"),
        ));
    }
    if uri.path() != "/" || uri.query().is_some() {
        return Err(ConfigError::new(
            field,
            format!("{text:?}: expected scheme://host:port with no path"),
        ));
    }
    match uri.scheme_str() {
        Some("http") => Ok(EndpointAddr::Http(uri)),
        Some("https") => Ok(EndpointAddr::Https(uri)),
        _ => Err(ConfigError::new(
            field,
            format!("{text:?}: the scheme must be http, https or unix"),
        )),
    }
}
