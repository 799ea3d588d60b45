//! Layer 4: what a record's bytes mean.
//!
//! A [`Schema`] lists a record's fields (name, [`FieldType`], offset) under a [`Layout`]:
//! `C` lays fields out with natural alignment and padding, as a C compiler does; `Packed`
//! puts each field right after the previous one, as `#pragma pack(1)` does. Schemas are
//! plain values with no IO, so they can be built, compared and tested on their own.

use crate::error::{Error, Result};
use std::fmt;

#[cfg(feature = "columnar")]
pub mod arrow;
mod json;
mod text;
mod value;

pub use value::{Columns, show};

/// The longest field name, in bytes (the header stores names in 48-byte NUL-padded cells).
pub const MAX_NAME_LEN: usize = 47;
/// The most fields a schema may have.
pub const MAX_FIELDS: usize = 4096;
/// The largest record, in bytes (1 GiB).
pub const MAX_RECORD_SIZE: u64 = 1 << 30;

/// The type of one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// `u8` / C `uint8_t`.
    U8,
    /// `i8` / C `int8_t`.
    I8,
    /// `u16` / C `uint16_t`.
    U16,
    /// `i16` / C `short`.
    I16,
    /// `u32` / C `uint32_t`.
    U32,
    /// `i32` / C `int`.
    I32,
    /// `u64` / C `uint64_t`.
    U64,
    /// `i64` / C `int64_t`.
    I64,
    /// `f32` / C `float`.
    F32,
    /// `f64` / C `double`.
    F64,
    /// One byte, 0 or 1 / C `bool`.
    Bool,
    /// One C `char`.
    Char,
    /// `str[N]`: a C `char[N]` holding at most N-1 bytes of UTF-8 text and a NUL
    /// ([`FixedStr<N>`](crate::FixedStr)). As text or JSON, a value holding a NUL is
    /// refused, and so is a field whose N bytes hold no NUL (use `bytes[N]` for such data).
    Str(u32),
    /// `bytes[N]`: N raw bytes (`[u8; N]`).
    Bytes(u32),
    /// `T[N]`: N values of a scalar type back to back, as a C array (`float v[3]`,
    /// `uint32_t ids[16]`; in Rust `[f32; 3]`, `[u32; 16]`). Aligned as its element.
    Array(Scalar, u32),
}

/// The element type of an [`Array`](FieldType::Array) field: every type but `str[N]`,
/// `bytes[N]` and arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// `u8`.
    U8,
    /// `i8`.
    I8,
    /// `u16`.
    U16,
    /// `i16`.
    I16,
    /// `u32`.
    U32,
    /// `i32`.
    I32,
    /// `u64`.
    U64,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `bool`.
    Bool,
    /// `char`.
    Char,
}

impl Scalar {
    /// The field type of one element.
    pub const fn ty(self) -> FieldType {
        match self {
            Scalar::U8 => FieldType::U8,
            Scalar::I8 => FieldType::I8,
            Scalar::U16 => FieldType::U16,
            Scalar::I16 => FieldType::I16,
            Scalar::U32 => FieldType::U32,
            Scalar::I32 => FieldType::I32,
            Scalar::U64 => FieldType::U64,
            Scalar::I64 => FieldType::I64,
            Scalar::F32 => FieldType::F32,
            Scalar::F64 => FieldType::F64,
            Scalar::Bool => FieldType::Bool,
            Scalar::Char => FieldType::Char,
        }
    }
}

impl FieldType {
    /// The scalar this type is, or `None` for `str[N]`, `bytes[N]` and arrays.
    pub const fn scalar(self) -> Option<Scalar> {
        Some(match self {
            FieldType::U8 => Scalar::U8,
            FieldType::I8 => Scalar::I8,
            FieldType::U16 => Scalar::U16,
            FieldType::I16 => Scalar::I16,
            FieldType::U32 => Scalar::U32,
            FieldType::I32 => Scalar::I32,
            FieldType::U64 => Scalar::U64,
            FieldType::I64 => Scalar::I64,
            FieldType::F32 => Scalar::F32,
            FieldType::F64 => Scalar::F64,
            FieldType::Bool => Scalar::Bool,
            FieldType::Char => Scalar::Char,
            FieldType::Str(_) | FieldType::Bytes(_) | FieldType::Array(..) => return None,
        })
    }
}

/// Added to an element's type code to make the code of an array of it.
const ARRAY_CODE: u32 = 256;

