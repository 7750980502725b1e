//! Test fixtures: in-test upstream "tenant nodes" (hyper), a gateway started on port 0 with a
//! route file in a temp dir, and a small raw HTTP client that sets any Host header.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gateway::config::Config;
use gateway::server::{start, RunningGateway};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub const BASE: &str = "coops.test";

/// Extra config that lifts rate limits for tests that send many requests.
pub const NO_LIMITS: &str = "[limits]\nrate = [{ per_second = 1000000, window_secs = 1 }]\n";

/// A fake tenant node; answers JSON describing what it received.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub addr: SocketAddr,
    /// Requests to `/wait` block until this is notified.
    pub release: Arc<Notify>,
}

impl Upstream {
    pub async fn start(name: &str) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let release = Arc::new(Notify::new());
        let upstream = Upstream {
            name: name.to_owned(),
            addr,
            release: release.clone(),
        };
        let name = name.to_owned();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let name = name.clone();
                let release = release.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(name.clone(), release.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        upstream
    }
}

async fn answer(
    name: String,
    release: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    if path == "/slow" {
        std::future::pending::<()>().await;
    }
    if path == "/wait" {
        release.notified().await;
    }
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    let json =
        serde_json::json!({ "node": name, "path": path, "headers": headers, "body_len": body });
    Ok(Response::new(Full::new(Bytes::from(json.to_string()))))
}

/// A running gateway plus its route file.
#[derive(Debug)]
pub struct TestGateway {
    pub running: RunningGateway,
    pub route_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestGateway {
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    pub fn admin(&self) -> SocketAddr {
        self.running.admin_addr.unwrap()
    }

    /// Rewrites the route file; the gateway's poller picks it up.
    pub fn write_routes(&self, routes: serde_json::Value) {
        write_routes(&self.route_file, routes);
    }

    /// Waits until a request to `host` + `path` answers `status`.
    pub async fn wait_for_status(&self, host: &str, path: &str, status: StatusCode) {
        for _ in 0..500 {
            if get(self.addr(), host, path).await.0 == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{host}{path} never answered {status}");
    }
}

/// Atomically replaces a route file.
pub fn write_routes(path: &std::path::Path, routes: serde_json::Value) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, routes.to_string()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Starts a gateway with the given extra config TOML and initial routes.
pub async fn start_gateway(extra_toml: &str, routes: serde_json::Value) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let route_file = dir.path().join("routes.json");
    std::fs::write(&route_file, routes.to_string()).unwrap();
    let toml = format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nbase_domain = \"{BASE}\"\n\
         route_file = \"{}\"\nroute_poll_ms = 20\n{extra_toml}",
        route_file.display()
    );
    let mut config = Config::from_toml(&toml).unwrap();
    config.admin_token = Some("operator-token".to_owned());
    let running = start(config).await.unwrap();
    TestGateway {
        running,
        route_file,
        _dir: dir,
    }
}

/// One route entry as JSON.
pub fn route(coop: &str, upstream: &Upstream, state: &str) -> serde_json::Value {
    serde_json::json!({ "coop": coop, "upstream": upstream.addr.to_string(), "state": state })
}

/// Sends a request over a fresh HTTP/1.1 connection; returns status, headers and body text.
pub async fn send(
    addr: SocketAddr,
    req: Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// GET with a Host header.
pub async fn get(
    addr: SocketAddr,
    host: &str,
    path: &str,
) -> (StatusCode, http::HeaderMap, String) {
    send(
        addr,
        request(host, path).body(Full::new(Bytes::new())).unwrap(),
    )
    .await
}

pub fn request(host: &str, path: &str) -> http::request::Builder {
    Request::builder().uri(path).header("host", host)
}

/// Parses an upstream's JSON answer.
pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Sends a request over HTTP/2 prior knowledge (h2c).
pub async fn send_h2(addr: SocketAddr, uri: &str) -> (StatusCode, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .uri(uri)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
