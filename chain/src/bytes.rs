//! Antelope binary serialization: the `Pack`/`Unpack` traits, a bounds-checked `Reader`, and the
//! primitive encodings (little-endian integers, varuint32/varint32, length-prefixed bytes).
//!
//! Decoding never panics and never allocates more than the input could possibly hold: every
//! length prefix is checked against the bytes that remain before anything is reserved.

use thiserror::Error;

/// Why a byte sequence could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("unexpected end of data at offset {offset}: needed {needed} more bytes")]
    UnexpectedEnd { offset: usize, needed: usize },
    #[error("varuint32 at offset {offset} is too long or overflows 32 bits")]
    BadVarint { offset: usize },
    #[error("length {len} at offset {offset} exceeds the {remaining} bytes that remain")]
    LengthTooLarge {
        offset: usize,
        len: u64,
        remaining: usize,
    },
    #[error("invalid UTF-8 in string at offset {offset}")]
    BadUtf8 { offset: usize },
    #[error("invalid bool byte {byte} at offset {offset}")]
    BadBool { offset: usize, byte: u8 },
    #[error("invalid value at offset {offset}: {reason}")]
    Invalid { offset: usize, reason: String },
    #[error("{trailing} trailing bytes after the value")]
    TrailingBytes { trailing: usize },
}

/// A cursor over input bytes; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Current offset from the start of the input.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub fn varuint32(&mut self) -> Result<u32, DecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..5 {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| DecodeError::BadVarint { offset: start });
            }
        }
        Err(DecodeError::BadVarint { offset: start })
    }

    pub fn varint32(&mut self) -> Result<i32, DecodeError> {
        let v = self.varuint32()?;
        // zig-zag
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Reads a varuint32 length prefix that counts items of at least `min_item_size` bytes and
    /// checks that so many items could fit in what remains (guards allocations).
    pub fn length(&mut self, min_item_size: usize) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let len = self.varuint32()? as usize;
        let needed = len.saturating_mul(min_item_size.max(1));
        if min_item_size > 0 && needed > self.remaining() {
            return Err(DecodeError::LengthTooLarge {
                offset,
                len: len as u64,
                remaining: self.remaining(),
            });
        }
        // Items that may encode to zero bytes (e.g. empty structs) are capped at one per
        // remaining byte plus a small constant, so what a decode allocates stays proportional
        // to its input whatever the prefix claims.
        if min_item_size == 0 && len > self.remaining().saturating_add(1024) {
            return Err(DecodeError::LengthTooLarge {
                offset,
                len: len as u64,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    /// Length-prefixed raw bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.length(1)?;
        self.take(len)
    }

    /// Length-prefixed UTF-8 string.
    pub fn string(&mut self) -> Result<String, DecodeError> {
        let offset = self.pos;
        let raw = self.bytes()?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| DecodeError::BadUtf8 { offset })
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            trailing => Err(DecodeError::TrailingBytes { trailing }),
        }
    }
}

/// Appends the Antelope binary form of a value.
pub trait Pack {
    fn pack(&self, out: &mut Vec<u8>);

    fn packed(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.pack(&mut out);
        out
    }
}

/// Reads a value in Antelope binary form.
pub trait Unpack: Sized {
    /// The smallest encoded size of one value; used to bound allocations for arrays.
    const MIN_SIZE: usize;

    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole buffer, rejecting trailing bytes.
    fn unpacked(data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(data);
        let v = Self::unpack(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

pub fn pack_varuint32(mut v: u32, out: &mut Vec<u8>) {
    loop {
        let mut byte = (v & 0x7f) as u8;
        v >>= 7;
        if v != 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if v == 0 {
            break;
        }
    }
}

pub fn pack_varint32(v: i32, out: &mut Vec<u8>) {
    pack_varuint32(((v << 1) ^ (v >> 31)) as u32, out);
}

/// Length prefix for a collection; Antelope lengths are varuint32.
pub fn pack_len(len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(len).expect("collections longer than u32::MAX cannot be encoded");
    pack_varuint32(len, out);
}

pub fn pack_bytes(data: &[u8], out: &mut Vec<u8>) {
    pack_len(data.len(), out);
    out.extend_from_slice(data);
}

macro_rules! int_impl {
    ($($t:ty),*) => {$(
        impl Pack for $t {
            fn pack(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Unpack for $t {
            const MIN_SIZE: usize = std::mem::size_of::<$t>();
            fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(r.take_array()?))
            }
        }
    )*};
}
int_impl!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

impl Pack for bool {
    fn pack(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}
impl Unpack for bool {
    const MIN_SIZE: usize = 1;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            byte => Err(DecodeError::BadBool { offset, byte }),
        }
    }
}

/// `varuint32` as a distinct type so struct fields say what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VarUint32(pub u32);

impl Pack for VarUint32 {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varuint32(self.0, out);
    }
}
impl Unpack for VarUint32 {
    const MIN_SIZE: usize = 1;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.varuint32().map(VarUint32)
    }
}

/// `varint32` (zig-zag) as a distinct type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VarInt32(pub i32);

