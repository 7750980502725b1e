//! Command line and commands: `serve` (migrate, sync, HTTP and GraphQL, the registration
//! outbox, mail and payment expiry tasks), `resync` (rebuild the
//! chain-derived data up to the current head), `digest` (print the canonical digest of that
//! data), `schema` (print the GraphQL SDL), `regenerate` (rebuild a stored document and
//! compare its hash).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chain::api::ChainClient;
use clap::{Parser, Subcommand};
use documents::factory::Factory;
use documents::pdf::PdfEngine;
use documents::render::Renderer;
use tokio::sync::watch;
use tracing::Instrument;

use crate::config::{Config, ConfigArgs, SyncMode};
use crate::db::Db;
use crate::http::HttpState;
use crate::mail::sender::MailSender;
use crate::metrics::Metrics;
use crate::outbox::custody_key::CustodyKey;
use crate::outbox::sender::Sender;
use crate::paperwork::{Paperwork, Regeneration};
use crate::sync::{self, SyncContext};

/// Timeout of each chain HTTP API call.
const CHAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `serve` asks the chain for its head (for the lag when SHiP is quiet).
const HEAD_POLL: Duration = Duration::from_secs(2);
/// How often `serve` expires PENDING payments whose time is up.
const EXPIRY_SWEEP: Duration = Duration::from_secs(60);
/// How long `serve` waits for each background task to stop at shutdown.
const TASK_STOP: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
#[command(name = "tenant-node", version, about = "MONO for one cooperative")]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Apply migrations, sync the chain and serve /healthz, /readyz and /metrics.
    Serve,
    /// Drop everything derived from the chain and sync it again up to the current head
    /// (private data is kept), then exit.
    Resync,
    /// Print the canonical SHA-256 of everything derived from the chain.
    Digest,
    /// Regenerate a stored document from its meta and the data as of its block and compare
    /// the hash. Exit code 0: match, 1: mismatch, 2: error.
    Regenerate {
        /// The document's doc_hash (64 hex digits, any case).
        #[arg(long)]
        hash: String,
        /// Only this member's record (default: every member's record of the hash).
        #[arg(long)]
        username: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the GraphQL schema (SDL); needs no configuration.
    Schema,
}

/// Runs a parsed command line; the exit code for a finished command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Schema = cli.command {
        print!("{}", crate::graphql::sdl());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Regenerate {
        hash,
        username,
        json,
    } = &cli.command
    {
        // this command reports its own errors (exit code 2)
        let outcome = match crate::config::load(&cli.config) {
            Ok(config) => {
                let span = tracing::info_span!("tenant_node", coop = %config.coopname);
                regenerate(&config, hash, username.as_deref())
                    .instrument(span)
                    .await
            }
            Err(e) => Err(anyhow::Error::from(e)),
        };
        let (text, code) = crate::paperwork::report::render(hash, &outcome, *json);
        println!("{text}");
        return Ok(ExitCode::from(code));
    }
    let config = crate::config::load(&cli.config)?;
    let span = tracing::info_span!("tenant_node", coop = %config.coopname);
    match cli.command {
        Command::Serve => serve(config, shutdown_signal()).instrument(span).await?,
        Command::Resync => {
            resync(&config, shutdown_signal()).instrument(span).await?;
        }
        Command::Digest => {
            let (digest, _) = digest(&config).instrument(span).await?;
            println!("{digest}");
        }
        Command::Regenerate { .. } => unreachable!("handled above"),
        Command::Schema => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the document factory (templates and the WeasyPrint engine of `config.pdf`).
pub async fn start_factory(config: &Config) -> anyhow::Result<Factory> {
    let renderer = Renderer::new().context("load the document templates")?;
    let pdf = PdfEngine::start(config.pdf.clone())
        .await
        .context("start the PDF engine")?;
    Ok(Factory::new(renderer, pdf))
}

/// `regenerate`: every stored record of the hash (or the member's), regenerated and compared.
pub async fn regenerate(
    config: &Config,
    hash: &str,
    username: Option<&str>,
) -> anyhow::Result<Vec<Regeneration>> {
    let db = open_database(config).await?;
    let factory = Arc::new(start_factory(config).await?);
    let paperwork = Paperwork::new(db, config.coopname, config.contracts.clone(), factory);
    paperwork
        .regenerate(hash, username)
        .await
        .context("regenerate")
}

/// A receiver that turns true on SIGINT or SIGTERM.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("Shutting down");
        tx.send_replace(true);
    });
    rx
}

