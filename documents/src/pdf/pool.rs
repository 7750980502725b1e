//! The warm pool: long-lived Python processes running the embedded `worker.py` (WeasyPrint
//! imported once), fed over stdin/stdout with length-prefixed frames (see the script).
//!
//! Jobs go through a bounded queue (back-pressure: callers wait up to `queue_timeout` for a
//! slot). Each worker task owns one process; a document that takes longer than `timeout`
//! gets its process killed, and a crashed, timed-out or recycled process is replaced at once.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinSet;

use super::{find_program, shebang_interpreter, PdfConfig, PdfError, DETERMINISTIC_ENV};

/// The worker script, written to the cache dir at start.
pub const WORKER_SCRIPT: &str = include_str!("worker.py");

/// Largest response a worker may announce (a document PDF is far smaller).
const MAX_FRAME: u32 = 256 * 1024 * 1024;

/// Stderr lines kept per worker for crash reports.
const STDERR_LINES: usize = 20;

struct Job {
    html: Arc<str>,
    reply: oneshot::Sender<Result<Vec<u8>, PdfError>>,
}

/// Process ids of the running workers, by worker index (0 while one is restarting).
type Pids = Arc<StdMutex<Vec<u32>>>;

/// The pool handle; dropping it stops the workers (their processes are killed).
#[derive(Debug)]
pub struct Pool {
    jobs: mpsc::Sender<Job>,
    pids: Pids,
    version: String,
    workers: usize,
    queue_timeout: Duration,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("html", &self.html.len())
            .finish()
    }
}

/// How to start a worker.
#[derive(Debug, Clone)]
struct Launch {
    python: PathBuf,
    script: PathBuf,
    start_timeout: Duration,
}

/// One running worker process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<StdMutex<VecDeque<String>>>,
    version: String,
    done: u32,
}

/// A failed exchange with a worker.
enum Failure {
    /// WeasyPrint raised: the worker is fine.
    Document(String),
    /// The process died or broke the protocol.
    Broken(String),
}

