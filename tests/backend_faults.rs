//! Fault behaviour against real loopback servers: a backend that is down, hangs, answers too
//! much, answers garbage or no message gives a clear error within its deadline, without
//! affecting other backends; the per-backend concurrency limit holds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use confidential_relay::backend::mock::capability::{Behaviour, MockCapabilities};
use confidential_relay::backend::mock::serve_tcp;
use confidential_relay::backend::{
    BackendError, BackendsConfig, CapabilityBackend, GrpcBackends, VaultBackend,
};
use confidential_relay::proto::capabilities::{
    CapabilityRequest, CapabilityResponse, RequestMetadata,
};
use confidential_relay::proto::vault::GetSecretsRequest;
use tokio::io::AsyncWriteExt;

/// Generous bound for "answered promptly" on a slow shared CI box.
const PROMPT: Duration = Duration::from_secs(3);

fn backends(section: &str) -> Arc<GrpcBackends> {
    let config: BackendsConfig = toml::from_str(section).expect("test config parses");
    Arc::new(GrpcBackends::from_config(&config).expect("test config is valid"))
}

fn request(id: &str) -> CapabilityRequest {
    CapabilityRequest {
        capability_id: id.into(),
        payload: Some(prost_types::Any {
            type_url: "type.googleapis.com/x.Y".into(),
            value: b"ping".to_vec(),
        }),
        ..Default::default()
    }
}

async fn unused_port_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

#[tokio::test]
async fn connection_refused_is_unavailable_within_connect_timeout() {
    let endpoint = unused_port_endpoint().await;
    let client = backends(&format!(
        "connect_timeout_ms = 2000\ndeadline_ms = 20000\ndefault_endpoint = {endpoint:?}\n"
    ));
    let started = Instant::now();
    let err = client.execute(request("down@1.0.0")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    let BackendError::Unavailable(text) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(text.contains("Connection refused"), "{text}");
    assert!(
        err.to_string().starts_with("backend unavailable: "),
        "{err}"
    );

    // The vault path too, and a missing unix socket.
    let client = backends(
        "connect_timeout_ms = 2000\n[vault]\nendpoint = \"unix:///nonexistent/relay-test.sock\"\n",
    );
    let err = client
        .get_secrets(RequestMetadata::default(), GetSecretsRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::Unavailable(_)), "{err:?}");
    let stats = client.stats();
    assert_eq!((stats[0].calls, stats[0].errors), (1, 1));
}

#[tokio::test]
async fn hanging_backend_hits_its_deadline_while_others_answer() {
    let slow = serve_tcp(Arc::new(
        MockCapabilities::new()
            .with("hang@1.0.0", Behaviour::Hang)
            .with("sibling@1.0.0", Behaviour::Echo),
    ))
    .await
    .unwrap();
    let fast = serve_tcp(Arc::new(
        MockCapabilities::new().with("fast@1.0.0", Behaviour::Echo),
    ))
    .await
    .unwrap();
    let client = backends(&format!(
        "deadline_ms = 5000\n\
         default_endpoint = {:?}\n\
         [capabilities.\"hang@1.0.0\"]\nendpoint = {:?}\ndeadline_ms = 700\n\
         [capabilities.\"sibling@1.0.0\"]\nendpoint = {:?}\n",
        fast.endpoint(),
        slow.endpoint(),
        slow.endpoint()
    ));
    let started = Instant::now();
    let hanging = tokio::spawn({
        let client = client.clone();
        async move { client.execute(request("hang@1.0.0")).await }
    });
    // While it hangs: the other backend, and another id on the same channel, still answer.
    for id in ["fast@1.0.0", "sibling@1.0.0", "fast@1.0.0"] {
        let answer = client.execute(request(id)).await.unwrap();
        assert_eq!(answer.payload, request(id).payload, "{id}");
    }
    assert!(!hanging.is_finished(), "the hanging call ended early");
    let result = hanging.await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        result,
        Err(BackendError::DeadlineExceeded(Duration::from_millis(700)))
    );
    assert!(
        elapsed >= Duration::from_millis(700) && elapsed < Duration::from_millis(700) + PROMPT,
        "took {elapsed:?}"
    );
    assert_eq!(
        BackendError::DeadlineExceeded(Duration::from_millis(700)).to_string(),
        "backend deadline of 700ms exceeded"
    );
}

#[tokio::test]
async fn oversize_response_is_rejected_and_the_channel_keeps_working() {
    let big = CapabilityResponse {
        payload: Some(prost_types::Any {
            type_url: "type.googleapis.com/x.Big".into(),
            value: vec![7u8; 200 * 1024],
        }),
        ..Default::default()
    };
    let server = serve_tcp(Arc::new(
        MockCapabilities::new()
            .with("big@1.0.0", Behaviour::Respond(big))
            .with("small@1.0.0", Behaviour::Echo),
    ))
    .await
    .unwrap();
    let client = backends(&format!(
        "max_decode_bytes = 65536\ndefault_endpoint = {:?}\n",
        server.endpoint()
    ));
    let err = client.execute(request("big@1.0.0")).await.unwrap_err();
    let BackendError::Decode(text) = &err else {
        panic!("expected Decode, got {err:?}");
    };
    assert!(text.contains("decoded message length too large"), "{text}");
    assert!(text.contains("65536"), "{text}");
    assert!(client.execute(request("small@1.0.0")).await.is_ok());
}

