//! Transactions: actions, header with TAPOS, packing, id, signing digest, signing, and the
//! `packed_transaction` JSON that `send_transaction` takes.
//!
//! The JSON forms follow Leap: `Transaction` serializes with flat header fields and action
//! `data` as hex; on input `max_net_usage_words`, `max_cpu_usage_ms`, `delay_sec`,
//! `context_free_actions` and `transaction_extensions` may be omitted (default 0 / empty),
//! integers may be numbers or numeric strings, and an action may carry `hex_data` instead of
//! hex `data` (as `get_block` prints ABI-decoded actions).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::bytes::{pack_len, Bytes, DecodeError, Pack, Reader, Unpack, VarUint32};
use crate::checksum::Checksum256;
use crate::keys::{PrivateKey, Signature};
use crate::name::Name;
use crate::pack_struct;
use crate::time::TimePointSec;

/// `permission_level`: an actor and one of its permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PermissionLevel {
    pub actor: Name,
    pub permission: Name,
}
pack_struct!(PermissionLevel { actor, permission });

impl PermissionLevel {
    pub fn new(actor: Name, permission: Name) -> Self {
        PermissionLevel { actor, permission }
    }
}

/// One action with its already-serialized `data`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Action {
    pub account: Name,
    pub name: Name,
    pub authorization: Vec<PermissionLevel>,
    #[serde(
        serialize_with = "ser_hex",
        deserialize_with = "de_action_data",
        flatten
    )]
    pub data: Bytes,
}
pack_struct!(Action {
    account,
    name,
    authorization,
    data
});

/// The fixed-size part of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TransactionHeader {
    pub expiration: TimePointSec,
    #[serde(deserialize_with = "de_int")]
    pub ref_block_num: u16,
    #[serde(deserialize_with = "de_int")]
    pub ref_block_prefix: u32,
    #[serde(default, with = "varuint")]
    pub max_net_usage_words: VarUint32,
    #[serde(default, deserialize_with = "de_int")]
    pub max_cpu_usage_ms: u8,
    #[serde(default, with = "varuint")]
    pub delay_sec: VarUint32,
}
pack_struct!(TransactionHeader {
    expiration,
    ref_block_num,
    ref_block_prefix,
    max_net_usage_words,
    max_cpu_usage_ms,
    delay_sec
});

impl TransactionHeader {
    /// A header referencing block `block_num` with id `block_id` (TAPOS); limits and delay 0.
    pub fn with_tapos(expiration: TimePointSec, block_num: u32, block_id: &Checksum256) -> Self {
        let b = block_id.0;
        TransactionHeader {
            expiration,
            ref_block_num: (block_num & 0xffff) as u16,
            ref_block_prefix: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            ..Self::default()
        }
    }
}

/// A transaction (`transaction` in Leap), fields in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Transaction {
    pub expiration: TimePointSec,
    #[serde(deserialize_with = "de_int")]
    pub ref_block_num: u16,
    #[serde(deserialize_with = "de_int")]
    pub ref_block_prefix: u32,
    #[serde(default, with = "varuint")]
    pub max_net_usage_words: VarUint32,
    #[serde(default, deserialize_with = "de_int")]
    pub max_cpu_usage_ms: u8,
    #[serde(default, with = "varuint")]
    pub delay_sec: VarUint32,
    #[serde(default)]
    pub context_free_actions: Vec<Action>,
    pub actions: Vec<Action>,
    #[serde(default, with = "extensions")]
    pub transaction_extensions: Vec<(u16, Bytes)>,
}

impl Transaction {
    /// An empty transaction with the given expiration and TAPOS fields.
    pub fn new(expiration: TimePointSec, ref_block_num: u16, ref_block_prefix: u32) -> Self {
        Transaction {
            expiration,
            ref_block_num,
            ref_block_prefix,
            ..Self::default()
        }
    }

    /// An empty transaction referencing block `block_num` with id `block_id`.
    pub fn with_tapos(expiration: TimePointSec, block_num: u32, block_id: &Checksum256) -> Self {
        Self::from_header(TransactionHeader::with_tapos(
            expiration, block_num, block_id,
        ))
    }

