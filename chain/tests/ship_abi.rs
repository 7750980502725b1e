//! Cross-checks our Rust SHiP types against the Leap 5 SHiP ABI (`../shared/coopos/ship/state_history.abi.json`):
//! same structs, bases, fields (name, order, type) and variants (members in wire order), plus
//! wire round trips and decoding our bytes with the ABI-driven codec.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use chain::bytes::{BinaryExtension, Bytes, Pack, Unpack, VarUint32};
use chain::ship::schema::{base_type_name, compare_with_abi, SchemaDef, BUILTIN_TYPES};
use chain::ship::*;
use chain::{Checksum256, Name};
use serde_json::Value;

/// Every SHiP ABI type we claim to implement; the test fails if one is missing on either side.
const CLAIMED: &[&str] = &[
    "request",
    "result",
    "get_status_request_v0",
    "get_status_result_v0",
    "get_blocks_request_v0",
    "get_blocks_ack_request_v0",
    "get_blocks_result_v0",
    "block_position",
    "signed_block",
    "signed_block_header",
    "block_header",
    "transaction_receipt",
    "transaction_receipt_header",
    "transaction_variant",
    "packed_transaction",
    "producer_schedule",
    "producer_key",
    "extension",
    "transaction_trace",
    "transaction_trace_v0",
    "partial_transaction",
    "partial_transaction_v0",
    "action_trace",
    "action_trace_v0",
    "action_trace_v1",
    "action_receipt",
    "action_receipt_v0",
    "action",
    "permission_level",
    "account_auth_sequence",
    "account_delta",
    "table_delta",
    "table_delta_v0",
    "row",
    "contract_row",
    "contract_row_v0",
    "contract_table",
    "contract_table_v0",
    "account",
    "account_v0",
    "account_metadata",
    "account_metadata_v0",
    "code_id",
    "permission",
    "permission_v0",
    "authority",
    "key_weight",
    "permission_level_weight",
    "wait_weight",
    "permission_link",
    "permission_link_v0",
];

struct ParsedAbi {
    aliases: BTreeMap<String, String>,
    structs: BTreeMap<String, (String, Vec<(String, String)>)>,
    variants: BTreeMap<String, Vec<String>>,
    raw: Value,
}

fn load_abi() -> Option<ParsedAbi> {
    let path = support::shared_file("coopos/ship/state_history.abi.json")?;
    let text = std::fs::read_to_string(&path).expect("read SHiP ABI");
    let raw: Value = serde_json::from_str(&text).expect("SHiP ABI is JSON");
    let s = |v: &Value| v.as_str().expect("ABI string").to_owned();
    let aliases = raw["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (s(&t["new_type_name"]), s(&t["type"])))
        .collect();
    let structs = raw["structs"]
        .as_array()
        .expect("structs")
        .iter()
        .map(|st| {
            let fields = st["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .map(|f| (s(&f["name"]), s(&f["type"])))
                .collect();
            (
                s(&st["name"]),
                (st["base"].as_str().unwrap_or("").to_owned(), fields),
            )
        })
        .collect();
    let variants = raw["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                s(&v["name"]),
                v["types"]
                    .as_array()
                    .expect("types")
                    .iter()
                    .map(s)
                    .collect(),
            )
        })
        .collect();
    Some(ParsedAbi {
        aliases,
        structs,
        variants,
        raw,
    })
}

impl ParsedAbi {
    /// Resolves ABI aliases (`transaction_id` → `checksum256`), keeping suffixes.
    fn resolve(&self, t: &str) -> String {
        let base = base_type_name(t);
        let suffix = &t[base.len()..];
        let mut name = base.to_owned();
        while let Some(target) = self.aliases.get(&name) {
            name = target.clone();
        }
        format!("{name}{suffix}")
    }

