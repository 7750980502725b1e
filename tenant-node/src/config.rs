//! The node's one typed configuration: a TOML file (unknown keys are errors), environment
//! variables and command-line flags (later ones winning), validated once into [`Config`].
//!
//! Every key is documented in `docs/tenant-node.md`. Secrets come from the environment or from
//! files, never from flags, and never appear in `Debug` output.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chain::{Checksum256, Name};
use serde::Deserialize;
use thiserror::Error;

/// Environment variable holding the JWT signing key itself.
pub const JWT_KEY_ENV: &str = "TENANT_NODE_JWT_KEY";
/// Environment variable holding the secret-at-rest key itself (64 hex digits).
pub const SECRET_KEY_ENV: &str = "TENANT_NODE_SECRET_KEY";
/// Environment variable holding the SMTP password (alternative: `mail.smtp_password_file`).
pub const SMTP_PASSWORD_ENV: &str = "TENANT_NODE_SMTP_PASSWORD";
/// Environment variable holding the admin secret itself.
pub const ADMIN_SECRET_ENV: &str = "TENANT_NODE_ADMIN_SECRET";

/// Why the configuration is unusable.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("read the config file {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("`{key}` is required (config file key, flag or environment variable)")]
    Missing { key: &'static str },
    #[error("`{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.to_string(),
    }
}

/// How far behind the chain the sync reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Head (reversible) blocks; forks are undone when they arrive.
    Head,
    /// Irreversible blocks only: no forks, a lag of the chain's finality depth.
    Irreversible,
}

/// Contract account names (production defaults; testnets use other names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractsFile {
    pub registrator: Option<String>,
    pub soviet: Option<String>,
    pub gateway: Option<String>,
    pub branch: Option<String>,
    pub draft: Option<String>,
    pub wallet: Option<String>,
    pub fund: Option<String>,
}

/// Which PDF engine documents use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PdfMode {
    /// The warm worker pool, or the CLI when the pool cannot start.
    Auto,
    /// Only the warm pool.
    Pool,
    /// One `weasyprint` process per document.
    Cli,
}

/// `[pdf]`: the WeasyPrint engine of the document factory.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfFile {
    pub mode: Option<PdfMode>,
    pub workers: Option<usize>,
    pub queue: Option<usize>,
    pub queue_timeout_secs: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub start_timeout_secs: Option<u64>,
    pub recycle_after: Option<u32>,
    pub weasyprint: Option<PathBuf>,
    pub python: Option<PathBuf>,
}

/// The TOML file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub coopname: Option<String>,
    pub database_url: Option<String>,
    pub chain_url: Option<String>,
    pub ship_url: Option<String>,
    pub chain_id: Option<String>,
    pub start_block: Option<u32>,
    pub listen: Option<String>,
    pub sync_mode: Option<SyncMode>,
    pub readiness_lag: Option<u32>,
    pub ship_window: Option<u32>,
    pub batch_blocks: Option<u32>,
    pub db_pool_size: Option<usize>,
    pub jwt_key_file: Option<PathBuf>,
    pub secret_key_file: Option<PathBuf>,
    pub admin_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub contracts: ContractsFile,
    #[serde(default)]
    pub pdf: PdfFile,
    /// `[mail]`: the email outbox sender (absent: no mail is sent).
    #[serde(default)]
    pub mail: crate::mail::MailFile,
    /// `[outbox]`: the chain-intent sender.
    #[serde(default)]
    pub outbox: crate::outbox::sender::OutboxFile,
    /// `[invitations]`: invitation and key-reset links and lifetimes.
    #[serde(default)]
    pub invitations: crate::graphql::participants::InvitationsFile,
}

