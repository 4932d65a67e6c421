//! The handshake over real loopback sockets: success, and each refusal seen on both sides
//! (the node's recorded error and the dev gateway's recorded reason).

mod gateway_support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use confidential_relay::gateway::dev::{DevConfig, NodeEvent};
use confidential_relay::gateway::handshake::{
    AUTH_HEADER, CHALLENGE_HEADER, auth_header_value, unix_now,
};
use confidential_relay::gateway::{Connector, ConnectorHandle, GatewaySnapshot, NodeKey};
use futures_util::{SinkExt, StreamExt};
use gateway_support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[tokio::test]
async fn handshake_succeeds_and_requests_are_served() {
    let key = Arc::new(NodeKey::generate());
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let connector = connect(&key, &gateway, Arc::new(Echo)).await;
    assert_eq!(gateway.connected_nodes(), [key.address()]);
    assert_eq!(gateway.events(), [NodeEvent::Connected(key.address())]);

    let (status, body) = http_post(
        gateway.http_addr(),
        "/",
        &user_body("r1", serde_json::json!({"k": 1})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"jsonrpc":"2.0","id":"r1","method":"confidential.secrets.get","result":{"responses":[{"gateway":"gw-1","params":{"k":1}}]}}"#
    );
    let snapshot = connector.status().gateways()[0].snapshot();
    assert_eq!(
        snapshot,
        GatewaySnapshot {
            id: "gw-1".into(),
            connected: true,
            dial_attempts: 1,
            failed_attempts: 0,
            connects: 1,
            last_error: None
        }
    );
    connector.shutdown(Duration::from_secs(1)).await;
    gateway.shutdown().await;
}

