//! Record types: [`Record`] (a Pod type that describes its fields), the [`record!`]
//! macro that declares one, and the C field types [`FixedStr`] and [`CChar`].

use crate::error::{Error, Result};
use crate::schema::{FieldType, Scalar, Schema};
use std::borrow::Cow;
use std::fmt;

/// A plain-old-data record that describes its own fields, for the file header.
///
/// Declare one with [`record!`](crate::record!), which writes the struct, its `Pod`
/// implementation and this trait from one declaration, so the fields are never listed
/// twice.
pub trait Record: bytemuck::Pod {
    /// The record's schema: each field's name, type and offset, the layout, size and
    /// alignment.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] if a field name is empty or longer than 47 bytes.
    fn schema() -> Result<Schema>;
}

/// A Pod type that can be a field of a [`Record`], with its [`FieldType`].
///
/// Implemented for the integers, `f32`, `f64`, [`CChar`], [`FixedStr<N>`], `[u8; N]`
/// (`bytes[N]`) and arrays of the others (`[f32; 3]` is `f32[3]`).
pub trait FieldKind: bytemuck::Pod {
    /// The field type this Rust type is stored as.
    const TYPE: FieldType;
}

macro_rules! scalar_fields {
    ($($t:ty => $v:ident),*) => {
        $(impl FieldKind for $t { const TYPE: FieldType = FieldType::$v; })*
    };
}
scalar_fields!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32,
    u64 => U64, i64 => I64, f32 => F32, f64 => F64, CChar => Char);

impl<const N: usize> FieldKind for [u8; N] {
    const TYPE: FieldType = FieldType::Bytes(N as u32);
}

// Arrays of every scalar but `u8` (`[u8; N]` is `bytes[N]`): `[f32; 3]` is `f32[3]`.
macro_rules! array_fields {
    ($($t:ty => $v:ident),*) => {
        $(impl<const N: usize> FieldKind for [$t; N] {
            const TYPE: FieldType = FieldType::Array(Scalar::$v, N as u32);
        })*
    };
}
array_fields!(i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32,
    u64 => U64, i64 => I64, f32 => F32, f64 => F64, CChar => Char);

impl<const N: usize> FieldKind for FixedStr<N> {
    const TYPE: FieldType = FieldType::Str(N as u32);
}

