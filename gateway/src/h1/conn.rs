//! The native HTTP/1.1 proxy loop of one client connection: read a request head, route it,
//! apply the cooperative's limits (and hold it while the node starts), forward it over a pooled
//! connection to the node and stream the response back — no task, channel or header map per
//! request. At a request boundary, whatever [`codec::parse_request`] hands off (h2, HTTP/1.0,
//! websocket upgrades, chunked or `Expect` requests, malformed heads) continues on hyper.

use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tracing::Instrument;

use super::codec::{self, ChunkedScanner, Framing, Parsed, RequestHead};
use super::rewind::Rewind;
use super::upstream::{RawPool, UpstreamConn};
use crate::error::Refusal;
use crate::proxy::{self, ConnInfo};
use crate::resolve::{resolve, Resolution};
use crate::routes::CoopRoute;
use crate::state::{CoopRuntime, Gateway};

/// Longest request head the native path buffers before handing the connection to hyper.
const MAX_HEAD: usize = 64 * 1024;
/// Read buffer growth step.
const READ_CHUNK: usize = 8 * 1024;

/// Serves one plain-HTTP client connection until it closes, natively while it can.
pub async fn serve<I>(gw: Arc<Gateway>, io: I, info: ConnInfo, shutdown: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut client = Client {
        gw,
        io,
        buf: BytesMut::with_capacity(READ_CHUNK),
        info,
        shutdown,
        filtered: Vec::with_capacity(1024),
        out: Vec::with_capacity(2048),
        req: ReqState::Unread,
    };
    if client.run().await == End::Handoff {
        let Client {
            gw,
            io,
            buf,
            info,
            shutdown,
            ..
        } = client;
        crate::server::serve_connection(gw, Rewind::new(buf.freeze(), io), info, shutdown).await;
    }
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    Close,
    Handoff,
}

/// How one exchange ended for the client connection.
enum Exchange {
    KeepAlive,
    Close,
}

/// A failure after which the request cannot be answered by the node.
enum Failure {
    /// Answer the client with this refusal (nothing was sent to it yet).
    Refuse(Refusal),
    /// The response head is out already: cut the connection.
    Cut,
}

struct Client<I> {
    gw: Arc<Gateway>,
    io: I,
    buf: BytesMut,
    info: ConnInfo,
    shutdown: watch::Receiver<bool>,
    /// Forwarded header lines of the current request.
    filtered: Vec<u8>,
    /// The head (and first body bytes) being written, to the node or to the client.
    out: Vec<u8>,
    /// Where the current request's bytes are.
    req: ReqState,
}

/// The current request's bytes: still at the start of `buf`, or taken from the client with
/// `left` body bytes not read yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqState {
    Unread,
    Consumed { left: u64 },
}

