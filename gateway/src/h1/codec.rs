//! HTTP/1.1 message heads and body framing for the native proxy path (pure, no I/O).
//!
//! The native path is deliberately narrow: [`parse_request`] accepts only what it can forward
//! without re-framing — HTTP/1.1, an origin-form target, no `Transfer-Encoding`, no `Expect`, no
//! `Upgrade`, at most one `Host`, a body framed by one unambiguous `Content-Length` — and answers
//! [`Parsed::Handoff`] for everything else, which the hyper path then serves. Responses from the
//! node are parsed strictly (RFC 9112 §6.3 framing); a chunked body is forwarded verbatim while
//! [`ChunkedScanner`] validates its framing, so the proxy knows where it ends.

use std::ops::Range;

use thiserror::Error;

use crate::headers::{INTERNAL_NAMES, INTERNAL_PREFIXES};

/// Most headers accepted in one head.
pub const MAX_HEADERS: usize = 100;

/// Hop-by-hop headers never forwarded (RFC 9110 §7.6.1), besides those `Connection` lists.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

/// A request head the native path can forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token (a range of the parsed buffer).
    pub method: Range<usize>,
    /// The origin-form target (path and query).
    pub target: Range<usize>,
    /// The `Host` header's value, if any.
    pub host: Option<Range<usize>>,
    /// Length of the head including the blank line.
    pub head_len: usize,
    /// Body length (0 without `Content-Length`).
    pub content_length: u64,
    /// The client asked to close the connection after this exchange.
    pub close: bool,
    /// `HEAD`: the response has no body whatever its headers say.
    pub is_head: bool,
    /// A method that may be repeated without changing the outcome (RFC 9110 §9.2.2).
    pub idempotent: bool,
}

/// What [`parse_request`] found at the start of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The head is not complete yet.
    Partial,
    /// A request the native path forwards.
    Request(RequestHead),
    /// Valid or not, something for the hyper path (h2 preface, HTTP/1.0, upgrades, chunked or
    /// `Expect` requests, ambiguous framing, malformed heads).
    Handoff,
}

/// Parses the request head at the start of `buf`; on success `filtered` holds the header lines
/// (`Name: value\r\n`) to forward: everything except `Host`, hop-by-hop headers (and those
/// `Connection` names) and headers only the gateway may set.
pub fn parse_request(buf: &[u8], filtered: &mut Vec<u8>) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Handoff,
    };
    let (Some(method), Some(target), Some(1)) = (req.method, req.path, req.version) else {
        return Parsed::Handoff;
    };
    if method == "CONNECT" || !target.starts_with('/') {
        return Parsed::Handoff;
    }
    let mut host = None;
    let mut content_length: Option<u64> = None;
    let mut close = false;
    let mut listed = Listed::default();
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("host") {
            if host.is_some() {
                return Parsed::Handoff;
            }
            host = Some(range_of(buf, h.value));
        } else if name.eq_ignore_ascii_case("content-length") {
            let Some(n) = parse_content_length(h.value) else {
                return Parsed::Handoff;
            };
            if content_length.is_some_and(|m| m != n) {
                return Parsed::Handoff;
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("expect")
            || name.eq_ignore_ascii_case("upgrade")
        {
            return Parsed::Handoff;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in tokens(h.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if !token.eq_ignore_ascii_case(b"keep-alive") && !listed.push(token) {
                    return Parsed::Handoff;
                }
            }
        }
    }
    filtered.clear();
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("host")
            || name.eq_ignore_ascii_case("content-length")
            || is_hop_by_hop(name)
            || is_internal(name)
            || listed.contains(name)
        {
            continue;
        }
        filtered.extend_from_slice(name.as_bytes());
        filtered.extend_from_slice(b": ");
        filtered.extend_from_slice(h.value);
        filtered.extend_from_slice(b"\r\n");
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > 0 {
        filtered.extend_from_slice(b"Content-Length: ");
        filtered.extend_from_slice(itoa(content_length).as_bytes());
        filtered.extend_from_slice(b"\r\n");
    }
    Parsed::Request(RequestHead {
        method: range_of(buf, method.as_bytes()),
        target: range_of(buf, target.as_bytes()),
        host,
        head_len,
        content_length,
        close,
        is_head: method == "HEAD",
        idempotent: matches!(
            method,
            "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
        ),
    })
}