/// Flags (each with its environment variable); they override the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "TENANT_NODE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The cooperative's account name.
    #[arg(long, env = "TENANT_NODE_COOPNAME", global = true)]
    pub coopname: Option<String>,
    /// PostgreSQL URL of this cooperative's database.
    #[arg(
        long,
        env = "TENANT_NODE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Chain HTTP API base URL.
    #[arg(long, env = "TENANT_NODE_CHAIN_URL", global = true)]
    pub chain_url: Option<String>,
    /// State History (SHiP) websocket URL.
    #[arg(long, env = "TENANT_NODE_SHIP_URL", global = true)]
    pub ship_url: Option<String>,
    /// Expected chain id (64 hex digits).
    #[arg(long, env = "TENANT_NODE_CHAIN_ID", global = true)]
    pub chain_id: Option<String>,
    /// First block to sync into an empty database.
    #[arg(long, env = "TENANT_NODE_START_BLOCK", global = true)]
    pub start_block: Option<u32>,
    /// HTTP listen address (health, readiness, metrics).
    #[arg(long, env = "TENANT_NODE_LISTEN", global = true)]
    pub listen: Option<String>,
    /// head | irreversible.
    #[arg(long, env = "TENANT_NODE_SYNC_MODE", global = true, value_enum)]
    pub sync_mode: Option<SyncMode>,
    /// Blocks behind the head the node may be and still be ready.
    #[arg(long, env = "TENANT_NODE_READINESS_LAG", global = true)]
    pub readiness_lag: Option<u32>,
    /// SHiP `max_messages_in_flight`.
    #[arg(long, env = "TENANT_NODE_SHIP_WINDOW", global = true)]
    pub ship_window: Option<u32>,
    /// Most blocks stored in one database transaction while catching up.
    #[arg(long, env = "TENANT_NODE_BATCH_BLOCKS", global = true)]
    pub batch_blocks: Option<u32>,
    /// Database connections kept by the node.
    #[arg(long, env = "TENANT_NODE_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<usize>,
    /// File holding the JWT signing key.
    #[arg(long, env = "TENANT_NODE_JWT_KEY_FILE", global = true)]
    pub jwt_key_file: Option<PathBuf>,
    /// File holding the secret-at-rest key (64 hex digits).
    #[arg(long, env = "TENANT_NODE_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// File holding the admin secret (initSystem, installSystem, setWif).
    #[arg(long, env = "TENANT_NODE_ADMIN_SECRET_FILE", global = true)]
    pub admin_secret_file: Option<PathBuf>,
}

/// Key material; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// A database URL; `Debug` hides it (it may carry a password).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// The contract accounts the node follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contracts {
    pub registrator: Name,
    pub soviet: Name,
    pub gateway: Name,
    pub branch: Name,
    pub draft: Name,
    pub wallet: Name,
    pub fund: Name,
}

impl Contracts {
    /// Every followed contract (the system account `eosio` is followed separately).
    pub fn all(&self) -> [Name; 7] {
        [
            self.registrator,
            self.soviet,
            self.gateway,
            self.branch,
            self.draft,
            self.wallet,
            self.fund,
        ]
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub coopname: Name,
    pub database_url: DatabaseUrl,
    pub chain_url: String,
    pub ship_url: String,
    pub chain_id: Checksum256,
    pub start_block: u32,
    pub listen: SocketAddr,
    pub sync_mode: SyncMode,
    pub readiness_lag: u32,
    pub ship_window: u32,
    pub batch_blocks: u32,
    pub db_pool_size: usize,
    pub contracts: Contracts,
    /// Signs access tokens; without it login and every authenticated operation are refused.
    pub jwt_key: Option<Secret>,
    /// Seals the cooperative's key (and private data); without it `setWif`/`installSystem`
    /// are refused.
    pub secret_key: Option<Secret>,
    /// The document factory's WeasyPrint engine.
    pub pdf: documents::pdf::PdfConfig,
    /// The mail sender's settings; `None`: no `[mail]` section, mail stays queued.
    pub mail: Option<crate::mail::MailConfig>,
    /// The chain-intent sender's settings.
    pub outbox: crate::outbox::sender::SenderConfig,
    /// Invitation and key-reset links and lifetimes (`[invitations]`).
    pub invitations: crate::graphql::participants::KeyTokenConfig,
    /// Accepted only by `initSystem`, `installSystem` and `setWif`; without it they are refused.
    pub admin_secret: Option<Secret>,
}

/// Reads the file named by `--config` (if any) and merges it with the flags and the secret
/// environment variables.
pub fn load(args: &ConfigArgs) -> Result<Config, ConfigError> {
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => ConfigFile::default(),
    };
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    merge(
        file,
        args,
        SecretEnv {
            jwt_key: env(JWT_KEY_ENV),
            secret_key: env(SECRET_KEY_ENV),
            admin_secret: env(ADMIN_SECRET_ENV),
        },
    )
}

