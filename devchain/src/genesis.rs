//! The genesis file (JSON or TOML, see README.md): parsed into [`GenesisFile`], validated once
//! into [`Genesis`], and applied to an empty state as block 1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use chain::abi::{Abi, AbiDef};
use chain::asset::Asset;
use chain::bytes::{Bytes, Pack};
use chain::keys::PublicKey;
use chain::time::{BlockTimestamp, TimePointSec};
use chain::{name, Checksum256, Name};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::contract::{key_authority, new_account};
use crate::error::ChainError;
use crate::state::{ChainState, Journal, RowKey, RowValue, TableKey};
use crate::system::SYSTEM_ABI_JSON;

/// The genesis file as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisFile {
    /// 64 hex digits.
    pub chain_id: String,
    #[serde(default = "default_interval")]
    pub block_interval_ms: u64,
    #[serde(default = "default_lag")]
    pub lib_lag: u32,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default = "default_http")]
    pub http_addr: String,
    #[serde(default = "default_ship")]
    pub ship_addr: String,
    #[serde(default)]
    pub test_controls: bool,
    #[serde(default)]
    pub accounts: Vec<AccountEntry>,
    #[serde(default)]
    pub cooperatives: Vec<CooperativeEntry>,
}

fn default_interval() -> u64 {
    500
}
fn default_lag() -> u32 {
    6
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("devchain-data")
}
fn default_http() -> String {
    "127.0.0.1:8888".into()
}
fn default_ship() -> String {
    "127.0.0.1:8080".into()
}

/// A system or contract account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    pub name: Name,
    /// Owner and active key.
    pub public_key: PublicKey,
    /// ABI JSON file (relative to the genesis file); `eosio` defaults to the built-in ABI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<PathBuf>,
    #[serde(default)]
    pub privileged: bool,
}

/// A board member or chairman.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    pub username: Name,
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardEntry {
    pub chairman: MemberEntry,
    #[serde(default)]
    pub members: Vec<MemberEntry>,
}

/// A cooperative: its account, `registrator::orgs` row and `soviet::boards` row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooperativeEntry {
    pub username: Name,
    pub public_key: PublicKey,
    #[serde(default)]
    pub announce: String,
    #[serde(default)]
    pub description: String,
    pub registration: String,
    pub initial: String,
    pub minimum: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_registration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_initial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_minimum: Option<String>,
    #[serde(default)]
    pub is_branched: bool,
    pub board: BoardEntry,
}

/// A validated genesis.
#[derive(Debug, Clone)]
pub struct Genesis {
    pub chain_id: Checksum256,
    pub block_interval: Duration,
    pub lib_lag: u32,
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub ship_addr: SocketAddr,
    pub test_controls: bool,
    /// `(account, owner/active key, binary ABI or empty, privileged)`.
    pub accounts: Vec<(Name, PublicKey, Vec<u8>, bool)>,
    pub cooperatives: Vec<CooperativeEntry>,
}

