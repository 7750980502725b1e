//! Gateway: routes each cooperative's GraphQL traffic (HTTP/1.1, h2c, TLS, websockets) to its
//! tenant node by host or path prefix, with per-cooperative limits, hold/wake and metrics.
//!
//! Pure core: `routes` (wire type and validated table), `resolve` (host/path → coop),
//! `headers`, `ratelimit`, `h1::codec`. I/O: `server`, `h1` (the native HTTP/1.1 path), `proxy` and
//! `pool` (the hyper path), `hold`, `admin`, `source`, `tls`.

pub mod admin;
pub mod config;
pub mod error;
pub mod h1;
pub mod headers;
pub mod hold;
pub mod metrics;
pub mod pool;
pub mod proxy;
pub mod ratelimit;
pub mod resolve;
pub mod routes;
pub mod server;
pub mod source;
pub mod state;
pub mod tls;

/// Runs the gateway until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn run(config: config::Config) -> anyhow::Result<()> {
    let running = server::start(config).await?;
    wait_for_signal().await?;
    tracing::info!("Shutting down");
    running.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        res = tokio::signal::ctrl_c() => res?,
        _ = term.recv() => {}
    }
    Ok(())
}
