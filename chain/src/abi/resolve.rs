//! Turns an `AbiDef` into index-linked type tables, validating it (unknown types, alias and base
//! cycles, duplicates, malformed type names) so the codec never looks names up per field.

use std::collections::{HashMap, HashSet};

use super::builtin::Builtin;
use super::def::AbiDef;
use super::error::AbiError;

/// Index into [`Resolved::types`].
pub(crate) type TypeId = u32;

/// Longest chain of aliases / `?` / `[]` wrappers accepted while resolving one type name.
const MAX_RESOLVE_DEPTH: usize = 64;

/// Largest `T[N]` accepted.
const MAX_FIXED_ARRAY: u32 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    Builtin(Builtin),
    Optional(TypeId),
    Array(TypeId),
    /// `T[N]`: a length-prefixed array that must hold exactly N items.
    FixedArray(TypeId, u32),
    Struct(u32),
    Variant(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct TypeInfo {
    pub(crate) node: Node,
    /// Canonical name (for aliases: the name of the type they stand for).
    pub(crate) name: String,
    /// Lower bound of the encoded size; bounds array allocations.
    pub(crate) min_size: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    pub(crate) name: String,
    pub(crate) ty: TypeId,
    /// Declared with a trailing `$`.
    pub(crate) extension: bool,
}

/// A struct with its base's fields flattened in front of its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct StructInfo {
    pub(crate) fields: Vec<FieldInfo>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct VariantInfo {
    /// Alternatives in wire order: (name as written in the ABI, resolved type).
    pub(crate) alternatives: Vec<(String, TypeId)>,
}

/// The resolved tables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    pub(crate) types: Vec<TypeInfo>,
    pub(crate) structs: Vec<StructInfo>,
    pub(crate) variants: Vec<VariantInfo>,
    pub(crate) by_name: HashMap<String, TypeId>,
    /// Same order as `AbiDef::actions` / `tables` / `action_results`.
    pub(crate) action_types: Vec<TypeId>,
    pub(crate) table_types: Vec<TypeId>,
    pub(crate) action_result_types: Vec<TypeId>,
}

struct Builder<'a> {
    aliases: HashMap<&'a str, &'a str>,
    struct_defs: HashMap<&'a str, u32>,
    variant_defs: HashMap<&'a str, u32>,
    resolving_aliases: HashSet<&'a str>,
    out: Resolved,
}

pub(crate) fn resolve(def: &AbiDef) -> Result<Resolved, AbiError> {
    let mut b = Builder {
        aliases: HashMap::new(),
        struct_defs: HashMap::new(),
        variant_defs: HashMap::new(),
        resolving_aliases: HashSet::new(),
        out: Resolved::default(),
    };
    let mut defined: HashSet<&str> = HashSet::new();
    for t in &def.types {
        claim(&mut defined, "type", &t.new_type_name)?;
        b.aliases.insert(&t.new_type_name, &t.type_);
    }
    for (i, s) in def.structs.iter().enumerate() {
        claim(&mut defined, "struct", &s.name)?;
        b.struct_defs.insert(&s.name, i as u32);
    }
    for (i, v) in def.variants.iter().enumerate() {
        claim(&mut defined, "variant", &v.name)?;
        b.variant_defs.insert(&v.name, i as u32);
    }
    for builtin in Builtin::ALL {
        b.push(builtin.name(), Node::Builtin(*builtin));
    }
    // Every defined name gets a node, referenced or not.
    for s in &def.structs {
        b.resolve(&s.name, "the struct list", 0)?;
    }
    for v in &def.variants {
        b.resolve(&v.name, "the variant list", 0)?;
    }
    for t in &def.types {
        b.resolve(
            &t.new_type_name,
            &format!("type alias {:?}", t.new_type_name),
            0,
        )?;
    }

    // Struct fields (own), then bases flattened in front.
    let mut own: Vec<Vec<FieldInfo>> = Vec::with_capacity(def.structs.len());
    let mut bases: Vec<Option<u32>> = Vec::with_capacity(def.structs.len());
    for s in &def.structs {
        let mut fields = Vec::with_capacity(s.fields.len());
        for f in &s.fields {
            let (type_name, extension) = match f.type_.strip_suffix('$') {
                Some(inner) => (inner, true),
                None => (f.type_.as_str(), false),
            };
            let context = format!("field {:?} of struct {:?}", f.name, s.name);
            let ty = b.resolve(type_name, &context, 0)?;
            fields.push(FieldInfo {
                name: f.name.clone(),
                ty,
                extension,
            });
        }
        own.push(fields);
        bases.push(if s.base.is_empty() {
            None
        } else {
            let id = b.resolve(&s.base, &format!("base of struct {:?}", s.name), 0)?;
            match b.out.types[id as usize].node {
                Node::Struct(si) => Some(si),
                _ => {
                    return Err(AbiError::BaseNotStruct {
                        struct_name: s.name.clone(),
                        base: s.base.clone(),
                    })
                }
            }
        });
    }
    b.out.structs = Vec::with_capacity(def.structs.len());
    for (i, s) in def.structs.iter().enumerate() {
        // Walk the base chain (iteratively, so long chains cannot exhaust the stack).
        let mut chain = vec![i];
        let mut seen = HashSet::from([i]);
        let mut cur = i;
        while let Some(base) = bases[cur] {
            let base = base as usize;
            if !seen.insert(base) {
                return Err(AbiError::BaseCycle {
                    struct_name: s.name.clone(),
                });
            }
            chain.push(base);
            cur = base;
        }
        let fields = chain
            .iter()
            .rev()
            .flat_map(|&si| own[si].iter().cloned())
            .collect();
        b.out.structs.push(StructInfo { fields });
    }

    for v in &def.variants {
        let mut alternatives = Vec::with_capacity(v.types.len());
        for t in &v.types {
            let ty = b.resolve(t, &format!("variant {:?}", v.name), 0)?;
            alternatives.push((t.clone(), ty));
        }
        b.out.variants.push(VariantInfo { alternatives });
    }

    let mut names = HashSet::new();
    for a in &def.actions {
        if !names.insert(a.name) {
            return Err(AbiError::Duplicate {
                kind: "action",
                name: a.name.to_string(),
            });
        }
        let ty = b.resolve(&a.type_, &format!("action {:?}", a.name.to_string()), 0)?;
        b.out.action_types.push(ty);
    }
    names.clear();
    for t in &def.tables {
        if !names.insert(t.name) {
            return Err(AbiError::Duplicate {
                kind: "table",
                name: t.name.to_string(),
            });
        }
        let ty = b.resolve(&t.type_, &format!("table {:?}", t.name.to_string()), 0)?;
        b.out.table_types.push(ty);
    }
    for r in &def.action_results {
        let context = format!("action result {:?}", r.name.to_string());
        let ty = b.resolve(&r.result_type, &context, 0)?;
        b.out.action_result_types.push(ty);
    }

    b.compute_min_sizes();
    Ok(b.out)
}

