//! The dev gateway's node endpoint: verifies auth headers (spec §1.6, same order and HTTP
//! codes), issues challenges built on the node's timestamp, verifies the answer within a read
//! timeout, keeps one connection per node (a new one replaces the old), pings every heartbeat,
//! drops nodes that stop answering pongs, and routes node responses to waiting user requests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as HsRequest, Response as HsResponse,
};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::config::DevConfig;
use super::registry::{NodeEvent, Registry};
use crate::gateway::eip191::Address;
use crate::gateway::handshake::{
    AUTH_HEADER, AuthError, AuthHeader, CHALLENGE_HEADER, build_challenge, decode_auth_header,
    unix_now, verify_challenge_answer, within_tolerance,
};
use crate::jsonrpc::{Request, Response};

/// Requests queued for one node's socket task.
const NODE_OUTBOX: usize = 64;
/// Bound on sending one ping (Go uses a 5 s context).
const PING_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Far-future stand-in for a disabled timer.
const NEVER: Duration = Duration::from_secs(86_400 * 365);

/// The node and challenge of a handshake between the upgrade callback and the answer read.
type Attempt = Arc<Mutex<Option<(Address, Vec<u8>)>>>;

/// What the node endpoint needs.
pub(crate) struct NodeServer {
    pub config: Arc<DevConfig>,
    pub registry: Arc<Registry>,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
    /// Present when the node endpoint serves `wss://`.
    pub tls: Option<TlsAcceptor>,
}

