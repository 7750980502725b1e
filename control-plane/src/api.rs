//! The control plane's HTTP JSON API (documented in `docs/openapi/control-plane.json`).
//!
//! Every `/v1` route needs `Authorization: Bearer <operator token>` (compared in constant time);
//! the wake route also accepts the gateway's wake token, which can do nothing else. Errors are
//! `{"error": "..."}` with a 4xx/5xx status and never carry internal details beyond the message.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete as delete_route, get, post, MethodRouter};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::{CoopRow, StoreError};
use crate::model::{CoopName, CoopSecrets, CreateRequest, Desired};
use crate::runtime::NodeRuntime;
use crate::secrets::{constant_time_eq, random_hex};
use crate::service::Shared;

type S = State<Arc<Shared>>;

type Endpoint = (&'static str, &'static str, MethodRouter<Arc<Shared>>);

/// Every route the API serves: method, path, handler. The router is built from this table and
/// `tests/openapi.rs` checks it against `docs/openapi/control-plane.json`.
fn endpoints() -> Vec<Endpoint> {
    const COOP: &str = "/v1/cooperatives/{coop}";
    vec![
        ("GET", "/healthz", get(|| async { "ok" })),
        ("GET", "/readyz", get(readyz)),
        ("GET", "/metrics", get(metrics)),
        ("GET", "/v1/cooperatives", get(list)),
        ("POST", "/v1/cooperatives", post(create)),
        ("GET", COOP, get(show)),
        ("DELETE", COOP, delete_route(delete)),
        ("POST", "/v1/cooperatives/{coop}/suspend", post(suspend)),
        ("POST", "/v1/cooperatives/{coop}/resume", post(resume)),
        ("POST", "/v1/cooperatives/{coop}/restart", post(restart)),
        ("POST", "/v1/cooperatives/{coop}/wake", post(wake)),
        ("GET", "/v1/cooperatives/{coop}/logs", get(logs)),
        ("GET", "/v1/cooperatives/{coop}/secrets", get(secrets)),
    ]
}

/// `(method, path)` of every route the API serves.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    endpoints().into_iter().map(|(m, p, _)| (m, p)).collect()
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut paths: Vec<(&'static str, MethodRouter<Arc<Shared>>)> = Vec::new();
    for (_, path, handler) in endpoints() {
        match paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(handler),
            None => paths.push((path, handler)),
        }
    }
    paths
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
        .with_state(shared)
}

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::Exists(_) | StoreError::DomainTaken(_) => StatusCode::CONFLICT,
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::NoPort(_) => StatusCode::SERVICE_UNAVAILABLE,
            StoreError::Db(detail) => {
                tracing::error!(error = %detail, "Registry error");
                return ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into());
            }
        };
        ApiError(status, e.to_string())
    }
}

fn internal(e: anyhow::Error) -> ApiError {
    tracing::error!(error = %format!("{e:#}"), "Internal error");
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    match bearer(headers) {
        Some(t) if constant_time_eq(t.as_bytes(), shared.config.operator_token.as_bytes()) => {
            Ok(())
        }
        _ => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong operator token".into(),
        )),
    }
}

fn coop_name(s: &str) -> Result<CoopName, ApiError> {
    CoopName::parse(s).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))
}

async fn readyz(State(shared): S) -> Response {
    match shared.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: database unreachable",
        )
            .into_response(),
    }
}

async fn metrics(State(shared): S) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        shared.metrics.render(),
    )
        .into_response()
}

async fn list(State(shared): S, headers: HeaderMap) -> Result<Json<Vec<CoopRow>>, ApiError> {
    authorize(&shared, &headers)?;
    Ok(Json(shared.store.list().await?))
}

async fn create(
    State(shared): S,
    headers: HeaderMap,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CoopRow>), ApiError> {
    authorize(&shared, &headers)?;
    let Json(request) = body.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let coop = request
        .validate(&shared.config.defaults)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    let secrets = CoopSecrets {
        db_password: random_hex(24).map_err(internal)?,
        jwt_key: random_hex(32).map_err(internal)?,
        admin_secret: random_hex(32).map_err(internal)?,
        secret_key: random_hex(32).map_err(internal)?,
    };
    let plain = serde_json::to_vec(&secrets).map_err(|e| internal(e.into()))?;
    let sealed = shared
        .config
        .master_key
        .seal(coop.name.as_str(), &plain)
        .map_err(internal)?;
    let row = shared
        .store
        .insert(&coop, &sealed, shared.config.ports.clone(), |port| {
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        })
        .await?;
    tracing::info!(coop = %row.coopname, port = row.port, "Cooperative created");
    shared.kick.notify_one();
    Ok((StatusCode::CREATED, Json(row)))
}

