//! ABI model (eosio::abi/1.1 and 1.2, JSON and binary forms) and the ABI-driven JSON <-> binary codec.
//!
//! [`AbiDef`] is the definition as written (JSON or the binary form from `get_raw_abi`); [`Abi`]
//! is a validated, resolved ABI ready for coding. Resolution happens once at load time: every
//! type name becomes an index, struct bases are flattened and aliases collapsed, so coding a
//! value never looks a name up per field.
//!
//! ```
//! # use chain::abi::Abi;
//! let abi = Abi::from_json(r#"{"version":"eosio::abi/1.2","structs":[
//!     {"name":"hi","base":"","fields":[{"name":"user","type":"name"},{"name":"n","type":"uint64"}]}],
//!     "actions":[{"name":"hi","type":"hi","ricardian_contract":""}]}"#).unwrap();
//! let value = serde_json::json!({"user": "alice", "n": 5});
//! let bytes = abi.encode("hi", &value).unwrap();
//! assert_eq!(abi.decode("hi", &bytes).unwrap(), value);
//! ```

mod builtin;
mod codec;
mod def;
mod error;
mod resolve;

use std::collections::HashMap;

use serde_json::Value;

pub use builtin::BUILTIN_TYPE_NAMES;
pub use codec::MAX_DEPTH;
pub use def::{
    AbiDef, AbiExtension, ActionDef, ActionResultDef, ClausePair, ErrorMessage, FieldDef,
    StructDef, TableDef, TypeDef, VariantDef,
};
pub use error::AbiError;

use crate::bytes::Reader;
use crate::name::Name;
use codec::Target;
use resolve::{Resolved, TypeId};

/// A validated ABI, resolved for fast encoding and decoding.
#[derive(Debug, Clone)]
pub struct Abi {
    def: AbiDef,
    resolved: Resolved,
    /// Action / table / action result name -> index into the definition's list.
    actions: HashMap<Name, usize>,
    tables: HashMap<Name, usize>,
    action_results: HashMap<Name, usize>,
}

impl Abi {
    /// Parses and validates the JSON form.
    pub fn from_json(text: &str) -> Result<Abi, AbiError> {
        let def = AbiDef::from_json(text).map_err(|e| AbiError::Json(e.to_string()))?;
        Abi::from_def(def)
    }

    /// Decodes and validates the binary form (`get_raw_abi`, `setabi`).
    pub fn from_binary(data: &[u8]) -> Result<Abi, AbiError> {
        let def = AbiDef::from_binary(data).map_err(AbiError::Binary)?;
        Abi::from_def(def)
    }

    /// Validates a definition: every referenced type must exist, aliases and struct bases must not
    /// form cycles, names must not be defined twice.
    pub fn from_def(def: AbiDef) -> Result<Abi, AbiError> {
        let resolved = resolve::resolve(&def)?;
        let index = |names: Vec<Name>| names.into_iter().enumerate().map(|(i, n)| (n, i)).collect();
        Ok(Abi {
            actions: index(def.actions.iter().map(|a| a.name).collect()),
            tables: index(def.tables.iter().map(|t| t.name).collect()),
            action_results: index(def.action_results.iter().map(|r| r.name).collect()),
            def,
            resolved,
        })
    }

    /// The definition this ABI was built from.
    pub fn def(&self) -> &AbiDef {
        &self.def
    }

    /// The data type of an action, as named in the ABI.
    pub fn action_type(&self, action: Name) -> Option<&str> {
        self.actions
            .get(&action)
            .map(|&i| self.def.actions[i].type_.as_str())
    }

    /// The row type of a table, as named in the ABI (not the table name).
    pub fn table_type(&self, table: Name) -> Option<&str> {
        self.tables
            .get(&table)
            .map(|&i| self.def.tables[i].type_.as_str())
    }

    /// The return value type of an action, if the ABI declares one.
    pub fn action_result_type(&self, action: Name) -> Option<&str> {
        self.action_results
            .get(&action)
            .map(|&i| self.def.action_results[i].result_type.as_str())
    }

