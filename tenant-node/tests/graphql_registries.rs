//! Registry queries over real HTTP: role checks (a `user` cannot read the council's lists or
//! another user's records), `block` (state as of a block), pagination bounds, and the request
//! limits (depth, complexity, body size).

mod support;

use serde_json::json;
use support::api::{error_code, Served};
use support::chain::{key, TestChain, VOSKHOD};

const AGENDA: &str = "query($b: Int, $o: PaginationInput) { getAgenda(block: $b, options: $o) {
    items { id username } totalCount totalPages currentPage } }";
const PAYMENTS: &str = "query($d: GetPaymentsInput) { getPayments(data: $d) {
    items { username status } totalCount } }";

#[tokio::test(flavor = "multi_thread")]
async fn roles_self_access_history_and_pages() {
    let chain = TestChain::start().await;
    chain.produce(5);
    let d1 = chain.register(&VOSKHOD, "alice", 50);
    let after_first = chain.produce(1);
    let d2 = chain.register(&VOSKHOD, "bob", 51);
    let head = chain.produce(1);
    assert_eq!((d1, d2), (1, 2));
    let node = Served::start(&chain).await;
    node.synced(head).await;
    node.add_user("member1", None, "registered").await;
    node.add_user("alice", None, "registered").await;
    let (member, _) = node
        .login(&chain, "member1", &key(VOSKHOD.members[0].1))
        .await;
    let (alice, _) = node.login(&chain, "alice", &key(50)).await;

    // the council sees the agenda, now and as of an earlier block
    let r = node.gql(AGENDA, json!({}), Some(&member)).await;
    assert_eq!(r["data"]["getAgenda"]["totalCount"], 2, "{r}");
    let r = node
        .gql(AGENDA, json!({"b": after_first}), Some(&member))
        .await;
    assert_eq!(r["data"]["getAgenda"]["totalCount"], 1, "{r}");
    assert_eq!(r["data"]["getAgenda"]["items"][0]["username"], "alice");
    // pages: one item per page, the second page holds bob
    let r = node
        .gql(AGENDA, json!({"o": {"page": 2, "limit": 1}}), Some(&member))
        .await;
    let page = &r["data"]["getAgenda"];
    assert_eq!(page["items"][0]["username"], "bob", "{r}");
    assert_eq!(
        (page["totalPages"].clone(), page["currentPage"].clone()),
        (json!(2), json!(2))
    );
    // page size is bounded
    for bad in [
        json!({"limit": 101}),
        json!({"limit": 0}),
        json!({"page": 0}),
    ] {
        let r = node.gql(AGENDA, json!({"o": bad}), Some(&member)).await;
        assert!(!r["errors"].is_null(), "{bad} must be refused: {r}");
        assert!(r["data"].is_null(), "{r}");
    }

    // a plain user: no agenda, no one else's account or payments, only their own
    let r = node.gql(AGENDA, json!({}), Some(&alice)).await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = node
        .gql(
            "{ getAccount(data: {username: \"member1\"}) { username provider_account { email } } }",
            json!({}),
            Some(&alice),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = node
        .gql(PAYMENTS, json!({"d": {"username": "bob"}}), Some(&alice))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = node.gql(PAYMENTS, json!({}), Some(&alice)).await;
    let items = r["data"]["getPayments"]["items"]
        .as_array()
        .expect("items")
        .clone();
    assert_eq!(items.len(), 1, "only alice's own payment: {r}");
    assert_eq!(items[0]["username"], "alice");
    let r = node.gql(PAYMENTS, json!({}), Some(&member)).await;
    assert_eq!(r["data"]["getPayments"]["totalCount"], 2, "{r}");
    let r = node
        .gql("{ getAccounts { totalCount } }", json!({}), Some(&alice))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = node
        .gql(
            "{ getAccounts { totalCount items { username } } }",
            json!({}),
            Some(&member),
        )
        .await;
    assert_eq!(r["data"]["getAccounts"]["totalCount"], 2, "{r}");
    // public system information carries no personal data
    let r = node
        .gql(
            "{ getSystemInfo { coopname system_status synced_block } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(r["data"]["getSystemInfo"]["coopname"], "voskhod", "{r}");
    assert_eq!(r["data"]["getSystemInfo"]["system_status"], "maintenance");

    node.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn depth_complexity_and_body_size_are_limited() {
    let chain = TestChain::start().await;
    chain.produce(1);
    let node = Served::start(&chain).await;

    // depth: a 20-level introspection selection
    let mut deep = String::from("name");
    for _ in 0..20 {
        deep = format!("ofType {{ {deep} }}");
    }
    let q = format!("{{ __type(name: \"Query\") {{ fields {{ type {{ {deep} }} }} }} }}");
    let (status, r) = node.post(json!({"query": q}), &[]).await;
    assert_eq!(status, 200);
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("nested too deep"),
        "{r}"
    );
    // the standard depth of a GraphiQL introspection still works
    let (_, r) = node
        .post(json!({"query": "{ __schema { queryType { name } } }"}), &[])
        .await;
    assert_eq!(r["data"]["__schema"]["queryType"]["name"], "Query", "{r}");

    // complexity: 600 aliased fields
    let fields: String = (0..600)
        .map(|i| format!("a{i}: getSystemInfo {{ coopname }} "))
        .collect();
    let (_, r) = node
        .post(json!({"query": format!("{{ {fields} }}")}), &[])
        .await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("too complex"),
        "{r}"
    );

    // body size: more than 64 KiB is refused before parsing
    let big = "#".repeat(70 * 1024);
    let (status, _) = node
        .post(
            json!({"query": format!("{big}\n{{ getSystemInfo {{ coopname }} }}")}),
            &[],
        )
        .await;
    assert_eq!(status, 413);

    // the metrics count by root field, never by the client's operation name
    let (_, _) = node
        .post(
            json!({"query": "query SomeClientName { getSystemInfo { coopname } }"}),
            &[],
        )
        .await;
    let metrics = node
        .http
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("operation=\"getSystemInfo\""), "{metrics}");
    assert!(!metrics.contains("SomeClientName"));
    assert!(metrics.contains("tenant_node_db_connections_max"));

    node.stop().await;
    chain.shutdown().await;
}
