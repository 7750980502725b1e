//! `mono coop …`: the operator commands over the control plane API, with tables for people,
//! `--json` for scripts, and progress on stderr while a change completes.

use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use crate::cli::{CoopArgs, CoopCommand};
use crate::client::Client;
use crate::config::PlatformConfig;
use crate::model::CreateRequest;

/// How long `create`/`delete`/… wait for the change by default.
const WAIT: Duration = Duration::from_secs(180);

pub async fn run(config: &PlatformConfig, command: CoopCommand) -> anyhow::Result<()> {
    let token = crate::service::operator_token(&config.state_dir())?;
    let client = Client::new(&config.control_plane.url, &token)?;
    match command {
        CoopCommand::Create(a) => {
            let request = CreateRequest {
                coopname: a.coop.clone(),
                chain_url: a.chain_url,
                ship_url: a.ship_url,
                chain_id: a.chain_id,
                domain: a.domain,
                memory_mb: a.memory_mb,
                connection_limit: a.connection_limit,
                runtime: a.runtime,
            };
            let mut row = client.create(&request).await?;
            if !a.no_wait {
                row = wait(&client, &a.coop, |r| r["observed_state"] == "ready").await?;
            }
            print_rows(&[row], a.out.json)
        }
        CoopCommand::List(out) => print_rows(&client.list().await?, out.json),
        CoopCommand::Show { coop, secrets, out } => {
            let mut row = client.show(&coop).await?;
            if secrets {
                row["secrets"] = client.secrets(&coop).await?;
            }
            if out.json {
                return print_json(&row);
            }
            print_rows(std::slice::from_ref(&row), false)?;
            if let Some(obj) = row.as_object() {
                println!();
                for (k, v) in obj {
                    println!("  {k:<18} {}", plain(v));
                }
            }
            Ok(())
        }
        CoopCommand::Suspend(a) => {
            act(&client, a, "suspend", |r| {
                r["observed_state"] == "suspended"
            })
            .await
        }
        CoopCommand::Resume(a) => {
            act(&client, a, "resume", |r| r["observed_state"] == "ready").await
        }
        CoopCommand::Restart(a) => {
            // Ready again with the new generation.
            let CoopArgs { coop, no_wait, out } = a;
            let row = client.action(&coop, "restart").await?;
            let generation = row["generation"].clone();
            let row = if no_wait {
                row
            } else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                wait(&client, &coop, move |r| {
                    r["generation"] == generation && r["observed_state"] == "ready"
                })
                .await?
            };
            print_rows(&[row], out.json)
        }
        CoopCommand::Delete(a) => {
            let row = client.delete(&a.coop).await?;
            if !a.no_wait {
                wait_gone(&client, &a.coop).await?;
                eprintln!("{}: deleted", a.coop);
            }
            if a.out.json {
                print_json(&row)?;
            }
            Ok(())
        }
        CoopCommand::Logs { coop, lines } => {
            println!("{}", client.logs(&coop, lines).await?);
            Ok(())
        }
    }
}

async fn act(
    client: &Client,
    a: CoopArgs,
    action: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<()> {
    let mut row = client.action(&a.coop, action).await?;
    if !a.no_wait {
        row = wait(client, &a.coop, done).await?;
    }
    print_rows(&[row], a.out.json)
}

/// Polls until `done`, printing each state change to stderr.
async fn wait(client: &Client, coop: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = String::new();
    loop {
        let row = client.show(coop).await?;
        let line = format!(
            "{coop}: {}{}",
            plain(&row["observed_state"]),
            row["status_reason"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        if done(&row) {
            return Ok(row);
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{coop} did not get there within {} s; last state: {last}",
                WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_gone(client: &Client, coop: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match client.show(coop).await {
            Err(e) if e.to_string().contains("404") => return Ok(()),
            Err(e) => return Err(e),
            Ok(row) => {
                if tokio::time::Instant::now() > deadline {
                    bail!("{coop} is still {}", plain(&row["observed_state"]));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn print_rows(rows: &[Value], json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(&rows);
    }
    const COLS: [(&str, &str); 7] = [
        ("COOP", "coopname"),
        ("DESIRED", "desired_state"),
        ("STATE", "observed_state"),
        ("PORT", "port"),
        ("RUNTIME", "runtime"),
        ("RESTARTS", "restarts"),
        ("REASON", "status_reason"),
    ];
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| COLS.iter().map(|(_, k)| plain(&r[*k])).collect())
        .collect();
    let widths: Vec<usize> = COLS
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            table
                .iter()
                .map(|r| r[i].len())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!(
        "{}",
        line(COLS.iter().map(|(h, _)| (*h).to_owned()).collect())
    );
    for row in table {
        println!("{}", line(row));
    }
    Ok(())
}