impl Pack for VarInt32 {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varint32(self.0, out);
    }
}
impl Unpack for VarInt32 {
    const MIN_SIZE: usize = 1;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.varint32().map(VarInt32)
    }
}

impl Pack for String {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_bytes(self.as_bytes(), out);
    }
}
impl Pack for str {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_bytes(self.as_bytes(), out);
    }
}
impl Unpack for String {
    const MIN_SIZE: usize = 1;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.string()
    }
}

/// Length-prefixed opaque bytes (ABI type `bytes`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl Pack for Bytes {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_bytes(&self.0, out);
    }
}
impl Unpack for Bytes {
    const MIN_SIZE: usize = 1;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Bytes(r.bytes()?.to_vec()))
    }
}

impl<T: Pack> Pack for Vec<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_len(self.len(), out);
        for item in self {
            item.pack(out);
        }
    }
}
impl<T: Unpack> Unpack for Vec<T> {
    const MIN_SIZE: usize = 1;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.length(T::MIN_SIZE)?;
        let mut out = Vec::with_capacity(len.min(r.remaining()));
        for _ in 0..len {
            out.push(T::unpack(r)?);
        }
        Ok(out)
    }
}

impl<T: Pack> Pack for Option<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.pack(out);
            }
        }
    }
}
impl<T: Unpack> Unpack for Option<T> {
    const MIN_SIZE: usize = 1;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if bool::unpack(r)? {
            Ok(Some(T::unpack(r)?))
        } else {
            Ok(None)
        }
    }
}

impl<T: Pack + ?Sized> Pack for &T {
    fn pack(&self, out: &mut Vec<u8>) {
        (**self).pack(out);
    }
}

impl<T: Pack + ?Sized> Pack for Box<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        (**self).pack(out);
    }
}
impl<T: Unpack> Unpack for Box<T> {
    const MIN_SIZE: usize = T::MIN_SIZE;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        T::unpack(r).map(Box::new)
    }
}

/// Binary extension (`$` in an ABI): present on the wire only if bytes remain.
///
/// On encode `None` writes nothing; a `Some` after a `None` in the same struct cannot be
/// represented, which callers must respect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BinaryExtension<T>(pub Option<T>);

impl<T: Pack> Pack for BinaryExtension<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        if let Some(v) = &self.0 {
            v.pack(out);
        }
    }
}
impl<T: Unpack> Unpack for BinaryExtension<T> {
    const MIN_SIZE: usize = 0;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.is_empty() {
            Ok(BinaryExtension(None))
        } else {
            T::unpack(r).map(|v| BinaryExtension(Some(v)))
        }
    }
}

/// Implements `Pack`/`Unpack` for a struct by packing its fields in order.
#[macro_export]
macro_rules! pack_struct {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::bytes::Pack for $ty {
            fn pack(&self, out: &mut Vec<u8>) {
                $( $crate::bytes::Pack::pack(&self.$field, out); )*
            }
        }
        impl $crate::bytes::Unpack for $ty {
            const MIN_SIZE: usize = 0;
            fn unpack(r: &mut $crate::bytes::Reader<'_>) -> Result<Self, $crate::bytes::DecodeError> {
                Ok($ty { $( $field: $crate::bytes::Unpack::unpack(r)?, )* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varuint32_roundtrip_and_bounds() {
        for v in [0u32, 1, 127, 128, 255, 16_383, 16_384, 2_097_151, u32::MAX] {
            let mut out = Vec::new();
            pack_varuint32(v, &mut out);
            assert_eq!(Reader::new(&out).varuint32().unwrap(), v);
        }
        // 5th byte overflowing 32 bits
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x7f])
            .varuint32()
            .is_err());
        // too long
        assert!(Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
            .varuint32()
            .is_err());
    }

    #[test]
    fn varint32_zigzag() {
        for v in [0i32, -1, 1, -64, 63, i32::MIN, i32::MAX] {
            let mut out = Vec::new();
            pack_varint32(v, &mut out);
            assert_eq!(Reader::new(&out).varint32().unwrap(), v);
        }
    }

    #[test]
    fn hostile_length_prefix_is_rejected_without_allocating() {
        // claims 2^32-1 strings but carries 3 bytes
        let data = [0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3];
        let err = Vec::<String>::unpacked(&data).unwrap_err();
        assert!(matches!(err, DecodeError::LengthTooLarge { .. }), "{err}");
    }

    #[test]
    fn zero_size_items_are_capped_by_the_input_size() {
        let mut data = Vec::new();
        pack_varuint32(1_000_000, &mut data);
        data.extend_from_slice(&[0u8; 16]);
        let mut r = Reader::new(&data);
        assert!(matches!(
            r.length(0),
            Err(DecodeError::LengthTooLarge { .. })
        ));
        let mut ok = Vec::new();
        pack_varuint32(1000, &mut ok);
        assert_eq!(Reader::new(&ok).length(0), Ok(1000));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        assert_eq!(
            u16::unpacked(&[1, 0, 9]),
            Err(DecodeError::TrailingBytes { trailing: 1 })
        );
    }
}
