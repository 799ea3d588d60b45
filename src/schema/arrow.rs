//! Arrow: records to and from Arrow record batches, with a lossless type mapping (cargo
//! feature `columnar`). Parquet and the Arrow IPC formats carry these batches; the
//! `fixrec` command line reads and writes them.
//!
//! | fixrec          | Arrow                                              |
//! |-----------------|----------------------------------------------------|
//! | `u8` ... `u64`  | `UInt8` ... `UInt64`                               |
//! | `i8` ... `i64`  | `Int8` ... `Int64`                                 |
//! | `f32`, `f64`    | `Float32`, `Float64` (bits kept: NaN, -0.0, inf)   |
//! | `bool`          | `Boolean`                                          |
//! | `char`          | `Utf8`: one character U+0001 to U+00FF, or `""` for the 0 byte |
//! | `str[N]`        | `Utf8` (the text before the NUL)                   |
//! | `bytes[N]`      | `FixedSizeBinary(N)`                               |
//! | `T[N]`          | `FixedSizeList(T, N)`, elements as T above         |
//!
//! Every column is non-nullable. Each Arrow field carries its fixrec type in its metadata
//! under `fixrec.type` (`str[256]`, `char`, `u8[3]`), and the Arrow schema carries the
//! whole schema text under `fixrec.schema` and the layout under `fixrec.layout`, so that
//! [`Schema::from_arrow`] gives back the same schema, and records the same bytes (padding
//! and the bytes after a `str`'s NUL, which hold no value, come back as zeros).
//!
//! Reading, a field takes a column by name, of its own Arrow type or of one whose every
//! value it holds exactly, checked value by value: any integer type into an integer field
//! (in range), any integer or float into a float field (when no precision is lost),
//! `Utf8`, `LargeUtf8` or `Utf8View` into `str[N]` and `char`, any binary type into
//! `bytes[N]` (at most N bytes, zero-padded), `FixedSizeList` or `List` of exactly N
//! values into `T[N]`. A null is an error.

use super::value::{bad, show};
use super::{Field, FieldType, Layout, Scalar, Schema};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, FixedSizeListArray, PrimitiveArray,
    RecordBatch, StringArray,
};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema, SchemaRef};
use std::collections::HashMap;
use std::sync::Arc;

/// The metadata key of an Arrow field that holds its fixrec type (`str[256]`).
pub const TYPE_KEY: &str = "fixrec.type";
/// The metadata key of an Arrow schema that holds the fixrec schema text.
pub const SCHEMA_KEY: &str = "fixrec.schema";
/// The metadata key of an Arrow schema that holds the layout (`c` or `packed`).
pub const LAYOUT_KEY: &str = "fixrec.layout";

/// The name of a list's element field, as pyarrow names it.
const ITEM: &str = "item";

fn scalar_type(ty: Scalar) -> DataType {
    match ty {
        Scalar::U8 => DataType::UInt8,
        Scalar::I8 => DataType::Int8,
        Scalar::U16 => DataType::UInt16,
        Scalar::I16 => DataType::Int16,
        Scalar::U32 => DataType::UInt32,
        Scalar::I32 => DataType::Int32,
        Scalar::U64 => DataType::UInt64,
        Scalar::I64 => DataType::Int64,
        Scalar::F32 => DataType::Float32,
        Scalar::F64 => DataType::Float64,
        Scalar::Bool => DataType::Boolean,
        Scalar::Char => DataType::Utf8,
    }
}

/// The Arrow type of a field of type `ty`.
pub fn data_type(ty: FieldType) -> DataType {
    match ty {
        FieldType::Str(_) => DataType::Utf8,
        // N is at most 2^30 (a schema's record size), so it fits an i32.
        FieldType::Bytes(n) => DataType::FixedSizeBinary(n as i32),
        FieldType::Array(e, n) => DataType::FixedSizeList(
            Arc::new(ArrowField::new(ITEM, scalar_type(e), false)),
            n as i32,
        ),
        other => scalar_type(other.scalar().expect("a scalar")),
    }
}

