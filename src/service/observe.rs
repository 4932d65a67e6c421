//! Decorators that observe each stage without changing it: the request log line and request
//! metrics around the relay, latency and rejections around the verifier, latency and errors
//! around the backends.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::metrics::Metrics;
use crate::attestation::{AttestationVerifier, Rejection};
use crate::backend::{BackendError, CapabilityBackend, VaultBackend};
use crate::gateway::RequestHandler;
use crate::jsonrpc::{Request, Response};
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse, RequestMetadata};
use crate::proto::vault::{GetSecretsRequest, GetSecretsResponse};

/// Longest request id or method written to a log line; both come from the gateway.
const MAX_LOGGED_CHARS: usize = 200;

/// Logs one line per request and records request metrics.
pub struct ObservedHandler {
    inner: Arc<dyn RequestHandler>,
    metrics: Arc<Metrics>,
}

impl ObservedHandler {
    /// Observes `inner`.
    pub fn new(inner: Arc<dyn RequestHandler>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

/// Decrements the in-flight gauge when dropped, also when the request task is cancelled.
struct InFlight<'a>(&'a Metrics);

impl<'a> InFlight<'a> {
    fn enter(metrics: &'a Metrics) -> Self {
        metrics.in_flight.inc();
        Self(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

#[async_trait]
impl RequestHandler for ObservedHandler {
    async fn handle(&self, gateway_id: &str, request: Request) -> Response {
        let started = Instant::now();
        let request_id = crate::jsonrpc::bounded(&request.id, MAX_LOGGED_CHARS);
        let method = crate::jsonrpc::bounded(&request.method, MAX_LOGGED_CHARS);
        let response = {
            let _in_flight = InFlight::enter(&self.metrics);
            self.inner.handle(gateway_id, request).await
        };
        let latency = started.elapsed();
        let code = response.error().map(|error| error.code);
        self.metrics.record_request(&method, code, latency);
        tracing::info!(
            request_id = ?request_id,
            gateway_id,
            method = ?method,
            outcome = if code.is_some() { "error" } else { "success" },
            code = code.unwrap_or(0),
            latency_ms = latency.as_secs_f64() * 1e3,
            "request"
        );
        response
    }
}

/// Times every verification and counts rejections by reason.
pub struct ObservedVerifier {
    inner: Arc<dyn AttestationVerifier>,
    metrics: Arc<Metrics>,
}

impl ObservedVerifier {
    /// Observes `inner`.
    pub fn new(inner: Arc<dyn AttestationVerifier>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl AttestationVerifier for ObservedVerifier {
    fn verify(&self, document: &[u8], user_data_candidates: &[&[u8]]) -> Result<(), Rejection> {
        let started = Instant::now();
        let outcome = self.inner.verify(document, user_data_candidates);
        self.metrics
            .attestation_latency
            .observe(started.elapsed().as_secs_f64());
        if let Err(rejection) = &outcome {
            self.metrics
                .attestation_rejections
                .get_or_create(&vec![("reason".to_owned(), rejection.reason().to_owned())])
                .inc();
        }
        outcome
    }
}

/// Names the metrics route of a capability id (configured ids only, so labels stay bounded).
pub type RouteLabel = dyn Fn(&str) -> String + Send + Sync;

/// Times every backend call and counts failures, by configured route.
pub struct ObservedBackends<B> {
    inner: Arc<B>,
    metrics: Arc<Metrics>,
    route_label: Arc<RouteLabel>,
}

impl<B> ObservedBackends<B> {
    /// Observes `inner`, labelling calls with `route_label(capability_id)`.
    pub fn new(inner: Arc<B>, metrics: Arc<Metrics>, route_label: Arc<RouteLabel>) -> Self {
        Self {
            inner,
            metrics,
            route_label,
        }
    }

    fn record<T>(&self, capability_id: &str, started: Instant, outcome: &Result<T, BackendError>) {
        let label = (self.route_label)(capability_id);
        let kind = outcome.as_ref().err().map(BackendError::kind);
        self.metrics.record_backend(&label, started.elapsed(), kind);
    }
}

#[async_trait]
impl<B: VaultBackend + 'static> VaultBackend for ObservedBackends<B> {
    async fn get_secrets(
        &self,
        metadata: RequestMetadata,
        request: GetSecretsRequest,
    ) -> Result<GetSecretsResponse, BackendError> {
        let started = Instant::now();
        let outcome = self.inner.get_secrets(metadata, request).await;
        self.record(crate::proto::vault::VAULT_CAPABILITY_ID, started, &outcome);
        outcome
    }
}

#[async_trait]
impl<B: CapabilityBackend + 'static> CapabilityBackend for ObservedBackends<B> {
    async fn execute(
        &self,
        request: CapabilityRequest,
    ) -> Result<CapabilityResponse, BackendError> {
        let started = Instant::now();
        let capability_id = request.capability_id.clone();
        let outcome = self.inner.execute(request).await;
        self.record(&capability_id, started, &outcome);
        outcome
    }
}

/// The route label for configured ids: the id itself when listed, else `default` when a
/// default route exists, else `unrouted`.
pub fn route_label_for(configured: Vec<String>, has_default: bool) -> Arc<RouteLabel> {
    Arc::new(move |capability_id: &str| {
        if configured.iter().any(|id| id == capability_id) {
            capability_id.to_owned()
        } else if has_default {
            "default".to_owned()
        } else {
            "unrouted".to_owned()
        }
    })
}
