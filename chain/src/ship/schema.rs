//! Static ABI descriptions of our Rust SHiP types, generated from the same macro input as their
//! `Pack`/`Unpack` code, so tests can compare them with the node's own SHiP ABI.

use crate::bytes::{BinaryExtension, Bytes, VarUint32};
use crate::checksum::Checksum256;
use crate::name::Name;

/// The ABI type string of a Rust type (`uint32`, `name`, `block_position[]`, `bytes?`, …).
pub trait AbiTypeName {
    fn abi_type() -> String;
}

/// A struct or variant of ours described the way an ABI describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaDef {
    Struct {
        name: &'static str,
        /// ABI `base` (empty when none), as in the ABI JSON.
        base: String,
        /// (field name, ABI type) in wire order.
        fields: Vec<(String, String)>,
    },
    Variant {
        name: &'static str,
        /// (wire index, member ABI type) as encoded/decoded by our code, sorted by index.
        members: Vec<(u32, String)>,
    },
}

impl SchemaDef {
    pub fn name(&self) -> &'static str {
        match self {
            SchemaDef::Struct { name, .. } | SchemaDef::Variant { name, .. } => name,
        }
    }

    /// Every ABI type string this definition refers to (field types, base, variant members).
    pub fn referenced_types(&self) -> Vec<String> {
        match self {
            SchemaDef::Struct { base, fields, .. } => {
                let mut out: Vec<String> = fields.iter().map(|(_, t)| t.clone()).collect();
                if !base.is_empty() {
                    out.push(base.clone());
                }
                out
            }
            SchemaDef::Variant { members, .. } => members.iter().map(|(_, t)| t.clone()).collect(),
        }
    }
}

/// A Rust type that is a struct or variant of the SHiP ABI.
pub trait ShipSchema: AbiTypeName {
    fn schema() -> SchemaDef;
}

/// Strips the raw-identifier prefix (`r#type` → `type`).
pub(crate) fn abi_field_name(ident: &str) -> String {
    ident.strip_prefix("r#").unwrap_or(ident).to_owned()
}

/// Removes array/optional/extension suffixes: `block_position[]?` → `block_position`.
pub fn base_type_name(t: &str) -> &str {
    let mut t = t;
    loop {
        if let Some(s) = t.strip_suffix("[]") {
            t = s;
        } else if let Some(s) = t.strip_suffix('?').or_else(|| t.strip_suffix('$')) {
            t = s;
        } else {
            return t;
        }
    }
}

/// Differences between our definitions and an ABI JSON document (empty when they agree).
/// ABI type aliases (`types`) are resolved before comparing. Used to warn at connect time.
pub fn compare_with_abi(abi: &serde_json::Value, ours: &[SchemaDef]) -> Vec<String> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let list = |key: &str| {
        abi.get(key)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let aliases: Vec<(String, String)> = list("types")
        .iter()
        .map(|t| (text(&t["new_type_name"]), text(&t["type"])))
        .collect();
    let resolve = |t: &str| -> String {
        let base = base_type_name(t);
        let suffix = &t[base.len()..];
        let mut name = base.to_owned();
        for _ in 0..8 {
            match aliases.iter().find(|(alias, _)| *alias == name) {
                Some((_, target)) => name = target.clone(),
                None => break,
            }
        }
        format!("{name}{suffix}")
    };
    let mut problems = Vec::new();
    for def in ours {
        match def {
            SchemaDef::Struct { name, base, fields } => {
                let structs = list("structs");
                let Some(s) = structs.iter().find(|s| s["name"] == *name) else {
                    problems.push(format!("struct {name} is missing from the ABI"));
                    continue;
                };
                if text(&s["base"]) != *base {
                    problems.push(format!(
                        "struct {name}: base {:?} != ours {base:?}",
                        text(&s["base"])
                    ));
                }
                let theirs: Vec<(String, String)> = s["fields"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .map(|f| (text(&f["name"]), resolve(&text(&f["type"]))))
                            .collect()
                    })
                    .unwrap_or_default();
                let ours: Vec<(String, String)> = fields
                    .iter()
                    .map(|(n, t)| (n.clone(), resolve(t)))
                    .collect();
                if theirs != ours {
                    problems.push(format!("struct {name}: fields {theirs:?} != ours {ours:?}"));
                }
            }
            SchemaDef::Variant { name, members } => {
                let variants = list("variants");
                let Some(v) = variants.iter().find(|v| v["name"] == *name) else {
                    problems.push(format!("variant {name} is missing from the ABI"));
                    continue;
                };
                let theirs: Vec<String> = v["types"]
                    .as_array()
                    .map(|t| t.iter().map(|t| resolve(&text(t))).collect())
                    .unwrap_or_default();
                let ours: Vec<String> = members.iter().map(|(_, t)| resolve(t)).collect();
                let indices_ok = members
                    .iter()
                    .enumerate()
                    .all(|(i, (idx, _))| *idx as usize == i);
                if theirs != ours || !indices_ok {
                    problems.push(format!(
                        "variant {name}: members {theirs:?} != ours {members:?}"
                    ));
                }
            }
        }
    }
    problems
}

/// ABI built-in type names (those that are neither structs nor variants); one list, owned by
/// the ABI codec.
pub use crate::abi::BUILTIN_TYPE_NAMES as BUILTIN_TYPES;

macro_rules! builtin {
    ($($t:ty => $s:literal),* $(,)?) => {$(
        impl AbiTypeName for $t {
            fn abi_type() -> String {
                $s.to_owned()
            }
        }
    )*};
}

builtin!(
    bool => "bool",
    u8 => "uint8",
    u16 => "uint16",
    u32 => "uint32",
    u64 => "uint64",
    u128 => "uint128",
    i64 => "int64",
    f64 => "float64",
    String => "string",
    Bytes => "bytes",
    VarUint32 => "varuint32",
    Name => "name",
    Checksum256 => "checksum256",
    crate::keys::PublicKey => "public_key",
    crate::keys::Signature => "signature",
    crate::time::TimePoint => "time_point",
    crate::time::TimePointSec => "time_point_sec",
    crate::time::BlockTimestamp => "block_timestamp_type",
);

impl<T: AbiTypeName> AbiTypeName for Vec<T> {
    fn abi_type() -> String {
        format!("{}[]", T::abi_type())
    }
}

impl<T: AbiTypeName> AbiTypeName for Option<T> {
    fn abi_type() -> String {
        format!("{}?", T::abi_type())
    }
}

impl<T: AbiTypeName> AbiTypeName for BinaryExtension<T> {
    fn abi_type() -> String {
        format!("{}$", T::abi_type())
    }
}

impl<T: AbiTypeName> AbiTypeName for Box<T> {
    fn abi_type() -> String {
        T::abi_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_and_names() {
        assert_eq!(base_type_name("block_position[]"), "block_position");
        assert_eq!(base_type_name("checksum256$"), "checksum256");
        assert_eq!(base_type_name("bytes?"), "bytes");
        assert_eq!(abi_field_name("r#type"), "type");
        assert_eq!(<Option<Vec<Bytes>>>::abi_type(), "bytes[]?");
        assert_eq!(<BinaryExtension<Checksum256>>::abi_type(), "checksum256$");
    }
}
