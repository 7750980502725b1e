//! TLS termination with rustls from certificate files: HTTP/1.1 and HTTP/2 (ALPN) over TLS,
//! `X-Forwarded-Proto: https`. Fixtures in tests/fixtures are test-only certificates.

mod common;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{crypto, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn connector(alpn: &[u8]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    let pem = std::fs::read(fixtures().join("ca.pem")).unwrap();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn terminates_tls_for_base_and_custom_domains() {
    let a = Upstream::start("alpha").await;
    let extra = format!(
        "[tls]\nlisten = \"127.0.0.1:0\"\n[[tls.certs]]\ndomains = [\"coops.test\", \"*.coops.test\", \"shop.example\"]\n\
         cert = \"{}\"\nkey = \"{}\"\n",
        fixtures().join("leaf.pem").display(),
        fixtures().join("leaf.key").display()
    );
    let mut alpha = route("alpha", &a, "ready");
    alpha["domains"] = json!(["shop.example"]);
    let gw = start_gateway(&extra, json!({ "routes": [alpha] })).await;
    let tls_addr = gw.running.tls_addr.unwrap();

    for host in ["alpha.coops.test", "shop.example"] {
        let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
        let name = ServerName::try_from(host.to_owned()).unwrap();
        let tls = connector(b"http/1.1").connect(name, tcp).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = request(host, "/graphql")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = json(&String::from_utf8_lossy(
            &res.into_body().collect().await.unwrap().to_bytes(),
        ));
        assert_eq!(body["node"], "alpha");
        assert_eq!(body["headers"]["x-forwarded-proto"], "https");
    }

    let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
    let name = ServerName::try_from("coops.test".to_owned()).unwrap();
    let tls = connector(b"h2").connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .uri("https://coops.test/coops/alpha/graphql")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = json(&String::from_utf8_lossy(
        &res.into_body().collect().await.unwrap().to_bytes(),
    ));
    assert_eq!(body["path"], "/graphql");
    gw.running.shutdown().await;
}
