//! The SHiP block stream: `get_blocks` with a bounded window, exactly one ack per received
//! message, fork events, and reconnects that resume with `have_positions`.

use std::collections::VecDeque;
use std::time::Duration;

use crate::ship::block::ShipBlock;
use crate::ship::client::{ShipClient, ShipConnectOptions, ShipError};
use crate::ship::types::{
    BlockPosition, GetBlocksAckRequestV0, GetBlocksRequestV0, GetBlocksResultV0, Request,
    ShipResult,
};

/// Backoff between reconnect attempts (doubling from `initial` up to `max`).
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Consecutive failed attempts before giving up; `None` retries forever.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

/// What to stream.
#[derive(Debug, Clone)]
pub struct ShipStreamConfig {
    pub url: String,
    pub start_block_num: u32,
    /// Exclusive; `u32::MAX` streams forever.
    pub end_block_num: u32,
    /// Window size: results the node may send before we ack (at least 1).
    pub max_messages_in_flight: u32,
    pub irreversible_only: bool,
    pub fetch_block: bool,
    pub fetch_traces: bool,
    pub fetch_deltas: bool,
    pub connect: ShipConnectOptions,
    pub reconnect: ReconnectPolicy,
    /// Cap on the tracked LIB..head positions sent as `have_positions` on reconnect.
    pub max_positions: usize,
}

impl ShipStreamConfig {
    /// Everything fetched, head (reversible) blocks, window 32, forever.
    pub fn new(url: impl Into<String>, start_block_num: u32) -> Self {
        ShipStreamConfig {
            url: url.into(),
            start_block_num,
            end_block_num: u32::MAX,
            max_messages_in_flight: 32,
            irreversible_only: false,
            fetch_block: true,
            fetch_traces: true,
            fetch_deltas: true,
            connect: ShipConnectOptions::default(),
            reconnect: ReconnectPolicy::default(),
            max_positions: 4096,
        }
    }
}

/// What the stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum ShipEvent {
    /// The node switched forks: discard everything at or above `from_block_num`; the next event
    /// is the replacement block `from_block_num`.
    Fork {
        from_block_num: u32,
    },
    Block(Box<ShipBlock>),
    /// A result without `this_block` (head/LIB news only).
    Progress {
        head: BlockPosition,
        last_irreversible: BlockPosition,
    },
    /// The connection dropped and was re-established; the stream resumes at `start_block_num`.
    Reconnected {
        attempts: u32,
        start_block_num: u32,
        have_positions: usize,
    },
}

/// A `get_blocks` session that survives dropped connections.
///
/// - **Flow control:** at most `max_messages_in_flight` results are unacked; each received result
///   is acked exactly once, in batches of half the window or whenever the stream would otherwise
///   wait on the node (so the node never stalls on us). Acks of a dropped session are not resent.
/// - **Forks:** a block numbered at or below the last delivered (or last held) block yields
///   [`ShipEvent::Fork`] first; the tracked positions are rewound accordingly.
/// - **Reconnects:** transport failures (closed socket, I/O error, read timeout) reconnect with
///   exponential backoff and a new `get_blocks` that starts after the last delivered block and
///   carries the tracked LIB..head positions as `have_positions`; decode/protocol errors are
///   returned to the caller (the next call reconnects).
#[derive(Debug)]
pub struct ShipBlockStream {
    config: ShipStreamConfig,
    client: Option<ShipClient>,
    /// Delivered blocks from LIB to head (resume positions).
    positions: VecDeque<BlockPosition>,
    last_block_num: Option<u32>,
    /// `start_block_num` of the next session: after the last delivered block.
    next_start: u32,
    /// Results received in this session and not yet acked.
    unacked: u32,
    session_received: u64,
    session_acked: u64,
    pending: Option<ShipEvent>,
    finished: bool,
    protocol_abi: Option<String>,
}

