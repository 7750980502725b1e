//! Publishing the route table to the gateway: `PUT /routes` on its admin listener with the
//! wire type `gateway::routes::RouteFile`, whenever the table changes and again every 30 s (so a
//! restarted gateway gets it back). Failures are retried at the next pass.

use std::time::{Duration, Instant};

use anyhow::Context;
use gateway::routes::{CoopState, RouteEntry, RouteFile};

use crate::db::CoopRow;
use crate::model::{Desired, Observed};
use crate::service::GatewayTarget;

const REFRESH: Duration = Duration::from_secs(30);

/// The route of each cooperative that is not being deleted.
pub fn route_file(rows: &[CoopRow]) -> RouteFile {
    let routes = rows
        .iter()
        .filter(|r| r.desired_state != Desired::Deleted)
        .filter_map(|r| {
            let port = r.port?;
            let state = match (r.desired_state, r.observed_state) {
                (_, Observed::Ready) if r.desired_state == Desired::Running => CoopState::Ready,
                (Desired::Suspended, Observed::Suspended) => CoopState::Suspended,
                (Desired::Suspended, _) | (_, Observed::Stopping) => CoopState::Stopping,
                // A suspended node asked to run: the gateway holds requests while it starts.
                _ => CoopState::Starting,
            };
            Some(RouteEntry {
                coop: r.coopname.to_string(),
                upstream: format!("127.0.0.1:{port}"),
                domains: r.domain.iter().cloned().collect(),
                state,
            })
        })
        .collect();
    RouteFile { routes }
}

/// Remembers what the gateway last accepted.
#[derive(Debug, Default)]
pub struct Publisher {
    last: Option<(RouteFile, Instant)>,
}

impl Publisher {
    pub async fn publish(
        &mut self,
        http: &reqwest::Client,
        target: &GatewayTarget,
        rows: &[CoopRow],
    ) -> anyhow::Result<()> {
        let file = route_file(rows);
        if let Some((last, at)) = &self.last {
            if *last == file && at.elapsed() < REFRESH {
                return Ok(());
            }
        }
        let url = format!("{}/routes", target.admin_url.trim_end_matches('/'));
        let response = http
            .put(&url)
            .bearer_auth(&target.admin_token)
            .json(&file)
            .send()
            .await
            .with_context(|| format!("PUT {url}"))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("gateway refused the routes ({status}): {body}");
        }
        tracing::debug!(routes = file.routes.len(), "Routes published");
        self.last = Some((file, Instant::now()));
        Ok(())
    }
}
