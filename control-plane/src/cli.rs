//! Command line of `mono`: parsing, dispatch, and output for people (tables) or scripts (`--json`).
//!
//! Errors go to stderr as one readable message with a non-zero exit status.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ConfigArgs, PlatformConfig};
use crate::platform::{self, DownReport, UpReport};

#[derive(Debug, Parser)]
#[command(
    name = "mono",
    version,
    about = "Operator CLI of the MONO hosting platform"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the local platform up: PostgreSQL, development chain, gateway, control plane and a
    /// demo cooperative (each started unless already running).
    Up(OutputArgs),
    /// Stop everything `up` started.
    Down(OutputArgs),
    /// Chain tools: keys, signatures, ABI encoding, transactions (JSON on stdout).
    #[command(subcommand)]
    Chain(crate::chain_cli::ChainCommand),
    /// Run the control plane service in the foreground (API, reconcile loop, nodes).
    Serve,
    /// Manage hosted cooperatives through the control plane API.
    #[command(subcommand)]
    Coop(CoopCommand),
    /// (internal, started by `up`) Copy standard input into a log file rotated by size.
    #[command(hide = true)]
    LogPump {
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long)]
        max_bytes: u64,
        #[arg(long)]
        keep: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum CoopCommand {
    /// Create a cooperative: database, role, secrets, node; waits until it is ready.
    Create(CreateArgs),
    /// List cooperatives.
    List(OutputArgs),
    /// Show one cooperative.
    Show {
        coop: String,
        /// Also print its secrets (database URL, keys). An explicit operator action.
        #[arg(long)]
        secrets: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Stop the node, keep the data (the gateway wakes it on the next request).
    Suspend(CoopArgs),
    /// Run a suspended cooperative again.
    Resume(CoopArgs),
    /// Restart the node.
    Restart(CoopArgs),
    /// Stop the node and drop its database, role and files.
    Delete(CoopArgs),
    /// Print the node's log.
    Logs {
        coop: String,
        #[arg(long, default_value_t = 100)]
        lines: usize,
    },
}

#[derive(Debug, clap::Args)]
pub struct CoopArgs {
    pub coop: String,
    /// Return at once instead of waiting for the change to complete.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The cooperative's account name.
    pub coop: String,
    #[arg(long)]
    pub chain_url: Option<String>,
    #[arg(long)]
    pub ship_url: Option<String>,
    #[arg(long)]
    pub chain_id: Option<String>,
    /// Custom domain served by the gateway.
    #[arg(long)]
    pub domain: Option<String>,
    #[arg(long)]
    pub memory_mb: Option<u32>,
    /// PostgreSQL CONNECTION LIMIT of its role.
    #[arg(long)]
    pub connection_limit: Option<u32>,
    #[arg(long, value_enum)]
    pub runtime: Option<crate::model::RuntimeKind>,
    /// Return at once instead of waiting until the node is ready.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Output format of commands that print for people by default.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Chain(command) => print_json(&crate::chain_cli::run(command)?),
        Command::Up(out) => {
            let config = PlatformConfig::load(&cli.config)?;
            print_up(&platform::up(&config, &cli.config).await?, out.json)
        }
        Command::Down(out) => {
            let config = PlatformConfig::load(&cli.config)?;
            print_down(&platform::down(&config).await?, out.json)
        }
        Command::Serve => {
            let config = PlatformConfig::load(&cli.config)?;
            platform::serve(&config).await
        }
        Command::Coop(command) => {
            let config = PlatformConfig::load(&cli.config)?;
            crate::cli_coop::run(&config, command).await
        }
        Command::LogPump {
            file,
            max_bytes,
            keep,
        } => crate::daemon::log_pump(file, max_bytes, keep).await,
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MONO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn print_up(report: &UpReport, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(report);
    }
    let pg = &report.postgres;
    let what = |action: &str| match action {
        "initialized" => "initialised and started",
        "started" => "started",
        "already-running" => "already running",
        _ => "reachable",
    };
    let row = |label: &str, value: &str| println!("  {label:<15} {value}");
    println!(
        "PostgreSQL {} ({}) {}",
        pg.server_version,
        pg.kind,
        what(pg.action)
    );
    row("platform data", &report.data_dir);
    for (label, value) in [
        ("data directory", &pg.data_dir),
        ("unix socket", &pg.socket),
        ("server log", &pg.log_file),
        ("password file", &pg.password_file),
    ] {
        if let Some(v) = value {
            row(label, v);
        }
    }
    row("connection", &pg.url);
    let services = &report.services;
    if let Some(chain) = &services.devchain {
        println!(
            "Development chain {} (pid {})",
            what(chain.action),
            chain.pid
        );
        row("chain API", &chain.http_url);
        row("SHiP", &chain.ship_url);
        row("chain id", &chain.chain_id);
        row("log", &chain.log_file);
    }
    let gw = &services.gateway;
    println!("Gateway {} (pid {})", what(gw.action), gw.pid);
    row("listens", &gw.url);
    row("admin", &gw.admin_url);
    row("log", &gw.log_file);
    let cp = &services.control_plane;
    println!("Control plane {} (pid {})", what(cp.action), cp.pid);
    row("API", &cp.url);
    row("operator token", &cp.token_file);
    row("log", &cp.log_file);
    if let Some(demo) = &services.demo {
        let how = if demo.action == "created" {
            "created"
        } else {
            "exists"
        };
        println!(
            "Demo cooperative {} {how}: {}",
            demo.coop, demo.observed_state
        );
        row("GraphQL", &demo.graphql_url);
        row("GraphQL (host)", &demo.graphql_host_url);
        row("readiness", &demo.readyz_url);
        if let Some(keys) = &demo.keys {
            let key_row = |role: &str, k: &serde_json::Value| {
                let s = |f: &str| k[f].as_str().unwrap_or("-").to_owned();
                println!("  {role:<15} {}", s("username"));
                println!("  {:<15} public  {}", "", s("public_key"));
                println!("  {:<15} private {}", "", s("private_key"));
            };
            key_row("cooperative", &keys["cooperative"]);
            key_row("chairman", &keys["board"]["chairman"]);
            if let Some(members) = keys["board"]["members"].as_array() {
                for m in members {
                    key_row("board member", m);
                }
            }
        }
    } else {
        println!("No demo cooperative: a chain URL is configured (the demo lives on the devchain)");
    }
    println!("\nConnect with: psql '{}'", pg.url);
    Ok(())
}

fn print_down(report: &DownReport, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(report);
    }
    let services = &report.services;
    let line = |name: &str, outcome: &str| match outcome {
        "stopped" => println!("{name} stopped"),
        _ => println!("{name} was not running"),
    };
    line("Control plane", services.control_plane);
    if services.leftover_nodes > 0 {
        println!(
            "{} leftover tenant node(s) stopped",
            services.leftover_nodes
        );
    }
    line("Gateway", services.gateway);
    line("Development chain", services.devchain);
    match report.postgres {
        "external" => println!("PostgreSQL is external; left running"),
        other => line("PostgreSQL", other),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        // clap checks names, conflicts and defaults of the whole tree here instead of panicking
        // at run time.
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