impl Schema {
    /// The Arrow schema of this schema's records: one non-nullable column per field,
    /// with the fixrec type, schema text and layout in its metadata.
    ///
    /// # Examples
    ///
    /// ```
    /// use arrow_schema::DataType;
    /// use fixrec::{Layout, Schema};
    ///
    /// let s = Schema::parse("id:u32,name:str[16],v:f32[3]", Layout::C)?;
    /// let a = s.to_arrow();
    /// assert_eq!(a.field(0).data_type(), &DataType::UInt32);
    /// assert_eq!(a.field(1).data_type(), &DataType::Utf8);
    /// assert_eq!(a.field(1).metadata()["fixrec.type"], "str[16]");
    /// assert!(matches!(a.field(2).data_type(), DataType::FixedSizeList(_, 3)));
    /// assert_eq!(Schema::from_arrow(&a, &[0; 3])?, s);
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    pub fn to_arrow(&self) -> SchemaRef {
        let fields: Vec<ArrowField> = self
            .fields()
            .iter()
            .map(|f| {
                ArrowField::new(&f.name, data_type(f.ty), false)
                    .with_metadata(HashMap::from([(TYPE_KEY.to_owned(), f.ty.to_string())]))
            })
            .collect();
        let meta = HashMap::from([
            (SCHEMA_KEY.to_owned(), self.to_string()),
            (LAYOUT_KEY.to_owned(), self.layout().to_string()),
        ]);
        Arc::new(ArrowSchema::new_with_metadata(fields, meta))
    }

    /// The records in `records` (back to back, a whole number of them) as one record
    /// batch of [`to_arrow`](Schema::to_arrow)'s schema, `arrow`.
    ///
    /// # Errors
    ///
    /// [`Error::AtRow`] (its row is `first_row` plus the record's place in `records`)
    /// around [`Error::BadValue`] for a value that does not read, as
    /// [`Field::check`] says; [`Error::InvalidArgument`] when `records` is not a whole
    /// number of records or the text of one batch passes 2 GiB.
    pub fn to_arrow_batch(
        &self,
        arrow: &SchemaRef,
        records: &[u8],
        first_row: u64,
    ) -> Result<RecordBatch> {
        let rs = self.record_size() as usize;
        if !records.len().is_multiple_of(rs) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes are not a whole number of {rs}-byte records",
                records.len()
            )));
        }
        let rows = records.len() / rs;
        let at = |r: usize, e: Error| Error::AtRow {
            row: first_row + r as u64,
            source: Box::new(e),
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.fields().len());
        for f in self.fields() {
            let column: ArrayRef = match f.ty {
                FieldType::Str(_) => {
                    let mut offsets = Vec::with_capacity(rows + 1);
                    let mut text = Vec::new();
                    offsets.push(0i32);
                    for (r, rec) in records.chunks_exact(rs).enumerate() {
                        text.extend_from_slice(f.text(rec).map_err(|e| at(r, e))?.as_bytes());
                        offsets.push(i32::try_from(text.len()).map_err(|_| {
                            Error::InvalidArgument("more than 2 GiB of text in one batch".into())
                        })?);
                    }
                    Arc::new(StringArray::new(
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        Buffer::from_vec(text),
                        None,
                    ))
                }
                FieldType::Bytes(n) => {
                    let mut values = Vec::with_capacity(rows * n as usize);
                    for rec in records.chunks_exact(rs) {
                        values.extend_from_slice(f.bytes(rec));
                    }
                    Arc::new(FixedSizeBinaryArray::new(
                        n as i32,
                        Buffer::from_vec(values),
                        None,
                    ))
                }
                FieldType::Array(e, n) => {
                    if e == Scalar::Bool {
                        check_each(f, records, rs, &at)?;
                    }
                    Arc::new(FixedSizeListArray::new(
                        Arc::new(ArrowField::new(ITEM, scalar_type(e), false)),
                        n as i32,
                        scalar_column(e, records, rs, f.offset as usize, n as usize),
                        None,
                    ))
                }
                ty => {
                    if ty == FieldType::Bool {
                        check_each(f, records, rs, &at)?;
                    }
                    let e = ty.scalar().expect("a scalar");
                    scalar_column(e, records, rs, f.offset as usize, 1)
                }
            };
            columns.push(column);
        }
        RecordBatch::try_new(arrow.clone(), columns)
            .map_err(|e| Error::InvalidArgument(format!("Arrow: {e}")))
    }
}