    /// Independent comparison of one of our definitions with the ABI (not the library's helper).
    fn mismatches(&self, def: &SchemaDef) -> Vec<String> {
        let mut out = Vec::new();
        match def {
            SchemaDef::Struct { name, base, fields } => match self.structs.get(*name) {
                None => out.push(format!("struct {name} not in the ABI")),
                Some((abi_base, abi_fields)) => {
                    if abi_base != base {
                        out.push(format!("{name}: base {abi_base:?} vs ours {base:?}"));
                    }
                    if abi_fields.len() != fields.len() {
                        out.push(format!(
                            "{name}: {} ABI fields vs {} ours",
                            abi_fields.len(),
                            fields.len()
                        ));
                    }
                    for (i, ((an, at), (on, ot))) in abi_fields.iter().zip(fields).enumerate() {
                        if an != on || self.resolve(at) != *ot {
                            out.push(format!(
                                "{name} field #{i}: ABI {an}: {at} vs ours {on}: {ot}"
                            ));
                        }
                    }
                }
            },
            SchemaDef::Variant { name, members } => match self.variants.get(*name) {
                None => out.push(format!("variant {name} not in the ABI")),
                Some(abi_members) => {
                    let ours: Vec<String> = members.iter().map(|(_, t)| t.clone()).collect();
                    let abi: Vec<String> = abi_members.iter().map(|t| self.resolve(t)).collect();
                    if ours != abi {
                        out.push(format!("{name}: ABI members {abi:?} vs ours {ours:?}"));
                    }
                    for (i, (idx, _)) in members.iter().enumerate() {
                        if *idx as usize != i {
                            out.push(format!("{name}: member #{i} is encoded with index {idx}"));
                        }
                    }
                }
            },
        }
        out
    }
}

#[test]
fn our_ship_types_match_the_leap5_ship_abi() {
    let Some(abi) = load_abi() else { return };
    let ours = ship_schema();
    let names: Vec<&str> = ours.iter().map(SchemaDef::name).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "duplicate definitions in ship_schema()"
    );

    // Everything claimed is implemented and described, and nothing unclaimed sneaks in.
    let claimed: BTreeSet<&str> = CLAIMED.iter().copied().collect();
    assert_eq!(unique, claimed, "ship_schema() and CLAIMED differ");

    let mut problems = Vec::new();
    for def in &ours {
        problems.extend(abi.mismatches(def));
    }
    assert!(
        problems.is_empty(),
        "SHiP ABI mismatches:\n{}",
        problems.join("\n")
    );

    // Every referenced type is a builtin or one of ours (no undescribed Rust types).
    for def in &ours {
        for t in def.referenced_types() {
            let base = base_type_name(&t);
            assert!(
                BUILTIN_TYPES.contains(&base) || unique.contains(base),
                "{} refers to {t}, which is neither builtin nor described",
                def.name()
            );
            assert!(
                !BUILTIN_TYPES.contains(&base)
                    || !abi.structs.contains_key(base) && !abi.variants.contains_key(base),
                "{base} is treated as builtin but the ABI defines it"
            );
        }
    }

    // The library's runtime check agrees.
    assert_eq!(compare_with_abi(&abi.raw, &ours), Vec::<String>::new());
}

#[test]
fn the_abi_check_detects_drift() {
    let Some(abi) = load_abi() else { return };
    // Reordered fields.
    let SchemaDef::Struct {
        name,
        base,
        mut fields,
    } = BlockPosition::schema()
    else {
        panic!("struct")
    };
    fields.swap(0, 1);
    let swapped = SchemaDef::Struct { name, base, fields };
    assert!(!abi.mismatches(&swapped).is_empty());
    assert!(!compare_with_abi(&abi.raw, &[swapped]).is_empty());
    // Wrong field type.
    let SchemaDef::Struct {
        name,
        base,
        mut fields,
    } = GetBlocksResultV0::schema()
    else {
        panic!("struct")
    };
    fields[4].1 = "bytes".into();
    let retyped = SchemaDef::Struct { name, base, fields };
    assert!(!abi.mismatches(&retyped).is_empty());
    // Missing base.
    let SchemaDef::Struct { name, fields, .. } = SignedBlock::schema() else {
        panic!("struct")
    };
    assert!(!abi
        .mismatches(&SchemaDef::Struct {
            name,
            base: String::new(),
            fields
        })
        .is_empty());
    // Reordered variant members.
    let SchemaDef::Variant { name, mut members } = Request::schema() else {
        panic!("variant")
    };
    members.swap(1, 2);
    assert!(!abi
        .mismatches(&SchemaDef::Variant { name, members })
        .is_empty());
    // Unknown struct.
    let bogus = SchemaDef::Struct {
        name: "table_delta_v9",
        base: String::new(),
        fields: vec![],
    };
    assert!(!abi.mismatches(&bogus).is_empty());
}

// ---- wire samples -----------------------------------------------------------------------------

fn id(byte: u8) -> Checksum256 {
    Checksum256([byte; 32])
}

fn n(s: &str) -> Name {
    Name::parse(s).expect("name")
}