#[tokio::test]
async fn empty_stream_status_and_bad_vault_payload_are_clear_errors() {
    let vault_garbage = CapabilityResponse {
        payload: Some(prost_types::Any {
            type_url: "type.googleapis.com/vault.GetSecretsResponse".into(),
            value: vec![0x0a, 0x05, 0x01],
        }),
        ..Default::default()
    };
    let server = serve_tcp(Arc::new(
        MockCapabilities::new()
            .with("empty@1.0.0", Behaviour::NoMessage)
            .with(
                "status@1.0.0",
                Behaviour::Status(tonic::Code::Unimplemented, "nope".into()),
            )
            .with("vault@1.0.0", Behaviour::Respond(vault_garbage)),
    ))
    .await
    .unwrap();
    let client = backends(&format!("default_endpoint = {:?}\n", server.endpoint()));
    assert_eq!(
        client.execute(request("empty@1.0.0")).await,
        Err(BackendError::Decode(
            "the response stream ended without a message".into()
        ))
    );
    assert_eq!(
        client.execute(request("status@1.0.0")).await,
        Err(BackendError::Status {
            code: "Unimplemented".into(),
            message: "nope".into()
        })
    );
    let err = client
        .get_secrets(RequestMetadata::default(), GetSecretsRequest::default())
        .await
        .unwrap_err();
    let BackendError::Decode(text) = &err else {
        panic!("expected Decode, got {err:?}");
    };
    assert!(
        text.starts_with(
            "failed to unmarshal vault response: invalid vault.GetSecretsResponse bytes: "
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_server_speaking_garbage_fails_within_the_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let garbage = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\nnot grpc")
                .await;
        }
    });
    let client = backends(&format!(
        "deadline_ms = 2000\ndefault_endpoint = {endpoint:?}\n"
    ));
    let started = Instant::now();
    let err = client.execute(request("x@1.0.0")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(2000) + PROMPT);
    assert!(
        matches!(
            err,
            BackendError::Unavailable(_) | BackendError::DeadlineExceeded(_)
        ),
        "{err:?}"
    );
    garbage.abort();
}

#[tokio::test]
async fn concurrency_limit_is_respected_with_a_slow_backend() {
    let slow = Arc::new(MockCapabilities::new().with(
        "slow@1.0.0",
        Behaviour::Delay(Duration::from_millis(300), Box::new(Behaviour::Echo)),
    ));
    let server = serve_tcp(slow.clone()).await.unwrap();
    let client = backends(&format!(
        "[vault]\nendpoint = {0:?}\n[capabilities.\"slow@1.0.0\"]\nendpoint = {0:?}\nmax_concurrency = 2\n",
        server.endpoint()
    ));
    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.execute(request("slow@1.0.0")).await })
        })
        .collect();
    for call in calls {
        assert!(call.await.unwrap().is_ok());
    }
    let elapsed = started.elapsed();
    assert_eq!(slow.max_in_flight(), 2);
    assert_eq!(slow.requests().len(), 6);
    // Three waves of two 300 ms calls.
    assert!(elapsed >= Duration::from_millis(900), "took {elapsed:?}");
}

#[tokio::test]
async fn the_deadline_covers_waiting_for_a_slot() {
    let hang = Arc::new(MockCapabilities::new().with("hang@1.0.0", Behaviour::Hang));
    let server = serve_tcp(hang.clone()).await.unwrap();
    let client = backends(&format!(
        "[vault]\nendpoint = {0:?}\n[capabilities.\"hang@1.0.0\"]\nendpoint = {0:?}\nmax_concurrency = 1\ndeadline_ms = 1500\n",
        server.endpoint()
    ));
    let deadline = Duration::from_millis(1500);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.execute(request("hang@1.0.0")).await }
    });
    tokio::time::sleep(Duration::from_millis(750)).await;
    // The second call waits ~750 ms for the slot, then has only the rest of its deadline.
    let started = Instant::now();
    let second = client.execute(request("hang@1.0.0")).await;
    let elapsed = started.elapsed();
    assert_eq!(second, Err(BackendError::DeadlineExceeded(deadline)));
    assert_eq!(
        first.await.unwrap(),
        Err(BackendError::DeadlineExceeded(deadline))
    );
    assert!(
        elapsed >= deadline && elapsed < Duration::from_millis(2100),
        "took {elapsed:?}: the wait for a slot must count against the deadline"
    );
    // Never two calls at the backend at once; the second reached it only after the first left.
    assert_eq!(hang.max_in_flight(), 1);
    assert_eq!(hang.requests().len(), 2);
}