fn check_each(
    f: &Field,
    records: &[u8],
    rs: usize,
    at: &impl Fn(usize, Error) -> Error,
) -> Result<()> {
    for (r, rec) in records.chunks_exact(rs).enumerate() {
        f.check(rec).map_err(|e| at(r, e))?;
    }
    Ok(())
}

/// The values of `count` elements of type `ty` from `offset` in each record (bools
/// already checked to be 0 or 1).
fn scalar_column(ty: Scalar, records: &[u8], rs: usize, offset: usize, count: usize) -> ArrayRef {
    let size = ty.ty().size() as usize;
    let elements = move || {
        records
            .chunks_exact(rs)
            .flat_map(move |rec| (0..count).map(move |j| &rec[offset + j * size..][..size]))
    };
    macro_rules! primitive {
        ($t:ty) => {
            Arc::new(PrimitiveArray::<$t>::from_iter_values(elements().map(
                |b| {
                    <<$t as ArrowPrimitiveType>::Native>::from_le_bytes(
                        b.try_into().expect("width"),
                    )
                },
            )))
        };
    }
    match ty {
        Scalar::U8 => primitive!(UInt8Type),
        Scalar::I8 => primitive!(Int8Type),
        Scalar::U16 => primitive!(UInt16Type),
        Scalar::I16 => primitive!(Int16Type),
        Scalar::U32 => primitive!(UInt32Type),
        Scalar::I32 => primitive!(Int32Type),
        Scalar::U64 => primitive!(UInt64Type),
        Scalar::I64 => primitive!(Int64Type),
        Scalar::F32 => primitive!(Float32Type),
        Scalar::F64 => primitive!(Float64Type),
        Scalar::Bool => Arc::new(BooleanArray::from_iter(elements().map(|b| Some(b[0] == 1)))),
        Scalar::Char => {
            let chars: Vec<String> = (0..=255u8)
                .map(|b| match b {
                    0 => String::new(),
                    b => char::from(b).to_string(),
                })
                .collect();
            Arc::new(StringArray::from_iter_values(
                elements().map(|b| &chars[usize::from(b[0])]),
            ))
        }
    }
}

/// Why a column cannot fill a field, for [`Schema::arrow_columns`].
fn mismatch(f: &Field, dt: &DataType, takes: &str) -> Error {
    Error::InvalidArgument(format!(
        "column `{}` is {dt}, which does not convert to field `{}: {}` ({takes})",
        f.name, f.name, f.ty
    ))
}

/// What each field type takes, for messages.
fn takes(ty: FieldType) -> &'static str {
    match ty {
        FieldType::F32 | FieldType::F64 => "it takes integer and float columns",
        FieldType::Bool => "it takes Boolean columns",
        FieldType::Char => "it takes Utf8 and UInt8 columns",
        FieldType::Str(_) => "it takes Utf8 columns",
        FieldType::Bytes(_) => "it takes binary columns",
        FieldType::Array(..) => "it takes FixedSizeList and List columns",
        _ => "it takes integer columns",
    }
}

/// Writes one value of a column (at an index) into a field of a record.
type Put<'a> = Box<dyn Fn(&Field, usize, &mut [u8]) -> Result<()> + 'a>;

fn null(f: &Field) -> Error {
    bad(
        f,
        "null".into(),
        "a null, which no fixrec field holds: every field has a value",
    )
}

fn int_put<'a, T: ArrowPrimitiveType>(a: &'a dyn Array) -> Put<'a>
where
    T::Native: Into<i128> + std::fmt::Display,
{
    let a = a.as_primitive::<T>();
    Box::new(move |f, i, rec| {
        if a.is_null(i) {
            return Err(null(f));
        }
        let v = a.value(i);
        f.set_int(rec, v.into(), || format!("\"{v}\""))
    })
}

