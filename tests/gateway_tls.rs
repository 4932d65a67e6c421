//! `wss://`: the dev gateway serves TLS with a self-signed `localhost` certificate; the
//! connector trusts it only through `tls_ca_file`.

mod gateway_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use confidential_relay::gateway::{Connector, NodeKey, StartError};
use gateway_support::*;

/// Writes a fresh self-signed `localhost` certificate and key; returns (cert, key) paths.
fn self_signed(tag: &str) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[tokio::test]
async fn wss_link_with_a_private_ca_serves_requests() {
    let (cert, key_file) = self_signed("ok");
    let key = Arc::new(NodeKey::generate());
    let mut config = dev_config("gw-tls", 0, &[key.address()]);
    config.tls = Some((cert.clone(), key_file));
    let gateway = dev(config).await;
    assert!(gateway.node_url().starts_with("wss://localhost:"));

    let mut trusting = connector_config(&[("gw-tls", gateway.node_url())]);
    trusting.tls_ca_file = Some(cert.clone());
    let connector = Connector::start(trusting, key.clone(), Arc::new(Echo)).unwrap();
    assert!(connector.await_connected("gw-tls", SOON).await);
    assert!(gateway.wait_for_node(key.address(), SOON).await);
    let (status, body) = gateway.call(&user_body("t1", serde_json::json!({}))).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    connector.shutdown(Duration::from_secs(1)).await;

    // Without the CA the certificate is refused and the link never comes up.
    let untrusting = connector_config(&[("gw-tls", gateway.node_url())]);
    let connector = Connector::start(untrusting, key.clone(), Arc::new(Echo)).unwrap();
    let status = connector.status();
    let deadline = tokio::time::Instant::now() + SOON;
    let snapshot = loop {
        let snapshot = status.gateways()[0].snapshot();
        if snapshot.failed_attempts > 0 {
            break snapshot;
        }
        assert!(tokio::time::Instant::now() < deadline, "{snapshot:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(snapshot.connects, 0);
    let error = snapshot.last_error.unwrap();
    assert!(
        error.starts_with("connection failed: ") && error.contains("UnknownIssuer"),
        "{error}"
    );
    connector.shutdown(Duration::from_secs(1)).await;
    gateway.shutdown().await;
    std::fs::remove_dir_all(cert.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn unreadable_ca_file_stops_the_start() {
    let mut config = connector_config(&[("gw", "wss://localhost:1/".to_owned())]);
    config.tls_ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
    let err = Connector::start(config, Arc::new(NodeKey::generate()), Arc::new(Echo))
        .err()
        .unwrap();
    assert!(matches!(err, StartError::Tls(_)));
    assert!(
        err.to_string()
            .starts_with("gateway connector TLS: tls_ca_file /nonexistent/ca.pem: "),
        "{err}"
    );
}