impl ShipBlockStream {
    /// Connects (once, no retry) and starts streaming. `have_positions` are the blocks the caller
    /// already holds, LIB..head; the stream starts at `config.start_block_num`.
    pub async fn connect(
        config: ShipStreamConfig,
        have_positions: Vec<BlockPosition>,
    ) -> Result<Self, ShipError> {
        let mut stream = ShipBlockStream {
            positions: have_positions.into_iter().collect(),
            last_block_num: None,
            next_start: config.start_block_num,
            client: None,
            unacked: 0,
            session_received: 0,
            session_acked: 0,
            pending: None,
            finished: false,
            protocol_abi: None,
            config,
        };
        stream.trim_positions(None);
        stream.open_session().await?;
        Ok(stream)
    }

    /// The protocol ABI text of the current (or last) connection.
    pub fn protocol_abi(&self) -> Option<&str> {
        self.protocol_abi.as_deref()
    }

    /// Positions that would be sent as `have_positions` on a reconnect.
    pub fn have_positions(&self) -> Vec<BlockPosition> {
        self.positions.iter().copied().collect()
    }

    /// Replaces the resume positions (e.g. with what the caller actually persisted, LIB..head).
    /// Takes effect on the next reconnect, which then starts after the last of them.
    pub fn set_have_positions(&mut self, positions: Vec<BlockPosition>) {
        self.positions = positions.into_iter().collect();
        if let Some(last) = self.positions.back() {
            self.next_start = last.block_num.saturating_add(1);
            self.last_block_num = Some(last.block_num);
        }
        self.trim_positions(None);
    }

    /// Results received / acked on the current connection.
    pub fn session_counts(&self) -> (u64, u64) {
        (self.session_received, self.session_acked)
    }

    /// The next event; `Ok(None)` once `end_block_num` is reached (all acks sent).
    pub async fn next(&mut self) -> Result<Option<ShipEvent>, ShipError> {
        loop {
            if let Some(event) = self.pending.take() {
                return Ok(Some(event));
            }
            if self.finished {
                if let Err(e) = self.flush_acks().await {
                    tracing::debug!(error = %e, "SHiP final ack failed");
                }
                return Ok(None);
            }
            if self.client.is_none() {
                let attempts = self.reconnect().await?;
                return Ok(Some(ShipEvent::Reconnected {
                    attempts,
                    start_block_num: self.resume_start(),
                    have_positions: self.positions.len(),
                }));
            }
            match self.receive().await {
                Ok(ShipResult::Blocks(result)) => {
                    if let Some(event) = self.on_blocks_result(result)? {
                        return Ok(Some(event));
                    }
                }
                Ok(ShipResult::Status(_)) => {
                    tracing::warn!("SHiP sent get_status_result_v0 during a block stream; ignored");
                }
                Err(e) if e.is_connection_error() => {
                    tracing::warn!(error = %e, url = %self.config.url, "SHiP connection lost; reconnecting");
                    self.drop_session();
                }
                Err(e) => {
                    self.drop_session();
                    return Err(e);
                }
            }
        }
    }

    /// Reads one result, acking before blocking so the node never waits on us.
    async fn receive(&mut self) -> Result<ShipResult, ShipError> {
        let ready = match self.client.as_mut() {
            Some(client) => client.try_recv(),
            None => return Err(ShipError::Closed),
        };
        let result = match ready {
            Some(r) => r?,
            None => {
                self.flush_acks().await?;
                match self.client.as_mut() {
                    Some(client) => client.recv().await?,
                    None => return Err(ShipError::Closed),
                }
            }
        };
        if matches!(result, ShipResult::Blocks(_)) {
            self.unacked += 1;
            self.session_received += 1;
            if self.unacked >= self.ack_batch() {
                self.flush_acks().await?;
            }
        }
        Ok(result)
    }

    fn ack_batch(&self) -> u32 {
        (self.window() / 2).max(1)
    }

    fn window(&self) -> u32 {
        self.config.max_messages_in_flight.max(1)
    }

    async fn flush_acks(&mut self) -> Result<(), ShipError> {
        if self.unacked == 0 {
            return Ok(());
        }
        let num_messages = self.unacked;
        let client = self.client.as_mut().ok_or(ShipError::Closed)?;
        client
            .send(&Request::GetBlocksAck(GetBlocksAckRequestV0 {
                num_messages,
            }))
            .await?;
        self.unacked = 0;
        self.session_acked += u64::from(num_messages);
        Ok(())
    }

