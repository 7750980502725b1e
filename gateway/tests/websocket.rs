//! Websocket passthrough: GraphQL subscription protocols negotiated end to end and messages
//! delivered both ways, by host and by path prefix.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// A fake GraphQL websocket server: picks the first offered protocol it knows, acks
/// `connection_init`, then sends three `next` messages naming the node and the request path.
async fn ws_node(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut path = String::new();
                let mut coop_header = String::new();
                #[allow(clippy::result_large_err)] // The signature is tungstenite's.
                let callback = |req: &Request, mut res: Response| {
                    path = req.uri().path().to_owned();
                    coop_header = req
                        .headers()
                        .get("x-mono-coop")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    let offered = req
                        .headers()
                        .get("sec-websocket-protocol")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    let chosen = offered
                        .split(',')
                        .map(str::trim)
                        .find(|p| *p == "graphql-transport-ws" || *p == "graphql-ws");
                    if let Some(p) = chosen {
                        res.headers_mut()
                            .insert("sec-websocket-protocol", p.parse().unwrap());
                    }
                    Ok(res)
                };
                let mut ws = tokio_tungstenite::accept_hdr_async(stream, callback)
                    .await
                    .unwrap();
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(text) = msg else { continue };
                    let msg: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                    if msg["type"] == "connection_init" {
                        ws.send(Message::text(json!({"type": "connection_ack"}).to_string()))
                            .await
                            .unwrap();
                    }
                    if msg["type"] == "subscribe" || msg["type"] == "start" {
                        for i in 0..3 {
                            let next = json!({"id": msg["id"], "type": "next",
                                "payload": {"data": {"node": name, "path": path, "coop": coop_header, "n": i}}});
                            ws.send(Message::text(next.to_string())).await.unwrap();
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn subscribe(gw: SocketAddr, url: &str, protocol: &str) -> (String, Vec<serde_json::Value>) {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    let stream = TcpStream::connect(gw).await.unwrap();
    let (mut ws, res) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    let negotiated = res
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    ws.send(Message::text(
        json!({"type": "connection_init"}).to_string(),
    ))
    .await
    .unwrap();
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { x }"}})
            .to_string(),
    ))
    .await
    .unwrap();
    let mut messages = Vec::new();
    while messages.len() < 4 {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(text) = msg {
            messages.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    ws.close(None).await.unwrap();
    (negotiated, messages)
}

#[tokio::test]
async fn subscriptions_flow_through_the_gateway() {
    let alpha = ws_node("alpha").await;
    let beta = ws_node("beta").await;
    let routes = json!({ "routes": [
        { "coop": "alpha", "upstream": alpha.to_string() },
        { "coop": "beta", "upstream": beta.to_string() },
    ]});
    let gw = start_gateway("", routes).await;

    let (protocol, messages) = subscribe(
        gw.addr(),
        "ws://alpha.coops.test/graphql",
        "graphql-transport-ws",
    )
    .await;
    assert_eq!(protocol, "graphql-transport-ws");
    assert_eq!(messages[0]["type"], "connection_ack");
    for (i, m) in messages[1..].iter().enumerate() {
        assert_eq!(m["type"], "next");
        assert_eq!(m["payload"]["data"]["node"], "alpha");
        assert_eq!(m["payload"]["data"]["coop"], "alpha");
        assert_eq!(m["payload"]["data"]["n"], i);
    }

    let (protocol, messages) = subscribe(
        gw.addr(),
        "ws://coops.test/coops/beta/graphql",
        "graphql-ws",
    )
    .await;
    assert_eq!(protocol, "graphql-ws");
    assert_eq!(messages[3]["payload"]["data"]["node"], "beta");
    assert_eq!(messages[3]["payload"]["data"]["path"], "/graphql");

    // Offering both keeps the client's list intact; the node picks.
    let (protocol, _) = subscribe(
        gw.addr(),
        "ws://beta.coops.test/graphql",
        "graphql-transport-ws, graphql-ws",
    )
    .await;
    assert_eq!(protocol, "graphql-transport-ws");

    // The gauge returns to zero once the sockets are closed.
    let mut last = String::new();
    for _ in 0..200 {
        last = get(gw.admin(), "admin", "/metrics").await.2;
        if last.contains("gateway_open_websockets{tenant=\"alpha\"} 0")
            && last.contains("gateway_open_websockets{tenant=\"beta\"} 0")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        last.contains("gateway_open_websockets{tenant=\"beta\"} 0"),
        "{last}"
    );
    assert_eq!(
        get(gw.addr(), "nosuch.coops.test", "/graphql").await.0,
        StatusCode::NOT_FOUND
    );
    gw.running.shutdown().await;
}
