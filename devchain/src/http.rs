//! HTTP routing (axum): `/v1/chain/*` to `api.rs`, Leap error bodies, and the test controls
//! (`/v1/devchain/*`, only when the genesis enables them).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api;
use crate::error::ChainError;
use crate::node::Node;

type Endpoint = fn(&Node, &Value) -> Result<Value, ChainError>;

fn respond(result: Result<Value, ChainError>, ok: StatusCode) -> Response {
    match result {
        Ok(v) => (ok, Json(v)).into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(e.to_json())).into_response()
        }
    }
}

fn parse_body(body: &Bytes) -> Result<Value, ChainError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| ChainError::BadRequest(format!("body is not JSON: {e}")))
}

async fn call(node: Arc<Node>, body: Bytes, f: Endpoint, ok: StatusCode) -> Response {
    let result = tokio::task::spawn_blocking(move || parse_body(&body).and_then(|v| f(&node, &v)))
        .await
        .unwrap_or_else(|e| Err(ChainError::Internal(format!("handler panicked: {e}"))));
    respond(result, ok)
}

macro_rules! route {
    ($f:expr, $status:expr) => {
        move |State(node): State<Arc<Node>>, body: Bytes| async move {
            call(node, body, $f, $status).await
        }
    };
}

fn test_control(node: &Node, body: &Value, what: &str) -> Result<Value, ChainError> {
    match what {
        "produce_block" => {
            let n = body
                .get("blocks")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 10_000);
            let mut head = 0;
            for _ in 0..n {
                head = node.produce_block()?;
            }
            Ok(json!({"head_block_num": head}))
        }
        "pause" => {
            node.set_paused(true);
            Ok(json!({"paused": true}))
        }
        "resume" => {
            node.set_paused(false);
            Ok(json!({"paused": false}))
        }
        "fork" => {
            let n = body
                .get("blocks")
                .and_then(Value::as_u64)
                .ok_or_else(|| ChainError::BadRequest("fork needs {\"blocks\": N}".into()))?;
            let head = node.fork(u32::try_from(n).unwrap_or(u32::MAX))?;
            Ok(json!({"head_block_num": head}))
        }
        _ => Err(ChainError::BadRequest(format!("unknown control {what}"))),
    }
}

/// The router over a node.
pub fn router(node: Arc<Node>) -> Router {
    let ok = StatusCode::OK;
    let accepted = StatusCode::ACCEPTED;
    let mut app = Router::new()
        .route(
            "/v1/chain/get_info",
            post(route!(|n, _| api::get_info(n), ok)).get(route!(|n, _| api::get_info(n), ok)),
        )
        .route("/v1/chain/get_block", post(route!(api::get_block, ok)))
        .route(
            "/v1/chain/get_block_info",
            post(route!(api::get_block_info, ok)),
        )
        .route("/v1/chain/get_raw_abi", post(route!(api::get_raw_abi, ok)))
        .route("/v1/chain/get_abi", post(route!(api::get_abi, ok)))
        .route(
            "/v1/chain/get_table_rows",
            post(route!(api::get_table_rows, ok)),
        )
        .route("/v1/chain/get_account", post(route!(api::get_account, ok)))
        .route(
            "/v1/chain/send_transaction",
            post(route!(api::send_transaction, accepted)),
        )
        .route(
            "/v1/chain/push_transaction",
            post(route!(api::send_transaction, accepted)),
        )
        .route(
            "/v1/chain/send_transaction2",
            post(route!(api::send_transaction2, accepted)),
        );
    if node.test_controls {
        app = app
            .route(
                "/v1/devchain/produce_block",
                post(route!(|n, b| test_control(n, b, "produce_block"), ok)),
            )
            .route(
                "/v1/devchain/pause",
                post(route!(|n, b| test_control(n, b, "pause"), ok)),
            )
            .route(
                "/v1/devchain/resume",
                post(route!(|n, b| test_control(n, b, "resume"), ok)),
            )
            .route(
                "/v1/devchain/fork",
                post(route!(|n, b| test_control(n, b, "fork"), ok)),
            );
    }
    app.with_state(node)
}

/// Serves until shutdown.
pub async fn serve(listener: TcpListener, node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let app = router(node);
    let stop = async move { crate::node::stopped(&mut shutdown).await };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(error = %e, "HTTP server failed");
    }
}
