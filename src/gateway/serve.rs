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

/// Longest wait for one frame write. A gateway that reads nothing for this long is gone; without
/// a bound, a full TCP send buffer would stall this task, its shutdown and the drain grace.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for the close frame once the drain is over.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

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
                        && let Err(err) = send(&mut ws, &overloaded).await {
                            break ServeEnd::Lost(err);
                        }
                }
                Some(Err(err)) => break ServeEnd::Lost(format!("read failed: {err}")),
                None => break ServeEnd::Lost("gateway closed the connection".to_owned()),
            },
            Some(response) = outbox.recv() => {
                // A gateway that stopped reading must not hold shutdown: the write gives way
                // to it, and the drain (bounded by the grace) flushes what was buffered.
                let sent = tokio::select! {
                    sent = send(&mut ws, &response) => Some(sent),
                    () = ctx.shutdown.cancelled() => None,
                };
                match sent {
                    Some(Ok(())) => {}
                    Some(Err(err)) => break ServeEnd::Lost(err),
                    None => {
                        let grace = ctx.grace.lock().map(|grace| *grace).unwrap_or_default();
                        break drain(&mut ws, &ctx, &tasks, responses, outbox, grace).await;
                    }
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
    info!(gateway = %ctx.gateway_id, in_flight = tasks.len(), "draining link");
    // Every write of the drain counts against the grace, so a gateway that stopped reading
    // cannot hold shutdown past it.
    let until = tokio::time::Instant::now() + grace;
    let abandoned = match tokio::time::timeout_at(until, forward_responses(ws, &mut outbox)).await {
        Ok(()) => 0,
        Err(_) => {
            let abandoned = tasks.len();
            ctx.abandoned.fetch_add(abandoned, Ordering::Relaxed);
            warn!(gateway = %ctx.gateway_id, abandoned, "shutdown grace expired with requests in flight");
            abandoned
        }
    };
    let frame = CloseFrame {
        code: CloseCode::Away,
        reason: SHUTDOWN_CLOSE_REASON.into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(Some(frame))).await;
    ServeEnd::Shutdown { abandoned }
}

/// Forwards the responses of in-flight requests and refuses new ones, until every request has
/// answered or the socket fails.
async fn forward_responses<S>(ws: &mut WebSocketStream<S>, outbox: &mut mpsc::Receiver<Response>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        tokio::select! {
            response = outbox.recv() => match response {
                Some(response) => {
                    if send(ws, &response).await.is_err() {
                        return;
                    }
                }
                // Every task finished and every response was sent.
                None => return,
            },
            frame = ws.next() => {
                let payload = match frame {
                    Some(Ok(Message::Binary(payload))) => payload,
                    Some(Ok(Message::Text(text))) => text.into(),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return,
                };
                if let Some(refusal) = refuse_during_shutdown(&payload)
                    && send(ws, &refusal).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Writes one response frame, bounded by [`WRITE_TIMEOUT`].
async fn send<S>(ws: &mut WebSocketStream<S>, response: &Response) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(WRITE_TIMEOUT, ws.send(Message::binary(response.to_vec()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("write failed: {err}")),
        Err(_) => Err(format!("write timed out after {WRITE_TIMEOUT:?}")),
    }
}

/// The -32000 answer to a request that arrives while the link drains (none if unparseable).
fn refuse_during_shutdown(payload: &[u8]) -> Option<Response> {
    let request = Request::from_slice(payload).ok()?;
    let failure = Failure::Overloaded("node is shutting down".to_owned());
    Some(Response::failure(request.id, request.method, &failure))
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::protocol::Role;

    use super::*;

    /// Answers every request with a 64 KiB result.
    struct Large;

    #[async_trait::async_trait]
    impl RequestHandler for Large {
        async fn handle(&self, _gateway_id: &str, request: Request) -> Response {
            Response::success(request.id, request.method, &"x".repeat(64 * 1024))
        }
    }

    /// A gateway that stops reading (a full send buffer) cannot hold shutdown past its grace.
    #[tokio::test]
    async fn shutdown_ends_within_the_grace_when_the_gateway_stops_reading() {
        let (node, gateway) = tokio::io::duplex(1024);
        let node = WebSocketStream::from_raw_socket(node, Role::Client, None).await;
        let mut gateway = WebSocketStream::from_raw_socket(gateway, Role::Server, None).await;
        let ctx = ServeContext {
            gateway_id: Arc::from("gw"),
            handler: Arc::new(Large),
            permits: Arc::new(Semaphore::new(100)),
            max_message_bytes: 1_000_000,
            shutdown: CancellationToken::new(),
            grace: Arc::new(std::sync::Mutex::new(Duration::from_millis(100))),
            abandoned: Arc::new(AtomicUsize::new(0)),
        };
        let shutdown = ctx.shutdown.clone();
        let task = tokio::spawn(serve(node, ctx));
        for i in 0..4 {
            let request = format!(r#"{{"jsonrpc":"2.0","id":"{i}","method":"m.x"}}"#);
            gateway
                .send(Message::binary(request.into_bytes()))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        shutdown.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(3), task).await;
        assert!(
            matches!(ended, Ok(Ok(ServeEnd::Shutdown { .. }))),
            "serve did not end within 3 s of shutdown (grace 100 ms): {ended:?}"
        );
    }
}
