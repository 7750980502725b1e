//! The binary's commands: `run` (start from a genesis file until Ctrl-C) and `init` (write a
//! demo genesis with fresh keys and print the private keys as JSON).

use std::path::{Path, PathBuf};

use anyhow::Context;
use chain::keys::PrivateKey;
use chain::{Checksum256, Name};
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::genesis::{
    AccountEntry, BoardEntry, CooperativeEntry, Genesis, GenesisFile, MemberEntry,
};
use crate::node::{Devchain, DevchainConfig};

#[derive(Debug, Parser)]
#[command(
    name = "devchain",
    about = "One-producer COOPOS development chain (Leap 5 chain API and SHiP)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the chain described by a genesis file (JSON or TOML).
    Run {
        #[arg(long)]
        genesis: PathBuf,
    },
    /// Writes a demo genesis (one cooperative with its board) and prints the keys as JSON.
    Init {
        /// Output file; `.toml` writes TOML, anything else JSON.
        #[arg(long)]
        out: PathBuf,
        /// Directory with `<account>.abi` files to install on the contract accounts (default:
        /// the devchain's own contract ABIs, written to `<out dir>/abi/`).
        #[arg(long)]
        abi_dir: Option<PathBuf>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run { genesis } => {
            let genesis = Genesis::load(&genesis)?;
            let handle = Devchain::start(DevchainConfig {
                genesis,
                contracts: crate::contracts::coopos_contracts(),
            })
            .await?;
            println!(
                "{}",
                json!({"http": handle.http_url(), "ship": handle.ship_url()})
            );
            tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
            handle.shutdown().await
        }
        Command::Init { out, abi_dir } => {
            let abi_dir = match abi_dir {
                Some(dir) => dir,
                None => write_contract_abis(out.parent().unwrap_or_else(|| Path::new(".")))?,
            };
            let (file, keys) = demo_genesis(Some(&abi_dir))?;
            let text = if out.extension().is_some_and(|e| e == "toml") {
                toml::to_string_pretty(&file).context("serialize genesis")?
            } else {
                serde_json::to_string_pretty(&file).context("serialize genesis")?
            };
            std::fs::write(&out, text).with_context(|| format!("write {}", out.display()))?;
            let base = out.parent().unwrap_or_else(|| Path::new("."));
            Genesis::validate(file, base).context("validate the written genesis")?;
            println!("{}", serde_json::to_string_pretty(&keys)?);
            Ok(())
        }
    }
}

/// Writes the simulated contracts' ABIs to `<dir>/abi/<account>.abi`; returns that directory.
fn write_contract_abis(dir: &Path) -> anyhow::Result<PathBuf> {
    let abi_dir = dir.join("abi");
    std::fs::create_dir_all(&abi_dir).with_context(|| format!("create {}", abi_dir.display()))?;
    for (account, text) in crate::contracts::CONTRACT_ABIS {
        let path = abi_dir.join(format!("{account}.abi"));
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(abi_dir)
}

const CONTRACTS: &[&str] = &[
    "registrator",
    "soviet",
    "gateway",
    "branch",
    "draft",
    "wallet",
    "fund",
];

/// A demo genesis and `{chain_id, keys: {account: {public_key, private_key}}}`.
pub fn demo_genesis(abi_dir: Option<&Path>) -> anyhow::Result<(GenesisFile, serde_json::Value)> {
    let mut keys = serde_json::Map::new();
    let mut key_for = |account: &str| {
        let private = PrivateKey::generate();
        let public = private.public_key();
        keys.insert(
            account.to_owned(),
            json!({"public_key": public.to_string(), "private_key": private.to_wif()}),
        );
        public
    };
    let n = |s: &str| Name::parse(s).with_context(|| format!("name {s}"));
    let mut accounts = vec![AccountEntry {
        name: n("eosio")?,
        public_key: key_for("eosio"),
        abi: None,
        privileged: true,
    }];
    for c in CONTRACTS {
        let abi = abi_dir
            .map(|d| d.join(format!("{c}.abi")))
            .filter(|p| p.exists())
            .map(|p| std::path::absolute(&p).unwrap_or(p));
        accounts.push(AccountEntry {
            name: n(c)?,
            public_key: key_for(c),
            abi,
            privileged: false,
        });
    }
    let member = |name: &str, key| -> anyhow::Result<MemberEntry> {
        Ok(MemberEntry {
            username: n(name)?,
            public_key: key,
        })
    };
    let coop_key = key_for("voskhod");
    let board = BoardEntry {
        chairman: member("chairman", key_for("chairman"))?,
        members: vec![
            member("member1", key_for("member1"))?,
            member("member2", key_for("member2"))?,
        ],
    };
    let chain_id = Checksum256::sha256(PrivateKey::generate().to_bytes());
    let file = GenesisFile {
        chain_id: chain_id.to_string(),
        block_interval_ms: 500,
        lib_lag: 6,
        data_dir: PathBuf::from("devchain-data"),
        http_addr: "127.0.0.1:8888".into(),
        ship_addr: "127.0.0.1:8080".into(),
        test_controls: false,
        accounts,
        cooperatives: vec![CooperativeEntry {
            username: n("voskhod")?,
            public_key: coop_key,
            announce: "Demo cooperative".into(),
            description: "Created by devchain init".into(),
            registration: "100.0000 AXON".into(),
            initial: "100.0000 AXON".into(),
            minimum: "300.0000 AXON".into(),
            org_registration: Some("1000.0000 AXON".into()),
            org_initial: Some("1000.0000 AXON".into()),
            org_minimum: Some("3000.0000 AXON".into()),
            is_branched: false,
            board,
        }],
    };
    Ok((
        file,
        json!({"chain_id": chain_id.to_string(), "keys": keys}),
    ))
}
