//! Hold and wake: requests for a cooperative whose node is starting, stopping or suspended wait
//! (until a deadline) for the route to turn ready; a suspended one is woken through the
//! control plane by its first request, with concurrent wakes coalesced.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crate::error::Refusal;
use crate::routes::{CoopRoute, CoopState};
use crate::state::{CoopRuntime, Gateway};

/// Waits until `coop` is ready and returns its route, or refuses at the hold deadline.
///
/// A cooperative removed from the table while a request waits gets `NotFound`.
pub async fn wait_ready(
    gw: &Arc<Gateway>,
    rt: &Arc<CoopRuntime>,
    coop: &str,
) -> Result<Arc<CoopRoute>, Refusal> {
    let deadline = tokio::time::Instant::now() + gw.config.hold_timeout;
    let mut changes = gw.routes.subscribe();
    loop {
        changes.borrow_and_update();
        let table = gw.routes.load();
        let Some(route) = table.coop(coop) else {
            return Err(Refusal::NotFound);
        };
        match route.state {
            CoopState::Ready => return Ok(route.clone()),
            CoopState::Suspended => maybe_wake(gw, rt, coop),
            CoopState::Starting | CoopState::Stopping => {}
        }
        drop(table);
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            Ok(Err(_)) | Err(_) => {
                tracing::info!("Hold deadline passed before the node became ready");
                return Err(Refusal::NotReady {
                    retry_after_secs: gw.config.hold_timeout.as_secs().clamp(1, 30),
                });
            }
        }
    }
}

/// Sends one wake call unless one was sent within the retry interval.
fn maybe_wake(gw: &Arc<Gateway>, rt: &Arc<CoopRuntime>, coop: &str) {
    let Some(wake) = gw.config.wake.clone() else {
        tracing::warn!("Cooperative is suspended and no wake hook is configured");
        return;
    };
    {
        let mut sent = match rt.wake_sent.lock() {
            Ok(sent) => sent,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        if sent.is_some_and(|at| now.duration_since(at) < wake.retry) {
            return;
        }
        *sent = Some(now);
    }
    rt.metrics.wakes.fetch_add(1, Ordering::Relaxed);
    let url = format!("{}/v1/cooperatives/{coop}/wake", wake.control_plane_url);
    let mut request = gw.wake_client.post(&url);
    if let Some(token) = &wake.token {
        request = request.bearer_auth(token);
    }
    let coop = coop.to_owned();
    tokio::spawn(async move {
        match request.send().await {
            Ok(res) if res.status().is_success() => {
                tracing::info!(%coop, "Wake requested from the control plane");
            }
            Ok(res) => {
                tracing::warn!(%coop, status = res.status().as_u16(), "Wake call refused");
            }
            Err(e) => tracing::warn!(%coop, "Wake call failed: {e}"),
        }
    });
}