/// A float put: the value as f64 (exact for every source) or an error naming it.
fn float_put<'a>(a: &'a dyn Array, value: impl Fn(usize) -> Result<f64, String> + 'a) -> Put<'a> {
    Box::new(move |f, i, rec| {
        if a.is_null(i) {
            return Err(null(f));
        }
        let v = value(i).map_err(|shown| {
            bad(
                f,
                format!("\"{shown}\""),
                format!("does not convert to {} exactly", f.ty),
            )
        })?;
        let out = f.bytes_mut(rec);
        if f.ty == FieldType::F32 {
            let x = v as f32;
            if f64::from(x) != v && !v.is_nan() {
                return Err(bad(
                    f,
                    show(format!("{v:?}").as_bytes()),
                    format!("would lose precision in f32 (the nearest f32 is {x})"),
                ));
            }
            out.copy_from_slice(&x.to_le_bytes());
        } else {
            out.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    })
}

/// An integer as an f64, when that is exact.
fn exact_f64(v: i128) -> Result<f64, String> {
    let x = v as f64;
    if x as i128 == v && x.abs() < 1.8e19 {
        Ok(x)
    } else {
        Err(v.to_string())
    }
}

fn int_as_float<'a, T: ArrowPrimitiveType>(a: &'a dyn Array) -> Put<'a>
where
    T::Native: Into<i128>,
{
    let p = a.as_primitive::<T>();
    float_put(a, move |i| exact_f64(p.value(i).into()))
}

fn text_put<'a>(
    a: &'a dyn Array,
    set: fn(&Field, &mut [u8], &str) -> Result<()>,
) -> Option<Put<'a>> {
    macro_rules! with {
        ($s:expr) => {{
            let s = $s;
            Some(Box::new(move |f: &Field, i: usize, rec: &mut [u8]| {
                if s.is_null(i) {
                    return Err(null(f));
                }
                set(f, rec, s.value(i))
            }))
        }};
    }
    match a.data_type() {
        DataType::Utf8 => with!(a.as_string::<i32>()),
        DataType::LargeUtf8 => with!(a.as_string::<i64>()),
        DataType::Utf8View => with!(a.as_string_view()),
        _ => None,
    }
}

fn bytes_put<'a>(a: &'a dyn Array) -> Option<Put<'a>> {
    fn set(f: &Field, rec: &mut [u8], v: &[u8]) -> Result<()> {
        let out = f.bytes_mut(rec);
        if v.len() > out.len() {
            return Err(bad(
                f,
                show(v),
                format!("{} bytes do not fit {}", v.len(), f.ty),
            ));
        }
        out[..v.len()].copy_from_slice(v);
        out[v.len()..].fill(0);
        Ok(())
    }
    macro_rules! with {
        ($s:expr) => {{
            let s = $s;
            Some(Box::new(move |f: &Field, i: usize, rec: &mut [u8]| {
                if s.is_null(i) {
                    return Err(null(f));
                }
                set(f, rec, s.value(i))
            }))
        }};
    }
    match a.data_type() {
        DataType::FixedSizeBinary(_) => with!(a.as_fixed_size_binary()),
        DataType::Binary => with!(a.as_binary::<i32>()),
        DataType::LargeBinary => with!(a.as_binary::<i64>()),
        DataType::BinaryView => with!(a.as_binary_view()),
        _ => None,
    }
}

