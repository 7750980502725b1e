//! The mail sender task: delivers due messages of the outbox over SMTP (lettre, rustls) or, in
//! development, writes each as `<id>.eml` in a directory; transient failures are retried with
//! backoff, permanent SMTP refusals and exhausted attempts mark the message failed.

use std::path::Path;

use anyhow::Context as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::Body;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use super::{MailConfig, SmtpTls, Transport};
use crate::db::mail::QueuedMail;
use crate::db::Db;
use crate::outbox::backoff;

/// Delivers the outbox of one cooperative.
#[derive(Debug)]
pub struct MailSender {
    db: Db,
    config: MailConfig,
    coopname: chain::Name,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

/// Why one delivery failed.
#[derive(Debug)]
enum Failure {
    Permanent(String),
    Transient(String),
}

impl MailSender {
    pub fn new(db: Db, coopname: chain::Name, config: MailConfig) -> anyhow::Result<MailSender> {
        let smtp = match &config.transport {
            Transport::Files { .. } => None,
            Transport::Smtp {
                host,
                port,
                tls,
                username,
                password,
            } => {
                let builder = match tls {
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .context("set up SMTP over TLS")?,
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                        .context("set up SMTP with STARTTLS")?,
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                };
                let mut builder = builder
                    .port(*port)
                    .timeout(Some(std::time::Duration::from_secs(30)));
                if let (Some(user), Some(pass)) = (username, password) {
                    let pass = String::from_utf8_lossy(pass.expose()).into_owned();
                    builder = builder.credentials(Credentials::new(user.clone(), pass));
                }
                Some(builder.build())
            }
        };
        Ok(MailSender {
            db,
            config,
            coopname,
            smtp,
        })
    }

    /// Runs passes until `stop` turns true.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        use tracing::Instrument as _;
        let span = tracing::info_span!("mail", coop = %self.coopname);
        async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                if let Err(e) = self.pass().await {
                    tracing::warn!("Mail pass failed: {e:#}");
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One pass over the due messages; returns how many were delivered.
    pub async fn pass(&self) -> anyhow::Result<u32> {
        let mut delivered = 0;
        for mail in self.db.due_mail(50).await.context("read due mail")? {
            match self.deliver(&mail).await {
                Ok(()) => {
                    self.db.mail_sent(mail.id).await.context("mark mail sent")?;
                    delivered += 1;
                }
                Err(failure) => {
                    let attempt = mail.attempts + 1;
                    let (error, give_up) = match failure {
                        Failure::Permanent(e) => (e, true),
                        Failure::Transient(e) => (e, attempt >= self.config.max_attempts),
                    };
                    let delay = backoff(attempt as u32, self.config.max_backoff);
                    tracing::warn!(
                        mail = mail.id,
                        attempt,
                        give_up,
                        "Mail delivery failed: {error}"
                    );
                    self.db
                        .mail_attempt_failed(mail.id, &error, delay, give_up)
                        .await
                        .context("record the mail failure")?;
                }
            }
        }
        Ok(delivered)
    }

    async fn deliver(&self, mail: &QueuedMail) -> Result<(), Failure> {
        let message = build(&self.config.from, mail)?;
        match (&self.config.transport, &self.smtp) {
            (Transport::Files { dir }, _) => write_eml(dir, mail.id, &message.formatted())
                .await
                .map_err(|e| Failure::Transient(format!("{e:#}"))),
            (Transport::Smtp { .. }, Some(smtp)) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(Failure::Permanent(e.to_string())),
                Err(e) => Err(Failure::Transient(e.to_string())),
            },
            (Transport::Smtp { .. }, None) => {
                Err(Failure::Transient("SMTP transport not built".into()))
            }
        }
    }
}

fn build(from: &str, mail: &QueuedMail) -> Result<Message, Failure> {
    let bad = |what: &str, e: String| Failure::Permanent(format!("{what}: {e}"));
    Message::builder()
        .from(
            from.parse()
                .map_err(|e: lettre::address::AddressError| bad("from", e.to_string()))?,
        )
        .to(mail
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| bad("to", e.to_string()))?)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(
            Body::new_with_encoding(mail.body.clone(), ContentTransferEncoding::Base64)
                .map_err(|_| bad("message", "body cannot be encoded".into()))?,
        )
        .map_err(|e| bad("message", e.to_string()))
}

/// Writes `<id>.eml` atomically (a temporary file renamed into place), so a crash never
/// leaves half a message and a retry overwrites the same file.
async fn write_eml(dir: &Path, id: i64, bytes: &[u8]) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("create {}", dir.display()))?;
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    let path = dir.join(format!("{id}.eml"));
    tokio::fs::write(&tmp, bytes)
        .await
        .with_context(|| format!("write {}", tmp.display()))?;
    tokio::fs::rename(&tmp, &path)
        .await
        .with_context(|| format!("rename into {}", path.display()))?;
    Ok(())
}
