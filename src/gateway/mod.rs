//! The link to Chainlink gateways: the node-side connector and a development gateway.
//!
//! - [`key`]: the node's secp256k1 key; [`eip191`]: hashing, signing and recovery.
//! - [`handshake`]: auth header and challenge layouts and checks (both sides).
//! - [`Connector`] (`connector`, `link`, `serve`): one reconnecting link per gateway.
//! - [`config`], [`status`], [`backoff`], [`digest`]: configuration, counters, delays, digests.

use async_trait::async_trait;

use crate::jsonrpc::{Request, Response};

pub mod backoff;
pub mod config;
mod connector;
pub mod dev;
pub mod digest;
pub mod eip191;
pub mod handshake;
pub mod key;
mod link;
mod serve;
pub mod status;
pub mod tls;

pub use config::{ConfigError, ConnectorConfig, GatewayEntry};
pub use connector::{Connector, ConnectorHandle, StartError};
pub use eip191::Address;
pub use key::NodeKey;
pub use link::DialError;
pub use status::{ConnectorStatus, GatewaySnapshot, GatewayStatus};

/// What the connector calls for every request a gateway sends.
///
/// Each call runs on its own task; the returned response goes back to the gateway the request
/// came from. Implementations answer every request, including unknown methods (-32601).
#[async_trait]
pub trait RequestHandler: Send + Sync + 'static {
    /// Handles one request from `gateway_id` and returns its one response.
    async fn handle(&self, gateway_id: &str, request: Request) -> Response;
}