/// Parses a config file.
pub fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Secret values given directly in the environment.
#[derive(Debug, Clone, Default)]
pub struct SecretEnv {
    pub jwt_key: Option<String>,
    pub secret_key: Option<String>,
    pub admin_secret: Option<String>,
}

/// Flags win over the file; validates every value.
pub fn merge(file: ConfigFile, args: &ConfigArgs, env: SecretEnv) -> Result<Config, ConfigError> {
    let pick = |flag: &Option<String>, file: Option<String>| flag.clone().or(file);
    let required = |key: &'static str, v: Option<String>| v.ok_or(ConfigError::Missing { key });

    let coopname = required("coopname", pick(&args.coopname, file.coopname))?;
    let coopname = parse_name("coopname", &coopname)?;
    let database_url = required("database_url", pick(&args.database_url, file.database_url))?;
    crate::db::validate_url(&database_url).map_err(|e| invalid("database_url", e))?;
    let chain_url = required("chain_url", pick(&args.chain_url, file.chain_url))?;
    check_url("chain_url", &chain_url, &["http", "https"])?;
    let ship_url = required("ship_url", pick(&args.ship_url, file.ship_url))?;
    check_url("ship_url", &ship_url, &["ws", "wss"])?;
    let chain_id = required("chain_id", pick(&args.chain_id, file.chain_id))?;
    let chain_id = Checksum256::from_hex(chain_id.trim())
        .map_err(|e| invalid("chain_id", format!("expected 64 hex digits: {e}")))?;
    let start_block = args.start_block.or(file.start_block).unwrap_or(1);
    if start_block == 0 {
        return Err(invalid("start_block", "blocks are numbered from 1"));
    }
    let listen = pick(&args.listen, file.listen).unwrap_or_else(|| "127.0.0.1:8090".into());
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| invalid("listen", format!("{listen:?}: {e}")))?;
    let readiness_lag = args.readiness_lag.or(file.readiness_lag).unwrap_or(10);
    let ship_window = args.ship_window.or(file.ship_window).unwrap_or(128);
    if !(1..=4096).contains(&ship_window) {
        return Err(invalid("ship_window", "must be 1..=4096"));
    }
    let batch_blocks = args.batch_blocks.or(file.batch_blocks).unwrap_or(1000);
    if !(1..=100_000).contains(&batch_blocks) {
        return Err(invalid("batch_blocks", "must be 1..=100000"));
    }
    let db_pool_size = args.db_pool_size.or(file.db_pool_size).unwrap_or(4);
    if !(2..=64).contains(&db_pool_size) {
        return Err(invalid("db_pool_size", "must be 2..=64"));
    }
    let smtp_password = std::env::var(SMTP_PASSWORD_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    let mail = file
        .mail
        .validate(smtp_password)
        .map_err(|m| invalid("mail", m))?;
    let outbox = file.outbox.validate().map_err(|m| invalid("outbox", m))?;
    let invitations = file
        .invitations
        .validate()
        .map_err(|m| invalid("invitations", m))?;
    let c = file.contracts;
    let contract = |key: &'static str, v: Option<String>, default: &str| {
        parse_name(key, v.as_deref().unwrap_or(default))
    };
    let contracts = Contracts {
        registrator: contract("contracts.registrator", c.registrator, "registrator")?,
        soviet: contract("contracts.soviet", c.soviet, "soviet")?,
        gateway: contract("contracts.gateway", c.gateway, "gateway")?,
        branch: contract("contracts.branch", c.branch, "branch")?,
        draft: contract("contracts.draft", c.draft, "draft")?,
        wallet: contract("contracts.wallet", c.wallet, "wallet")?,
        fund: contract("contracts.fund", c.fund, "fund")?,
    };
    let jwt_file = args.jwt_key_file.clone().or(file.jwt_key_file);
    let jwt_key = secret("jwt_key", env.jwt_key, jwt_file.as_deref(), parse_jwt_key)?;
    let secret_file = args.secret_key_file.clone().or(file.secret_key_file);
    let secret_key = secret(
        "secret_key",
        env.secret_key,
        secret_file.as_deref(),
        parse_secret_key,
    )?;
    let pdf = pdf_config(file.pdf)?;
    let admin_file = args.admin_secret_file.clone().or(file.admin_secret_file);
    let admin_secret = secret(
        "admin_secret",
        env.admin_secret,
        admin_file.as_deref(),
        parse_admin_secret,
    )?;
    Ok(Config {
        coopname,
        database_url: DatabaseUrl(database_url),
        chain_url: chain_url.trim_end_matches('/').to_owned(),
        ship_url,
        chain_id,
        start_block,
        listen,
        sync_mode: args.sync_mode.or(file.sync_mode).unwrap_or(SyncMode::Head),
        readiness_lag,
        ship_window,
        batch_blocks,
        db_pool_size,
        contracts,
        jwt_key,
        secret_key,
        admin_secret,
        mail,
        outbox,
        invitations,
        pdf,
    })
}

