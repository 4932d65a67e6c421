//! End to end with a relay the stack does not run: the DON has a member the caller starts
//! itself (as a service test does with the real service), built from the stack's pieces
//! (gateway URL, trust root, backends config). Also: an enclave image with other PCRs is
//! refused by the whole DON with `pcr_mismatch`.

use std::sync::Arc;
use std::time::Duration;

use confidential_relay::attestation::{NitroVerifier, PcrSet, Policy, SystemClock};
use confidential_relay::backend::GrpcBackends;
use confidential_relay::demo::enclave::CheckError;
use confidential_relay::demo::stack::{DEMO_DON_ID, DEMO_GATEWAY_ID, DEMO_PCRS, successes};
use confidential_relay::demo::{CallKind, DemoStack, StackOptions, drive};
use confidential_relay::gateway::{Connector, ConnectorConfig, GatewayEntry, NodeKey};
use confidential_relay::relay::{Relay, RelayConfig};
use confidential_relay::service::metrics::Metrics;
use confidential_relay::service::observe::ObservedHandler;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_member_joins_the_stack_and_serves() {
    let key = Arc::new(NodeKey::generate());
    let options = StackOptions {
        nodes: 3,
        external_members: vec![key.address()],
        ..StackOptions::default()
    };
    let stack = DemoStack::start(options).await.unwrap();
    assert_eq!(stack.node_addresses().len(), 3);
    assert_eq!(stack.gateway().unwrap().members().len(), 4);

    // The external relay, configured the way an operator would configure the service.
    let policy = Policy::new(vec![PcrSet::new(DEMO_PCRS[0], DEMO_PCRS[1], DEMO_PCRS[2])]).unwrap();
    let root = stack.attestor().trust_root().unwrap();
    let verifier = Arc::new(NitroVerifier::new(policy, root, Arc::new(SystemClock)));
    let backends = Arc::new(GrpcBackends::from_config(&stack.backends_config()).unwrap());
    let relay = Relay::new(RelayConfig::default(), verifier, backends.clone(), backends);
    let metrics = Arc::new(Metrics::new());
    let handler = Arc::new(ObservedHandler::new(Arc::new(relay), metrics.clone()));
    let gateways = vec![GatewayEntry {
        id: DEMO_GATEWAY_ID.to_owned(),
        url: stack.node_url(),
    }];
    let config = ConnectorConfig::new(DEMO_DON_ID, gateways).unwrap();
    let connector = Connector::start(config, key, handler).unwrap();
    stack.wait_for_nodes(4).await.unwrap();

    let enclave = Arc::new(stack.enclave().unwrap());
    let run = drive(enclave, "ext", 6, 2, None).await;
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    // Give the external node's last answer time to be recorded, then check it served.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        successes(&metrics) >= 1,
        "the external member served nothing"
    );

    // Another enclave image: every member refuses it, so the gateway returns the user error.
    let stranger = stack.enclave_with_pcrs([[0x42; 48]; 3]).unwrap();
    let err = stranger
        .call("stranger", CallKind::Capability)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CheckError::Refused {
            status: 400,
            code: -32602,
            message: "attestation rejected: pcr_mismatch".into()
        }
    );
    connector.shutdown(Duration::from_millis(200)).await;
    stack.shutdown().await;
}
