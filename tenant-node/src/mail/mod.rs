//! Email: our own Russian templates (`templates/mail/`, minijinja) rendered into messages that
//! are queued in the database outbox (`db::mail`) and delivered by the [`sender`] over SMTP or,
//! in development, written as `.eml` files.
//!
//! This file is pure: the mails, validation of every value, rendering, the mail configuration.

pub mod sender;

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

const INVITATION: &str = include_str!("../../../templates/mail/invitation.txt.j2");
const KEY_RESET: &str = include_str!("../../../templates/mail/key_reset.txt.j2");
const ADMISSION: &str = include_str!("../../../templates/mail/admission.txt.j2");

/// A mail to render. Links are single-use and expiring: the token behind them belongs to the
/// caller (authentication); the mail only carries the link and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mail {
    /// A member added on paper is invited to set their key.
    Invitation {
        coop_name: String,
        name: String,
        username: String,
        link: String,
        expires_at: String,
    },
    /// A key reset was requested.
    KeyReset {
        coop_name: String,
        name: String,
        username: String,
        link: String,
        expires_at: String,
    },
    /// The council admitted the person.
    Admission {
        coop_name: String,
        name: String,
        username: String,
        decision_id: Option<u64>,
    },
}

impl Mail {
    /// The template name stored with the message.
    pub fn template(&self) -> &'static str {
        match self {
            Mail::Invitation { .. } => "invitation",
            Mail::KeyReset { .. } => "key_reset",
            Mail::Admission { .. } => "admission",
        }
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Why a mail cannot be rendered or sent. Safe to show.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MailError {
    #[error("{field} must be one line of at most {max} characters")]
    BadText { field: &'static str, max: usize },
    #[error("link must be an http(s) URL without spaces")]
    BadLink,
    #[error("{0:?} is not a valid email address")]
    BadAddress(String),
    #[error("template {0}: {1}")]
    Template(&'static str, String),
}

fn line(field: &'static str, value: &str, max: usize) -> Result<(), MailError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(MailError::BadText { field, max });
    }
    Ok(())
}

fn link(value: &str) -> Result<(), MailError> {
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2000
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(MailError::BadLink)
    }
}

/// Checks an email address (the lettre parser; one address, no display name).
pub fn check_address(addr: &str) -> Result<(), MailError> {
    addr.parse::<lettre::Address>()
        .map(drop)
        .map_err(|_| MailError::BadAddress(addr.chars().take(64).collect()))
}

/// Renders a mail: the first line of the template's output is the subject, the rest after an
/// empty line the body.
pub fn render(mail: &Mail) -> Result<Rendered, MailError> {
    let (source, ctx) = match mail {
        Mail::Invitation {
            coop_name,
            name,
            username,
            link: url,
            expires_at,
        }
        | Mail::KeyReset {
            coop_name,
            name,
            username,
            link: url,
            expires_at,
        } => {
            line("coop_name", coop_name, 200)?;
            line("name", name, 200)?;
            line("username", username, 12)?;
            line("expires_at", expires_at, 64)?;
            link(url)?;
            let source = if matches!(mail, Mail::Invitation { .. }) {
                INVITATION
            } else {
                KEY_RESET
            };
            (
                source,
                minijinja::context! { coop_name, name, username, link => url, expires_at },
            )
        }
        Mail::Admission {
            coop_name,
            name,
            username,
            decision_id,
        } => {
            line("coop_name", coop_name, 200)?;
            line("name", name, 200)?;
            line("username", username, 12)?;
            (
                ADMISSION,
                minijinja::context! { coop_name, name, username, decision_id },
            )
        }
    };
    let name = mail.template();
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let text = env
        .render_str(source, ctx)
        .map_err(|e| MailError::Template(name, e.to_string()))?;
    let (subject, body) = text
        .split_once("\n\n")
        .ok_or_else(|| MailError::Template(name, "no subject line".into()))?;
    Ok(Rendered {
        subject: subject.trim().to_owned(),
        body: format!("{}\n", body.trim_end()),
    })
}

/// How mail leaves the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Development: one `<id>.eml` file per message in `dir`.
    Files { dir: PathBuf },
    /// SMTP submission.
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
        username: Option<String>,
        password: Option<crate::config::Secret>,
    },
}

/// SMTP connection security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Implicit TLS (port 465).
    Tls,
    /// STARTTLS required (port 587).
    Starttls,
    /// No TLS: only for a relay on loopback.
    None,
}

/// The validated mail configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    pub from: String,
    pub transport: Transport,
    /// Pause between passes over the outbox.
    pub poll_interval: Duration,
    /// Attempts before a message is marked failed.
    pub max_attempts: i32,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

