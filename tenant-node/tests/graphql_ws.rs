//! Subscriptions over real websockets, both protocols (`graphql-transport-ws` and the legacy
//! `graphql-ws`): a council member receives the registry events of a chain action on the
//! devchain once the node has committed its block; websocket operations are counted in the
//! GraphQL metrics like HTTP ones.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::api::Served;
use support::chain::{key, user_name, TestChain, VOSKHOD};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const EVENTS: &str = "subscription { registryEvents { block_num kind account name } }";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(node: &Served, protocol: &str) -> Ws {
    let url = format!("{}/graphql", node.base.replace("http://", "ws://"));
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().expect("header"));
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    assert_eq!(
        resp.headers()["sec-websocket-protocol"].to_str().unwrap(),
        protocol
    );
    ws
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

/// The next JSON message that is not a keep-alive, if one comes within `secs`.
async fn next(ws: &mut Ws, secs: u64) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(secs), ws.next())
            .await
            .ok()??
            .expect("websocket message");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).expect("JSON message");
            if v["type"] != "ka" && v["type"] != "ping" {
                return Some(v);
            }
        }
    }
}

/// Subscribes with `protocol`, then makes registrations until an event arrives (the first one
/// may race the subscription); returns the first data payload.
async fn first_event(
    node: &Served,
    chain: &TestChain,
    protocol: &str,
    token: &str,
    tag: &str,
) -> Value {
    let mut ws = connect(node, protocol).await;
    send(
        &mut ws,
        json!({"type": "connection_init",
        "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    let ack = next(&mut ws, 10).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let start = if protocol == "graphql-ws" {
        "start"
    } else {
        "subscribe"
    };
    send(
        &mut ws,
        json!({"id": "1", "type": start, "payload": {"query": EVENTS}}),
    )
    .await;
    for i in 0..20 {
        chain.register(&VOSKHOD, &user_name(tag, i), 60);
        chain.produce(1);
        if let Some(msg) = next(&mut ws, 3).await {
            let data_type = if protocol == "graphql-ws" {
                "data"
            } else {
                "next"
            };
            assert_eq!(msg["type"], data_type, "{msg}");
            assert_eq!(msg["id"], "1");
            let event = msg["payload"]["data"]["registryEvents"].clone();
            assert!(event.is_object(), "{protocol}: {msg}");
            return event;
        }
    }
    panic!("no registry event over {protocol}");
}

#[tokio::test(flavor = "multi_thread")]
async fn both_protocols_deliver_registry_events_after_commit() {
    let chain = TestChain::start().await;
    let head = chain.produce(5);
    let node = Served::start(&chain).await;
    node.synced(head).await;
    node.add_user("member1", None, "registered").await;
    let (token, _) = node
        .login(&chain, "member1", &key(VOSKHOD.members[0].1))
        .await;

    for (protocol, tag) in [("graphql-transport-ws", "wsa"), ("graphql-ws", "wsb")] {
        let event = first_event(&node, &chain, protocol, &token, tag).await;
        let block = event["block_num"].as_u64().expect("block_num") as u32;
        assert!(
            ["registrator", "soviet", "gateway"].contains(&event["account"].as_str().unwrap()),
            "{event}"
        );
        // published after the commit: the block is in the database already
        let checkpoint = node.db.sync_state().await.unwrap().checkpoint.unwrap();
        assert!(checkpoint.block_num >= block, "{protocol}: {event}");
    }

    // without a token the subscription is refused
    let mut ws = connect(&node, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(next(&mut ws, 10).await.unwrap()["type"], "connection_ack");
    send(
        &mut ws,
        json!({"id": "2", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await;
    let msg = next(&mut ws, 10).await.expect("an answer");
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{msg}"
    );
    assert!(msg["payload"]["data"].is_null(), "{msg}");

    // Metrics: each websocket operation once (subscriptions at their first response), a query
    // over the websocket exactly once, the refused subscription as an error.
    let before = metric(&node, "requests", "getSystemInfo").await;
    send(
        &mut ws,
        json!({"id": "3", "type": "subscribe",
               "payload": {"query": "{ getSystemInfo { coopname } }"}}),
    )
    .await;
    let msg = loop {
        let msg = next(&mut ws, 10).await.expect("an answer");
        if msg["id"] == "3" {
            break msg;
        }
    };
    assert_eq!(
        msg["payload"]["data"]["getSystemInfo"]["coopname"], "voskhod",
        "{msg}"
    );
    assert_eq!(metric(&node, "requests", "getSystemInfo").await, before + 1);
    assert!(metric(&node, "requests", "registryEvents").await >= 3);
    assert!(metric(&node, "errors", "registryEvents").await >= 1);
    let http = reqwest::Client::new()
        .post(format!("{}/graphql", node.base))
        .json(&json!({"query": "{ getSystemInfo { coopname } }"}))
        .send()
        .await
        .unwrap();
    assert!(http.status().is_success());
    assert_eq!(metric(&node, "requests", "getSystemInfo").await, before + 2);

    node.stop().await;
    chain.shutdown().await;
}

/// `tenant_node_graphql_<family>_total` for one operation, from `/metrics`.
async fn metric(node: &Served, family: &str, operation: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let name = format!("tenant_node_graphql_{family}_total{{");
    let label = format!("operation=\"{operation}\"}}");
    text.lines()
        .find(|l| l.starts_with(&name) && l.contains(&label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}…{label} in /metrics"))
}
