//! A real tenant node (`cli::serve`) on loopback with authentication configured, and GraphQL
//! helpers over real HTTP: users, signature login, admin calls.

use std::time::Duration;

use chain::keys::PrivateKey;
use chain::Checksum256;
use managed_pg::testing::{free_port, TestDb};
use serde_json::{json, Value};
use tenant_node::config::{Config, ConfigArgs, ConfigFile, SecretEnv, SyncMode};
use tenant_node::db::auth::NewUser;
use tenant_node::db::Db;
use tokio::sync::watch;

use super::chain::{n, TestChain, CHAIN_ID};
use super::wait_for;

pub const JWT_KEY: &str = "tenant-node-tests-jwt-key-0123456789abcdef";
pub const ADMIN_SECRET: &str = "tenant-node-tests-admin-secret-0123456789";
pub const SECRET_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// The configuration of a served node for `coop`, with all secrets set.
pub fn config(db_url: &str, chain: &TestChain, coop: &str, jwt_key: &str) -> Config {
    let file = ConfigFile {
        coopname: Some(coop.into()),
        database_url: Some(db_url.into()),
        chain_url: Some(chain.http_url()),
        ship_url: Some(chain.ship_url()),
        chain_id: Some(CHAIN_ID.into()),
        listen: Some(format!("127.0.0.1:{}", free_port())),
        sync_mode: Some(SyncMode::Head),
        ..ConfigFile::default()
    };
    let env = SecretEnv {
        jwt_key: Some(jwt_key.into()),
        secret_key: Some(SECRET_KEY.into()),
        admin_secret: Some(ADMIN_SECRET.into()),
    };
    tenant_node::config::merge(file, &ConfigArgs::default(), env).expect("test config")
}

/// `tenant-node serve` in-process, on its own database.
#[derive(Debug)]
pub struct Served {
    pub base: String,
    pub db: Db,
    pub http: reqwest::Client,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub test_db: TestDb,
}

impl Served {
    pub async fn start(chain: &TestChain) -> Served {
        Served::start_with(chain, "voskhod", JWT_KEY).await
    }

    pub async fn start_with(chain: &TestChain, coop: &str, jwt_key: &str) -> Served {
        let test_db = TestDb::new().await;
        let config = config(&test_db.url, chain, coop, jwt_key);
        Served::start_config(config, test_db).await
    }

    /// Serves `config` (built for `test_db`).
    pub async fn start_config(config: Config, test_db: TestDb) -> Served {
        let base = format!("http://{}", config.listen);
        let db = tenant_node::cli::open_database(&config).await.expect("db");
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(tenant_node::cli::serve(config, rx));
        let http = reqwest::Client::new();
        wait_for(30, "the node's HTTP listener", || async {
            let r = http.get(format!("{base}/healthz")).send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await;
        Served {
            base,
            db,
            http,
            stop,
            task,
            test_db,
        }
    }

    /// Waits until the node synced block `block` (the sync runs inside `serve`).
    pub async fn synced(&self, block: u32) {
        wait_for(60, &format!("sync to {block}"), || async {
            let c = self.db.sync_state().await.ok()?.checkpoint?;
            (c.block_num >= block).then_some(())
        })
        .await;
    }

    pub async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("serve stops in time")
            .expect("serve task")
            .expect("serve");
    }

    /// POSTs a GraphQL request; returns the HTTP status and the JSON body.
    pub async fn post(&self, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self.http.post(format!("{}/graphql", self.base)).json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("POST /graphql");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A query with an optional bearer token.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| vec![("authorization", b)])
            .unwrap_or_default();
        let (status, body) = self
            .post(json!({"query": query, "variables": variables}), &headers)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A query with the admin secret header.
    pub async fn admin(&self, query: &str, variables: Value, secret: &str) -> Value {
        let (status, body) = self
            .post(
                json!({"query": query, "variables": variables}),
                &[("x-admin-secret", secret)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn add_user(&self, username: &str, key: Option<&PrivateKey>, status: &str) {
        self.db
            .insert_user(&NewUser {
                username: n(username),
                email: email(username),
                public_key: key.map(|k| k.public_key().to_string()),
                status: status.into(),
                account_type: "individual".into(),
            })
            .await
            .expect("insert user");
    }

    /// `login` signing the chain head time shifted by `shift_secs`.
    pub async fn login_shifted(
        &self,
        chain: &TestChain,
        username: &str,
        key: &PrivateKey,
        shift_secs: i64,
    ) -> Value {
        let head = chain
            .client
            .get_info()
            .await
            .expect("get_info")
            .head_block_time;
        let now = chain::time::TimePoint::from_micros(head.as_micros() + shift_secs * 1_000_000);
        let now = now.to_string();
        let signature = key.sign_digest(&Checksum256::sha256(now.as_bytes()));
        self.gql(
            LOGIN,
            json!({"data": {"email": email(username), "now": now, "signature": signature.to_string()}}),
            None,
        )
        .await
    }

    /// Logs in; returns (access, refresh).
    pub async fn login(
        &self,
        chain: &TestChain,
        username: &str,
        key: &PrivateKey,
    ) -> (String, String) {
        let r = self.login_shifted(chain, username, key, 0).await;
        tokens(&r, "login")
    }
}

pub fn email(username: &str) -> String {
    format!("{username}@example.org")
}

pub const LOGIN: &str = "mutation($data: LoginInput!) { login(data: $data) {
    account { username role provider_account { email } }
    tokens { access { token expires } refresh { token expires } } } }";

pub const REFRESH: &str = "mutation($data: RefreshInput!) { refresh(data: $data) {
    account { username } tokens { access { token } refresh { token } } } }";

/// The (access, refresh) pair of a `login`/`refresh` answer.
pub fn tokens(r: &Value, field: &str) -> (String, String) {
    let t = &r["data"][field]["tokens"];
    let access = t["access"]["token"].as_str();
    let refresh = t["refresh"]["token"].as_str();
    match (access, refresh) {
        (Some(a), Some(r)) => (a.to_owned(), r.to_owned()),
        _ => panic!("no tokens in {r}"),
    }
}

/// The first error's `code` extension (panics if there is no error).
pub fn error_code(r: &Value) -> String {
    let e = &r["errors"][0];
    assert!(!e.is_null(), "expected an error, got {r}");
    e["extensions"]["code"].as_str().unwrap_or("").to_owned()
}

pub fn first_error(r: &Value) -> String {
    r["errors"][0]["message"].as_str().unwrap_or("").to_owned()
}
