//! The dev gateway's user endpoint: `POST /` with a JSON-RPC body (the way an enclave calls the
//! gateway), checked as in spec §5.1, fanned out to every DON member (§5.2) and answered by the
//! completion rules (§5.4); `GET /health` answers `OK`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::config::DevConfig;
use super::quorum::{Collector, Decision, Reply};
use super::registry::{REPLY_QUEUE, Registry};
use crate::jsonrpc::{ErrorObject, Outcome, Request, Response};

/// The service name (method prefix) of the confidential relay.
pub const SERVICE: &str = "confidential";
/// The methods the relay handler accepts.
pub const METHODS: [&str; 2] = [
    "confidential.secrets.get",
    "confidential.capability.execute",
];
/// Longest request id the gateway's user layer accepts.
pub const MAX_ID_CHARS: usize = 200;

/// State shared by the HTTP handlers.
pub(crate) struct UserApi {
    pub config: Arc<DevConfig>,
    pub registry: Arc<Registry>,
}

/// The router of the user endpoint.
pub(crate) fn router(api: Arc<UserApi>) -> Router {
    let limit = api.config.max_request_bytes;
    Router::new()
        .route("/", post(user_request))
        .route("/health", get(|| async { "OK" }))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(api)
}

async fn user_request(State(api): State<Arc<UserApi>>, body: Bytes) -> impl IntoResponse {
    let (status, response) = api.handle(&body).await;
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        response.to_vec(),
    )
}

fn error(id: &str, method: &str, code: i64, message: impl Into<String>) -> Response {
    Response {
        id: id.to_owned(),
        method: method.to_owned(),
        outcome: Outcome::Error(ErrorObject {
            code,
            message: message.into(),
        }),
    }
}

/// The HTTP status for a JSON-RPC error code (spec §5.6).
pub fn http_status(code: i64) -> StatusCode {
    match code {
        -32700 | -32600 | -32601 | -32602 => StatusCode::BAD_REQUEST,
        -32000 => StatusCode::GATEWAY_TIMEOUT,
        -32002 => StatusCode::TOO_MANY_REQUESTS,
        -32003 => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn reply(response: Response) -> (StatusCode, Response) {
    let status = response
        .error()
        .map_or(StatusCode::OK, |error| http_status(error.code));
    (status, response)
}

/// Removes a pending id when the request completes, however it completes.
struct PendingGuard<'a> {
    registry: &'a Registry,
    id: String,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.registry.remove_pending(&self.id);
    }
}

impl UserApi {
    /// Checks a user body, fans it out and returns the HTTP status and JSON-RPC response.
    pub(crate) async fn handle(&self, body: &[u8]) -> (StatusCode, Response) {
        match parse(body) {
            Ok(request) => reply(self.fan_out(request).await),
            Err(response) => reply(response),
        }
    }

    async fn fan_out(&self, request: Request) -> Response {
        let (replies, mut inbox) = mpsc::channel(REPLY_QUEUE);
        if !self.registry.add_pending(&request.id, replies) {
            return error(
                &request.id,
                &request.method,
                -32600,
                "request ID already exists",
            );
        }
        let _guard = PendingGuard {
            registry: &self.registry,
            id: request.id.clone(),
        };
        let started = Instant::now();
        let members = self.config.members.clone();
        let mut collector = Collector::new(members.clone(), self.config.f);
        let sends = members.iter().map(|node| {
            let outbox = self.registry.outbox(node);
            let request = request.clone();
            let timeout = self.config.node_send_timeout;
            async move {
                match outbox {
                    Some(outbox) => outbox.send_timeout(request, timeout).await.is_ok(),
                    None => false,
                }
            }
        });
        let delivered = join_all(sends).await;
        let mut failures = 0;
        for (node, sent) in members.iter().zip(delivered) {
            if !sent {
                failures += 1;
                collector.record(*node, Reply::SendFailed);
            }
        }
        if failures > 0 && members.len().saturating_sub(failures) < self.config.f.saturating_add(1)
        {
            return error(
                &request.id,
                &request.method,
                -32603,
                "failed to forward user request to nodes",
            );
        }
        let deadline = tokio::time::sleep_until(started + self.config.request_timeout);
        tokio::pin!(deadline);
        let mut grace: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        let mut expired = false;
        loop {
            match collector.decide(expired) {
                Decision::Forward => return self.bundle(&request, &collector),
                Decision::Unreachable(err) => {
                    return error(&request.id, &request.method, err.code, err.message);
                }
                Decision::ArmGrace if grace.is_none() => {
                    if let Some(window) = self.config.quorum_grace {
                        grace = Some(Box::pin(tokio::time::sleep(window)));
                    }
                }
                Decision::ArmGrace | Decision::Wait => {}
            }
            tokio::select! {
                received = inbox.recv() => {
                    if let Some((node, response)) = received {
                        collector.record_response(node, response);
                    }
                }
                () = async { if let Some(timer) = grace.as_mut() { timer.await } else { std::future::pending().await } } => {
                    return self.bundle(&request, &collector);
                }
                () = &mut deadline => expired = true,
            }
        }
    }

    fn bundle(&self, request: &Request, collector: &Collector) -> Response {
        let bundle = serde_json::json!({ "responses": collector.bundle() });
        Response::success(request.id.clone(), request.method.clone(), &bundle)
    }
}

/// Spec §5.1 checks; the error response when they fail.
fn parse(body: &[u8]) -> Result<Request, Response> {
    let parse_error = |message: &str| error("", "", -32700, message);
    let value: Value =
        serde_json::from_slice(body).map_err(|_| parse_error("request body is not JSON"))?;
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let method = value
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if value.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(error(&id, &method, -32700, "jsonrpc must be \"2.0\""));
    }
    if method.is_empty() {
        return Err(error(&id, &method, -32700, "method is required"));
    }
    match value.get("params") {
        None | Some(Value::Null) => return Err(error(&id, &method, -32700, "params are required")),
        Some(Value::Object(_)) => {}
        Some(_) => return Err(error(&id, &method, -32600, "params must be an object")),
    }
    if id.is_empty() {
        return Err(error(
            &id,
            &method,
            -32600,
            "request id must be a non-empty string",
        ));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(error(
            "",
            &method,
            -32600,
            format!("request id longer than {MAX_ID_CHARS} characters"),
        ));
    }
    if method.split('.').next() != Some(SERVICE) {
        return Err(error(&id, &method, -32600, "Service name not found"));
    }
    if !METHODS.contains(&method.as_str()) {
        return Err(error(
            &id,
            &method,
            -32601,
            format!("unsupported method {method}"),
        ));
    }
    Request::from_slice(body)
        .map_err(|err| error(&id, &method, -32700, format!("invalid request: {err}")))
}