impl NodeServer {
    /// Accepts connections until shutdown.
    pub(crate) async fn run(self: Arc<Self>, listener: TcpListener) {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let server = self.clone();
                        self.tasks.spawn(async move { server.accept(stream).await });
                    }
                    Err(err) => warn!(error = %err, "node accept failed"),
                },
                () = self.shutdown.cancelled() => break,
            }
        }
    }

    fn now(&self) -> u32 {
        let skewed = i64::from(unix_now()).saturating_add(self.config.clock_offset_secs);
        u32::try_from(skewed.max(0)).unwrap_or(u32::MAX)
    }

    /// §1.6 steps 3–6 on a decoded header.
    fn check(&self, header: &AuthHeader) -> Result<(), AuthError> {
        if header.don_id != self.config.don_name {
            return Err(AuthError::UnknownDon(header.don_id.clone()));
        }
        if !self.config.members.contains(&header.signer) {
            return Err(AuthError::NotMember(header.signer));
        }
        if header.gateway_id != self.config.gateway_id {
            return Err(AuthError::WrongGateway(header.gateway_id.clone()));
        }
        let now = self.now();
        let tolerance = self.config.timestamp_tolerance_secs;
        if !within_tolerance(header.timestamp, now, tolerance) {
            return Err(AuthError::StaleTimestamp {
                timestamp: header.timestamp,
                now,
                tolerance,
            });
        }
        Ok(())
    }

    fn refuse(&self, err: &AuthError) -> ErrorResponse {
        warn!(reason = err.reason(), error = %err, "node handshake refused");
        self.registry.record(NodeEvent::Rejected {
            reason: err.reason(),
            detail: err.to_string(),
        });
        let mut response = ErrorResponse::new(Some(format!("{}: {err}", err.reason())));
        *response.status_mut() =
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
        response
    }

    /// Runs TLS first when configured, then the websocket handshake.
    async fn accept(self: Arc<Self>, stream: TcpStream) {
        match &self.tls {
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(self.config.handshake_timeout, acceptor.accept(stream));
                match handshake.await {
                    Ok(Ok(stream)) => self.connection(stream).await,
                    Ok(Err(err)) => warn!(error = %err, "node TLS handshake failed"),
                    Err(_) => warn!("node TLS handshake timed out"),
                }
            }
            None => self.connection(stream).await,
        }
    }

    // The callback's error type is tungstenite's HTTP response; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    async fn connection<S>(self: Arc<Self>, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let attempt: Attempt = Arc::new(Mutex::new(None));
        let slot = attempt.clone();
        let server = self.clone();
        let callback = move |request: &HsRequest,
                             mut response: HsResponse|
              -> Result<HsResponse, ErrorResponse> {
            let header = match request.headers().get(AUTH_HEADER).map(HeaderValue::to_str) {
                None => None,
                Some(Ok(text)) => Some(text),
                Some(Err(_)) => return Err(server.refuse(&AuthError::HeaderNotBase64)),
            };
            let header = decode_auth_header(header).map_err(|err| server.refuse(&err))?;
            server.check(&header).map_err(|err| server.refuse(&err))?;
            let mut random = vec![0u8; server.config.challenge_len];
            rand::rng().fill_bytes(&mut random);
            let challenge = build_challenge(header.timestamp, &server.config.gateway_id, &random)
                .map_err(|err| {
                server.refuse(&AuthError::ChallengeSignature(err.to_string()))
            })?;
            if let Ok(value) = HeaderValue::from_str(&STANDARD.encode(&challenge)) {
                response.headers_mut().insert(CHALLENGE_HEADER, value);
            }
            if let Ok(mut slot) = slot.lock() {
                *slot = Some((header.signer, challenge));
            }
            Ok(response)
        };
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(self.config.max_request_bytes))
            .max_frame_size(Some(self.config.max_request_bytes));
        let upgrade = accept_hdr_async_with_config(stream, callback, Some(ws_config));
        let Ok(Ok(mut ws)) = tokio::time::timeout(self.config.handshake_timeout, upgrade).await
        else {
            return;
        };
        let Some((node, challenge)) = attempt.lock().ok().and_then(|mut slot| slot.take()) else {
            return;
        };
        let answer = tokio::time::timeout(self.config.handshake_timeout, ws.next()).await;
        let verdict = match answer {
            Ok(Some(Ok(Message::Binary(signature)))) => {
                verify_challenge_answer(&challenge, &signature, node)
            }
            Ok(Some(Ok(other))) => Err(AuthError::NoAnswer(format!(
                "answer is not a binary message: {}",
                message_kind(&other)
            ))),
            Ok(Some(Err(err))) => Err(AuthError::NoAnswer(format!(
                "reading the answer failed: {err}"
            ))),
            Ok(None) => Err(AuthError::NoAnswer(
                "node closed before answering".to_owned(),
            )),
            Err(_) => Err(AuthError::NoAnswer(
                "no answer within the handshake timeout".to_owned(),
            )),
        };
        if let Err(err) = verdict {
            warn!(%node, error = %err, "challenge answer refused");
            self.registry.record(NodeEvent::Rejected {
                reason: err.reason(),
                detail: err.to_string(),
            });
            // Spec §1.8: close without a close frame; the node learns from the read error.
            return;
        }
        let (outbox, inbox) = mpsc::channel(NODE_OUTBOX);
        let close = self.shutdown.child_token();
        let id = self.registry.install(node, outbox, close.clone());
        info!(%node, "node connected");
        self.registry.record(NodeEvent::Connected(node));
        let reason = self.serve_node(&mut ws, node, inbox, &close).await;
        self.registry.uninstall(node, id);
        info!(%node, %reason, "node disconnected");
        self.registry.record(NodeEvent::Dropped { node, reason });
    }

    async fn serve_node<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        ws: &mut WebSocketStream<S>,
        node: Address,
        mut inbox: mpsc::Receiver<Request>,
        close: &CancellationToken,
    ) -> String {
        let heartbeat = self.config.heartbeat.unwrap_or(NEVER);
        let mut ping_at = Instant::now() + heartbeat;
        let pong_deadline = tokio::time::sleep(self.config.pong_timeout.unwrap_or(NEVER));
        tokio::pin!(pong_deadline);
        if self.config.pong_timeout.is_some() && ws.send(Message::Ping(Bytes::new())).await.is_err()
        {
            return "first ping failed".to_owned();
        }
        loop {
            tokio::select! {
                () = close.cancelled() => {
                    let _ = ws.close(None).await;
                    return "connection replaced or gateway stopping".to_owned();
                }
                request = inbox.recv() => {
                    let Some(request) = request else {
                        // A replacement cancels `close` before it drops the old outbox, so a
                        // closed outbox with `close` cancelled is that replacement.
                        if close.is_cancelled() {
                            let _ = ws.close(None).await;
                            return "connection replaced or gateway stopping".to_owned();
                        }
                        return "outbox closed".to_owned();
                    };
                    let frame = serde_json::to_vec(&request).unwrap_or_default();
                    if let Err(err) = ws.send(Message::binary(frame)).await {
                        return format!("write failed: {err}");
                    }
                }
                frame = ws.next() => match frame {
                    Some(Ok(Message::Binary(payload))) => self.route(node, &payload),
                    Some(Ok(Message::Text(text))) => self.route(node, text.as_bytes()),
                    Some(Ok(Message::Pong(_))) => {
                        if let Some(timeout) = self.config.pong_timeout {
                            pong_deadline.as_mut().reset(Instant::now() + timeout);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return format!("read failed: {err}"),
                    None => return "node closed the connection".to_owned(),
                },
                () = sleep_until(ping_at) => {
                    ping_at = Instant::now() + heartbeat;
                    let ping = tokio::time::timeout(PING_WRITE_TIMEOUT, ws.send(Message::Ping(Bytes::new())));
                    if !matches!(ping.await, Ok(Ok(()))) {
                        debug!(%node, "ping failed");
                    }
                }
                () = &mut pong_deadline => return "pong timeout".to_owned(),
            }
        }
    }

    fn route(&self, node: Address, payload: &[u8]) {
        match Response::from_slice(payload) {
            Ok(response) => self.registry.deliver(node, response),
            Err(err) => warn!(%node, error = %err, "dropping unparseable node message"),
        }
    }
}

/// A short name of a websocket message type, for refusal reasons.
fn message_kind(message: &Message) -> &'static str {
    match message {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        Message::Close(_) => "close",
        Message::Frame(_) => "frame",
    }
}