fn sample_action_trace_v1() -> ActionTraceV1 {
    ActionTraceV1 {
        action_ordinal: VarUint32(1),
        creator_action_ordinal: VarUint32(0),
        receipt: Some(ActionReceipt::V0(ActionReceiptV0 {
            receiver: n("soviet"),
            act_digest: id(9),
            global_sequence: 1_000_001,
            recv_sequence: 42,
            auth_sequence: vec![AccountAuthSequence {
                account: n("coop"),
                sequence: 7,
            }],
            code_sequence: VarUint32(3),
            abi_sequence: VarUint32(4),
        })),
        receiver: n("soviet"),
        act: Action {
            account: n("soviet"),
            name: n("votefor"),
            authorization: vec![PermissionLevel {
                actor: n("alice"),
                permission: n("active"),
            }],
            data: Bytes(vec![1, 2, 3]),
        },
        context_free: false,
        elapsed: 120,
        console: "ok".into(),
        account_ram_deltas: vec![AccountDelta {
            account: n("alice"),
            delta: -12,
        }],
        except: None,
        error_code: Some(5),
        return_value: Bytes(vec![0xaa]),
    }
}

fn sample_contract_row() -> ContractRowV0 {
    ContractRowV0 {
        code: n("registrator"),
        scope: n("coop"),
        table: n("candidates2"),
        primary_key: u64::MAX - 1,
        payer: n("coop"),
        value: Bytes(vec![5, 6, 7, 8]),
    }
}

fn sample_trace() -> TransactionTrace {
    TransactionTrace::V0(TransactionTraceV0 {
        id: id(1),
        status: 0,
        cpu_usage_us: 250,
        net_usage_words: VarUint32(16),
        elapsed: 300,
        net_usage: 128,
        scheduled: false,
        action_traces: vec![ActionTrace::V1(sample_action_trace_v1())],
        account_ram_delta: None,
        except: None,
        error_code: None,
        failed_dtrx_trace: Some(Box::new(TransactionTrace::V0(TransactionTraceV0 {
            id: id(2),
            status: 1,
            cpu_usage_us: 0,
            net_usage_words: VarUint32(0),
            elapsed: 0,
            net_usage: 0,
            scheduled: true,
            action_traces: vec![],
            account_ram_delta: Some(AccountDelta {
                account: n("bob"),
                delta: 3,
            }),
            except: Some("boom".into()),
            error_code: None,
            failed_dtrx_trace: None,
            partial: None,
        }))),
        partial: None,
    })
}

fn sample_result() -> ShipResult {
    ShipResult::Blocks(GetBlocksResultV0 {
        head: BlockPosition {
            block_num: 10,
            block_id: id(10),
        },
        last_irreversible: BlockPosition {
            block_num: 8,
            block_id: id(8),
        },
        this_block: Some(BlockPosition {
            block_num: 9,
            block_id: id(9),
        }),
        prev_block: Some(BlockPosition {
            block_num: 8,
            block_id: id(8),
        }),
        block: None,
        traces: Some(Bytes(vec![sample_trace()].packed())),
        deltas: Some(Bytes(
            vec![TableDelta::V0(TableDeltaV0 {
                name: "contract_row".into(),
                rows: vec![Row {
                    present: true,
                    data: Bytes(ContractRow::V0(sample_contract_row()).packed()),
                }],
            })]
            .packed(),
        )),
    })
}

fn sample_request() -> Request {
    Request::GetBlocks(GetBlocksRequestV0 {
        start_block_num: 2,
        end_block_num: u32::MAX,
        max_messages_in_flight: 8,
        have_positions: vec![BlockPosition {
            block_num: 1,
            block_id: id(1),
        }],
        irreversible_only: false,
        fetch_block: true,
        fetch_traces: true,
        fetch_deltas: false,
    })
}

fn roundtrip<T: Pack + Unpack + PartialEq + std::fmt::Debug>(value: &T) {
    let bytes = value.packed();
    assert_eq!(&T::unpacked(&bytes).expect("unpack"), value);
}

#[test]
fn wire_round_trips() {
    roundtrip(&sample_request());
    roundtrip(&Request::GetStatus(GetStatusRequestV0 {}));
    roundtrip(&Request::GetBlocksAck(GetBlocksAckRequestV0 {
        num_messages: 3,
    }));
    roundtrip(&sample_result());
    roundtrip(&sample_trace());
    roundtrip(&sample_action_trace_v1());
    roundtrip(&ContractRow::V0(sample_contract_row()));
    roundtrip(&ShipResult::Status(GetStatusResultV0 {
        head: BlockPosition {
            block_num: 5,
            block_id: id(5),
        },
        last_irreversible: BlockPosition {
            block_num: 4,
            block_id: id(4),
        },
        trace_begin_block: 1,
        trace_end_block: 6,
        chain_state_begin_block: 1,
        chain_state_end_block: 6,
        chain_id: BinaryExtension(Some(id(0xcc))),
    }));
}

