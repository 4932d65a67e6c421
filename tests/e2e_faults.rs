//! End to end over real loopback sockets, with faults: a relay node killed in the middle of a
//! run (the gateway keeps answering from the other three), and the dev gateway restarted (the
//! relays reconnect on their own and serve again).

use std::sync::Arc;
use std::time::{Duration, Instant};

use confidential_relay::demo::{DemoStack, StackOptions, drive};

/// Generous bound for "soon" on a slow, shared 2-core box.
const SOON: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_run_leaves_the_other_three_serving() {
    let mut stack = DemoStack::start(StackOptions::default()).await.unwrap();
    let enclave = Arc::new(stack.enclave().unwrap());
    let run = tokio::spawn(drive(enclave.clone(), "kill", 24, 3, None));
    // Kill node 0 once the run is under way.
    let started = Instant::now();
    while stack.node_successes()[0] < 4 {
        assert!(started.elapsed() < SOON, "run did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stack.kill_node(0).await.unwrap();
    assert!(stack.wait_for_nodes(3).await.is_ok());
    let run = run.await.unwrap();
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    assert_eq!(run.summary.ok, 24);
    // A request node 0 was handling when killed may still finish inside it (its answer is
    // never sent); let those settle before taking the count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let served_by_killed = stack.node_successes()[0];
    assert!(
        served_by_killed < 24,
        "node 0 was killed before the run ended"
    );

    // After the kill, requests are answered by exactly the three others.
    let after = drive(enclave, "after-kill", 6, 3, None).await;
    assert!(after.failures.is_empty(), "{:?}", after.failures);
    assert_eq!(stack.node_successes()[0], served_by_killed);
    assert_eq!(stack.running_nodes(), 3);
    assert_eq!(stack.gateway().unwrap().connected_nodes().len(), 3);
    assert!(stack.kill_node(0).await.is_err(), "already killed");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_reconnect_to_a_restarted_gateway_and_serve_again() {
    let mut stack = DemoStack::start(StackOptions::default()).await.unwrap();
    let enclave = Arc::new(stack.enclave().unwrap());
    let before = drive(enclave.clone(), "before", 4, 2, None).await;
    assert!(before.failures.is_empty(), "{:?}", before.failures);
    assert_eq!(stack.node_reconnects(), vec![Some(0); 4]);
    let url = stack.http_url();

    stack.restart_gateway().await.unwrap();
    assert_eq!(stack.http_url(), url, "same port after the restart");
    assert_eq!(stack.gateway().unwrap().connected_nodes().len(), 4);
    // Each node's link counted its reconnect (it may need a second try if it dialled while
    // the gateway was down).
    let reconnects = stack.node_reconnects();
    assert!(
        reconnects.iter().all(|r| r.is_some_and(|n| n >= 1)),
        "{reconnects:?}"
    );
    let after = drive(enclave, "after", 6, 3, None).await;
    assert!(after.failures.is_empty(), "{:?}", after.failures);
    assert_eq!(after.summary.ok, 6);
    stack.shutdown().await;
}
