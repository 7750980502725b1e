//! The email outbox on a real database: templates rendered and queued (idempotent by key),
//! delivered as one `.eml` file per message in development mode, and over SMTP to a tiny
//! listener on loopback that reads the DATA (SMTP is the outside boundary); transient failures
//! are retried with backoff, permanent ones and exhausted attempts mark the message failed.

mod support;

use std::time::Duration;

use base64::Engine;
use managed_pg::testing::TestDb;
use tenant_node::config::SyncMode;
use tenant_node::db::Db;
use tenant_node::mail::sender::MailSender;
use tenant_node::mail::{render, Mail, MailConfig, SmtpTls, Transport};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

async fn db() -> (TestDb, Db) {
    let test_db = TestDb::new().await;
    let config = support::config_for_urls(
        &test_db.url,
        "http://127.0.0.1:1",
        "ws://127.0.0.1:1",
        "voskhod",
        SyncMode::Head,
    );
    let db = Db::connect(&config.database_url, 4).unwrap();
    db.migrate().await.unwrap();
    (test_db, db)
}

fn config(transport: Transport, max_attempts: i32) -> MailConfig {
    MailConfig {
        from: "noreply@voskhod.example".into(),
        transport,
        poll_interval: Duration::from_millis(50),
        max_attempts,
        max_backoff: Duration::from_secs(60),
    }
}

fn coop() -> chain::Name {
    chain::Name::parse("voskhod").unwrap()
}

fn invitation() -> Mail {
    Mail::Invitation {
        coop_name: "ПК «Восход»".into(),
        name: "Анна Петрова".into(),
        username: "anna11111111".into(),
        link: "https://voskhod.example/#/auth/reset-key?token=0123abcd".into(),
        expires_at: "23.11.2026 10:00 МСК".into(),
    }
}

