//! SHiP client over real loopback websockets against a small in-test SHiP peer (our own types on
//! the server side): status, windowed streaming with exact acks, forks, reconnect with
//! `have_positions`, malformed frames.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chain::bytes::{Bytes, Pack, Unpack, VarUint32};
use chain::keys::PrivateKey;
use chain::ship::*;
use chain::time::BlockTimestamp;
use chain::{Checksum256, Name};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Deliberately not the node's ABI text: cosmetic differences must not stop the client.
const ABI_TEXT: &str = r#"{"version":"eosio::abi/1.1","structs":[],"types":[],"variants":[]}"#;
const STEP: Duration = Duration::from_secs(10);

fn n(s: &str) -> Name {
    Name::parse(s).expect("name")
}

/// Block id: number in the first bytes, fork tag in the last.
fn pos(num: u32, fork: u8) -> BlockPosition {
    let mut id = [0u8; 32];
    id[..4].copy_from_slice(&num.to_be_bytes());
    id[31] = fork;
    BlockPosition {
        block_num: num,
        block_id: Checksum256(id),
    }
}

struct Peer {
    ws: WebSocketStream<TcpStream>,
}

impl Peer {
    async fn recv(&mut self) -> Option<Request> {
        loop {
            match tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("peer read timed out")?
            {
                Ok(Message::Binary(data)) => {
                    return Some(Request::unpacked(&data).expect("client request decodes"))
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    async fn send(&mut self, result: &ShipResult) {
        self.ws
            .send(Message::Binary(result.packed().into()))
            .await
            .expect("peer send");
    }

    async fn get_blocks(&mut self) -> GetBlocksRequestV0 {
        match self.recv().await {
            Some(Request::GetBlocks(r)) => r,
            other => panic!("expected get_blocks, got {other:?}"),
        }
    }
}

/// Accepts connections forever; each is handed (index, peer) after the ABI text frame.
async fn spawn_server<F, Fut>(handler: F) -> String
where
    F: Fn(usize, Peer) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for index in 0.. {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let mut ws = tokio_tungstenite::accept_async(tcp)
                .await
                .expect("ws accept");
            ws.send(Message::Text(ABI_TEXT.into()))
                .await
                .expect("abi frame");
            tokio::spawn(handler(index, Peer { ws }));
        }
    });
    format!("ws://{addr}")
}

fn signed_block(p: BlockPosition, previous: Checksum256) -> SignedBlock {
    let key = PrivateKey::from_bytes(&[7u8; 32]).expect("key");
    SignedBlock {
        header: SignedBlockHeader {
            header: BlockHeader {
                timestamp: BlockTimestamp::from_slot(1_000 + p.block_num),
                producer: n("eosio"),
                confirmed: 0,
                previous,
                transaction_mroot: Checksum256::default(),
                action_mroot: Checksum256::default(),
                schedule_version: 1,
                new_producers: None,
                header_extensions: vec![],
            },
            producer_signature: key.sign_digest(&p.block_id),
        },
        transactions: vec![TransactionReceipt {
            header: TransactionReceiptHeader {
                status: 0,
                cpu_usage_us: 100,
                net_usage_words: VarUint32(12),
            },
            trx: TransactionVariant::Id(Checksum256([3; 32])),
        }],
        block_extensions: vec![],
    }
}

fn trace(status: u8, num: u32) -> TransactionTrace {
    TransactionTrace::V0(TransactionTraceV0 {
        id: Checksum256([status; 32]),
        status,
        cpu_usage_us: 100,
        net_usage_words: VarUint32(12),
        elapsed: 5,
        net_usage: 96,
        scheduled: false,
        action_traces: vec![ActionTrace::V0(ActionTraceV0 {
            action_ordinal: VarUint32(1),
            creator_action_ordinal: VarUint32(0),
            receipt: None,
            receiver: n("soviet"),
            act: Action {
                account: n("soviet"),
                name: n("votefor"),
                authorization: vec![],
                data: Bytes(num.packed()),
            },
            context_free: false,
            elapsed: 1,
            console: String::new(),
            account_ram_deltas: vec![],
            except: None,
            error_code: None,
        })],
        account_ram_delta: None,
        except: (status != 0).then(|| "assertion failure".to_owned()),
        error_code: None,
        failed_dtrx_trace: None,
        partial: None,
    })
}

fn deltas(num: u32) -> Vec<TableDelta> {
    let row = ContractRow::V0(ContractRowV0 {
        code: n("soviet"),
        scope: n("coop"),
        table: n("decisions"),
        primary_key: u64::from(num),
        payer: n("coop"),
        value: Bytes(vec![num as u8]),
    });
    let account = AccountRow::V0(AccountV0 {
        name: n("soviet"),
        creation_date: BlockTimestamp::from_slot(1),
        abi: Bytes(vec![0x0e]),
    });
    vec![
        TableDelta::V0(TableDeltaV0 {
            name: "contract_row".into(),
            rows: vec![Row {
                present: true,
                data: Bytes(row.packed()),
            }],
        }),
        TableDelta::V0(TableDeltaV0 {
            name: "account".into(),
            rows: vec![Row {
                present: false,
                data: Bytes(account.packed()),
            }],
        }),
    ]
}

fn block_result(
    p: BlockPosition,
    prev: Option<BlockPosition>,
    head: BlockPosition,
    lib: BlockPosition,
) -> ShipResult {
    let previous = prev.map(|b| b.block_id).unwrap_or_default();
    ShipResult::Blocks(GetBlocksResultV0 {
        head,
        last_irreversible: lib,
        this_block: Some(p),
        prev_block: prev,
        block: Some(Bytes(signed_block(p, previous).packed())),
        traces: Some(Bytes(
            vec![trace(0, p.block_num), trace(1, p.block_num)].packed(),
        )),
        deltas: Some(Bytes(deltas(p.block_num).packed())),
    })
}

#[derive(Debug, Default, Clone)]
struct Stats {
    sent: u64,
    acked: u64,
    max_in_flight: u64,
    over_acked: bool,
}

/// Serves `blocks` in order, never more than the client's window unacked; then waits for the
/// final acks unless `drop_after` is set (then drops the socket right after sending).
async fn serve(
    peer: &mut Peer,
    request: &GetBlocksRequestV0,
    blocks: &[BlockPosition],
    lib: BlockPosition,
    drop_after: bool,
    stats: &Mutex<Stats>,
) {
    let window = u64::from(request.max_messages_in_flight);
    let head = *blocks.last().expect("blocks");
    let mut next = 0usize;
    let (mut sent, mut acked) = (0u64, 0u64);
    loop {
        while sent - acked < window && next < blocks.len() {
            let prev = (next > 0).then(|| blocks[next - 1]);
            peer.send(&block_result(blocks[next], prev, head, lib))
                .await;
            next += 1;
            sent += 1;
            let mut s = stats.lock().expect("stats");
            s.sent += 1;
            s.max_in_flight = s.max_in_flight.max(sent - acked);
        }
        if drop_after && next == blocks.len() {
            return;
        }
        if next == blocks.len() && acked == sent {
            return;
        }
        match peer.recv().await {
            Some(Request::GetBlocksAck(a)) => {
                acked += u64::from(a.num_messages);
                let mut s = stats.lock().expect("stats");
                s.acked += u64::from(a.num_messages);
                s.over_acked |= acked > sent;
            }
            Some(other) => panic!("unexpected request {other:?}"),
            None => return,
        }
    }
}

fn config(url: &str, start: u32, end: u32, window: u32) -> ShipStreamConfig {
    let mut c = ShipStreamConfig::new(url, start);
    c.end_block_num = end;
    c.max_messages_in_flight = window;
    c.connect.read_timeout = STEP;
    c.reconnect = ReconnectPolicy {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_attempts: Some(20),
    };
    c
}

/// Stats once the server has seen `acked` acks (the client's last ack may still be in flight).
async fn settled(stats: &Mutex<Stats>, acked: u64) -> Stats {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let s = stats.lock().expect("stats").clone();
        if s.acked >= acked || tokio::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn next(stream: &mut ShipBlockStream) -> Option<ShipEvent> {
    tokio::time::timeout(STEP, stream.next())
        .await
        .expect("stream stalled")
        .expect("stream error")
}

#[tokio::test]
async fn get_status_and_protocol_abi() {
    let url = spawn_server(|_, mut peer| async move {
        assert!(matches!(peer.recv().await, Some(Request::GetStatus(_))));
        peer.send(&ShipResult::Status(GetStatusResultV0 {
            head: pos(20, 0),
            last_irreversible: pos(18, 0),
            trace_begin_block: 2,
            trace_end_block: 21,
            chain_state_begin_block: 2,
            chain_state_end_block: 21,
            chain_id: chain::bytes::BinaryExtension(Some(Checksum256([0xcc; 32]))),
        }))
        .await;
        let _ = peer.recv().await;
    })
    .await;
    let mut client = ShipClient::connect(&url, &ShipConnectOptions::default())
        .await
        .expect("connect");
    assert_eq!(client.protocol_abi(), ABI_TEXT);
    let status = client.get_status().await.expect("status");
    assert_eq!(status.head, pos(20, 0));
    assert_eq!(status.last_irreversible.block_num, 18);
    assert_eq!(status.chain_id.0, Some(Checksum256([0xcc; 32])));
    client.close().await;
}

#[tokio::test]
async fn stream_respects_the_window_and_acks_exactly_what_it_received() {
    const N: u32 = 25;
    const WINDOW: u32 = 4;
    let stats = Arc::new(Mutex::new(Stats::default()));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<GetBlocksRequestV0>();
    let done_tx = Arc::new(Mutex::new(Some(done_tx)));
    let server_stats = stats.clone();
    let url = spawn_server(move |_, mut peer| {
        let stats = server_stats.clone();
        let done_tx = done_tx.clone();
        async move {
            let request = peer.get_blocks().await;
            let blocks: Vec<BlockPosition> = (request.start_block_num..request.end_block_num)
                .map(|b| pos(b, 0))
                .collect();
            serve(&mut peer, &request, &blocks, pos(1, 0), false, &stats).await;
            if let Some(tx) = done_tx.lock().expect("tx").take() {
                let _ = tx.send(request);
            }
        }
    })
    .await;

    let mut stream = ShipBlockStream::connect(config(&url, 1, 1 + N, WINDOW), vec![])
        .await
        .expect("connect");
    let mut nums = Vec::new();
    while let Some(event) = next(&mut stream).await {
        let ShipEvent::Block(block) = event else {
            panic!("unexpected {event:?}")
        };
        nums.push(block.this_block.block_num);
        let header = block.header.as_ref().expect("header");
        assert_eq!(header.id, block.this_block.block_id);
        assert_eq!(header.producer, n("eosio"));
        assert_eq!(
            header.timestamp,
            BlockTimestamp::from_slot(1_000 + block.this_block.block_num)
        );
        assert_eq!(block.traces.len(), 2);
        let executed: Vec<_> = block.executed_traces().collect();
        assert_eq!(executed.len(), 1);
        assert_eq!(executed[0].v0().status, 0);
        let rows = block.contract_rows().expect("contract rows");
        assert_eq!(rows.len(), 1);
        assert!(rows[0].present);
        assert_eq!(
            rows[0].row.primary_key,
            u64::from(block.this_block.block_num)
        );
        let accounts = block.accounts().expect("accounts");
        assert_eq!(accounts.len(), 1);
        assert!(!accounts[0].present);
        assert_eq!(accounts[0].row.abi, Bytes(vec![0x0e]));
    }
    assert_eq!(nums, (1..=N).collect::<Vec<_>>());
    let request = tokio::time::timeout(STEP, done_rx)
        .await
        .expect("server finished")
        .expect("request");
    assert_eq!(request.max_messages_in_flight, WINDOW);
    assert!(request.have_positions.is_empty());
    assert!(
        request.fetch_block
            && request.fetch_traces
            && request.fetch_deltas
            && !request.irreversible_only
    );
    let s = stats.lock().expect("stats").clone();
    assert_eq!(s.sent, u64::from(N));
    assert_eq!(s.acked, s.sent, "acks must total the messages received");
    assert!(s.max_in_flight <= u64::from(WINDOW));
    assert!(!s.over_acked);
    assert_eq!(stream.session_counts(), (u64::from(N), u64::from(N)));
}

#[tokio::test]
async fn fork_is_reported_before_the_replacement_block() {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let server_stats = stats.clone();
    let url = spawn_server(move |_, mut peer| {
        let stats = server_stats.clone();
        async move {
            let request = peer.get_blocks().await;
            // 1..=5 on fork 0, then the node rewinds to 4 on fork 1.
            let mut blocks: Vec<BlockPosition> = (1..=5).map(|b| pos(b, 0)).collect();
            blocks.extend((4..=6).map(|b| pos(b, 1)));
            serve(&mut peer, &request, &blocks, pos(1, 0), false, &stats).await;
        }
    })
    .await;
    let mut stream = ShipBlockStream::connect(config(&url, 1, 7, 3), vec![])
        .await
        .expect("connect");
    let mut events = Vec::new();
    while let Some(event) = next(&mut stream).await {
        events.push(match event {
            ShipEvent::Block(b) => format!(
                "b{}/{}",
                b.this_block.block_num, b.this_block.block_id.0[31]
            ),
            ShipEvent::Fork { from_block_num } => format!("fork{from_block_num}"),
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(
        events,
        ["b1/0", "b2/0", "b3/0", "b4/0", "b5/0", "fork4", "b4/1", "b5/1", "b6/1"]
    );
    assert_eq!(
        stream.have_positions(),
        vec![
            pos(1, 0),
            pos(2, 0),
            pos(3, 0),
            pos(4, 1),
            pos(5, 1),
            pos(6, 1)
        ]
    );
    let s = settled(&stats, 8).await;
    assert_eq!((s.sent, s.acked), (8, 8));
    assert!(s.max_in_flight <= 3 && !s.over_acked);
}

#[tokio::test]
async fn reconnect_resumes_with_have_positions() {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let requests = Arc::new(Mutex::new(Vec::<GetBlocksRequestV0>::new()));
    let (server_stats, server_requests) = (stats.clone(), requests.clone());
    let url = spawn_server(move |index, mut peer| {
        let (stats, requests) = (server_stats.clone(), server_requests.clone());
        async move {
            let request = peer.get_blocks().await;
            requests.lock().expect("requests").push(request.clone());
            if index == 0 {
                // Three blocks, then the socket drops without a close frame.
                let blocks: Vec<BlockPosition> = (1..=3).map(|b| pos(b, 0)).collect();
                serve(&mut peer, &request, &blocks, pos(2, 0), true, &stats).await;
                drop(peer);
            } else {
                let blocks: Vec<BlockPosition> = (request.start_block_num..request.end_block_num)
                    .map(|b| pos(b, 0))
                    .collect();
                serve(&mut peer, &request, &blocks, pos(4, 0), false, &stats).await;
            }
        }
    })
    .await;
    let mut stream = ShipBlockStream::connect(config(&url, 1, 7, 8), vec![])
        .await
        .expect("connect");
    let mut nums = Vec::new();
    let mut reconnects = 0;
    while let Some(event) = next(&mut stream).await {
        match event {
            ShipEvent::Block(b) => nums.push(b.this_block.block_num),
            ShipEvent::Reconnected {
                start_block_num,
                have_positions,
                ..
            } => {
                reconnects += 1;
                assert_eq!(start_block_num, 4);
                assert_eq!(have_positions, 2);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(nums, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(reconnects, 1);
    let requests = requests.lock().expect("requests").clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].start_block_num, 1);
    assert_eq!(requests[1].start_block_num, 4);
    // LIB was block 2: positions LIB..head.
    assert_eq!(requests[1].have_positions, vec![pos(2, 0), pos(3, 0)]);
    assert_eq!(requests[1].max_messages_in_flight, 8);
    let s = stats.lock().expect("stats").clone();
    assert!(!s.over_acked);
    // The second session acked exactly its three blocks.
    assert_eq!(stream.session_counts(), (3, 3));
}

#[tokio::test]
async fn initial_have_positions_are_sent() {
    let requests = Arc::new(Mutex::new(Vec::<GetBlocksRequestV0>::new()));
    let server_requests = requests.clone();
    let url = spawn_server(move |_, mut peer| {
        let requests = server_requests.clone();
        async move {
            let request = peer.get_blocks().await;
            requests.lock().expect("requests").push(request.clone());
            let stats = Mutex::new(Stats::default());
            serve(
                &mut peer,
                &request,
                &[pos(11, 0)],
                pos(10, 0),
                false,
                &stats,
            )
            .await;
        }
    })
    .await;
    let held = vec![pos(9, 0), pos(10, 0)];
    let mut stream = ShipBlockStream::connect(config(&url, 11, 12, 2), held.clone())
        .await
        .expect("connect");
    assert!(
        matches!(next(&mut stream).await, Some(ShipEvent::Block(b)) if b.this_block.block_num == 11)
    );
    assert!(next(&mut stream).await.is_none());
    let requests = requests.lock().expect("requests").clone();
    assert_eq!(requests[0].have_positions, held);
    assert_eq!(requests[0].start_block_num, 11);
}

#[tokio::test]
async fn malformed_frames_are_errors_not_panics() {
    // 0: truncated result, 1: unknown variant index, 2: valid envelope with a garbage trace
    // payload, 3: a second text frame.
    let url = spawn_server(|index, mut peer| async move {
        let _ = peer.get_blocks().await;
        let frame = match index % 4 {
            0 => Message::Binary(vec![1u8, 0xff].into()),
            1 => Message::Binary(vec![9u8, 0, 0].into()),
            2 => {
                let mut r = block_result(pos(1, 0), None, pos(1, 0), pos(1, 0));
                if let ShipResult::Blocks(b) = &mut r {
                    b.traces = Some(Bytes(vec![5, 0xff, 0xff]));
                }
                Message::Binary(r.packed().into())
            }
            _ => Message::Text("surprise".into()),
        };
        let _ = peer.ws.send(frame).await;
        let _ = peer.recv().await;
    })
    .await;
    for expected in ["decode", "decode", "decode-traces", "protocol"] {
        let mut c = config(&url, 1, 10, 4);
        c.reconnect.max_attempts = Some(1);
        let mut stream = ShipBlockStream::connect(c, vec![]).await.expect("connect");
        let err = tokio::time::timeout(STEP, stream.next())
            .await
            .expect("no stall")
            .expect_err("must fail");
        match (expected, &err) {
            ("decode", ShipError::Decode { what: "result", .. }) => {}
            (
                "decode-traces",
                ShipError::Decode {
                    what: "traces",
                    block_num: Some(1),
                    ..
                },
            ) => {}
            ("protocol", ShipError::Protocol(_)) => {}
            _ => panic!("{expected}: unexpected {err:?}"),
        }
    }
}

#[tokio::test]
async fn first_frame_must_be_text_and_dead_endpoints_fail_fast() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("ws");
        ws.send(Message::Binary(vec![0u8].into()))
            .await
            .expect("send");
        let _ = ws.next().await;
    });
    let err = ShipClient::connect(&format!("ws://{addr}"), &ShipConnectOptions::default())
        .await
        .expect_err("binary first frame");
    assert!(matches!(err, ShipError::Protocol(_)), "{err:?}");

    // Nothing listens on a freshly closed port.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let err = ShipClient::connect(&format!("ws://{closed}"), &ShipConnectOptions::default())
        .await
        .expect_err("refused");
    assert!(err.is_connection_error(), "{err:?}");
    assert!(matches!(
        ShipClient::connect("http://x", &ShipConnectOptions::default()).await,
        Err(ShipError::BadUrl { .. })
    ));
}

#[tokio::test]
async fn a_silent_node_triggers_a_reconnect() {
    let requests = Arc::new(Mutex::new(Vec::<GetBlocksRequestV0>::new()));
    let server_requests = requests.clone();
    let url = spawn_server(move |index, mut peer| {
        let requests = server_requests.clone();
        async move {
            let request = peer.get_blocks().await;
            requests.lock().expect("requests").push(request.clone());
            let stats = Mutex::new(Stats::default());
            if index == 0 {
                serve(&mut peer, &request, &[pos(1, 0)], pos(1, 0), true, &stats).await;
                // Then say nothing, holding the socket open.
                tokio::time::sleep(Duration::from_secs(30)).await;
            } else {
                serve(&mut peer, &request, &[pos(2, 0)], pos(1, 0), false, &stats).await;
            }
        }
    })
    .await;
    let mut c = config(&url, 1, 3, 4);
    c.connect.read_timeout = Duration::from_millis(200);
    let mut stream = ShipBlockStream::connect(c, vec![]).await.expect("connect");
    assert!(
        matches!(next(&mut stream).await, Some(ShipEvent::Block(b)) if b.this_block.block_num == 1)
    );
    assert!(matches!(
        next(&mut stream).await,
        Some(ShipEvent::Reconnected {
            start_block_num: 2,
            ..
        })
    ));
    assert!(
        matches!(next(&mut stream).await, Some(ShipEvent::Block(b)) if b.this_block.block_num == 2)
    );
    assert!(next(&mut stream).await.is_none());
    let requests = requests.lock().expect("requests").clone();
    assert_eq!(requests[1].have_positions, vec![pos(1, 0)]);
}
