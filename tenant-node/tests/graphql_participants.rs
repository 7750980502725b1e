//! Members added on paper and key recovery over real HTTP against `cli::serve`, the devchain
//! and PostgreSQL: `addParticipant` (chairman only) puts the account on chain once through the
//! outbox and mails an invitation; its token sets the key (`resetKey` → `changekey` once) and
//! the member logs in with it; tokens are single-use and expiring; `startResetKey` reveals
//! nothing about unknown emails.

mod support;

use documents::model::{AccountType, User};
use documents::sample;
use serde_json::{json, Value};
use support::api::{email, error_code, first_error, tokens, Served};
use support::chain::{key, n, TestChain, VOSKHOD};
use support::invite::{
    emls, mailer, outbox, serve, settle, sql, to_and_body, token, ADD_PARTICIPANT, RESET_KEY,
    START_RESET_KEY,
};
use tenant_node::auth::token::refresh_hash;
use tenant_node::db::outbox::IntentStatus;

const PAPER: &str = "paper1111111";
const OWN: &str = "query($u: String!) { getAccount(data: {username: $u}) {
    username provider_account { email status public_key } } }";

fn individual() -> Value {
    let User::Individual(i) = sample::user(AccountType::Individual) else {
        unreachable!()
    };
    serde_json::to_value(i).unwrap()
}

fn add_input(username: &str) -> Value {
    json!({"data": {"username": username, "email": email(username),
        "created_at": "2024-12-28T06:58:52.500", "individual_data": individual()}})
}

