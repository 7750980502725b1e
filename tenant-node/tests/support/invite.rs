//! Members added on paper and key recovery against a served node: a node configured with an
//! invitation link and a files-mode mail directory, an outbox sender with the cooperative's key
//! and a mail sender (both driven pass by pass), and reading the token out of a written `.eml`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chain::api::ChainClient;
use chain::Checksum256;
use managed_pg::testing::TestDb;
use tenant_node::db::outbox::IntentStatus;
use tenant_node::mail::sender::MailSender;
use tenant_node::mail::{MailConfig, Transport};
use tenant_node::outbox::sender::{Sender, SenderConfig, StaticKey};

use super::api::{config, Served, JWT_KEY};
use super::chain::{Coop, TestChain, CHAIN_ID};

pub const LINK_BASE: &str = "https://voskhod.example/auth/reset-key";

pub const ADD_PARTICIPANT: &str = "mutation($data: AddParticipantInput!) {
    addParticipant(data: $data) { username email status } }";
pub const START_RESET_KEY: &str = "mutation($data: StartResetKeyInput!) {
    startResetKey(data: $data) }";
pub const RESET_KEY: &str = "mutation($data: ResetKeyInput!) { resetKey(data: $data) }";

/// A served node for `coop` whose invitations link to [`LINK_BASE`].
pub async fn serve(chain: &TestChain, coop: &Coop) -> Served {
    let test_db = TestDb::new().await;
    let mut cfg = config(&test_db.url, chain, coop.name, JWT_KEY);
    cfg.invitations.link_base = Some(LINK_BASE.into());
    Served::start_config(cfg, test_db).await
}

/// The outbox sender of `coop` (its key) on the served node's database.
pub fn outbox(served: &Served, chain: &TestChain, coop: &Coop) -> Sender {
    let cfg = config("postgres://unused/unused", chain, coop.name, JWT_KEY);
    let client = ChainClient::new(&chain.http_url(), Duration::from_secs(10)).expect("client");
    Sender::new(
        served.db.clone(),
        client,
        cfg.coopname,
        cfg.contracts.clone(),
        Checksum256::from_hex(CHAIN_ID).expect("chain id"),
        Arc::new(StaticKey(coop.key())),
        SenderConfig {
            trx_expiration: Duration::from_secs(60),
            poll_interval: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
        },
    )
}

/// A files-mode mail sender writing into `dir`.
pub fn mailer(served: &Served, coop: &Coop, dir: &Path) -> MailSender {
    MailSender::new(
        served.db.clone(),
        super::chain::n(coop.name),
        MailConfig {
            from: "noreply@voskhod.example".into(),
            transport: Transport::Files {
                dir: dir.to_owned(),
            },
            poll_interval: Duration::from_millis(50),
            max_attempts: 3,
            max_backoff: Duration::from_secs(1),
        },
    )
    .expect("mail sender")
}

/// Drives the sender, the chain and the sync until the intent `key` is confirmed or failed.
pub async fn settle(
    served: &Served,
    chain: &TestChain,
    sender: &Sender,
    key: &str,
) -> IntentStatus {
    for _ in 0..40 {
        sender.pass().await.expect("outbox pass");
        let head = chain.produce(1);
        served.synced(head).await;
        let intent = served
            .db
            .intent_by_key(key)
            .await
            .expect("intent")
            .unwrap_or_else(|| panic!("no intent {key}"));
        if matches!(
            intent.status,
            IntentStatus::Confirmed | IntentStatus::Failed
        ) {
            return intent.status;
        }
    }
    let intent = served.db.intent_by_key(key).await.expect("intent");
    panic!("the intent {key} did not settle: {intent:?}");
}

/// The `.eml` files in `dir`, sorted.
pub fn emls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".eml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|n| std::fs::read_to_string(dir.join(n)).expect("read eml"))
        .collect()
}

/// The recipient and the decoded body of a message written by lettre (base64 body).
pub fn to_and_body(eml: &str) -> (String, String) {
    let (head, body) = eml.split_once("\r\n\r\n").expect("headers and body");
    let to = head
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .expect("To header")
        .to_owned();
    let body: String = body.lines().collect();
    let body = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .expect("base64 body");
    (to, String::from_utf8(body).expect("utf-8 body"))
}

/// The token of the link in a mail body.
pub fn token(body: &str) -> String {
    let at = body
        .find(&format!("{LINK_BASE}?token="))
        .expect("the mail carries the link");
    body[at + LINK_BASE.len() + "?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Runs one SQL statement on the served node's database (tampering in negative tests).
pub async fn sql(served: &Served, statement: &str) -> u64 {
    let (client, conn) = tokio_postgres::connect(&served.test_db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client.execute(statement, &[]).await.expect("sql")
}
