//! Round trips through a real link (dev gateway → websocket → connector → handler → back),
//! many in flight at once; every response must match its request. Prints the rate and the
//! time from `Connector::start` to connected (run with `--nocapture` to see them).

mod gateway_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use confidential_relay::gateway::{Connector, NodeKey};
use futures_util::StreamExt;
use gateway_support::*;

const REQUESTS: usize = 2_000;
const CONCURRENCY: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_match_and_rate_is_reported() {
    let key = Arc::new(NodeKey::generate());
    let gateway = dev(dev_config("gw-1", 0, &[key.address()])).await;
    let started = Instant::now();
    let config = connector_config(&[("gw-1", gateway.node_url())]);
    let connector = Connector::start(config, key.clone(), Arc::new(Echo)).unwrap();
    assert!(connector.await_connected("gw-1", SOON).await);
    let connect_time = started.elapsed();
    assert!(gateway.wait_for_node(key.address(), SOON).await);

    let node = key.address();
    let started = Instant::now();
    let answered = futures_util::stream::iter(0..REQUESTS)
        .map(|i| {
            let gateway = &gateway;
            async move {
                let id = format!("t{i}");
                let response = gateway
                    .send_to_node(node, request(&id), SOON)
                    .await
                    .unwrap();
                assert_eq!(response.id, id);
                let result: serde_json::Value =
                    serde_json::from_str(response.result().unwrap().get()).unwrap();
                assert_eq!(result["params"]["n"], id.as_str());
            }
        })
        .buffer_unordered(CONCURRENCY)
        .count()
        .await;
    let elapsed = started.elapsed();
    assert_eq!(answered, REQUESTS);
    println!(
        "connect {connect_time:?}; {REQUESTS} round trips at concurrency {CONCURRENCY} in {elapsed:?} = {:.0}/s",
        REQUESTS as f64 / elapsed.as_secs_f64()
    );
    connector.shutdown(Duration::from_secs(1)).await;
    gateway.shutdown().await;
}