/// Declares a [`Record`] type: a `#[repr(C)]` (or `#[repr(C, packed)]`) struct of
/// [`FieldKind`] fields, with `Clone`, `Copy`, `bytemuck::Pod` and its schema.
///
/// The `repr` comes first, then any doc comments and derives. A `#[repr(C)]` record must
/// have no padding (Pod forbids it), which is checked at compile time: the error says how
/// many bytes of padding there are and where, with the field to add, for example
/// ``record `Reading` has padding, which a record may not have: 4 bytes at the end, after
/// `sensor`; add `_pad: [u8; 4]` after `sensor` `` for `{ ts: u64, sensor: u32 }`.
///
/// ```compile_fail,E0080
/// fixrec::record! {
///     #[repr(C)]
///     pub struct Reading { pub ts: u64, pub sensor: u32 }
/// }
/// ```
///
/// # Examples
///
/// ```
/// use fixrec::{CChar, FixedStr, Record, record};
///
/// record! {
///     #[repr(C)]
///     /// `struct Member { char Id[256]; char name[256]; }`
///     #[derive(Debug, PartialEq)]
///     pub struct Member {
///         pub id: FixedStr<256>,
///         pub name: FixedStr<256>,
///     }
/// }
///
/// record! {
///     #[repr(C, packed)]
///     /// `#pragma pack(1) struct SMTEST { char c; int i; short s; }`
///     pub struct Smtest {
///         pub c: CChar,
///         pub i: i32,
///         pub s: i16,
///     }
/// }
///
/// let member = Member::schema()?;
/// assert_eq!(member.record_size(), 512);
/// assert_eq!(member.field("name").unwrap().offset, 256);
/// assert_eq!(member.to_string(), "id:str[256],name:str[256]");
/// assert_eq!(Smtest::schema()?.record_size(), 7);
/// # Ok::<(), fixrec::Error>(())
/// ```
#[macro_export]
macro_rules! record {
    (
        #[repr(C, packed)]
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),+ $(,)?
        }
    ) => {
        $crate::record!(@emit [C, packed] Packed $(#[$meta])* $vis struct $name {
            $( $(#[$fmeta])* $fvis $field : $ty ),+
        });
    };
    (
        #[repr(C)]
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),+ $(,)?
        }
    ) => {
        $crate::record!(@emit [C] C $(#[$meta])* $vis struct $name {
            $( $(#[$fmeta])* $fvis $field : $ty ),+
        });
    };
    (@emit [$($repr:tt)*] $layout:ident $(#[$meta:meta])* $vis:vis struct $name:ident {
        $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),+
    }) => {
        #[repr($($repr)*)]
        $(#[$meta])*
        #[derive(Clone, Copy)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field : $ty ),+
        }

        const _: () = {
            const fn is_field<T: $crate::FieldKind>() {}
            $( is_field::<$ty>(); )+
            let padding = $crate::Padding::find(
                stringify!($name),
                &[$( stringify!($field) ),+],
                &[$( ::core::mem::offset_of!($name, $field) ),+],
                &[$( ::core::mem::size_of::<$ty>() ),+],
                ::core::mem::size_of::<$name>(),
            );
            if let ::core::option::Option::Some(message) = padding.message() {
                ::core::panic!("{}", message);
            }
        };

        // SAFETY: every field is Pod (checked above), the struct is repr(C) or
        // repr(C, packed), and its size is the sum of its fields' sizes, so it has no
        // padding (checked above): every bit pattern is valid and all bytes are data.
        unsafe impl $crate::bytemuck::Zeroable for $name {}
        // SAFETY: as above.
        unsafe impl $crate::bytemuck::Pod for $name {}

        impl $crate::Record for $name {
            fn schema() -> $crate::Result<$crate::Schema> {
                $crate::Schema::with_layout(
                    $crate::Layout::$layout,
                    ::std::vec![$( $crate::Field {
                        name: ::std::string::String::from(stringify!($field)),
                        ty: <$ty as $crate::FieldKind>::TYPE,
                        offset: ::core::mem::offset_of!($name, $field) as u64,
                    } ),+],
                    ::core::mem::size_of::<$name>() as u64,
                    ::core::mem::align_of::<$name>() as u64,
                )
            }
        }
    };
}

/// The padding of a `#[repr(C)]` struct, found at compile time by [`record!`], which
/// refuses it with [`Padding::message`]. Not for use outside the macro.
#[doc(hidden)]
pub struct Padding {
    text: [u8; Padding::CAPACITY],
    len: usize,
}

impl Padding {
    const CAPACITY: usize = 1024;

    /// The gaps between the fields of `record` (in declaration order, which is offset
    /// order in `repr(C)`) and after the last one, described for the compile error.
    pub const fn find(
        record: &str,
        names: &[&str],
        offsets: &[usize],
        sizes: &[usize],
        size: usize,
    ) -> Padding {
        let mut p = Padding {
            text: [0; Padding::CAPACITY],
            len: 0,
        };
        // Count the gaps first: one is `_pad`, several are `_pad1`, `_pad2`, ...
        let mut gaps = 0;
        let mut i = 0;
        while i < names.len() {
            if Self::gap_after(i, offsets, sizes, size) > 0 {
                gaps += 1;
            }
            i += 1;
        }
        if gaps == 0 {
            return p;
        }
        p.push("record `");
        p.push(record);
        p.push("` has padding, which a record may not have: ");
        let mut n = 0;
        let mut i = 0;
        while i < names.len() {
            let gap = Self::gap_after(i, offsets, sizes, size);
            if gap > 0 {
                n += 1;
                if n > 1 {
                    p.push("; and ");
                }
                p.number(gap);
                p.push(if gap == 1 { " byte " } else { " bytes " });
                if i + 1 < names.len() {
                    p.push("between `");
                    p.push(names[i]);
                    p.push("` and `");
                    p.push(names[i + 1]);
                    p.push("`");
                } else {
                    p.push("at the end, after `");
                    p.push(names[i]);
                    p.push("`");
                }
                p.push("; add `_pad");
                if gaps > 1 {
                    p.number(n);
                }
                p.push(": [u8; ");
                p.number(gap);
                p.push("]` after `");
                p.push(names[i]);
                p.push("`");
            }
            i += 1;
        }
        p
    }