async fn chairman_token(served: &Served, chain: &TestChain) -> String {
    let (chair, seed) = VOSKHOD.chairman;
    served.add_user(chair, Some(&key(seed)), "active").await;
    served.login(chain, chair, &key(seed)).await.0
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_added_on_paper_sets_a_key_by_invitation_and_logs_in() {
    let chain = TestChain::start().await;
    let head = chain.produce(2);
    let served = serve(&chain, &VOSKHOD).await;
    served.synced(head).await;
    let mail_dir = tempfile::tempdir().unwrap();
    let mail = mailer(&served, &VOSKHOD, mail_dir.path());
    let sender = outbox(&served, &chain, &VOSKHOD);
    let chair = chairman_token(&served, &chain).await;

    // a member is refused; nothing is written
    let (member, seed) = VOSKHOD.members[0];
    served.add_user(member, Some(&key(seed)), "active").await;
    let (member_token, _) = served.login(&chain, member, &key(seed)).await;
    let r = served
        .gql(ADD_PARTICIPANT, add_input(PAPER), Some(&member_token))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    assert!(served.db.user(n(PAPER)).await.unwrap().is_none());

    // invalid data is refused with a clear error, nothing written
    let mut bad = add_input(PAPER);
    bad["data"]["individual_data"]["birthdate"] = json!("31.31.1990");
    let r = served.gql(ADD_PARTICIPANT, bad, Some(&chair)).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert!(first_error(&r).contains("birthdate"), "{r}");
    assert!(served.db.user(n(PAPER)).await.unwrap().is_none());
    assert!(served.db.intents().await.unwrap().is_empty());

    let r = served
        .gql(ADD_PARTICIPANT, add_input(PAPER), Some(&chair))
        .await;
    assert_eq!(r["data"]["addParticipant"]["status"], "created", "{r}");
    // a second add of the same username is refused; one intent, one mail
    let r = served
        .gql(ADD_PARTICIPANT, add_input(PAPER), Some(&chair))
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert_eq!(served.db.intents().await.unwrap().len(), 1);
    assert_eq!(mail.pass().await.unwrap(), 1);
    let messages = emls(mail_dir.path());
    assert_eq!(messages.len(), 1);
    let (to, body) = to_and_body(&messages[0]);
    assert!(to.contains(&email(PAPER)), "{to}");
    assert!(body.contains(PAPER), "{body}");
    let invitation = token(&body);
    assert!(invitation.len() >= 40, "{invitation}");

    // adduser goes on chain exactly once; the account is active in the cooperative
    let adduser = format!("adduser:{PAPER}");
    assert_eq!(
        settle(&served, &chain, &sender, &adduser).await,
        IntentStatus::Confirmed
    );
    let intent = served.db.intent_by_key(&adduser).await.unwrap().unwrap();
    assert_eq!(served.db.intent_trxs(intent.id).await.unwrap().len(), 1);
    assert_eq!(chain.actions_on_chain("registrator", "adduser").len(), 1);
    let user = served.db.user(n(PAPER)).await.unwrap().unwrap();
    assert_eq!(user.status, "registered");
    assert!(user.public_key.is_none());
    // before a key is set, nobody can log in as the member with their future key
    let r = served.login_shifted(&chain, PAPER, &key(77), 0).await;
    assert!(r["errors"].is_array(), "{r}");

    // the invitation sets the key: changekey goes on chain once
    let set =
        json!({"data": {"token": invitation, "public_key": key(77).public_key().to_string()}});
    let r = served.gql(RESET_KEY, set.clone(), None).await;
    assert_eq!(r["data"]["resetKey"], true, "{r}");
    let changekey = format!("changekey:{}", hex::encode(refresh_hash(&invitation)));
    assert_eq!(
        settle(&served, &chain, &sender, &changekey).await,
        IntentStatus::Confirmed
    );
    assert_eq!(chain.actions_on_chain("registrator", "changekey").len(), 1);

    // a second use of the token is refused and changes nothing
    let other =
        json!({"data": {"token": invitation, "public_key": key(78).public_key().to_string()}});
    let r = served.gql(RESET_KEY, other, None).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert!(first_error(&r).contains("already used"), "{r}");
    assert_eq!(served.db.intents().await.unwrap().len(), 2);

    // the member logs in with the new key (on chain) and reads their own data only
    let r = served.login_shifted(&chain, PAPER, &key(77), 0).await;
    let (access, _) = tokens(&r, "login");
    let me = served.gql(OWN, json!({"u": PAPER}), Some(&access)).await;
    assert_eq!(
        me["data"]["getAccount"]["provider_account"]["email"],
        email(PAPER),
        "{me}"
    );
    assert_eq!(
        me["data"]["getAccount"]["provider_account"]["status"],
        "registered"
    );
    let r = served
        .gql(OWN, json!({"u": VOSKHOD.chairman.0}), Some(&access))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    served.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_reset_tokens_are_single_use_expiring_and_reveal_nothing() {
    let chain = TestChain::start().await;
    let head = chain.produce(2);
    let served = serve(&chain, &VOSKHOD).await;
    served.synced(head).await;
    let mail_dir = tempfile::tempdir().unwrap();
    let mail = mailer(&served, &VOSKHOD, mail_dir.path());
    const ALICE: &str = "alice1111111";
    served.add_user(ALICE, Some(&key(40)), "created").await;

    // unknown and known emails get the same answer; only the known one gets a mail
    let unknown = served
        .post(
            json!({"query": START_RESET_KEY, "variables": {"data": {"email": "nobody@example.org"}}}),
            &[],
        )
        .await;
    let known = served
        .post(
            json!({"query": START_RESET_KEY, "variables": {"data": {"email": email(ALICE)}}}),
            &[],
        )
        .await;
    assert_eq!(unknown, known);
    assert_eq!(known.1["data"]["startResetKey"], true, "{known:?}");
    assert_eq!(mail.pass().await.unwrap(), 1);
    let messages = emls(mail_dir.path());
    assert_eq!(messages.len(), 1);
    let (to, body) = to_and_body(&messages[0]);
    assert!(to.contains(&email(ALICE)), "{to}");
    let first = token(&body);

    // an expired token is refused; the key stays
    sql(
        &served,
        "UPDATE key_tokens SET expires_at = now() - interval '1 second'",
    )
    .await;
    let set = |t: &str, seed: u8| json!({"data": {"token": t, "public_key": key(seed).public_key().to_string()}});
    let r = served.gql(RESET_KEY, set(&first, 41), None).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert!(first_error(&r).contains("expired"), "{r}");
    served.login(&chain, ALICE, &key(40)).await;

    // a fresh token replaces the stored key (not on chain: no chain intent); once only
    served
        .gql(
            START_RESET_KEY,
            json!({"data": {"email": email(ALICE)}}),
            None,
        )
        .await;
    assert_eq!(mail.pass().await.unwrap(), 1);
    let messages = emls(mail_dir.path());
    assert_eq!(messages.len(), 2);
    let second = token(&to_and_body(&messages[1]).1);
    assert_ne!(first, second);
    let r = served.gql(RESET_KEY, set(&second, 41), None).await;
    assert_eq!(r["data"]["resetKey"], true, "{r}");
    assert!(served.db.intents().await.unwrap().is_empty());
    let r = served.gql(RESET_KEY, set(&second, 42), None).await;
    assert!(first_error(&r).contains("already used"), "{r}");
    let r = served.gql(RESET_KEY, set("not-a-token", 42), None).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    served.login(&chain, ALICE, &key(41)).await;
    let r = served.login_shifted(&chain, ALICE, &key(40), 0).await;
    assert!(r["errors"].is_array(), "the old key no longer logs in: {r}");
    served.stop().await;
    chain.shutdown().await;
}
