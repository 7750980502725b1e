//! The proxying request handler: resolve the route, apply limits, hold or wake if needed,
//! forward to the cooperative's node (websocket upgrades included), record metrics and logs.

use std::convert::Infallible;
use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tracing::Instrument;

use crate::error::{text_response, ForwardError, Refusal};
use crate::headers::{self, ForwardInfo};
use crate::hold;
use crate::pool::PoolError;
use crate::resolve::{resolve, Resolution};
use crate::routes::{CoopRoute, CoopState};
use crate::state::{CoopRuntime, Gateway};

/// Boxed error of proxied bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body of every response the gateway sends to clients.
pub type GatewayBody = UnsyncBoxBody<Bytes, BoxError>;
/// Body of every request the gateway sends to tenant nodes.
pub type UpstreamBody = UnsyncBoxBody<Bytes, BoxError>;

/// The client side of a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    /// `http` or `https`.
    pub proto: &'static str,
}

/// Handles one client request; never fails (every failure is a response).
pub async fn handle(
    gw: Arc<Gateway>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let host = request_host(&req);
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let table = gw.routes.current();
    let resolution = resolve(
        &table,
        &gw.config.base_domain,
        host.as_deref().unwrap_or(""),
        &path_and_query,
    );
    drop(table);
    match resolution {
        Resolution::Health => Ok(text_response(StatusCode::OK, "ok\n")),
        Resolution::NotFound => {
            gw.global.not_found.fetch_add(1, Ordering::Relaxed);
            Ok(Refusal::NotFound.response())
        }
        Resolution::BadPath => {
            gw.global.bad_path.fetch_add(1, Ordering::Relaxed);
            Ok(Refusal::BadPath.response())
        }
        Resolution::Coop {
            route,
            path_and_query,
        } => {
            let span = tracing::info_span!("request", coop = %route.coop);
            let res = handle_coop(gw, conn, req, route, host, path_and_query)
                .instrument(span)
                .await;
            Ok(res)
        }
    }
}

async fn handle_coop(
    gw: Arc<Gateway>,
    conn: ConnInfo,
    req: Request<Incoming>,
    route: Arc<CoopRoute>,
    host: Option<String>,
    path_and_query: String,
) -> Response<GatewayBody> {
    let start = Instant::now();
    let rt = gw.runtime(route.coop.as_str());
    let method = req.method().clone();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    let res = match admit(&gw, &rt, declared) {
        Err(refusal) => refusal.response(),
        Ok(()) => match ready_route(&gw, &rt, route).await {
            Err(refusal) => refusal.response(),
            Ok(route) => {
                let fwd = Forward {
                    gw: &gw,
                    rt: &rt,
                    conn,
                    route: &route,
                    host: host.as_deref(),
                    path_and_query: &path_and_query,
                };
                match forward(fwd, req).await {
                    Ok(res) => res,
                    Err(e) => {
                        tracing::warn!(upstream = %route.upstream, "Proxying failed: {e:#}");
                        e.refusal().response()
                    }
                }
            }
        },
    };
    let latency = start.elapsed();
    rt.metrics.observe(res.status().as_u16(), latency);
    tracing::info!(
        target: "gateway::access",
        peer = %conn.peer,
        %method,
        path = %path_and_query,
        status = res.status().as_u16(),
        latency_us = latency.as_micros() as u64,
        "Request"
    );
    res
}

/// Rate limit and declared body size, checked before anything waits.
pub(crate) fn admit(gw: &Gateway, rt: &CoopRuntime, declared: Option<u64>) -> Result<(), Refusal> {
    let allowed = match rt.limiter.lock() {
        Ok(mut limiter) => limiter.try_acquire(Instant::now()),
        Err(poisoned) => poisoned.into_inner().try_acquire(Instant::now()),
    };
    if !allowed {
        rt.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
        return Err(Refusal::RateLimited);
    }
    if declared.is_some_and(|len| len > gw.config.max_body_bytes) {
        return Err(Refusal::BodyTooLarge);
    }
    Ok(())
}

/// The route once the node is ready: at once, or after holding the request (bounded per
/// cooperative) until the node has started or been woken, or the hold deadline passes.
pub(crate) async fn ready_route(
    gw: &Arc<Gateway>,
    rt: &Arc<CoopRuntime>,
    route: Arc<CoopRoute>,
) -> Result<Arc<CoopRoute>, Refusal> {
    if route.state == CoopState::Ready {
        return Ok(route);
    }
    let Some(_slot) = rt.try_hold() else {
        rt.metrics.hold_overflow.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("Too many requests held for this cooperative; refusing");
        return Err(Refusal::NotReady {
            retry_after_secs: gw.config.hold_timeout.as_secs().clamp(1, 30),
        });
    };
    rt.metrics.held.fetch_add(1, Ordering::Relaxed);
    hold::wait_ready(gw, rt, route.coop.as_str()).await
}

