//! GraphQL metrics for every transport: an async-graphql extension that labels each operation
//! by its root field and records it once — queries and mutations when executed (over HTTP or a
//! websocket), subscriptions at their first event, refused documents (parse or validation
//! errors) as errors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest, NextSubscribe,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection};
use async_graphql::{Request, Response, ServerResult, Variables};
use futures_util::StreamExt;

use crate::metrics::{operation_label, Metrics};

/// Registers an [`Observer`] on every request and websocket operation of a schema.
#[derive(Debug)]
pub struct ObserveFactory(pub Arc<Metrics>);

impl ExtensionFactory for ObserveFactory {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observer(Arc::new(Observed {
            metrics: self.0.clone(),
            started: Instant::now(),
            operation_name: Mutex::new(None),
            label: Mutex::new("other"),
            recorded: AtomicBool::new(false),
        })))
    }
}

/// One request's (or one websocket operation's) observer.
struct Observer(Arc<Observed>);

struct Observed {
    metrics: Arc<Metrics>,
    started: Instant,
    operation_name: Mutex<Option<String>>,
    label: Mutex<&'static str>,
    recorded: AtomicBool,
}

impl Observed {
    /// Records the operation unless it was recorded already.
    fn record(&self, ok: bool, started: Instant) {
        if self.recorded.swap(true, Ordering::Relaxed) {
            return;
        }
        let label = *self.label.lock().unwrap_or_else(|p| p.into_inner());
        self.metrics.api.observe(label, ok, started.elapsed());
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Observer {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        // Parse and validation errors never reach `execute`.
        self.0.record(response.errors.is_empty(), self.0.started);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        // Websocket operations: queries and mutations are recorded by `execute` before their
        // response comes out here; a subscription (or a refused document) at its first response.
        let observed = self.0.clone();
        next.run(ctx, stream)
            .map(move |response| {
                observed.record(response.errors.is_empty(), observed.started);
                response
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self
            .0
            .operation_name
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let name = self
            .0
            .operation_name
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(field) = root_field(&document, name.as_deref()) {
            *self.0.label.lock().unwrap_or_else(|p| p.into_inner()) = operation_label(Some(&field));
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        self.0.record(response.errors.is_empty(), started);
        response
    }
}

/// The first root field of the operation that runs.
pub fn root_field(document: &ExecutableDocument, operation: Option<&str>) -> Option<String> {
    let op = match &document.operations {
        DocumentOperations::Single(op) => op,
        DocumentOperations::Multiple(ops) => match operation {
            Some(name) => ops.get(name)?,
            None => ops.values().next()?,
        },
    };
    op.node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            Selection::Field(f) => Some(f.node.name.node.to_string()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(query: &str, operation: Option<&str>) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).ok()?;
        root_field(&document, operation)
    }

    #[test]
    fn the_root_field_labels_requests() {
        assert_eq!(
            field("query Mine { getSystemInfo { coopname } }", None).as_deref(),
            Some("getSystemInfo")
        );
        assert_eq!(
            field("query A { login } mutation B { logout }", Some("B")).as_deref(),
            Some("logout")
        );
        assert_eq!(
            field("subscription { syncProgress { block } }", None).as_deref(),
            Some("syncProgress")
        );
        assert_eq!(field("query A { login }", Some("Z")), None);
    }
}