/// The decoded subject and body of a message as written by lettre (base64 body, encoded-word
/// subject).
fn decode(eml: &str) -> (String, String, String) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (head, body) = eml.split_once("\r\n\r\n").expect("headers and body");
    // unfold continuation lines
    let head = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("header {name} in {head}"))
            .to_owned()
    };
    let subject = header("Subject")
        .split_whitespace()
        .map(|word| {
            let inner = word
                .strip_prefix("=?utf-8?b?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("an encoded word");
            String::from_utf8(b64.decode(inner).unwrap()).unwrap()
        })
        .collect::<String>();
    assert_eq!(header("Content-Transfer-Encoding"), "base64");
    let body: String = body.lines().collect();
    let body = String::from_utf8(b64.decode(body.trim()).unwrap()).unwrap();
    (header("To"), subject, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn development_mode_writes_one_eml_per_message() {
    let (_pg, db) = db().await;
    let dir = tempfile::tempdir().unwrap();
    let rendered = render(&invitation()).unwrap();
    let first = db
        .enqueue_mail(
            Some("invite:anna:1"),
            "invitation",
            "anna@example.com",
            &rendered,
        )
        .await
        .unwrap();
    let again = db
        .enqueue_mail(
            Some("invite:anna:1"),
            "invitation",
            "anna@example.com",
            &rendered,
        )
        .await
        .unwrap();
    assert_eq!(first, again, "the same key queues one message");
    let admission = render(&Mail::Admission {
        coop_name: "ПК «Восход»".into(),
        name: "Борис".into(),
        username: "boris1111111".into(),
        decision_id: Some(12),
    })
    .unwrap();
    let second = db
        .enqueue_mail(None, "admission", "boris@example.com", &admission)
        .await
        .unwrap();

    let sender = MailSender::new(
        db.clone(),
        coop(),
        config(
            Transport::Files {
                dir: dir.path().join("out"),
            },
            5,
        ),
    )
    .unwrap();
    assert_eq!(sender.pass().await.unwrap(), 2);
    assert_eq!(sender.pass().await.unwrap(), 0, "sent once");
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, [format!("{first}.eml"), format!("{second}.eml")]);
    let eml = std::fs::read_to_string(dir.path().join("out").join(&files[0])).unwrap();
    let (to, subject, body) = decode(&eml);
    assert_eq!(to, "anna@example.com");
    assert_eq!(subject, "Приглашение в ПК «Восход»");
    assert!(body.contains("Здравствуйте, Анна Петрова!"));
    assert!(body.contains("https://voskhod.example/#/auth/reset-key?token=0123abcd"));
    assert!(body.contains("открывается только один раз"));
    assert!(eml.contains("From: noreply@voskhod.example"));
    let (_, subject, body) =
        decode(&std::fs::read_to_string(dir.path().join("out").join(&files[1])).unwrap());
    assert_eq!(subject, "Вы приняты в ПК «Восход»");
    assert!(body.contains("решение №12"));
    let outbox = db.mail_outbox().await.unwrap();
    assert!(outbox.iter().all(|m| m.status == "sent" && m.attempts == 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_retried_with_backoff_then_given_up() {
    let (_pg, db) = db().await;
    let dir = tempfile::tempdir().unwrap();
    // the "directory" is a file: every write fails
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"not a directory").unwrap();
    let rendered = render(&invitation()).unwrap();
    let id = db
        .enqueue_mail(None, "invitation", "anna@example.com", &rendered)
        .await
        .unwrap();
    let sender = MailSender::new(
        db.clone(),
        coop(),
        config(
            Transport::Files {
                dir: blocked.clone(),
            },
            2,
        ),
    )
    .unwrap();
    assert_eq!(sender.pass().await.unwrap(), 0);
    let m = &db.mail_outbox().await.unwrap()[0];
    assert_eq!((m.id, m.status.as_str(), m.attempts), (id, "pending", 1));
    assert!(!m.last_error.is_empty());
    assert!(
        db.due_mail(10).await.unwrap().is_empty(),
        "the next attempt waits for its backoff"
    );
    // a sender with no attempts left gives up on the next failure
    let last = MailSender::new(
        db.clone(),
        coop(),
        config(Transport::Files { dir: blocked }, 1),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(last.pass().await.unwrap(), 0);
    let m = &db.mail_outbox().await.unwrap()[0];
    assert_eq!((m.status.as_str(), m.attempts), ("failed", 2));
}

/// A minimal SMTP server on loopback: answers `rcpt_reply` to RCPT TO and returns each
/// message's DATA.
async fn smtp_listener(rcpt_reply: &'static str) -> (u16, tokio::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if cmd.starts_with("MAIL FROM") {
                        b"250 ok\r\n"
                    } else if cmd.starts_with("RCPT TO") {
                        rcpt_reply.as_bytes()
                    } else if cmd.starts_with("DATA") {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            lines.read_line(&mut l).await.unwrap();
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        tx.send(data).await.unwrap();
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

fn smtp(port: u16) -> Transport {
    Transport::Smtp {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_delivers_the_message_and_permanent_refusals_fail_it() {
    let (_pg, db) = db().await;
    let (port, mut received) = smtp_listener("250 ok\r\n").await;
    let rendered = render(&invitation()).unwrap();
    db.enqueue_mail(None, "invitation", "anna@example.com", &rendered)
        .await
        .unwrap();
    let sender = MailSender::new(db.clone(), coop(), config(smtp(port), 5)).unwrap();
    assert_eq!(sender.pass().await.unwrap(), 1);
    let data = received.recv().await.unwrap();
    let (to, subject, body) = decode(&data);
    assert_eq!(to, "anna@example.com");
    assert_eq!(subject, "Приглашение в ПК «Восход»");
    assert!(body.contains("reset-key?token=0123abcd"));

    // a mailbox the server refuses for good: failed at once, no retries
    let (port, _rx) = smtp_listener("550 no such user\r\n").await;
    let id = db
        .enqueue_mail(None, "invitation", "nobody@example.com", &rendered)
        .await
        .unwrap();
    let refused = MailSender::new(db.clone(), coop(), config(smtp(port), 5)).unwrap();
    assert_eq!(refused.pass().await.unwrap(), 0);
    let m = db
        .mail_outbox()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!((m.status.as_str(), m.attempts), ("failed", 1));
    // a temporary refusal is retried later
    let (port, _rx) = smtp_listener("451 try later\r\n").await;
    let id = db
        .enqueue_mail(None, "invitation", "later@example.com", &rendered)
        .await
        .unwrap();
    let busy = MailSender::new(db.clone(), coop(), config(smtp(port), 5)).unwrap();
    assert_eq!(busy.pass().await.unwrap(), 0);
    let m = db
        .mail_outbox()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!((m.status.as_str(), m.attempts), ("pending", 1));
}
