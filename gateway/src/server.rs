//! Listeners and connections: HTTP/1.1 and h2c (and TLS) on hyper 1, header and idle
//! timeouts, graceful shutdown, and `start`, which wires listeners, route sources and admin.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::proxy::{self, ConnInfo};
use crate::state::Gateway;
use crate::{admin, source, tls};

/// A started gateway: bound addresses, shared state, and the handle to stop it.
#[derive(Debug)]
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    pub tls_addr: Option<SocketAddr>,
    pub gateway: Arc<Gateway>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningGateway {
    /// Stops accepting, lets open requests finish (up to the grace period), then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let grace = self.gateway.config.shutdown_grace + Duration::from_secs(1);
        for task in self.tasks {
            let _ = tokio::time::timeout(grace, task).await;
        }
    }
}

/// Binds every listener, loads the route file and starts serving.
pub async fn start(config: Config) -> anyhow::Result<RunningGateway> {
    let gw = Arc::new(Gateway::new(Arc::new(config))?);
    let config = gw.config.clone();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(path) = &config.route_file {
        let (file, text) = source::read_route_file(path)?;
        gw.apply_routes(&file)
            .with_context(|| format!("invalid route file {}", path.display()))?;
        tasks.push(tokio::spawn(source::poll_route_file(
            gw.clone(),
            path.clone(),
            text,
            shutdown_rx.clone(),
        )));
    }
    let mut addr = config.listen;
    for index in 0..config.workers {
        let listener =
            bind_reuseport(addr).with_context(|| format!("failed to bind {}", config.listen))?;
        addr = listener.local_addr()?;
        tasks.push(spawn_worker(
            index,
            gw.clone(),
            listener,
            shutdown_rx.clone(),
        )?);
    }
    let mut tls_addr = None;
    if let Some(tls_config) = &config.tls {
        let acceptor = TlsAcceptor::from(tls::server_config(tls_config)?);
        let listener = TcpListener::bind(tls_config.listen)
            .await
            .with_context(|| format!("failed to bind {}", tls_config.listen))?;
        tls_addr = Some(listener.local_addr()?);
        tasks.push(tokio::spawn(accept_loop(
            gw.clone(),
            listener,
            Some(acceptor),
            shutdown_rx.clone(),
        )));
    }
    let mut admin_addr = None;
    if let Some(admin_listen) = config.admin_listen {
        let listener = TcpListener::bind(admin_listen)
            .await
            .with_context(|| format!("failed to bind admin {admin_listen}"))?;
        admin_addr = Some(listener.local_addr()?);
        tasks.push(tokio::spawn(admin::serve(
            gw.clone(),
            listener,
            shutdown_rx.clone(),
        )));
    }
    tracing::info!(%addr, ?tls_addr, ?admin_addr, "Gateway listening");
    Ok(RunningGateway {
        addr,
        admin_addr,
        tls_addr,
        gateway: gw,
        shutdown,
        tasks,
    })
}

/// A listening socket with SO_REUSEPORT, so every worker accepts on its own socket.
fn bind_reuseport(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)?.into_std()
}

/// Runs one listener worker: a thread with a single-threaded runtime, like an nginx worker,
/// so a request and its upstream connection are served on one thread.
fn spawn_worker(
    index: usize,
    gw: Arc<Gateway>,
    listener: std::net::TcpListener,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to build worker runtime")?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(format!("gateway-worker-{index}"))
        .spawn(move || {
            crate::state::set_worker_index(index);
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(gw, listener, None, shutdown).await,
                    Err(e) => tracing::error!("Worker {index} cannot use its listener: {e}"),
                }
            });
            drop(runtime);
            let _ = done_tx.send(());
        })
        .context("failed to start worker thread")?;
    Ok(tokio::spawn(async move {
        let _ = done_rx.await;
    }))
}

async fn accept_loop(
    gw: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!("Accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let gw = gw.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            gw.global.open_connections.fetch_add(1, Ordering::Relaxed);
            match tls {
                None => {
                    let info = ConnInfo {
                        peer,
                        proto: "http",
                    };
                    crate::h1::conn::serve(gw.clone(), stream, info, shutdown).await;
                }
                Some(acceptor) => serve_tls(gw.clone(), acceptor, stream, peer, shutdown).await,
            }
            gw.global.open_connections.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    let grace = gw.config.shutdown_grace;
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drain).await.is_err() {
        connections.abort_all();
    }
}

async fn serve_tls(
    gw: Arc<Gateway>,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    let handshake = tokio::time::timeout(gw.config.header_read_timeout, acceptor.accept(stream));
    match handshake.await {
        Ok(Ok(stream)) => {
            let info = ConnInfo {
                peer,
                proto: "https",
            };
            serve_connection(gw, stream, info, shutdown).await;
        }
        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// Activity of one client connection, for the idle timeout.
#[derive(Debug, Default)]
struct Activity {
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves a connection with hyper (HTTP/1.1 and h2): TLS connections, and plain ones the
/// native path hands over.
pub(crate) async fn serve_connection<I>(
    gw: Arc<Gateway>,
    io: I,
    info: ConnInfo,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::default());
    let io = IdleIo {
        inner: io,
        activity: activity.clone(),
        epoch: gw.epoch,
    };
    io.touch();
    let service = {
        let gw = gw.clone();
        let activity = activity.clone();
        service_fn(move |req| {
            let guard = InFlight::new(&activity);
            let gw = gw.clone();
            async move {
                let res = proxy::handle(gw, info, req).await;
                drop(guard);
                res
            }
        })
    };
    let config = &gw.config;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(config.idle_timeout / 2))
        .keep_alive_timeout(config.idle_timeout.min(Duration::from_secs(20)));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    let idle = config.idle_timeout;
    let check_every = (idle / 4).max(Duration::from_millis(50));
    let mut closing = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(peer = %info.peer, "Connection ended: {e}");
                }
                break;
            }
            changed = shutdown.changed(), if !closing => {
                let _ = changed;
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(check_every), if !closing => {
                let now = gw.epoch.elapsed().as_millis() as u64;
                let last = activity.last_ms.load(Ordering::Relaxed);
                let quiet = Duration::from_millis(now.saturating_sub(last));
                if activity.in_flight.load(Ordering::Relaxed) == 0 && quiet >= idle {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Wraps a connection's IO to timestamp reads and writes.
struct IdleIo<I> {
    inner: I,
    activity: Arc<Activity>,
    epoch: std::time::Instant,
}

impl<I> IdleIo<I> {
    fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.activity.last_ms.store(now, Ordering::Relaxed);
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for IdleIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        res
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for IdleIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
