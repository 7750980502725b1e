//! The node's HTTP listener: `/healthz` (the process is up), `/readyz` (the database answers and
//! the sync is within the configured lag of the head), `/metrics` (Prometheus text) and the
//! GraphQL endpoint `/graphql` ([`crate::graphql`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::SyncMode;
use crate::db::Db;
use crate::metrics::{Metrics, Snapshot};

/// How long `/readyz` waits for the database.
const DB_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct HttpState {
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub readiness_lag: u32,
    /// In irreversible mode the lag is counted from the LIB, not the head.
    pub mode: SyncMode,
    /// The GraphQL schema served at `/graphql` (absent: no GraphQL endpoint).
    pub graphql: Option<crate::graphql::Endpoint>,
}

/// The router (built without a socket, so tests can drive it directly).
pub fn router(state: HttpState) -> Router {
    let graphql = state.graphql.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    match graphql {
        Some(schema) => router.merge(crate::graphql::routes(schema)),
        None => router,
    }
}

/// Serves until shutdown.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let stop = async move { crate::sync::stopped(&mut shutdown).await };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(stop)
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Why the node is not ready, if it is not (pure).
pub fn readiness(
    db_ok: bool,
    s: &Snapshot,
    readiness_lag: u32,
    mode: SyncMode,
) -> Result<(), String> {
    if !db_ok {
        return Err("database unreachable".into());
    }
    if s.head == 0 {
        return Err("chain head not known yet".into());
    }
    let (target, what) = match mode {
        SyncMode::Head => (s.head, "head"),
        SyncMode::Irreversible => (s.last_irreversible, "last irreversible block"),
    };
    let lag = target.saturating_sub(s.synced);
    if lag > u64::from(readiness_lag) {
        return Err(format!(
            "sync is {lag} blocks behind the {what} (allowed {readiness_lag})"
        ));
    }
    Ok(())
}

async fn readyz(State(state): State<HttpState>) -> Response {
    let db_ok = matches!(
        tokio::time::timeout(DB_PROBE_TIMEOUT, state.db.ping()).await,
        Ok(Ok(()))
    );
    match readiness(
        db_ok,
        &state.metrics.snapshot(),
        state.readiness_lag,
        state.mode,
    ) {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<HttpState>) -> Response {
    let mut body = state.metrics.render() + &state.metrics.render_pool(state.db.pool_status());
    match state.db.intent_counts().await {
        Ok(counts) => body += &state.metrics.render_intents(counts),
        Err(e) => tracing::debug!(error = %e, "outbox intent counts unavailable"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(head: u64, lib: u64, synced: u64) -> Snapshot {
        Snapshot {
            head,
            last_irreversible: lib,
            synced,
            blocks_total: 0,
            actions_total: 0,
            rows_total: 0,
            forks_total: 0,
            reconnects_total: 0,
            errors_total: 0,
            blocks_per_second: 0.0,
            actions_per_second: 0.0,
        }
    }

    #[test]
    fn readiness_needs_the_database_and_a_small_lag() {
        let head = SyncMode::Head;
        assert!(readiness(true, &snap(100, 90, 95), 10, head).is_ok());
        assert!(readiness(true, &snap(100, 90, 80), 10, head)
            .unwrap_err()
            .contains("20 blocks behind the head"));
        assert_eq!(
            readiness(false, &snap(100, 90, 100), 10, head).unwrap_err(),
            "database unreachable"
        );
        assert!(readiness(true, &snap(0, 0, 0), 10, head).is_err());
        // irreversible mode: measured from the LIB
        let irr = SyncMode::Irreversible;
        assert!(readiness(true, &snap(500, 170, 170), 10, irr).is_ok());
        assert!(readiness(true, &snap(500, 170, 150), 10, irr)
            .unwrap_err()
            .contains("behind the last irreversible block"));
    }
}
