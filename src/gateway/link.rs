//! One gateway link: dial with the signed auth header, check the challenge, answer it, serve,
//! and reconnect with backoff. States: dialing → serving → backing off (→ dialing), until
//! shutdown. A link that closes before it was stable counts as a failed attempt.

use std::sync::Arc;

use futures_util::SinkExt;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tracing::{info, warn};

use super::backoff::Backoff;
use super::config::{ConnectorConfig, GatewayEntry};
use super::handshake::{
    AUTH_HEADER, CHALLENGE_HEADER, ChallengeError, ChallengePolicy, FieldError, auth_header_value,
    unix_now, verify_challenge,
};
use super::key::NodeKey;
use super::serve::{ServeContext, ServeEnd, serve};
use super::status::GatewayStatus;

/// The transport refuses messages this many times over the configured limit outright (and
/// closes the link, since tungstenite cannot skip the rest of such a frame); messages between
/// the limit and this ceiling are read and dropped with a log line, keeping the link up.
pub const TRANSPORT_CEILING_FACTOR: usize = 4;

/// Longest HTTP error body quoted from a refusing gateway.
const MAX_QUOTED_BODY: usize = 200;

/// Why one dial or handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The URL could not be turned into a request.
    #[error("invalid gateway URL: {0}")]
    Url(WsError),
    /// A configured value does not fit the auth header.
    #[error("cannot build auth header: {0}")]
    Header(#[from] FieldError),
    /// The gateway answered the upgrade with an HTTP error.
    #[error("gateway refused the handshake with HTTP {status}: {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The gateway's explanation, cut to 200 bytes.
        body: String,
    },
    /// TCP, TLS or websocket failure.
    #[error("connection failed: {0}")]
    Transport(WsError),
    /// The gateway's challenge was refused.
    #[error("challenge refused ({reason}): {0}", reason = .0.reason())]
    Challenge(#[from] ChallengeError),
    /// Dial plus handshake took longer than the handshake timeout.
    #[error("handshake timed out after {0} ms")]
    Timeout(u128),
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Dials `gateway` and completes the three-leg handshake.
pub(crate) async fn dial(
    config: &ConnectorConfig,
    key: &NodeKey,
    tls: &Arc<ClientConfig>,
    gateway: &GatewayEntry,
) -> Result<Socket, DialError> {
    let now = unix_now();
    let auth = auth_header_value(key, now, &config.don_id, &gateway.id)?;
    let mut request = gateway
        .url
        .as_str()
        .into_client_request()
        .map_err(DialError::Url)?;
    let auth = HeaderValue::from_str(&auth)
        .map_err(|err| DialError::Url(WsError::HttpFormat(err.into())))?;
    request.headers_mut().insert(AUTH_HEADER, auth);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(
            config
                .max_message_bytes
                .saturating_mul(TRANSPORT_CEILING_FACTOR),
        ))
        .max_frame_size(Some(
            config
                .max_message_bytes
                .saturating_mul(TRANSPORT_CEILING_FACTOR),
        ));
    let (mut ws, response) = match tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(ws_config),
        true,
        Some(Connector::Rustls(tls.clone())),
    )
    .await
    {
        Ok(pair) => pair,
        Err(WsError::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            let body =
                String::from_utf8_lossy(body.get(..MAX_QUOTED_BODY).unwrap_or(body)).into_owned();
            return Err(DialError::Refused {
                status: response.status().as_u16(),
                body,
            });
        }
        Err(err) => return Err(DialError::Transport(err)),
    };
    let header = response
        .headers()
        .get(CHALLENGE_HEADER)
        .and_then(|value| value.to_str().ok());
    let policy = ChallengePolicy {
        gateway_id: &gateway.id,
        min_random_len: config.min_challenge_len,
        tolerance_secs: config.timestamp_tolerance_secs,
        now: unix_now(),
    };
    let challenge = match verify_challenge(header, &policy) {
        Ok(challenge) => challenge,
        Err(err) => {
            let _ = ws.close(None).await;
            return Err(err.into());
        }
    };
    ws.send(Message::binary(key.sign(&challenge).to_vec()))
        .await
        .map_err(DialError::Transport)?;
    Ok(ws)
}

/// Runs one gateway link until shutdown.
pub(crate) async fn run(
    config: Arc<ConnectorConfig>,
    key: Arc<NodeKey>,
    tls: Arc<ClientConfig>,
    gateway: GatewayEntry,
    status: Arc<GatewayStatus>,
    ctx: ServeContext,
) {
    let dialer = || dial(&config, &key, &tls, &gateway);
    run_with(&config, &gateway, &status, ctx, dialer).await;
}