    /// Bytes between the end of field `i` and the start of the next one (or the end of
    /// the struct).
    const fn gap_after(i: usize, offsets: &[usize], sizes: &[usize], size: usize) -> usize {
        let end = offsets[i] + sizes[i];
        let next = if i + 1 < offsets.len() {
            offsets[i + 1]
        } else {
            size
        };
        next.saturating_sub(end)
    }

    /// Appends `s` whole, or nothing when it does not fit (the text stays UTF-8).
    const fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if self.len + bytes.len() > Padding::CAPACITY {
            return;
        }
        let mut i = 0;
        while i < bytes.len() {
            self.text[self.len + i] = bytes[i];
            i += 1;
        }
        self.len += bytes.len();
    }

    const fn number(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let (_, digits) = digits.split_at(k);
        match std::str::from_utf8(digits) {
            Ok(s) => self.push(s),
            Err(_) => self.push("?"),
        }
    }

    /// The compile error, or `None` when the record has no padding.
    pub const fn message(&self) -> Option<&str> {
        if self.len == 0 {
            return None;
        }
        match std::str::from_utf8(self.text.split_at(self.len).0) {
            Ok(s) => Some(s),
            Err(_) => Some("a record may not have padding: add explicit `_pad: [u8; N]` fields"),
        }
    }
}

/// A C `char[N]` text field: at most N-1 bytes of UTF-8 followed by a NUL, so a C
/// program can `printf("%s")` it.
///
/// Writing never cuts text silently: [`FixedStr::new`] and [`FixedStr::set`] refuse text
/// that does not fit or that holds a NUL (a C reader would stop there), and
/// [`FixedStr::truncating`] cuts on a char boundary when asked.
///
/// Reading in Rust tolerates C data: bytes after the first NUL are ignored, and a full
/// array with no NUL reads as all N bytes ([`as_bytes`](FixedStr::as_bytes),
/// [`as_str`](FixedStr::as_str)). The schema's text and JSON conversions
/// ([`Field::write_text`](crate::Field::write_text), [`Schema::to_json`](crate::Schema::to_json)),
/// and so the `fixrec` command line (`get`, `export`, raw `import`), are strict: a
/// `str[N]` field with no NUL is an error there, naming the field and showing the bytes,
/// because its text would not fit the field again and a C reader's `strlen` would run
/// past it. Keep such data in a `[u8; N]` (`bytes[N]`) field.
///
/// # Examples
///
/// ```
/// use fixrec::FixedStr;
///
/// let mut id = FixedStr::<8>::new("22")?;
/// assert_eq!(id.as_str()?, "22");
/// assert_eq!(id.as_array(), b"22\0\0\0\0\0\0");
/// assert!(id.set("eight ch").is_err()); // 8 bytes leave no room for the NUL
/// assert_eq!(id.as_str()?, "22");       // and the field is unchanged
/// assert_eq!(FixedStr::<4>::truncating("김용").as_str()?, "김"); // 3 bytes + NUL
/// # Ok::<(), fixrec::Error>(())
/// ```
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FixedStr<const N: usize>([u8; N]);

// SAFETY: a transparent wrapper over [u8; N], which is Zeroable and Pod.
unsafe impl<const N: usize> bytemuck::Zeroable for FixedStr<N> {}
// SAFETY: as above.
unsafe impl<const N: usize> bytemuck::Pod for FixedStr<N> {}

impl<const N: usize> FixedStr<N> {
    /// The most bytes of text it holds (N - 1: one byte stays for the NUL).
    pub const MAX_LEN: usize = N.saturating_sub(1);

