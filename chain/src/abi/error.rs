//! `AbiError` and the internal failure type that collects the field path while unwinding.

use std::fmt::Write;

use thiserror::Error;

use crate::bytes::DecodeError;

/// Why an ABI could not be loaded, or a value could not be encoded or decoded with it.
///
/// `path` names the value: the type name, then `.field`, `[index]` and `<variant alternative>`
/// segments, e.g. `reguser.statement.signatures[0].public_key`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AbiError {
    #[error("ABI JSON is invalid: {0}")]
    Json(String),
    #[error("binary ABI is invalid: {0}")]
    Binary(DecodeError),
    #[error("ABI: unknown type {type_name:?} used by {context}")]
    UnknownType { type_name: String, context: String },
    #[error("ABI: type {type_name:?} used by {context} is malformed: {reason}")]
    BadTypeName {
        type_name: String,
        context: String,
        reason: String,
    },
    #[error("ABI: type alias cycle through {type_name:?}")]
    AliasCycle { type_name: String },
    #[error("ABI: struct base cycle through {struct_name:?}")]
    BaseCycle { struct_name: String },
    #[error("ABI: {kind} {name:?} is defined more than once")]
    Duplicate { kind: &'static str, name: String },
    #[error("ABI: base {base:?} of struct {struct_name:?} is not a struct")]
    BaseNotStruct { struct_name: String, base: String },
    #[error("no type {0:?} in this ABI")]
    NoSuchType(String),
    #[error("{path}: cannot encode {expected}: {message}")]
    Encode {
        path: String,
        expected: String,
        message: String,
    },
    #[error("{path}: cannot decode {expected} at byte offset {offset}: {message}")]
    Decode {
        path: String,
        expected: String,
        offset: usize,
        message: String,
    },
    #[error("{path}: nesting is deeper than the limit of {limit}")]
    TooDeep { path: String, limit: usize },
    #[error("{trailing} trailing bytes after {type_name} at byte offset {offset}")]
    TrailingBytes {
        type_name: String,
        offset: usize,
        trailing: usize,
    },
}

/// One step of a value path.
#[derive(Debug, Clone)]
pub(crate) enum Seg {
    Field(String),
    Index(usize),
    Alternative(String),
}

#[derive(Debug)]
pub(crate) enum FailKind {
    Encode {
        expected: String,
        message: String,
    },
    Decode {
        expected: String,
        offset: usize,
        message: String,
    },
    TooDeep,
}

/// A failure deep inside a value; the path is collected leaf-first while the error propagates.
#[derive(Debug)]
pub(crate) struct Fail {
    kind: FailKind,
    rev_path: Vec<Seg>,
}

pub(crate) type Failure = Box<Fail>;

impl Fail {
    pub(crate) fn encode(expected: &str, message: impl Into<String>) -> Failure {
        Box::new(Fail {
            kind: FailKind::Encode {
                expected: expected.to_owned(),
                message: message.into(),
            },
            rev_path: Vec::new(),
        })
    }

    pub(crate) fn decode(expected: &str, offset: usize, message: impl Into<String>) -> Failure {
        Box::new(Fail {
            kind: FailKind::Decode {
                expected: expected.to_owned(),
                offset,
                message: message.into(),
            },
            rev_path: Vec::new(),
        })
    }

    /// A reader error, split into its offset and a message without the offset.
    pub(crate) fn from_decode_error(expected: &str, at: usize, e: DecodeError) -> Failure {
        let (offset, message) = match e {
            DecodeError::UnexpectedEnd { offset, needed } => (
                offset,
                format!("unexpected end of data ({needed} more bytes needed)"),
            ),
            DecodeError::BadVarint { offset } => (
                offset,
                "varuint32 is too long or overflows 32 bits".to_owned(),
            ),
            DecodeError::LengthTooLarge {
                offset,
                len,
                remaining,
            } => (
                offset,
                format!("length {len} exceeds the {remaining} bytes that remain"),
            ),
            DecodeError::BadUtf8 { offset } => (offset, "invalid UTF-8 in string".to_owned()),
            DecodeError::BadBool { offset, byte } => (offset, format!("invalid bool byte {byte}")),
            DecodeError::Invalid { offset, reason } => (offset, reason),
            DecodeError::TrailingBytes { trailing } => (at, format!("{trailing} trailing bytes")),
        };
        Fail::decode(expected, offset, message)
    }

    pub(crate) fn too_deep() -> Failure {
        Box::new(Fail {
            kind: FailKind::TooDeep,
            rev_path: Vec::new(),
        })
    }
}

/// Adds path segments to a failure as it propagates outwards.
pub(crate) trait AtPath<T> {
    fn at_field(self, name: &str) -> Result<T, Failure>;
    fn at_index(self, index: usize) -> Result<T, Failure>;
    fn at_alternative(self, name: &str) -> Result<T, Failure>;
}

impl<T> AtPath<T> for Result<T, Failure> {
    #[inline]
    fn at_field(self, name: &str) -> Result<T, Failure> {
        self.map_err(|mut f| {
            f.rev_path.push(Seg::Field(name.to_owned()));
            f
        })
    }

    #[inline]
    fn at_index(self, index: usize) -> Result<T, Failure> {
        self.map_err(|mut f| {
            f.rev_path.push(Seg::Index(index));
            f
        })
    }

    #[inline]
    fn at_alternative(self, name: &str) -> Result<T, Failure> {
        self.map_err(|mut f| {
            f.rev_path.push(Seg::Alternative(name.to_owned()));
            f
        })
    }
}

impl Fail {
    /// The public error, with the path rooted at `root` (the requested type name).
    pub(crate) fn into_error(self, root: &str, depth_limit: usize) -> AbiError {
        let mut path = root.to_owned();
        for seg in self.rev_path.iter().rev() {
            // Writing to a String cannot fail.
            let _ = match seg {
                Seg::Field(name) => write!(path, ".{name}"),
                Seg::Index(i) => write!(path, "[{i}]"),
                Seg::Alternative(name) => write!(path, "<{name}>"),
            };
        }
        match self.kind {
            FailKind::Encode { expected, message } => AbiError::Encode {
                path,
                expected,
                message,
            },
            FailKind::Decode {
                expected,
                offset,
                message,
            } => AbiError::Decode {
                path,
                expected,
                offset,
                message,
            },
            FailKind::TooDeep => AbiError::TooDeep {
                path,
                limit: depth_limit,
            },
        }
    }
}
