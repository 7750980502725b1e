//! Limits and timeouts over real sockets: 429 per cooperative, 413 for declared and streamed
//! bodies, 504 for a slow upstream, 502 for a dead one.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::{Full, StreamBody};
use serde_json::json;

#[tokio::test]
async fn rate_limit_is_per_cooperative_and_answers_429() {
    let a = Upstream::start("alpha").await;
    let b = Upstream::start("beta").await;
    // 0.01/s over 600 s = 6 requests per 10 minutes: deterministic whatever the test speed.
    let limits = "[limits]\nrate = [{ per_second = 0.01, window_secs = 600 }]\n";
    let gw = start_gateway(
        limits,
        json!({ "routes": [route("alpha", &a, "ready"), route("beta", &b, "ready")] }),
    )
    .await;
    for _ in 0..6 {
        assert_eq!(
            get(gw.addr(), "alpha.coops.test", "/").await.0,
            StatusCode::OK
        );
    }
    let (status, headers, body) = get(gw.addr(), "alpha.coops.test", "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body, "rate limit exceeded, retry later\n");
    // The other cooperative has its own budget.
    assert_eq!(
        get(gw.addr(), "beta.coops.test", "/").await.0,
        StatusCode::OK
    );
    let (_, _, metrics) = get(gw.admin(), "admin", "/metrics").await;
    assert!(
        metrics.contains("gateway_rate_limited_total{tenant=\"alpha\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gateway_rate_limited_total{tenant=\"beta\"} 0"),
        "{metrics}"
    );
    gw.running.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let a = Upstream::start("alpha").await;
    let gw = start_gateway(
        "[limits]\nmax_body_bytes = 1000\n",
        json!({ "routes": [route("alpha", &a, "ready")] }),
    )
    .await;
    let post = |len: usize| {
        request("alpha.coops.test", "/graphql")
            .method("POST")
            .body(Full::new(Bytes::from(vec![b'x'; len])))
            .unwrap()
    };
    let (status, _, body) = send(gw.addr(), post(1000)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["body_len"], 1000);
    let (status, _, body) = send(gw.addr(), post(1001)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, "request body too large\n");

    // A chunked body without Content-Length is cut at the limit too.
    let chunks = (0..4).map(|_| {
        Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(Bytes::from(vec![b'y'; 400])))
    });
    let body = StreamBody::new(futures_util::stream::iter(chunks));
    let req = request("alpha.coops.test", "/graphql")
        .method("POST")
        .body(body)
        .unwrap();
    let stream = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    gw.running.shutdown().await;
}

#[tokio::test]
async fn slow_upstream_gets_504_before_the_deadline() {
    let a = Upstream::start("alpha").await;
    let gw = start_gateway(
        "[timeouts]\nupstream_response_ms = 300\n",
        json!({ "routes": [route("alpha", &a, "ready")] }),
    )
    .await;
    let (status, _, body) = tokio::time::timeout(
        Duration::from_secs(30),
        get(gw.addr(), "alpha.coops.test", "/slow"),
    )
    .await
    .expect("504 must arrive well before the outer timeout");
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body, "upstream timed out\n");
    // The cooperative still works after a timeout.
    assert_eq!(
        get(gw.addr(), "alpha.coops.test", "/").await.0,
        StatusCode::OK
    );
    gw.running.shutdown().await;
}

#[tokio::test]
async fn dead_upstream_gets_502_without_internal_details() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let gw = start_gateway(
        "",
        json!({ "routes": [{ "coop": "alpha", "upstream": addr.to_string() }] }),
    )
    .await;
    let (status, _, body) = get(gw.addr(), "alpha.coops.test", "/graphql").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body, "upstream unavailable\n");
    gw.running.shutdown().await;
}