/// The put of a scalar field type from column `a`, or `None` when the column's type
/// does not convert.
fn scalar_put<'a>(ty: FieldType, a: &'a dyn Array) -> Option<Put<'a>> {
    let dt = a.data_type();
    Some(match ty {
        FieldType::F32 | FieldType::F64 => match dt {
            DataType::Float64 => {
                let p = a.as_primitive::<Float64Type>();
                float_put(a, move |i| Ok(p.value(i)))
            }
            DataType::Float32 => {
                let p = a.as_primitive::<Float32Type>();
                float_put(a, move |i| Ok(f64::from(p.value(i))))
            }
            DataType::Int8 => int_as_float::<Int8Type>(a),
            DataType::Int16 => int_as_float::<Int16Type>(a),
            DataType::Int32 => int_as_float::<Int32Type>(a),
            DataType::Int64 => int_as_float::<Int64Type>(a),
            DataType::UInt8 => int_as_float::<UInt8Type>(a),
            DataType::UInt16 => int_as_float::<UInt16Type>(a),
            DataType::UInt32 => int_as_float::<UInt32Type>(a),
            DataType::UInt64 => int_as_float::<UInt64Type>(a),
            _ => return None,
        },
        FieldType::Bool => match dt {
            DataType::Boolean => {
                let b = a.as_boolean();
                Box::new(move |f: &Field, i: usize, rec: &mut [u8]| {
                    if b.is_null(i) {
                        return Err(null(f));
                    }
                    f.bytes_mut(rec)[0] = u8::from(b.value(i));
                    Ok(())
                })
            }
            _ => return None,
        },
        FieldType::Char => match dt {
            DataType::UInt8 => {
                let p = a.as_primitive::<UInt8Type>();
                Box::new(move |f: &Field, i: usize, rec: &mut [u8]| {
                    if p.is_null(i) {
                        return Err(null(f));
                    }
                    f.bytes_mut(rec)[0] = p.value(i);
                    Ok(())
                })
            }
            _ => return text_put(a, Field::set_char),
        },
        FieldType::Str(_) => return text_put(a, Field::set_str),
        FieldType::Bytes(_) => return bytes_put(a),
        FieldType::Array(..) => return None,
        _ => match dt {
            DataType::Int8 => int_put::<Int8Type>(a),
            DataType::Int16 => int_put::<Int16Type>(a),
            DataType::Int32 => int_put::<Int32Type>(a),
            DataType::Int64 => int_put::<Int64Type>(a),
            DataType::UInt8 => int_put::<UInt8Type>(a),
            DataType::UInt16 => int_put::<UInt16Type>(a),
            DataType::UInt32 => int_put::<UInt32Type>(a),
            DataType::UInt64 => int_put::<UInt64Type>(a),
            _ => return None,
        },
    })
}

/// Where a list's row starts in its values, or how many values it has when not the
/// field's N.
type Start<'a> = Box<dyn Fn(usize) -> Result<usize, String> + 'a>;

/// The put of field `f` from column `a`.
fn field_put<'a>(f: &Field, a: &'a dyn Array) -> Result<Put<'a>> {
    let FieldType::Array(e, n) = f.ty else {
        return scalar_put(f.ty, a).ok_or_else(|| mismatch(f, a.data_type(), takes(f.ty)));
    };
    let n = n as usize;
    // Where each row's elements start in the list's values, or why the row has none.
    let (values, start): (&ArrayRef, Start<'a>) = match a.data_type() {
        DataType::FixedSizeList(_, len) if *len as usize == n => {
            let l = a.as_fixed_size_list();
            (l.values(), Box::new(move |i| Ok(l.value_offset_at(i))))
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let offsets = l.offsets();
            (
                l.values(),
                Box::new(move |i| {
                    let (s, e) = (offsets[i] as usize, offsets[i + 1] as usize);
                    if e - s == n {
                        Ok(s)
                    } else {
                        Err(format!("{} values", e - s))
                    }
                }),
            )
        }
        DataType::LargeList(_) => {
            let l = a.as_list::<i64>();
            let offsets = l.offsets();
            (
                l.values(),
                Box::new(move |i| {
                    let (s, e) = (offsets[i] as usize, offsets[i + 1] as usize);
                    if e - s == n {
                        Ok(s)
                    } else {
                        Err(format!("{} values", e - s))
                    }
                }),
            )
        }
        dt => {
            return Err(mismatch(
                f,
                dt,
                "it takes FixedSizeList and List columns of exactly its length",
            ));
        }
    };
    let element = scalar_put(e.ty(), values.as_ref()).ok_or_else(|| {
        mismatch(
            f,
            a.data_type(),
            &format!("its elements take what a {} field takes", e.ty()),
        )
    })?;
    let elements: Vec<Field> = (0..n as u32).map(|j| f.element(e, j)).collect();
    Ok(Box::new(move |f: &Field, i: usize, rec: &mut [u8]| {
        if a.is_null(i) {
            return Err(null(f));
        }
        let s = start(i).map_err(|got| {
            bad(
                f,
                format!("a list of {got}"),
                format!("{} holds exactly {n} values", f.ty),
            )
        })?;
        // Into a copy of the field, so that a bad element leaves the record as it was.
        let mut scratch = f.bytes(rec).to_vec();
        for (j, e) in elements.iter().enumerate() {
            let local = Field {
                name: e.name.clone(),
                ty: e.ty,
                offset: e.offset - f.offset,
            };
            element(&local, s + j, &mut scratch)?;
        }
        f.bytes_mut(rec).copy_from_slice(&scratch);
        Ok(())
    }))
}