impl FieldType {
    /// The field's size in bytes.
    pub fn size(self) -> u64 {
        match self {
            FieldType::U8 | FieldType::I8 | FieldType::Bool | FieldType::Char => 1,
            FieldType::U16 | FieldType::I16 => 2,
            FieldType::U32 | FieldType::I32 | FieldType::F32 => 4,
            FieldType::U64 | FieldType::I64 | FieldType::F64 => 8,
            FieldType::Str(n) | FieldType::Bytes(n) => u64::from(n),
            FieldType::Array(e, n) => e.ty().size() * u64::from(n),
        }
    }

    /// The field's natural alignment under the C layout.
    pub fn align(self) -> u64 {
        match self {
            FieldType::Str(_) | FieldType::Bytes(_) => 1,
            FieldType::Array(e, _) => e.ty().size(),
            other => other.size(),
        }
    }

    /// The numeric code stored in the header (see `docs/FORMAT.md`).
    pub fn code(self) -> u32 {
        match self {
            FieldType::U8 => 1,
            FieldType::I8 => 2,
            FieldType::U16 => 3,
            FieldType::I16 => 4,
            FieldType::U32 => 5,
            FieldType::I32 => 6,
            FieldType::U64 => 7,
            FieldType::I64 => 8,
            FieldType::F32 => 9,
            FieldType::F64 => 10,
            FieldType::Bool => 11,
            FieldType::Char => 12,
            FieldType::Str(_) => 13,
            FieldType::Bytes(_) => 14,
            FieldType::Array(e, _) => ARRAY_CODE + e.ty().code(),
        }
    }

    /// The type with header code `code` and element count `count` (N for `str[N]`,
    /// `bytes[N]` and `T[N]`, 1 otherwise), or `None` if the pair is not a valid type.
    pub fn from_code(code: u32, count: u32) -> Option<FieldType> {
        if code > ARRAY_CODE {
            // The element is a scalar (codes 1 to 12): one level, never a recursion as
            // deep as a hostile code could ask.
            let element = match code - ARRAY_CODE {
                c @ 1..=12 => FieldType::from_code(c, 1)?.scalar()?,
                _ => return None,
            };
            return (count > 0).then_some(FieldType::Array(element, count));
        }
        let scalar = |t| (count == 1).then_some(t);
        match code {
            1 => scalar(FieldType::U8),
            2 => scalar(FieldType::I8),
            3 => scalar(FieldType::U16),
            4 => scalar(FieldType::I16),
            5 => scalar(FieldType::U32),
            6 => scalar(FieldType::I32),
            7 => scalar(FieldType::U64),
            8 => scalar(FieldType::I64),
            9 => scalar(FieldType::F32),
            10 => scalar(FieldType::F64),
            11 => scalar(FieldType::Bool),
            12 => scalar(FieldType::Char),
            13 if count > 0 => Some(FieldType::Str(count)),
            14 if count > 0 => Some(FieldType::Bytes(count)),
            _ => None,
        }
    }

    /// The element count stored in the header: N for `str[N]`, `bytes[N]` and `T[N]`,
    /// else 1.
    pub fn count(self) -> u32 {
        match self {
            FieldType::Str(n) | FieldType::Bytes(n) | FieldType::Array(_, n) => n,
            _ => 1,
        }
    }
}

impl fmt::Display for FieldType {
    /// Formats the type as the schema text syntax spells it: `u32`, `str[256]`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::U8 => f.write_str("u8"),
            FieldType::I8 => f.write_str("i8"),
            FieldType::U16 => f.write_str("u16"),
            FieldType::I16 => f.write_str("i16"),
            FieldType::U32 => f.write_str("u32"),
            FieldType::I32 => f.write_str("i32"),
            FieldType::U64 => f.write_str("u64"),
            FieldType::I64 => f.write_str("i64"),
            FieldType::F32 => f.write_str("f32"),
            FieldType::F64 => f.write_str("f64"),
            FieldType::Bool => f.write_str("bool"),
            FieldType::Char => f.write_str("char"),
            FieldType::Str(n) => write!(f, "str[{n}]"),
            FieldType::Bytes(n) => write!(f, "bytes[{n}]"),
            FieldType::Array(e, n) => write!(f, "{}[{n}]", e.ty()),
        }
    }
}

/// How fields are placed in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// Natural alignment and padding, as a C compiler lays out a struct (`#[repr(C)]`).
    #[default]
    C,
    /// No padding, as `#pragma pack(1)` (`#[repr(C, packed)]`).
    Packed,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::C => "c",
            Layout::Packed => "packed",
        })
    }
}