async fn show(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
) -> Result<Json<CoopRow>, ApiError> {
    authorize(&shared, &headers)?;
    Ok(Json(shared.store.get(&coop_name(&coop)?).await?))
}

async fn set_desired(
    shared: &Shared,
    headers: &HeaderMap,
    coop: &str,
    desired: Desired,
) -> Result<(StatusCode, Json<CoopRow>), ApiError> {
    authorize(shared, headers)?;
    let row = shared.store.set_desired(&coop_name(coop)?, desired).await?;
    shared.kick.notify_one();
    Ok((StatusCode::ACCEPTED, Json(row)))
}

async fn delete(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
) -> Result<(StatusCode, Json<CoopRow>), ApiError> {
    set_desired(&shared, &headers, &coop, Desired::Deleted).await
}

async fn suspend(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
) -> Result<(StatusCode, Json<CoopRow>), ApiError> {
    set_desired(&shared, &headers, &coop, Desired::Suspended).await
}

async fn resume(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
) -> Result<(StatusCode, Json<CoopRow>), ApiError> {
    set_desired(&shared, &headers, &coop, Desired::Running).await
}

async fn restart(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
) -> Result<(StatusCode, Json<CoopRow>), ApiError> {
    authorize(&shared, &headers)?;
    let row = shared.store.bump_generation(&coop_name(&coop)?).await?;
    shared.kick.notify_one();
    Ok((StatusCode::ACCEPTED, Json(row)))
}

/// The gateway's wake hook: resumes a suspended cooperative. Accepts the wake token or the
/// operator token.
async fn wake(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers).unwrap_or_default();
    let wake_ok = shared
        .config
        .wake_token
        .as_deref()
        .is_some_and(|w| constant_time_eq(token.as_bytes(), w.as_bytes()));
    if !wake_ok {
        authorize(&shared, &headers)?;
    }
    let name = coop_name(&coop)?;
    let row = shared.store.get(&name).await?;
    if row.desired_state == Desired::Suspended {
        shared.store.set_desired(&name, Desired::Running).await?;
        tracing::info!(coop = %name, "Woken by the gateway");
        shared.kick.notify_one();
    }
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize)]
struct LogsQuery {
    lines: Option<usize>,
}

async fn logs(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Result<String, ApiError> {
    authorize(&shared, &headers)?;
    let name = coop_name(&coop)?;
    shared.store.get(&name).await?;
    let lines = q.lines.unwrap_or(100);
    if !(1..=10_000).contains(&lines) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "lines must be between 1 and 10000".into(),
        ));
    }
    shared
        .runtime
        .logs(&shared.workdir(&name), lines)
        .map_err(internal)
}

/// The secrets of one cooperative, for an explicit operator action (`mono coop show --secrets`).
#[derive(Debug, Serialize)]
struct SecretsView {
    database_url: String,
    db_password: String,
    jwt_key: String,
    admin_secret: String,
    secret_key: String,
}

async fn secrets(
    State(shared): S,
    headers: HeaderMap,
    Path(coop): Path<String>,
) -> Result<Json<SecretsView>, ApiError> {
    authorize(&shared, &headers)?;
    let name = coop_name(&coop)?;
    let row = shared.store.get(&name).await?;
    let sealed = row
        .secrets
        .ok_or_else(|| internal(anyhow::anyhow!("no stored secrets")))?;
    let plain = shared
        .config
        .master_key
        .open(name.as_str(), &sealed)
        .map_err(|e| internal(e.into()))?;
    let s: CoopSecrets = serde_json::from_slice(&plain).map_err(|e| internal(e.into()))?;
    tracing::info!(coop = %name, "Secrets shown to the operator");
    Ok(Json(SecretsView {
        database_url: crate::reconcile::coop_database_url(
            &shared.config.admin_url,
            &name,
            &s.db_password,
        )
        .map_err(internal)?,
        db_password: s.db_password,
        jwt_key: s.jwt_key,
        admin_secret: s.admin_secret,
        secret_key: s.secret_key,
    }))
}