/// Record batches' columns matched to a schema's fields by name (made by
/// [`Schema::arrow_columns`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrowColumns {
    /// For each field, the index of its column.
    columns: Vec<usize>,
}

/// One record batch ready to fill records (made by [`ArrowColumns::rows`]).
pub struct ArrowRows<'a> {
    puts: Vec<(&'a Field, Put<'a>)>,
    rows: usize,
}

impl Schema {
    /// Matches the columns of `arrow` to this schema's fields by name, and checks that
    /// each column's type converts to its field (see the module docs).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownField`] for a column that is not a field, [`Error::MissingField`]
    /// for a field with no column, [`Error::InvalidArgument`] for a column given twice or
    /// of a type that does not convert.
    pub fn arrow_columns(&self, arrow: &SchemaRef) -> Result<ArrowColumns> {
        let mut columns = vec![usize::MAX; self.fields().len()];
        for (i, c) in arrow.fields().iter().enumerate() {
            let at = self.field_or_err(c.name())?;
            let at = self
                .fields()
                .iter()
                .position(|f| std::ptr::eq(f, at))
                .expect("a field");
            if columns[at] != usize::MAX {
                return Err(Error::InvalidArgument(format!(
                    "column `{}` appears twice",
                    c.name()
                )));
            }
            columns[at] = i;
        }
        if let Some(f) = columns.iter().position(|&c| c == usize::MAX) {
            return Err(Error::MissingField {
                field: self.fields()[f].name.clone(),
            });
        }
        let cols = ArrowColumns { columns };
        // The types, checked once on an empty batch.
        cols.rows(self, &RecordBatch::new_empty(arrow.clone()))?;
        Ok(cols)
    }
}

impl ArrowColumns {
    /// The converters of one batch (of the schema these columns were matched with).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a column whose type does not convert to its field.
    pub fn rows<'a>(&self, schema: &'a Schema, batch: &'a RecordBatch) -> Result<ArrowRows<'a>> {
        let mut puts = Vec::with_capacity(self.columns.len());
        for (f, &c) in schema.fields().iter().zip(&self.columns) {
            let column = batch.columns().get(c).ok_or_else(|| {
                Error::InvalidArgument(format!("the batch has no column {c} (for `{}`)", f.name))
            })?;
            puts.push((f, field_put(f, column.as_ref())?));
        }
        Ok(ArrowRows {
            puts,
            rows: batch.num_rows(),
        })
    }
}

impl ArrowRows<'_> {
    /// The batch's rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Fills `record` from row `row` of the batch (padding bytes are left as they are:
    /// start from zeros).
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] naming the field (`v[2]` for an array's element) and value
    /// that does not fit: a null, an integer out of range, a float that loses precision,
    /// a text too long or holding a NUL, a list of another length. `record` may then be
    /// partly written.
    ///
    /// # Panics
    ///
    /// If `row` is past the batch or `record` shorter than the schema's record size.
    pub fn fill(&self, row: usize, record: &mut [u8]) -> Result<()> {
        for (f, put) in &self.puts {
            put(f, row, record)?;
        }
        Ok(())
    }
}

