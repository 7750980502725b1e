//! The native HTTP/1.1 path over real sockets: keep-alive and pipelining, bodies larger than a
//! buffer, chunked, interim and close-delimited responses, reuse of node connections (and a
//! node closing one), malformed node responses, and what it hands over to hyper (HTTP/1.0,
//! chunked request bodies, h2c by prior knowledge).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use gateway::h1::codec::ChunkedScanner;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HOST: &str = "alpha.coops.test";

/// A node written with plain sockets, to answer in ways hyper would not: chunked in pieces,
/// close-delimited, with interim responses, malformed, or closing after a keep-alive answer.
struct RawNode {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl RawNode {
    async fn start() -> RawNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(raw_node_connection(stream, count.clone()));
            }
        });
        RawNode { addr, connections }
    }

    fn route(&self) -> serde_json::Value {
        serde_json::json!({ "routes": [
            { "coop": "alpha", "upstream": self.addr.to_string(), "state": "ready" }
        ]})
    }
}

async fn raw_node_connection(mut stream: TcpStream, connections: Arc<AtomicUsize>) {
    let mut buf = Vec::new();
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let path = head.split(' ').nth(1).unwrap_or("").to_owned();
        match path.as_str() {
            "/chunked" => {
                for part in [
                    &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Node: raw\r\n\r\n"[..],
                    b"5\r\nhello\r\n",
                    b"7;note=x\r\n, world\r\n",
                    b"0\r\nX-Trailer: 1\r\n\r\n",
                ] {
                    stream.write_all(part).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            "/close" => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ")
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
                stream.write_all(b"the end").await.unwrap();
                return;
            }
            "/interim" => {
                stream
                    .write_all(
                        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
                          HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                    )
                    .await
                    .unwrap();
            }
            "/malformed" => {
                stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
                    )
                    .await
                    .unwrap();
                return;
            }
            "/then-close" => {
                // Keep-alive answer, then the node closes the connection while it is pooled.
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye")
                    .await
                    .unwrap();
                return;
            }
            _ => {
                let body = format!("{path} connections={}", connections.load(Ordering::SeqCst));
                let res = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(res.as_bytes()).await.unwrap();
            }
        }
    }
}

/// Reads one response (Content-Length, chunked or until close) from a raw client connection.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> (u16, String, String) {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(stream, buf).await.expect("response head");
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end);
    let status: u16 = head[9..12].parse().unwrap();
    let lower = head.to_ascii_lowercase();
    let body = if (100..200).contains(&status) {
        Vec::new()
    } else if let Some(len) = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
    {
        let len: usize = len.trim().parse().unwrap();
        while buf.len() < len {
            read_more(stream, buf).await.expect("body");
        }
        buf.drain(..len).collect::<Vec<u8>>()
    } else if lower.contains("transfer-encoding: chunked") {
        let mut scanner = ChunkedScanner::default();
        let mut body = Vec::new();
        loop {
            let n = scanner.scan(buf).expect("valid chunked framing");
            body.extend(buf.drain(..n));
            if scanner.done() {
                break body;
            }
            read_more(stream, buf).await.expect("chunked body");
        }
    } else {
        while read_more(stream, buf).await.is_some() {}
        std::mem::take(buf)
    };
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 16384];
    match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
        Ok(Ok(0)) => None,
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(n)
        }
        Ok(Err(_)) => None,
        Err(_) => panic!("no data within 10 s"),
    }
}

async fn raw_exchange(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(&mut stream, &mut Vec::new()).await
}