impl Genesis {
    /// Reads a `.toml` or `.json` genesis file.
    pub fn load(path: &Path) -> anyhow::Result<Genesis> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read genesis {}", path.display()))?;
        let file: GenesisFile = if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?
        } else {
            serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?
        };
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Genesis::validate(file, base)
    }

    /// Checks every field; relative paths are resolved against `base`.
    pub fn validate(file: GenesisFile, base: &Path) -> anyhow::Result<Genesis> {
        let chain_id = Checksum256::from_hex(&file.chain_id).context("chain_id")?;
        if !(10..=60_000).contains(&file.block_interval_ms) {
            bail!("block_interval_ms must be 10..=60000");
        }
        if file.lib_lag > 10_000 {
            bail!("lib_lag must be at most 10000");
        }
        let http_addr: SocketAddr = file.http_addr.parse().context("http_addr")?;
        let ship_addr: SocketAddr = file.ship_addr.parse().context("ship_addr")?;
        if file.test_controls && !http_addr.ip().is_loopback() {
            bail!("test_controls needs a loopback http_addr");
        }
        let mut accounts = Vec::new();
        let mut names: Vec<Name> = Vec::new();
        let mut add = |name: Name| -> anyhow::Result<bool> {
            if name.is_empty() {
                bail!("empty account name");
            }
            if names.contains(&name) {
                return Ok(false);
            }
            names.push(name);
            Ok(true)
        };
        for a in &file.accounts {
            if !add(a.name)? {
                bail!("account {} is listed twice", a.name);
            }
            let abi = match (&a.abi, a.name == name!("eosio")) {
                (Some(p), _) => load_abi(&base.join(p))?,
                (None, true) => abi_binary(SYSTEM_ABI_JSON)?,
                (None, false) => Vec::new(),
            };
            accounts.push((a.name, a.public_key.clone(), abi, a.privileged));
        }
        if !accounts.iter().any(|a| a.0 == name!("eosio")) {
            bail!("the eosio account is required");
        }
        for c in &file.cooperatives {
            for fee in [&c.registration, &c.initial, &c.minimum]
                .into_iter()
                .chain(c.org_registration.iter())
                .chain(c.org_initial.iter())
                .chain(c.org_minimum.iter())
            {
                Asset::parse(fee)
                    .with_context(|| format!("cooperative {}: fee {fee:?}", c.username))?;
            }
            let people = std::iter::once((c.username, &c.public_key))
                .chain(std::iter::once((
                    c.board.chairman.username,
                    &c.board.chairman.public_key,
                )))
                .chain(c.board.members.iter().map(|m| (m.username, &m.public_key)));
            for (n, key) in people {
                if add(n)? {
                    accounts.push((n, key.clone(), Vec::new(), false));
                }
            }
        }
        Ok(Genesis {
            chain_id,
            block_interval: Duration::from_millis(file.block_interval_ms),
            lib_lag: file.lib_lag,
            data_dir: base.join(&file.data_dir),
            http_addr,
            ship_addr,
            test_controls: file.test_controls,
            accounts,
            cooperatives: file.cooperatives,
        })
    }

    /// Writes the genesis state (accounts, ABIs, `orgs` and `boards` rows).
    pub fn apply(
        &self,
        state: &mut ChainState,
        journal: &mut Journal,
        time: BlockTimestamp,
    ) -> Result<(), ChainError> {
        for (n, key, abi, privileged) in &self.accounts {
            let mut acc = new_account(
                *n,
                time,
                key_authority(key.clone()),
                key_authority(key.clone()),
            );
            acc.privileged = *privileged || *n == name!("eosio");
            if !abi.is_empty() {
                acc.abi = Bytes(abi.clone());
                acc.abi_sequence = 1;
            }
            state.write_account(journal, acc);
        }
        let rows = Abi::from_json(GENESIS_ROWS_ABI)
            .map_err(|e| ChainError::Internal(format!("genesis rows ABI: {e}")))?;
        let created = TimePointSec::from(time);
        for c in &self.cooperatives {
            if state.account(name!("registrator")).is_some() {
                let fee = |o: &Option<String>, d: &String| o.clone().unwrap_or_else(|| d.clone());
                let row = json!({
                    "username": c.username, "parent_username": "", "announce": c.announce,
                    "description": c.description, "is_cooperative": true, "is_branched": c.is_branched,
                    "is_enrolled": true, "coop_type": "conscoop", "registration": c.registration,
                    "initial": c.initial, "minimum": c.minimum,
                    "org_registration": fee(&c.org_registration, &c.registration),
                    "org_initial": fee(&c.org_initial, &c.initial),
                    "org_minimum": fee(&c.org_minimum, &c.minimum),
                    "status": "active", "created_at": created.to_string(),
                });
                let value = rows
                    .encode("cooperative", &row)
                    .map_err(|e| ChainError::Internal(format!("orgs row: {e}")))?;
                let key = RowKey {
                    table: TableKey {
                        code: name!("registrator"),
                        scope: name!("registrator"),
                        table: name!("orgs"),
                    },
                    primary_key: c.username.as_u64(),
                };
                state.write_row(
                    journal,
                    key,
                    Some(RowValue {
                        payer: name!("registrator"),
                        value: Bytes(value),
                        secondary: Vec::new(),
                    }),
                );
            }
            if state.account(name!("soviet")).is_some() {
                let member = |m: &MemberEntry, position: &str, title: &str| json!({"username": m.username, "is_voting": true, "position_title": title, "position": position});
                let mut members = vec![member(&c.board.chairman, "chairman", "Chairman")];
                members.extend(
                    c.board
                        .members
                        .iter()
                        .map(|m| member(m, "member", "Member")),
                );
                let row = json!({
                    "id": 1, "type": "soviet", "name": "Council", "description": "",
                    "members": members, "created_at": created.to_string(), "last_update": created.to_string(),
                });
                let value = rows
                    .encode("boards", &row)
                    .map_err(|e| ChainError::Internal(format!("boards row: {e}")))?;
                let key = RowKey {
                    table: TableKey {
                        code: name!("soviet"),
                        scope: c.username,
                        table: name!("boards"),
                    },
                    primary_key: 1,
                };
                state.write_row(
                    journal,
                    key,
                    Some(RowValue {
                        payer: c.username,
                        value: Bytes(value),
                        secondary: Vec::new(),
                    }),
                );
            }
        }
        Ok(())
    }
}

fn load_abi(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("read ABI {}", path.display()))?;
    abi_binary(&text).with_context(|| format!("ABI {}", path.display()))
}

fn abi_binary(json_text: &str) -> anyhow::Result<Vec<u8>> {
    let def = AbiDef::from_json(json_text).context("parse ABI JSON")?;
    Abi::from_def(def.clone()).context("validate ABI")?;
    Ok(def.packed())
}

/// Row layouts of `registrator::orgs` (`cooperative`) and `soviet::boards` (`boards`), as in the
/// COOPOS contract ABIs, used to write the genesis rows.
const GENESIS_ROWS_ABI: &str = r#"{
  "version": "eosio::abi/1.2",
  "structs": [
    {"name": "cooperative", "base": "", "fields": [
      {"name": "username", "type": "name"}, {"name": "parent_username", "type": "name"},
      {"name": "announce", "type": "string"}, {"name": "description", "type": "string"},
      {"name": "is_cooperative", "type": "bool"}, {"name": "is_branched", "type": "bool"},
      {"name": "is_enrolled", "type": "bool"}, {"name": "coop_type", "type": "name"},
      {"name": "registration", "type": "asset"}, {"name": "initial", "type": "asset"},
      {"name": "minimum", "type": "asset"}, {"name": "org_registration", "type": "asset$"},
      {"name": "org_initial", "type": "asset$"}, {"name": "org_minimum", "type": "asset$"},
      {"name": "status", "type": "name$"}, {"name": "created_at", "type": "time_point_sec$"}]},
    {"name": "board_member", "base": "", "fields": [
      {"name": "username", "type": "name"}, {"name": "is_voting", "type": "bool"},
      {"name": "position_title", "type": "string"}, {"name": "position", "type": "name"}]},
    {"name": "boards", "base": "", "fields": [
      {"name": "id", "type": "uint64"}, {"name": "type", "type": "name"}, {"name": "name", "type": "string"},
      {"name": "description", "type": "string"}, {"name": "members", "type": "board_member[]"},
      {"name": "created_at", "type": "time_point_sec"}, {"name": "last_update", "type": "time_point_sec"}]}
  ]
}"#;
