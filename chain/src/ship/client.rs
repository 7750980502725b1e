//! Low-level SHiP websocket connection: connect, keep the protocol ABI text frame, send requests,
//! receive decoded results with timeouts. Flow control and reconnects live in `stream.rs`.

use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::bytes::{DecodeError, Pack, Unpack};
use crate::ship::types::{GetStatusRequestV0, GetStatusResultV0, Request, ShipResult};

/// Why a SHiP operation failed.
#[derive(Debug, Error)]
pub enum ShipError {
    #[error("invalid SHiP endpoint {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("connecting to {url} timed out after {timeout:?}")]
    ConnectTimeout { url: String, timeout: Duration },
    #[error("websocket error: {0}")]
    WebSocket(Box<tungstenite::Error>),
    #[error("the node closed the connection")]
    Closed,
    #[error("no message from the node within {0:?}")]
    ReadTimeout(Duration),
    #[error("SHiP protocol violation: {0}")]
    Protocol(String),
    #[error("cannot decode {what}{}: {source}", block_suffix(*.block_num))]
    Decode {
        what: &'static str,
        block_num: Option<u32>,
        #[source]
        source: DecodeError,
    },
    #[error("gave up after {attempts} reconnect attempts; last error: {last}")]
    ReconnectExhausted { attempts: u32, last: Box<ShipError> },
}

fn block_suffix(block_num: Option<u32>) -> String {
    block_num
        .map(|n| format!(" of block {n}"))
        .unwrap_or_default()
}

impl From<tungstenite::Error> for ShipError {
    fn from(e: tungstenite::Error) -> Self {
        match e {
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                ShipError::Closed
            }
            other => ShipError::WebSocket(Box::new(other)),
        }
    }
}

impl ShipError {
    /// True for transport failures after which reconnecting makes sense (as opposed to bad
    /// configuration or undecodable data).
    pub fn is_connection_error(&self) -> bool {
        match self {
            ShipError::ConnectTimeout { .. } | ShipError::Closed | ShipError::ReadTimeout(_) => {
                true
            }
            ShipError::WebSocket(e) => matches!(
                **e,
                tungstenite::Error::Io(_)
                    | tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::AlreadyClosed
                    | tungstenite::Error::Protocol(_)
                    | tungstenite::Error::Http(_)
            ),
            ShipError::BadUrl { .. }
            | ShipError::Protocol(_)
            | ShipError::Decode { .. }
            | ShipError::ReconnectExhausted { .. } => false,
        }
    }
}

/// Connection limits.
#[derive(Debug, Clone)]
pub struct ShipConnectOptions {
    /// TCP connect + websocket handshake + the ABI text frame.
    pub connect_timeout: Duration,
    /// Longest silence tolerated while waiting for a result.
    pub read_timeout: Duration,
    /// Largest websocket message accepted (a snapshot-started node's first block carries the
    /// whole state in its deltas, so this is generous).
    pub max_message_size: usize,
}

impl Default for ShipConnectOptions {
    fn default() -> Self {
        ShipConnectOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_message_size: 1 << 30,
        }
    }
}

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One websocket session with a SHiP endpoint.
#[derive(Debug)]
pub struct ShipClient {
    ws: WsStream,
    url: String,
    protocol_abi: String,
    read_timeout: Duration,
}

