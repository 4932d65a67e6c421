//! End to end over real loopback sockets: the demo stack (dev gateway, 4 relay nodes with
//! F = 1, mock vault and capability) serves a CI-sized run with every answer verified by the
//! synthetic enclave; bad requests are refused with their exact reasons; and the enclave's
//! checks do catch wrong answers.

use std::sync::Arc;

use confidential_relay::demo::enclave::{CheckError, Tamper};
use confidential_relay::demo::{CallKind, DemoStack, StackOptions, drive};

/// Good requests per test: enough for both methods and concurrency, small for a slow box.
const REQUESTS: usize = 12;
const CONCURRENCY: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_verified_end_to_end() {
    let stack = DemoStack::start(StackOptions::default()).await.unwrap();
    assert_eq!(stack.gateway().unwrap().connected_nodes().len(), 4);
    let enclave = Arc::new(stack.enclave().unwrap());
    let run = drive(enclave, "e2e", REQUESTS, CONCURRENCY, None).await;
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    assert_eq!(
        (run.summary.requests, run.summary.ok, run.summary.failed),
        (REQUESTS, REQUESTS, 0)
    );
    assert_eq!(run.summary.latencies.len(), REQUESTS);
    // The gateway forwards at 2F+1 = 3 results, so at least 3 nodes served each request.
    let served = stack.node_successes();
    assert!(served.iter().all(|n| *n <= REQUESTS as u64), "{served:?}");
    assert!(
        served.iter().sum::<u64>() >= 3 * REQUESTS as u64,
        "{served:?}"
    );
    // Every node asked the vault itself (6 secrets requests), and the capability server
    // echoed every capability request (6).
    assert!(stack.vault().requests().len() >= 3 * REQUESTS / 2);
    assert!(stack.capabilities().requests().len() >= 3 * REQUESTS / 2);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_their_reason() {
    let stack = DemoStack::start(StackOptions::default()).await.unwrap();
    let enclave = stack.enclave().unwrap();
    let cases = [
        (CallKind::Secrets, Tamper::BadSignature),
        (CallKind::Capability, Tamper::BadSignature),
        (CallKind::Secrets, Tamper::WrongPcrs),
        (CallKind::Capability, Tamper::WrongPcrs),
    ];
    for (index, (kind, tamper)) in cases.into_iter().enumerate() {
        let prepared = enclave
            .prepare(&format!("bad-{index}"), kind, tamper)
            .unwrap();
        let (status, body) = enclave.send(&prepared).await.unwrap();
        let reason = match tamper {
            Tamper::BadSignature => "bad_signature",
            _ => "pcr_mismatch",
        };
        assert_eq!(status, 400, "{kind:?} {tamper:?}");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            format!(
                r#"{{"jsonrpc":"2.0","id":"bad-{index}","method":"{}","error":{{"code":-32602,"message":"attestation rejected: {reason}"}}}}"#,
                kind.method()
            )
        );
    }
    let message = enclave
        .expect_refusal("bad-owner", CallKind::Secrets, Tamper::BadOwner)
        .await
        .unwrap();
    assert_eq!(
        message,
        r#"invalid owner address: "0xnot-an-address" (want 40 hex digits, optionally 0x-prefixed)"#
    );
    // A good request is not a refusal: expect_refusal reports it as unexpected.
    let good = enclave
        .prepare("good", CallKind::Secrets, Tamper::None)
        .unwrap();
    let (status, body) = enclave.send(&good).await.unwrap();
    assert_eq!(status, 200);
    let err = enclave
        .check_refusal(Tamper::WrongPcrs, status, &body)
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::UnexpectedAnswer { expected, got }
            if expected == "attestation rejected: pcr_mismatch" && got.starts_with("HTTP 200 success")),
        "{err}"
    );
    // No bad request reached a backend; the good one did.
    assert_eq!(stack.capabilities().requests().len(), 0);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enclave_checks_catch_wrong_answers() {
    let stack = DemoStack::start(StackOptions::default()).await.unwrap();
    let enclave = stack.enclave().unwrap();
    let secrets = enclave
        .prepare("w-1", CallKind::Secrets, Tamper::None)
        .unwrap();
    let (status, body) = enclave.send(&secrets).await.unwrap();
    enclave.check(&secrets, status, &body).unwrap();

    // Another enclave (other X25519 key) cannot open these shares.
    let other = stack.enclave().unwrap();
    let err = other.check(&secrets, status, &body).unwrap_err();
    assert_eq!(
        err,
        CheckError::Secrets("main/api_key: share 0 does not open with the enclave key".into())
    );

    // One node result alone is no quorum for F = 1.
    let mut answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let responses = answer["result"]["responses"].as_array_mut().unwrap();
    assert!(responses.len() >= 3, "{responses:?}");
    responses.truncate(1);
    let single = serde_json::to_vec(&answer).unwrap();
    let err = enclave.check(&secrets, status, &single).unwrap_err();
    assert_eq!(
        err,
        CheckError::NoQuorum {
            need: 2,
            largest: 1,
            total: 1
        }
    );

    // A capability answer checked against another echo value fails.
    let capability = enclave
        .prepare("w-2", CallKind::Capability, Tamper::None)
        .unwrap();
    let (status, body) = enclave.send(&capability).await.unwrap();
    enclave.check(&capability, status, &body).unwrap();
    let mut wrong = capability.clone();
    wrong.echo = "echo w-3".into();
    let err = enclave.check(&wrong, status, &body).unwrap_err();
    assert_eq!(
        err,
        CheckError::Capability(r#"echoed Some(StringValue("echo w-2")), sent "echo w-3""#.into())
    );
    stack.shutdown().await;
}
