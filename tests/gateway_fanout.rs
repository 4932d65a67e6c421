//! The dev gateway's user endpoint over real sockets: fan-out to a 4-node DON with F = 1 and
//! the completion rules (early forward, terminal forward, grace, quorum unreachable, timeout),
//! plus the user-request checks.

mod gateway_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use confidential_relay::gateway::dev::{DevConfig, DevGatewayHandle};
use confidential_relay::gateway::{ConnectorHandle, NodeKey, RequestHandler};
use confidential_relay::jsonrpc::{Failure, Request, Response};
use gateway_support::*;

/// Always fails with an internal error (not a user error).
struct Broken;

#[async_trait]
impl RequestHandler for Broken {
    async fn handle(&self, _: &str, request: Request) -> Response {
        Response::failure(
            request.id,
            request.method,
            &Failure::Internal("backend down".into()),
        )
    }
}

const ECHO_RESULT: &str = r#"{"gateway":"gw-1","params":{"k":"v"}}"#;

/// A dev gateway for four fresh keys (F = 1) with `tune` applied; connectors start for the
/// nodes that have a handler (None = node down).
async fn don(
    handlers: [Option<Arc<dyn RequestHandler>>; 4],
    tune: impl FnOnce(&mut DevConfig),
) -> (DevGatewayHandle, Vec<ConnectorHandle>) {
    let keys: Vec<Arc<NodeKey>> = (0..4).map(|_| Arc::new(NodeKey::generate())).collect();
    let members: Vec<_> = keys.iter().map(|key| key.address()).collect();
    let mut config = dev_config("gw-1", 1, &members);
    tune(&mut config);
    let gateway = dev(config).await;
    let mut connectors = Vec::new();
    for (key, handler) in keys.iter().zip(handlers) {
        if let Some(handler) = handler {
            connectors.push(connect(key, &gateway, handler).await);
        }
    }
    (gateway, connectors)
}

async fn stop(gateway: DevGatewayHandle, connectors: Vec<ConnectorHandle>) {
    for connector in connectors {
        connector.shutdown(Duration::from_millis(100)).await;
    }
    gateway.shutdown().await;
}

fn echo() -> Option<Arc<dyn RequestHandler>> {
    Some(Arc::new(Echo))
}

fn slow(secs: u64) -> Option<Arc<dyn RequestHandler>> {
    Some(Slow::new(Duration::from_secs(secs)))
}

fn bundle(id: &str, results: usize) -> String {
    let entries = vec![ECHO_RESULT; results].join(",");
    format!(
        r#"{{"jsonrpc":"2.0","id":"{id}","method":"confidential.secrets.get","result":{{"responses":[{entries}]}}}}"#
    )
}

async fn call(gateway: &DevGatewayHandle, id: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let (status, body) = gateway
        .call(&user_body(id, serde_json::json!({"k": "v"})))
        .await;
    (status, String::from_utf8(body).unwrap(), started.elapsed())
}

