//! The registration outbox against the devchain and a real database, with the node's live
//! sync: PAID signals (50 concurrent, repeated) give exactly one registration on chain; a
//! sender dropped between sending and confirmation, a transaction recorded but lost, and a
//! transaction dropped by a fork after it expired each still give exactly one, and so does a
//! sender process killed with SIGKILL between sending and confirmation; a permanent refusal
//! fails the payment with a reason and registers nobody.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chain::api::ChainClient;
use chain::keys::PrivateKey;
use chain::Checksum256;
use support::chain::{n, TestChain, CHAIN_ID, VOSKHOD};
use support::pay::{caller, member, package};
use support::{config_for_urls, wait_for, Live, Node};
use tenant_node::config::SyncMode;
use tenant_node::db::outbox::IntentStatus;
use tenant_node::db::payments::Payment;
use tenant_node::db::registry::Registry;
use tenant_node::db::Db;
use tenant_node::outbox::sender::{Sender, SenderConfig, StaticKey};
use tenant_node::outbox::RegistrationPackage;
use tenant_node::payments::{AccountType, PaymentStatus, Role};
use tokio::sync::watch;

const DAY: Duration = Duration::from_secs(86_400);

struct Rig {
    chain: TestChain,
    node: Node,
    live: Live,
    coop_key: Arc<StaticKey>,
}

/// A devchain (`interval_ms` blocks, or on request when long), `voskhod` signing with a key made
/// here, a node syncing live.
async fn rig(interval_ms: u64) -> Rig {
    let chain = TestChain::start_with(interval_ms, 3).await;
    let coop_key = PrivateKey::generate();
    chain.set_active_key(&VOSKHOD, &coop_key);
    chain.produce(1);
    let node = Node::new(&chain).await;
    let live = node.spawn_live();
    Rig {
        chain,
        node,
        live,
        coop_key: Arc::new(StaticKey(coop_key)),
    }
}

impl Rig {
    fn sender(&self, trx_expiration: Duration) -> Arc<Sender> {
        let client =
            ChainClient::new(&self.chain.http_url(), Duration::from_secs(10)).expect("client");
        Arc::new(Sender::new(
            self.node.db.clone(),
            client,
            self.node.config.coopname,
            self.node.config.contracts.clone(),
            Checksum256::from_hex(CHAIN_ID).unwrap(),
            self.coop_key.clone(),
            SenderConfig {
                trx_expiration,
                poll_interval: Duration::from_millis(50),
                max_backoff: Duration::from_millis(500),
            },
        ))
    }

    /// A stored package and its registration payment marked PAID by a council member.
    async fn paid(&self, user: &str, pkg: RegistrationPackage) -> Payment {
        let db = &self.node.db;
        let coop = wait_for(30, "the cooperative synced", || async {
            Registry::new(
                db.clone(),
                self.node.config.coopname,
                self.node.config.contracts.clone(),
            )
            .cooperative(None)
            .await
            .unwrap()
        })
        .await;
        db.save_registration_package(&pkg).await.unwrap();
        let p = db
            .create_initial_payment(&caller(user, Role::User), &coop, n(user), DAY)
            .await
            .unwrap();
        let change = db
            .set_payment_status(&member(), &p.id, PaymentStatus::Paid, "")
            .await
            .unwrap();
        assert!(change.intent_created);
        change.payment
    }

    async fn status(&self, p: &Payment) -> PaymentStatus {
        self.node.db.payment(&member(), &p.id).await.unwrap().status
    }

    /// Waits for the payment to reach `want` (blocks keep coming, or are produced here).
    async fn wait_status(&self, p: &Payment, want: PaymentStatus, produce: bool) {
        wait_for(90, &format!("payment {want}"), || async {
            if produce {
                self.chain.produce(1);
            }
            (self.status(p).await == want).then_some(())
        })
        .await;
    }

    fn registrations_on_chain(&self, user: &str) -> usize {
        self.chain
            .actions_on_chain("registrator", "reguser")
            .iter()
            .filter(|a| a["username"] == user)
            .count()
    }

    async fn finish(self) {
        self.live.stop().await;
        self.chain.shutdown().await;
    }
}

