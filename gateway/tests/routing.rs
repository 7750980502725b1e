//! Routing over real sockets: by host, custom domain, path prefix and h2c to the right node,
//! cross-cooperative attempts, routes changed while requests are in flight, admin API.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::Full;
use serde_json::json;

async fn three_nodes() -> (Upstream, Upstream, Upstream, TestGateway) {
    let (a, b, c) = (
        Upstream::start("alpha").await,
        Upstream::start("beta").await,
        Upstream::start("gamma").await,
    );
    let mut gamma = route("gamma.x", &c, "ready");
    gamma["domains"] = json!(["shop.example"]);
    let gw = start_gateway(
        "",
        json!({ "routes": [route("alpha", &a, "ready"), route("beta", &b, "ready"), gamma] }),
    )
    .await;
    (a, b, c, gw)
}

#[tokio::test]
async fn routes_by_host_and_path_to_the_right_node() {
    let (_a, _b, _c, gw) = three_nodes().await;
    let cases = [
        ("alpha.coops.test", "/graphql?x=1", "alpha", "/graphql?x=1"),
        ("beta.coops.test:8080", "/graphql", "beta", "/graphql"),
        ("gamma.x.coops.test", "/graphql", "gamma", "/graphql"),
        ("shop.example", "/graphql", "gamma", "/graphql"),
        ("coops.test", "/coops/beta/graphql", "beta", "/graphql"),
        ("coops.test", "/coops/alpha", "alpha", "/"),
        (
            "coops.test",
            "/coops/gamma.x/graphql?q=2",
            "gamma",
            "/graphql?q=2",
        ),
    ];
    for (host, path, node, upstream_path) in cases {
        let (status, _, body) = get(gw.addr(), host, path).await;
        assert_eq!(status, StatusCode::OK, "{host}{path}");
        let body = json(&body);
        assert_eq!(body["node"], node, "{host}{path}");
        assert_eq!(body["path"], upstream_path, "{host}{path}");
    }
    let (status, body) = send_h2(gw.addr(), "http://beta.coops.test/graphql").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["node"], "beta");
    let (status, body) = send_h2(gw.addr(), "http://coops.test/coops/alpha/graphql").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["node"], "alpha");
    let (status, _, body) = get(gw.addr(), "127.0.0.1", "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    gw.running.shutdown().await;
}

#[tokio::test]
async fn header_and_path_attempts_cannot_reach_another_coop() {
    let (_a, _b, _c, gw) = three_nodes().await;
    let req = request("alpha.coops.test", "/graphql")
        .header("x-mono-coop", "beta")
        .header("x-coop", "beta")
        .header("x-forwarded-host", "beta.coops.test")
        .header("x-forwarded-for", "6.6.6.6")
        .header("forwarded", "host=beta.coops.test")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, body) = send(gw.addr(), req).await;
    assert_eq!(status, StatusCode::OK);
    let body = json(&body);
    assert_eq!(body["node"], "alpha");
    let headers = &body["headers"];
    assert_eq!(headers["x-mono-coop"], "alpha");
    assert_eq!(headers["x-forwarded-host"], "alpha.coops.test");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(headers.get("x-coop").is_none());
    assert!(headers.get("forwarded").is_none());

    // The host decides; a path prefix on a coop's host stays on that coop's node.
    let (_, _, body) = get(gw.addr(), "alpha.coops.test", "/coops/beta/graphql").await;
    assert_eq!(json(&body)["node"], "alpha");

    for path in [
        "/coops/alpha/../beta/graphql",
        "/coops/alpha/%2e%2e/beta/graphql",
        "/coops/alpha/%2E%2E%2Fbeta/graphql",
        "/coops/alpha%2f..%2fbeta/graphql",
        "/coops/alpha/..%5cbeta/graphql",
    ] {
        let (status, _, body) = get(gw.addr(), "coops.test", path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(!body.contains("beta"), "{path}");
    }

    // Unknown host and unknown coop look the same and reveal nothing.
    let unknown_coop = get(gw.addr(), "coops.test", "/coops/nosuch/graphql").await;
    let unknown_sub = get(gw.addr(), "nosuch.coops.test", "/graphql").await;
    let unknown_host = get(gw.addr(), "evil.example", "/coops/beta/graphql").await;
    for (status, _, body) in [&unknown_coop, &unknown_sub, &unknown_host] {
        assert_eq!(*status, StatusCode::NOT_FOUND);
        assert_eq!(body, "not found\n");
    }
    gw.running.shutdown().await;
}

