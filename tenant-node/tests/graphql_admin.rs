//! The admin secret and key custody over real HTTP: the secret is accepted only by
//! `initSystem`, `installSystem` and `setWif`, a wrong one is refused; a key not on the
//! cooperative's active permission is refused; the stored key is sealed and never echoed;
//! `installSystem` signs the council transaction with the stored key and the roles follow the
//! chain.

mod support;

use serde_json::{json, Value};
use support::api::{error_code, Served, ADMIN_SECRET};
use support::chain::{key, TestChain, VOSKHOD};

const INIT: &str = "mutation($d: InitInput!) { initSystem(data: $d) { system_status vars } }";
const SET_WIF: &str = "mutation($d: SetWifInput!) { setWif(data: $d) }";
const INSTALL: &str =
    "mutation($d: InstallInput!) { installSystem(data: $d) { system_status coopname } }";

fn init_data() -> Value {
    json!({"d": {"organization_data": {"full_name": "Потребительский кооператив «Восход»",
        "short_name": "ПК «Восход»", "inn": "7700000000", "ogrn": "1027700000000",
        "kpp": "770001001", "email": "board@voskhod.example", "phone": "+7 900 000-00-00",
        "full_address": "Москва"}, "vars": {"name": "Восход", "website": "voskhod.example"}}})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_secret_opens_only_the_setup_operations() {
    let chain = TestChain::start().await;
    let head = chain.produce(5);
    let node = Served::start(&chain).await;
    // installSystem decides createboard/updateboard from the synced council
    node.synced(head).await;

    // no secret, a wrong secret: refused, nothing stored
    let r = node.gql(INIT, init_data(), None).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");
    let r = node
        .admin(INIT, init_data(), "wrong-secret-wrong-secret-wrong-secret")
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");
    assert!(node.db.system_state().await.unwrap().is_none());
    // the admin secret opens nothing else
    let r = node
        .admin("{ getAgenda { totalCount } }", json!({}), ADMIN_SECRET)
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");
    // invalid organisation data is refused
    let mut bad = init_data();
    bad["d"]["organization_data"]["inn"] = json!("12");
    let r = node.admin(INIT, bad, ADMIN_SECRET).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");

    let r = node.admin(INIT, init_data(), ADMIN_SECRET).await;
    assert_eq!(r["data"]["initSystem"]["system_status"], "install", "{r}");
    assert_eq!(r["data"]["initSystem"]["vars"]["name"], "Восход");
    let r = node.admin(INIT, init_data(), ADMIN_SECRET).await;
    assert_eq!(error_code(&r), "CONFLICT", "initialised once: {r}");

    // setWif: a key that is not on the cooperative's active permission is refused
    let stranger = key(99).to_wif();
    let r = node
        .admin(
            SET_WIF,
            json!({"d": {"username": "voskhod", "wif": stranger}}),
            ADMIN_SECRET,
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert!(
        !r.to_string().contains(&stranger),
        "the key is not echoed: {r}"
    );
    assert!(node.db.stored_key("active").await.unwrap().is_none());
    // the cooperative's key is accepted and stored sealed, never echoed
    let wif = VOSKHOD.key().to_wif();
    let r = node
        .admin(
            SET_WIF,
            json!({"d": {"username": "voskhod", "wif": wif}}),
            ADMIN_SECRET,
        )
        .await;
    assert_eq!(r["data"]["setWif"], true, "{r}");
    assert!(!r.to_string().contains(&wif));
    let stored = node.db.stored_key("active").await.unwrap().expect("stored");
    assert_eq!(stored.public_key, VOSKHOD.key().public_key().to_string());
    let raw = VOSKHOD.key().to_bytes();
    assert!(!stored.sealed.ciphertext.windows(32).any(|w| w == raw));
    // another account's key cannot be set, and a wrong secret is refused
    let r = node
        .admin(
            SET_WIF,
            json!({"d": {"username": "member1", "wif": key(12).to_wif()}}),
            ADMIN_SECRET,
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    let r = node
        .admin(
            SET_WIF,
            json!({"d": {"username": "voskhod", "wif": wif}}),
            "nope",
        )
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");

    // install: member2 becomes chairman, the chairman a member, signed with the stored key
    let soviet = json!([
        {"username": "member2", "role": "chairman", "position_title": "Председатель"},
        {"username": "chairman", "role": "member", "position_title": "Член совета"},
        {"username": "member1", "role": "member", "position_title": "Член совета"}]);
    let r = node
        .admin(
            INSTALL,
            json!({"d": {"wif": wif, "soviet": soviet}}),
            ADMIN_SECRET,
        )
        .await;
    assert_eq!(r["data"]["installSystem"]["system_status"], "active", "{r}");
    assert!(!r.to_string().contains(&wif));
    let head = chain.produce(1);
    node.synced(head).await;
    let registry = tenant_node::db::registry::Registry::new(
        node.db.clone(),
        support::chain::n("voskhod"),
        tenant_node::config::Contracts {
            registrator: support::chain::n("registrator"),
            soviet: support::chain::n("soviet"),
            gateway: support::chain::n("gateway"),
            branch: support::chain::n("branch"),
            draft: support::chain::n("draft"),
            wallet: support::chain::n("wallet"),
            fund: support::chain::n("fund"),
        },
    );
    let roles = registry.roles(None).await.unwrap();
    assert_eq!(roles.chairman, Some(support::chain::n("member2")));
    // installed once
    let r = node
        .admin(
            INSTALL,
            json!({"d": {"wif": wif, "soviet": soviet}}),
            ADMIN_SECRET,
        )
        .await;
    assert_eq!(error_code(&r), "CONFLICT", "{r}");

    node.stop().await;
    chain.shutdown().await;
}