#[test]
fn hand_encoded_bytes() {
    // request[1] get_blocks_request_v0
    let mut expected = vec![1u8];
    expected.extend(2u32.to_le_bytes());
    expected.extend(u32::MAX.to_le_bytes());
    expected.extend(8u32.to_le_bytes());
    expected.push(1); // have_positions length
    expected.extend(1u32.to_le_bytes());
    expected.extend([1u8; 32]);
    expected.extend([0, 1, 1, 0]);
    assert_eq!(sample_request().packed(), expected);
    // request[2] ack
    assert_eq!(
        Request::GetBlocksAck(GetBlocksAckRequestV0 { num_messages: 300 }).packed(),
        vec![2, 0x2c, 1, 0, 0]
    );
    // get_status_result_v0 without the chain_id extension still decodes
    let mut status = vec![0u8];
    for v in [5u32, 4] {
        status.extend(v.to_le_bytes());
        status.extend([v as u8; 32]);
    }
    for v in [1u32, 6, 1, 6] {
        status.extend(v.to_le_bytes());
    }
    let ShipResult::Status(s) = ShipResult::unpacked(&status).expect("status") else {
        panic!("variant")
    };
    assert_eq!(s.chain_id, BinaryExtension(None));
    assert_eq!(s.head.block_num, 5);
    // unknown variant index is an error, not a panic
    assert!(ShipResult::unpacked(&[7]).is_err());
}

/// The SHiP ABI loaded into the ABI-driven codec. Its `tables` are dropped: SHiP table names
/// (`account_metadata`, …) are not valid `name`s and play no part in type coding.
fn codec() -> Option<chain::abi::Abi> {
    let path = support::shared_file("coopos/ship/state_history.abi.json")?;
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    v["tables"] = Value::Array(vec![]);
    Some(chain::abi::Abi::from_json(&v.to_string()).expect("the SHiP ABI loads into the codec"))
}

/// Our bytes decode with the ABI codec to `expected` and re-encode to the same bytes.
fn check_with_codec(
    abi: &chain::abi::Abi,
    type_name: &str,
    bytes: &[u8],
    expected: Option<Value>,
) -> Value {
    let decoded = abi
        .decode(type_name, bytes)
        .unwrap_or_else(|e| panic!("codec decodes our {type_name}: {e}"));
    if let Some(expected) = expected {
        assert_eq!(decoded, expected, "{type_name}");
    }
    let reencoded = abi
        .encode(type_name, &decoded)
        .unwrap_or_else(|e| panic!("codec encodes {type_name}: {e}"));
    assert_eq!(
        reencoded, bytes,
        "{type_name}: codec re-encoding differs from our Pack"
    );
    decoded
}

#[test]
fn our_bytes_decode_with_the_abi_driven_codec() {
    let Some(abi) = codec() else { return };
    let ones = "01".repeat(32);
    check_with_codec(
        &abi,
        "request",
        &sample_request().packed(),
        Some(serde_json::json!(["get_blocks_request_v0", {
            "start_block_num": 2, "end_block_num": 4294967295u32, "max_messages_in_flight": 8,
            "have_positions": [{"block_num": 1, "block_id": ones}],
            "irreversible_only": false, "fetch_block": true, "fetch_traces": true, "fetch_deltas": false
        }])),
    );
    check_with_codec(
        &abi,
        "request",
        &Request::GetBlocksAck(GetBlocksAckRequestV0 { num_messages: 3 }).packed(),
        Some(serde_json::json!(["get_blocks_ack_request_v0", {"num_messages": 3}])),
    );
    check_with_codec(
        &abi,
        "action_trace_v1",
        &sample_action_trace_v1().packed(),
        Some(serde_json::json!({
            "action_ordinal": 1, "creator_action_ordinal": 0,
            "receipt": ["action_receipt_v0", {
                "receiver": "soviet", "act_digest": "09".repeat(32), "global_sequence": 1000001,
                "recv_sequence": 42, "auth_sequence": [{"account": "coop", "sequence": 7}],
                "code_sequence": 3, "abi_sequence": 4}],
            "receiver": "soviet",
            "act": {"account": "soviet", "name": "votefor",
                    "authorization": [{"actor": "alice", "permission": "active"}], "data": "010203"},
            "context_free": false, "elapsed": 120, "console": "ok",
            "account_ram_deltas": [{"account": "alice", "delta": -12}],
            "except": null, "error_code": 5, "return_value": "aa"
        })),
    );
    let row = check_with_codec(
        &abi,
        "contract_row_v0",
        &sample_contract_row().packed(),
        None,
    );
    assert_eq!(
        (
            row["code"].as_str(),
            row["scope"].as_str(),
            row["table"].as_str()
        ),
        (Some("registrator"), Some("coop"), Some("candidates2"))
    );
    assert_eq!(row["value"], "05060708");

    // result: the envelope, then its bytes? payloads as transaction_trace[] / table_delta[].
    let result = sample_result();
    let decoded = check_with_codec(&abi, "result", &result.packed(), None);
    assert_eq!(decoded[0], "get_blocks_result_v0");
    assert_eq!(decoded[1]["this_block"]["block_num"], 9);
    assert_eq!(decoded[1]["block"], Value::Null);
    let ShipResult::Blocks(blocks) = &result else {
        panic!("variant")
    };
    let traces = check_with_codec(
        &abi,
        "transaction_trace[]",
        &blocks.traces.as_ref().expect("traces").0,
        None,
    );
    assert_eq!(traces[0][0], "transaction_trace_v0");
    assert_eq!(traces[0][1]["failed_dtrx_trace"][1]["except"], "boom");
    let deltas = check_with_codec(
        &abi,
        "table_delta[]",
        &blocks.deltas.as_ref().expect("deltas").0,
        None,
    );
    assert_eq!(deltas[0][1]["name"], "contract_row");
}

