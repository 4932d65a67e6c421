//! `confidential-relay run` as an operator runs it: a real child process beside a dev gateway
//! and mock backends, driven through the gateway and observed through its admin server and
//! signals.

mod service_support;

use std::time::Duration;

use confidential_relay::backend::mock::capability::Behaviour;
use service_support::{Harness, capability_params, pcrs, secrets_params};

const SECRETS: &str = "confidential.secrets.get";
const CAPABILITY: &str = "confidential.capability.execute";

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

fn metric_line<'a>(metrics: &'a str, prefix: &str) -> Option<&'a str> {
    metrics.lines().find(|line| line.starts_with(prefix))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_requests_sent_and_the_node_is_ready() {
    let trusted = pcrs(0x10);
    let h = Harness::start("metrics", trusted, vec![("echo@1.0.0", Behaviour::Echo)]).await;
    assert_eq!(h.admin_get("/health").await, (200, "ok\n".to_owned()));
    assert_eq!(h.admin_get("/ready").await, (200, "ready\n".to_owned()));

    for i in 0..3 {
        let (status, body) = h
            .gateway
            .call(&h.request_body(
                &format!("s{i}"),
                SECRETS,
                &secrets_params("API_KEY"),
                trusted,
            ))
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let result = &json(&body)["result"]["responses"][0]["secrets"][0];
        assert_eq!(
            result["id"],
            serde_json::json!({"key": "API_KEY", "namespace": "main"})
        );
        assert_eq!(result["encrypted_shares"].as_array().unwrap().len(), 4);
    }
    for i in 0..2 {
        let (status, body) = h
            .gateway
            .call(&h.request_body(
                &format!("c{i}"),
                CAPABILITY,
                &capability_params("echo@1.0.0"),
                trusted,
            ))
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    let (status, body) = h
        .gateway
        .call(&h.request_body("bad", SECRETS, &secrets_params("API_KEY"), pcrs(0x60)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        json(&body)["error"],
        serde_json::json!({"code": -32602, "message": "attestation rejected: pcr_mismatch"})
    );

    let (status, metrics) = h.admin_get("/metrics").await;
    assert_eq!(status, 200);
    for (prefix, value) in [
        (
            r#"relay_requests_total{method="confidential.secrets.get",outcome="success",code="0"}"#,
            "3",
        ),
        (
            r#"relay_requests_total{method="confidential.capability.execute",outcome="success",code="0"}"#,
            "2",
        ),
        (
            r#"relay_requests_total{method="confidential.secrets.get",outcome="error",code="-32602"}"#,
            "1",
        ),
        (
            r#"relay_attestation_rejections_total{reason="pcr_mismatch"}"#,
            "1",
        ),
        (
            r#"relay_request_latency_seconds_count{method="confidential.secrets.get"}"#,
            "4",
        ),
        (r#"relay_attestation_verify_latency_seconds_count"#, "6"),
        (
            r#"relay_backend_latency_seconds_count{backend="vault@1.0.0"}"#,
            "3",
        ),
        (
            r#"relay_backend_latency_seconds_count{backend="default"}"#,
            "2",
        ),
        (r#"relay_gateway_connected{gateway="gateway-test"}"#, "1"),
        (
            r#"relay_gateway_connects_total{gateway="gateway-test"}"#,
            "1",
        ),
        (r#"relay_in_flight"#, "0"),
    ] {
        let line =
            metric_line(&metrics, prefix).unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"));
        assert_eq!(line.rsplit(' ').next(), Some(value), "{line}");
    }
    // One miss (the first document's chain), then hits for the same chain.
    assert_eq!(
        metric_line(&metrics, "relay_attestation_chain_cache_misses_total")
            .unwrap()
            .rsplit(' ')
            .next(),
        Some("1")
    );
    assert_eq!(
        metric_line(&metrics, "relay_attestation_chain_cache_hits_total")
            .unwrap()
            .rsplit(' ')
            .next(),
        Some("5")
    );
    assert!(!metrics.contains(service_support::NODE_KEY_HEX));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_trusts_a_new_pcr_set_without_reconnecting() {
    let old = pcrs(0x10);
    let new = pcrs(0x40);
    let h = Harness::start("sighup", old, vec![]).await;
    let body = |id: &str| h.request_body(id, SECRETS, &secrets_params("API_KEY"), new);
    let (status, answer) = h.gateway.call(&body("before")).await;
    assert_eq!(
        (status, json(&answer)["error"]["message"].clone()),
        (400, "attestation rejected: pcr_mismatch".into())
    );

    // An invalid new file is refused and the old policy stays.
    std::fs::write(h.config_path(), "this is not toml [").unwrap();
    h.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = h
        .gateway
        .call(&h.request_body("old-still", SECRETS, &secrets_params("API_KEY"), old))
        .await;
    assert_eq!(status, 200);

    h.write_config(new);
    h.signal("HUP");
    let mut accepted = false;
    for attempt in 0..50 {
        let (status, _) = h.gateway.call(&body(&format!("after-{attempt}"))).await;
        if status == 200 {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(accepted, "the new PCR set was not applied");
    let (_, metrics) = h.admin_get("/metrics").await;
    let connects = metric_line(
        &metrics,
        r#"relay_gateway_connects_total{gateway="gateway-test"}"#,
    )
    .unwrap();
    assert!(
        connects.ends_with(" 1"),
        "the gateway link was re-established: {connects}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_in_flight_requests_before_exit() {
    let trusted = pcrs(0x10);
    let slow = Behaviour::Delay(Duration::from_millis(1500), Box::new(Behaviour::Echo));
    let mut h = Harness::start("sigterm", trusted, vec![("slow@1.0.0", slow)]).await;
    let mut calls = Vec::new();
    for i in 0..3 {
        let body = h.request_body(
            &format!("slow-{i}"),
            CAPABILITY,
            &capability_params("slow@1.0.0"),
            trusted,
        );
        let url = format!("http://{}/", h.gateway.http_addr());
        calls.push(tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(url)
                .body(body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.bytes().await.unwrap().to_vec(),
            )
        }));
    }
    let mut started = false;
    for _ in 0..100 {
        if h.backends.capabilities.in_flight() == 3 {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started, "requests did not reach the backend");
    h.signal("TERM");
    for call in calls {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        // The sdk request carries no payload, so the echo is an empty response: `{}`.
        assert_eq!(json(&body)["result"]["responses"], serde_json::json!([{}]));
    }
    assert_eq!(h.wait_exit(Duration::from_secs(10)).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_connected_gateway_the_node_is_alive_but_not_ready() {
    let dir = std::env::temp_dir().join(format!("relay-unready-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("node.key"), service_support::NODE_KEY_HEX).unwrap();
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // Port 9 (discard) on loopback: nothing listens, so every dial is refused.
    let config = format!(
        r#"[node]
key_file = "node.key"
[attestation]
trusted_pcrs = [{}]
[gateway]
don_id = "relay_don"
[[gateway.gateways]]
id = "gw"
url = "ws://127.0.0.1:9/"
[backends]
default_endpoint = "http://127.0.0.1:9"
[admin]
listen = "{admin}"
"#,
        service_support::pcrs_toml(pcrs(0x10))
    );
    std::fs::write(dir.join("relay.toml"), config).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
        .args(["run", "--config"])
        .arg(dir.join("relay.toml"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut health = None;
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("http://{admin}/health")).send().await {
            health = Some(response.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = client
        .get(format!("http://{admin}/ready"))
        .send()
        .await
        .unwrap();
    let status = ready.status().as_u16();
    let body = ready.text().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(health, Some(200));
    assert_eq!(
        (status, body.as_str()),
        (503, "not ready: no gateway connected\n")
    );
}
