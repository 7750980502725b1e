//! Keep-alive connections of the native path to one cooperative's node (per listener worker):
//! plain TCP streams with their read buffers, a connect timeout, idle expiry and a cap.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use http::uri::Authority;
use tokio::net::TcpStream;

use crate::pool::{connect_tcp, PoolError};

/// One connection to a node, with what has been read from it and not used yet.
#[derive(Debug)]
pub struct UpstreamConn {
    pub stream: TcpStream,
    pub buf: BytesMut,
    /// Taken from the pool (it may have been closed by the node meanwhile).
    pub reused: bool,
}

#[derive(Debug)]
struct Idle {
    conn: UpstreamConn,
    authority: Authority,
    since: Instant,
}

/// Idle connections to one cooperative's node.
#[derive(Debug)]
pub struct RawPool {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
    connect_timeout: Duration,
}

impl RawPool {
    pub fn new(max_idle: usize, idle_timeout: Duration, connect_timeout: Duration) -> Self {
        RawPool {
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
            connect_timeout,
        }
    }

    /// An idle connection to `authority` that still looks open, or a new one.
    pub async fn get(&self, authority: &Authority) -> Result<UpstreamConn, PoolError> {
        if let Some(conn) = self.checkout(authority) {
            return Ok(conn);
        }
        self.connect(authority).await
    }

    fn checkout(&self, authority: &Authority) -> Option<UpstreamConn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(mut entry) = idle.pop() {
            if entry.since.elapsed() >= self.idle_timeout || entry.authority != *authority {
                continue;
            }
            // Nothing may arrive on an idle connection: data or EOF means it is unusable.
            // (No system call unless the poller has seen the socket become readable.)
            match entry.conn.stream.try_read(&mut [0u8; 1]) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    entry.conn.reused = true;
                    return Some(entry.conn);
                }
                _ => continue,
            }
        }
        None
    }

    /// Returns a connection whose last response was read to its end.
    pub fn checkin(&self, mut conn: UpstreamConn, authority: &Authority) {
        if !conn.buf.is_empty() {
            return;
        }
        conn.reused = false;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(Idle {
                conn,
                authority: authority.clone(),
                since: Instant::now(),
            });
        }
    }

    /// A new connection (no pool involved).
    pub async fn connect(&self, authority: &Authority) -> Result<UpstreamConn, PoolError> {
        Ok(UpstreamConn {
            stream: connect_tcp(authority, self.connect_timeout).await?,
            buf: BytesMut::with_capacity(8192),
            reused: false,
        })
    }
}
