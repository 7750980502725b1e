//! The fallback engine: one `weasyprint -O fonts - -` process per document (HTML on stdin, PDF
//! on stdout), at most `workers` at a time, killed past the per-document timeout.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::Semaphore;

use super::{find_program, PdfConfig, PdfError, DETERMINISTIC_ENV};

/// The CLI engine.
#[derive(Debug)]
pub struct Cli {
    program: PathBuf,
    version: String,
    timeout: Duration,
    slots: Arc<Semaphore>,
}

fn stderr_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    // The last lines carry the exception.
    let start = trimmed.len().saturating_sub(1500);
    let start = (start..trimmed.len())
        .find(|i| trimmed.is_char_boundary(*i))
        .unwrap_or(0);
    trimmed[start..].to_owned()
}

impl Cli {
    /// Finds `weasyprint` and reads its version.
    pub async fn start(config: &PdfConfig) -> Result<Cli, PdfError> {
        let program = find_program(&config.weasyprint).ok_or_else(|| {
            PdfError::NotInstalled(format!("{} not found in PATH", config.weasyprint.display()))
        })?;
        let output = Command::new(&program)
            .arg("--version")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(config.start_timeout, output)
            .await
            .map_err(|_| PdfError::Timeout(config.start_timeout))?
            .map_err(|e| PdfError::NotInstalled(format!("{}: {e}", program.display())))?;
        if !output.status.success() {
            return Err(PdfError::NotInstalled(format!(
                "{} --version failed: {}",
                program.display(),
                stderr_text(&output.stderr)
            )));
        }
        // "WeasyPrint version 57.2"
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_owned();
        Ok(Cli {
            program,
            version,
            timeout: config.timeout,
            slots: Arc::new(Semaphore::new(config.workers.max(1))),
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// Runs one `weasyprint` process for the document.
    pub async fn render(&self, html: &str) -> Result<Vec<u8>, PdfError> {
        let _slot = self.slots.acquire().await.map_err(|_| PdfError::Closed)?;
        let mut command = Command::new(&self.program);
        command
            .args(["-O", "fonts", "-q", "-e", "utf-8", "-", "-"])
            .envs(DETERMINISTIC_ENV)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| PdfError::NotInstalled(format!("{}: {e}", self.program.display())))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| PdfError::Failed("no stdin pipe".into()))?;
        let input = html.as_bytes().to_vec();
        let write = async move {
            let res = stdin.write_all(&input).await;
            drop(stdin);
            res
        };
        let run = async { tokio::join!(write, child.wait_with_output()) };
        let (written, output) = tokio::time::timeout(self.timeout, run)
            .await
            .map_err(|_| PdfError::Timeout(self.timeout))?;
        let output =
            output.map_err(|e| PdfError::Failed(format!("waiting for weasyprint: {e}")))?;
        if !output.status.success() {
            return Err(PdfError::Failed(format!(
                "{}: {}",
                output.status,
                stderr_text(&output.stderr)
            )));
        }
        written.map_err(|e| PdfError::Failed(format!("writing the HTML: {e}")))?;
        Ok(output.stdout)
    }
}