impl Pool {
    /// Writes the worker script, starts `config.workers` processes and waits until each has
    /// imported WeasyPrint and rendered its warm-up page.
    pub async fn start(config: &PdfConfig) -> Result<Pool, PdfError> {
        let launch = Launch {
            python: python_for(config)?,
            script: write_script(config.cache_dir.as_deref())?,
            start_timeout: config.start_timeout,
        };
        let n = config.workers.max(1);
        let mut starting = JoinSet::new();
        for _ in 0..n {
            let launch = launch.clone();
            starting.spawn(async move { Worker::spawn(&launch).await });
        }
        let mut workers = Vec::with_capacity(n);
        while let Some(res) = starting.join_next().await {
            let worker = res.map_err(|e| PdfError::PoolStart(format!("start task: {e}")))??;
            workers.push(worker);
        }
        let version = workers
            .first()
            .map(|w| w.version.clone())
            .unwrap_or_default();
        let (tx, rx) = mpsc::channel::<Job>(config.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let pids: Pids = Arc::new(StdMutex::new(
            workers.iter().map(|w| w.child.id().unwrap_or(0)).collect(),
        ));
        let mut tasks = JoinSet::new();
        for (index, worker) in workers.into_iter().enumerate() {
            let ctx = WorkerCtx {
                index,
                jobs: Arc::clone(&rx),
                launch: launch.clone(),
                timeout: config.timeout,
                recycle_after: config.recycle_after.max(1),
                pids: Arc::clone(&pids),
            };
            tasks.spawn(run_worker(ctx, worker));
        }
        tracing::info!(workers = n, version = %version, "weasyprint pool started");
        Ok(Pool {
            jobs: tx,
            pids,
            version,
            workers: n,
            queue_timeout: config.queue_timeout,
            tasks,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Process ids of the worker processes (for diagnostics; 0 while one restarts).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.pids.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Queues a document and waits for its PDF.
    pub async fn render(&self, html: &str) -> Result<Vec<u8>, PdfError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            html: Arc::from(html),
            reply,
        };
        self.jobs
            .send_timeout(job, self.queue_timeout)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => PdfError::Busy(self.queue_timeout),
                mpsc::error::SendTimeoutError::Closed(_) => PdfError::Closed,
            })?;
        answer.await.map_err(|_| PdfError::Closed)?
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// The Python to run the workers with: configured, or the `weasyprint` script's interpreter
/// (Debian: /usr/bin/python3, which has the weasyprint module even when another python3 is
/// first in PATH), or `python3`.
fn python_for(config: &PdfConfig) -> Result<PathBuf, PdfError> {
    if let Some(p) = &config.python {
        return Ok(p.clone());
    }
    let interpreter = find_program(&config.weasyprint)
        .and_then(|script| shebang_interpreter(&script))
        .unwrap_or_else(|| PathBuf::from("python3"));
    find_program(&interpreter)
        .ok_or_else(|| PdfError::PoolStart(format!("{} not found", interpreter.display())))
}

/// Writes the worker script under a content-addressed name (atomically, so concurrent
/// starters never see a half-written file).
fn write_script(dir: Option<&Path>) -> Result<PathBuf, PdfError> {
    let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let digest = hex::encode(Sha256::digest(WORKER_SCRIPT.as_bytes()));
    let path = dir.join(format!("mono-documents-worker-{}.py", &digest[..16]));
    if std::fs::read(&path).is_ok_and(|b| b == WORKER_SCRIPT.as_bytes()) {
        return Ok(path);
    }
    let fail = |e: std::io::Error| PdfError::PoolStart(format!("write {}: {e}", path.display()));
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let tmp = dir.join(format!(
        "mono-documents-worker-{}.{}.tmp",
        &digest[..16],
        std::process::id()
    ));
    std::fs::write(&tmp, WORKER_SCRIPT).map_err(fail)?;
    std::fs::rename(&tmp, &path).map_err(fail)?;
    Ok(path)
}

impl Worker {
    async fn spawn(launch: &Launch) -> Result<Worker, PdfError> {
        let mut child = Command::new(&launch.python)
            .arg(&launch.script)
            .envs(DETERMINISTIC_ENV)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| PdfError::PoolStart(format!("{}: {e}", launch.python.display())))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(PdfError::PoolStart("worker pipes missing".into()));
        };
        let lines = Arc::new(StdMutex::new(VecDeque::with_capacity(STDERR_LINES)));
        let sink = Arc::clone(&lines);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                tracing::debug!(target: "documents::pdf::worker", "{line}");
                if let Ok(mut buf) = sink.lock() {
                    if buf.len() == STDERR_LINES {
                        buf.pop_front();
                    }
                    buf.push_back(line);
                }
            }
        });
        let mut worker = Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr: lines,
            version: String::new(),
            done: 0,
        };
        let ready = tokio::time::timeout(launch.start_timeout, worker.read_frame()).await;
        match ready {
            Err(_) => Err(PdfError::PoolStart(format!(
                "no ready signal within {:?}",
                launch.start_timeout
            ))),
            Ok(Ok((b'R', version))) => {
                worker.version = String::from_utf8_lossy(&version).into_owned();
                Ok(worker)
            }
            Ok(Ok((_, message))) => Err(PdfError::PoolStart(
                String::from_utf8_lossy(&message).into_owned(),
            )),
            Ok(Err(e)) => Err(PdfError::PoolStart(format!("{e}{}", worker.stderr_tail()))),
        }
    }

    /// Reads one response frame: kind byte, u32 BE length, payload.
    async fn read_frame(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        let kind = self.stdout.read_u8().await?;
        let len = self.stdout.read_u32().await?;
        if len > MAX_FRAME {
            return Err(std::io::Error::other(format!("frame of {len} bytes")));
        }
        let mut payload = vec![0u8; len as usize];
        self.stdout.read_exact(&mut payload).await?;
        Ok((kind, payload))
    }

    /// Sends one document and reads the answer.
    async fn render(&mut self, html: &str) -> Result<Vec<u8>, Failure> {
        let len = u32::try_from(html.len())
            .map_err(|_| Failure::Document("HTML larger than 4 GiB".into()))?;
        let broken = |what: &str, e: std::io::Error| Failure::Broken(format!("{what}: {e}"));
        self.stdin
            .write_all(&len.to_be_bytes())
            .await
            .map_err(|e| broken("write", e))?;
        self.stdin
            .write_all(html.as_bytes())
            .await
            .map_err(|e| broken("write", e))?;
        self.stdin.flush().await.map_err(|e| broken("flush", e))?;
        match self.read_frame().await {
            Ok((b'O', pdf)) => Ok(pdf),
            Ok((b'E', message)) => Err(Failure::Document(
                String::from_utf8_lossy(&message).into_owned(),
            )),
            Ok((kind, _)) => Err(Failure::Broken(format!("unexpected frame kind {kind}"))),
            Err(e) => Err(broken("read", e)),
        }
    }

    fn stderr_tail(&self) -> String {
        let lines = self
            .stderr
            .lock()
            .map(|b| b.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        if lines.is_empty() {
            String::new()
        } else {
            format!("; stderr: {lines}")
        }
    }

    /// Ends the process: closing stdin lets it exit; kill_on_drop covers the rest.
    async fn stop(mut self) {
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
        }
    }
}

