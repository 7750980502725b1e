//! The ABI definition (`abi_def`) as written: JSON (eosio::abi/1.0-1.2) and binary (`get_raw_abi`) forms.
//!
//! JSON: unknown fields (such as `____comment`) are ignored and missing lists default to empty.
//! Binary: the fields in nodeos order; `variants` and `action_results` are binary extensions
//! (absent in ABIs packed before 1.1/1.2), always written on output.

use serde::{Deserialize, Serialize};

use crate::bytes::{pack_bytes, DecodeError, Pack, Reader, Unpack};
use crate::name::Name;
use crate::pack_struct;

/// A complete ABI definition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AbiDef {
    pub version: String,
    #[serde(default)]
    pub types: Vec<TypeDef>,
    #[serde(default)]
    pub structs: Vec<StructDef>,
    #[serde(default)]
    pub actions: Vec<ActionDef>,
    #[serde(default)]
    pub tables: Vec<TableDef>,
    #[serde(default)]
    pub ricardian_clauses: Vec<ClausePair>,
    #[serde(default)]
    pub error_messages: Vec<ErrorMessage>,
    #[serde(default)]
    pub abi_extensions: Vec<AbiExtension>,
    #[serde(default)]
    pub variants: Vec<VariantDef>,
    #[serde(default)]
    pub action_results: Vec<ActionResultDef>,
}

/// A type alias: `new_type_name` means `type`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TypeDef {
    pub new_type_name: String,
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
}

/// A struct; the fields of `base` (if not empty) come first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StructDef {
    pub name: String,
    #[serde(default)]
    pub base: String,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActionDef {
    pub name: Name,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub ricardian_contract: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableDef {
    pub name: Name,
    #[serde(default)]
    pub index_type: String,
    #[serde(default)]
    pub key_names: Vec<String>,
    #[serde(default)]
    pub key_types: Vec<String>,
    /// The row type.
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClausePair {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorMessage {
    #[serde(with = "u64_lenient")]
    pub error_code: u64,
    #[serde(default)]
    pub error_msg: String,
}

/// An ABI extension: a tag and opaque bytes (hex in JSON, as `[tag, "hex"]` or `{"type", "data"}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AbiExtension {
    pub tag: u16,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VariantDef {
    pub name: String,
    #[serde(default)]
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActionResultDef {
    pub name: Name,
    pub result_type: String,
}

/// `u64` from a JSON number or a decimal string.
mod u64_lenient {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*v)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(v) => Ok(v),
            NumOrStr::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for AbiExtension {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.tag, hex::encode(&self.data)).serialize(s)
    }
}

impl<'de> Deserialize<'de> for AbiExtension {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Pair(u16, String),
            Object {
                #[serde(rename = "type")]
                tag: u16,
                data: String,
            },
        }
        let (tag, data) = match Form::deserialize(d)? {
            Form::Pair(tag, data) | Form::Object { tag, data } => (tag, data),
        };
        let data = hex::decode(&data).map_err(serde::de::Error::custom)?;
        Ok(AbiExtension { tag, data })
    }
}

impl Pack for AbiExtension {
    fn pack(&self, out: &mut Vec<u8>) {
        self.tag.pack(out);
        pack_bytes(&self.data, out);
    }
}

impl Unpack for AbiExtension {
    const MIN_SIZE: usize = 3;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AbiExtension {
            tag: u16::unpack(r)?,
            data: r.bytes()?.to_vec(),
        })
    }
}

pack_struct!(TypeDef {
    new_type_name,
    type_
});
pack_struct!(FieldDef { name, type_ });
pack_struct!(StructDef { name, base, fields });
pack_struct!(ActionDef {
    name,
    type_,
    ricardian_contract
});
pack_struct!(TableDef {
    name,
    index_type,
    key_names,
    key_types,
    type_
});
pack_struct!(ClausePair { id, body });
pack_struct!(ErrorMessage {
    error_code,
    error_msg
});
pack_struct!(VariantDef { name, types });
pack_struct!(ActionResultDef { name, result_type });

impl Pack for AbiDef {
    fn pack(&self, out: &mut Vec<u8>) {
        self.version.pack(out);
        self.types.pack(out);
        self.structs.pack(out);
        self.actions.pack(out);
        self.tables.pack(out);
        self.ricardian_clauses.pack(out);
        self.error_messages.pack(out);
        self.abi_extensions.pack(out);
        self.variants.pack(out);
        self.action_results.pack(out);
    }
}

impl Unpack for AbiDef {
    const MIN_SIZE: usize = 8;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut def = AbiDef {
            version: String::unpack(r)?,
            types: Unpack::unpack(r)?,
            structs: Unpack::unpack(r)?,
            actions: Unpack::unpack(r)?,
            tables: Unpack::unpack(r)?,
            ricardian_clauses: Unpack::unpack(r)?,
            error_messages: Unpack::unpack(r)?,
            abi_extensions: Unpack::unpack(r)?,
            ..AbiDef::default()
        };
        if !r.is_empty() {
            def.variants = Unpack::unpack(r)?;
        }
        if !r.is_empty() {
            def.action_results = Unpack::unpack(r)?;
        }
        Ok(def)
    }
}

impl AbiDef {
    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Decodes the binary form (as returned base64-encoded by `get_raw_abi`).
    pub fn from_binary(data: &[u8]) -> Result<Self, DecodeError> {
        AbiDef::unpacked(data)
    }
}