impl Schema {
    /// The schema of records for the columns of `arrow`: the one in its metadata when it
    /// names the same columns (so a file that fixrec wrote gives back its schema and
    /// layout), else field by field from each column's `fixrec.type` or its Arrow type:
    /// integers, floats and `Boolean` as themselves, `Utf8` as `str[L+1]` and binary as
    /// `bytes[L]` (at least 1) where `longest[i]` is L, the longest value of column i in
    /// bytes, `FixedSizeBinary(N)` as `bytes[N]`, `FixedSizeList(T, N)` as `T[N]`. The
    /// layout is C unless the metadata says packed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] naming a column of a type no field holds (a timestamp,
    /// a `List`, a struct), [`Error::InvalidSchema`] for names a schema cannot have.
    pub fn from_arrow(arrow: &ArrowSchema, longest: &[usize]) -> Result<Schema> {
        let meta = arrow.metadata();
        let layout = match meta.get(LAYOUT_KEY).map(String::as_str) {
            Some("packed") => Layout::Packed,
            _ => Layout::C,
        };
        if let Some(s) = meta
            .get(SCHEMA_KEY)
            .and_then(|text| Schema::parse(text, layout).ok())
            && s.fields().len() == arrow.fields().len()
            && s.fields()
                .iter()
                .zip(arrow.fields())
                .all(|(f, c)| &f.name == c.name())
        {
            return Ok(s);
        }
        let mut fields = Vec::with_capacity(arrow.fields().len());
        for (i, c) in arrow.fields().iter().enumerate() {
            let len = longest.get(i).copied().unwrap_or(0);
            let given = c
                .metadata()
                .get(TYPE_KEY)
                .and_then(|t| Schema::parse(&format!("x:{t}"), Layout::C).ok())
                .map(|s| s.fields()[0].ty);
            let ty = match given {
                Some(ty) => ty,
                None => derived(c.data_type(), len).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "column `{}` is {}, which no fixrec field type holds: give the schema, with a field of a type it converts to",
                        c.name(),
                        c.data_type()
                    ))
                })?,
            };
            fields.push((c.name().clone(), ty));
        }
        Schema::from_fields(layout, fields)
    }
}

fn derived_scalar(dt: &DataType) -> Option<Scalar> {
    Some(match dt {
        DataType::UInt8 => Scalar::U8,
        DataType::Int8 => Scalar::I8,
        DataType::UInt16 => Scalar::U16,
        DataType::Int16 => Scalar::I16,
        DataType::UInt32 => Scalar::U32,
        DataType::Int32 => Scalar::I32,
        DataType::UInt64 => Scalar::U64,
        DataType::Int64 => Scalar::I64,
        DataType::Float32 => Scalar::F32,
        DataType::Float64 => Scalar::F64,
        DataType::Boolean => Scalar::Bool,
        _ => return None,
    })
}

fn derived(dt: &DataType, longest: usize) -> Option<FieldType> {
    let n = |len: usize| u32::try_from(len).ok();
    Some(match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            FieldType::Str(n(longest + 1)?)
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            FieldType::Bytes(n(longest.max(1))?)
        }
        DataType::FixedSizeBinary(len) => FieldType::Bytes(u32::try_from(*len).ok()?),
        DataType::FixedSizeList(item, len) => {
            FieldType::Array(derived_scalar(item.data_type())?, u32::try_from(*len).ok()?)
        }
        other => derived_scalar(other)?.ty(),
    })
}

/// Raises `longest[i]` to the longest value, in bytes, of each text or binary column i
/// of `batch`: what [`Schema::from_arrow`] needs to size `str` and `bytes` fields.
pub fn longest_values(batch: &RecordBatch, longest: &mut Vec<usize>) {
    longest.resize(longest.len().max(batch.num_columns()), 0);
    for (c, l) in batch.columns().iter().zip(longest.iter_mut()) {
        let most = match c.data_type() {
            DataType::Utf8 => c.as_string::<i32>().iter().flatten().map(str::len).max(),
            DataType::LargeUtf8 => c.as_string::<i64>().iter().flatten().map(str::len).max(),
            DataType::Utf8View => c.as_string_view().iter().flatten().map(str::len).max(),
            DataType::Binary => c.as_binary::<i32>().iter().flatten().map(<[u8]>::len).max(),
            DataType::LargeBinary => c.as_binary::<i64>().iter().flatten().map(<[u8]>::len).max(),
            DataType::BinaryView => c.as_binary_view().iter().flatten().map(<[u8]>::len).max(),
            _ => None,
        };
        *l = (*l).max(most.unwrap_or(0));
    }
}
