//! Route source: the route file (JSON, or TOML by `.toml` extension), polled for content
//! changes and applied atomically; an invalid document is logged and the old table kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

use crate::routes::RouteFile;
use crate::state::Gateway;

/// Reads and parses a route file; returns the document and its raw bytes.
pub fn read_route_file(path: &Path) -> anyhow::Result<(RouteFile, Vec<u8>)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    let file = parse_route_file(path, &bytes)?;
    Ok((file, bytes))
}

fn parse_route_file(path: &Path, bytes: &[u8]) -> anyhow::Result<RouteFile> {
    let text = std::str::from_utf8(bytes)
        .with_context(|| format!("route file {} is not UTF-8", path.display()))?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    let file = if is_toml {
        RouteFile::from_toml(text)?
    } else {
        RouteFile::from_json(text)?
    };
    Ok(file)
}

/// Polls the route file and applies every changed, valid version until shutdown.
pub async fn poll_route_file(
    gw: Arc<Gateway>,
    path: PathBuf,
    mut last: Vec<u8>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(gw.config.route_poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(path = %path.display(), "Failed to read route file: {e}");
                continue;
            }
        };
        if bytes == last {
            continue;
        }
        let applied = parse_route_file(&path, &bytes)
            .and_then(|file| gw.apply_routes(&file).map_err(anyhow::Error::from));
        match applied {
            Ok(()) => tracing::info!(path = %path.display(), "Route file applied"),
            Err(e) => {
                tracing::warn!(path = %path.display(), "Route file rejected, keeping the previous routes: {e:#}");
            }
        }
        last = bytes;
    }
}