    /// An empty transaction with the given header.
    pub fn from_header(h: TransactionHeader) -> Self {
        Transaction {
            expiration: h.expiration,
            ref_block_num: h.ref_block_num,
            ref_block_prefix: h.ref_block_prefix,
            max_net_usage_words: h.max_net_usage_words,
            max_cpu_usage_ms: h.max_cpu_usage_ms,
            delay_sec: h.delay_sec,
            ..Self::default()
        }
    }

    pub fn header(&self) -> TransactionHeader {
        TransactionHeader {
            expiration: self.expiration,
            ref_block_num: self.ref_block_num,
            ref_block_prefix: self.ref_block_prefix,
            max_net_usage_words: self.max_net_usage_words,
            max_cpu_usage_ms: self.max_cpu_usage_ms,
            delay_sec: self.delay_sec,
        }
    }

    /// Transaction id: sha256 of the packed transaction.
    pub fn id(&self) -> Checksum256 {
        Checksum256::sha256(self.packed())
    }

    /// `sha256(chain_id ‖ packed_trx ‖ 32 zero bytes)` (no context-free data).
    pub fn signing_digest(&self, chain_id: &Checksum256) -> Checksum256 {
        signing_digest(chain_id, &self.packed(), &[])
    }

    /// Signs with every key, in order.
    pub fn sign(&self, chain_id: &Checksum256, keys: &[&PrivateKey]) -> SignedTransaction {
        let digest = self.signing_digest(chain_id);
        SignedTransaction {
            transaction: self.clone(),
            signatures: keys.iter().map(|k| k.sign_digest(&digest)).collect(),
            context_free_data: Vec::new(),
        }
    }
}

/// `sha256(chain_id ‖ packed_trx ‖ (cfd empty ? 32 zero bytes : sha256(cfd)))`.
fn signing_digest(chain_id: &Checksum256, packed_trx: &[u8], packed_cfd: &[u8]) -> Checksum256 {
    let mut buf = Vec::with_capacity(64 + packed_trx.len());
    buf.extend_from_slice(&chain_id.0);
    buf.extend_from_slice(packed_trx);
    if packed_cfd.is_empty() {
        buf.extend_from_slice(&[0u8; 32]);
    } else {
        buf.extend_from_slice(&Checksum256::sha256(packed_cfd).0);
    }
    Checksum256::sha256(buf)
}

impl Pack for Transaction {
    fn pack(&self, out: &mut Vec<u8>) {
        self.header().pack(out);
        self.context_free_actions.pack(out);
        self.actions.pack(out);
        pack_len(self.transaction_extensions.len(), out);
        for (kind, data) in &self.transaction_extensions {
            kind.pack(out);
            data.pack(out);
        }
    }
}

impl Unpack for Transaction {
    const MIN_SIZE: usize = 13;

    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut trx = Transaction::from_header(TransactionHeader::unpack(r)?);
        trx.context_free_actions = Vec::unpack(r)?;
        trx.actions = Vec::unpack(r)?;
        let n = r.length(3)?;
        let mut ext = Vec::with_capacity(n);
        for _ in 0..n {
            ext.push((u16::unpack(r)?, Bytes::unpack(r)?));
        }
        trx.transaction_extensions = ext;
        Ok(trx)
    }
}

/// A transaction with its signatures and (unpacked) context-free data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignedTransaction {
    pub transaction: Transaction,
    pub signatures: Vec<Signature>,
    pub context_free_data: Vec<Bytes>,
}

impl SignedTransaction {
    pub fn id(&self) -> Checksum256 {
        self.transaction.id()
    }

    /// The uncompressed `packed_transaction` for `send_transaction`.
    pub fn to_packed(&self) -> PackedTransaction {
        PackedTransaction::from(self)
    }
}

