//! Dynamic records: a record's bytes to and from values, following its [`Schema`].
//!
//! | type            | JSON                         | text (CSV cell, `field=value`)   |
//! |-----------------|------------------------------|----------------------------------|
//! | integers        | number                       | decimal                          |
//! | `f32`, `f64`    | number, or `"NaN"`, `"inf"`, `"-inf"` | decimal, `NaN`, `inf`, `-inf` |
//! | `bool`          | `true` / `false`             | `true`/`false` (or `1`/`0`)      |
//! | `char`          | one-character string (`""` for NUL) | one character             |
//! | `str[N]`        | string, at most N-1 bytes of UTF-8, no NUL | the text itself    |
//! | `bytes[N]`      | hex string, at most 2N digits | hex, zero-padded to N bytes     |
//! | `T[N]` (arrays) | array of exactly N values of T | the same JSON array (`[1,2,3]`) |
//!
//! A `char` is one C byte, shown as the character with that code (U+0000 to U+00FF); the
//! 0 byte is written as `""` (or `"\u0000"`, which reads as the same byte).
//! A `str[N]` is a C string: its text ends at the first NUL, so text holding a NUL is
//! refused (it would be cut there), and a field whose N bytes hold no NUL does not read
//! as text (a C reader's `strlen` would run past it): use `bytes[N]` for such data.
//! A number whose literal overflows its float type (`1e400` for `f64`) is refused;
//! `inf`, `-inf` and `NaN` are the ways to write those values.
//! Values that do not fit are [`Error::BadValue`] naming the field and the value, with
//! the value's bytes quoted as they are: valid UTF-8 as it is, other bytes as `\xNN`,
//! control characters, quotes and backslashes escaped.
//! An array's element is named `field[i]` in errors (`field `v[2]`: value ...`); a CSV
//! cell holding an array is that array as JSON, so `1.5,[1,2,3]` is written
//! `1.5,"[1,2,3]"`.
//! Writing fills the whole field (a `str` is NUL-padded, `bytes` zero-padded), so a record
//! made field by field from a zeroed buffer has the same bytes as a C program's.

use super::{Field, FieldType, Scalar, Schema};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// How much of a bad value an error message shows, in characters (an invalid byte
/// counts as one).
const SHOWN: usize = 60;

