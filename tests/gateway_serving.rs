//! Serving over real loopback sockets: concurrent blocking handlers with pings answered, the
//! in-flight limit, two independent gateways, dropped junk frames, and graceful shutdown.

mod gateway_support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use confidential_relay::gateway::dev::{NodeEvent, SendError};
use confidential_relay::gateway::{Connector, NodeKey};
use futures_util::{SinkExt, StreamExt};
use gateway_support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn eight_blocking_handlers_run_at_once_while_pings_are_answered() {
    let key = Arc::new(NodeKey::generate());
    let mut config = dev_config("gw-1", 0, &[key.address()]);
    config.heartbeat = Some(Duration::from_millis(100));
    config.pong_timeout = Some(Duration::from_millis(400));
    let gateway = dev(config).await;
    let handler = Slow::new(Duration::from_millis(1_500));
    let connector = connect(&key, &gateway, handler.clone()).await;

    let started = Instant::now();
    let calls = (0..8).map(|i| {
        let gateway = &gateway;
        async move {
            gateway
                .call(&user_body(&format!("r{i}"), serde_json::json!({"i": i})))
                .await
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
        let expected = format!(
            r#"{{"jsonrpc":"2.0","id":"r{i}","method":"confidential.secrets.get","result":{{"responses":[{{"gateway":"gw-1","params":{{"i":{i}}}}}]}}}}"#
        );
        assert_eq!(String::from_utf8_lossy(body), expected);
    }
    assert_eq!(
        handler.peak.load(Ordering::SeqCst),
        8,
        "all 8 handlers must be in progress at once"
    );
    // Sequential handling would take 12 s; concurrent takes about 1.5 s.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    // The pong timeout (400 ms) is far below the handler delay, yet the node stayed connected.
    assert_eq!(gateway.events(), [NodeEvent::Connected(key.address())]);
    assert_eq!(connector.status().gateways()[0].snapshot().connects, 1);
    connector.shutdown(Duration::from_secs(1)).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn beyond_the_in_flight_limit_the_node_answers_32000_at_once() {
    let key = Arc::new(NodeKey::generate());
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let mut config = connector_config(&[("gw-1", gateway.node_url())]);
    config.max_in_flight = 2;
    let handler = Slow::new(Duration::from_secs(3));
    let connector = Connector::start(config, key.clone(), handler.clone()).unwrap();
    assert!(connector.await_connected("gw-1", SOON).await);
    assert!(gateway.wait_for_node(key.address(), SOON).await);
    let status = connector.status();
    let node = key.address();
    let blocked = async {
        futures_util::future::join(
            gateway.send_to_node(node, request("a"), SOON),
            gateway.send_to_node(node, request("b"), SOON),
        )
        .await
    };
    let refused = async {
        while status.in_flight() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = Instant::now();
        let response = gateway
            .send_to_node(node, request("c"), SOON)
            .await
            .unwrap();
        (response, started.elapsed())
    };
    let ((a, b), (c, waited)) = futures_util::future::join(blocked, refused).await;
    assert_eq!(
        String::from_utf8(c.to_vec()).unwrap(),
        r#"{"jsonrpc":"2.0","id":"c","method":"confidential.secrets.get","error":{"code":-32000,"message":"node is over its in-flight request limit"}}"#
    );
    assert!(
        waited < Duration::from_secs(2),
        "refusal must not wait for the handlers: {waited:?}"
    );
    assert!(a.unwrap().result().is_some());
    assert!(b.unwrap().result().is_some());
    assert_eq!(handler.peak.load(Ordering::SeqCst), 2);
    assert_eq!(status.in_flight(), 0);
    connector.shutdown(Duration::from_secs(1)).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn two_gateways_are_independent_and_responses_go_back_where_they_came_from() {
    let key = Arc::new(NodeKey::generate());
    let a = dev(dev_config("gw-a", 0, &[key.address()])).await;
    let b = dev(dev_config("gw-b", 0, &[key.address()])).await;
    let config = connector_config(&[("gw-a", a.node_url()), ("gw-b", b.node_url())]);
    let connector = Connector::start(config, key.clone(), Arc::new(Echo)).unwrap();
    assert!(connector.await_connected("gw-a", SOON).await);
    assert!(connector.await_connected("gw-b", SOON).await);
    assert!(a.wait_for_node(key.address(), SOON).await);
    assert!(b.wait_for_node(key.address(), SOON).await);
    assert_eq!(connector.status().connected_count(), 2);
    for (gateway, id) in [(&a, "gw-a"), (&b, "gw-b")] {
        let (status, body) = gateway
            .call(&user_body("same-id", serde_json::json!({})))
            .await;
        assert_eq!(status, 200);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["result"]["responses"][0]["gateway"], id);
    }
    b.shutdown().await;
    let status = connector.status();
    let mut gone = status.gateway("gw-b").unwrap().watch_connected();
    tokio::time::timeout(SOON, gone.wait_for(|up| !*up))
        .await
        .unwrap()
        .unwrap();
    let (code, body) = a.call(&user_body("after", serde_json::json!({}))).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert!(status.gateway("gw-a").unwrap().is_connected());
    assert_eq!(status.connected_count(), 1);
    connector.shutdown(Duration::from_secs(1)).await;
    a.shutdown().await;
}

#[tokio::test]
async fn shutdown_sends_in_flight_responses_then_a_close_frame() {
    let key = Arc::new(NodeKey::generate());
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let handler = Slow::new(Duration::from_millis(500));
    let connector = connect(&key, &gateway, handler.clone()).await;
    let status = connector.status();
    let node = key.address();
    let requests = async {
        futures_util::future::join(
            gateway.send_to_node(node, request("x"), SOON),
            gateway.send_to_node(node, request("y"), SOON),
        )
        .await
    };
    let stop = async {
        while status.in_flight() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        connector.shutdown(Duration::from_secs(5)).await
    };
    let ((x, y), abandoned) = futures_util::future::join(requests, stop).await;
    assert_eq!(abandoned, 0);
    assert_eq!(x.unwrap().id, "x");
    assert_eq!(y.unwrap().id, "y");
    assert!(gateway.wait_for_nodes(0, SOON).await);
    let events = gateway.events();
    assert_eq!(
        events.last(),
        Some(&NodeEvent::Dropped {
            node,
            reason: "node closed the connection".into()
        }),
        "{events:?}"
    );
    // No redial after shutdown.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status.gateways()[0].snapshot().dial_attempts, 1);
    assert_eq!(
        gateway
            .send_to_node(node, request("z"), SOON)
            .await
            .unwrap_err(),
        SendError::NotConnected(node)
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn shutdown_grace_bounds_the_wait_for_stuck_handlers() {
    let key = Arc::new(NodeKey::generate());
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let handler = Slow::new(Duration::from_secs(30));
    let connector = connect(&key, &gateway, handler.clone()).await;
    let status = connector.status();
    let node = key.address();
    let pending = gateway.send_to_node(node, request("stuck"), SOON);
    let stop = async {
        while status.in_flight() < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = Instant::now();
        let abandoned = connector.shutdown(Duration::from_millis(200)).await;
        (abandoned, started.elapsed())
    };
    let (answer, (abandoned, took)) = futures_util::future::join(pending, stop).await;
    assert_eq!(abandoned, 1);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(answer.unwrap_err(), SendError::NotConnected(node));
    gateway.shutdown().await;
}

/// A hand-written gateway that authenticates one node, then sends junk before a real request.
#[tokio::test]
async fn junk_and_oversize_frames_are_dropped_and_the_link_stays_up() {
    let key = Arc::new(NodeKey::generate());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let mut config = connector_config(&[("gw-raw", url)]);
    config.max_message_bytes = 1_000;
    let connector = Connector::start(config, key.clone(), Arc::new(Echo)).unwrap();

    let (stream, _) = listener.accept().await.unwrap();
    let mut ws = accept_as_gateway(stream, "gw-raw", [7; 10], key.address()).await;

    ws.send(Message::binary(b"not json".to_vec()))
        .await
        .unwrap();
    ws.send(Message::binary(
        br#"{"jsonrpc":"2.0","id":7,"method":"m"}"#.to_vec(),
    ))
    .await
    .unwrap();
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":"big","method":"m","params":{{"pad":"{}"}}}}"#,
        "x".repeat(2_000)
    );
    ws.send(Message::binary(big.into_bytes())).await.unwrap();
    ws.send(Message::Ping(b"hb".to_vec().into())).await.unwrap();
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","id":"ok","method":"m","params":{}}"#,
    ))
    .await
    .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(SOON, ws.next()).await.unwrap() {
            Some(Ok(Message::Pong(payload))) => {
                seen.push(format!("pong {}", String::from_utf8_lossy(&payload)))
            }
            Some(Ok(Message::Binary(frame))) => {
                seen.push(String::from_utf8(frame.to_vec()).unwrap())
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            "pong hb",
            r#"{"jsonrpc":"2.0","id":"ok","method":"m","result":{"gateway":"gw-raw","params":{}}}"#
        ]
    );
    assert!(connector.status().gateways()[0].is_connected());

    let closing = tokio::spawn(connector.shutdown(Duration::from_secs(1)));
    match tokio::time::timeout(SOON, ws.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason.as_str(), "node shutting down");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    drop(ws);
    closing.await.unwrap();
}

struct Panics;

#[async_trait::async_trait]
impl confidential_relay::gateway::RequestHandler for Panics {
    async fn handle(
        &self,
        _: &str,
        request: confidential_relay::jsonrpc::Request,
    ) -> confidential_relay::jsonrpc::Response {
        panic!("handler bug on {}", request.id);
    }
}

#[tokio::test]
async fn a_panicking_handler_still_gets_one_masked_answer() {
    let key = Arc::new(NodeKey::generate());
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let connector = connect(&key, &gateway, Arc::new(Panics)).await;
    let response = gateway
        .send_to_node(key.address(), request("p"), SOON)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(response.to_vec()).unwrap(),
        r#"{"jsonrpc":"2.0","id":"p","method":"confidential.secrets.get","error":{"code":-32603,"message":"internal error"}}"#
    );
    assert_eq!(connector.status().in_flight(), 0);
    assert!(connector.status().gateways()[0].is_connected());
    connector.shutdown(Duration::from_secs(1)).await;
    gateway.shutdown().await;
}

/// On the wire: during the drain a new request is refused with -32000 at once, the in-flight
/// one is still answered, then the close frame comes.
#[tokio::test]
async fn drain_refuses_new_requests_answers_old_ones_then_closes() {
    let key = Arc::new(NodeKey::generate());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let config = connector_config(&[("gw-raw", url)]);
    let handler = Slow::new(Duration::from_millis(600));
    let connector = Connector::start(config, key.clone(), handler.clone()).unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let mut ws = accept_as_gateway(stream, "gw-raw", [7; 10], key.address()).await;

    ws.send(Message::binary(
        r#"{"jsonrpc":"2.0","id":"old","method":"m","params":{}}"#,
    ))
    .await
    .unwrap();
    let status = connector.status();
    while status.in_flight() < 1 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let closing = tokio::spawn(connector.shutdown(Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws.send(Message::binary(
        r#"{"jsonrpc":"2.0","id":"new","method":"m","params":{}}"#,
    ))
    .await
    .unwrap();
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(SOON, ws.next()).await.unwrap() {
            Some(Ok(Message::Binary(frame))) => {
                seen.push(String::from_utf8(frame.to_vec()).unwrap())
            }
            Some(Ok(Message::Close(frame))) => {
                seen.push(format!("close {}", frame.unwrap().reason));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            r#"{"jsonrpc":"2.0","id":"new","method":"m","error":{"code":-32000,"message":"node is shutting down"}}"#,
            r#"{"jsonrpc":"2.0","id":"old","method":"m","result":{"gateway":"gw-raw","params":{}}}"#,
            "close node shutting down",
        ]
    );
    drop(ws);
    assert_eq!(closing.await.unwrap(), 0);
}
