//! `ship_struct!` and `ship_variant!`: one declaration yields the Rust type, its `Pack`/`Unpack`
//! code and its ABI schema description, so the schema cannot drift from the wire code.

/// Declares a SHiP struct: `"abi_name" => RustName [base field: BaseType] { field: Type, … }`.
/// A base struct is packed first, as ABI `base` is.
macro_rules! ship_struct {
    (
        $(#[$meta:meta])*
        $abi:literal => $ty:ident $([base $bf:ident : $base:ty])? {
            $( $(#[$fmeta:meta])* $f:ident : $ft:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty {
            $(
                #[doc = "ABI base struct."]
                pub $bf: $base,
            )?
            $( $(#[$fmeta])* pub $f: $ft, )*
        }

        impl $crate::bytes::Pack for $ty {
            #[allow(unused_variables)]
            fn pack(&self, out: &mut Vec<u8>) {
                $( $crate::bytes::Pack::pack(&self.$bf, out); )?
                $( $crate::bytes::Pack::pack(&self.$f, out); )*
            }
        }

        impl $crate::bytes::Unpack for $ty {
            const MIN_SIZE: usize = 0
                $( + <$base as $crate::bytes::Unpack>::MIN_SIZE )?
                $( + <$ft as $crate::bytes::Unpack>::MIN_SIZE )*;

            #[allow(unused_variables)]
            fn unpack(
                r: &mut $crate::bytes::Reader<'_>,
            ) -> Result<Self, $crate::bytes::DecodeError> {
                Ok($ty {
                    $( $bf: $crate::bytes::Unpack::unpack(r)?, )?
                    $( $f: $crate::bytes::Unpack::unpack(r)?, )*
                })
            }
        }

        impl $crate::ship::schema::AbiTypeName for $ty {
            fn abi_type() -> String {
                $abi.to_owned()
            }
        }

        impl $crate::ship::schema::ShipSchema for $ty {
            fn schema() -> $crate::ship::schema::SchemaDef {
                // The base's ABI name when declared, otherwise "".
                let base = [
                    $( <$base as $crate::ship::schema::AbiTypeName>::abi_type(), )?
                    String::new(),
                ]
                .into_iter()
                .next()
                .unwrap_or_default();
                $crate::ship::schema::SchemaDef::Struct {
                    name: $abi,
                    base,
                    fields: vec![$(
                        (
                            $crate::ship::schema::abi_field_name(stringify!($f)),
                            <$ft as $crate::ship::schema::AbiTypeName>::abi_type(),
                        ),
                    )*],
                }
            }
        }
    };
}

/// Declares a SHiP variant: `"abi_name" => RustName { index => Case(Type), … }`; the wire form
/// is the varuint32 index followed by the member.
macro_rules! ship_variant {
    (
        $(#[$meta:meta])*
        $abi:literal => $ty:ident {
            $( $(#[$vmeta:meta])* $idx:literal => $v:ident($vt:ty) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $ty {
            $( $(#[$vmeta])* $v($vt), )+
        }

        impl $crate::bytes::Pack for $ty {
            fn pack(&self, out: &mut Vec<u8>) {
                match self {
                    $(
                        $ty::$v(inner) => {
                            $crate::bytes::pack_varuint32($idx, out);
                            $crate::bytes::Pack::pack(inner, out);
                        }
                    )+
                }
            }
        }

        impl $crate::bytes::Unpack for $ty {
            const MIN_SIZE: usize = 1;

            fn unpack(
                r: &mut $crate::bytes::Reader<'_>,
            ) -> Result<Self, $crate::bytes::DecodeError> {
                let offset = r.offset();
                match r.varuint32()? {
                    $( $idx => Ok($ty::$v($crate::bytes::Unpack::unpack(r)?)), )+
                    other => Err($crate::bytes::DecodeError::Invalid {
                        offset,
                        reason: format!("unknown {} variant index {other}", $abi),
                    }),
                }
            }
        }

        impl $crate::ship::schema::AbiTypeName for $ty {
            fn abi_type() -> String {
                $abi.to_owned()
            }
        }

        impl $crate::ship::schema::ShipSchema for $ty {
            fn schema() -> $crate::ship::schema::SchemaDef {
                let mut members: Vec<(u32, String)> = vec![$(
                    ($idx, <$vt as $crate::ship::schema::AbiTypeName>::abi_type()),
                )+];
                members.sort();
                $crate::ship::schema::SchemaDef::Variant { name: $abi, members }
            }
        }
    };
}