    fn on_blocks_result(
        &mut self,
        result: GetBlocksResultV0,
    ) -> Result<Option<ShipEvent>, ShipError> {
        let (head, last_irreversible) = (result.head, result.last_irreversible);
        let Some(block) = ShipBlock::decode(result)? else {
            return Ok(Some(ShipEvent::Progress {
                head,
                last_irreversible,
            }));
        };
        let num = block.this_block.block_num;
        let fork = self.last_block_num.is_some_and(|last| num <= last)
            || self.positions.back().is_some_and(|p| num <= p.block_num);
        self.last_block_num = Some(num);
        self.next_start = num.saturating_add(1);
        if fork {
            self.positions.retain(|p| p.block_num < num);
        }
        self.positions.push_back(block.this_block);
        self.trim_positions(Some(block.last_irreversible.block_num));
        if num.saturating_add(1) >= self.config.end_block_num {
            self.finished = true;
        }
        let event = ShipEvent::Block(Box::new(block));
        if fork {
            tracing::info!(from_block_num = num, "SHiP fork: node rewound");
            self.pending = Some(event);
            return Ok(Some(ShipEvent::Fork {
                from_block_num: num,
            }));
        }
        Ok(Some(event))
    }

    /// Keeps LIB..head and at most `max_positions` entries.
    fn trim_positions(&mut self, lib: Option<u32>) {
        if let Some(lib) = lib {
            while self.positions.len() > 1
                && self.positions.front().is_some_and(|p| p.block_num < lib)
            {
                self.positions.pop_front();
            }
        }
        while self.positions.len() > self.config.max_positions.max(1) {
            self.positions.pop_front();
        }
    }

    fn resume_start(&self) -> u32 {
        self.next_start
    }

    fn drop_session(&mut self) {
        // Unacked results of a dead session cannot be acked; a new session starts a new window.
        self.client = None;
        self.unacked = 0;
    }

    async fn open_session(&mut self) -> Result<(), ShipError> {
        let mut client = ShipClient::connect(&self.config.url, &self.config.connect).await?;
        let request = GetBlocksRequestV0 {
            start_block_num: self.resume_start(),
            end_block_num: self.config.end_block_num,
            max_messages_in_flight: self.window(),
            have_positions: self.have_positions(),
            irreversible_only: self.config.irreversible_only,
            fetch_block: self.config.fetch_block,
            fetch_traces: self.config.fetch_traces,
            fetch_deltas: self.config.fetch_deltas,
        };
        tracing::info!(
            start = request.start_block_num,
            end = request.end_block_num,
            window = request.max_messages_in_flight,
            have_positions = request.have_positions.len(),
            "SHiP get_blocks"
        );
        client.send(&Request::GetBlocks(request)).await?;
        self.protocol_abi = Some(client.protocol_abi().to_owned());
        self.client = Some(client);
        self.unacked = 0;
        self.session_received = 0;
        self.session_acked = 0;
        Ok(())
    }

    /// Reconnects with exponential backoff; returns the number of attempts it took.
    async fn reconnect(&mut self) -> Result<u32, ShipError> {
        let policy = self.config.reconnect.clone();
        let mut delay = policy.initial_backoff;
        let mut attempts = 0u32;
        loop {
            tokio::time::sleep(delay).await;
            attempts += 1;
            match self.open_session().await {
                Ok(()) => return Ok(attempts),
                Err(e) if e.is_connection_error() => {
                    if policy.max_attempts.is_some_and(|max| attempts >= max) {
                        return Err(ShipError::ReconnectExhausted {
                            attempts,
                            last: Box::new(e),
                        });
                    }
                    tracing::warn!(attempts, error = %e, "SHiP reconnect failed");
                    delay = (delay * 2).min(policy.max_backoff);
                }
                Err(e) => return Err(e),
            }
        }
    }
}
