//! `mono chain …`: key, signature, ABI and transaction tools over the chain library, in the spirit
//! of `cleos create key` / `cleos convert`. Every command prints JSON on stdout; bad input is an
//! error (stderr, non-zero exit), never a panic.
//!
//! Secrets (`--key`) may be given inline, as `@file`, or as `-` for standard input, so they need
//! not appear in the process list.

use std::io::Read as _;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context};
use chain::abi::Abi;
use chain::keys::{PrivateKey, PublicKey, Signature};
use chain::transaction::Transaction;
use chain::{Checksum256, Name, Pack};
use clap::Subcommand;
use serde_json::{json, Value};

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Key pairs: generate or convert between formats.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign a 32-byte digest (deterministic, wharfkit-compatible).
    Sign {
        /// Private key: WIF or PVT_K1_ (or @file, or - for stdin).
        #[arg(long)]
        key: String,
        /// Digest as 64 hex characters.
        #[arg(long)]
        digest: String,
    },
    /// Recover the public key from a digest and a signature.
    Recover {
        #[arg(long)]
        digest: String,
        #[arg(long)]
        signature: String,
    },
    /// Encode or decode data with a contract ABI.
    #[command(subcommand)]
    Abi(AbiCommand),
    /// Transactions.
    #[command(subcommand)]
    Trx(TrxCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new K1 key pair.
    New,
    /// Show every form of a key (WIF, PVT_K1_, PUB_K1_ or legacy EOS…); a public key shows only
    /// the public forms.
    Show {
        /// The key (or @file, or - for stdin).
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AbiCommand {
    /// JSON value → hex bytes.
    Encode {
        /// ABI file (JSON).
        #[arg(long)]
        abi: std::path::PathBuf,
        /// A type of the ABI or an action name.
        #[arg(long = "type")]
        type_name: String,
        /// The value as JSON, or @file.
        #[arg(long)]
        json: String,
    },
    /// Hex bytes → JSON value.
    Decode {
        #[arg(long)]
        abi: std::path::PathBuf,
        #[arg(long = "type")]
        type_name: String,
        #[arg(long)]
        hex: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrxCommand {
    /// Pack, hash and sign a transaction given as Leap JSON with hex action data.
    Sign {
        /// Chain id (64 hex).
        #[arg(long)]
        chain_id: String,
        /// Private key(s): WIF or PVT_K1_ (or @file, or - for stdin); repeat for several.
        #[arg(long, required = true)]
        key: Vec<String>,
        /// The transaction as JSON, or @file.
        #[arg(long)]
        trx: String,
    },
}

/// Runs one command and returns the JSON it prints.
pub fn run(command: ChainCommand) -> anyhow::Result<Value> {
    match command {
        ChainCommand::Key(KeyCommand::New) => Ok(private_key_json(&PrivateKey::generate())),
        ChainCommand::Key(KeyCommand::Show { key }) => {
            let key = read_arg(&key)?;
            if let Ok(private) = PrivateKey::from_str(&key) {
                return Ok(private_key_json(&private));
            }
            let public = PublicKey::from_str(&key)
                .map_err(|e| anyhow!("not a private or public key: {e}"))?;
            Ok(public_key_json(&public))
        }
        ChainCommand::Sign { key, digest } => {
            let key = private_key(&key)?;
            let digest = digest_arg(&digest)?;
            Ok(json!({ "signature": key.sign_digest(&digest).to_string() }))
        }
        ChainCommand::Recover { digest, signature } => {
            let digest = digest_arg(&digest)?;
            let signature =
                Signature::from_str(signature.trim()).map_err(|e| anyhow!("--signature: {e}"))?;
            let key = signature
                .recover(&digest)
                .map_err(|e| anyhow!("recover: {e}"))?;
            Ok(json!({ "pub_k1": key.to_string() }))
        }
        ChainCommand::Abi(AbiCommand::Encode {
            abi,
            type_name,
            json,
        }) => {
            let abi = load_abi(&abi)?;
            let type_name = resolve_type(&abi, &type_name)?;
            let value: Value =
                serde_json::from_str(&read_arg(&json)?).context("--json is not valid JSON")?;
            let bytes = abi.encode(&type_name, &value)?;
            Ok(json!({ "hex": hex::encode(bytes) }))
        }
        ChainCommand::Abi(AbiCommand::Decode {
            abi,
            type_name,
            hex: data,
        }) => {
            let abi = load_abi(&abi)?;
            let type_name = resolve_type(&abi, &type_name)?;
            let bytes = hex::decode(data.trim()).context("--hex is not hexadecimal")?;
            Ok(abi.decode(&type_name, &bytes)?)
        }
        ChainCommand::Trx(TrxCommand::Sign { chain_id, key, trx }) => {
            let chain_id =
                Checksum256::from_hex(chain_id.trim()).map_err(|e| anyhow!("--chain-id: {e}"))?;
            let keys = key
                .iter()
                .map(|k| private_key(k))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let trx: Transaction = serde_json::from_str(&read_arg(&trx)?)
                .context("--trx is not a valid transaction JSON")?;
            let signed = trx.sign(&chain_id, &keys.iter().collect::<Vec<_>>());
            let signatures: Vec<String> =
                signed.signatures.iter().map(ToString::to_string).collect();
            Ok(json!({
                "packed_trx": hex::encode(trx.packed()),
                "id": trx.id().to_hex(),
                "signing_digest": trx.signing_digest(&chain_id).to_hex(),
                "signature": signatures.first(),
                "signatures": signatures,
            }))
        }
    }
}

fn private_key_json(key: &PrivateKey) -> Value {
    let public = key.public_key();
    json!({
        "wif": key.to_wif(),
        "pvt_k1": key.to_pvt_k1(),
        "pub_k1": public.to_string(),
        "legacy": public.to_legacy_string(),
    })
}

fn public_key_json(key: &PublicKey) -> Value {
    json!({ "pub_k1": key.to_string(), "legacy": key.to_legacy_string() })
}

/// An argument value, `@file` contents, or standard input for `-`.
fn read_arg(arg: &str) -> anyhow::Result<String> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read standard input")?;
        return Ok(text.trim().to_owned());
    }
    if let Some(path) = arg.strip_prefix('@') {
        return std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .with_context(|| format!("read {path}"));
    }
    Ok(arg.trim().to_owned())
}

fn private_key(arg: &str) -> anyhow::Result<PrivateKey> {
    // The parse error never echoes the key itself.
    PrivateKey::from_str(&read_arg(arg)?).map_err(|e| anyhow!("--key: {e}"))
}

fn digest_arg(arg: &str) -> anyhow::Result<Checksum256> {
    Checksum256::from_hex(arg.trim()).map_err(|e| anyhow!("--digest: {e}"))
}

fn load_abi(path: &std::path::Path) -> anyhow::Result<Abi> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    Abi::from_json(&text).with_context(|| format!("load ABI {}", path.display()))
}

/// A type of the ABI, or the type of the action with that name.
fn resolve_type(abi: &Abi, name: &str) -> anyhow::Result<String> {
    if abi.has_type(name) {
        return Ok(name.to_owned());
    }
    if let Some(action_type) = Name::from_str(name).ok().and_then(|n| abi.action_type(n)) {
        return Ok(action_type.to_owned());
    }
    bail!("the ABI has no type or action named {name:?}")
}