#[tokio::test]
async fn forwards_once_three_of_four_agree() {
    let (gateway, connectors) = don([echo(), echo(), echo(), slow(30)], |_| {}).await;
    assert!(gateway.is_ready());
    let (status, body, took) = call(&gateway, "q1").await;
    assert_eq!((status, body), (200, bundle("q1", 3)));
    assert!(
        took < Duration::from_secs(10),
        "must not wait for the slow node: {took:?}"
    );
    // Over real HTTP too.
    let (status, body) = http_post(
        gateway.http_addr(),
        "/",
        &user_body("q2", serde_json::json!({"k": "v"})),
    )
    .await;
    assert_eq!((status, body), (200, bundle("q2", 3)));
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn two_nodes_down_and_an_internal_error_fails_at_once_with_the_quorum_error() {
    let broken: Option<Arc<dyn RequestHandler>> = Some(Arc::new(Broken));
    let (gateway, connectors) = don([slow(30), broken, None, None], |_| {}).await;
    let (status, body, took) = call(&gateway, "q3").await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        r#"{"jsonrpc":"2.0","id":"q3","method":"confidential.secrets.get","error":{"code":-32603,"message":"relay quorum unreachable: 0 ok responses and 1 pending, need F+1 = 2"}}"#
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn two_nodes_down_and_a_user_error_returns_the_user_error() {
    let (gateway, connectors) = don([slow(30), echo(), None, None], |_| {}).await;
    let (status, body) = gateway
        .call(&user_body("q4", serde_json::json!({"fail": 1})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"jsonrpc":"2.0","id":"q4","method":"confidential.secrets.get","error":{"code":-32602,"message":"key does not exist"}}"#
    );
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn two_nodes_down_and_two_ok_forwards_when_all_have_answered() {
    let (gateway, connectors) = don([echo(), None, echo(), None], |_| {}).await;
    assert!(!gateway.is_ready(), "2 of 4 is below 2F+1 = 3");
    let (status, body, _) = call(&gateway, "q5").await;
    assert_eq!((status, body), (200, bundle("q5", 2)));
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn three_nodes_down_fails_the_fan_out_at_once() {
    let (gateway, connectors) = don([echo(), None, None, None], |_| {}).await;
    let (status, body, _) = call(&gateway, "q6").await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        r#"{"jsonrpc":"2.0","id":"q6","method":"confidential.secrets.get","error":{"code":-32603,"message":"failed to forward user request to nodes"}}"#
    );
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn grace_window_forwards_f_plus_1() {
    let (gateway, connectors) = don([echo(), slow(30), echo(), slow(30)], |config| {
        config.quorum_grace = Some(Duration::from_millis(300));
    })
    .await;
    let (status, body, took) = call(&gateway, "q7").await;
    assert_eq!((status, body), (200, bundle("q7", 2)));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(10),
        "{took:?}"
    );
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn request_timeout_below_f_plus_1_is_504() {
    let (gateway, connectors) = don([echo(), slow(30), slow(30), slow(30)], |config| {
        config.request_timeout = Duration::from_millis(400);
    })
    .await;
    let (status, body, took) = call(&gateway, "q8").await;
    assert_eq!(status, 504);
    assert_eq!(
        body,
        r#"{"jsonrpc":"2.0","id":"q8","method":"confidential.secrets.get","error":{"code":-32000,"message":"request expired: got 1 ok responses, need at least F+1 = 2"}}"#
    );
    assert!(took >= Duration::from_millis(400), "{took:?}");
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn user_request_checks() {
    let (gateway, connectors) = don([None, None, None, None], |_| {}).await;
    let cases: [(&str, u16, &str); 7] = [
        (
            "nope",
            400,
            r#"{"jsonrpc":"2.0","id":"","method":"","error":{"code":-32700,"message":"request body is not JSON"}}"#,
        ),
        (
            r#"{"jsonrpc":"1.0","id":"a","method":"confidential.secrets.get","params":{}}"#,
            400,
            r#"{"jsonrpc":"2.0","id":"a","method":"confidential.secrets.get","error":{"code":-32700,"message":"jsonrpc must be \"2.0\""}}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","id":"a","method":"confidential.secrets.get"}"#,
            400,
            r#"{"jsonrpc":"2.0","id":"a","method":"confidential.secrets.get","error":{"code":-32700,"message":"params are required"}}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","id":"a","method":"confidential.secrets.get","params":[1]}"#,
            400,
            r#"{"jsonrpc":"2.0","id":"a","method":"confidential.secrets.get","error":{"code":-32600,"message":"params must be an object"}}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","id":"","method":"confidential.secrets.get","params":{}}"#,
            400,
            r#"{"jsonrpc":"2.0","id":"","method":"confidential.secrets.get","error":{"code":-32600,"message":"request id must be a non-empty string"}}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","id":"a","method":"vault.secrets.get","params":{}}"#,
            400,
            r#"{"jsonrpc":"2.0","id":"a","method":"vault.secrets.get","error":{"code":-32600,"message":"Service name not found"}}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","id":"a","method":"confidential.other","params":{}}"#,
            400,
            r#"{"jsonrpc":"2.0","id":"a","method":"confidential.other","error":{"code":-32601,"message":"unsupported method confidential.other"}}"#,
        ),
    ];
    for (body, status, expected) in cases {
        let (got_status, got) = gateway.call(body.as_bytes()).await;
        assert_eq!(
            (got_status, String::from_utf8(got).unwrap().as_str()),
            (status, expected),
            "{body}"
        );
    }
    let long = "x".repeat(201);
    let (status, body) = gateway.call(&user_body(&long, serde_json::json!({}))).await;
    assert_eq!(status, 400);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains(r#""message":"request id longer than 200 characters""#)
    );
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn duplicate_in_flight_id_is_refused() {
    let (gateway, connectors) = don([slow(1), slow(1), slow(1), None], |_| {}).await;
    let first = call(&gateway, "dup");
    let second = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        call(&gateway, "dup").await
    };
    let ((status, body, _), (dup_status, dup_body, _)) =
        futures_util::future::join(first, second).await;
    assert_eq!((status, body), (200, bundle("dup", 3)));
    assert_eq!(dup_status, 400);
    assert_eq!(
        dup_body,
        r#"{"jsonrpc":"2.0","id":"dup","method":"confidential.secrets.get","error":{"code":-32600,"message":"request ID already exists"}}"#
    );
    stop(gateway, connectors).await;
}

#[tokio::test]
async fn health_answers_ok() {
    let (gateway, connectors) = don([None, None, None, None], |_| {}).await;
    let mut stream = tokio::net::TcpStream::connect(gateway.http_addr())
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nOK"), "{text}");
    stop(gateway, connectors).await;
}
