//! Reconnect over real sockets with a short backoff (50 ms .. 200 ms): the dev gateway is
//! stopped and restarted on the same port; dial attempts while it is down are counted and must
//! follow the backoff; a gateway that closes right after the handshake does not cause a tight
//! reconnect loop.

mod gateway_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use confidential_relay::gateway::{Connector, NodeKey};
use gateway_support::*;

const DOWN_FOR: Duration = Duration::from_millis(1_000);

#[tokio::test]
async fn connector_serves_again_after_the_gateway_restarts() {
    let key = Arc::new(NodeKey::generate());
    let first = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let connector = connect(&key, &first, Arc::new(Echo)).await;
    let status = connector.status();
    let gateway = status.gateway("gw-1").unwrap().clone();
    // Serve longer than stable_after (100 ms) so the loss resets the backoff.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = first.node_addr();
    let before = gateway.snapshot();
    assert_eq!(
        (
            before.dial_attempts,
            before.connects,
            before.failed_attempts
        ),
        (1, 1, 0)
    );

    first.shutdown().await;
    let mut connected = gateway.watch_connected();
    tokio::time::timeout(SOON, connected.wait_for(|up| !*up))
        .await
        .unwrap()
        .unwrap();
    let lost_at = Instant::now();
    tokio::time::sleep(DOWN_FOR).await;
    let down = gateway.snapshot();
    let down_for = lost_at.elapsed();
    let refused = down.dial_attempts - 1;
    assert_eq!(
        down.failed_attempts, refused,
        "every dial while down fails: {down:?}"
    );
    assert!(
        down.last_error
            .as_deref()
            .unwrap()
            .starts_with("connection failed: "),
        "{down:?}"
    );
    // Delays are uniform in [50 ms, min(50 ms * 2^n, 200 ms)]: at most one dial per 50 ms, at
    // least one per 200 ms (+ slack for a slow machine).
    let most = (down_for.as_millis() / 50 + 1) as u64;
    let least = (DOWN_FOR.as_millis() / 200 / 2) as u64;
    assert!(
        (least..=most).contains(&refused),
        "{refused} dials in {down_for:?}, expected {least}..={most}"
    );

    let mut config = dev_config("gw-1", 0, &[key.address()]);
    config.node_listen = addr;
    let second = dev(config).await;
    let restarted = Instant::now();
    assert!(connector.await_connected("gw-1", SOON).await);
    let back_after = restarted.elapsed();
    assert!(
        back_after < Duration::from_secs(3),
        "reconnect must come within the 200 ms backoff bound: {back_after:?}"
    );
    assert!(second.wait_for_node(key.address(), SOON).await);
    let (code, body) = second
        .call(&user_body("again", serde_json::json!({})))
        .await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let after = gateway.snapshot();
    assert_eq!(after.connects, 2);
    assert_eq!(status.reconnects(), 1);
    connector.shutdown(Duration::from_secs(1)).await;
    second.shutdown().await;
}

/// A gateway that completes every handshake and closes the socket at once.
#[tokio::test]
async fn close_right_after_handshake_counts_as_a_failed_attempt() {
    let key = Arc::new(NodeKey::generate());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let config = connector_config(&[("gw-flaky", url)]);
    let connector = Connector::start(config, key.clone(), Arc::new(Echo)).unwrap();
    let mut accepted_at = Vec::new();
    for _ in 0..5 {
        let (stream, _) = tokio::time::timeout(SOON, listener.accept())
            .await
            .unwrap()
            .unwrap();
        accepted_at.push(Instant::now());
        let ws = accept_as_gateway(stream, "gw-flaky", [1; 10], key.address()).await;
        drop(ws);
    }
    let snapshot = connector.status().gateways()[0].snapshot();
    assert!(snapshot.connects >= 4, "{snapshot:?}");
    assert!(
        snapshot.failed_attempts >= 4,
        "short-lived links are failures: {snapshot:?}"
    );
    assert!(
        snapshot
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("link closed before it was stable: "),
        "{snapshot:?}"
    );
    // No tight loop: every redial waits at least the 50 ms minimum backoff.
    let gaps: Vec<Duration> = accepted_at
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .collect();
    assert!(
        gaps.iter().all(|gap| *gap >= Duration::from_millis(50)),
        "{gaps:?}"
    );
    connector.shutdown(Duration::from_millis(100)).await;
}