/// Names listed in `Connection` (at most a few; more is unusual enough for the hyper path).
#[derive(Default)]
struct Listed<'a> {
    names: [&'a [u8]; 4],
    len: usize,
}

impl<'a> Listed<'a> {
    fn push(&mut self, name: &'a [u8]) -> bool {
        if self.len == self.names.len() {
            return false;
        }
        self.names[self.len] = name;
        self.len += 1;
        true
    }

    fn contains(&self, name: &str) -> bool {
        self.names[..self.len]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    /// Until the node closes the connection.
    UntilClose,
}

/// A response head from the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub head_len: usize,
    pub framing: Framing,
    /// The node's connection can serve another request once the body has been read.
    pub reusable: bool,
}

/// A response from the node that cannot be forwarded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ResponseError {
    #[error("malformed response head: {0}")]
    Malformed(&'static str),
    #[error("response head too large")]
    TooLarge,
}

/// Parses the node's response head at the start of `buf` (`None`: incomplete). On success `out`
/// holds the head to send to the client: the status line, the node's headers without hop-by-hop
/// ones, and `Connection: close` when `close_client` or when the body runs until the node closes.
/// An interim (1xx) response comes back as itself; the caller skips it.
pub fn parse_response(
    buf: &[u8],
    is_head: bool,
    close_client: bool,
    out: &mut Vec<u8>,
) -> Result<Option<ResponseHead>, ResponseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    let head_len = match res.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::TooLarge),
        Err(_) => return Err(ResponseError::Malformed("unparsable head")),
    };
    let status = res.code.ok_or(ResponseError::Malformed("no status"))?;
    let minor = res.version.ok_or(ResponseError::Malformed("no version"))?;
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut other_coding = false;
    let mut upstream_close = minor == 0;
    let mut listed = Listed::default();
    for h in res.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_content_length(h.value)
                .ok_or(ResponseError::Malformed("invalid Content-Length"))?;
            if content_length.is_some_and(|m| m != n) {
                return Err(ResponseError::Malformed("conflicting Content-Length"));
            }
            content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            for coding in tokens(h.value) {
                // Only the last coding decides; chunked anywhere but last is not framing.
                chunked = coding.eq_ignore_ascii_case(b"chunked");
                other_coding |= !chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in tokens(h.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    upstream_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    upstream_close &= minor != 0;
                } else if !listed.push(token) {
                    return Err(ResponseError::Malformed("too many Connection options"));
                }
            }
        }
    }
    let has_te = chunked || other_coding;
    let framing = if is_head || (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::None
    } else if has_te {
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else {
        match content_length {
            Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    };
    let close_client = close_client || framing == Framing::UntilClose;
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa(u64::from(status)).as_bytes());
    out.push(b' ');
    out.extend_from_slice(res.reason.unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in res.headers.iter() {
        if is_hop_by_hop(h.name)
            || listed.contains(h.name)
            || (has_te && h.name.eq_ignore_ascii_case("content-length"))
        {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    if close_client {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(Some(ResponseHead {
        status,
        head_len,
        framing,
        reusable: !upstream_close && framing != Framing::UntilClose,
    }))
}

/// Writes a complete response the gateway itself answers (errors, health).
pub fn write_simple_response(
    out: &mut Vec<u8>,
    status: http::StatusCode,
    body: &str,
    retry_after: Option<u64>,
    close: bool,
) {
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    out.extend_from_slice(itoa(body.len() as u64).as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(secs) = retry_after {
        out.extend_from_slice(b"Retry-After: ");
        out.extend_from_slice(itoa(secs).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
}

/// Why a chunked body is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChunkError {
    #[error("invalid chunk size line")]
    Size,
    #[error("missing CRLF after chunk data")]
    Delimiter,
    #[error("chunk extension or trailer line too long")]
    LineTooLong,
}

/// Longest chunk extension or trailer line accepted.
const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading hex digits (how many so far).
    Size(u8),
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

/// Follows a chunked body byte by byte (data in bulk) to find where it ends, validating its
/// framing strictly (CRLF line ends, hex sizes without overflow, bounded extension and trailer
/// lines) so a body cannot be read differently by the node and by the gateway.
#[derive(Debug, Clone)]
pub struct ChunkedScanner {
    state: ChunkState,
    size: u64,
    line: usize,
    data: u64,
}

impl Default for ChunkedScanner {
    fn default() -> Self {
        ChunkedScanner {
            state: ChunkState::Size(0),
            size: 0,
            line: 0,
            data: 0,
        }
    }
}

impl ChunkedScanner {
    /// Consumes the body bytes at the start of `input`; returns how many belong to the body
    /// (all of them unless the body ends inside `input`).
    pub fn scan(&mut self, input: &[u8]) -> Result<usize, ChunkError> {
        let mut i = 0;
        while i < input.len() && self.state != ChunkState::Done {
            let b = input[i];
            self.state = match self.state {
                ChunkState::Size(digits) => match (b as char).to_digit(16) {
                    Some(d) if digits < 16 => {
                        self.size = (self.size << 4) | u64::from(d);
                        ChunkState::Size(digits + 1)
                    }
                    Some(_) => return Err(ChunkError::Size),
                    None if digits == 0 => return Err(ChunkError::Size),
                    None if b == b';' => {
                        self.line = 0;
                        ChunkState::Extension
                    }
                    None if b == b'\r' => ChunkState::SizeLf,
                    None => return Err(ChunkError::Size),
                },
                ChunkState::Extension => match b {
                    b'\r' => ChunkState::SizeLf,
                    b'\n' => return Err(ChunkError::Size),
                    _ => {
                        self.line += 1;
                        if self.line > MAX_LINE {
                            return Err(ChunkError::LineTooLong);
                        }
                        ChunkState::Extension
                    }
                },
                ChunkState::SizeLf if b == b'\n' => {
                    if self.size == 0 {
                        ChunkState::TrailerStart
                    } else {
                        ChunkState::Data
                    }
                }
                ChunkState::SizeLf => return Err(ChunkError::Size),
                ChunkState::Data => {
                    let take = usize::try_from(self.size)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - i);
                    self.size -= take as u64;
                    self.data += take as u64;
                    i += take;
                    self.state = if self.size == 0 {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data
                    };
                    continue;
                }
                ChunkState::DataCr if b == b'\r' => ChunkState::DataLf,
                ChunkState::DataLf if b == b'\n' => ChunkState::Size(0),
                ChunkState::DataCr | ChunkState::DataLf => return Err(ChunkError::Delimiter),
                ChunkState::TrailerStart if b == b'\r' => ChunkState::EndLf,
                ChunkState::TrailerStart | ChunkState::Trailer => match b {
                    b'\r' => ChunkState::TrailerLf,
                    b'\n' => return Err(ChunkError::Delimiter),
                    _ => {
                        self.line = if self.state == ChunkState::TrailerStart {
                            1
                        } else {
                            self.line + 1
                        };
                        if self.line > MAX_LINE {
                            return Err(ChunkError::LineTooLong);
                        }
                        ChunkState::Trailer
                    }
                },
                ChunkState::TrailerLf if b == b'\n' => ChunkState::TrailerStart,
                ChunkState::EndLf if b == b'\n' => ChunkState::Done,
                ChunkState::TrailerLf | ChunkState::EndLf => return Err(ChunkError::Delimiter),
                ChunkState::Done => ChunkState::Done,
            };
            i += 1;
        }
        Ok(i)
    }

    /// The whole body, final chunk and trailers included, has been seen.
    pub fn done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Data bytes seen so far (without the framing).
    pub fn data_len(&self) -> u64 {
        self.data
    }
}

/// Comma-separated tokens of a header value, trimmed, empty ones skipped.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// A `Content-Length` value: digits only (a list of equal values is accepted, RFC 9110 §8.6).
fn parse_content_length(value: &[u8]) -> Option<u64> {
    let mut result = None;
    for part in value.split(|b| *b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = std::str::from_utf8(part).ok()?.parse::<u64>().ok()?;
        if result.is_some_and(|m| m != n) {
            return None;
        }
        result = Some(n);
    }
    result
}

fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

fn is_internal(name: &str) -> bool {
    INTERNAL_NAMES.iter().any(|n| name.eq_ignore_ascii_case(n))
        || INTERNAL_PREFIXES.iter().any(|p| {
            name.len() >= p.len() && name.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        })
}

/// The position of `part` (a subslice of `buf`) in `buf`.
fn range_of(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

/// Decimal digits of `n` without allocating.
pub fn itoa(n: u64) -> Itoa {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Itoa { digits, start: i }
}

/// See [`itoa`].
#[derive(Debug, Clone, Copy)]
pub struct Itoa {
    digits: [u8; 20],
    start: usize,
}

impl Itoa {
    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

#[cfg(test)]
mod tests;