    /// Whether `type_name` can be coded (built-in, defined, or `T?` / `T[]` of such).
    pub fn has_type(&self, type_name: &str) -> bool {
        self.resolved.target(type_name).is_some()
    }

    /// Names of every type defined by the ABI (aliases, structs and variants).
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        let d = &self.def;
        d.types
            .iter()
            .map(|t| t.new_type_name.as_str())
            .chain(d.structs.iter().map(|s| s.name.as_str()))
            .chain(d.variants.iter().map(|v| v.name.as_str()))
    }

    fn lookup<'n>(&self, type_name: &'n str) -> Result<Target<'n>, AbiError> {
        self.resolved
            .target(type_name)
            .ok_or_else(|| AbiError::NoSuchType(type_name.chars().take(200).collect()))
    }

    /// Encodes a JSON value as `type_name`.
    pub fn encode(&self, type_name: &str, value: &Value) -> Result<Vec<u8>, AbiError> {
        let mut out = Vec::new();
        self.encode_into(type_name, value, &mut out)?;
        Ok(out)
    }

    /// Appends the encoding of a JSON value as `type_name` to `out` (unchanged on error).
    pub fn encode_into(
        &self,
        type_name: &str,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), AbiError> {
        let target = self.lookup(type_name)?;
        let start = out.len();
        self.resolved
            .encode_target(target, value, out, 0)
            .map_err(|f| {
                out.truncate(start);
                f.into_error(type_name, MAX_DEPTH)
            })
    }

    /// Decodes a whole buffer as `type_name`; trailing bytes are an error.
    pub fn decode(&self, type_name: &str, data: &[u8]) -> Result<Value, AbiError> {
        let target = self.lookup(type_name)?;
        let mut r = Reader::new(data);
        let value = self
            .resolved
            .decode_target(target, &mut r, 0)
            .map_err(|f| f.into_error(type_name, MAX_DEPTH))?;
        finish(&r, type_name)?;
        Ok(value)
    }

    /// Decodes one `type_name` value from a reader, leaving any following bytes unread.
    pub fn decode_from(&self, type_name: &str, r: &mut Reader<'_>) -> Result<Value, AbiError> {
        let target = self.lookup(type_name)?;
        self.resolved
            .decode_target(target, r, 0)
            .map_err(|f| f.into_error(type_name, MAX_DEPTH))
    }

    /// Decodes action data with the action's type.
    pub fn decode_action(&self, action: Name, data: &[u8]) -> Result<Value, AbiError> {
        let i = *self
            .actions
            .get(&action)
            .ok_or_else(|| AbiError::NoSuchType(format!("action {action}")))?;
        self.decode_id(
            self.resolved.action_types[i],
            &self.def.actions[i].type_,
            data,
        )
    }

    /// Encodes action data with the action's type.
    pub fn encode_action(&self, action: Name, value: &Value) -> Result<Vec<u8>, AbiError> {
        let type_name = self
            .action_type(action)
            .ok_or_else(|| AbiError::NoSuchType(format!("action {action}")))?;
        self.encode(type_name, value)
    }

    /// Decodes a table row with the table's row type.
    pub fn decode_table_row(&self, table: Name, data: &[u8]) -> Result<Value, AbiError> {
        let i = *self
            .tables
            .get(&table)
            .ok_or_else(|| AbiError::NoSuchType(format!("table {table}")))?;
        self.decode_id(
            self.resolved.table_types[i],
            &self.def.tables[i].type_,
            data,
        )
    }

    fn decode_id(&self, id: TypeId, type_name: &str, data: &[u8]) -> Result<Value, AbiError> {
        let mut r = Reader::new(data);
        let value = self
            .resolved
            .decode(id, &mut r, 0)
            .map_err(|f| f.into_error(type_name, MAX_DEPTH))?;
        finish(&r, type_name)?;
        Ok(value)
    }
}

fn finish(r: &Reader<'_>, type_name: &str) -> Result<(), AbiError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(AbiError::TrailingBytes {
            type_name: type_name.to_owned(),
            offset: r.offset(),
            trailing: r.remaining(),
        })
    }
}

#[cfg(test)]
mod tests;