/// `packed_transaction` as `send_transaction` takes it (JSON: hex strings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PackedTransaction {
    pub signatures: Vec<Signature>,
    /// 0 = none, 1 = zlib (JSON input also accepts `"none"` / `"zlib"`).
    #[serde(default, deserialize_with = "de_compression")]
    pub compression: u8,
    #[serde(
        default,
        serialize_with = "ser_hex_vec",
        deserialize_with = "de_hex_vec"
    )]
    pub packed_context_free_data: Vec<u8>,
    #[serde(serialize_with = "ser_hex_vec", deserialize_with = "de_hex_vec")]
    pub packed_trx: Vec<u8>,
}

impl From<&SignedTransaction> for PackedTransaction {
    fn from(t: &SignedTransaction) -> Self {
        let packed_context_free_data = if t.context_free_data.is_empty() {
            Vec::new()
        } else {
            t.context_free_data.packed()
        };
        PackedTransaction {
            signatures: t.signatures.clone(),
            compression: 0,
            packed_context_free_data,
            packed_trx: t.transaction.packed(),
        }
    }
}

impl PackedTransaction {
    fn require_uncompressed(&self) -> Result<(), DecodeError> {
        match self.compression {
            0 => Ok(()),
            c => Err(DecodeError::Invalid {
                offset: 0,
                reason: format!("compression {c} is not supported (only 0 = none)"),
            }),
        }
    }

    /// Decodes `packed_trx` (uncompressed only).
    pub fn transaction(&self) -> Result<Transaction, DecodeError> {
        self.require_uncompressed()?;
        Transaction::unpacked(&self.packed_trx)
    }

    /// Transaction id: sha256 of `packed_trx` (meaningful for uncompressed data).
    pub fn id(&self) -> Checksum256 {
        Checksum256::sha256(&self.packed_trx)
    }

    /// The digest the signatures cover, including context-free data if present.
    pub fn signing_digest(&self, chain_id: &Checksum256) -> Checksum256 {
        signing_digest(chain_id, &self.packed_trx, &self.packed_context_free_data)
    }

    /// Decodes the transaction and its context-free data.
    pub fn signed_transaction(&self) -> Result<SignedTransaction, DecodeError> {
        let context_free_data = if self.packed_context_free_data.is_empty() {
            Vec::new()
        } else {
            Vec::<Bytes>::unpacked(&self.packed_context_free_data)?
        };
        Ok(SignedTransaction {
            transaction: self.transaction()?,
            signatures: self.signatures.clone(),
            context_free_data,
        })
    }
}

// ------------------------------------------------------------------------------------------------
// serde helpers

fn ser_hex<S: Serializer>(data: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    // Flattened into the action object as `"data": "<hex>"`.
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry("data", &hex::encode(&data.0))?;
    map.end()
}

/// Action data: hex `data`, or `hex_data` when `data` is ABI-decoded JSON.
fn de_action_data<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
    let rest = serde_json::Map::<String, Value>::deserialize(d)?;
    let text = match (rest.get("hex_data"), rest.get("data")) {
        (Some(Value::String(h)), _) => h,
        (_, Some(Value::String(h))) => h,
        (_, Some(_)) => {
            return Err(D::Error::custom(
                "action data must be hex (or provide hex_data)",
            ));
        }
        (_, None) => return Err(D::Error::missing_field("data")),
    };
    hex::decode(text)
        .map(Bytes)
        .map_err(|e| D::Error::custom(format!("action data: {e}")))
}

fn ser_hex_vec<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(data))
}

fn de_hex_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    hex::decode(s.as_ref()).map_err(|e| D::Error::custom(format!("hex: {e}")))
}

fn de_compression<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if s == "none" => Ok(0),
        Value::String(s) if s == "zlib" => Ok(1),
        v => int_from_value(&v).map_err(D::Error::custom),
    }
}

fn int_from_value<T: TryFrom<u64>>(v: &Value) -> Result<T, String> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("expected an unsigned integer in range, got {v}"))
}

/// An unsigned integer from a JSON number or numeric string, range-checked.
fn de_int<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    int_from_value(&Value::deserialize(d)?).map_err(D::Error::custom)
}