/// Opens the pool, applies migrations and checks that the database belongs to this node.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, config.db_pool_size).context("open the database")?;
    db.migrate().await.context("apply migrations")?;
    db.check_identity(&config.chain_id, config.coopname)
        .await
        .context("check the database identity")?;
    Ok(db)
}

fn chain_client(config: &Config) -> anyhow::Result<ChainClient> {
    ChainClient::new(&config.chain_url, CHAIN_TIMEOUT).context("chain API client")
}

/// Waits for the chain API and checks its chain id; returns its head and LIB.
async fn check_chain(
    config: &Config,
    chain: &ChainClient,
    shutdown: &mut watch::Receiver<bool>,
) -> anyhow::Result<Option<(u32, u32)>> {
    let mut backoff = Duration::from_millis(250);
    loop {
        match chain.get_info().await {
            Ok(info) => {
                anyhow::ensure!(
                    info.chain_id == config.chain_id,
                    "the chain at {} has chain id {}, the configuration expects {}",
                    config.chain_url,
                    info.chain_id.to_hex(),
                    config.chain_id.to_hex()
                );
                return Ok(Some((
                    info.head_block_num,
                    info.last_irreversible_block_num,
                )));
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "The chain API is unreachable");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = sync::stopped(shutdown) => return Ok(None),
                }
                backoff = (backoff * 2).min(Duration::from_secs(15));
            }
        }
    }
}

/// `serve`: the HTTP listener, the head poller and the sync engine, until shutdown.
pub async fn serve(config: Config, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let chain = chain_client(&config)?;
    let metrics = Arc::new(Metrics::new(&config.coopname.to_string()));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen on {}", config.listen))?;
    let local = listener.local_addr().context("listener address")?;
    tracing::info!(listen = %local, "HTTP listener ready");
    let events = tokio::sync::broadcast::channel(sync::EVENT_BUFFER).0;
    if config.jwt_key.is_none() {
        tracing::warn!("No JWT key configured: login and authenticated operations are refused");
    }
    let api = crate::graphql::Api::new(
        &config,
        db.clone(),
        chain.clone(),
        events.clone(),
        metrics.clone(),
    );
    let tasks = start_tasks(&config, &db, &chain, &shutdown)?;
    let state = HttpState {
        db: db.clone(),
        metrics: metrics.clone(),
        readiness_lag: config.readiness_lag,
        mode: config.sync_mode,
        graphql: Some(crate::graphql::endpoint(api)),
    };
    let http =
        tokio::spawn(crate::http::serve(listener, state, shutdown.clone()).in_current_span());

    if check_chain(&config, &chain, &mut shutdown).await?.is_some() {
        let poller = tokio::spawn(
            poll_head(chain.clone(), metrics.clone(), shutdown.clone()).in_current_span(),
        );
        let ctx = SyncContext::new(&config, db, chain, metrics).with_events(events);
        sync::run(&ctx, None, shutdown.clone()).await?;
        poller.abort();
    }
    for (name, task) in tasks {
        match tokio::time::timeout(TASK_STOP, task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(task = name, error = %e, "A task ended abnormally"),
            Err(_) => tracing::warn!(task = name, "A task did not stop in time"),
        }
    }
    match http.await {
        Ok(result) => result.context("serve HTTP"),
        Err(e) => Err(anyhow::anyhow!("the HTTP task ended abnormally: {e}")),
    }
}

