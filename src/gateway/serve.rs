//! The socket task of one authenticated gateway link. It alone owns the websocket: it reads
//! frames (pings are answered by tungstenite on the next read, which this loop always reaches
//! at once), spawns one task per request, writes responses that come back over a bounded
//! channel, and on shutdown drains in-flight requests before sending a close frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::RequestHandler;
use crate::jsonrpc::{Failure, Request, Response};

/// Responses waiting for the socket task; handlers wait (not fail) when it is full.
const RESPONSE_QUEUE: usize = 64;

/// Text of the close frame sent on shutdown.
const SHUTDOWN_CLOSE_REASON: &str = "node shutting down";

/// What a link needs to serve requests.
#[derive(Clone)]
pub(crate) struct ServeContext {
    pub gateway_id: Arc<str>,
    pub handler: Arc<dyn RequestHandler>,
    pub permits: Arc<Semaphore>,
    pub max_message_bytes: usize,
    /// Cancelled when the connector shuts down.
    pub shutdown: CancellationToken,
    /// Deadline budget for draining once `shutdown` fires; read at that moment.
    pub grace: Arc<std::sync::Mutex<Duration>>,
    /// Requests cut off by an expired shutdown grace, summed over links.
    pub abandoned: Arc<AtomicUsize>,
}

/// Why a served link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServeEnd {
    /// The gateway closed or the socket failed; the text says how.
    Lost(String),
    /// Shutdown: drained (`abandoned` requests did not finish within the grace).
    Shutdown { abandoned: usize },
}

/// Serves one websocket until it closes or shutdown completes.
pub(crate) async fn serve<S>(mut ws: WebSocketStream<S>, ctx: ServeContext) -> ServeEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (responses, mut outbox) = mpsc::channel::<Response>(RESPONSE_QUEUE);
    let tasks = TaskTracker::new();
    let end = loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(message)) => {
                    if let Some(overloaded) = accept_frame(message, &ctx, &tasks, &responses)
                        && let Err(err) = ws.send(Message::binary(overloaded.to_vec())).await {
                            break ServeEnd::Lost(format!("write failed: {err}"));
                        }
                }
                Some(Err(err)) => break ServeEnd::Lost(format!("read failed: {err}")),
                None => break ServeEnd::Lost("gateway closed the connection".to_owned()),
            },
            Some(response) = outbox.recv() => {
                if let Err(err) = ws.send(Message::binary(response.to_vec())).await {
                    break ServeEnd::Lost(format!("write failed: {err}"));
                }
            }
            () = ctx.shutdown.cancelled() => {
                let grace = ctx.grace.lock().map(|grace| *grace).unwrap_or_default();
                break drain(&mut ws, &ctx, &tasks, responses, outbox, grace).await;
            }
        }
    };
    // Requests still running on a lost link finish on their own; their responses are dropped
    // (writes are not queued across reconnects, as in Go).
    tasks.close();
    end
}

/// Handles one inbound frame; returns an immediate -32000 response when over the limit.
fn accept_frame(
    message: Message,
    ctx: &ServeContext,
    tasks: &TaskTracker,
    responses: &mpsc::Sender<Response>,
) -> Option<Response> {
    let payload = match message {
        Message::Binary(bytes) => bytes,
        Message::Text(text) => text.into(),
        // Pings are answered by tungstenite; pongs and close frames need nothing here.
        _ => return None,
    };
    if payload.len() > ctx.max_message_bytes {
        warn!(gateway = %ctx.gateway_id, bytes = payload.len(), limit = ctx.max_message_bytes, "dropping oversize message");
        return None;
    }
    let request = match Request::from_slice(&payload) {
        Ok(request) => request,
        Err(err) => {
            warn!(gateway = %ctx.gateway_id, error = %err, "dropping unparseable message");
            return None;
        }
    };
    let Ok(permit) = ctx.permits.clone().try_acquire_owned() else {
        debug!(gateway = %ctx.gateway_id, id = %request.id, "over the in-flight limit");
        let failure = Failure::Overloaded("node is over its in-flight request limit".to_owned());
        return Some(Response::failure(request.id, request.method, &failure));
    };
    let handler = ctx.handler.clone();
    let gateway_id = ctx.gateway_id.clone();
    let responses = responses.clone();
    tasks.spawn(async move {
        let (id, method) = (request.id.clone(), request.method.clone());
        // An inner task so a panicking handler still yields exactly one answer.
        let work = tokio::spawn(async move { handler.handle(&gateway_id, request).await });
        let response = match work.await {
            Ok(response) => response,
            Err(err) => {
                let failure = Failure::Internal(format!("request handler failed: {err}"));
                warn!(%id, error = %failure, "request handler failed");
                Response::failure(id, method, &failure)
            }
        };
        drop(permit);
        // A closed channel means the link is gone; the gateway will time the request out.
        let _ = responses.send(response).await;
    });
    None
}

/// Shutdown of one link: refuse new requests, keep answering pings, forward the responses of
/// in-flight requests until they finish or `grace` runs out, then send a close frame.
async fn drain<S>(
    ws: &mut WebSocketStream<S>,
    ctx: &ServeContext,
    tasks: &TaskTracker,
    responses: mpsc::Sender<Response>,
    mut outbox: mpsc::Receiver<Response>,
    grace: Duration,
) -> ServeEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    drop(responses);
    tasks.close();
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    info!(gateway = %ctx.gateway_id, in_flight = tasks.len(), "draining link");
    let mut abandoned = 0;
    loop {
        tokio::select! {
            response = outbox.recv() => match response {
                Some(response) => {
                    if ws.send(Message::binary(response.to_vec())).await.is_err() {
                        break;
                    }
                }
                // Every task finished and every response was sent.
                None => break,
            },
            frame = ws.next() => match frame {
                Some(Ok(Message::Binary(payload))) => {
                    if let Some(refusal) = refuse_during_shutdown(&payload)
                        && ws.send(Message::binary(refusal.to_vec())).await.is_err() {
                            break;
                        }
                }
                Some(Ok(Message::Text(text))) => {
                    if let Some(refusal) = refuse_during_shutdown(text.as_bytes())
                        && ws.send(Message::binary(refusal.to_vec())).await.is_err() {
                            break;
                        }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            () = &mut deadline => {
                abandoned = tasks.len();
                ctx.abandoned.fetch_add(abandoned, Ordering::Relaxed);
                warn!(gateway = %ctx.gateway_id, abandoned, "shutdown grace expired with requests in flight");
                break;
            }
        }
    }
    let frame = CloseFrame {
        code: CloseCode::Away,
        reason: SHUTDOWN_CLOSE_REASON.into(),
    };
    let _ = ws.close(Some(frame)).await;
    ServeEnd::Shutdown { abandoned }
}

/// The -32000 answer to a request that arrives while the link drains (none if unparseable).
fn refuse_during_shutdown(payload: &[u8]) -> Option<Response> {
    let request = Request::from_slice(payload).ok()?;
    let failure = Failure::Overloaded("node is shutting down".to_owned());
    Some(Response::failure(request.id, request.method, &failure))
}