struct Forward<'a> {
    gw: &'a Gateway,
    rt: &'a Arc<CoopRuntime>,
    conn: ConnInfo,
    route: &'a CoopRoute,
    host: Option<&'a str>,
    path_and_query: &'a str,
}

async fn forward(
    fwd: Forward<'_>,
    mut req: Request<Incoming>,
) -> Result<Response<GatewayBody>, ForwardError> {
    let websocket = headers::is_websocket_upgrade(req.headers());
    let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let uri = Uri::builder()
        .path_and_query(fwd.path_and_query)
        .build()
        .map_err(ForwardError::BadRequest)?;
    let mut up = Request::builder()
        .method(parts.method)
        .uri(uri)
        .version(http::Version::HTTP_11)
        .body(upstream_body(fwd.gw, fwd.rt, body, websocket))
        .map_err(ForwardError::BadRequest)?;
    *up.headers_mut() = parts.headers;
    headers::prepare_request(
        up.headers_mut(),
        &ForwardInfo {
            client_ip: fwd.conn.peer.ip(),
            proto: fwd.conn.proto,
            host: fwd.host,
            coop: fwd.route.coop.as_str(),
            websocket,
        },
    );
    if let Ok(host) = HeaderValue::from_str(fwd.route.upstream.as_str()) {
        up.headers_mut().insert(header::HOST, host);
    }
    let timeout = fwd.gw.config.upstream_response_timeout;
    let pool = fwd.rt.pool();
    let mut res = match tokio::time::timeout(timeout, pool.send(&fwd.route.upstream, up)).await {
        Err(_) => return Err(ForwardError::Timeout(timeout)),
        Ok(Err(e)) if is_length_limit(&e) => return Err(ForwardError::BodyTooLarge),
        Ok(Err(e)) => return Err(ForwardError::Upstream(e)),
        Ok(Ok(res)) => res,
    };
    let upgraded = res.status() == StatusCode::SWITCHING_PROTOCOLS;
    if let (true, Some(client_upgrade)) = (upgraded, client_upgrade) {
        let upstream_upgrade = hyper::upgrade::on(&mut res);
        let metrics = fwd.rt.metrics.clone();
        tokio::spawn(
            async move {
                let (client, upstream) = tokio::join!(client_upgrade, upstream_upgrade);
                let (client, upstream) = match (client, upstream) {
                    (Ok(c), Ok(u)) => (c, u),
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::debug!("Websocket upgrade failed: {e}");
                        return;
                    }
                };
                metrics.open_websockets.fetch_add(1, Ordering::Relaxed);
                let mut client = TokioIo::new(client);
                let mut upstream = TokioIo::new(upstream);
                match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                    Ok((to_node, to_client)) => {
                        metrics.add_bytes_in(to_node);
                        metrics.add_bytes_out(to_client);
                    }
                    Err(e) => tracing::debug!("Websocket closed: {e}"),
                }
                metrics.open_websockets.fetch_sub(1, Ordering::Relaxed);
            }
            .in_current_span(),
        );
    }
    let (mut parts, body) = res.into_parts();
    headers::prepare_response(&mut parts.headers, upgraded);
    let metrics = fwd.rt.metrics.clone();
    let body = body
        .map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                metrics.add_bytes_out(data.len() as u64);
            }
            frame
        })
        .map_err(BoxError::from)
        .boxed_unsync();
    Ok(Response::from_parts(parts, body))
}

/// The request body sent upstream: size-limited and counted (empty for an upgrade).
fn upstream_body(gw: &Gateway, rt: &CoopRuntime, body: Incoming, websocket: bool) -> UpstreamBody {
    if websocket {
        return Empty::new().map_err(|never| match never {}).boxed_unsync();
    }
    let metrics = rt.metrics.clone();
    let limit = usize::try_from(gw.config.max_body_bytes).unwrap_or(usize::MAX);
    Limited::new(body, limit)
        .map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                metrics.add_bytes_in(data.len() as u64);
            }
            frame
        })
        .boxed_unsync()
}

fn is_length_limit(e: &PoolError) -> bool {
    let mut source = e.source();
    while let Some(err) = source {
        if err.is::<LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The authority the client addressed: the URI's (HTTP/2, absolute form) or the Host header.
fn request_host<B>(req: &Request<B>) -> Option<String> {
    if let Some(authority) = req.uri().authority() {
        return Some(authority.as_str().to_owned());
    }
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
