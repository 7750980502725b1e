//! Tests of the native path's head parsing, header hygiene and chunked framing.

use super::*;

fn request(text: &str) -> (Parsed, String) {
    let mut filtered = Vec::new();
    let parsed = parse_request(text.as_bytes(), &mut filtered);
    (parsed, String::from_utf8(filtered).unwrap())
}

fn head(text: &str) -> RequestHead {
    match request(text).0 {
        Parsed::Request(head) => head,
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn parses_a_simple_request_and_filters_headers() {
    let text = "POST /graphql?x=1 HTTP/1.1\r\nHost: alpha.coops.test\r\nContent-Length: 5\r\n\
                Content-Type: application/json\r\nX-Forwarded-For: 6.6.6.6\r\nX-Mono-Coop: beta\r\n\
                x-COOP-override: beta\r\nForwarded: for=1.2.3.4\r\nX-Real-IP: 1.1.1.1\r\n\
                Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n\
                Proxy-Authorization: x\r\nAuthorization: Bearer t\r\n\r\nhello";
    let (parsed, filtered) = request(text);
    let Parsed::Request(h) = parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(&text[h.method.clone()], "POST");
    assert_eq!(&text[h.target.clone()], "/graphql?x=1");
    assert_eq!(&text[h.host.clone().unwrap()], "alpha.coops.test");
    assert_eq!(h.content_length, 5);
    assert_eq!(&text[h.head_len..], "hello");
    assert!(!h.close && !h.is_head && !h.idempotent);
    assert_eq!(
        filtered,
        "Content-Type: application/json\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n"
    );
}

#[test]
fn partial_heads_wait_for_more() {
    assert_eq!(request("GET / HTTP/1.1\r\nHost: a").0, Parsed::Partial);
    assert_eq!(request("GE").0, Parsed::Partial);
}

#[test]
fn connection_close_and_methods() {
    let h = head("HEAD / HTTP/1.1\r\nConnection: Close\r\n\r\n");
    assert!(h.close && h.is_head && h.idempotent && h.host.is_none());
    assert_eq!(h.content_length, 0);
}

#[test]
fn everything_unusual_goes_to_the_hyper_path() {
    for text in [
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET http://alpha.coops.test/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT alpha:443 HTTP/1.1\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nConnection: a, b, c, d, e\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
        "\r\nGARBAGE\r\n\r\n",
    ] {
        assert_eq!(request(text).0, Parsed::Handoff, "{text:?}");
    }
}

#[test]
fn equal_content_lengths_are_one() {
    let h = head("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc");
    assert_eq!(h.content_length, 3);
}

fn response(text: &str, is_head: bool, close: bool) -> (ResponseHead, String) {
    let mut out = Vec::new();
    let head = parse_response(text.as_bytes(), is_head, close, &mut out)
        .unwrap()
        .unwrap();
    (head, String::from_utf8(out).unwrap())
}

#[test]
fn response_framing_follows_rfc_9112() {
    let (h, out) = response(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\n\r\nok",
        false,
        false,
    );
    assert_eq!(
        (h.status, h.framing, h.reusable),
        (200, Framing::Length(2), true)
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n"
    );

    let (h, out) = response(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
        false,
        true,
    );
    assert_eq!(h.framing, Framing::Chunked);
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );

    let (h, out) = response("HTTP/1.1 200 OK\r\n\r\n", false, false);
    assert_eq!((h.framing, h.reusable), (Framing::UntilClose, false));
    assert!(out.ends_with("Connection: close\r\n\r\n"));

    let (h, _) = response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, false);
    assert_eq!(h.framing, Framing::None);
    for status in ["204 No Content", "304 Not Modified", "100 Continue"] {
        let (h, _) = response(
            &format!("HTTP/1.1 {status}\r\nContent-Length: 10\r\n\r\n"),
            false,
            false,
        );
        assert_eq!(h.framing, Framing::None, "{status}");
    }
    let (h, _) = response(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        false,
        false,
    );
    assert_eq!((h.framing, h.reusable), (Framing::None, false));
    let (h, _) = response("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, false);
    assert!(!h.reusable);
    let (h, _) = response(
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
        false,
        false,
    );
    assert!(h.reusable);
    let (h, _) = response(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        false,
        false,
    );
    assert_eq!(h.framing, Framing::UntilClose);
}

#[test]
fn malformed_responses_are_refused() {
    for text in [
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTX/1.1 200 OK\r\n\r\n",
    ] {
        let mut out = Vec::new();
        assert!(
            parse_response(text.as_bytes(), false, false, &mut out).is_err(),
            "{text:?}"
        );
    }
    let mut out = Vec::new();
    assert_eq!(
        parse_response(b"HTTP/1.1 200 OK\r\nA: b", false, false, &mut out),
        Ok(None)
    );
}

#[test]
fn simple_responses() {
    let mut out = Vec::new();
    write_simple_response(
        &mut out,
        http::StatusCode::TOO_MANY_REQUESTS,
        "slow down\n",
        Some(1),
        true,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 10\r\nRetry-After: 1\r\nConnection: close\r\n\r\nslow down\n"
    );
}

fn scan_all(body: &[u8], step: usize) -> Result<(usize, bool, u64), ChunkError> {
    let mut scanner = ChunkedScanner::default();
    let mut used = 0;
    for part in body.chunks(step) {
        let n = scanner.scan(part)?;
        used += n;
        if scanner.done() {
            break;
        }
        assert_eq!(n, part.len());
    }
    Ok((used, scanner.done(), scanner.data_len()))
}

#[test]
fn chunked_bodies_end_where_they_end_in_any_split() {
    let body = b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    for step in 1..body.len() {
        assert_eq!(
            scan_all(body, step),
            Ok((body.len() - 4, true, 31)),
            "step {step}"
        );
    }
    assert_eq!(scan_all(b"0\r\n\r\n", 64), Ok((5, true, 0)));
    assert_eq!(scan_all(b"5\r\nhel", 64), Ok((6, false, 3)));
}

#[test]
fn malformed_chunked_bodies_are_refused() {
    for (body, err) in [
        (&b"\r\n"[..], ChunkError::Size),
        (b"g\r\n", ChunkError::Size),
        (b"5\nhello\r\n", ChunkError::Size),
        (b"5 \r\nhello\r\n", ChunkError::Size),
        (b"-5\r\n", ChunkError::Size),
        (b"11111111111111111\r\n", ChunkError::Size),
        (b"5\r\nhelloXX", ChunkError::Delimiter),
        (b"5\r\nhello\n0\r\n\r\n", ChunkError::Delimiter),
        (b"0\r\nX: 1\n\r\n", ChunkError::Delimiter),
        (b"0\r\n\rX", ChunkError::Delimiter),
    ] {
        assert_eq!(
            scan_all(body, 64),
            Err(err),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    let long = format!("1;{}\r\n", "e".repeat(MAX_LINE + 1));
    assert_eq!(scan_all(long.as_bytes(), 64), Err(ChunkError::LineTooLong));
}

#[test]
fn itoa_writes_decimal() {
    for n in [0, 7, 10, 65535, u64::MAX] {
        assert_eq!(itoa(n).as_bytes(), n.to_string().as_bytes());
    }
}
