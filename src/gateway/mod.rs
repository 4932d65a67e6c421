//! The link to Chainlink gateways: the node-side connector and a development gateway.

use async_trait::async_trait;

use crate::jsonrpc::{Request, Response};

/// What the connector calls for every request a gateway sends.
///
/// Each call runs on its own task; the returned response goes back to the gateway the request
/// came from. Implementations answer every request, including unknown methods (-32601).
#[async_trait]
pub trait RequestHandler: Send + Sync + 'static {
    /// Handles one request from `gateway_id` and returns its one response.
    async fn handle(&self, gateway_id: &str, request: Request) -> Response;
}
