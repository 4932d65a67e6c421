//! The admin HTTP server: `/metrics` (Prometheus text), `/health` (the process is alive) and
//! `/ready` (at least one gateway connected and the backends configured). It listens on
//! loopback by default: it reveals operational state, not secrets, but is not for the internet.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;

/// Says whether the relay can serve, and if not, why.
pub type Readiness = dyn Fn() -> Result<(), String> + Send + Sync;

#[derive(Clone)]
struct AdminState {
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
}

/// A running admin server.
pub struct AdminServer {
    /// The bound address (useful when configured with port 0).
    pub local_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl AdminServer {
    /// Binds `addr` and serves until `shutdown` is cancelled.
    pub async fn start(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        readiness: Arc<Readiness>,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let app = Router::new()
            .route("/metrics", get(metrics_handler))
            .route("/health", get(|| async { "ok\n" }))
            .route("/ready", get(ready_handler))
            .with_state(AdminState { metrics, readiness });
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "admin server failed");
            }
        });
        Ok(Self { local_addr, task })
    }

    /// Waits for the server to stop (after its shutdown token is cancelled).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

async fn metrics_handler(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

async fn ready_handler(State(state): State<AdminState>) -> impl IntoResponse {
    match (state.readiness)() {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}
