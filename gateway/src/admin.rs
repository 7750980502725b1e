//! Admin listener (bind it to loopback): `GET /metrics` (Prometheus text), `GET /healthz`,
//! and `GET`/`PUT /routes` guarded by the operator bearer token (constant-time compare).
//!
//! Nothing here is reachable through the main listener, so tenants never see it.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::text_response;
use crate::metrics;
use crate::proxy::GatewayBody;
use crate::routes::RouteFile;
use crate::state::Gateway;

/// Largest accepted route document.
const MAX_ROUTES_BYTES: usize = 16 * 1024 * 1024;

/// Serves the admin API until shutdown.
pub async fn serve(gw: Arc<Gateway>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("Admin accept failed: {e}");
                    continue;
                }
            },
        };
        let gw = gw.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(gw.clone(), req));
            let builder = auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("Admin connection ended: {e}");
            }
        });
    }
}

async fn handle(
    gw: Arc<Gateway>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let res = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => text_response(StatusCode::OK, "ok\n"),
        (&Method::GET, "/metrics") => {
            let text = metrics::render(&gw.global, &gw.coop_metrics());
            let mut res = owned_response(StatusCode::OK, text.into_bytes());
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            res
        }
        (&Method::GET, "/routes") | (&Method::PUT, "/routes") if !authorized(&gw, &req) => {
            text_response(StatusCode::UNAUTHORIZED, "unauthorized\n")
        }
        (&Method::GET, "/routes") => {
            let table = gw.routes.load();
            let summary = serde_json::json!({ "cooperatives": table.len() });
            owned_response(StatusCode::OK, summary.to_string().into_bytes())
        }
        (&Method::PUT, "/routes") => put_routes(&gw, req).await,
        _ => text_response(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(res)
}

async fn put_routes(gw: &Gateway, req: Request<Incoming>) -> Response<GatewayBody> {
    let body = match Limited::new(req.into_body(), MAX_ROUTES_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return text_response(StatusCode::PAYLOAD_TOO_LARGE, "route document too large\n")
        }
    };
    let text = String::from_utf8_lossy(&body);
    let applied = RouteFile::from_json(&text).and_then(|file| gw.apply_routes(&file));
    match applied {
        Ok(()) => {
            tracing::info!("Routes replaced through the admin API");
            text_response(StatusCode::OK, "routes applied\n")
        }
        Err(e) => {
            tracing::warn!("Route document rejected: {e}");
            owned_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{e}\n").into_bytes(),
            )
        }
    }
}

fn authorized(gw: &Gateway, req: &Request<Incoming>) -> bool {
    let Some(expected) = gw.config.admin_token.as_deref() else {
        return false;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    constant_time_eq(given, expected.as_bytes())
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn owned_response(status: StatusCode, body: Vec<u8>) -> Response<GatewayBody> {
    let mut res = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *res.status_mut() = status;
    res
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_tokens() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
