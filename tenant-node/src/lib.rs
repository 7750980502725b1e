//! Tenant node: MONO for one cooperative. It syncs the chain into the cooperative's own
//! database, builds the registries from it and serves GraphQL with authentication.
//!
//! Pure core (no I/O): `config` (one typed configuration), `filter` (what concerns the
//! cooperative, field plans), `abis` (ABI history by block), `extract` (SHiP block → records),
//! `batch` (a unit of storage), `digest` (canonical encoding), `metrics` (counters, rates,
//! Prometheus text), `registry` (the registries' typed records), `auth` (tokens, login checks,
//! roles), `custody` (sealing the cooperative's key), `payments` (statuses and their transition
//! table, amounts, payment methods, the `qrpay` ST00012 string and QR code), `outbox` (the
//! registration transaction of a chain intent).
//! I/O: `db` (the only module with SQL), `sync` (the SHiP sync engine), `http` (health,
//! readiness, metrics), `graphql` (the API), `cli` (commands), `paperwork` (private data
//! versioned by block, document generation, storage, regeneration and signed-document
//! verification; its pure parts are `paperwork::private` and `paperwork::signed`),
//! `outbox::sender` (sends chain intents exactly once), `mail` (the email outbox sender, SMTP
//! or files).

pub mod abis;
pub mod auth;
pub mod batch;
pub mod cli;
pub mod config;
pub mod custody;
pub mod db;
pub mod digest;
pub mod extract;
pub mod filter;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod outbox;
pub mod paperwork;
pub mod payments;
pub mod registry;
pub mod sync;

/// The binary's entry point: parses the command line, sets up logging and the runtime, runs.
pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("TENANT_NODE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