impl<I> Client<I>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(&mut self) -> End {
        loop {
            let head = match self.read_head().await {
                Ok(head) => head,
                Err(end) => return end,
            };
            let exchange = self.exchange(head).await;
            if matches!(exchange, Exchange::Close) {
                let _ = self.io.shutdown().await;
                return End::Close;
            }
        }
    }

    /// Waits for a complete request head: up to the idle timeout for its first byte, then up
    /// to the header read timeout for the rest.
    async fn read_head(&mut self) -> Result<RequestHead, End> {
        let mut deadline = None;
        loop {
            if !self.buf.is_empty() {
                match codec::parse_request(&self.buf, &mut self.filtered) {
                    Parsed::Request(head) => return Ok(head),
                    Parsed::Handoff => return Err(End::Handoff),
                    Parsed::Partial if self.buf.len() > MAX_HEAD => return Err(End::Handoff),
                    Parsed::Partial => {}
                }
            } else if *self.shutdown.borrow() {
                return Err(End::Close);
            }
            let config = &self.gw.config;
            let until = *deadline.get_or_insert_with(|| {
                tokio::time::Instant::now()
                    + if self.buf.is_empty() {
                        config.idle_timeout
                    } else {
                        config.header_read_timeout
                    }
            });
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
                self.buf.reserve(READ_CHUNK);
            }
            let idle = self.buf.is_empty();
            tokio::select! {
                read = tokio::time::timeout_at(until, self.io.read_buf(&mut self.buf)) => {
                    match read {
                        Ok(Ok(n)) if n > 0 => {
                            if idle {
                                // The first bytes of a head: the header read timeout starts.
                                deadline = Some(
                                    tokio::time::Instant::now() + config.header_read_timeout,
                                );
                            }
                        }
                        _ => return Err(End::Close),
                    }
                }
                _ = self.shutdown.changed(), if idle => return Err(End::Close),
            }
        }
    }

    /// Answers one request (the head is at the start of `buf`).
    async fn exchange(&mut self, head: RequestHead) -> Exchange {
        self.req = ReqState::Unread;
        let gw = self.gw.clone();
        let resolution = {
            let table = gw.routes.current();
            let host = head
                .host
                .clone()
                .and_then(|r| std::str::from_utf8(&self.buf[r]).ok())
                .unwrap_or("");
            let target = std::str::from_utf8(&self.buf[head.target.clone()]).unwrap_or("");
            resolve(&table, &gw.config.base_domain, host, target)
        };
        match resolution {
            Resolution::Health => self.answer(&head, StatusCode::OK, "ok\n", None).await,
            Resolution::NotFound => {
                gw.global.not_found.fetch_add(1, Ordering::Relaxed);
                self.refuse(&head, Refusal::NotFound).await
            }
            Resolution::BadPath => {
                gw.global.bad_path.fetch_add(1, Ordering::Relaxed);
                self.refuse(&head, Refusal::BadPath).await
            }
            Resolution::Coop {
                route,
                path_and_query,
            } => {
                let span = tracing::info_span!("request", coop = %route.coop);
                self.proxy(head, route, path_and_query)
                    .instrument(span)
                    .await
            }
        }
    }

    async fn proxy(
        &mut self,
        head: RequestHead,
        route: Arc<CoopRoute>,
        path_and_query: String,
    ) -> Exchange {
        let start = Instant::now();
        let method = http::Method::from_bytes(&self.buf[head.method.clone()]).ok();
        let gw = self.gw.clone();
        let rt = gw.runtime(route.coop.as_str());
        let mut status = 0;
        let result = match proxy::admit(&gw, &rt, Some(head.content_length)) {
            Err(refusal) => Err(Failure::Refuse(refusal)),
            Ok(()) => match proxy::ready_route(&gw, &rt, route).await {
                Err(refusal) => Err(Failure::Refuse(refusal)),
                Ok(route) => {
                    self.forward(&head, &rt, &route, &path_and_query, start, &mut status)
                        .await
                }
            },
        };
        let exchange = match result {
            Ok(exchange) => exchange,
            Err(Failure::Cut) => Exchange::Close,
            Err(Failure::Refuse(refusal)) => {
                status = refusal.status().as_u16();
                rt.metrics.observe(status, start.elapsed());
                self.refuse(&head, refusal).await
            }
        };
        tracing::info!(
            target: "gateway::access",
            peer = %self.info.peer,
            method = %method.as_ref().map_or("?", http::Method::as_str),
            path = %path_and_query,
            status,
            latency_us = start.elapsed().as_micros() as u64,
            "Request"
        );
        exchange
    }

    /// Forwards the request, streams the response back; `status` is set once the node answers.
    async fn forward(
        &mut self,
        head: &RequestHead,
        rt: &Arc<CoopRuntime>,
        route: &CoopRoute,
        path_and_query: &str,
        start: Instant,
        status: &mut u16,
    ) -> Result<Exchange, Failure> {
        let gw = self.gw.clone();
        let config = &gw.config;
        // The upstream request: head, then the body bytes already here.
        self.out.clear();
        self.out.extend_from_slice(&self.buf[head.method.clone()]);
        self.out.push(b' ');
        self.out.extend_from_slice(path_and_query.as_bytes());
        self.out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.out
            .extend_from_slice(route.upstream.as_str().as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&self.filtered);
        let _ = write!(
            self.out,
            "X-Forwarded-For: {}\r\nX-Forwarded-Proto: {}\r\n",
            self.info.peer.ip(),
            self.info.proto
        );
        if let Some(host) = head.host.clone() {
            self.out.extend_from_slice(b"X-Forwarded-Host: ");
            self.out.extend_from_slice(&self.buf[host]);
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"X-Mono-Coop: ");
        self.out.extend_from_slice(route.coop.as_str().as_bytes());
        self.out.extend_from_slice(b"\r\n\r\n");
        let here = (self.buf.len() - head.head_len).min(body_len(head.content_length));
        self.out
            .extend_from_slice(&self.buf[head.head_len..head.head_len + here]);
        self.buf.advance(head.head_len + here);
        let rest = head.content_length - here as u64;
        self.req = ReqState::Consumed { left: rest };
        rt.metrics.add_bytes_in(head.content_length);

        let pool = rt.raw_pool();
        let deadline = tokio::time::Instant::now() + config.upstream_response_timeout;
        let (response, mut up) = self
            .send_and_read_head(head, pool, route, rest, deadline)
            .await?;
        // `out` holds the client's response head now.
        *status = response.status;
        let close =
            head.close || *self.shutdown.borrow() || response.framing == Framing::UntilClose;
        let mut body = BodyState::new(response.framing);
        let first = body
            .take(&up.buf)
            .map_err(|_| Failure::Refuse(Refusal::UpstreamUnavailable))?;
        rt.metrics.observe(response.status, start.elapsed());
        self.out.extend_from_slice(&up.buf[..first]);
        up.buf.advance(first);
        let mut sent = first as u64;
        self.write_client(config.idle_timeout).await?;
        while !body.done() {
            if up.buf.capacity() - up.buf.len() < READ_CHUNK / 2 {
                up.buf.reserve(READ_CHUNK);
            }
            let read =
                tokio::time::timeout(config.idle_timeout, up.stream.read_buf(&mut up.buf)).await;
            match read {
                Ok(Ok(0)) if body.framing == Framing::UntilClose => break,
                Ok(Ok(n)) if n > 0 => {}
                _ => {
                    tracing::debug!("The node's response ended early");
                    return Err(Failure::Cut);
                }
            }
            let n = body.take(&up.buf).map_err(|_| Failure::Cut)?;
            let chunk = &up.buf[..n];
            match tokio::time::timeout(config.idle_timeout, self.io.write_all(chunk)).await {
                Ok(Ok(())) => {}
                _ => return Err(Failure::Cut),
            }
            up.buf.advance(n);
            sent += n as u64;
        }
        rt.metrics.add_bytes_out(sent);
        if response.reusable && body.framing != Framing::UntilClose {
            pool.checkin(up, &route.upstream);
        }
        Ok(if close {
            Exchange::Close
        } else {
            Exchange::KeepAlive
        })
    }

    /// Sends the request (retrying once on a fresh connection when a pooled one turns out to be
    /// closed and the request can be repeated) and reads the response head into `out`.
    async fn send_and_read_head(
        &mut self,
        head: &RequestHead,
        pool: &RawPool,
        route: &CoopRoute,
        rest: u64,
        deadline: tokio::time::Instant,
    ) -> Result<(codec::ResponseHead, UpstreamConn), Failure> {
        let mut up = pool.get(&route.upstream).await.map_err(|e| {
            tracing::warn!(upstream = %route.upstream, "Proxying failed: {e}");
            Failure::Refuse(Refusal::UpstreamUnavailable)
        })?;
        let replayable = rest == 0;
        loop {
            match self.attempt(head, &mut up, rest, deadline).await {
                Ok(response) => return Ok((response, up)),
                // `out` still holds the whole request: nothing was received to overwrite it.
                Err(Attempt::Stale { written })
                    if up.reused && replayable && (head.idempotent || !written) =>
                {
                    up = pool.connect(&route.upstream).await.map_err(|e| {
                        tracing::warn!(upstream = %route.upstream, "Proxying failed: {e}");
                        Failure::Refuse(Refusal::UpstreamUnavailable)
                    })?;
                }
                Err(Attempt::Stale { .. }) | Err(Attempt::Broken) => {
                    tracing::warn!(upstream = %route.upstream, "Proxying failed: the node closed the connection");
                    return Err(Failure::Refuse(Refusal::UpstreamUnavailable));
                }
                Err(Attempt::Failed(failure)) => return Err(failure),
            }
        }
    }

    async fn attempt(
        &mut self,
        head: &RequestHead,
        up: &mut UpstreamConn,
        mut rest: u64,
        deadline: tokio::time::Instant,
    ) -> Result<codec::ResponseHead, Attempt> {
        let gw = self.gw.clone();
        let config = &gw.config;
        match tokio::time::timeout_at(deadline, up.stream.write_all(&self.out)).await {
            Err(_) => return Err(Attempt::Failed(Failure::Refuse(Refusal::UpstreamTimeout))),
            Ok(Err(_)) => return Err(Attempt::Stale { written: false }),
            Ok(Ok(())) => {}
        }
        // The rest of a large body, streamed from the client.
        while rest > 0 {
            if self.buf.is_empty() {
                self.buf.reserve(READ_CHUNK);
                match tokio::time::timeout(config.idle_timeout, self.io.read_buf(&mut self.buf))
                    .await
                {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => return Err(Attempt::Failed(Failure::Cut)),
                }
            }
            let n = self.buf.len().min(body_len(rest));
            match tokio::time::timeout_at(deadline, up.stream.write_all(&self.buf[..n])).await {
                Err(_) => return Err(Attempt::Failed(Failure::Cut)),
                Ok(Err(_)) => return Err(Attempt::Broken),
                Ok(Ok(())) => {}
            }
            self.buf.advance(n);
            rest -= n as u64;
            self.req = ReqState::Consumed { left: rest };
        }
        let close = head.close || *self.shutdown.borrow();
        let mut received = false;
        loop {
            if !up.buf.is_empty() {
                match codec::parse_response(&up.buf, head.is_head, close, &mut self.out) {
                    Ok(Some(response)) if response.status == 101 => {
                        return Err(Attempt::Failed(Failure::Refuse(
                            Refusal::UpstreamUnavailable,
                        )))
                    }
                    Ok(Some(response)) if response.status < 200 => {
                        // An interim response (100, 103): not forwarded.
                        up.buf.advance(response.head_len);
                        continue;
                    }
                    Ok(Some(response)) => {
                        up.buf.advance(response.head_len);
                        return Ok(response);
                    }
                    Ok(None) if up.buf.len() > MAX_HEAD => {
                        return Err(Attempt::Failed(Failure::Refuse(
                            Refusal::UpstreamUnavailable,
                        )))
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!("Unusable response from the node: {e}");
                        return Err(Attempt::Failed(Failure::Refuse(
                            Refusal::UpstreamUnavailable,
                        )));
                    }
                }
            }
            if up.buf.capacity() - up.buf.len() < READ_CHUNK / 2 {
                up.buf.reserve(READ_CHUNK);
            }
            match tokio::time::timeout_at(deadline, up.stream.read_buf(&mut up.buf)).await {
                Err(_) => return Err(Attempt::Failed(Failure::Refuse(Refusal::UpstreamTimeout))),
                Ok(Ok(n)) if n > 0 => received = true,
                Ok(_) if !received => return Err(Attempt::Stale { written: true }),
                Ok(_) => return Err(Attempt::Broken),
            }
        }
    }

    /// Writes `out` to the client.
    async fn write_client(&mut self, limit: Duration) -> Result<(), Failure> {
        match tokio::time::timeout(limit, self.io.write_all(&self.out)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Failure::Cut),
        }
    }

    async fn refuse(&mut self, head: &RequestHead, refusal: Refusal) -> Exchange {
        let retry_after = match refusal {
            Refusal::RateLimited => Some(1),
            Refusal::NotReady { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        };
        self.answer(head, refusal.status(), refusal.body(), retry_after)
            .await
    }

    /// Answers the request itself; the connection stays open only if the request's body is
    /// here to be skipped (or was forwarded already).
    async fn answer(
        &mut self,
        head: &RequestHead,
        status: StatusCode,
        body: &str,
        retry_after: Option<u64>,
    ) -> Exchange {
        let whole = head.head_len as u64 + head.content_length;
        let complete = match self.req {
            ReqState::Unread => (self.buf.len() as u64) >= whole,
            ReqState::Consumed { left } => left == 0,
        };
        let close = head.close || *self.shutdown.borrow() || !complete;
        codec::write_simple_response(&mut self.out, status, body, retry_after, close);
        if complete && self.req == ReqState::Unread {
            self.buf.advance(body_len(whole));
        }
        self.req = ReqState::Consumed { left: 0 };
        if self
            .write_client(self.gw.config.idle_timeout)
            .await
            .is_err()
            || close
        {
            Exchange::Close
        } else {
            Exchange::KeepAlive
        }
    }
}

