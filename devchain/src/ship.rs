//! The SHiP websocket endpoint (stock Leap 5 protocol): the ABI text frame, `get_status`,
//! `get_blocks` with the `max_messages_in_flight` window and acks, `have_positions`,
//! `irreversible_only`, live tailing, and fork handling (blocks already sent whose id changed are
//! sent again from the lowest changed number).

use std::collections::BTreeMap;
use std::sync::Arc;

use chain::bytes::{Bytes, Pack, Unpack};
use chain::ship::schema::SchemaDef;
use chain::ship::{
    ship_schema, BlockPosition, GetBlocksRequestV0, GetBlocksResultV0, GetStatusResultV0, Request,
    ShipResult,
};
use chain::Checksum256;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::error::ChainError;
use crate::node::Node;

/// The SHiP ABI (`eosio::abi/1.1`) generated from the chain crate's SHiP type declarations.
pub fn ship_abi_json() -> String {
    let mut structs = Vec::new();
    let mut variants = Vec::new();
    for def in ship_schema() {
        match def {
            SchemaDef::Struct { name, base, fields } => structs.push(json!({
                "name": name,
                "base": base,
                "fields": fields.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>(),
            })),
            SchemaDef::Variant { name, members } => variants.push(json!({
                "name": name,
                "types": members.iter().map(|(_, t)| t).collect::<Vec<_>>(),
            })),
        }
    }
    let table = |name: &str, keys: &[&str]| json!({"name": name, "type": name, "key_names": keys});
    let abi: Value = json!({
        "version": "eosio::abi/1.1",
        "types": [],
        "structs": structs,
        "variants": variants,
        "tables": [
            table("account", &["name"]),
            table("account_metadata", &["name"]),
            table("contract_table", &["code", "scope", "table"]),
            table("contract_row", &["code", "scope", "table", "primary_key"]),
            table("permission", &["owner", "name"]),
            table("permission_link", &["account", "code", "message_type"]),
        ],
    });
    abi.to_string()
}

/// Accepts websocket sessions until shutdown.
pub async fn serve(listener: TcpListener, node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let abi = Arc::new(ship_abi_json());
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (node, abi, stop) = (node.clone(), abi.clone(), shutdown.clone());
                    sessions.spawn(async move {
                        if let Err(e) = session(stream, node, &abi, stop).await {
                            tracing::debug!(%peer, error = %e, "SHiP session ended");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "SHiP accept failed"),
            },
            _ = crate::node::stopped(&mut shutdown) => break,
        }
    }
    sessions.shutdown().await;
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("{0}")]
    Chain(#[from] ChainError),
    #[error("bad request: {0}")]
    Request(String),
}

#[derive(Debug)]
struct Stream {
    req: GetBlocksRequestV0,
    next: u32,
    unacked: u32,
    /// Blocks sent (number → id), for fork detection.
    sent: BTreeMap<u32, Checksum256>,
}

async fn session(
    stream: TcpStream,
    node: Arc<Node>,
    abi: &str,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SessionError> {
    let mut ws = tokio_tungstenite::accept_async(stream).await?;
    ws.send(Message::Text(abi.to_owned().into())).await?;
    let mut head_rx = node.subscribe_head();
    let mut blocks: Option<Stream> = None;
    loop {
        if let Some(s) = blocks.as_mut() {
            rewind_on_fork(&node, s)?;
            while let Some(result) = next_result(&node, s)? {
                ws.send(Message::Binary(ShipResult::Blocks(result).packed().into()))
                    .await?;
            }
        }
        tokio::select! {
            msg = ws.next() => {
                let data = match msg {
                    None | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Binary(data))) => data,
                    Some(Ok(_)) => continue,
                };
                let request = Request::unpacked(&data).map_err(|e| SessionError::Request(e.to_string()))?;
                match request {
                    Request::GetStatus(_) => {
                        let status = status(&node)?;
                        ws.send(Message::Binary(ShipResult::Status(status).packed().into())).await?;
                    }
                    Request::GetBlocks(req) => blocks = Some(start(&node, req)?),
                    Request::GetBlocksAck(ack) => {
                        if let Some(s) = blocks.as_mut() {
                            s.unacked = s.unacked.saturating_sub(ack.num_messages);
                        }
                    }
                }
            }
            changed = head_rx.changed() => if changed.is_err() { return Ok(()) },
            _ = crate::node::stopped(&mut shutdown) => {
                let _ = ws.close(None).await;
                return Ok(());
            }
        }
    }
}

