//! Mock backends as real tonic servers on loopback TCP or unix sockets, for tests and the demo.
//!
//! [`serve_tcp`] / [`serve_unix`] run any [`ExecuteHandler`] behind
//! `capabilities.Executable/Execute`; [`capability::MockCapabilities`] and [`vault::MockVault`]
//! are the two handlers. A [`MockServer`] stops when dropped.

pub mod capability;
pub mod kit;
pub mod vault;

use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::{NamedService, ServerStreamingService};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use super::grpc::EXECUTE_PATH;
use crate::proto::capabilities::{CapabilityRequest, CapabilityResponse};

/// Largest request a mock accepts (the relay never sends more than a few KiB).
pub const MOCK_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// What a mock does with one `Execute` call: a [`Reply`] or a gRPC status.
#[async_trait::async_trait]
pub trait ExecuteHandler: Send + Sync + 'static {
    /// Answers one request.
    async fn execute(&self, request: CapabilityRequest) -> Result<Reply, tonic::Status>;
}

/// The stream a mock sends for one call.
#[derive(Debug, Default)]
pub struct Reply {
    /// The messages (the Go server sends exactly one; zero or more for fault tests).
    pub messages: Vec<CapabilityResponse>,
    /// How long the stream stays open after the messages before it ends.
    pub linger: Duration,
    /// Incremented when the client read the stream to its end (rather than resetting it).
    pub ended: Option<Arc<AtomicUsize>>,
}

impl Reply {
    /// One message, then the end of the stream (what the Go server does).
    pub fn one(message: CapabilityResponse) -> Self {
        Self {
            messages: vec![message],
            ..Self::default()
        }
    }
}

/// Why a mock server could not start.
#[derive(Debug, thiserror::Error)]
#[error("mock server: {0}")]
pub struct MockError(#[from] std::io::Error);

/// A running mock server; stops (aborting in-flight calls) when dropped.
pub struct MockServer {
    endpoint: String,
    socket: Option<PathBuf>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// The address to configure: `http://127.0.0.1:<port>` or `unix:///path`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Serves `handler` on `127.0.0.1:<free port>`.
pub async fn serve_tcp(handler: Arc<dyn ExecuteHandler>) -> Result<MockServer, MockError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let router = Server::builder().add_service(ExecutableService { handler });
    // Without TCP_NODELAY small writes (the trailers) wait for delayed ACKs: ~40 ms per call.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(async move {
        if let Err(err) = router.serve_with_incoming(incoming).await {
            tracing::warn!(%err, "mock server stopped");
        }
    });
    Ok(MockServer {
        endpoint,
        socket: None,
        task,
    })
}

/// Serves `handler` on a unix socket at `path` (replacing a stale socket file).
pub async fn serve_unix(
    handler: Arc<dyn ExecuteHandler>,
    path: &Path,
) -> Result<MockServer, MockError> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let incoming = futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    });
    let router = Server::builder().add_service(ExecutableService { handler });
    let task = tokio::spawn(async move {
        if let Err(err) = router.serve_with_incoming(incoming).await {
            tracing::warn!(%err, "mock server stopped");
        }
    });
    Ok(MockServer {
        endpoint: format!("unix://{}", path.display()),
        socket: Some(path.to_path_buf()),
        task,
    })
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<CapabilityResponse, tonic::Status>> + Send + 'static>>;

/// The `capabilities.Executable` service (only `Execute`) over an [`ExecuteHandler`].
#[derive(Clone)]
struct ExecutableService {
    handler: Arc<dyn ExecuteHandler>,
}

impl NamedService for ExecutableService {
    const NAME: &'static str = "capabilities.Executable";
}

impl tonic::codegen::Service<http::Request<Body>> for ExecutableService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let handler = self.handler.clone();
        Box::pin(async move {
            if request.uri().path() != EXECUTE_PATH {
                return Ok(tonic::Status::unimplemented("only Execute is mocked").into_http());
            }
            let codec = tonic_prost::ProstCodec::<CapabilityResponse, CapabilityRequest>::default();
            let mut grpc =
                tonic::server::Grpc::new(codec).max_decoding_message_size(MOCK_MAX_REQUEST_BYTES);
            Ok(grpc.server_streaming(ExecuteCall(handler), request).await)
        })
    }
}

/// One `Execute` call.
struct ExecuteCall(Arc<dyn ExecuteHandler>);

impl ServerStreamingService<CapabilityRequest> for ExecuteCall {
    type Response = CapabilityResponse;
    type ResponseStream = ResponseStream;
    type Future = BoxFuture<Result<tonic::Response<ResponseStream>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<CapabilityRequest>) -> Self::Future {
        let handler = self.0.clone();
        Box::pin(async move {
            let reply = handler.execute(request.into_inner()).await?;
            let Reply {
                messages,
                linger,
                ended,
            } = reply;
            let end = futures_util::stream::once(async move {
                tokio::time::sleep(linger).await;
                if let Some(ended) = ended {
                    ended.fetch_add(1, Ordering::SeqCst);
                }
                None
            })
            .filter_map(futures_util::future::ready);
            let stream: ResponseStream =
                Box::pin(futures_util::stream::iter(messages.into_iter().map(Ok)).chain(end));
            Ok(tonic::Response::new(stream))
        })
    }
}
