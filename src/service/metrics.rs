//! The relay's Prometheus metrics: what is counted, under which names and labels.
//!
//! Labels never carry caller-chosen text: the method label is one of the two relay methods or
//! `other`, and backend labels are configured routes, so a hostile gateway or enclave cannot
//! grow the series count. Values owned by other stages (gateway connection state, chain-cache
//! hits) are read at scrape time through [`Probe`]s.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::relay::METHODS;

/// Latency buckets in seconds: 0.5 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// A relay method, or `other`.
    pub method: &'static str,
    /// `success` or `error`.
    pub outcome: &'static str,
    /// The JSON-RPC error code, or `0` for a success.
    pub code: i64,
}

/// Labels naming a method.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// A relay method, or `other`.
    pub method: &'static str,
}

/// Labels naming a backend route.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    /// The configured route (a capability id, `default`, or `unrouted`).
    pub backend: String,
}

/// Labels of backend errors.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendErrorLabels {
    /// The configured route.
    pub backend: String,
    /// The error kind token.
    pub kind: &'static str,
}

/// The metrics label for a request method: the method itself when it is a relay method.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// Whether a probe reads a counter or a gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// Monotonic.
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One labelled value a probe reports.
pub type ProbeSample = (Vec<(String, String)>, u64);

/// A metric whose values live elsewhere and are read at scrape time.
pub struct Probe {
    /// Metric name (without the `relay_` prefix; counters get `_total` appended).
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: ProbeKind,
    /// Reads the current samples.
    pub read: Box<dyn Fn() -> Vec<ProbeSample> + Send + Sync>,
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// All metrics of one relay process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by method, outcome and code.
    pub requests: Family<RequestLabels, Counter>,
    /// End-to-end request latency, by method.
    pub request_latency: Family<MethodLabels, Histogram>,
    /// Requests being handled now.
    pub in_flight: Gauge,
    /// Attestation verification latency.
    pub attestation_latency: Histogram,
    /// Attestation rejections, by reason token.
    pub attestation_rejections: Family<Vec<(String, String)>, Counter>,
    /// Backend call latency, by route.
    pub backend_latency: Family<BackendLabels, Histogram>,
    /// Backend call failures, by route and kind.
    pub backend_errors: Family<BackendErrorLabels, Counter>,
    probes: std::sync::Arc<Probes>,
}

#[derive(Debug, Default)]
struct Probes(Mutex<Vec<Probe>>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every relay metric registered under the `relay_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("relay");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by method, outcome and JSON-RPC code",
            requests.clone(),
        );
        let request_latency = Family::<MethodLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "request_latency",
            "End-to-end request latency in the relay",
            prometheus_client::registry::Unit::Seconds,
            request_latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("in_flight", "Requests being handled now", in_flight.clone());
        let attestation_latency = latency_histogram();
        registry.register_with_unit(
            "attestation_verify_latency",
            "Attestation document verification latency",
            prometheus_client::registry::Unit::Seconds,
            attestation_latency.clone(),
        );
        let attestation_rejections = Family::<Vec<(String, String)>, Counter>::default();
        registry.register(
            "attestation_rejections",
            "Attestation documents rejected, by reason",
            attestation_rejections.clone(),
        );
        let backend_latency = Family::<BackendLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "backend_latency",
            "Backend call latency, by route",
            prometheus_client::registry::Unit::Seconds,
            backend_latency.clone(),
        );
        let backend_errors = Family::<BackendErrorLabels, Counter>::default();
        registry.register(
            "backend_errors",
            "Backend call failures, by route and kind",
            backend_errors.clone(),
        );
        let probes = std::sync::Arc::new(Probes::default());
        registry.register_collector(Box::new(probes.clone()));
        Self {
            registry,
            requests,
            request_latency,
            in_flight,
            attestation_latency,
            attestation_rejections,
            backend_latency,
            backend_errors,
            probes,
        }
    }

    /// Records one answered request.
    pub fn record_request(&self, method: &str, code: Option<i64>, latency: Duration) {
        let method = method_label(method);
        let labels = RequestLabels {
            method,
            outcome: if code.is_some() { "error" } else { "success" },
            code: code.unwrap_or(0),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_latency
            .get_or_create(&MethodLabels { method })
            .observe(latency.as_secs_f64());
    }

    /// Records one backend call on `backend` (a configured route name).
    pub fn record_backend(
        &self,
        backend: &str,
        latency: Duration,
        error_kind: Option<&'static str>,
    ) {
        let backend = backend.to_owned();
        self.backend_latency
            .get_or_create(&BackendLabels {
                backend: backend.clone(),
            })
            .observe(latency.as_secs_f64());
        if let Some(kind) = error_kind {
            self.backend_errors
                .get_or_create(&BackendErrorLabels { backend, kind })
                .inc();
        }
    }

    /// Adds a value read at scrape time.
    pub fn add_probe(&self, probe: Probe) {
        if let Ok(mut probes) = self.probes.0.lock() {
            probes.push(probe);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Collector for Probes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Ok(probes) = self.0.lock() else {
            return Ok(());
        };
        for probe in probes.iter() {
            let samples = (probe.read)();
            let metric_type = match probe.kind {
                ProbeKind::Counter => MetricType::Counter,
                ProbeKind::Gauge => MetricType::Gauge,
            };
            let mut metric =
                encoder.encode_descriptor(probe.name, probe.help, None, metric_type)?;
            for (labels, value) in &samples {
                let sample = metric.encode_family(labels)?;
                match probe.kind {
                    ProbeKind::Counter => ConstCounter::new(*value).encode(sample)?,
                    ProbeKind::Gauge => {
                        ConstGauge::new(i64::try_from(*value).unwrap_or(i64::MAX)).encode(sample)?
                    }
                }
            }
        }
        Ok(())
    }
}