/// The link loop over any dialer (tests drive it with in-memory sockets and paused time).
async fn run_with<S, F, Fut>(
    config: &ConnectorConfig,
    gateway: &GatewayEntry,
    status: &GatewayStatus,
    ctx: ServeContext,
    mut dialer: F,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<WebSocketStream<S>, DialError>>,
{
    let mut backoff = Backoff::new(config.backoff_min, config.backoff_max);
    let shutdown = ctx.shutdown.clone();
    while !shutdown.is_cancelled() {
        status.dialing();
        let attempt = tokio::time::timeout(config.handshake_timeout, dialer());
        let outcome = tokio::select! {
            // Shutdown wins over a dial that completes at the same moment.
            biased;
            () = shutdown.cancelled() => break,
            outcome = attempt => outcome.unwrap_or_else(|_| Err(DialError::Timeout(config.handshake_timeout.as_millis()))),
        };
        match outcome {
            Ok(ws) => {
                info!(gateway = %gateway.id, url = %gateway.url, "gateway connected");
                status.set_connected(true);
                let started = Instant::now();
                let end = serve(ws, ctx.clone()).await;
                status.set_connected(false);
                match end {
                    ServeEnd::Shutdown { abandoned } => {
                        info!(gateway = %gateway.id, abandoned, "gateway link closed for shutdown");
                        break;
                    }
                    ServeEnd::Lost(reason) => {
                        warn!(gateway = %gateway.id, %reason, "gateway link lost");
                        if started.elapsed() >= config.stable_after {
                            backoff.reset();
                            status.set_last_error(reason);
                        } else {
                            status.failed(format!("link closed before it was stable: {reason}"));
                        }
                    }
                }
            }
            Err(err) => {
                warn!(gateway = %gateway.id, url = %gateway.url, error = %err, "gateway dial failed");
                status.failed(err.to_string());
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_tungstenite::tungstenite::protocol::Role;

    use super::*;
    use crate::gateway::RequestHandler;
    use crate::jsonrpc::{Request, Response};

    struct Unused;

    #[async_trait::async_trait]
    impl RequestHandler for Unused {
        async fn handle(&self, _: &str, request: Request) -> Response {
            Response::success(request.id, request.method, &())
        }
    }

    fn setup() -> (
        ConnectorConfig,
        GatewayEntry,
        Arc<GatewayStatus>,
        ServeContext,
    ) {
        let gateway = GatewayEntry {
            id: "gw".into(),
            url: "ws://127.0.0.1:1/".into(),
        };
        let config = ConnectorConfig::new("don", vec![gateway.clone()]).unwrap();
        let ctx = ServeContext {
            gateway_id: Arc::from("gw"),
            handler: Arc::new(Unused),
            permits: Arc::new(tokio::sync::Semaphore::new(1)),
            max_message_bytes: 1_000,
            shutdown: tokio_util::sync::CancellationToken::new(),
            grace: Arc::new(std::sync::Mutex::new(Duration::ZERO)),
            abandoned: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        };
        (config, gateway, Arc::new(GatewayStatus::new("gw")), ctx)
    }

    /// A client websocket over an in-memory pipe whose gateway end closes after `serve_for`.
    async fn link_closed_after(serve_for: Duration) -> WebSocketStream<tokio::io::DuplexStream> {
        let (client, server) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            tokio::time::sleep(serve_for).await;
            drop(server);
        });
        WebSocketStream::from_raw_socket(client, Role::Client, None).await
    }

    /// Runs the loop until `dials` dial calls happened; returns their (virtual) times.
    async fn dial_times<F, Fut>(dials: usize, mut dialer: F) -> (Vec<Duration>, Arc<GatewayStatus>)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<WebSocketStream<tokio::io::DuplexStream>, DialError>>,
    {
        let (config, gateway, status, ctx) = setup();
        let start = Instant::now();
        let times = std::sync::Mutex::new(Vec::new());
        let shutdown = ctx.shutdown.clone();
        let counting = || {
            let mut times = times.lock().unwrap();
            times.push(start.elapsed());
            if times.len() == dials {
                shutdown.cancel();
            }
            dialer()
        };
        run_with(&config, &gateway, &status, ctx, counting).await;
        (times.into_inner().unwrap(), status)
    }

    #[tokio::test(start_paused = true)]
    async fn failed_dials_follow_the_backoff() {
        let (times, status) = dial_times(8, || async {
            Err::<WebSocketStream<tokio::io::DuplexStream>, _>(DialError::Timeout(0))
        })
        .await;
        assert_eq!(times.len(), 8);
        assert_eq!(times[0], Duration::ZERO);
        // Gap n is uniform in [1 s, min(2^n s, 15 s)].
        for (n, pair) in times.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            let ceiling = Duration::from_secs((1u64 << n).min(15));
            assert!(
                gap >= Duration::from_secs(1) && gap <= ceiling,
                "gap {n}: {gap:?}"
            );
        }
        let snapshot = status.snapshot();
        assert_eq!(
            (
                snapshot.dial_attempts,
                snapshot.failed_attempts,
                snapshot.connects
            ),
            (8, 7, 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stable_link_resets_the_backoff_to_the_minimum() {
        // Each link serves 6 s (over stable_after = 5 s), then the gateway closes it: the next
        // dial comes exactly 1 s later, every time.
        let (times, status) = dial_times(5, || async {
            Ok(link_closed_after(Duration::from_secs(6)).await)
        })
        .await;
        let gaps: Vec<Duration> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
        assert_eq!(gaps, vec![Duration::from_secs(7); 4]);
        assert_eq!(status.snapshot().failed_attempts, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_closed_right_after_the_handshake_counts_as_failed() {
        let (times, status) =
            dial_times(7, || async { Ok(link_closed_after(Duration::ZERO).await) }).await;
        let gaps: Vec<Duration> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
        for (n, gap) in gaps.iter().enumerate() {
            let ceiling = Duration::from_secs((1u64 << n).min(15));
            assert!(
                *gap >= Duration::from_secs(1) && *gap <= ceiling,
                "gap {n}: {gap:?}"
            );
        }
        // Not reset: the ceilings grow, so the gaps are not all the 1 s minimum.
        assert!(
            gaps.iter().sum::<Duration>() > Duration::from_secs(6),
            "{gaps:?}"
        );
        let snapshot = status.snapshot();
        assert_eq!((snapshot.connects, snapshot.failed_attempts), (6, 6));
        assert!(
            snapshot
                .last_error
                .unwrap()
                .starts_with("link closed before it was stable: ")
        );
    }
}
