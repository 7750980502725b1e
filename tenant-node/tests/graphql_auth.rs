//! Authentication over real HTTP against a served node: signature login (fresh time, key on the
//! `active` permission, stored key of an unregistered user), refresh rotation with reuse
//! detection, logout, refusal of expired, foreign and forged access tokens, and throttling of
//! failed logins.

mod support;

use chain::keys::PrivateKey;
use serde_json::json;
use support::api::{email, error_code, tokens, Served, JWT_KEY, REFRESH};
use support::chain::{key, n, TestChain, VOSKHOD};
use tenant_node::auth::token::Signer;
use tenant_node::db::auth::NewUser;

const ME: &str = "query($u: String!) { getAccount(data: {username: $u}) { username role } }";

#[tokio::test(flavor = "multi_thread")]
async fn login_checks_time_key_and_account() {
    let chain = TestChain::start().await;
    chain.produce(2);
    let node = Served::start(&chain).await;
    node.add_user("chairman", None, "registered").await;
    node.add_user("member1", None, "registered").await;

    // a registered account logs in with a key of its active permission; the role comes from
    // the council synced from the chain
    node.synced(chain.head()).await;
    let r = node
        .login_shifted(&chain, "chairman", &key(VOSKHOD.chairman.1), 0)
        .await;
    assert_eq!(r["data"]["login"]["account"]["role"], "chairman", "{r}");
    assert_eq!(
        r["data"]["login"]["account"]["provider_account"]["email"],
        email("chairman")
    );
    // a signed time more than 30 s from the chain head time is refused, either way
    for shift in [-31, 31] {
        let r = node
            .login_shifted(&chain, "chairman", &key(VOSKHOD.chairman.1), shift)
            .await;
        assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
        assert!(r["data"].is_null(), "{r}");
    }
    let r = node
        .login_shifted(&chain, "chairman", &key(VOSKHOD.chairman.1), -25)
        .await;
    assert!(r["errors"].is_null(), "25 s is within the window: {r}");
    // a key that is not on the account's active permission is refused (member2's key for
    // member1)
    let r = node
        .login_shifted(&chain, "member1", &key(VOSKHOD.members[1].1), 0)
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    // an unknown e-mail gets the same answer
    let r = node.login_shifted(&chain, "nobody", &key(5), 0).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");

    // a not-yet-registered user logs in with the stored key, compared as a key: stored in the
    // legacy EOS… spelling, recovered as PUB_K1_…
    let alice = PrivateKey::from_bytes(&[77; 32]).unwrap();
    node.db
        .insert_user(&NewUser {
            username: n("alice"),
            email: email("alice"),
            public_key: alice.public_key().to_legacy_string(),
            status: "created".into(),
            account_type: "individual".into(),
        })
        .await
        .unwrap();
    let (access, _) = node.login(&chain, "alice", &alice).await;
    let r = node.gql(ME, json!({"u": "alice"}), Some(&access)).await;
    assert_eq!(r["data"]["getAccount"]["role"], "user", "{r}");
    let other = PrivateKey::from_bytes(&[78; 32]).unwrap();
    let r = node.login_shifted(&chain, "alice", &other, 0).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");

    // failed logins are throttled per login name: after five refusals in a minute even the
    // right key is turned away, while other names are not affected
    for _ in 0..4 {
        let r = node
            .login_shifted(&chain, "member1", &key(VOSKHOD.members[1].1), 0)
            .await;
        assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    }
    let r = node
        .login_shifted(&chain, "member1", &key(VOSKHOD.members[0].1), 0)
        .await;
    assert_eq!(error_code(&r), "TOO_MANY_REQUESTS", "{r}");
    assert!(r["data"].is_null(), "{r}");
    let r = node
        .login_shifted(&chain, "chairman", &key(VOSKHOD.chairman.1), 0)
        .await;
    assert!(r["errors"].is_null(), "{r}");

    node.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_reuse_revokes_the_family_and_logout_revokes() {
    let chain = TestChain::start().await;
    chain.produce(1);
    let node = Served::start(&chain).await;
    let alice = PrivateKey::from_bytes(&[77; 32]).unwrap();
    node.add_user("alice", Some(&alice), "created").await;
    let (_, r1) = node.login(&chain, "alice", &alice).await;

    // rotation: the new pair works, the old refresh token does not
    let r = node
        .gql(REFRESH, json!({"data": {"refresh_token": r1}}), None)
        .await;
    let (a2, r2) = tokens(&r, "refresh");
    assert_ne!(r1, r2);
    let me = node.gql(ME, json!({"u": "alice"}), Some(&a2)).await;
    assert_eq!(me["data"]["getAccount"]["username"], "alice", "{me}");
    let reuse = node
        .gql(REFRESH, json!({"data": {"refresh_token": r1}}), None)
        .await;
    assert_eq!(error_code(&reuse), "UNAUTHENTICATED", "{reuse}");
    // the reuse revoked the whole family: the newest token is dead too
    let r = node
        .gql(REFRESH, json!({"data": {"refresh_token": r2}}), None)
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");

    // logout revokes the session's refresh token
    let (_, r3) = node.login(&chain, "alice", &alice).await;
    let out = node
        .gql(
            "mutation($d: LogoutInput!) { logout(data: $d) }",
            json!({"d": {"refresh_token": r3}}),
            None,
        )
        .await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    let r = node
        .gql(REFRESH, json!({"data": {"refresh_token": r3}}), None)
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");
    let r = node
        .gql(REFRESH, json!({"data": {"refresh_token": "made-up"}}), None)
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");

    node.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_foreign_and_forged_access_tokens_are_refused() {
    let chain = TestChain::start().await;
    chain.produce(1);
    let node = Served::start(&chain).await;
    let alice = PrivateKey::from_bytes(&[77; 32]).unwrap();
    node.add_user("alice", Some(&alice), "created").await;
    let now = i64::from(chain::time::TimePointSec::now().as_unix());

    let good = Signer::new(JWT_KEY.as_bytes(), "voskhod")
        .issue("alice", now)
        .0;
    let r = node.gql(ME, json!({"u": "alice"}), Some(&good)).await;
    assert_eq!(r["data"]["getAccount"]["username"], "alice", "{r}");

    let expired = Signer::new(JWT_KEY.as_bytes(), "voskhod")
        .issue("alice", now - 3600)
        .0;
    let foreign_coop = Signer::new(JWT_KEY.as_bytes(), "zarya")
        .issue("alice", now)
        .0;
    let foreign_key = Signer::new(b"another-node-key-0123456789abcdef012345", "voskhod")
        .issue("alice", now)
        .0;
    for (what, token) in [
        ("expired", expired.as_str()),
        ("other cooperative", &foreign_coop),
        ("other key", &foreign_key),
        ("garbage", "not.a.token"),
    ] {
        let r = node.gql(ME, json!({"u": "alice"}), Some(token)).await;
        assert_eq!(error_code(&r), "UNAUTHENTICATED", "{what}: {r}");
        assert!(r["data"].is_null(), "{what}: {r}");
    }
    // no token at all
    let r = node.gql(ME, json!({"u": "alice"}), None).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");

    // a node of another cooperative (own database, same chain) refuses voskhod's tokens
    let zarya = Served::start_with(&chain, "zarya", JWT_KEY).await;
    zarya.add_user("alice", Some(&alice), "created").await;
    let r = zarya.gql(ME, json!({"u": "alice"}), Some(&good)).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");

    zarya.stop().await;
    node.stop().await;
    chain.shutdown().await;
}