/// A value's bytes quoted for a message, as fixrec's errors show them: valid UTF-8 as it
/// is, invalid bytes as `\xNN`, control characters, `"` and `\` escaped as Rust escapes
/// them; shortened after 60 characters.
///
/// # Examples
///
/// ```
/// assert_eq!(fixrec::schema::show(b"K\xffim"), r#""K\xffim""#);
/// assert_eq!(fixrec::schema::show("김\n".as_bytes()), r#""김\n""#);
/// ```
pub fn show(value: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut shown = 0;
    for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            if shown == SHOWN {
                return format!("{out}\"... ({} bytes)", value.len());
            }
            shown += 1;
            match c {
                '\'' => out.push(c),
                _ => out.extend(c.escape_debug()),
            }
        }
        for b in chunk.invalid() {
            if shown == SHOWN {
                return format!("{out}\"... ({} bytes)", value.len());
            }
            shown += 1;
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

pub(super) fn bad(field: &Field, value: String, detail: impl Into<String>) -> Error {
    Error::BadValue {
        field: field.name.clone(),
        value,
        detail: detail.into(),
    }
}

pub(super) fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl Field {
    fn range(&self) -> std::ops::Range<usize> {
        self.offset as usize..(self.offset + self.ty.size()) as usize
    }

    pub(super) fn bytes<'r>(&self, record: &'r [u8]) -> &'r [u8] {
        &record[self.range()]
    }

    pub(super) fn bytes_mut<'r>(&self, record: &'r mut [u8]) -> &'r mut [u8] {
        &mut record[self.range()]
    }

    /// The text of a `str` field: the UTF-8 up to the first NUL. A field with no NUL is
    /// an error: it is not a C string, and as text it would not fit the field again.
    pub(super) fn text<'r>(&self, record: &'r [u8]) -> Result<&'r str> {
        let v = self.bytes(record);
        let Some(end) = v.iter().position(|&b| b == 0) else {
            return Err(bad(
                self,
                show(v),
                format!(
                    "not NUL-terminated ({} holds at most {} bytes of text plus a NUL; use bytes[{}] for unterminated data)",
                    self.ty,
                    v.len() - 1,
                    v.len()
                ),
            ));
        };
        std::str::from_utf8(&v[..end]).map_err(|e| {
            bad(
                self,
                show(&v[..end]),
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })
    }

    pub(super) fn int<const W: usize>(&self, record: &[u8]) -> [u8; W] {
        self.bytes(record).try_into().expect("field width")
    }

    pub(super) fn set_int(
        &self,
        record: &mut [u8],
        v: i128,
        shown: impl FnOnce() -> String,
    ) -> Result<()> {
        let out = self.bytes_mut(record);
        let fits = match self.ty {
            FieldType::U8 => u8::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            FieldType::I8 => i8::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            FieldType::U16 => u16::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            FieldType::I16 => i16::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            FieldType::U32 => u32::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            FieldType::I32 => i32::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            FieldType::U64 => u64::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            FieldType::I64 => i64::try_from(v).map(|x| out.copy_from_slice(&x.to_le_bytes())),
            _ => unreachable!("set_int on an integer field"),
        };
        fits.map_err(|_| {
            let (lo, hi) = int_range(self.ty);
            bad(
                self,
                shown(),
                format!("out of range for {} ({lo} to {hi})", self.ty),
            )
        })
    }

    /// Stores a JSON number (always finite: JSON has no infinity).
    fn set_float(&self, record: &mut [u8], v: f64, shown: impl FnOnce() -> String) -> Result<()> {
        match self.ty {
            FieldType::F32 => {
                let x = v as f32;
                if x.is_infinite() && v.is_finite() {
                    return Err(bad(self, shown(), "out of range for f32"));
                }
                self.bytes_mut(record).copy_from_slice(&x.to_le_bytes());
            }
            _ => self.bytes_mut(record).copy_from_slice(&v.to_le_bytes()),
        }
        Ok(())
    }

    /// Parses a float field's text: a decimal literal, or `inf`, `-inf`, `NaN` (any case,
    /// also `infinity`). A literal too large for the type is an error, not infinity.
    fn set_float_text(&self, record: &mut [u8], text: &str) -> Result<()> {
        let t = text.trim();
        let not_a_number = || {
            bad(
                self,
                show(text.as_bytes()),
                format!("not a number (a {})", self.ty),
            )
        };
        let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
        let says_infinity =
            unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity");
        let overflow = || {
            bad(
                self,
                show(text.as_bytes()),
                format!("out of range for {}", self.ty),
            )
        };
        if self.ty == FieldType::F32 {
            // Parsed straight to f32: through f64 it could round twice.
            let x: f32 = t.parse().map_err(|_| not_a_number())?;
            if x.is_infinite() && !says_infinity {
                return Err(overflow());
            }
            self.bytes_mut(record).copy_from_slice(&x.to_le_bytes());
        } else {
            let x: f64 = t.parse().map_err(|_| not_a_number())?;
            if x.is_infinite() && !says_infinity {
                return Err(overflow());
            }
            self.bytes_mut(record).copy_from_slice(&x.to_le_bytes());
        }
        Ok(())
    }

    pub(super) fn set_str(&self, record: &mut [u8], text: &str) -> Result<()> {
        if let Some(at) = text.bytes().position(|b| b == 0) {
            return Err(bad(
                self,
                show(text.as_bytes()),
                format!(
                    "holds a NUL at byte {at}; the text of {} ends at its first NUL (use bytes[N] for binary data)",
                    self.ty
                ),
            ));
        }
        let out = self.bytes_mut(record);
        if text.len() >= out.len() {
            return Err(bad(
                self,
                show(text.as_bytes()),
                format!(
                    "{} bytes of text do not fit {} (at most {} bytes plus NUL)",
                    text.len(),
                    self.ty,
                    out.len() - 1
                ),
            ));
        }
        out[..text.len()].copy_from_slice(text.as_bytes());
        out[text.len()..].fill(0);
        Ok(())
    }

    pub(super) fn set_char(&self, record: &mut [u8], text: &str) -> Result<()> {
        let mut chars = text.chars();
        let byte = match (chars.next(), chars.next()) {
            (None, _) => 0,
            (Some(c), None) if u32::from(c) <= 0xff => u32::from(c) as u8,
            _ => {
                return Err(bad(
                    self,
                    show(text.as_bytes()),
                    "expected one character from U+0000 to U+00FF (one C char)",
                ));
            }
        };
        self.bytes_mut(record)[0] = byte;
        Ok(())
    }

    fn set_hex(&self, record: &mut [u8], text: &str) -> Result<()> {
        let out = self.bytes_mut(record);
        let digits = text.as_bytes();
        if !digits.len().is_multiple_of(2) || digits.len() > 2 * out.len() {
            return Err(bad(
                self,
                show(text.as_bytes()),
                format!(
                    "expected an even number of hex digits, at most {} for {}",
                    2 * out.len(),
                    self.ty
                ),
            ));
        }
        let mut parsed = Vec::with_capacity(digits.len() / 2);
        for pair in digits.chunks_exact(2) {
            match (hex_digit(pair[0]), hex_digit(pair[1])) {
                (Some(h), Some(l)) => parsed.push(h << 4 | l),
                _ => return Err(bad(self, show(text.as_bytes()), "not a hex string")),
            }
        }
        out[..parsed.len()].copy_from_slice(&parsed);
        out[parsed.len()..].fill(0);
        Ok(())
    }

    pub(super) fn bool_byte(&self, record: &[u8]) -> Result<bool> {
        match self.bytes(record)[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(bad(self, format!("byte {b}"), "a bool must be 0 or 1")),
        }
    }

    /// Checks that this field of `record` reads as a value: a `str[N]` holds a NUL with
    /// UTF-8 before it, a `bool` is 0 or 1; other types always read.
    /// [`get_json`](Field::get_json) and [`write_text`](Field::write_text) fail exactly
    /// when this does, with the same error, so this is the check of a `verify` or of raw
    /// input, without building the text.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let s = Schema::parse("t:str[4]", Layout::C)?;
    /// let t = s.field_or_err("t")?;
    /// assert!(t.check(b"abc\0").is_ok());
    /// assert_eq!(
    ///     t.check(b"abcd").unwrap_err().to_string(),
    ///     "field `t`: value \"abcd\": not NUL-terminated (str[4] holds at most 3 bytes \
    ///      of text plus a NUL; use bytes[4] for unterminated data)"
    /// );
    /// assert_eq!(
    ///     t.check(b"K\xffm\0").unwrap_err().to_string(),
    ///     "field `t`: value \"K\\xffm\": invalid UTF-8 at byte 1"
    /// );
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] naming the field and showing the bytes.
    ///
    /// # Panics
    ///
    /// If `record` is shorter than the schema's record size.
    pub fn check(&self, record: &[u8]) -> Result<()> {
        match self.ty {
            FieldType::Str(_) => self.text(record).map(drop),
            FieldType::Bool => self.bool_byte(record).map(drop),
            FieldType::Array(Scalar::Bool, n) => {
                (0..n).try_for_each(|i| self.element(Scalar::Bool, i).bool_byte(record).map(drop))
            }
            _ => Ok(()),
        }
    }

    /// Element `i` of an array field, as a field of its own named `name[i]` (for
    /// error messages).
    pub(super) fn element(&self, ty: Scalar, i: u32) -> Field {
        Field {
            name: format!("{}[{i}]", self.name),
            ty: ty.ty(),
            offset: self.offset + u64::from(i) * ty.ty().size(),
        }
    }

    /// Sets an array field from a JSON array of exactly N values, each as its element
    /// type takes it; `record` is unchanged on error.
    fn set_array_json(
        &self,
        ty: Scalar,
        n: u32,
        value: &Value,
        record: &mut [u8],
        expected: impl FnOnce() -> Error,
    ) -> Result<()> {
        let Value::Array(values) = value else {
            return Err(expected());
        };
        if values.len() != n as usize {
            return Err(bad(
                self,
                show(value.to_string().as_bytes()),
                format!(
                    "{} values for {}, which holds exactly {n}",
                    values.len(),
                    self.ty
                ),
            ));
        }
        // Elements go to a copy of the field, so that a bad one leaves the record as it was.
        let mut scratch = self.bytes(record).to_vec();
        let size = ty.ty().size();
        for (i, v) in values.iter().enumerate() {
            let e = Field {
                name: format!("{}[{i}]", self.name),
                ty: ty.ty(),
                offset: i as u64 * size,
            };
            e.set_json(v, &mut scratch)?;
        }
        self.bytes_mut(record).copy_from_slice(&scratch);
        Ok(())
    }

    /// Reads this field of `record` as a JSON value.
    ///
    /// An `f32` is given as the `f64` nearest its shortest decimal text (`-26.564`, which
    /// prints so, not the f32's exact value `-26.56399917602539`): `as f32` turns it back
    /// into the same `f32`.
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] for a `str` with no NUL in its N bytes or not UTF-8 before
    /// it, or a `bool` byte above 1 (as [`check`](Field::check)).
    ///
    /// # Panics
    ///
    /// If `record` is shorter than the schema's record size.
    pub fn get_json(&self, record: &[u8]) -> Result<Value> {
        Ok(match self.ty {
            FieldType::U8 => self.bytes(record)[0].into(),
            FieldType::I8 => (self.bytes(record)[0] as i8).into(),
            FieldType::U16 => u16::from_le_bytes(self.int(record)).into(),
            FieldType::I16 => i16::from_le_bytes(self.int(record)).into(),
            FieldType::U32 => u32::from_le_bytes(self.int(record)).into(),
            FieldType::I32 => i32::from_le_bytes(self.int(record)).into(),
            FieldType::U64 => u64::from_le_bytes(self.int(record)).into(),
            FieldType::I64 => i64::from_le_bytes(self.int(record)).into(),
            FieldType::F32 => float_json(f32_as_json_f64(f32::from_le_bytes(self.int(record)))),
            FieldType::F64 => float_json(f64::from_le_bytes(self.int(record))),
            FieldType::Bool => self.bool_byte(record)?.into(),
            FieldType::Char | FieldType::Str(_) | FieldType::Bytes(_) => {
                let mut s = String::new();
                self.write_text(record, &mut s)?;
                s.into()
            }
            FieldType::Array(ty, n) => Value::Array(
                (0..n)
                    .map(|i| self.element(ty, i).get_json(record))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// Appends this field of `record` as text to `out`, in the form
    /// [`set_text`](Field::set_text) reads back (the form of a CSV cell).
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] for a `str` with no NUL in its N bytes or not UTF-8 before
    /// it, or a `bool` byte above 1 (as [`check`](Field::check)); `out` is then
    /// unchanged.
    ///
    /// # Panics
    ///
    /// If `record` is shorter than the schema's record size.
    pub fn write_text(&self, record: &[u8], out: &mut String) -> Result<()> {
        let _ = match self.ty {
            FieldType::U8 => write!(out, "{}", self.bytes(record)[0]),
            FieldType::I8 => write!(out, "{}", self.bytes(record)[0] as i8),
            FieldType::U16 => write!(out, "{}", u16::from_le_bytes(self.int(record))),
            FieldType::I16 => write!(out, "{}", i16::from_le_bytes(self.int(record))),
            FieldType::U32 => write!(out, "{}", u32::from_le_bytes(self.int(record))),
            FieldType::I32 => write!(out, "{}", i32::from_le_bytes(self.int(record))),
            FieldType::U64 => write!(out, "{}", u64::from_le_bytes(self.int(record))),
            FieldType::I64 => write!(out, "{}", i64::from_le_bytes(self.int(record))),
            FieldType::F32 => write!(out, "{}", f32::from_le_bytes(self.int(record))),
            FieldType::F64 => write!(out, "{}", f64::from_le_bytes(self.int(record))),
            FieldType::Bool => write!(out, "{}", self.bool_byte(record)?),
            FieldType::Char => {
                let b = self.bytes(record)[0];
                if b != 0 {
                    out.push(char::from(b));
                }
                Ok(())
            }
            FieldType::Str(_) => {
                out.push_str(self.text(record)?);
                Ok(())
            }
            FieldType::Bytes(_) => {
                for b in self.bytes(record) {
                    let _ = write!(out, "{b:02x}");
                }
                Ok(())
            }
            FieldType::Array(..) => {
                out.push_str(&self.get_json(record)?.to_string());
                Ok(())
            }
        };
        Ok(())
    }

    /// Sets this field of `record` from a JSON value.
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] naming the field and the value when it has the wrong JSON
    /// type or does not fit (for a `str`, also text holding a NUL); `record` is then
    /// unchanged.
    ///
    /// # Panics
    ///
    /// If `record` is shorter than the schema's record size.
    pub fn set_json(&self, value: &Value, record: &mut [u8]) -> Result<()> {
        let shown = || show(value.to_string().as_bytes());
        let expected = || {
            let what = json_kind(self.ty);
            bad(self, shown(), format!("expected {what} for {}", self.ty))
        };
        match self.ty {
            FieldType::F32 | FieldType::F64 => match value {
                Value::Number(n) => {
                    let v = n.as_f64().ok_or_else(&expected)?;
                    self.set_float(record, v, shown)
                }
                Value::String(s) => match s.as_str() {
                    "NaN" | "inf" | "-inf" => self.set_text(s.as_bytes(), record),
                    _ => Err(expected()),
                },
                _ => Err(expected()),
            },
            FieldType::Bool => match value {
                Value::Bool(b) => {
                    self.bytes_mut(record)[0] = u8::from(*b);
                    Ok(())
                }
                _ => Err(expected()),
            },
            FieldType::Char => match value {
                Value::String(s) => self.set_char(record, s),
                _ => Err(expected()),
            },
            FieldType::Str(_) => match value {
                Value::String(s) => self.set_str(record, s),
                _ => Err(expected()),
            },
            FieldType::Bytes(_) => match value {
                Value::String(s) => self.set_hex(record, s),
                _ => Err(expected()),
            },
            FieldType::Array(ty, n) => self.set_array_json(ty, n, value, record, expected),
            _ => {
                let v = match value {
                    Value::Number(n) => n
                        .as_i64()
                        .map(i128::from)
                        .or_else(|| n.as_u64().map(i128::from))
                        .or_else(|| {
                            // An integer literal beyond u64 and i64 parses as a float:
                            // out of range, not "not an integer". (-2^63 itself would
                            // have parsed as an i64: as a float it is a literal below
                            // it, rounded.)
                            let f = n.as_f64()?;
                            let beyond = f <= -9_223_372_036_854_775_808.0
                                || f >= 18_446_744_073_709_551_616.0;
                            (beyond && f.fract() == 0.0).then_some(if f > 0.0 {
                                i128::MAX
                            } else {
                                i128::MIN
                            })
                        }),
                    _ => None,
                };
                let v = v.ok_or_else(&expected)?;
                self.set_int(record, v, shown)
            }
        }
    }

    /// Sets this field of `record` from text: a CSV cell, or the value of a
    /// `field=value` argument.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let s = Schema::parse("t:str[4],x:f64", Layout::C)?;
    /// let mut rec = [0u8; 16];
    /// s.field_or_err("t")?.set_text(b"abc", &mut rec)?;
    /// assert_eq!(&rec[..4], b"abc\0");
    /// let e = s.field_or_err("t")?.set_text(b"a\0b", &mut rec).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "field `t`: value \"a\\0b\": holds a NUL at byte 1; the text of str[4] ends at its first NUL (use bytes[N] for binary data)"
    /// );
    /// let e = s.field_or_err("x")?.set_text(b"1e400", &mut rec).unwrap_err();
    /// assert_eq!(e.to_string(), "field `x`: value \"1e400\": out of range for f64");
    /// s.field_or_err("x")?.set_text(b"-inf", &mut rec)?; // infinity, said so
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] naming the field and the value when the text is not UTF-8,
    /// does not parse as the field's type, or does not fit: a `str` text that is too
    /// long or holds a NUL, a number out of range (for a float, a finite literal that
    /// overflows to infinity); `record` is then unchanged.
    ///
    /// # Panics
    ///
    /// If `record` is shorter than the schema's record size.
    pub fn set_text(&self, text: &[u8], record: &mut [u8]) -> Result<()> {
        let text = std::str::from_utf8(text).map_err(|e| {
            bad(
                self,
                show(text),
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        let shown = || show(text.as_bytes());
        match self.ty {
            FieldType::Array(..) => {
                let value: Value = serde_json::from_str(text).map_err(|_| {
                    bad(
                        self,
                        shown(),
                        format!("expected a JSON array for {}, such as [1,2,3]", self.ty),
                    )
                })?;
                self.set_json(&value, record)
            }
            FieldType::Str(_) => self.set_str(record, text),
            FieldType::Char => self.set_char(record, text),
            FieldType::Bytes(_) => self.set_hex(record, text.trim()),
            FieldType::Bool => {
                self.bytes_mut(record)[0] = match text.trim() {
                    "true" | "1" => 1,
                    "false" | "0" => 0,
                    _ => return Err(bad(self, shown(), "expected true, false, 1 or 0")),
                };
                Ok(())
            }
            FieldType::F32 | FieldType::F64 => self.set_float_text(record, text),
            _ => {
                let t = text.trim();
                let v: i128 = match t.parse() {
                    Ok(v) => v,
                    // All digits but too long even for i128: out of range, not garbage.
                    Err(_)
                        if !t.is_empty()
                            && t.trim_start_matches(['-', '+'])
                                .bytes()
                                .all(|b| b.is_ascii_digit())
                            && t.len() > 1 =>
                    {
                        i128::MAX
                    }
                    Err(_) => {
                        return Err(bad(
                            self,
                            shown(),
                            format!("not an integer (a {})", self.ty),
                        ));
                    }
                };
                self.set_int(record, v, shown)
            }
        }
    }
}

/// What JSON a field of type `ty` takes, for "expected ..." messages.
pub(super) fn json_kind(ty: FieldType) -> &'static str {
    match ty {
        FieldType::F32 | FieldType::F64 => "a number",
        FieldType::Bool => "true or false",
        FieldType::Char => "a one-character string",
        FieldType::Str(_) => "a string",
        FieldType::Bytes(_) => "a hex string",
        FieldType::Array(..) => "a JSON array",
        _ => "an integer",
    }
}

pub(super) fn int_range(ty: FieldType) -> (i128, i128) {
    match ty {
        FieldType::U8 => (0, u8::MAX.into()),
        FieldType::I8 => (i8::MIN.into(), i8::MAX.into()),
        FieldType::U16 => (0, u16::MAX.into()),
        FieldType::I16 => (i16::MIN.into(), i16::MAX.into()),
        FieldType::U32 => (0, u32::MAX.into()),
        FieldType::I32 => (i32::MIN.into(), i32::MAX.into()),
        FieldType::U64 => (0, u64::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}

/// A float as JSON; JSON has no NaN or infinity, so those become strings.
/// The f64 whose shortest text is the f32's shortest text (`-26.564`, not the
/// `-26.56399917602539` that the f32 widened exactly to f64 prints), so that JSON shows
/// an f32 as text does. It reads back to the same f32: when the decimal's nearest f64
/// would not (a decimal within half an f64 step of a point halfway between two f32s),
/// the f32 widened exactly is used instead.
fn f32_as_json_f64(x: f32) -> f64 {
    let exact = f64::from(x);
    match x.to_string().parse::<f64>() {
        Ok(short) if short as f32 == x => short,
        _ => exact,
    }
}

fn float_json(v: f64) -> Value {
    if v.is_finite() {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

impl Schema {
    fn known_fields(&self) -> String {
        self.fields()
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The field named `name`, or [`Error::UnknownField`] listing the schema's fields.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let s = Schema::parse("id:str[256],name:str[256]", Layout::C)?;
    /// assert_eq!(s.field_or_err("name")?.offset, 256);
    /// let e = s.field_or_err("Name").unwrap_err();
    /// assert_eq!(e.to_string(), "unknown field `Name` (the schema's fields are: id, name)");
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownField`].
    pub fn field_or_err(&self, name: &str) -> Result<&Field> {
        self.field(name).ok_or_else(|| Error::UnknownField {
            name: name.to_owned(),
            known: self.known_fields(),
        })
    }

    /// A record's bytes as a JSON object, fields in schema order.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let smtest = Schema::parse("c:char,i:i32,s:i16", Layout::Packed)?;
    /// let v = smtest.to_json(&[b'a', 100, 0, 0, 0, 10, 0])?;
    /// assert_eq!(v.to_string(), r#"{"c":"a","i":100,"s":10}"#);
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] for a `str` field that is not UTF-8 or a `bool` byte above
    /// 1; [`Error::InvalidArgument`] if `record` is not one record long.
    pub fn to_json(&self, record: &[u8]) -> Result<Value> {
        self.check_len(record.len())?;
        let mut map = Map::with_capacity(self.fields().len());
        for f in self.fields() {
            map.insert(f.name.clone(), f.get_json(record)?);
        }
        Ok(Value::Object(map))
    }

    /// Appends a record as one line of JSON to `out` (no newline), fields in schema
    /// order. Parsed back, it gives the same value as [`to_json`](Schema::to_json).
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let s = Schema::parse("name:str[16],id:u32", Layout::C)?;
    /// let mut rec = vec![0u8; 20];
    /// s.from_json(&serde_json::json!({"id": 22, "name": "김용"}), &mut rec)?;
    /// let mut line = String::new();
    /// s.write_json(&rec, &mut line)?;
    /// assert_eq!(line, r#"{"name":"김용","id":22}"#);
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`to_json`](Schema::to_json).
    pub fn write_json(&self, record: &[u8], out: &mut String) -> Result<()> {
        self.check_len(record.len())?;
        out.push('{');
        for (i, f) in self.fields().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::from(f.name.as_str()).to_string());
            out.push(':');
            out.push_str(&f.get_json(record)?.to_string());
        }
        out.push('}');
        Ok(())
    }

    /// Fills `record` from a JSON object that gives every field (padding bytes are left
    /// as they are: start from zeros).
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let smtest = Schema::parse("c:char,i:i32,s:i16", Layout::Packed)?;
    /// let mut rec = [0u8; 7];
    /// smtest.from_json(&serde_json::json!({"c": "a", "i": 100, "s": 10}), &mut rec)?;
    /// assert_eq!(rec, [b'a', 100, 0, 0, 0, 10, 0]);
    ///
    /// let e = smtest.from_json(&serde_json::json!({"c": "a", "i": 100, "s": 40000}), &mut rec);
    /// assert_eq!(
    ///     e.unwrap_err().to_string(),
    ///     "field `s`: value \"40000\": out of range for i16 (-32768 to 32767)"
    /// );
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] for a value that does not fit, [`Error::UnknownField`] for a
    /// key that is not a field, [`Error::MissingField`] for a field with no key,
    /// [`Error::InvalidArgument`] when `value` is not an object or `record` not one
    /// record long. `record` may be partly written on error.
    pub fn from_json(&self, value: &Value, record: &mut [u8]) -> Result<()> {
        self.check_len(record.len())?;
        let Value::Object(map) = value else {
            return Err(Error::InvalidArgument(format!(
                "expected a JSON object with the fields {}, found {}",
                self.known_fields(),
                show(value.to_string().as_bytes())
            )));
        };
        for (k, v) in map {
            self.field_or_err(k)?.set_json(v, record)?;
        }
        if map.len() < self.fields().len()
            && let Some(f) = self.fields().iter().find(|f| !map.contains_key(&f.name))
        {
            return Err(Error::MissingField {
                field: f.name.clone(),
            });
        }
        Ok(())
    }

    /// Matches CSV header names to fields: the result fills records from rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let s = Schema::parse("id:str[256],name:str[256]", Layout::C)?;
    /// let cols = s.columns(["name", "id"])?; // any column order
    /// let mut rec = vec![0u8; 512];
    /// cols.fill(&s, ["김용".as_bytes(), b"22"], &mut rec)?;
    /// assert_eq!(s.to_json(&rec)?["name"], "김용");
    /// assert!(s.columns(["id", "nick"]).is_err()); // unknown column
    /// assert!(s.columns(["id"]).is_err());         // no column for `name`
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownField`] for a header that is not a field, [`Error::MissingField`]
    /// for a field with no column, [`Error::InvalidArgument`] for a column given twice.
    pub fn columns<H: AsRef<[u8]>>(&self, headers: impl IntoIterator<Item = H>) -> Result<Columns> {
        let mut fields = Vec::new();
        for (i, h) in headers.into_iter().enumerate() {
            let mut h = h.as_ref();
            if i == 0 {
                h = h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h); // a UTF-8 BOM
            }
            let name = String::from_utf8_lossy(h);
            let name = name.trim();
            let at = self
                .fields()
                .iter()
                .position(|f| f.name == name)
                .ok_or_else(|| Error::UnknownField {
                    name: name.to_owned(),
                    known: self.known_fields(),
                })?;
            if fields.contains(&at) {
                return Err(Error::InvalidArgument(format!(
                    "column `{name}` appears twice in the header"
                )));
            }
            fields.push(at);
        }
        if let Some(f) = (0..self.fields().len()).find(|i| !fields.contains(i)) {
            return Err(Error::MissingField {
                field: self.fields()[f].name.clone(),
            });
        }
        Ok(Columns { fields })
    }

    /// The field names, in order: the header [`Columns`] expects for CSV output.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields().iter().map(|f| f.name.as_str())
    }

    pub(super) fn check_len(&self, len: usize) -> Result<()> {
        if len as u64 != self.record_size() {
            return Err(Error::InvalidArgument(format!(
                "a record of this schema is {} bytes, not {len}",
                self.record_size()
            )));
        }
        Ok(())
    }
}

/// CSV columns matched to a schema's fields by header name (made by
/// [`Schema::columns`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    /// For each column, the index of its field.
    fields: Vec<usize>,
}

impl Columns {
    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no columns (never, for a valid schema).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Fills `record` from one row's cells, in header order (padding bytes are left as
    /// they are: start from zeros).
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] naming the field and value of the first cell that does not
    /// fit; [`Error::InvalidArgument`] for a row with a different number of cells or a
    /// `record` that is not one record long.
    pub fn fill<'c>(
        &self,
        schema: &Schema,
        row: impl IntoIterator<Item = &'c [u8]>,
        record: &mut [u8],
    ) -> Result<()> {
        schema.check_len(record.len())?;
        let mut n = 0;
        for cell in row {
            let Some(&f) = self.fields.get(n) else {
                n += 1;
                continue;
            };
            schema.fields()[f].set_text(cell, record)?;
            n += 1;
        }
        if n != self.fields.len() {
            return Err(Error::InvalidArgument(format!(
                "the row has {n} cells but the header has {}",
                self.fields.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Layout;
    use serde_json::json;

    fn all_types() -> Schema {
        Schema::parse(
            "a:u8,b:i8,c:u16,d:i16,e:u32,f:i32,g:u64,h:i64,i:f32,j:f64,k:bool,l:char,m:str[8],n:bytes[3]",
            Layout::C,
        )
        .unwrap()
    }

    fn err_of(r: Result<()>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn json_round_trip_of_every_type() {
        let s = all_types();
        let v = json!({"a": 255, "b": -128, "c": 65535, "d": -32768, "e": 4294967295u32,
            "f": -2147483648i32, "g": u64::MAX, "h": i64::MIN, "i": 1.5, "j": -0.1,
            "k": true, "l": "é", "m": "김용", "n": "0aff"});
        let mut rec = vec![0u8; s.record_size() as usize];
        s.from_json(&v, &mut rec).unwrap();
        let back = s.to_json(&rec).unwrap();
        assert_eq!(
            back,
            json!({"a": 255, "b": -128, "c": 65535, "d": -32768,
            "e": 4294967295u32, "f": -2147483648i32, "g": u64::MAX, "h": i64::MIN,
            "i": 1.5, "j": -0.1, "k": true, "l": "é", "m": "김용", "n": "0aff00"})
        );
        assert_eq!(rec[s.field("l").unwrap().offset as usize], 0xe9);
        // And through text: every field written as text reads back the same bytes.
        let mut again = vec![0u8; rec.len()];
        for f in s.fields() {
            let mut t = String::new();
            f.write_text(&rec, &mut t).unwrap();
            f.set_text(t.as_bytes(), &mut again).unwrap();
        }
        assert_eq!(again, rec);
    }

    #[test]
    fn floats_that_json_cannot_hold() {
        let s = Schema::parse("x:f64,y:f32", Layout::C).unwrap();
        let mut rec = vec![0u8; 16];
        s.from_json(&json!({"x": "NaN", "y": "-inf"}), &mut rec)
            .unwrap();
        let v = s.to_json(&rec).unwrap();
        assert_eq!(v, json!({"x": "NaN", "y": "-inf"}));
        let y = s.field("y").unwrap();
        assert!(err_of(y.set_text(b"1e39", &mut rec)).contains("out of range for f32"));
        assert!(err_of(y.set_json(&json!("nope"), &mut rec)).contains("expected a number"));
    }

    #[test]
    fn bad_values_name_field_and_value() {
        let s = all_types();
        let mut rec = vec![0u8; s.record_size() as usize];
        let f = |n: &str| s.field(n).unwrap();
        assert_eq!(
            err_of(f("d").set_text(b"40000", &mut rec)),
            "field `d`: value \"40000\": out of range for i16 (-32768 to 32767)"
        );
        assert_eq!(
            err_of(f("e").set_text(b"12x", &mut rec)),
            "field `e`: value \"12x\": not an integer (a u32)"
        );
        assert!(err_of(f("e").set_text(b"-1", &mut rec)).contains("out of range for u32"));
        assert!(
            err_of(f("g").set_text(b"99999999999999999999999999999999999999999", &mut rec))
                .contains("out of range for u64")
        );
        assert_eq!(
            err_of(f("m").set_text("김용김용".as_bytes(), &mut rec)),
            "field `m`: value \"김용김용\": 12 bytes of text do not fit str[8] (at most 7 bytes plus NUL)"
        );
        assert_eq!(
            err_of(f("m").set_text(b"ab\xffcd", &mut rec)),
            "field `m`: value \"ab\\xffcd\": invalid UTF-8 at byte 2"
        );
        assert!(err_of(f("l").set_text(b"ab", &mut rec)).contains("one character"));
        assert!(err_of(f("l").set_text("김".as_bytes(), &mut rec)).contains("one character"));
        assert!(err_of(f("n").set_text(b"0011223", &mut rec)).contains("even number"));
        assert!(err_of(f("n").set_text(b"00112233", &mut rec)).contains("at most 6"));
        assert!(err_of(f("n").set_text(b"zz", &mut rec)).contains("not a hex string"));
        assert!(err_of(f("k").set_text(b"yes", &mut rec)).contains("true, false, 1 or 0"));
        assert!(err_of(f("a").set_json(&json!(1.5), &mut rec)).contains("an integer"));
        assert!(err_of(f("m").set_json(&json!(5), &mut rec)).contains("a string"));
        // Nothing above wrote anything.
        assert!(rec.iter().all(|&b| b == 0));
        let long = "x".repeat(300);
        let e = err_of(f("m").set_text(long.as_bytes(), &mut rec));
        assert!(e.contains("... (300 bytes)") && e.len() < 200, "{e}");
    }

    #[test]
    fn unknown_missing_and_non_objects() {
        let s = Schema::parse("id:u32,name:str[4]", Layout::C).unwrap();
        let mut rec = vec![0u8; 8];
        assert!(matches!(
            s.from_json(&json!({"id": 1, "name": "a", "x": 1}), &mut rec),
            Err(Error::UnknownField { .. })
        ));
        assert!(matches!(
            s.from_json(&json!({"id": 1}), &mut rec),
            Err(Error::MissingField { field }) if field == "name"
        ));
        assert!(s.from_json(&json!([1, "a"]), &mut rec).is_err());
        assert!(s.to_json(&rec[..7]).is_err());
        assert!(s.columns(["id", "name", "id"]).is_err());
        let cols = s.columns(["\u{feff}id", " name "]).unwrap();
        assert!(cols.fill(&s, [&b"1"[..]], &mut rec).is_err());
        assert!(cols.fill(&s, [&b"1"[..], b"a", b"b"], &mut rec).is_err());
        cols.fill(&s, [&b"7"[..], b"abc"], &mut rec).unwrap();
        assert_eq!(s.to_json(&rec).unwrap(), json!({"id": 7, "name": "abc"}));
    }

    proptest::proptest! {
        /// Any bytes of integer, char and bytes fields, and any finite floats, come back
        /// byte for byte through JSON and through text.
        #[test]
        fn any_record_round_trips(
            mut rec in proptest::collection::vec(proptest::num::u8::ANY, 36),
            x in proptest::num::f64::NORMAL | proptest::num::f64::ZERO,
            y in proptest::num::f32::NORMAL | proptest::num::f32::SUBNORMAL,
        ) {
            let s = Schema::parse(
                "a:u8,b:i8,c:u16,d:i16,e:u32,f:i32,g:u64,h:i64,l:char,n:bytes[3],x:f64,y:f32",
                Layout::Packed,
            )
            .unwrap();
            rec.resize(s.record_size() as usize, 0);
            let xo = s.field("x").unwrap().offset as usize;
            rec[xo..xo + 8].copy_from_slice(&x.to_le_bytes());
            rec[xo + 8..xo + 12].copy_from_slice(&y.to_le_bytes());
            let mut line = String::new();
            s.write_json(&rec, &mut line).unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            proptest::prop_assert_eq!(&v, &s.to_json(&rec).unwrap());
            let mut back = vec![0u8; rec.len()];
            s.from_json(&v, &mut back).unwrap();
            proptest::prop_assert_eq!(&back, &rec);
            let mut cells = Vec::new();
            for f in s.fields() {
                let mut t = String::new();
                f.write_text(&rec, &mut t).unwrap();
                cells.push(t);
            }
            let cols = s.columns(s.field_names()).unwrap();
            let mut again = vec![0u8; rec.len()];
            cols.fill(&s, cells.iter().map(|c| c.as_bytes()), &mut again).unwrap();
            proptest::prop_assert_eq!(&again, &rec);
        }
    }

    #[test]
    fn arrays_as_json_and_as_text() {
        let s = Schema::parse("id:u16,v:f32[3],ok:bool[2],c:char[2]", Layout::C).unwrap();
        let mut rec = vec![0u8; s.record_size() as usize];
        let v = json!({"id": 1, "v": [1.5, "-inf", 0.1], "ok": [true, false], "c": ["x", ""]});
        s.from_json(&v, &mut rec).unwrap();
        let vo = s.field("v").unwrap().offset as usize;
        assert_eq!(rec[vo..vo + 4], 1.5f32.to_le_bytes());
        assert_eq!(rec[vo + 8..vo + 12], 0.1f32.to_le_bytes());
        assert_eq!(
            s.to_json(&rec).unwrap(),
            json!({"id": 1, "v": [1.5, "-inf", 0.1], "ok": [true, false], "c": ["x", ""]})
        );
        // As text (a CSV cell): the JSON array, read back to the same bytes.
        let f = s.field("v").unwrap();
        let mut t = String::new();
        f.write_text(&rec, &mut t).unwrap();
        assert_eq!(t, r#"[1.5,"-inf",0.1]"#);
        let mut again = vec![0u8; rec.len()];
        for f in s.fields() {
            let mut t = String::new();
            f.write_text(&rec, &mut t).unwrap();
            f.set_text(t.as_bytes(), &mut again).unwrap();
        }
        assert_eq!(again, rec);
        let ok = s.field("ok").unwrap();
        rec[ok.offset as usize + 1] = 7;
        assert_eq!(
            err_of(ok.check(&rec)),
            "field `ok[1]`: value byte 7: a bool must be 0 or 1"
        );
    }

    #[test]
    fn bad_array_values_name_the_element_and_change_nothing() {
        let s = Schema::parse("v:i8[3]", Layout::Packed).unwrap();
        let f = s.field("v").unwrap();
        let mut rec = vec![0u8; 3];
        assert_eq!(
            err_of(f.set_json(&json!([1, 2, 300]), &mut rec)),
            "field `v[2]`: value \"300\": out of range for i8 (-128 to 127)"
        );
        assert_eq!(
            err_of(f.set_json(&json!([1, 2]), &mut rec)),
            "field `v`: value \"[1,2]\": 2 values for i8[3], which holds exactly 3"
        );
        assert_eq!(
            err_of(f.set_json(&json!(5), &mut rec)),
            "field `v`: value \"5\": expected a JSON array for i8[3]"
        );
        assert!(err_of(f.set_json(&json!([1, null, 2]), &mut rec)).starts_with("field `v[1]`"));
        assert_eq!(
            err_of(f.set_text(b"1 2 3", &mut rec)),
            "field `v`: value \"1 2 3\": expected a JSON array for i8[3], such as [1,2,3]"
        );
        assert!(err_of(f.set_text(b"[1,2,3,4]", &mut rec)).contains("4 values"));
        assert!(err_of(f.set_text(b"[1,\"a\",3]", &mut rec)).starts_with("field `v[1]`"));
        assert_eq!(rec, [0, 0, 0]);
        f.set_text(b" [1, -2, 127] ", &mut rec).unwrap();
        assert_eq!(rec, [1, 0xfe, 127]);
        let mut line = vec![0u8; 3];
        let e = s
            .from_json_line(br#"{"v": [1, 2, 1e400]}"#, &mut line)
            .unwrap_err();
        assert!(e.to_string().contains("`v`"), "{e}");
    }

    #[test]
    fn bool_and_str_read_errors() {
        let s = Schema::parse("k:bool,m:str[4]", Layout::C).unwrap();
        assert!(s.to_json(&[2, b'a', 0, 0, 0]).is_err());
        assert!(s.to_json(&[1, 0xff, 0, 0, 0]).is_err());
        // A full array with no NUL is not a C string; bytes after the NUL are ignored.
        assert_eq!(
            s.to_json(&[1, b'a', b'b', b'c', b'd'])
                .unwrap_err()
                .to_string(),
            "field `m`: value \"abcd\": not NUL-terminated (str[4] holds at most 3 bytes \
             of text plus a NUL; use bytes[4] for unterminated data)"
        );
        assert_eq!(s.to_json(&[0, b'a', 0, 0xff, 0xff]).unwrap()["m"], "a");
    }

    #[test]
    fn shown_values_keep_their_bytes() {
        assert_eq!(show(b"K\xffim"), r#""K\xffim""#);
        assert_eq!(show("김용".as_bytes()), "\"김용\"");
        assert_eq!(show(b"a\"b\\c'd"), r#""a\"b\\c'd""#);
        assert_eq!(show(b"t\tn\n0\0e\x1b"), r#""t\tn\n0\0e\u{1b}""#);
        assert_eq!(show(b"\xe2\x82"), r#""\xe2\x82""#);
        let long = [b'\xff'; 100];
        assert_eq!(
            show(&long),
            format!("\"{}\"... (100 bytes)", r"\xff".repeat(60))
        );
    }
}