/// Starts a connector that cannot get in, waits for its first failure, returns its snapshot.
async fn first_failure(connector: &ConnectorHandle) -> GatewaySnapshot {
    let status = connector.status();
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let snapshot = status.gateways()[0].snapshot();
        if snapshot.failed_attempts > 0 {
            assert!(!snapshot.connected || snapshot.connects > 0);
            return snapshot;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failure recorded: {snapshot:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a refused handshake; returns (node error, gateway rejection reason, detail).
async fn refused(
    gateway_config: DevConfig,
    key: NodeKey,
    don: &str,
    gateway_id: &str,
) -> (String, &'static str, String) {
    let gateway = dev(gateway_config).await;
    let mut config = connector_config(&[(gateway_id, gateway.node_url())]);
    config.don_id = don.to_owned();
    let connector = Connector::start(config, Arc::new(key), Arc::new(Echo)).unwrap();
    let snapshot = first_failure(&connector).await;
    connector.shutdown(Duration::from_secs(1)).await;
    let events = gateway.events();
    gateway.shutdown().await;
    assert_eq!(snapshot.connects, 0, "{snapshot:?}");
    let Some(NodeEvent::Rejected { reason, detail }) = events.first().cloned() else {
        panic!("gateway recorded no rejection: {events:?}")
    };
    (snapshot.last_error.unwrap(), reason, detail)
}

#[tokio::test]
async fn unknown_node_key_is_refused() {
    let member = NodeKey::generate();
    let stranger = NodeKey::generate();
    let address = stranger.address();
    let (node, reason, detail) = refused(
        dev_config("gw-1", 0, &[member.address()]),
        stranger,
        DON,
        "gw-1",
    )
    .await;
    assert_eq!(reason, "not_member");
    assert_eq!(detail, format!("node {address} is not a member of the DON"));
    assert_eq!(
        node,
        format!("gateway refused the handshake with HTTP 401: not_member: {detail}")
    );
}

#[tokio::test]
async fn wrong_don_id_is_refused() {
    let key = NodeKey::generate();
    let (node, reason, detail) = refused(
        dev_config("gw-1", 0, &[key.address()]),
        key,
        "other_don",
        "gw-1",
    )
    .await;
    assert_eq!(reason, "unknown_don");
    assert_eq!(detail, r#"unknown DON id "other_don""#);
    assert_eq!(
        node,
        format!("gateway refused the handshake with HTTP 401: unknown_don: {detail}")
    );
}

#[tokio::test]
async fn wrong_gateway_id_is_refused() {
    let key = NodeKey::generate();
    let (node, reason, detail) =
        refused(dev_config("gw-1", 0, &[key.address()]), key, DON, "gw-2").await;
    assert_eq!(reason, "wrong_gateway");
    assert_eq!(
        detail,
        r#"auth header names gateway "gw-2", not this gateway"#
    );
    assert_eq!(
        node,
        format!("gateway refused the handshake with HTTP 401: wrong_gateway: {detail}")
    );
}

#[tokio::test]
async fn stale_timestamp_is_refused() {
    let key = NodeKey::generate();
    let mut config = dev_config("gw-1", 0, &[key.address()]);
    config.clock_offset_secs = 100;
    let (node, reason, detail) = refused(config, key, DON, "gw-1").await;
    assert_eq!(reason, "stale_timestamp");
    assert!(
        detail.starts_with("auth timestamp ")
            && detail.contains(" is more than 5 s from gateway time "),
        "{detail}"
    );
    assert_eq!(
        node,
        format!("gateway refused the handshake with HTTP 401: stale_timestamp: {detail}")
    );
}

#[tokio::test]
async fn short_challenge_is_refused_by_the_node() {
    let key = NodeKey::generate();
    let mut config = dev_config("gw-1", 0, &[key.address()]);
    config.challenge_len = 4;
    let (node, reason, detail) = refused(config, key, DON, "gw-1").await;
    assert_eq!(
        node,
        "challenge refused (challenge_too_short): challenge too short: 4 random bytes, need at least 10"
    );
    assert_eq!(reason, "challenge_no_answer");
    assert_eq!(
        detail,
        "no challenge answer: answer is not a binary message: close"
    );
}

/// A raw client: dials with `header` and returns the HTTP error or the socket and challenge.
async fn raw_dial(
    url: &str,
    header: &str,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Vec<u8>,
    ),
    (u16, String),
> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert(AUTH_HEADER, HeaderValue::from_str(header).unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, response)) => {
            let challenge = response
                .headers()
                .get(CHALLENGE_HEADER)
                .unwrap()
                .to_str()
                .unwrap();
            Ok((ws, STANDARD.decode(challenge).unwrap()))
        }
        Err(WsError::Http(response)) => {
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("unexpected dial error {other}"),
    }
}

#[tokio::test]
async fn bad_challenge_signature_closes_the_socket() {
    let key = NodeKey::generate();
    let impostor = NodeKey::generate();
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let header = auth_header_value(&key, unix_now(), DON, "gw-1").unwrap();
    let (mut ws, challenge) = raw_dial(&gateway.node_url(), &header).await.unwrap();
    assert_eq!(challenge.len(), 142);
    assert_eq!(&challenge[4..8], b"gw-1");
    ws.send(Message::binary(impostor.sign(&challenge).to_vec()))
        .await
        .unwrap();
    // Node side: the gateway drops the TCP connection without a close frame.
    let next = tokio::time::timeout(SOON, ws.next()).await.unwrap();
    assert!(matches!(next, None | Some(Err(_))), "{next:?}");
    assert_eq!(
        gateway.events(),
        [NodeEvent::Rejected {
            reason: "challenge_signature",
            detail: format!(
                "challenge signature invalid: signed by {}, expected {}",
                impostor.address(),
                key.address()
            ),
        }]
    );
    assert!(gateway.connected_nodes().is_empty());
    gateway.shutdown().await;
}

#[tokio::test]
async fn malformed_headers_get_400_and_401() {
    let key = NodeKey::generate();
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let url = gateway.node_url();
    let (status, body) = raw_dial(&url, &"A".repeat(513)).await.unwrap_err();
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "header_too_long: auth header is 513 base64 characters, over the 512 limit"
        )
    );
    let (status, body) = raw_dial(&url, "!!!!").await.unwrap_err();
    assert_eq!(
        (status, body.as_str()),
        (400, "header_not_base64: auth header is not base64")
    );
    let (status, body) = raw_dial(&url, &STANDARD.encode([1u8, 2]))
        .await
        .unwrap_err();
    assert_eq!(
        (status, body.as_str()),
        (401, "header_length: auth header must be 261 bytes, got 2")
    );
    // A zeroed signature recovers no signer.
    let mut zeroed = STANDARD
        .decode(auth_header_value(&key, unix_now(), DON, "gw-1").unwrap())
        .unwrap();
    zeroed[196..].fill(0);
    let (status, body) = raw_dial(&url, &STANDARD.encode(&zeroed)).await.unwrap_err();
    assert_eq!(
        (status, body.as_str()),
        (
            401,
            "header_signature: auth header signature: signature does not recover a public key"
        )
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn oversize_challenge_answer_is_refused() {
    let key = NodeKey::generate();
    let mut config = dev_config("gw-1", 0, &[key.address()]);
    config.max_request_bytes = 10_000;
    let gateway = dev(config).await;
    let header = auth_header_value(&key, unix_now(), DON, "gw-1").unwrap();
    // The node's connect succeeds; the gateway aborts on the 20,000-byte answer.
    let (mut ws, _) = raw_dial(&gateway.node_url(), &header).await.unwrap();
    let _ = ws.send(Message::binary(vec![0u8; 20_000])).await;
    let next = tokio::time::timeout(SOON, ws.next()).await.unwrap();
    assert!(matches!(next, None | Some(Err(_))), "{next:?}");
    assert_eq!(
        gateway.events(),
        [NodeEvent::Rejected {
            reason: "challenge_no_answer",
            detail: "no challenge answer: reading the answer failed: Space limit exceeded: Message too long: 20000 > 10000".into(),
        }]
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_new_connection_from_the_same_node_replaces_the_old_one() {
    let key = NodeKey::generate();
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let header = auth_header_value(&key, unix_now(), DON, "gw-1").unwrap();
    let (mut first, challenge) = raw_dial(&gateway.node_url(), &header).await.unwrap();
    first
        .send(Message::binary(key.sign(&challenge).to_vec()))
        .await
        .unwrap();
    assert!(gateway.wait_for_node(key.address(), SOON).await);

    let header = auth_header_value(&key, unix_now(), DON, "gw-1").unwrap();
    let (mut second, challenge) = raw_dial(&gateway.node_url(), &header).await.unwrap();
    second
        .send(Message::binary(key.sign(&challenge).to_vec()))
        .await
        .unwrap();
    // The old socket gets a close frame; the node stays connected through the new one.
    let closed = tokio::time::timeout(SOON, first.next()).await.unwrap();
    assert!(matches!(closed, Some(Ok(Message::Close(_)))), "{closed:?}");
    let node = key.address();
    let deadline = tokio::time::Instant::now() + SOON;
    while gateway.events().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            gateway.events()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        gateway.events(),
        [
            NodeEvent::Connected(node),
            NodeEvent::Connected(node),
            NodeEvent::Dropped {
                node,
                reason: "connection replaced or gateway stopping".into()
            },
        ]
    );
    assert_eq!(gateway.connected_nodes(), [node]);
    // Requests now go to the new socket.
    let gateway = Arc::new(gateway);
    let sender = gateway.clone();
    let pending = tokio::spawn(async move {
        sender
            .send_to_node(node, gateway_support::request("n1"), SOON)
            .await
    });
    let Some(Ok(Message::Binary(frame))) = second.next().await else {
        panic!("no request")
    };
    let request = confidential_relay::jsonrpc::Request::from_slice(&frame).unwrap();
    assert_eq!(request.id, "n1");
    let response = confidential_relay::jsonrpc::Response::success(request.id, request.method, &1);
    second
        .send(Message::binary(response.to_vec()))
        .await
        .unwrap();
    assert_eq!(pending.await.unwrap().unwrap().result().unwrap().get(), "1");
    let Ok(gateway) = Arc::try_unwrap(gateway) else {
        panic!("gateway still shared")
    };
    gateway.shutdown().await;
}