    /// The field holding `text`.
    ///
    /// # Errors
    ///
    /// As [`set`](FixedStr::set).
    pub fn new(text: &str) -> Result<Self> {
        let mut s = Self::default();
        s.set(text)?;
        Ok(s)
    }

    /// The field holding as much of `text` as fits, cut on a char boundary, and never
    /// past a NUL in it (a C reader stops there).
    pub fn truncating(text: &str) -> Self {
        let nul = text.bytes().position(|b| b == 0).unwrap_or(text.len());
        let mut end = nul.min(Self::MAX_LEN);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut s = Self::default();
        s.0[..end].copy_from_slice(&text.as_bytes()[..end]);
        s
    }

    /// Replaces the text (the bytes after it become NUL).
    ///
    /// # Errors
    ///
    /// [`Error::TextTooLong`] if it does not fit; [`Error::InvalidArgument`] if it holds
    /// a NUL (the text would end there). The field is then unchanged.
    pub fn set(&mut self, text: &str) -> Result<()> {
        if text.len() > Self::MAX_LEN || N == 0 {
            return Err(Error::TextTooLong {
                len: text.len(),
                capacity: N,
            });
        }
        if let Some(at) = text.bytes().position(|b| b == 0) {
            return Err(Error::InvalidArgument(format!(
                "text {:?} holds a NUL at byte {at}; a C string ends at its first NUL",
                text
            )));
        }
        self.0[..text.len()].copy_from_slice(text.as_bytes());
        self.0[text.len()..].fill(0);
        Ok(())
    }

    /// The text's bytes: up to the first NUL, or all N when there is none. Lenient, for
    /// C data; [`Field::check`](crate::Field::check) tells whether the schema's
    /// conversions (and the command line) accept the field.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        &self.0[..end]
    }

    /// The text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUtf8`] if the bytes are not UTF-8 (C data can be anything).
    pub fn as_str(&self) -> Result<&str> {
        std::str::from_utf8(self.as_bytes()).map_err(|e| Error::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })
    }

    /// The text, with invalid UTF-8 replaced by U+FFFD. Never fails.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// Bytes of text (before the NUL).
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.first().is_none_or(|&b| b == 0)
    }

    /// All N bytes, as a C program sees them.
    pub fn as_array(&self) -> &[u8; N] {
        &self.0
    }

    /// The field holding exactly these N bytes (C data: anything goes).
    pub fn from_array(bytes: [u8; N]) -> Self {
        FixedStr(bytes)
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        FixedStr([0; N])
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.to_string_lossy(), f)
    }
}

impl<const N: usize> fmt::Display for FixedStr<N> {
    /// The text, lossily.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl<const N: usize> TryFrom<&str> for FixedStr<N> {
    type Error = Error;
    fn try_from(text: &str) -> Result<Self> {
        Self::new(text)
    }
}

impl<const N: usize> std::str::FromStr for FixedStr<N> {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Self::new(text)
    }
}

impl<const N: usize> PartialEq<str> for FixedStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> PartialEq<&str> for FixedStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// One C `char`: a byte, shown as a character.
#[repr(transparent)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CChar(pub u8);

// SAFETY: a transparent wrapper over u8.
unsafe impl bytemuck::Zeroable for CChar {}
// SAFETY: as above.
unsafe impl bytemuck::Pod for CChar {}

impl fmt::Debug for CChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&char::from(self.0), f)
    }
}