#[tokio::test]
async fn keep_alive_pipelining_and_connection_close() {
    let node = Upstream::start("alpha").await;
    let gw = start_gateway(
        NO_LIMITS,
        serde_json::json!({ "routes": [route("alpha", &node, "ready")] }),
    )
    .await;
    let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
    // Two requests in one write, the second one with a body and asking to close.
    stream
        .write_all(
            format!(
                "GET /one HTTP/1.1\r\nHost: {HOST}\r\nX-Mono-Coop: beta\r\n\r\n\
                 POST /two?q=1 HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\n\
                 Connection: close\r\n\r\nhello"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut buf = Vec::new();
    let (status, head, body) = read_response(&mut stream, &mut buf).await;
    assert_eq!(status, 200, "{head}");
    let first = json(&body);
    assert_eq!(first["path"], "/one");
    assert_eq!(first["headers"]["x-mono-coop"], "alpha");
    assert_eq!(first["headers"]["x-forwarded-host"], HOST);
    assert_eq!(first["headers"]["x-forwarded-proto"], "http");
    assert!(!head.to_ascii_lowercase().contains("connection: close"));
    let (status, head, body) = read_response(&mut stream, &mut buf).await;
    assert_eq!(status, 200);
    let second = json(&body);
    assert_eq!(second["path"], "/two?q=1");
    assert_eq!(second["body_len"], 5);
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    assert_eq!(
        read_more(&mut stream, &mut buf).await,
        None,
        "closed after the answer"
    );
}

#[tokio::test]
async fn large_bodies_stream_in_both_directions() {
    let node = Upstream::start("alpha").await;
    let gw = start_gateway(
        &format!("{NO_LIMITS}max_body_bytes = 4000000\n"),
        serde_json::json!({ "routes": [route("alpha", &node, "ready")] }),
    )
    .await;
    let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
    let len = 3_000_000;
    stream
        .write_all(
            format!("PUT /big HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let body = vec![b'x'; len];
    for part in body.chunks(256 * 1024) {
        stream.write_all(part).await.unwrap();
    }
    let mut buf = Vec::new();
    let (status, _, text) = read_response(&mut stream, &mut buf).await;
    assert_eq!(status, 200);
    assert_eq!(json(&text)["body_len"], len);
    // And the same connection goes on.
    stream
        .write_all(format!("GET /after HTTP/1.1\r\nHost: {HOST}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (status, _, text) = read_response(&mut stream, &mut buf).await;
    assert_eq!(
        (status, json(&text)["path"].clone()),
        (200, "/after".into())
    );
}

#[tokio::test]
async fn node_response_framings_and_connection_reuse() {
    let node = RawNode::start().await;
    // One worker, so one pool: sequential requests must share a node connection.
    let gw = start_gateway(&format!("workers = 1\n{NO_LIMITS}"), node.route()).await;
    let addr = gw.addr();

    let (status, head, body) = raw_exchange(
        addr,
        &format!("GET /chunked HTTP/1.1\r\nHost: {HOST}\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(head.contains("X-Node: raw"), "{head}");
    assert_eq!(
        body,
        "5\r\nhello\r\n7;note=x\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"
    );

    let (status, _, body) = raw_exchange(
        addr,
        &format!("GET /interim HTTP/1.1\r\nHost: {HOST}\r\n\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "ok"));

    let (status, head, body) = raw_exchange(
        addr,
        &format!("GET /close HTTP/1.1\r\nHost: {HOST}\r\n\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "until the end"));
    assert!(head.contains("Connection: close"), "{head}");

    let (status, _, body) = raw_exchange(
        addr,
        &format!("GET /malformed HTTP/1.1\r\nHost: {HOST}\r\n\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (502, "upstream unavailable\n"));

    // Sequential requests share one node connection.
    let before = node.connections.load(Ordering::SeqCst);
    for i in 0..5 {
        let (status, _, body) =
            raw_exchange(addr, &format!("GET /n{i} HTTP/1.1\r\nHost: {HOST}\r\n\r\n")).await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        node.connections.load(Ordering::SeqCst) <= before + 1,
        "{} connections for 5 sequential requests",
        node.connections.load(Ordering::SeqCst) - before
    );

    // The node closes a pooled connection: the next request still gets through.
    for _ in 0..3 {
        let (status, _, body) = raw_exchange(
            addr,
            &format!("GET /then-close HTTP/1.1\r\nHost: {HOST}\r\n\r\n"),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "bye"));
        let (status, _, body) =
            raw_exchange(addr, &format!("GET /next HTTP/1.1\r\nHost: {HOST}\r\n\r\n")).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.starts_with("/next "), "{body}");
    }
}

#[tokio::test]
async fn unusual_requests_are_served_by_the_hyper_path() {
    let node = Upstream::start("alpha").await;
    let gw = start_gateway(
        NO_LIMITS,
        serde_json::json!({ "routes": [route("alpha", &node, "ready")] }),
    )
    .await;
    let addr = gw.addr();

    let (status, _, body) =
        raw_exchange(addr, &format!("GET /old HTTP/1.0\r\nHost: {HOST}\r\n\r\n")).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["path"], "/old");

    let (status, _, body) = raw_exchange(
        addr,
        &format!(
            "POST /chunky HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n\
             3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["body_len"], 5);

    // A native request first, then the same connection switches to hyper mid-stream.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    stream
        .write_all(format!("GET /native HTTP/1.1\r\nHost: {HOST}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (status, _, body) = read_response(&mut stream, &mut buf).await;
    assert_eq!(
        (status, json(&body)["path"].clone()),
        (200, "/native".into())
    );
    stream
        .write_all(
            format!(
                "POST /handed HTTP/1.1\r\nHost: {HOST}\r\nExpect: 100-continue\r\n\
                 Content-Length: 2\r\n\r\nhi"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let (mut status, _, mut body) = read_response(&mut stream, &mut buf).await;
    if status == 100 {
        (status, _, body) = read_response(&mut stream, &mut buf).await;
    }
    assert_eq!(status, 200);
    assert_eq!(json(&body)["path"], "/handed");
    assert_eq!(json(&body)["body_len"], 2);

    let (status, body) = send_h2(addr, &format!("http://{HOST}/h2")).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["path"], "/h2");
}

#[tokio::test]
async fn refusals_keep_or_close_the_connection_correctly() {
    let node = Upstream::start("alpha").await;
    let gw = start_gateway(
        &format!("{NO_LIMITS}max_body_bytes = 10\n"),
        serde_json::json!({ "routes": [route("alpha", &node, "ready")] }),
    )
    .await;
    let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
    let mut buf = Vec::new();
    // Unknown cooperative, body here: answered and the connection stays usable.
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: nobody.coops.test\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .unwrap();
    let (status, head, _) = read_response(&mut stream, &mut buf).await;
    assert_eq!(status, 404);
    assert!(!head.contains("Connection: close"), "{head}");
    // A declared body over the limit that is not sent: 413 and the connection closes.
    stream
        .write_all(
            format!("POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 500\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let (status, head, body) = read_response(&mut stream, &mut buf).await;
    assert_eq!((status, body.as_str()), (413, "request body too large\n"));
    assert!(head.contains("Connection: close"), "{head}");
    assert_eq!(read_more(&mut stream, &mut buf).await, None);
}
