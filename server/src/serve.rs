//! The HTTP listener: accepts connections and serves the router on them
//! with hyper's server directly (axum's `serve` has no header timeout), so
//! a client that trickles its request headers (slowloris) is cut off after
//! `LIMIT_HEADER_TIMEOUT_SECONDS`. Each request carries the peer address
//! ([`ConnectInfo`]). On stop: no new connections, requests in flight
//! finish, sockets are told to close (1012), all within the grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::error::AppError;
use crate::state::AppState;

/// How the listener behaves.
pub struct Options {
    pub header_timeout: Duration,
    pub grace: Duration,
}

/// Serves `router` on `listener` until `signal`; then sets `stop` and waits
/// (at most `grace`) for requests in flight and for `drained` to say that
/// every socket has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: Options,
    signal: impl Future<Output = ()> + Send + 'static,
    stop: watch::Sender<bool>,
    drained: impl Fn() -> bool,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    tokio::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: breathe, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut signal => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let finished = async {
        graceful.shutdown().await;
        while !drained() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(options.grace, finished).await.is_err() {
        tracing::warn!(grace = ?options.grace, "stopping with work still open");
    }
}

/// Bodies this size or smaller are read before the handler runs; any
/// endpoint's own limit is lower.
const BODY_READ_MAX: usize = 1024 * 1024;

/// Reads a request's body within `LIMIT_BODY_TIMEOUT_SECONDS` (408
/// `request_timeout` otherwise), so a client cannot hold a handler open by
/// trickling its body.
pub async fn body_in_time(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let within = state.limits.settings().body_timeout;
    let read = tokio::time::timeout(within, axum::body::to_bytes(body, BODY_READ_MAX)).await;
    match read {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(e)) if e.to_string().contains("length limit") => AppError::TooLarge(
            app::types::ErrorCode::TooLarge,
            "The body is too large.".into(),
        )
        .into_response(),
        Ok(Err(_)) => AppError::BadRequest(
            app::types::ErrorCode::InvalidBody,
            "The body could not be read.".into(),
        )
        .into_response(),
        Err(_) => AppError::RequestTimeout(format!(
            "The body did not arrive within {} s.",
            within.as_secs()
        ))
        .into_response(),
    }
}