/// The `[mail]` section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailFile {
    /// `files` or `smtp`; no section = no mail sender.
    pub mode: Option<String>,
    pub from: Option<String>,
    pub dir: Option<PathBuf>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_tls: Option<SmtpTls>,
    pub smtp_username: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    pub max_attempts: Option<i32>,
}

impl MailFile {
    /// Validates the section; `password_env` is `TENANT_NODE_SMTP_PASSWORD`.
    pub fn validate(self, password_env: Option<String>) -> Result<Option<MailConfig>, String> {
        let Some(mode) = self.mode else {
            if self.from.is_some() || self.dir.is_some() || self.smtp_host.is_some() {
                return Err("mail.mode is required when [mail] is given (files or smtp)".into());
            }
            return Ok(None);
        };
        let from = self.from.ok_or("mail.from is required")?;
        check_address(&from).map_err(|e| format!("mail.from: {e}"))?;
        let transport = match mode.as_str() {
            "files" => Transport::Files {
                dir: self.dir.ok_or("mail.dir is required in files mode")?,
            },
            "smtp" => {
                let host = self
                    .smtp_host
                    .ok_or("mail.smtp_host is required in smtp mode")?;
                let tls = self.smtp_tls.unwrap_or(SmtpTls::Starttls);
                let port = self.smtp_port.unwrap_or(match tls {
                    SmtpTls::Tls => 465,
                    SmtpTls::Starttls => 587,
                    SmtpTls::None => 25,
                });
                let password = match (password_env, self.smtp_password_file) {
                    (Some(_), Some(_)) => {
                        return Err(
                            "give the SMTP password either in TENANT_NODE_SMTP_PASSWORD \
                                    or in mail.smtp_password_file, not both"
                                .into(),
                        )
                    }
                    (Some(p), None) => Some(p),
                    (None, Some(path)) => Some(
                        std::fs::read_to_string(&path)
                            .map_err(|e| {
                                format!("mail.smtp_password_file {}: {e}", path.display())
                            })?
                            .trim_end_matches(['\r', '\n'])
                            .to_owned(),
                    ),
                    (None, None) => None,
                };
                if password.is_some() != self.smtp_username.is_some() {
                    return Err("mail.smtp_username and the SMTP password go together".into());
                }
                Transport::Smtp {
                    host,
                    port,
                    tls,
                    username: self.smtp_username,
                    password: password.map(|p| crate::config::Secret::from_bytes(p.into_bytes())),
                }
            }
            other => return Err(format!("mail.mode {other:?}: expected files or smtp")),
        };
        let max_attempts = self.max_attempts.unwrap_or(10);
        if !(1..=100).contains(&max_attempts) {
            return Err("mail.max_attempts must be 1..=100".into());
        }
        Ok(Some(MailConfig {
            from,
            transport,
            poll_interval: Duration::from_secs(2),
            max_attempts,
            max_backoff: Duration::from_secs(600),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(link: &str, name: &str) -> Mail {
        Mail::Invitation {
            coop_name: "ПК «Восход»".into(),
            name: name.into(),
            username: "anna11111111".into(),
            link: link.into(),
            expires_at: "22.11.2026 10:00 МСК".into(),
        }
    }

    #[test]
    fn templates_render_subject_and_body_in_russian() {
        let r = render(&invitation(
            "https://voskhod.example/reset?token=abc",
            "Анна",
        ))
        .unwrap();
        assert_eq!(r.subject, "Приглашение в ПК «Восход»");
        assert!(r.body.starts_with("Здравствуйте, Анна!"));
        assert!(r.body.contains("https://voskhod.example/reset?token=abc"));
        assert!(r.body.contains("22.11.2026 10:00 МСК"));
        let r = render(&Mail::Admission {
            coop_name: "ПК «Восход»".into(),
            name: "Анна".into(),
            username: "anna11111111".into(),
            decision_id: Some(7),
        })
        .unwrap();
        assert_eq!(r.subject, "Вы приняты в ПК «Восход»");
        assert!(r.body.contains("решение №7"));
    }

    #[test]
    fn values_cannot_inject_lines_or_links() {
        assert_eq!(
            render(&invitation("https://x/?t=1", "Анна\nBcc: evil@example.com")),
            Err(MailError::BadText {
                field: "name",
                max: 200
            })
        );
        assert_eq!(
            render(&invitation("javascript:alert(1)", "Анна")),
            Err(MailError::BadLink)
        );
        assert!(check_address("anna@example.com").is_ok());
        assert!(check_address("anna@example.com\r\nBcc: x@y.z").is_err());
    }
}