fn claim<'d>(
    defined: &mut HashSet<&'d str>,
    kind: &'static str,
    name: &'d str,
) -> Result<(), AbiError> {
    if defined.insert(name) {
        Ok(())
    } else {
        Err(AbiError::Duplicate {
            kind,
            name: name.to_owned(),
        })
    }
}

impl<'a> Builder<'a> {
    fn push(&mut self, name: &str, node: Node) -> TypeId {
        let id = self.out.types.len() as TypeId;
        self.out.types.push(TypeInfo {
            node,
            name: name.to_owned(),
            min_size: 0,
        });
        self.out.by_name.insert(name.to_owned(), id);
        id
    }

    fn resolve(&mut self, name: &'a str, context: &str, depth: usize) -> Result<TypeId, AbiError> {
        if let Some(&id) = self.out.by_name.get(name) {
            return Ok(id);
        }
        let bad = |reason: &str| AbiError::BadTypeName {
            type_name: name.chars().take(200).collect(),
            context: context.to_owned(),
            reason: reason.to_owned(),
        };
        if depth > MAX_RESOLVE_DEPTH {
            return Err(bad("too many nested aliases, optionals or arrays"));
        }
        if name.ends_with('$') {
            return Err(bad(
                "a binary extension `$` is only allowed as a struct field type",
            ));
        }
        if let Some(inner) = name.strip_suffix('?') {
            let inner = self.resolve(inner, context, depth + 1)?;
            return Ok(self.push(name, Node::Optional(inner)));
        }
        if let Some(inner) = name.strip_suffix("[]") {
            let inner = self.resolve(inner, context, depth + 1)?;
            return Ok(self.push(name, Node::Array(inner)));
        }
        if let Some(open) = name.strip_suffix(']').and_then(|n| n.rfind('[')) {
            let digits = &name[open + 1..name.len() - 1];
            let n: u32 = digits
                .parse()
                .ok()
                .filter(|n| *n <= MAX_FIXED_ARRAY && digits.bytes().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| bad("fixed array size must be a decimal number"))?;
            let inner = self.resolve(&name[..open], context, depth + 1)?;
            return Ok(self.push(name, Node::FixedArray(inner, n)));
        }
        if let Some(&target) = self.aliases.get(name) {
            if !self.resolving_aliases.insert(name) {
                return Err(AbiError::AliasCycle {
                    type_name: name.to_owned(),
                });
            }
            let id = self.resolve(target, &format!("type alias {name:?}"), depth + 1)?;
            self.resolving_aliases.remove(name);
            self.out.by_name.insert(name.to_owned(), id);
            return Ok(id);
        }
        if let Some(&si) = self.struct_defs.get(name) {
            return Ok(self.push(name, Node::Struct(si)));
        }
        if let Some(&vi) = self.variant_defs.get(name) {
            return Ok(self.push(name, Node::Variant(vi)));
        }
        Err(AbiError::UnknownType {
            type_name: name.chars().take(200).collect(),
            context: context.to_owned(),
        })
    }

    /// Lower bounds of encoded sizes by fixpoint iteration from 0 (recursive types stay bounded
    /// by the number of passes; every intermediate value is a valid lower bound).
    fn compute_min_sizes(&mut self) {
        for _ in 0..8 {
            let mut changed = false;
            for id in 0..self.out.types.len() {
                let size = self.min_size_of(self.out.types[id].node);
                if size != self.out.types[id].min_size {
                    self.out.types[id].min_size = size;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn min_size_of(&self, node: Node) -> usize {
        let size = |id: TypeId| self.out.types[id as usize].min_size;
        match node {
            Node::Builtin(b) => b.min_size(),
            Node::Optional(_) | Node::Array(_) => 1,
            Node::FixedArray(inner, n) => {
                (n as usize).saturating_mul(size(inner)).saturating_add(1)
            }
            Node::Struct(si) => self.out.structs[si as usize]
                .fields
                .iter()
                .filter(|f| !f.extension)
                .fold(0usize, |acc, f| acc.saturating_add(size(f.ty))),
            Node::Variant(vi) => {
                let alts = &self.out.variants[vi as usize].alternatives;
                1 + alts.iter().map(|(_, t)| size(*t)).min().unwrap_or(0)
            }
        }
    }
}