/// `[pdf]` with the documents crate's defaults for what is not given.
fn pdf_config(file: PdfFile) -> Result<documents::pdf::PdfConfig, ConfigError> {
    use documents::pdf::{EngineMode, PdfConfig};
    use std::time::Duration;
    let d = PdfConfig::default();
    let secs = |key: &'static str, v: Option<u64>, default: Duration, max: u64| match v {
        None => Ok(default),
        Some(s) if (1..=max).contains(&s) => Ok(Duration::from_secs(s)),
        Some(_) => Err(invalid(key, format!("must be 1..={max} seconds"))),
    };
    let workers = file.workers.unwrap_or(d.workers);
    if !(1..=32).contains(&workers) {
        return Err(invalid("pdf.workers", "must be 1..=32"));
    }
    let queue = file.queue.unwrap_or(d.queue);
    if !(1..=10_000).contains(&queue) {
        return Err(invalid("pdf.queue", "must be 1..=10000"));
    }
    let recycle_after = file.recycle_after.unwrap_or(d.recycle_after);
    if recycle_after == 0 {
        return Err(invalid("pdf.recycle_after", "must be at least 1"));
    }
    Ok(PdfConfig {
        mode: match file.mode.unwrap_or(PdfMode::Auto) {
            PdfMode::Auto => EngineMode::Auto,
            PdfMode::Pool => EngineMode::Pool,
            PdfMode::Cli => EngineMode::Cli,
        },
        workers,
        queue,
        queue_timeout: secs(
            "pdf.queue_timeout_secs",
            file.queue_timeout_secs,
            d.queue_timeout,
            3600,
        )?,
        timeout: secs("pdf.timeout_secs", file.timeout_secs, d.timeout, 3600)?,
        start_timeout: secs(
            "pdf.start_timeout_secs",
            file.start_timeout_secs,
            d.start_timeout,
            3600,
        )?,
        recycle_after,
        weasyprint: file.weasyprint.unwrap_or(d.weasyprint),
        python: file.python,
        cache_dir: None,
    })
}

fn parse_name(key: &'static str, text: &str) -> Result<Name, ConfigError> {
    let name = Name::parse(text).map_err(|e| invalid(key, format!("{text:?}: {e}")))?;
    if name.is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    Ok(name)
}

fn check_url(key: &'static str, url: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some(s) if schemes.contains(&s) => Ok(()),
        _ => Err(invalid(
            key,
            format!("{url:?}: expected {}://…", schemes.join("|")),
        )),
    }
}

/// One secret from the environment or a file (not both).
fn secret(
    key: &'static str,
    env_value: Option<String>,
    file: Option<&Path>,
    parse: fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Option<Secret>, ConfigError> {
    let text = match (env_value, file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                key,
                "given both in the environment and as a file; use one",
            ))
        }
        (Some(v), None) => v,
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| invalid(key, format!("read {}: {e}", path.display())))?,
        (None, None) => return Ok(None),
    };
    let trimmed = text.trim_end_matches(['\r', '\n']);
    parse(trimmed).map(|v| Some(Secret(v))).map_err(|message| {
        // never echo the value
        invalid(key, message)
    })
}

