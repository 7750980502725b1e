//! The GraphQL API at `/graphql`: GraphiQL on GET, queries and mutations on POST (body size
//! limited), subscriptions over websockets (`graphql-transport-ws` and `graphql-ws`). Depth and
//! complexity are limited; every list is paginated with a bounded page size.
//!
//! - [`guard`]: who calls (bearer access token or admin secret) and the per-operation checks;
//! - [`types`]: inputs and outputs; [`query`], [`mutation`], [`subscription`]: the operations;
//! - [`install`]: key custody checks and the council transaction of `installSystem`;
//! - [`council`]: `authorizeDecision`, `declineDecision` through the chain-intent outbox;
//! - [`participants`]: `addParticipant`, `startResetKey`, `resetKey` (invitations, key reset);
//! - [`documents`]: `verifyDocument` (regeneration from the stored meta);
//! - [`observe`]: request metrics by root field, for HTTP and websocket operations alike.

pub mod council;
pub mod documents;
pub mod guard;
pub mod install;
pub mod mutation;
pub mod observe;
pub mod participants;
pub mod payments;
pub mod query;
pub mod registration;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::Schema;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chain::api::ChainClient;
use chain::{Checksum256, Name};
use tokio::sync::broadcast;

use crate::auth::token::Signer;
use crate::config::{Config, Contracts, Secret};
use crate::db::registry::Registry;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::sync::Committed;

pub use guard::RequestAuth;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Deepest accepted selection (the standard introspection query fits).
pub const MAX_DEPTH: usize = 16;
/// Largest accepted complexity (one per selected field).
pub const MAX_COMPLEXITY: usize = 1000;
/// Largest page size of every list.
pub const MAX_PAGE_SIZE: i32 = 100;
/// Header carrying the admin secret.
pub const ADMIN_HEADER: &str = "x-admin-secret";

/// Every query root field: one object per domain (each in its own module), merged.
#[derive(Debug, Default, async_graphql::MergedObject)]
pub struct Query(
    query::CoreQuery,
    council::CouncilQuery,
    documents::DocumentsQuery,
    payments::PaymentsQuery,
);

/// Every mutation root field: one object per domain (each in its own module), merged.
#[derive(Debug, Default, async_graphql::MergedObject)]
pub struct Mutation(
    mutation::CoreMutation,
    council::CouncilMutation,
    participants::ParticipantsMutation,
    registration::RegistrationMutation,
    payments::PaymentsMutation,
);

/// The schema type.
pub type ApiSchema = Schema<Query, Mutation, subscription::Subscription>;

/// What the resolvers use.
#[derive(Debug, Clone)]
pub struct Api {
    pub db: Db,
    pub registry: Registry,
    pub chain: ChainClient,
    pub coopname: Name,
    pub chain_id: Checksum256,
    pub contracts: Contracts,
    pub signer: Option<Signer>,
    pub admin_secret: Option<Secret>,
    pub secret_key: Option<Secret>,
    pub events: broadcast::Sender<Committed>,
    pub metrics: Arc<Metrics>,
    /// Failed logins by login name (see `auth::throttle`).
    pub login_throttle: Arc<std::sync::Mutex<crate::auth::throttle::LoginThrottle>>,
    /// Invitation and key-reset links and lifetimes.
    pub keys: participants::KeyTokenConfig,
    /// Document generation and verification (the PDF engine starts on first use).
    pub paperwork: Arc<registration::Documents>,
}

impl Api {
    pub fn new(
        config: &Config,
        db: Db,
        chain: ChainClient,
        events: broadcast::Sender<Committed>,
        metrics: Arc<Metrics>,
    ) -> Api {
        let coop = config.coopname.to_string();
        Api {
            registry: Registry::new(db.clone(), config.coopname, config.contracts.clone()),
            chain,
            coopname: config.coopname,
            chain_id: config.chain_id,
            contracts: config.contracts.clone(),
            signer: config
                .jwt_key
                .as_ref()
                .map(|k| Signer::new(k.expose(), &coop)),
            admin_secret: config.admin_secret.clone(),
            secret_key: config.secret_key.clone(),
            paperwork: Arc::new(registration::Documents::new(config, db.clone())),
            db,
            events,
            metrics,
            login_throttle: Arc::default(),
            keys: config.invitations.clone(),
        }
    }
}

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, subscription::Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(32)
}