/// One field of a record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field's name (1 to 47 bytes of UTF-8, no NUL).
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// Its byte offset in the record.
    pub offset: u64,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}: {}` at offset {}", self.name, self.ty, self.offset)
    }
}

/// A record's fields, layout, size and alignment.
///
/// # Examples
///
/// ```
/// use fixrec::{FieldType, Layout, Schema};
///
/// // #pragma pack(1) struct SMTEST { char c; int i; short s; };
/// let smtest = Schema::from_fields(
///     Layout::Packed,
///     [("c", FieldType::Char), ("i", FieldType::I32), ("s", FieldType::I16)],
/// )?;
/// assert_eq!(smtest.record_size(), 7);
/// assert_eq!(smtest.fields()[1].offset, 1);
///
/// // The same struct without packing: padding after `c` and at the end.
/// let c = Schema::from_fields(
///     Layout::C,
///     [("c", FieldType::Char), ("i", FieldType::I32), ("s", FieldType::I16)],
/// )?;
/// assert_eq!((c.record_size(), c.fields()[1].offset), (12, 4));
/// # Ok::<(), fixrec::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Schema {
    fields: Vec<Field>,
    layout: Layout,
    record_size: u64,
    align: u64,
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::InvalidSchema {
        detail: detail.into(),
    }
}

impl Schema {
    /// Lays out `fields` in order under `layout`, computing offsets, size and alignment
    /// as a C compiler would.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] for no fields, a bad or duplicate name, a zero-sized
    /// `str[0]`/`bytes[0]`, or a record larger than [`MAX_RECORD_SIZE`].
    pub fn from_fields<S: Into<String>>(
        layout: Layout,
        fields: impl IntoIterator<Item = (S, FieldType)>,
    ) -> Result<Schema> {
        let mut offset = 0u64;
        let mut align = 1u64;
        let mut out = Vec::new();
        for (name, ty) in fields {
            let a = match layout {
                Layout::C => ty.align(),
                Layout::Packed => 1,
            };
            align = align.max(a);
            offset = offset.next_multiple_of(a);
            out.push(Field {
                name: name.into(),
                ty,
                offset,
            });
            offset = offset.saturating_add(ty.size());
        }
        let record_size = offset.next_multiple_of(align);
        Schema::with_layout(layout, out, record_size, align)
    }

    /// A schema with explicit offsets, as a Rust type reports them (see
    /// [`Record`](crate::Record)). Checks that every field fits, none overlap, and the
    /// size is a multiple of the alignment.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] naming the field or value that is wrong.
    pub fn with_layout(
        layout: Layout,
        fields: Vec<Field>,
        record_size: u64,
        align: u64,
    ) -> Result<Schema> {
        if fields.is_empty() {
            return Err(invalid("a record needs at least one field"));
        }
        if fields.len() > MAX_FIELDS {
            return Err(invalid(format!(
                "{} fields; at most {MAX_FIELDS} are allowed",
                fields.len()
            )));
        }
        if record_size == 0 {
            return Err(invalid("the record size is 0"));
        }
        if record_size > MAX_RECORD_SIZE {
            return Err(invalid(format!(
                "record size {record_size} is larger than the maximum {MAX_RECORD_SIZE}"
            )));
        }
        if !align.is_power_of_two() || align > 4096 || !record_size.is_multiple_of(align) {
            return Err(invalid(format!(
                "alignment {align} is not a power of two up to 4096 that divides the record size {record_size}"
            )));
        }
        let mut end_of_previous = 0u64;
        for (i, f) in fields.iter().enumerate() {
            if f.name.is_empty() {
                return Err(invalid(format!("field {i} has an empty name")));
            }
            if f.name.len() > MAX_NAME_LEN || f.name.contains('\0') {
                return Err(invalid(format!(
                    "field {i} name {:?} is longer than {MAX_NAME_LEN} bytes or holds a NUL",
                    f.name
                )));
            }
            if fields[..i].iter().any(|g| g.name == f.name) {
                return Err(invalid(format!("duplicate field name {:?}", f.name)));
            }
            if f.ty.size() == 0 {
                return Err(invalid(format!("field {:?} has size 0", f.name)));
            }
            if f.offset < end_of_previous {
                return Err(invalid(format!(
                    "field {:?} at offset {} overlaps the field before it (which ends at {end_of_previous})",
                    f.name, f.offset
                )));
            }
            end_of_previous = f.offset.saturating_add(f.ty.size());
            if end_of_previous > record_size {
                return Err(invalid(format!(
                    "field {:?} ends at {end_of_previous}, past the record size {record_size}",
                    f.name
                )));
            }
        }
        Ok(Schema {
            fields,
            layout,
            record_size,
            align,
        })
    }

    /// The fields, in offset order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// C or packed.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Bytes per record, padding included.
    pub fn record_size(&self) -> u64 {
        self.record_size
    }