mod varuint {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &VarUint32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(v.0)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VarUint32, D::Error> {
        de_int(d).map(VarUint32)
    }
}

/// `transaction_extensions` as Leap prints them: `[[type, "hex"], …]`; input also accepts
/// `{"type": …, "data": "hex"}` objects.
mod extensions {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &[(u16, Bytes)], s: S) -> Result<S::Ok, S::Error> {
        let items: Vec<(u16, String)> = v.iter().map(|(t, b)| (*t, hex::encode(&b.0))).collect();
        items.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(u16, Bytes)>, D::Error> {
        let items = Vec::<Value>::deserialize(d)?;
        items
            .iter()
            .map(|item| {
                let (t, data) = match item {
                    Value::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
                    Value::Object(o) => match (o.get("type"), o.get("data")) {
                        (Some(t), Some(data)) => (t, data),
                        _ => return Err(D::Error::custom("extension needs type and data")),
                    },
                    _ => return Err(D::Error::custom("extension must be [type, hex]")),
                };
                let t = int_from_value::<u16>(t).map_err(D::Error::custom)?;
                let hex_text = data
                    .as_str()
                    .ok_or_else(|| D::Error::custom("extension data must be hex"))?;
                let bytes = hex::decode(hex_text)
                    .map_err(|e| D::Error::custom(format!("extension data: {e}")))?;
                Ok((t, Bytes(bytes)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name;

    fn sample() -> Transaction {
        let mut trx = Transaction::new(TimePointSec::from_unix(1_800_000_000), 7, 99);
        trx.max_cpu_usage_ms = 5;
        trx.delay_sec = VarUint32(300);
        trx.actions.push(Action {
            account: name!("eosio.token"),
            name: name!("transfer"),
            authorization: vec![PermissionLevel::new(name!("voskhod"), name!("active"))],
            data: Bytes(vec![1, 2, 3]),
        });
        trx.transaction_extensions.push((1, Bytes(vec![0xab])));
        trx
    }

    #[test]
    fn binary_and_json_round_trip() {
        let trx = sample();
        let packed = trx.packed();
        assert_eq!(Transaction::unpacked(&packed).unwrap(), trx);
        // one extension: count 1, type 1 (u16 LE), 1 byte of data
        assert!(packed.ends_with(&[1, 1, 0, 1, 0xab]));
        let json = serde_json::to_value(&trx).unwrap();
        assert_eq!(json["actions"][0]["data"], "010203");
        assert_eq!(
            json["transaction_extensions"],
            serde_json::json!([[1, "ab"]])
        );
        assert_eq!(json["delay_sec"], 300);
        assert_eq!(serde_json::from_value::<Transaction>(json).unwrap(), trx);
    }

    #[test]
    fn lenient_json_input() {
        let json = serde_json::json!({
            "expiration": "2027-01-15T08:00:00",
            "ref_block_num": "7",
            "ref_block_prefix": 99,
            "max_cpu_usage_ms": 5,
            "delay_sec": 300,
            "actions": [{
                "account": "eosio.token", "name": "transfer",
                "authorization": [{"actor": "voskhod", "permission": "active"}],
                "data": {"from": "a"}, "hex_data": "010203"
            }],
            "transaction_extensions": [{"type": 1, "data": "ab"}]
        });
        assert_eq!(
            serde_json::from_value::<Transaction>(json).unwrap(),
            sample()
        );
        let bad = serde_json::json!({"expiration": "2027-01-15T08:00:00", "ref_block_num": 70000,
            "ref_block_prefix": 1, "actions": []});
        assert!(serde_json::from_value::<Transaction>(bad).is_err());
    }

    #[test]
    fn packed_transaction_json_accepts_compression_names() {
        let p: PackedTransaction = serde_json::from_value(serde_json::json!({
            "signatures": [], "compression": "none", "packed_trx": hex::encode(sample().packed())
        }))
        .unwrap();
        assert_eq!(p.transaction().unwrap(), sample());
        let z = PackedTransaction {
            compression: 1,
            ..p
        };
        assert!(z.transaction().is_err());
    }
}