fn spawn(sender: Arc<Sender>) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(async move { sender.run(rx).await });
    (stop, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_paid_signals_register_once_on_chain() {
    let rig = rig(100).await;
    let user = "anna11111111";
    let user_key = PrivateKey::generate();
    let p = rig
        .paid(user, package(user, &user_key, AccountType::Individual))
        .await;
    // 49 more PAID signals, concurrently, while the sender runs
    let (stop, task) = spawn(rig.sender(Duration::from_secs(30)));
    let mut signals = Vec::new();
    for _ in 0..49 {
        let db = rig.node.db.clone();
        let id = p.id.clone();
        signals.push(tokio::spawn(async move {
            db.set_payment_status(&member(), &id, PaymentStatus::Paid, "")
                .await
        }));
    }
    for s in signals {
        // already PAID (unchanged) or already COMPLETED (PAID is no longer allowed): never a
        // second intent
        match s.await.unwrap() {
            Ok(change) => assert!(!change.changed && !change.intent_created),
            Err(e) => assert!(e.to_string().contains("cannot go from COMPLETED to PAID")),
        }
    }
    rig.wait_status(&p, PaymentStatus::Completed, false).await;
    stop.send_replace(true);
    task.await.unwrap();

    assert_eq!(rig.registrations_on_chain(user), 1);
    let for_user = |account: &'static str, action: &str| {
        rig.chain
            .actions_on_chain(account, action)
            .iter()
            .filter(|a| a["username"] == user)
            .count()
    };
    assert_eq!(for_user("registrator", "newaccount"), 1);
    assert_eq!(for_user("soviet", "sndagreement"), 4);
    let hash = tenant_node::outbox::registration_hash(n(user)).to_string();
    let incomes = rig.chain.actions_on_chain("gateway", "incomplete");
    assert_eq!(
        incomes
            .iter()
            .filter(
                |a| a["income_hash"].as_str().map(str::to_lowercase) == Some(hash.to_lowercase())
            )
            .count(),
        1
    );
    let db = &rig.node.db;
    let intents = db.intents().await.unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].status, IntentStatus::Confirmed);
    assert_eq!(
        db.registration_status(n(user)).await.unwrap().as_deref(),
        Some("registered")
    );
    let trxs = db.intent_trxs(intents[0].id).await.unwrap();
    assert_eq!(trxs.len(), 1);
    assert_eq!(trxs[0].outcome, "included");
    // the account is on chain with the candidate's key, and the candidate has paid
    let account = rig.chain.client.get_account(n(user)).await.unwrap();
    let active = account.permission(n("active")).expect("active permission");
    assert_eq!(active.required_auth.keys[0].key, user_key.public_key());

    // a repeated PAID after completion changes nothing and a new pass sends nothing
    assert!(db
        .set_payment_status(&member(), &p.id, PaymentStatus::Paid, "")
        .await
        .is_err());
    let report = rig.sender(Duration::from_secs(30)).pass().await.unwrap();
    assert_eq!(report, Default::default());
    assert_eq!(rig.registrations_on_chain(user), 1);
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_dropped_after_sending_leaves_exactly_one_registration() {
    let rig = rig(100).await;
    let user = "boris1111111";
    let p = rig
        .paid(
            user,
            package(user, &PrivateKey::generate(), AccountType::Individual),
        )
        .await;
    // no blocks: the transaction reaches the node but no block, then the sender is dropped
    rig.chain.handle.node.set_paused(true);
    let (_stop, task) = spawn(rig.sender(Duration::from_secs(30)));
    let db = &rig.node.db;
    let intent = wait_for(30, "the transaction sent", || async {
        let intent = db.intents().await.unwrap().pop()?;
        let trxs = db.intent_trxs(intent.id).await.unwrap();
        (trxs.len() == 1 && trxs[0].outcome == "sent").then_some(intent)
    })
    .await;
    task.abort();
    let _ = task.await;
    assert_eq!(rig.status(&p).await, PaymentStatus::Paid);
    assert_eq!(intent.status, IntentStatus::Sent);

    // blocks again, a fresh sender: it confirms the recorded transaction, builds no other
    rig.chain.handle.node.set_paused(false);
    let (stop, task) = spawn(rig.sender(Duration::from_secs(30)));
    rig.wait_status(&p, PaymentStatus::Completed, false).await;
    stop.send_replace(true);
    task.await.unwrap();
    assert_eq!(rig.registrations_on_chain(user), 1);
    let trxs = db.intent_trxs(intent.id).await.unwrap();
    assert_eq!(trxs.len(), 1, "no second transaction was built");
    assert_eq!(trxs[0].outcome, "included");
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_but_lost_transaction_is_replaced_once_after_it_expires() {
    let rig = rig(100).await;
    let user = "clara1111111";
    let p = rig
        .paid(
            user,
            package(user, &PrivateKey::generate(), AccountType::Individual),
        )
        .await;
    let db = &rig.node.db;
    // a crash right after recording: the transaction never reached the chain
    let intent = db.intents().await.unwrap().pop().unwrap();
    let lost = Checksum256::sha256("a transaction that was never sent");
    assert!(db
        .record_intent_trx(
            intent.id,
            0,
            &lost,
            SystemTime::now() + Duration::from_secs(1)
        )
        .await
        .unwrap());
    // a second recording for the same attempt is refused (compare-and-set)
    assert!(!db
        .record_intent_trx(
            intent.id,
            0,
            &Checksum256::sha256("other"),
            SystemTime::now()
        )
        .await
        .unwrap());

    let (stop, task) = spawn(rig.sender(Duration::from_secs(30)));
    rig.wait_status(&p, PaymentStatus::Completed, false).await;
    stop.send_replace(true);
    task.await.unwrap();
    let trxs = db.intent_trxs(intent.id).await.unwrap();
    let outcomes: Vec<(i32, &str)> = trxs
        .iter()
        .map(|t| (t.attempt, t.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [(1, "expired"), (2, "included")]);
    assert_eq!(trxs[0].trx_id, lost);
    assert_eq!(rig.registrations_on_chain(user), 1);
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_dropped_by_a_fork_after_expiry_is_resent_once() {
    // blocks only on request
    let rig = rig(60_000).await;
    let user = "dmitry111111";
    let p = rig
        .paid(
            user,
            package(user, &PrivateKey::generate(), AccountType::Individual),
        )
        .await;
    let db = &rig.node.db;
    // the expiration counts from the head block's time: make it recent
    rig.chain.produce(1);
    let (stop, task) = spawn(rig.sender(Duration::from_secs(3)));
    let intent = wait_for(30, "the transaction sent", || async {
        let intent = db.intents().await.unwrap().pop()?;
        let trxs = db.intent_trxs(intent.id).await.unwrap();
        (trxs.len() == 1 && trxs[0].outcome == "sent").then_some(intent)
    })
    .await;
    // included in a block that is still reversible, synced, but not yet confirmable
    let included = rig.chain.produce(1);
    rig.node.wait_synced(included).await;
    assert_eq!(rig.registrations_on_chain(user), 1);
    assert_eq!(rig.status(&p).await, PaymentStatus::Paid);
    // after its expiration a fork replaces that block: applied again, it is now expired and
    // dropped, so the chain no longer holds it
    tokio::time::sleep(Duration::from_millis(4500)).await;
    rig.chain.fork(1).await;
    assert_eq!(rig.registrations_on_chain(user), 0);
    // blocks keep coming: LIB passes the expiration, the sender replaces it exactly once
    rig.wait_status(&p, PaymentStatus::Completed, true).await;
    stop.send_replace(true);
    task.await.unwrap();
    assert_eq!(rig.registrations_on_chain(user), 1);
    let trxs = db.intent_trxs(intent.id).await.unwrap();
    let outcomes: Vec<&str> = trxs.iter().map(|t| t.outcome.as_str()).collect();
    assert_eq!(outcomes, ["expired", "included"]);
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_refusal_fails_the_payment_and_registers_nobody() {
    let rig = rig(100).await;
    let user = "egor11111111";
    // the statement is signed with a key that is not the candidate's: reguser refuses it
    let mut pkg = package(user, &PrivateKey::generate(), AccountType::Individual);
    pkg.public_key = PrivateKey::generate().public_key();
    let p = rig.paid(user, pkg).await;
    let (stop, task) = spawn(rig.sender(Duration::from_secs(30)));
    rig.wait_status(&p, PaymentStatus::Failed, false).await;
    stop.send_replace(true);
    task.await.unwrap();
    let db = &rig.node.db;
    let failed = db.payment(&member(), &p.id).await.unwrap();
    assert!(
        failed.message.starts_with("Блокчейн отклонил регистрацию"),
        "{}",
        failed.message
    );
    let intent = db.intents().await.unwrap().pop().unwrap();
    assert_eq!(intent.status, IntentStatus::Failed);
    assert!(!intent.last_error.is_empty());
    assert_eq!(
        db.registration_status(n(user)).await.unwrap().as_deref(),
        Some("failed")
    );
    assert_eq!(rig.registrations_on_chain(user), 0);
    assert!(rig
        .chain
        .actions_on_chain("registrator", "newaccount")
        .iter()
        .all(|a| a["username"] != user));
    rig.finish().await;
}

/// Set in the environment of the child process of the kill -9 test (its value: the database
/// URL, chain URL and the cooperative's key, one per line).
const CHILD_ENV: &str = "TENANT_NODE_TEST_OUTBOX_CHILD";

/// The body of the child process of `a_sender_process_killed_after_sending_...`: runs a sender
/// until it is killed. Without the environment variable (a normal test run) it does nothing.
#[tokio::test(flavor = "multi_thread")]
async fn outbox_sender_child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut lines = spec.lines();
    let (db_url, chain_url, key) = (
        lines.next().unwrap(),
        lines.next().unwrap(),
        lines.next().unwrap(),
    );
    let config = config_for_urls(
        db_url,
        chain_url,
        "ws://127.0.0.1:1",
        "voskhod",
        SyncMode::Head,
    );
    let db = Db::connect(&config.database_url, 2).unwrap();
    let sender = Sender::new(
        db,
        ChainClient::new(chain_url, Duration::from_secs(10)).unwrap(),
        config.coopname,
        config.contracts.clone(),
        Checksum256::from_hex(CHAIN_ID).unwrap(),
        Arc::new(StaticKey(key.parse::<PrivateKey>().unwrap())),
        SenderConfig {
            trx_expiration: Duration::from_secs(30),
            poll_interval: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
        },
    );
    let (_never, rx) = watch::channel(false);
    sender.run(rx).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_process_killed_after_sending_leaves_exactly_one_registration() {
    let rig = rig(100).await;
    let user = "fedor1111111";
    let p = rig
        .paid(
            user,
            package(user, &PrivateKey::generate(), AccountType::Individual),
        )
        .await;
    rig.chain.handle.node.set_paused(true);
    let spec = format!(
        "{}\n{}\n{}",
        rig.node.test_db.url,
        rig.chain.http_url(),
        rig.coop_key.0.to_wif()
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "outbox_sender_child_process", "--nocapture"])
        .env(CHILD_ENV, spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the sender process");
    let db = &rig.node.db;
    let intent = wait_for(60, "the child sent the transaction", || async {
        let intent = db.intents().await.unwrap().pop()?;
        let trxs = db.intent_trxs(intent.id).await.unwrap();
        (trxs.len() == 1 && trxs[0].outcome == "sent").then_some(intent)
    })
    .await;
    // SIGKILL: no cleanup of any kind
    child.kill().expect("kill -9");
    child.wait().unwrap();
    assert_eq!(rig.status(&p).await, PaymentStatus::Paid);

    rig.chain.handle.node.set_paused(false);
    let (stop, task) = spawn(rig.sender(Duration::from_secs(30)));
    rig.wait_status(&p, PaymentStatus::Completed, false).await;
    stop.send_replace(true);
    task.await.unwrap();
    assert_eq!(rig.registrations_on_chain(user), 1);
    let trxs = db.intent_trxs(intent.id).await.unwrap();
    assert_eq!(trxs.len(), 1, "no second transaction was built");
    assert_eq!(trxs[0].outcome, "included");
    rig.finish().await;
}
