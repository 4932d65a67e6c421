//! Shared pieces of the gateway integration tests: handlers, configs and a tiny HTTP client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use confidential_relay::gateway::dev::{DevConfig, DevGateway, DevGatewayHandle};
use confidential_relay::gateway::handshake;
use confidential_relay::gateway::{
    Address, Connector, ConnectorConfig, ConnectorHandle, GatewayEntry, NodeKey, RequestHandler,
};
use confidential_relay::jsonrpc::{Failure, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Generous bound for anything that should happen "soon" on a slow CI box.
pub const SOON: Duration = Duration::from_secs(10);

/// The DON id used by the tests.
pub const DON: &str = "relay_don";

/// Answers every request with `{"gateway": <id>, "params": <params>}`; an error if the
/// params contain `"fail": <code>`.
pub struct Echo;

#[async_trait]
impl RequestHandler for Echo {
    async fn handle(&self, gateway_id: &str, request: Request) -> Response {
        echo(gateway_id, request)
    }
}

fn echo(gateway_id: &str, request: Request) -> Response {
    let params: serde_json::Value = request
        .params
        .as_ref()
        .map(|raw| serde_json::from_str(raw.get()).unwrap())
        .unwrap_or_default();
    if params.get("fail").is_some() {
        let failure = Failure::InvalidParams("key does not exist".into());
        return Response::failure(request.id, request.method, &failure);
    }
    Response::success(
        request.id,
        request.method,
        &serde_json::json!({ "gateway": gateway_id, "params": params }),
    )
}

/// Echoes after `delay`, counting how many calls are in progress at once.
pub struct Slow {
    pub delay: Duration,
    pub active: AtomicUsize,
    pub peak: AtomicUsize,
}

impl Slow {
    pub fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            active: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl RequestHandler for Slow {
    async fn handle(&self, gateway_id: &str, request: Request) -> Response {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.active.fetch_sub(1, Ordering::SeqCst);
        echo(gateway_id, request)
    }
}

/// A connector config with short backoff for tests.
pub fn connector_config(gateways: &[(&str, String)]) -> ConnectorConfig {
    let entries = gateways
        .iter()
        .map(|(id, url)| GatewayEntry {
            id: (*id).to_owned(),
            url: url.clone(),
        })
        .collect();
    let mut config = ConnectorConfig::new(DON, entries).unwrap();
    config.backoff_min = Duration::from_millis(50);
    config.backoff_max = Duration::from_millis(200);
    config.stable_after = Duration::from_millis(100);
    config
}

/// A dev gateway config for these members (defaults otherwise).
pub fn dev_config(gateway_id: &str, f: usize, members: &[Address]) -> DevConfig {
    DevConfig::new(gateway_id, DON, f, members).unwrap()
}

/// Starts a dev gateway.
pub async fn dev(config: DevConfig) -> DevGatewayHandle {
    DevGateway::start(config).await.unwrap()
}

/// Starts a connector for `key` to one dev gateway and waits until it is connected.
pub async fn connect(
    key: &Arc<NodeKey>,
    gateway: &DevGatewayHandle,
    handler: Arc<dyn RequestHandler>,
) -> ConnectorHandle {
    let config = connector_config(&[(gateway.gateway_id(), gateway.node_url())]);
    let handle = Connector::start(config, key.clone(), handler).unwrap();
    assert!(
        handle.await_connected(gateway.gateway_id(), SOON).await,
        "connector did not connect: {:?}",
        handle.status().gateways()[0].snapshot()
    );
    assert!(gateway.wait_for_node(key.address(), SOON).await);
    handle
}

/// A user request body.
pub fn user_body(id: &str, params: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "jsonrpc": "2.0", "id": id, "method": "confidential.secrets.get", "params": params,
    }))
    .unwrap()
}

/// A request as the gateway sends it to a node.
pub fn request(id: &str) -> Request {
    Request::from_slice(&user_body(id, serde_json::json!({"n": id}))).unwrap()
}

/// POSTs `body` to `addr` over plain HTTP/1.1; returns (status, body).
pub async fn http_post(addr: SocketAddr, path: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// Accepts one node connection as a bare gateway would: answers the upgrade with a challenge
/// for `gateway_id` (random part `random`), reads the node's answer and checks it was signed by
/// `node`. Returns the open websocket.
// The handshake callback's error type is tungstenite's, as the API requires.
#[allow(clippy::result_large_err)]
pub async fn accept_as_gateway(
    stream: tokio::net::TcpStream,
    gateway_id: &str,
    random: [u8; 10],
    node: Address,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    use base64::Engine as _;
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{
        Request as HsRequest, Response as HsResponse,
    };
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    let challenge = handshake::build_challenge(handshake::unix_now(), gateway_id, &random).unwrap();
    let header = base64::engine::general_purpose::STANDARD.encode(&challenge);
    let callback = |_: &HsRequest, mut response: HsResponse| {
        response.headers_mut().insert(
            handshake::CHALLENGE_HEADER,
            HeaderValue::from_str(&header).unwrap(),
        );
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(stream, callback)
        .await
        .unwrap();
    let Some(Ok(Message::Binary(answer))) = ws.next().await else {
        panic!("no challenge answer")
    };
    handshake::verify_challenge_answer(&challenge, &answer, node).unwrap();
    ws
}
