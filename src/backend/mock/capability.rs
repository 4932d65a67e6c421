//! A mock capability server: per capability id, a configurable [`Behaviour`] (echo, fixed value,
//! error string, delay, hang, ...). Counts calls in flight so tests can observe concurrency limits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::Code;

use super::{ExecuteHandler, Reply};
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse};
use crate::proto::pack;
use crate::proto::values::Value;

/// How the mock answers one capability id.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `payload` = the request's payload, byte for byte.
    Echo,
    /// `value` = the request's `inputs` map (what an old DAG-SDK capability reads).
    EchoInputs,
    /// `payload` = `Any(values.v1.Value)` of this value.
    Value(Value),
    /// `error` = this wire string (e.g. `Public:User:InvalidArgument:bad input`).
    Error(String),
    /// This response, verbatim (oversize payloads, wrong Any types, ...).
    Respond(CapabilityResponse),
    /// The call fails with this gRPC status.
    Status(Code, String),
    /// The stream ends without a message.
    NoMessage,
    /// Waits, then behaves like the inner behaviour.
    Delay(Duration, Box<Behaviour>),
    /// Never answers.
    Hang,
    /// Behaves like the inner behaviour, then keeps the stream open this long before ending it.
    Linger(Duration, Box<Behaviour>),
}

/// The mock capabilities, by id. Unknown ids answer the error `capability not found: <id>`.
#[derive(Debug, Default)]
pub struct MockCapabilities {
    behaviours: BTreeMap<String, Behaviour>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    streams_ended: Arc<AtomicUsize>,
    requests: Mutex<Vec<CapabilityRequest>>,
}

impl MockCapabilities {
    /// No capabilities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the behaviour of `capability_id`.
    pub fn with(mut self, capability_id: &str, behaviour: Behaviour) -> Self {
        self.behaviours.insert(capability_id.to_string(), behaviour);
        self
    }

    /// The requests received, in arrival order.
    pub fn requests(&self) -> Vec<CapabilityRequest> {
        self.requests
            .lock()
            .map(|requests| requests.clone())
            .unwrap_or_default()
    }

    /// The most calls that were in progress at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Response streams the client read to their end (rather than resetting them).
    pub fn streams_ended(&self) -> usize {
        self.streams_ended.load(Ordering::SeqCst)
    }

    /// Calls in progress now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// Decrements the in-flight count when a call ends or is cancelled.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ExecuteHandler for MockCapabilities {
    async fn execute(&self, request: CapabilityRequest) -> Result<Reply, tonic::Status> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = InFlight(&self.in_flight);
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(request.clone());
        }
        let mut behaviour = match self.behaviours.get(&request.capability_id) {
            Some(behaviour) => behaviour.clone(),
            None => Behaviour::Error(format!(
                "Private:System:NotFound:capability not found: {}",
                request.capability_id
            )),
        };
        let mut linger = Duration::ZERO;
        loop {
            let response = match behaviour {
                Behaviour::Delay(delay, inner) => {
                    tokio::time::sleep(delay).await;
                    behaviour = *inner;
                    continue;
                }
                Behaviour::Linger(time, inner) => {
                    linger = time;
                    behaviour = *inner;
                    continue;
                }
                Behaviour::Hang => std::future::pending().await,
                Behaviour::Status(code, message) => {
                    return Err(tonic::Status::new(code, message));
                }
                Behaviour::NoMessage => return Ok(Reply::default()),
                Behaviour::Echo => CapabilityResponse {
                    payload: request.payload,
                    ..Default::default()
                },
                Behaviour::EchoInputs => CapabilityResponse {
                    value: request.inputs,
                    ..Default::default()
                },
                Behaviour::Value(value) => CapabilityResponse {
                    payload: Some(pack(&value)),
                    ..Default::default()
                },
                Behaviour::Error(error) => CapabilityResponse {
                    error,
                    ..Default::default()
                },
                Behaviour::Respond(response) => response,
            };
            return Ok(Reply {
                messages: vec![response],
                linger,
                ended: Some(self.streams_ended.clone()),
            });
        }
    }
}