impl From<u8> for CChar {
    fn from(b: u8) -> Self {
        CChar(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::record! {
        #[repr(C)]
        /// `struct Particle { uint32_t id; float pos[3]; uint32_t ids[4]; char tag[4]; uint8_t raw[4]; }`
        struct Particle {
            id: u32,
            pos: [f32; 3],
            ids: [u32; 4],
            tag: [CChar; 4],
            raw: [u8; 4],
        }
    }

    #[test]
    fn rust_arrays_are_array_fields() {
        let s = Particle::schema().unwrap();
        assert_eq!(
            s.to_string(),
            "id:u32,pos:f32[3],ids:u32[4],tag:char[4],raw:bytes[4]"
        );
        assert_eq!(s, Schema::parse(&s.to_string(), crate::Layout::C).unwrap());
        let p = Particle {
            id: 7,
            pos: [1.5, -2.0, 0.25],
            ids: [1, 2, 3, u32::MAX],
            tag: [CChar(b'a'), CChar(b'b'), CChar(0), CChar(0)],
            raw: [0, 1, 2, 255],
        };
        let v = s.to_json(bytemuck::bytes_of(&p)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": 7, "pos": [1.5, -2.0, 0.25], "ids": [1, 2, 3, 4294967295u32],
                "tag": ["a", "b", "", ""], "raw": "000102ff"})
        );
        let mut back = [0u8; 40];
        s.from_json(&v, &mut back).unwrap();
        assert_eq!(&back[..], bytemuck::bytes_of(&p));
    }

    #[test]
    fn fits_exactly_n_minus_one() {
        assert!(FixedStr::<4>::new("abc").is_ok());
        let e = FixedStr::<4>::new("abcd").unwrap_err();
        assert!(
            matches!(
                e,
                Error::TextTooLong {
                    len: 4,
                    capacity: 4
                }
            ),
            "{e}"
        );
        assert!(FixedStr::<0>::new("").is_err());
    }

    #[test]
    fn c_data_without_nul_and_bad_utf8() {
        let full = FixedStr::from_array(*b"abcd");
        assert_eq!(full.as_str().unwrap(), "abcd");
        let bad = FixedStr::from_array([b'a', 0xff, 0, b'z']);
        assert!(matches!(
            bad.as_str(),
            Err(Error::InvalidUtf8 { valid_up_to: 1 })
        ));
        assert_eq!(bad.to_string_lossy(), "a\u{fffd}");
    }

    #[test]
    fn a_nul_in_the_text_is_refused_not_cut() {
        let mut s = FixedStr::<8>::new("ok").unwrap();
        let e = s.set("a\0b").unwrap_err();
        assert!(e.to_string().contains("NUL at byte 1"), "{e}");
        assert_eq!(s.as_str().unwrap(), "ok");
        assert!(FixedStr::<8>::new("\0").is_err());
        assert_eq!(
            FixedStr::<8>::truncating("ab\0cd").as_array(),
            b"ab\0\0\0\0\0\0"
        );
    }

    #[test]
    fn truncating_cuts_on_char_boundary() {
        assert_eq!(FixedStr::<3>::truncating("김").as_str().unwrap(), "");
        assert_eq!(
            FixedStr::<7>::truncating("김용김").as_str().unwrap(),
            "김용"
        );
        assert_eq!(FixedStr::<1>::truncating("x").as_str().unwrap(), "");
    }

    #[test]
    fn padding_says_how_many_bytes_and_where() {
        // { ts: u64, sensor: u32 }: 16 bytes, 4 of them after `sensor`.
        let p = Padding::find("Reading", &["ts", "sensor"], &[0, 8], &[8, 4], 16);
        assert_eq!(
            p.message(),
            Some(
                "record `Reading` has padding, which a record may not have: 4 bytes at the \
                 end, after `sensor`; add `_pad: [u8; 4]` after `sensor`"
            )
        );
        // { flag: u8, ts: u64, c: u8 }: 7 bytes between, 7 at the end.
        let p = Padding::find("R", &["flag", "ts", "c"], &[0, 8, 16], &[1, 8, 1], 24);
        assert_eq!(
            p.message(),
            Some(
                "record `R` has padding, which a record may not have: 7 bytes between `flag` \
                 and `ts`; add `_pad1: [u8; 7]` after `flag`; and 7 bytes at the end, after \
                 `c`; add `_pad2: [u8; 7]` after `c`"
            )
        );
        let p = Padding::find("R", &["a", "b"], &[0, 1], &[1, 1], 2);
        assert_eq!(p.message(), None);
    }

    #[test]
    fn set_clears_the_tail() {
        let mut s = FixedStr::<6>::new("hello").unwrap();
        s.set("hi").unwrap();
        assert_eq!(s.as_array(), b"hi\0\0\0\0");
    }
}
