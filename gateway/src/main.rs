//! `gateway` binary: parse config, initialise logging, run the gateway.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = gateway::config::Config::load(gateway::config::Args::parse())?;
    gateway::run(config).await
}