    /// The record's alignment (1 when packed).
    pub fn align(&self) -> u64 {
        self.align
    }

    /// The first difference between `self` (expected) and `found`, in words, or `None`
    /// when they describe the same record.
    pub fn diff(&self, found: &Schema) -> Option<String> {
        if self.record_size != found.record_size {
            return Some(format!(
                "expected record size {} but the file specifies {}",
                self.record_size, found.record_size
            ));
        }
        if self.layout != found.layout {
            return Some(format!(
                "expected layout {} but the file specifies {}",
                self.layout, found.layout
            ));
        }
        for (i, (e, f)) in self.fields.iter().zip(&found.fields).enumerate() {
            if e != f {
                return Some(format!("field {i}: expected {e}, found {f}"));
            }
        }
        if self.fields.len() != found.fields.len() {
            return Some(format!(
                "expected {} fields but the file has {}",
                self.fields.len(),
                found.fields.len()
            ));
        }
        if self.align != found.align {
            return Some(format!(
                "expected alignment {} but the file specifies {}",
                self.align, found.align
            ));
        }
        None
    }
}

impl fmt::Display for Schema {
    /// Formats the schema as text: `id:str[256],name:str[256]`. Padding is implied by
    /// the layout, which is not part of the text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", field.name, field.ty)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_layout_pads_like_a_c_compiler() {
        let s = Schema::from_fields(
            Layout::C,
            [
                ("a", FieldType::U8),
                ("b", FieldType::F64),
                ("c", FieldType::U16),
            ],
        )
        .unwrap();
        let offsets: Vec<u64> = s.fields().iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, 8, 16]);
        assert_eq!((s.record_size(), s.align()), (24, 8));
    }

    #[test]
    fn codes_round_trip() {
        for ty in [
            FieldType::U8,
            FieldType::I64,
            FieldType::Bool,
            FieldType::Char,
            FieldType::Str(256),
            FieldType::Bytes(3),
            FieldType::Array(Scalar::F32, 3),
            FieldType::Array(Scalar::Char, 1),
            FieldType::Array(Scalar::U8, 16),
        ] {
            assert_eq!(FieldType::from_code(ty.code(), ty.count()), Some(ty));
        }
        assert_eq!(FieldType::from_code(13, 0), None);
        assert_eq!(FieldType::from_code(1, 2), None);
        assert_eq!(FieldType::from_code(99, 1), None);
        assert_eq!(FieldType::from_code(256 + 9, 0), None); // f32[0]
        assert_eq!(FieldType::from_code(256 + 13, 4), None); // an array of str
        assert_eq!(FieldType::from_code(256, 4), None);
        assert_eq!(FieldType::from_code(512 + 9, 4), None); // an array of arrays
        assert_eq!(FieldType::from_code(u32::MAX, 4), None); // no deep recursion
    }

    #[test]
    fn arrays_align_as_their_element() {
        let s = Schema::parse("c:char,v:f32[3],t:u8,ids:u64[2]", Layout::C).unwrap();
        let offsets: Vec<u64> = s.fields().iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, 4, 16, 24]);
        assert_eq!((s.record_size(), s.align()), (40, 8));
        let p = Schema::parse("c:char,v:f32[3],t:u8,ids:u64[2]", Layout::Packed).unwrap();
        assert_eq!((p.record_size(), p.field("ids").unwrap().offset), (30, 14));
    }

    #[test]
    fn bad_schemas_are_errors() {
        assert!(Schema::from_fields::<&str>(Layout::C, []).is_err());
        assert!(
            Schema::from_fields(Layout::C, [("a", FieldType::U8), ("a", FieldType::U8)]).is_err()
        );
        assert!(Schema::from_fields(Layout::C, [("", FieldType::U8)]).is_err());
        assert!(Schema::from_fields(Layout::C, [("a", FieldType::Str(0))]).is_err());
        assert!(
            Schema::from_fields(
                Layout::C,
                [
                    ("a", FieldType::Bytes(u32::MAX)),
                    ("b", FieldType::Bytes(u32::MAX))
                ]
            )
            .is_err()
        );
    }

    #[test]
    fn diff_names_the_field() {
        let a = Schema::from_fields(Layout::C, [("id", FieldType::U32), ("x", FieldType::U32)])
            .unwrap();
        let b = Schema::from_fields(Layout::C, [("id", FieldType::U32), ("y", FieldType::U32)])
            .unwrap();
        let d = a.diff(&b).unwrap();
        assert!(d.contains("`x: u32`") && d.contains("`y: u32`"), "{d}");
        assert_eq!(a.diff(&a), None);
    }
}