fn parse_jwt_key(text: &str) -> Result<Vec<u8>, String> {
    if text.len() < 32 {
        return Err(format!(
            "the JWT signing key must be at least 32 bytes (got {})",
            text.len()
        ));
    }
    Ok(text.as_bytes().to_vec())
}

fn parse_admin_secret(text: &str) -> Result<Vec<u8>, String> {
    if text.len() < 32 {
        return Err(format!(
            "the admin secret must be at least 32 bytes (got {})",
            text.len()
        ));
    }
    Ok(text.as_bytes().to_vec())
}

fn parse_secret_key(text: &str) -> Result<Vec<u8>, String> {
    let bytes = hex::decode(text.trim())
        .map_err(|_| "the secret-at-rest key must be 64 hex digits".to_owned())?;
    if bytes.len() != 32 {
        return Err("the secret-at-rest key must be 64 hex digits (32 bytes)".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN_ID: &str = "8a34ec7df1b8cd06ff4a8abbaa7cc50300823350cadc59ab296cb00d104d2b8f";

    fn file(text: &str) -> ConfigFile {
        toml::from_str(text).unwrap()
    }

    fn minimal() -> String {
        format!(
            "coopname = \"voskhod\"\ndatabase_url = \"postgres://u:p@127.0.0.1:5432/db\"\n\
             chain_url = \"http://127.0.0.1:8888/\"\nship_url = \"ws://127.0.0.1:8080\"\n\
             chain_id = \"{CHAIN_ID}\"\n"
        )
    }

    #[test]
    fn defaults_fill_the_optional_keys() {
        let c = merge(
            file(&minimal()),
            &ConfigArgs::default(),
            SecretEnv::default(),
        )
        .unwrap();
        assert_eq!(c.coopname.to_string(), "voskhod");
        assert_eq!(c.chain_url, "http://127.0.0.1:8888");
        assert_eq!(c.start_block, 1);
        assert_eq!(c.sync_mode, SyncMode::Head);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8090");
        assert_eq!(c.contracts.soviet.to_string(), "soviet");
        assert!(c.jwt_key.is_none() && c.secret_key.is_none());
        assert_eq!(c.pdf.mode, documents::pdf::EngineMode::Auto);
        assert_eq!(c.pdf.workers, 2);
        let c = merge(
            file(&format!(
                "{}[pdf]\nmode = \"cli\"\nworkers = 3\ntimeout_secs = 5\n",
                minimal()
            )),
            &ConfigArgs::default(),
            SecretEnv::default(),
        )
        .unwrap();
        assert_eq!(c.pdf.mode, documents::pdf::EngineMode::Cli);
        assert_eq!(c.pdf.workers, 3);
        assert_eq!(c.pdf.timeout, std::time::Duration::from_secs(5));
        assert!(!format!("{c:?}").contains("u:p@"), "the URL is redacted");
    }

    #[test]
    fn flags_override_the_file() {
        let args = ConfigArgs {
            coopname: Some("zarya".into()),
            sync_mode: Some(SyncMode::Irreversible),
            start_block: Some(7),
            ..ConfigArgs::default()
        };
        let c = merge(file(&minimal()), &args, SecretEnv::default()).unwrap();
        assert_eq!(c.coopname.to_string(), "zarya");
        assert_eq!(c.sync_mode, SyncMode::Irreversible);
        assert_eq!(c.start_block, 7);
    }

    #[test]
    fn unknown_and_bad_keys_are_errors() {
        assert!(toml::from_str::<ConfigFile>("coopname = \"a\"\nbogus = 1").is_err());
        assert!(toml::from_str::<ConfigFile>("[contracts]\nsovet = \"x\"").is_err());
        assert!(toml::from_str::<ConfigFile>("sync_mode = \"fast\"").is_err());
        let bad = |extra: &str| {
            merge(
                file(&format!("{}{extra}", minimal())),
                &ConfigArgs::default(),
                SecretEnv::default(),
            )
            .unwrap_err()
            .to_string()
        };
        assert!(bad("start_block = 0").contains("start_block"));
        assert!(bad("listen = \"nowhere\"").contains("listen"));
        assert!(bad("batch_blocks = 0").contains("batch_blocks"));
        assert!(bad("[pdf]\nworkers = 0").contains("pdf.workers"));
        assert!(bad("[pdf]\ntimeout_secs = 0").contains("pdf.timeout_secs"));
        assert!(toml::from_str::<ConfigFile>("[pdf]\nmode = \"fast\"").is_err());
        let e = merge(
            file("coopname = \"voskhod\""),
            &ConfigArgs::default(),
            SecretEnv::default(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::Missing {
                key: "database_url"
            }
        ));
        let e = merge(
            file(&minimal().replace("ws://", "http://")),
            &ConfigArgs::default(),
            SecretEnv::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("ship_url"), "{e}");
    }

    #[test]
    fn secrets_come_from_env_or_file_and_are_validated_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        let args = ConfigArgs {
            secret_key_file: Some(path.clone()),
            ..ConfigArgs::default()
        };
        let env = SecretEnv {
            jwt_key: Some("j".repeat(40)),
            admin_secret: Some("a".repeat(32)),
            ..SecretEnv::default()
        };
        let c = merge(file(&minimal()), &args, env).unwrap();
        assert_eq!(c.secret_key.as_ref().unwrap().expose(), &[0xab; 32]);
        assert_eq!(c.jwt_key.as_ref().unwrap().expose().len(), 40);
        assert!(!format!("{c:?}").contains("jjjj"));
        assert!(!format!("{c:?}").contains("aaaa"));
        assert_eq!(c.admin_secret.as_ref().unwrap().expose().len(), 32);
        let short_admin = SecretEnv {
            admin_secret: Some("short".into()),
            ..SecretEnv::default()
        };
        let e = merge(file(&minimal()), &ConfigArgs::default(), short_admin).unwrap_err();
        assert!(e.to_string().contains("admin_secret"), "{e}");

        let short = SecretEnv {
            jwt_key: Some("short".into()),
            ..SecretEnv::default()
        };
        let e = merge(file(&minimal()), &ConfigArgs::default(), short).unwrap_err();
        assert!(e.to_string().contains("at least 32 bytes"), "{e}");
        assert!(!e.to_string().contains("short"), "the value is not echoed");
        let both = SecretEnv {
            secret_key: Some("ab".repeat(32)),
            ..SecretEnv::default()
        };
        assert!(merge(file(&minimal()), &args, both).is_err());
    }

    #[test]
    fn mail_and_outbox_sections_are_validated() {
        let none = merge(
            file(&minimal()),
            &ConfigArgs::default(),
            SecretEnv::default(),
        )
        .unwrap();
        assert!(none.mail.is_none());
        assert_eq!(none.outbox.trx_expiration.as_secs(), 120);
        let text = format!(
            "{}[mail]\nmode = \"files\"\nfrom = \"noreply@voskhod.example\"\ndir = \"/tmp/m\"\n\
             [outbox]\ntrx_expiration_secs = 60\n",
            minimal()
        );
        let c = merge(file(&text), &ConfigArgs::default(), SecretEnv::default()).unwrap();
        let mail = c.mail.expect("mail");
        assert_eq!(
            mail.transport,
            crate::mail::Transport::Files {
                dir: "/tmp/m".into()
            }
        );
        assert_eq!(c.outbox.trx_expiration.as_secs(), 60);
        for bad in [
            "[mail]\nmode = \"files\"\nfrom = \"not an address\"\ndir = \"/tmp/m\"\n",
            "[mail]\nmode = \"smtp\"\nfrom = \"a@b.example\"\n",
            "[mail]\nmode = \"pigeon\"\nfrom = \"a@b.example\"\n",
            "[outbox]\ntrx_expiration_secs = 7200\n",
        ] {
            let text = format!("{}{bad}", minimal());
            assert!(
                merge(file(&text), &ConfigArgs::default(), SecretEnv::default()).is_err(),
                "{bad}"
            );
        }
    }
}
