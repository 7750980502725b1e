//! The ABI-driven codec: walks resolved type ids to turn JSON values into bytes and back.
//!
//! Depth is bounded by [`MAX_DEPTH`] in both directions; array lengths are checked against the
//! remaining input (via each element type's minimum size) before anything is allocated.

use serde_json::{Map, Value};

use super::builtin::render;
use super::error::{AtPath, Fail, Failure};
use super::resolve::{Node, Resolved, TypeId};
use crate::bytes::{pack_len, pack_varuint32, Reader};

/// Deepest nesting of structs, arrays, optionals and variants the codec follows.
pub const MAX_DEPTH: usize = 64;

/// A type to code: an id from the resolved tables, or wrappers around one for composite names
/// (`T[]`, `T?`) that the ABI itself never mentions.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'n> {
    Id(TypeId),
    Optional(&'n str),
    Array(&'n str),
}

impl Resolved {
    fn name_of(&self, id: TypeId) -> &str {
        &self.types[id as usize].name
    }

    /// What `name` denotes, if anything (composite names are resolved on the fly).
    pub(crate) fn target<'n>(&self, name: &'n str) -> Option<Target<'n>> {
        self.target_at(name, 0)
    }

    fn target_at<'n>(&self, name: &'n str, depth: usize) -> Option<Target<'n>> {
        if let Some(&id) = self.by_name.get(name) {
            return Some(Target::Id(id));
        }
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(inner) = name.strip_suffix('?') {
            return self
                .target_at(inner, depth + 1)
                .map(|_| Target::Optional(inner));
        }
        if let Some(inner) = name.strip_suffix("[]") {
            return self
                .target_at(inner, depth + 1)
                .map(|_| Target::Array(inner));
        }
        None
    }

    /// The inner part of a composite name; it resolved when the outer name did, so this lookup
    /// cannot fail in practice.
    fn inner_target<'n>(&self, name: &'n str) -> Result<Target<'n>, Failure> {
        self.target(name).ok_or_else(Fail::too_deep)
    }

    fn target_min_size(&self, t: Target<'_>) -> usize {
        match t {
            Target::Id(id) => self.types[id as usize].min_size,
            Target::Optional(_) | Target::Array(_) => 1,
        }
    }

    // ----------------------------------------------------------------------------- decoding

    pub(crate) fn decode_target(
        &self,
        t: Target<'_>,
        r: &mut Reader<'_>,
        depth: usize,
    ) -> Result<Value, Failure> {
        match t {
            Target::Id(id) => self.decode(id, r, depth),
            Target::Optional(inner) => {
                let offset = r.offset();
                match r
                    .u8()
                    .map_err(|e| Fail::from_decode_error("optional", offset, e))?
                {
                    0 => Ok(Value::Null),
                    1 => self.decode_target(self.inner_target(inner)?, r, depth + 1),
                    b => Err(Fail::decode(
                        "optional",
                        offset,
                        format!("invalid flag byte {b}"),
                    )),
                }
            }
            Target::Array(inner) => {
                let inner = self.inner_target(inner)?;
                let offset = r.offset();
                let len = r
                    .length(self.target_min_size(inner))
                    .map_err(|e| Fail::from_decode_error("array", offset, e))?;
                let mut items = Vec::with_capacity(len.min(r.remaining()));
                for i in 0..len {
                    items.push(self.decode_target(inner, r, depth + 1).at_index(i)?);
                }
                Ok(Value::Array(items))
            }
        }
    }

    pub(crate) fn decode(
        &self,
        id: TypeId,
        r: &mut Reader<'_>,
        depth: usize,
    ) -> Result<Value, Failure> {
        if depth > MAX_DEPTH {
            return Err(Fail::too_deep());
        }
        let info = &self.types[id as usize];
        match info.node {
            Node::Builtin(b) => {
                let offset = r.offset();
                b.decode(r)
                    .map_err(|e| Fail::from_decode_error(b.name(), offset, e))
            }
            Node::Optional(inner) => {
                let offset = r.offset();
                match r
                    .u8()
                    .map_err(|e| Fail::from_decode_error(&info.name, offset, e))?
                {
                    0 => Ok(Value::Null),
                    1 => self.decode(inner, r, depth + 1),
                    b => Err(Fail::decode(
                        &info.name,
                        offset,
                        format!("invalid optional flag byte {b}"),
                    )),
                }
            }
            Node::Array(inner) => self.decode_array(id, inner, None, r, depth),
            Node::FixedArray(inner, n) => self.decode_array(id, inner, Some(n), r, depth),
            Node::Struct(si) => {
                let fields = &self.structs[si as usize].fields;
                let mut map = Map::with_capacity(fields.len());
                for f in fields {
                    if f.extension && r.is_empty() {
                        continue;
                    }
                    let v = self.decode(f.ty, r, depth + 1).at_field(&f.name)?;
                    map.insert(f.name.clone(), v);
                }
                Ok(Value::Object(map))
            }
            Node::Variant(vi) => {
                let alternatives = &self.variants[vi as usize].alternatives;
                let offset = r.offset();
                let index = r
                    .varuint32()
                    .map_err(|e| Fail::from_decode_error(&info.name, offset, e))?;
                let (alt_name, alt_ty) = alternatives.get(index as usize).ok_or_else(|| {
                    Fail::decode(
                        &info.name,
                        offset,
                        format!("variant index {index} is not below {}", alternatives.len()),
                    )
                })?;
                let v = self
                    .decode(*alt_ty, r, depth + 1)
                    .at_alternative(alt_name)?;
                Ok(Value::Array(vec![Value::String(alt_name.clone()), v]))
            }
        }
    }

    fn decode_array(
        &self,
        id: TypeId,
        inner: TypeId,
        fixed: Option<u32>,
        r: &mut Reader<'_>,
        depth: usize,
    ) -> Result<Value, Failure> {
        let offset = r.offset();
        let len = r
            .length(self.types[inner as usize].min_size)
            .map_err(|e| Fail::from_decode_error(self.name_of(id), offset, e))?;
        if let Some(n) = fixed {
            if len != n as usize {
                return Err(Fail::decode(
                    self.name_of(id),
                    offset,
                    format!("fixed array holds {len} items instead of {n}"),
                ));
            }
        }
        let mut items = Vec::with_capacity(len.min(r.remaining()));
        for i in 0..len {
            items.push(self.decode(inner, r, depth + 1).at_index(i)?);
        }
        Ok(Value::Array(items))
    }

    // ----------------------------------------------------------------------------- encoding

    pub(crate) fn encode_target(
        &self,
        t: Target<'_>,
        v: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Failure> {
        match t {
            Target::Id(id) => self.encode(id, v, out, depth),
            Target::Optional(inner) => {
                if v.is_null() {
                    out.push(0);
                    Ok(())
                } else {
                    out.push(1);
                    self.encode_target(self.inner_target(inner)?, v, out, depth + 1)
                }
            }
            Target::Array(inner) => {
                let inner = self.inner_target(inner)?;
                let items = v.as_array().ok_or_else(|| {
                    Fail::encode("array", format!("expected an array, got {}", render(v)))
                })?;
                pack_len(items.len(), out);
                for (i, item) in items.iter().enumerate() {
                    self.encode_target(inner, item, out, depth + 1)
                        .at_index(i)?;
                }
                Ok(())
            }
        }
    }

    pub(crate) fn encode(
        &self,
        id: TypeId,
        v: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Failure> {
        if depth > MAX_DEPTH {
            return Err(Fail::too_deep());
        }
        let info = &self.types[id as usize];
        match info.node {
            Node::Builtin(b) => b
                .encode(v, out)
                .map_err(|m| Fail::encode(b.name(), format!("{m} (got {})", render(v)))),
            Node::Optional(inner) => {
                if v.is_null() {
                    out.push(0);
                    Ok(())
                } else {
                    out.push(1);
                    self.encode(inner, v, out, depth + 1)
                }
            }
            Node::Array(inner) | Node::FixedArray(inner, _) => {
                let items = v.as_array().ok_or_else(|| {
                    Fail::encode(&info.name, format!("expected an array, got {}", render(v)))
                })?;
                if let Node::FixedArray(_, n) = info.node {
                    if items.len() != n as usize {
                        return Err(Fail::encode(
                            &info.name,
                            format!("expected exactly {n} items, got {}", items.len()),
                        ));
                    }
                }
                pack_len(items.len(), out);
                for (i, item) in items.iter().enumerate() {
                    self.encode(inner, item, out, depth + 1).at_index(i)?;
                }
                Ok(())
            }
            Node::Struct(si) => self.encode_struct(id, si, v, out, depth),
            Node::Variant(vi) => {
                let alternatives = &self.variants[vi as usize].alternatives;
                let expected = || {
                    let names: Vec<&str> = alternatives.iter().map(|(n, _)| n.as_str()).collect();
                    format!(
                        "expected [\"<{}>\", value], got {}",
                        names.join("|"),
                        render(v)
                    )
                };
                let (tag, value) = match v.as_array().map(Vec::as_slice) {
                    Some([Value::String(tag), value]) => (tag, value),
                    _ => return Err(Fail::encode(&info.name, expected())),
                };
                let index = alternatives
                    .iter()
                    .position(|(n, _)| n == tag)
                    .ok_or_else(|| Fail::encode(&info.name, expected()))?;
                pack_varuint32(index as u32, out);
                self.encode(alternatives[index].1, value, out, depth + 1)
                    .at_alternative(tag)
            }
        }
    }

    fn encode_struct(
        &self,
        id: TypeId,
        si: u32,
        v: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Failure> {
        let name = self.name_of(id);
        let obj = v
            .as_object()
            .ok_or_else(|| Fail::encode(name, format!("expected an object, got {}", render(v))))?;
        let fields = &self.structs[si as usize].fields;
        let mut used = 0usize;
        let mut absent_extension: Option<&str> = None;
        for f in fields {
            let is_optional = matches!(self.types[f.ty as usize].node, Node::Optional(_));
            let value = obj.get(&f.name);
            if value.is_some() {
                used += 1;
            }
            match value {
                // A null extension field of a non-optional type counts as absent.
                Some(Value::Null) if f.extension && !is_optional => {
                    absent_extension.get_or_insert(&f.name);
                }
                Some(fv) => {
                    if let Some(absent) = absent_extension {
                        return Err(Fail::encode(
                            name,
                            format!(
                                "binary extension field {:?} is present after the absent extension field {absent:?}",
                                f.name
                            ),
                        ));
                    }
                    self.encode(f.ty, fv, out, depth + 1).at_field(&f.name)?;
                }
                None if f.extension => {
                    absent_extension.get_or_insert(&f.name);
                }
                None if is_optional && absent_extension.is_none() => out.push(0),
                None => {
                    return Err(Fail::encode(name, format!("missing field {:?}", f.name)));
                }
            }
        }
        if used != obj.len() {
            if let Some(extra) = obj.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
                return Err(Fail::encode(name, format!("unknown field {extra:?}")));
            }
        }
        Ok(())
    }
}
