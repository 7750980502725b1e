//! HTML → PDF through WeasyPrint: a warm pool of long-lived Python workers ([`pool`]) or, when
//! the pool cannot start, one `weasyprint` CLI process per document ([`cli`]). Both run with
//! the same options and `SOURCE_DATE_EPOCH=0`, so they produce the same bytes for the same
//! HTML (and WeasyPrint version, fonts).
//!
//! This is the only module of the crate that starts processes.

pub mod cli;
pub mod pool;

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// Why a PDF was not produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PdfError {
    #[error("weasyprint is not available ({0}); install it with scripts/deps.sh (Debian package weasyprint)")]
    NotInstalled(String),
    #[error("the weasyprint worker pool did not start: {0}")]
    PoolStart(String),
    #[error("rendering took longer than {0:?}; the process was killed")]
    Timeout(Duration),
    #[error("all PDF workers are busy and the queue stayed full for {0:?}")]
    Busy(Duration),
    #[error("weasyprint failed: {0}")]
    Failed(String),
    #[error("a weasyprint worker crashed: {0}")]
    Crashed(String),
    #[error("the PDF engine is shut down")]
    Closed,
    #[error("weasyprint produced no PDF (output does not start with %PDF-)")]
    NotPdf,
}

/// Which engine to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineMode {
    /// The warm pool, or the CLI if the pool cannot start.
    #[default]
    Auto,
    /// Only the warm pool (start fails if it cannot start).
    Pool,
    /// Only the CLI.
    Cli,
}

/// PDF engine settings.
#[derive(Debug, Clone)]
pub struct PdfConfig {
    pub mode: EngineMode,
    /// Worker processes (pool) or concurrent CLI processes.
    pub workers: usize,
    /// Documents that may wait for a worker; further callers wait up to `queue_timeout`.
    pub queue: usize,
    pub queue_timeout: Duration,
    /// Per-document limit; the process is killed (and a pool worker restarted) past it.
    pub timeout: Duration,
    /// Limit for a worker to import WeasyPrint and render its warm-up page.
    pub start_timeout: Duration,
    /// A pool worker is replaced after this many documents (bounds memory growth).
    pub recycle_after: u32,
    /// The `weasyprint` program (a name looked up in PATH, or a path).
    pub weasyprint: PathBuf,
    /// Python for the workers; default: the interpreter of the `weasyprint` script.
    pub python: Option<PathBuf>,
    /// Where the worker script is written; default: the system temp dir.
    pub cache_dir: Option<PathBuf>,
}

impl Default for PdfConfig {
    fn default() -> PdfConfig {
        PdfConfig {
            mode: EngineMode::Auto,
            workers: 2,
            queue: 32,
            queue_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            start_timeout: Duration::from_secs(60),
            recycle_after: 2000,
            weasyprint: PathBuf::from("weasyprint"),
            python: None,
            cache_dir: None,
        }
    }
}

/// The engine in use.
#[derive(Debug)]
pub enum PdfEngine {
    Pool(pool::Pool),
    Cli(cli::Cli),
}

impl PdfEngine {
    /// Starts the engine per `config.mode`. Must run inside a tokio runtime; pool workers
    /// live on that runtime.
    pub async fn start(config: PdfConfig) -> Result<PdfEngine, PdfError> {
        match config.mode {
            EngineMode::Cli => Ok(PdfEngine::Cli(cli::Cli::start(&config).await?)),
            EngineMode::Pool => Ok(PdfEngine::Pool(pool::Pool::start(&config).await?)),
            EngineMode::Auto => match pool::Pool::start(&config).await {
                Ok(p) => Ok(PdfEngine::Pool(p)),
                Err(e) => {
                    tracing::warn!(error = %e, "warm weasyprint pool unavailable, using the CLI");
                    Ok(PdfEngine::Cli(cli::Cli::start(&config).await?))
                }
            },
        }
    }

    /// Renders one HTML document to PDF bytes.
    pub async fn render(&self, html: &str) -> Result<Vec<u8>, PdfError> {
        let pdf = match self {
            PdfEngine::Pool(p) => p.render(html).await?,
            PdfEngine::Cli(c) => c.render(html).await?,
        };
        if !pdf.starts_with(b"%PDF-") {
            return Err(PdfError::NotPdf);
        }
        Ok(pdf)
    }

    /// `pool` or `cli`.
    pub fn kind(&self) -> &'static str {
        match self {
            PdfEngine::Pool(_) => "pool",
            PdfEngine::Cli(_) => "cli",
        }
    }

    /// The WeasyPrint version (part of what makes a PDF reproducible).
    pub fn weasyprint_version(&self) -> &str {
        match self {
            PdfEngine::Pool(p) => p.version(),
            PdfEngine::Cli(c) => c.version(),
        }
    }
}

/// Environment every WeasyPrint process gets: fixed font timestamps, no hash randomness.
pub(crate) const DETERMINISTIC_ENV: [(&str, &str); 2] =
    [("SOURCE_DATE_EPOCH", "0"), ("PYTHONHASHSEED", "0")];

/// Finds a program: a path with a separator is taken as is, a bare name is looked up in PATH.
pub fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The interpreter named by a script's `#!` line (`/usr/bin/python3`, or `python3` from
/// `#!/usr/bin/env python3`).
pub(crate) fn shebang_interpreter(script: &Path) -> Option<PathBuf> {
    use std::io::Read as _;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let text = std::str::from_utf8(&head[..n]).ok()?;
    let line = text.lines().next()?.strip_prefix("#!")?.trim();
    let mut parts = line.split_whitespace();
    let first = parts.next()?;
    if first.ends_with("/env") {
        parts.next().map(PathBuf::from)
    } else {
        Some(PathBuf::from(first))
    }
}

/// Whether WeasyPrint can be used here (the CLI is installed); tests use it to decide on
/// skipping.
pub fn weasyprint_installed(config: &PdfConfig) -> bool {
    find_program(&config.weasyprint).is_some()
}
