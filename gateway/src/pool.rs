//! Upstream connection pool of one cooperative (per listener worker): HTTP/1.1 keep-alive
//! connections to its node, with a connect timeout, idle expiry and a cap on idle connections.
//!
//! A connection returns to the pool when its response body has been read to the end; a
//! response dropped early or upgraded (websocket) takes its connection with it.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::Authority;
use http::{Request, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use thiserror::Error;
use tokio::net::TcpStream;

use crate::proxy::UpstreamBody;

/// Why a request could not be sent to the node.
#[derive(Debug, Error)]
pub enum PoolError {
    #[error("connect to {0} timed out")]
    ConnectTimeout(Authority),
    #[error("connect to {authority} failed: {source}")]
    Connect {
        authority: Authority,
        source: std::io::Error,
    },
    #[error("upstream HTTP error: {0}")]
    Http(#[from] hyper::Error),
}

#[derive(Debug)]
struct Idle {
    sender: SendRequest<UpstreamBody>,
    authority: Authority,
    since: Instant,
}

/// Idle connections to one cooperative's node.
#[derive(Debug)]
pub struct UpstreamPool {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
    connect_timeout: Duration,
}

impl UpstreamPool {
    pub fn new(max_idle: usize, idle_timeout: Duration, connect_timeout: Duration) -> Self {
        UpstreamPool {
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
            connect_timeout,
        }
    }

    /// Sends a request to `authority`, reusing an idle connection when one is usable.
    pub async fn send(
        self: &Arc<Self>,
        authority: &Authority,
        mut req: Request<UpstreamBody>,
    ) -> Result<Response<PooledBody>, PoolError> {
        // A reused connection may have been closed by the node in the meantime; the request
        // comes back unsent in that case and goes out once more on a fresh connection.
        if let Some(mut sender) = self.checkout(authority) {
            if sender.ready().await.is_ok() {
                match sender.try_send_request(req).await {
                    Ok(res) => return Ok(self.wrap(res, sender, authority)),
                    Err(mut e) => match e.take_message() {
                        Some(unsent) => req = unsent,
                        None => return Err(PoolError::Http(e.into_error())),
                    },
                }
            }
        }
        let mut sender = self.connect(authority).await?;
        let res = sender.send_request(req).await?;
        Ok(self.wrap(res, sender, authority))
    }

    fn checkout(&self, authority: &Authority) -> Option<SendRequest<UpstreamBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(entry) = idle.pop() {
            if entry.since.elapsed() < self.idle_timeout
                && entry.authority == *authority
                && !entry.sender.is_closed()
            {
                return Some(entry.sender);
            }
        }
        None
    }

    fn checkin(&self, sender: SendRequest<UpstreamBody>, authority: Authority) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(Idle {
                sender,
                authority,
                since: Instant::now(),
            });
        }
    }

    async fn connect(&self, authority: &Authority) -> Result<SendRequest<UpstreamBody>, PoolError> {
        let stream = connect_tcp(authority, self.connect_timeout).await?;
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!("Upstream connection ended: {e}");
            }
        });
        Ok(sender)
    }

    fn wrap(
        self: &Arc<Self>,
        res: Response<Incoming>,
        sender: SendRequest<UpstreamBody>,
        authority: &Authority,
    ) -> Response<PooledBody> {
        let upgraded = res.status() == http::StatusCode::SWITCHING_PROTOCOLS;
        let (parts, inner) = res.into_parts();
        let mut body = PooledBody {
            inner,
            back: (!upgraded).then(|| (self.clone(), sender, authority.clone())),
        };
        if body.inner.is_end_stream() {
            body.release();
        }
        Response::from_parts(parts, body)
    }
}

/// A TCP connection to a node (`host:port`, IPv6 in brackets) within `timeout`, with
/// `TCP_NODELAY` (shared by both proxy paths' pools).
pub async fn connect_tcp(authority: &Authority, timeout: Duration) -> Result<TcpStream, PoolError> {
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Err(_) => Err(PoolError::ConnectTimeout(authority.clone())),
        Ok(Err(source)) => Err(PoolError::Connect {
            authority: authority.clone(),
            source,
        }),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
    }
}

/// A node's response body that hands its connection back to the pool at its end.
#[derive(Debug)]
pub struct PooledBody {
    inner: Incoming,
    back: Option<(Arc<UpstreamPool>, SendRequest<UpstreamBody>, Authority)>,
}

impl PooledBody {
    fn release(&mut self) {
        if let Some((pool, sender, authority)) = self.back.take() {
            pool.checkin(sender, authority);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let res = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match &res {
            None => self.release(),
            Some(Ok(_)) if self.inner.is_end_stream() => self.release(),
            Some(Err(_)) => self.back = None,
            Some(Ok(_)) => {}
        }
        Poll::Ready(res)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