/// The schema serving `api`, with the metrics its requests feed.
#[derive(Clone)]
pub struct Endpoint {
    lazy: Arc<LazySchema>,
    metrics: Arc<Metrics>,
}

/// The resolvers' context and the schema built from it on first use: building the type registry
/// touches most of the GraphQL code, which a node nobody queries never needs in memory.
struct LazySchema {
    api: Api,
    schema: std::sync::OnceLock<ApiSchema>,
}

impl Endpoint {
    fn schema(&self) -> &ApiSchema {
        let lazy = &*self.lazy;
        lazy.schema.get_or_init(|| {
            builder()
                .extension(observe::ObserveFactory(lazy.api.metrics.clone()))
                .data(lazy.api.clone())
                .finish()
        })
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint(/graphql)")
    }
}

/// The endpoint serving `api`.
pub fn endpoint(api: Api) -> Endpoint {
    let metrics = api.metrics.clone();
    Endpoint {
        lazy: Arc::new(LazySchema {
            api,
            schema: std::sync::OnceLock::new(),
        }),
        metrics,
    }
}

/// The SDL (what `tenant-node schema` prints and `tenant-node/schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// `/graphql` routes.
pub fn routes(endpoint: Endpoint) -> Router {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(endpoint)
}

/// The auth material of a request's headers.
fn request_auth(headers: &HeaderMap) -> RequestAuth {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    RequestAuth {
        bearer: text(header::AUTHORIZATION.as_str())
            .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_owned())),
        admin: text(ADMIN_HEADER),
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    (status, axum::Json(body)).into_response()
}

async fn post_graphql(
    State(endpoint): State<Endpoint>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<async_graphql::Request>(&body) else {
        endpoint
            .metrics
            .api
            .observe("other", false, std::time::Duration::ZERO);
        return json_error(StatusCode::BAD_REQUEST, "the body is not a GraphQL request");
    };
    // Metrics are recorded by the schema's `observe` extension.
    let request = request.data(request_auth(&headers));
    axum::Json(endpoint.schema().execute(request).await).into_response()
}

async fn get_graphql(State(endpoint): State<Endpoint>, request: Request) -> Response {
    let schema = endpoint.schema().clone();
    let (mut parts, _body) = request.into_parts();
    let is_upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return Html(GRAPHIQL).into_response();
    }
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(p) => p,
        Err(status) => return status.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let headers_auth = request_auth(&parts.headers);
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_BODY_BYTES)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let mut data = async_graphql::Data::default();
                    data.insert(guard::ws_auth(&payload).unwrap_or(headers_auth));
                    Ok(data)
                })
                .serve()
        })
}

/// GraphiQL (from the jsDelivr CDN), pointed at this endpoint for queries and subscriptions.
const GRAPHIQL: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MONO tenant node — GraphiQL</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/graphiql@3/graphiql.min.css">
<style>body{margin:0;height:100vh}#graphiql{height:100vh}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script crossorigin src="https://cdn.jsdelivr.net/npm/react@18/umd/react.production.min.js"></script>
<script crossorigin src="https://cdn.jsdelivr.net/npm/react-dom@18/umd/react-dom.production.min.js"></script>
<script crossorigin src="https://cdn.jsdelivr.net/npm/graphiql@3/graphiql.min.js"></script>
<script>
const url = new URL('/graphql', location.href);
const ws = url.href.replace(/^http/, 'ws');
const fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: ws });
ReactDOM.createRoot(document.getElementById('graphiql'))
  .render(React.createElement(GraphiQL, { fetcher }));
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_admin_headers_are_read() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        h.insert(ADMIN_HEADER, "s3cret".parse().unwrap());
        let a = request_auth(&h);
        assert_eq!(a.bearer.as_deref(), Some("abc"));
        assert_eq!(a.admin.as_deref(), Some("s3cret"));
    }
}
