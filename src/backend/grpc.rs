//! The production backends: a tonic client of `capabilities.Executable/Execute` per configured
//! backend, routed by capability id.
//!
//! One lazily connected HTTP/2 channel per distinct endpoint, shared by every route to it and
//! cloned per call. Each call is bounded as a whole (waiting for a concurrency slot, connecting,
//! sending, the first stream message) by the backend's deadline, and also carries
//! `grpc-timeout` so the backend stops too. Reading the first message and dropping the stream
//! cancels it (the Go server sends exactly one).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Code;
use tonic::codec::Streaming;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::config::{BackendsConfig, BackendsPlan, ConfigError, EndpointAddr, RoutePlan};
use super::stats::{BackendStats, BackendStatsSnapshot};
use super::{
    BackendError, CapabilityBackend, VaultBackend, vault_capability_request, vault_response,
};
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse, RequestMetadata};
use crate::proto::vault::{GetSecretsRequest, GetSecretsResponse, VAULT_CAPABILITY_ID};

/// The gRPC path of `capabilities.Executable/Execute`.
pub const EXECUTE_PATH: &str = "/capabilities.Executable/Execute";
/// How long to wait for the end of the stream after the first message. The Go server ends it
/// right after that message; a backend that keeps it open is reset after this grace period.
pub const DRAIN_GRACE: Duration = Duration::from_millis(100);
/// TCP keepalive of backend connections, so a silently vanished backend host is noticed without
/// every call running into its deadline first. Kernel-level on purpose: HTTP/2 pings more often
/// than every 5 minutes make Go gRPC servers (default keepalive policy) close the connection.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(30);

/// A channel created on first use, shared by every route to the same endpoint.
struct LazyChannel {
    endpoint: Endpoint,
    channel: OnceLock<Channel>,
}

impl LazyChannel {
    /// The shared channel; `connect_lazy` needs a tokio runtime, hence not at construction.
    fn get(&self) -> Channel {
        self.channel
            .get_or_init(|| self.endpoint.connect_lazy())
            .clone()
    }
}

/// One configured backend: its channel, deadline, concurrency slots and counters.
struct Backend {
    name: String,
    address: String,
    channel: Arc<LazyChannel>,
    deadline: Duration,
    slots: Arc<Semaphore>,
    stats: BackendStats,
}

/// Both backend traits over gRPC, routed by capability id.
pub struct GrpcBackends {
    routes: BTreeMap<String, Arc<Backend>>,
    default: Option<Arc<Backend>>,
    max_decode_bytes: usize,
}

impl GrpcBackends {
    /// Validates `config` and builds the backends (no connection is made yet).
    pub fn from_config(config: &BackendsConfig) -> Result<Self, ConfigError> {
        Self::new(&config.validate()?)
    }

    /// Builds the backends of a validated plan (no connection is made yet).
    pub fn new(plan: &BackendsPlan) -> Result<Self, ConfigError> {
        let mut channels: BTreeMap<String, Arc<LazyChannel>> = BTreeMap::new();
        let mut backend = |name: &str, field: &str, route: &RoutePlan| {
            let address = route.endpoint.to_string();
            let channel = match channels.get(&address) {
                Some(channel) => channel.clone(),
                None => {
                    let endpoint = endpoint(field, &route.endpoint, plan.connect_timeout)?;
                    let channel = Arc::new(LazyChannel {
                        endpoint,
                        channel: OnceLock::new(),
                    });
                    channels.insert(address.clone(), channel.clone());
                    channel
                }
            };
            Ok::<_, ConfigError>(Arc::new(Backend {
                name: name.to_string(),
                address,
                channel,
                deadline: route.deadline,
                slots: Arc::new(Semaphore::new(route.max_concurrency)),
                stats: BackendStats::default(),
            }))
        };
        let mut routes = BTreeMap::new();
        for (id, route) in &plan.routes {
            let field = if id == VAULT_CAPABILITY_ID {
                "backends.vault".to_string()
            } else {
                format!("backends.capabilities.{id:?}")
            };
            routes.insert(id.clone(), backend(id, &field, route)?);
        }
        let default = match &plan.default {
            Some(route) => Some(backend("*", "backends.default_endpoint", route)?),
            None => None,
        };
        Ok(Self {
            routes,
            default,
            max_decode_bytes: plan.max_decode_bytes,
        })
    }

    /// Counters per backend (routes by id, then the default as `*`), for metrics.
    pub fn stats(&self) -> Vec<BackendStatsSnapshot> {
        self.routes
            .values()
            .chain(self.default.iter())
            .map(|backend| backend.stats.snapshot(&backend.name, &backend.address))
            .collect()
    }

    fn route(&self, capability_id: &str) -> Result<&Arc<Backend>, BackendError> {
        self.routes
            .get(capability_id)
            .or(self.default.as_ref())
            .ok_or_else(|| BackendError::NotFound {
                capability_id: capability_id.to_string(),
            })
    }

    async fn call(
        &self,
        backend: &Backend,
        request: CapabilityRequest,
    ) -> Result<CapabilityResponse, BackendError> {
        let started = Instant::now();
        let deadline = backend.deadline;
        let result = tokio::time::timeout(deadline, self.exchange(backend, request, started))
            .await
            .unwrap_or(Err(BackendError::DeadlineExceeded(deadline)));
        let result = match result {
            Ok((response, rest)) => {
                // The caller has its answer; ending the stream cleanly need not delay it. The
                // stream keeps its concurrency slot until it ends.
                tokio::spawn(drain(rest));
                Ok(response)
            }
            Err(err) => Err(err),
        };
        backend.stats.record(started.elapsed(), result.is_err());
        if let Err(err) = &result {
            tracing::debug!(backend = %backend.name, endpoint = %backend.address, %err, "backend call failed");
        }
        result
    }