#[test]
fn signed_block_with_keys_matches_the_codec() {
    let Some(abi) = codec() else { return };
    let key = chain::keys::PrivateKey::from_bytes(&[5u8; 32]).expect("key");
    let sig = key.sign_digest(&id(4));
    let block = SignedBlock {
        header: SignedBlockHeader {
            header: BlockHeader {
                timestamp: chain::time::BlockTimestamp::from_slot(123_456),
                producer: n("eosio"),
                confirmed: 1,
                previous: id(3),
                transaction_mroot: id(4),
                action_mroot: id(5),
                schedule_version: 2,
                new_producers: Some(ProducerSchedule {
                    version: 3,
                    producers: vec![ProducerKey {
                        producer_name: n("bp1"),
                        block_signing_key: key.public_key(),
                    }],
                }),
                header_extensions: vec![Extension {
                    r#type: 1,
                    data: Bytes(vec![9]),
                }],
            },
            producer_signature: sig.clone(),
        },
        transactions: vec![
            TransactionReceipt {
                header: TransactionReceiptHeader {
                    status: 0,
                    cpu_usage_us: 100,
                    net_usage_words: VarUint32(12),
                },
                trx: TransactionVariant::Packed(ShipPackedTransaction {
                    signatures: vec![sig.clone()],
                    compression: 0,
                    packed_context_free_data: Bytes(vec![]),
                    packed_trx: Bytes(vec![1, 2, 3]),
                }),
            },
            TransactionReceipt {
                header: TransactionReceiptHeader {
                    status: 3,
                    cpu_usage_us: 0,
                    net_usage_words: VarUint32(0),
                },
                trx: TransactionVariant::Id(id(6)),
            },
        ],
        block_extensions: vec![],
    };
    roundtrip(&block);
    let decoded = check_with_codec(&abi, "signed_block", &block.packed(), None);
    assert_eq!(decoded["producer"], "eosio");
    assert_eq!(decoded["producer_signature"], sig.to_string());
    assert_eq!(
        decoded["new_producers"]["producers"][0]["block_signing_key"],
        key.public_key().to_string()
    );
    assert_eq!(
        decoded["transactions"][1]["trx"],
        serde_json::json!(["transaction_id", "06".repeat(32)])
    );
    assert_eq!(decoded["timestamp"], "2000-01-01T17:08:48.000");
}

#[test]
fn codec_bytes_decode_with_our_types() {
    let Some(abi) = codec() else { return };
    let ack = abi
        .encode(
            "request",
            &serde_json::json!(["get_blocks_ack_request_v0", {"num_messages": 77}]),
        )
        .expect("encode");
    assert_eq!(
        Request::unpacked(&ack).expect("ours"),
        Request::GetBlocksAck(GetBlocksAckRequestV0 { num_messages: 77 })
    );
    let row = serde_json::json!(["contract_row_v0", {
        "code": "soviet", "scope": "coop", "table": "decisions", "primary_key": 501,
        "payer": "coop", "value": "c0ffee"
    }]);
    let bytes = abi.encode("contract_row", &row).expect("encode");
    let ContractRow::V0(ours) = ContractRow::unpacked(&bytes).expect("ours");
    assert_eq!(
        (ours.code, ours.table, ours.primary_key),
        (n("soviet"), n("decisions"), 501)
    );
    assert_eq!(ours.value, Bytes(vec![0xc0, 0xff, 0xee]));
}