#[tokio::test]
async fn routes_change_while_requests_are_in_flight() {
    let a = Upstream::start("alpha").await;
    let b = Upstream::start("beta").await;
    let gw = start_gateway(
        NO_LIMITS,
        json!({ "routes": [route("alpha", &a, "ready")] }),
    )
    .await;
    let addr = gw.addr();

    // A request that stays in flight at alpha across both route changes.
    let held = tokio::spawn(async move { get(addr, "alpha.coops.test", "/wait").await });
    // Steady traffic to alpha on keep-alive connections during the changes.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    for _ in 0..4 {
        let stop_rx = stop_rx.clone();
        loops.push(tokio::spawn(keep_alive_loop(addr, stop_rx)));
    }

    assert_eq!(
        get(addr, "beta.coops.test", "/").await.0,
        StatusCode::NOT_FOUND
    );
    gw.write_routes(json!({ "routes": [route("alpha", &a, "ready"), route("beta", &b, "ready")] }));
    gw.wait_for_status("beta.coops.test", "/", StatusCode::OK)
        .await;
    gw.write_routes(json!({ "routes": [route("beta", &b, "ready")] }));
    gw.wait_for_status("alpha.coops.test", "/", StatusCode::NOT_FOUND)
        .await;
    stop_tx.send(true).unwrap();
    let mut statuses = Vec::new();
    for l in loops {
        statuses.extend(l.await.unwrap());
    }
    assert!(!statuses.is_empty());
    // Every request got a full answer: 200 while alpha was routed, then 404; never an error.
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::OK));

    // The request that was in flight when alpha was removed still completes.
    a.release.notify_one();
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(30), held)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["node"], "alpha");

    // An invalid route document is rejected and the previous table stays.
    std::fs::write(&gw.route_file, "{ not json").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(addr, "beta.coops.test", "/").await.0, StatusCode::OK);
    gw.running.shutdown().await;
}

async fn keep_alive_loop(
    addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<StatusCode> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut statuses = Vec::new();
    while !*stop.borrow() {
        let req = request("alpha.coops.test", "/graphql")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let res = sender
            .send_request(req)
            .await
            .expect("connection dropped during route change");
        statuses.push(res.status());
        res.into_body().collect().await.unwrap();
    }
    statuses
}

#[tokio::test]
async fn admin_api_pushes_routes_and_serves_metrics() {
    let a = Upstream::start("alpha").await;
    let b = Upstream::start("beta").await;
    let gw = start_gateway("", json!({ "routes": [route("alpha", &a, "ready")] })).await;
    assert_eq!(
        get(gw.addr(), "alpha.coops.test", "/").await.0,
        StatusCode::OK
    );
    let doc =
        json!({ "routes": [route("alpha", &a, "ready"), route("beta", &b, "ready")] }).to_string();
    let put = |token: Option<&str>, body: String| {
        let mut req = http::Request::builder()
            .method("PUT")
            .uri("/routes")
            .header("host", "admin");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req.body(Full::new(Bytes::from(body))).unwrap()
    };
    assert_eq!(
        send(gw.admin(), put(None, doc.clone())).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(gw.admin(), put(Some("wrong-token!!!"), doc.clone()))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let bad = json!({ "routes": [{ "coop": "Bad-Name", "upstream": "127.0.0.1:1" }] }).to_string();
    assert_eq!(
        send(gw.admin(), put(Some("operator-token"), bad)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        send(gw.admin(), put(Some("operator-token"), doc)).await.0,
        StatusCode::OK
    );
    let (status, _, body) = get(gw.addr(), "beta.coops.test", "/graphql").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["node"], "beta");

    // The admin listener is the only place with /metrics; tenants' hosts proxy that path.
    let (_, _, body) = get(gw.addr(), "alpha.coops.test", "/metrics").await;
    assert_eq!(json(&body)["node"], "alpha");
    let (status, _, metrics) = get(gw.admin(), "admin", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "gateway_requests_total{tenant=\"alpha\",status_class=\"2xx\"} 2",
        "gateway_requests_total{tenant=\"beta\",status_class=\"2xx\"} 1",
        "gateway_request_duration_seconds_count{tenant=\"alpha\"} 2",
        "gateway_open_websockets{tenant=\"alpha\"} 0",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
    assert!(!metrics.contains("/graphql"));

    // A cooperative removed from the table takes its series, limiter and pools with it.
    let only_alpha = json!({ "routes": [route("alpha", &a, "ready")] }).to_string();
    assert_eq!(
        send(gw.admin(), put(Some("operator-token"), only_alpha))
            .await
            .0,
        StatusCode::OK
    );
    let (_, _, metrics) = get(gw.admin(), "admin", "/metrics").await;
    assert!(!metrics.contains("tenant=\"beta\""), "{metrics}");
    assert!(metrics.contains("gateway_requests_total{tenant=\"alpha\",status_class=\"2xx\"} 2"));
    gw.running.shutdown().await;
}