    async fn exchange(
        &self,
        backend: &Backend,
        request: CapabilityRequest,
        started: Instant,
    ) -> Result<(CapabilityResponse, Drain), BackendError> {
        let slot = backend
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| BackendError::Unavailable("backend is shutting down".into()))?;
        let mut grpc = tonic::client::Grpc::new(backend.channel.get())
            .max_decoding_message_size(self.max_decode_bytes);
        grpc.ready()
            .await
            .map_err(|err| BackendError::Unavailable(error_chain(&err)))?;
        let mut request = tonic::Request::new(request);
        // What is left of the deadline after waiting for a slot, so the backend stops with us.
        let remaining = backend.deadline.saturating_sub(started.elapsed());
        request.set_timeout(remaining.max(Duration::from_millis(1)));
        let codec = tonic_prost::ProstCodec::<CapabilityRequest, CapabilityResponse>::default();
        let path = PathAndQuery::from_static(EXECUTE_PATH);
        let mut stream = grpc
            .server_streaming(request, path, codec)
            .await
            .map_err(|status| from_status(status, backend.deadline))?
            .into_inner();
        match stream.message().await {
            Ok(Some(response)) => Ok((
                response,
                Drain {
                    stream,
                    _slot: slot,
                },
            )),
            Ok(None) => Err(BackendError::Decode(
                "the response stream ended without a message".into(),
            )),
            Err(status) => Err(from_status(status, backend.deadline)),
        }
    }
}

#[async_trait::async_trait]
impl CapabilityBackend for GrpcBackends {
    async fn execute(
        &self,
        request: CapabilityRequest,
    ) -> Result<CapabilityResponse, BackendError> {
        let backend = self.route(&request.capability_id)?.clone();
        self.call(&backend, request).await
    }
}

#[async_trait::async_trait]
impl VaultBackend for GrpcBackends {
    async fn get_secrets(
        &self,
        metadata: RequestMetadata,
        request: GetSecretsRequest,
    ) -> Result<GetSecretsResponse, BackendError> {
        let backend = self.route(VAULT_CAPABILITY_ID)?.clone();
        let response = self
            .call(&backend, vault_capability_request(metadata, &request))
            .await?;
        vault_response(response)
    }
}

/// A response stream whose first message was read, with the concurrency slot it occupies.
struct Drain {
    stream: Streaming<CapabilityResponse>,
    _slot: OwnedSemaphorePermit,
}

/// Reads the rest of the stream (the Go server sends one message, then the trailers) so it ends
/// cleanly. Dropping it unread resets the HTTP/2 stream instead, and h2 servers close a
/// connection that sees ~1000 such resets as "excessive load" (measured: after ~1400 calls).
/// Bounded by [`DRAIN_GRACE`]; extra messages are ignored.
async fn drain(Drain { mut stream, _slot }: Drain) {
    let rest = async {
        let mut extra = 0usize;
        while let Ok(Some(_)) = stream.message().await {
            extra += 1;
        }
        extra
    };
    match tokio::time::timeout(DRAIN_GRACE, rest).await {
        Ok(0) => {}
        Ok(extra) => tracing::debug!(extra, "backend sent more than one response message"),
        Err(_) => tracing::debug!("backend kept the stream open after its response; reset it"),
    }
}

/// The tonic endpoint of a validated address.
fn endpoint(
    field: &str,
    address: &EndpointAddr,
    connect_timeout: Duration,
) -> Result<Endpoint, ConfigError> {
    let invalid = |err: tonic::transport::Error| ConfigError {
        field: format!("{field}.endpoint"),
        reason: error_chain(&err),
    };
    let endpoint = match address {
        EndpointAddr::Http(uri) => Endpoint::from(uri.clone()),
        EndpointAddr::Https(uri) => Endpoint::from(uri.clone())
            .tls_config(ClientTlsConfig::new().with_webpki_roots())
            .map_err(invalid)?,
        EndpointAddr::Unix(path) => {
            Endpoint::from_shared(format!("unix://{path}")).map_err(invalid)?
        }
    };
    Ok(endpoint
        .connect_timeout(connect_timeout)
        .tcp_keepalive(Some(TCP_KEEPALIVE)))
}

/// Maps a gRPC status (from the backend or from tonic itself) to a backend error.
fn from_status(status: tonic::Status, deadline: Duration) -> BackendError {
    if has_source::<tonic::TimeoutExpired>(&status) {
        // tonic enforces the `grpc-timeout` we set on the client side too.
        return BackendError::DeadlineExceeded(deadline);
    }
    let text = status_text(&status);
    match status.code() {
        // Cancelled by tonic, not by us: the connection was lost mid-call.
        Code::Unavailable | Code::Cancelled => BackendError::Unavailable(text),
        Code::DeadlineExceeded => BackendError::DeadlineExceeded(deadline),
        // tonic reports an oversize or undecodable message with these codes.
        Code::OutOfRange | Code::Internal if is_decode_failure(&text) => BackendError::Decode(text),
        code => BackendError::Status {
            code: format!("{code:?}"),
            message: text,
        },
    }
}

fn has_source<E: std::error::Error + 'static>(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        if err.is::<E>() {
            return true;
        }
        source = err.source();
    }
    false
}

fn is_decode_failure(text: &str) -> bool {
    text.contains("decoded message length too large") || text.contains("failed to decode")
}

/// The status message followed by its source chain (tonic puts the transport cause there).
fn status_text(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
