//! Start and wake: held requests complete when the node becomes ready, time out with 503 at
//! the hold deadline, and a suspended cooperative is woken once through the control plane.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;

#[tokio::test]
async fn held_request_succeeds_when_the_node_becomes_ready() {
    let a = Upstream::start("alpha").await;
    for state in ["starting", "stopping"] {
        let gw = start_gateway("", json!({ "routes": [route("alpha", &a, state)] })).await;
        let addr = gw.addr();
        let held = tokio::spawn(async move { get(addr, "alpha.coops.test", "/graphql").await });
        // Wait until the request is actually held, then flip the route.
        wait_for_metric(&gw, "gateway_held_requests_total{tenant=\"alpha\"} 1").await;
        assert!(!held.is_finished());
        gw.write_routes(json!({ "routes": [route("alpha", &a, "ready")] }));
        let (status, _, body) = tokio::time::timeout(Duration::from_secs(30), held)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{state}");
        assert_eq!(json(&body)["node"], "alpha");
        gw.running.shutdown().await;
    }
}

#[tokio::test]
async fn hold_deadline_gives_503_with_retry_after() {
    let a = Upstream::start("alpha").await;
    let gw = start_gateway(
        "[timeouts]\nhold_ms = 200\n",
        json!({ "routes": [route("alpha", &a, "starting")] }),
    )
    .await;
    let (status, headers, body) = tokio::time::timeout(
        Duration::from_secs(30),
        get(gw.addr(), "alpha.coops.test", "/"),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body, "service is starting, retry later\n");
    gw.running.shutdown().await;
}

#[tokio::test]
async fn held_requests_are_capped_per_cooperative() {
    let a = Upstream::start("alpha").await;
    let b = Upstream::start("beta").await;
    let gw = start_gateway(
        "[limits]\nmax_held_per_coop = 2\n",
        json!({ "routes": [route("alpha", &a, "starting"), route("beta", &b, "starting")] }),
    )
    .await;
    let addr = gw.addr();
    let first = tokio::spawn(async move { get(addr, "alpha.coops.test", "/graphql").await });
    let second = tokio::spawn(async move { get(addr, "alpha.coops.test", "/graphql").await });
    wait_for_metric(&gw, "gateway_held_requests_total{tenant=\"alpha\"} 2").await;
    // The third request for alpha is refused at once instead of queueing without bound.
    let (status, headers, body) = tokio::time::timeout(
        Duration::from_secs(10),
        get(addr, "alpha.coops.test", "/graphql"),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(body, "service is starting, retry later\n");
    wait_for_metric(&gw, "gateway_hold_overflow_total{tenant=\"alpha\"} 1").await;
    // The cap is per cooperative: beta still holds.
    let beta = tokio::spawn(async move { get(addr, "beta.coops.test", "/graphql").await });
    wait_for_metric(&gw, "gateway_held_requests_total{tenant=\"beta\"} 1").await;
    gw.write_routes(json!({ "routes": [route("alpha", &a, "ready"), route("beta", &b, "ready")] }));
    for (task, node) in [(first, "alpha"), (second, "alpha"), (beta, "beta")] {
        let (status, _, body) = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json(&body)["node"], node);
    }
    // Released slots are reusable.
    gw.write_routes(json!({ "routes": [route("alpha", &a, "starting")] }));
    gw.wait_for_status("beta.coops.test", "/", StatusCode::NOT_FOUND)
        .await;
    let again = tokio::spawn(async move { get(addr, "alpha.coops.test", "/").await });
    wait_for_metric(&gw, "gateway_held_requests_total{tenant=\"alpha\"} 3").await;
    gw.write_routes(json!({ "routes": [route("alpha", &a, "ready")] }));
    assert_eq!(again.await.unwrap().0, StatusCode::OK);
    gw.running.shutdown().await;
}

/// A stand-in control plane: records wake calls and flips the route file to ready.
async fn control_plane(
    route_file: PathBuf,
    ready: serde_json::Value,
    calls: Arc<Mutex<Vec<(String, String)>>>,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (route_file, ready, calls) = (route_file.clone(), ready.clone(), calls.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    calls
                        .lock()
                        .unwrap()
                        .push((format!("{} {}", req.method(), req.uri().path()), auth));
                    let (route_file, ready) = (route_file.clone(), ready.clone());
                    async move {
                        // Pretend the node takes a moment to start.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        write_routes(&route_file, ready);
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn suspended_coop_is_woken_once_by_concurrent_requests() {
    let a = Upstream::start("alpha").await;
    let dir = tempfile::tempdir().unwrap();
    let route_file = dir.path().join("routes.json");
    let calls = Arc::new(Mutex::new(Vec::new()));
    let cp = control_plane(
        route_file.clone(),
        json!({ "routes": [route("alpha", &a, "ready")] }),
        calls.clone(),
    )
    .await;
    std::fs::write(
        &route_file,
        json!({ "routes": [route("alpha", &a, "suspended")] }).to_string(),
    )
    .unwrap();
    let toml = format!(
        "listen = \"127.0.0.1:0\"\nbase_domain = \"coops.test\"\nroute_file = \"{}\"\nroute_poll_ms = 20\n\
         [wake]\ncontrol_plane_url = \"http://{cp}\"\nretry_ms = 60000\n",
        route_file.display()
    );
    let mut config = gateway::config::Config::from_toml(&toml).unwrap();
    if let Some(wake) = config.wake.as_mut() {
        wake.token = Some("wake-token".to_owned());
    }
    let running = gateway::server::start(config).await.unwrap();
    let addr = running.addr;
    let requests: Vec<_> = (0..5)
        .map(|i| {
            let host = if i % 2 == 0 {
                "alpha.coops.test"
            } else {
                "coops.test"
            };
            let path = if i % 2 == 0 {
                "/graphql"
            } else {
                "/coops/alpha/graphql"
            };
            tokio::spawn(async move { get(addr, host, path).await })
        })
        .collect();
    for r in requests {
        let (status, _, body) = tokio::time::timeout(Duration::from_secs(30), r)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json(&body)["node"], "alpha");
    }
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [(
            "POST /v1/cooperatives/alpha/wake".to_owned(),
            "Bearer wake-token".to_owned()
        )]
    );
    running.shutdown().await;
}

async fn wait_for_metric(gw: &TestGateway, needle: &str) {
    for _ in 0..500 {
        if get(gw.admin(), "admin", "/metrics")
            .await
            .2
            .contains(needle)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("metric {needle} never appeared");
}