impl ShipClient {
    /// Connects to a `ws://` endpoint and reads the protocol ABI (the first, text, frame).
    pub async fn connect(url: &str, options: &ShipConnectOptions) -> Result<Self, ShipError> {
        if !url.starts_with("ws://") {
            return Err(ShipError::BadUrl {
                url: url.to_owned(),
                reason: "expected ws://host:port (SHiP endpoints are plain websockets)".into(),
            });
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(options.max_message_size))
            .max_frame_size(Some(options.max_message_size));
        let handshake = async {
            let (mut ws, _response) =
                tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
            let abi = loop {
                match ws.next().await {
                    None => return Err(ShipError::Closed),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Text(text))) => break text.as_str().to_owned(),
                    Some(Ok(Message::Binary(_))) => {
                        return Err(ShipError::Protocol(
                            "first frame is binary; expected the SHiP ABI as text".into(),
                        ))
                    }
                    Some(Ok(Message::Close(_))) => return Err(ShipError::Closed),
                    Some(Ok(_)) => continue,
                }
            };
            Ok((ws, abi))
        };
        let (ws, protocol_abi) = tokio::time::timeout(options.connect_timeout, handshake)
            .await
            .map_err(|_| ShipError::ConnectTimeout {
                url: url.to_owned(),
                timeout: options.connect_timeout,
            })??;
        check_protocol_abi(&protocol_abi)?;
        tracing::debug!(url, abi_len = protocol_abi.len(), "SHiP connected");
        Ok(ShipClient {
            ws,
            url: url.to_owned(),
            protocol_abi,
            read_timeout: options.read_timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SHiP ABI JSON the node sent on connect.
    pub fn protocol_abi(&self) -> &str {
        &self.protocol_abi
    }

    pub async fn send(&mut self, request: &Request) -> Result<(), ShipError> {
        self.ws
            .send(Message::Binary(request.packed().into()))
            .await?;
        Ok(())
    }

    /// Waits (up to the read timeout) for the next result.
    pub async fn recv(&mut self) -> Result<ShipResult, ShipError> {
        let timeout = self.read_timeout;
        loop {
            let next = tokio::time::timeout(timeout, self.ws.next())
                .await
                .map_err(|_| ShipError::ReadTimeout(timeout))?;
            if let Some(result) = decode_frame(next)? {
                return Ok(result);
            }
        }
    }

    /// A result that is already buffered, without waiting; `None` when nothing is ready.
    pub fn try_recv(&mut self) -> Option<Result<ShipResult, ShipError>> {
        loop {
            let next = self.ws.next().now_or_never()?;
            match decode_frame(next) {
                Ok(Some(result)) => return Some(Ok(result)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// `get_status_request_v0` → `get_status_result_v0`. Only valid before a block stream starts.
    pub async fn get_status(&mut self) -> Result<GetStatusResultV0, ShipError> {
        self.send(&Request::GetStatus(GetStatusRequestV0 {}))
            .await?;
        match self.recv().await? {
            ShipResult::Status(status) => Ok(status),
            ShipResult::Blocks(_) => Err(ShipError::Protocol(
                "expected get_status_result_v0, got get_blocks_result_v0".into(),
            )),
        }
    }

    /// Sends a close frame (best effort).
    pub async fn close(mut self) {
        if let Err(e) = self.ws.close(None).await {
            tracing::debug!(error = %e, "SHiP close");
        }
    }
}

/// Decodes one websocket item; `Ok(None)` for control frames that carry no result.
fn decode_frame(
    next: Option<Result<Message, tungstenite::Error>>,
) -> Result<Option<ShipResult>, ShipError> {
    match next {
        None => Err(ShipError::Closed),
        Some(Err(e)) => Err(e.into()),
        Some(Ok(Message::Binary(data))) => {
            ShipResult::unpacked(&data)
                .map(Some)
                .map_err(|source| ShipError::Decode {
                    what: "result",
                    block_num: None,
                    source,
                })
        }
        Some(Ok(Message::Text(_))) => Err(ShipError::Protocol(
            "unexpected text frame after the protocol ABI".into(),
        )),
        Some(Ok(Message::Close(_))) => Err(ShipError::Closed),
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(None),
    }
}

/// The ABI frame must be JSON; cosmetic or unexpected differences only produce warnings.
fn check_protocol_abi(text: &str) -> Result<(), ShipError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ShipError::Protocol(format!("the SHiP ABI frame is not JSON: {e}")))?;
    let problems =
        crate::ship::schema::compare_with_abi(&value, &crate::ship::types::ship_schema());
    if !problems.is_empty() {
        tracing::warn!(
            ?problems,
            "the node's SHiP ABI differs from the types this client decodes"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_frame_rejects_garbage_without_panicking() {
        let bad = Some(Ok(Message::Binary(vec![7u8, 1, 2].into())));
        assert!(matches!(decode_frame(bad), Err(ShipError::Decode { .. })));
        let truncated = Some(Ok(Message::Binary(vec![1u8, 5].into())));
        assert!(matches!(
            decode_frame(truncated),
            Err(ShipError::Decode { .. })
        ));
        assert!(matches!(decode_frame(None), Err(ShipError::Closed)));
        assert!(matches!(
            decode_frame(Some(Ok(Message::Ping(Vec::new().into())))),
            Ok(None)
        ));
    }
}