/// Why one attempt to get a response from the node failed.
enum Attempt {
    /// The connection was closed before any response byte (`written`: the request went out).
    Stale {
        written: bool,
    },
    /// The connection broke after part of the exchange.
    Broken,
    Failed(Failure),
}

/// Progress through a response body, by its framing.
struct BodyState {
    framing: Framing,
    left: u64,
    chunks: ChunkedScanner,
    done: bool,
}

impl BodyState {
    fn new(framing: Framing) -> Self {
        BodyState {
            framing,
            left: match framing {
                Framing::Length(n) => n,
                _ => 0,
            },
            chunks: ChunkedScanner::default(),
            done: framing == Framing::None,
        }
    }

    /// How many bytes at the start of `buf` belong to the body.
    fn take(&mut self, buf: &[u8]) -> Result<usize, codec::ChunkError> {
        match self.framing {
            Framing::None => Ok(0),
            Framing::Length(_) => {
                let n = buf.len().min(body_len(self.left));
                self.left -= n as u64;
                self.done = self.left == 0;
                Ok(n)
            }
            Framing::Chunked => {
                let n = self.chunks.scan(buf)?;
                self.done = self.chunks.done();
                Ok(n)
            }
            Framing::UntilClose => Ok(buf.len()),
        }
    }

    fn done(&self) -> bool {
        self.done
    }
}

fn body_len(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