fn positions(node: &Node) -> Result<(BlockPosition, BlockPosition), ChainError> {
    node.with(|i| {
        let head = i.chain.head();
        let lib = i.chain.block(i.chain.lib_num()).unwrap_or(head);
        (
            BlockPosition {
                block_num: head.num,
                block_id: head.id,
            },
            BlockPosition {
                block_num: lib.num,
                block_id: lib.id,
            },
        )
    })
}

fn status(node: &Node) -> Result<GetStatusResultV0, ChainError> {
    let (head, lib) = positions(node)?;
    let chain_id = node.with(|i| i.chain.params().chain_id)?;
    Ok(GetStatusResultV0 {
        head,
        last_irreversible: lib,
        trace_begin_block: 1,
        trace_end_block: head.block_num + 1,
        chain_state_begin_block: 1,
        chain_state_end_block: head.block_num + 1,
        chain_id: chain::bytes::BinaryExtension(Some(chain_id)),
    })
}

/// A new `get_blocks`: matching `have_positions` are kept, the first mismatch moves the start.
fn start(node: &Node, mut req: GetBlocksRequestV0) -> Result<Stream, ChainError> {
    let mut sent = BTreeMap::new();
    node.with(|i| {
        for p in &req.have_positions {
            if p.block_num >= req.start_block_num {
                continue;
            }
            match i.chain.block(p.block_num) {
                Some(b) if b.id == p.block_id => {
                    sent.insert(p.block_num, p.block_id);
                }
                _ => req.start_block_num = req.start_block_num.min(p.block_num),
            }
        }
    })?;
    sent.retain(|n, _| *n < req.start_block_num);
    let next = req.start_block_num.max(1);
    Ok(Stream {
        req,
        next,
        unacked: 0,
        sent,
    })
}

/// Blocks already sent whose id changed (or that vanished) are sent again.
fn rewind_on_fork(node: &Node, s: &mut Stream) -> Result<(), ChainError> {
    let changed = node.with(|i| {
        s.sent
            .iter()
            .rev()
            .take_while(|(n, _)| **n > i.chain.lib_num().saturating_sub(1))
            .filter(|(n, id)| i.chain.block(**n).is_none_or(|b| b.id != **id))
            .map(|(n, _)| *n)
            .min()
    })?;
    if let Some(from) = changed {
        s.sent.retain(|n, _| *n < from);
        s.next = s.next.min(from);
    }
    Ok(())
}

/// The next block result if the window, the range and the chain allow one.
fn next_result(node: &Node, s: &mut Stream) -> Result<Option<GetBlocksResultV0>, ChainError> {
    if s.unacked >= s.req.max_messages_in_flight || s.next >= s.req.end_block_num {
        return Ok(None);
    }
    let (head, lib) = positions(node)?;
    let limit = if s.req.irreversible_only {
        lib.block_num
    } else {
        head.block_num
    };
    if s.next > limit {
        return Ok(None);
    }
    let num = s.next;
    let record = node.read_block(num)?;
    let prev = node.with(|i| {
        num.checked_sub(1)
            .and_then(|p| i.chain.block(p))
            .map(|b| BlockPosition {
                block_num: b.num,
                block_id: b.id,
            })
    })?;
    let pick = |want: bool, b: Bytes| want.then_some(b);
    let result = GetBlocksResultV0 {
        head,
        last_irreversible: lib,
        this_block: Some(BlockPosition {
            block_num: num,
            block_id: record.id,
        }),
        prev_block: prev,
        block: pick(s.req.fetch_block, record.block),
        traces: pick(s.req.fetch_traces, record.traces),
        deltas: pick(s.req.fetch_deltas, record.deltas),
    };
    s.sent.insert(num, record.id);
    let lib_num = lib.block_num;
    s.sent.retain(|n, _| *n + 1 >= lib_num);
    s.next += 1;
    s.unacked += 1;
    Ok(Some(result))
}