/// The background tasks of `serve`, each stopping on `shutdown`: the registration outbox sender
/// (signing with the key in custody; needs the secret-at-rest key), the mail sender (when
/// `[mail]` is configured) and the payment expiry sweep.
fn start_tasks(
    config: &Config,
    db: &Db,
    chain: &ChainClient,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<(&'static str, tokio::task::JoinHandle<()>)>> {
    let mut tasks = Vec::new();
    match &config.secret_key {
        Some(secret) => {
            let keys = Arc::new(CustodyKey::new(db.clone(), secret.clone()));
            let sender = Sender::new(
                db.clone(),
                chain.clone(),
                config.coopname,
                config.contracts.clone(),
                config.chain_id,
                keys,
                config.outbox,
            );
            let stop = shutdown.clone();
            tasks.push((
                "outbox",
                tokio::spawn(async move { sender.run(stop).await }.in_current_span()),
            ));
        }
        None => tracing::warn!(
            "No secret-at-rest key: the registration outbox is not sent (PAID registrations wait)"
        ),
    }
    if let Some(mail) = &config.mail {
        let sender = MailSender::new(db.clone(), config.coopname, mail.clone())
            .context("start the mail sender")?;
        let stop = shutdown.clone();
        tasks.push((
            "mail",
            tokio::spawn(async move { sender.run(stop).await }.in_current_span()),
        ));
    }
    tasks.push((
        "payment-expiry",
        tokio::spawn(expire_payments(db.clone(), shutdown.clone()).in_current_span()),
    ));
    Ok(tasks)
}

/// Expires due PENDING payments every [`EXPIRY_SWEEP`] until shutdown.
async fn expire_payments(db: Db, mut shutdown: watch::Receiver<bool>) {
    loop {
        match db.expire_due_payments().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "Expired unpaid payments"),
            Err(e) => tracing::warn!(error = %e, "Payment expiry sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EXPIRY_SWEEP) => {}
            _ = sync::stopped(&mut shutdown) => return,
        }
    }
}

/// Keeps the chain head in the metrics fresh even when no blocks arrive.
async fn poll_head(chain: ChainClient, metrics: Arc<Metrics>, mut shutdown: watch::Receiver<bool>) {
    loop {
        match chain.get_info().await {
            Ok(info) => {
                metrics.observe_chain(info.head_block_num, info.last_irreversible_block_num)
            }
            Err(e) => tracing::debug!(error = %e, "get_info failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(HEAD_POLL) => {}
            _ = sync::stopped(&mut shutdown) => return,
        }
    }
}

/// `resync`: wipes the chain-derived data and syncs up to the head (LIB in irreversible mode)
/// the chain reports now. Returns the block reached (`None` when interrupted).
pub async fn resync(
    config: &Config,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Option<u32>> {
    let db = open_database(config).await?;
    let chain = chain_client(config)?;
    let Some((head, lib)) = check_chain(config, &chain, &mut shutdown).await? else {
        return Ok(None);
    };
    db.wipe_chain_data()
        .await
        .context("remove the chain-derived data")?;
    let target = match config.sync_mode {
        SyncMode::Head => head,
        SyncMode::Irreversible => lib,
    };
    tracing::info!(target, "Resync starts");
    let metrics = Arc::new(Metrics::new(&config.coopname.to_string()));
    let ctx = SyncContext::new(config, db.clone(), chain, metrics);
    sync::run(&ctx, Some(target), shutdown).await?;
    let reached = db.checkpoint().await?.map(|c| c.block_num);
    tracing::info!(?reached, "Resync finished");
    Ok(reached.filter(|r| *r >= target))
}

/// `digest`: the digest and the number of records it covers.
pub async fn digest(config: &Config) -> anyhow::Result<(String, u64)> {
    let db = open_database(config).await?;
    crate::db::digest::digest(&db)
        .await
        .context("compute the digest")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "tenant-node",
            "digest",
            "--coopname",
            "voskhod",
            "--sync-mode",
            "irreversible",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Digest));
        assert_eq!(cli.config.coopname.as_deref(), Some("voskhod"));
        assert_eq!(cli.config.sync_mode, Some(SyncMode::Irreversible));
        let cli =
            Cli::try_parse_from(["tenant-node", "regenerate", "--hash", "AB", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Regenerate { ref hash, username: None, json: true } if hash == "AB"
        ));
    }
}