/// What a worker task needs besides its process.
struct WorkerCtx {
    index: usize,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    launch: Launch,
    timeout: Duration,
    recycle_after: u32,
    pids: Pids,
}

impl WorkerCtx {
    fn set_pid(&self, pid: u32) {
        if let Ok(mut pids) = self.pids.lock() {
            if let Some(slot) = pids.get_mut(self.index) {
                *slot = pid;
            }
        }
    }

    /// Starts a replacement, retrying with a growing pause while it fails.
    async fn respawn(&self) -> Worker {
        self.set_pid(0);
        let mut pause = Duration::from_millis(200);
        loop {
            match Worker::spawn(&self.launch).await {
                Ok(w) => {
                    self.set_pid(w.child.id().unwrap_or(0));
                    return w;
                }
                Err(e) => {
                    tracing::error!(worker = self.index, error = %e, "failed to restart a weasyprint worker");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

async fn run_worker(ctx: WorkerCtx, first: Worker) {
    let index = ctx.index;
    let timeout = ctx.timeout;
    let mut worker = Some(first);
    loop {
        let next = { ctx.jobs.lock().await.recv().await };
        let Some(job) = next else { break };
        if job.reply.is_closed() {
            continue; // the caller gave up while queued
        }
        let mut current = match worker.take() {
            Some(w) => w,
            None => ctx.respawn().await,
        };
        let outcome = tokio::time::timeout(timeout, current.render(&job.html)).await;
        let (result, keep) = match outcome {
            Ok(Ok(pdf)) => (Ok(pdf), true),
            Ok(Err(Failure::Document(message))) => (Err(PdfError::Failed(message)), true),
            Ok(Err(Failure::Broken(message))) => {
                let detail = format!("{message}{}", current.stderr_tail());
                tracing::warn!(worker = index, error = %detail, "weasyprint worker crashed");
                (Err(PdfError::Crashed(detail)), false)
            }
            Err(_) => {
                tracing::warn!(worker = index, ?timeout, "weasyprint worker timed out");
                (Err(PdfError::Timeout(timeout)), false)
            }
        };
        let _ = job.reply.send(result);
        current.done += 1;
        if keep && current.done < ctx.recycle_after {
            worker = Some(current);
        } else {
            if keep {
                current.stop().await;
            } else {
                drop(current); // kill_on_drop
            }
            worker = Some(ctx.respawn().await);
        }
    }
    if let Some(w) = worker {
        w.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_written_once_under_a_content_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_script(Some(dir.path())).unwrap();
        let b = write_script(Some(dir.path())).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), WORKER_SCRIPT);
    }
}
