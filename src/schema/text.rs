//! The schema text syntax: `id:str[256],name:str[256]`.
//!
//! ```text
//! schema := field ("," field)*
//! field  := name ":" type
//! name   := (letter | digit | "_")+          1 to 47 bytes, unique
//! type   := scalar | scalar "[" N "]" | "str[" N "]" | "bytes[" N "]"
//! scalar := "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64"
//!         | "f32" | "f64" | "bool" | "char"
//! N      := decimal, 1 to 2^30
//! ```
//!
//! `scalar[N]` is an array of N such values (`v:f32[3]`, C `float v[3]`); `str[N]` and
//! `bytes[N]` are a C string and raw bytes, not arrays.
//!
//! Spaces around names, types and separators are allowed. The layout (`c` or `packed`)
//! is not part of the text: it is given beside it, as `--layout` on the command line.
//! Every error is [`Error::SchemaSyntax`] with the byte position of the problem.

use super::{FieldType, Layout, MAX_NAME_LEN, MAX_RECORD_SIZE, Schema};
use crate::error::{Error, Result};
use std::str::FromStr;

/// The type names of the syntax, for error messages.
const TYPE_NAMES: &str =
    "u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool char str[N] bytes[N], and arrays such as f32[N]";

impl Schema {
    /// Parses schema text such as `id:str[256],name:str[256]` and lays it out under
    /// `layout`. [`Schema`]'s `Display` prints the same text back.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// // #pragma pack(1) struct SMTEST { char c; int i; short s; };
    /// let smtest = Schema::parse("c:char,i:i32,s:i16", Layout::Packed)?;
    /// assert_eq!(smtest.record_size(), 7);
    /// assert_eq!(smtest.field("i").unwrap().offset, 1);
    /// assert_eq!(smtest.to_string(), "c:char,i:i32,s:i16");
    ///
    /// let err = Schema::parse("id:str[256],name:string", Layout::C).unwrap_err();
    /// assert!(err.to_string().contains("at byte 17"), "{err}");
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::SchemaSyntax`] with the byte position for an unknown type, an empty,
    /// too long or duplicate field name, an N of 0 or above 2^30, an empty schema,
    /// trailing garbage, or a record larger than [`MAX_RECORD_SIZE`].
    pub fn parse(text: &str, layout: Layout) -> Result<Schema> {
        let mut p = Parser { text, pos: 0 };
        let mut fields: Vec<(String, FieldType)> = Vec::new();
        p.skip_spaces();
        if p.at_end() {
            return Err(p.error(0, "the schema is empty: a record needs at least one field"));
        }
        loop {
            let (name, name_at) = p.name()?;
            if fields.iter().any(|(n, _)| *n == name) {
                return Err(p.error(name_at, format!("duplicate field name {name:?}")));
            }
            p.skip_spaces();
            p.expect(':', "`:` between the field name and its type")?;
            p.skip_spaces();
            let ty = p.ty()?;
            fields.push((name, ty));
            p.skip_spaces();
            if p.at_end() {
                break;
            }
            p.expect(',', "`,` before the next field, or the end of the schema")?;
            p.skip_spaces();
        }
        let total: u64 = fields.iter().map(|(_, t)| t.size()).sum();
        if total > MAX_RECORD_SIZE {
            return Err(p.error(
                0,
                format!("the fields add up to {total} bytes, above the maximum record size {MAX_RECORD_SIZE}"),
            ));
        }
        Schema::from_fields(layout, fields).map_err(|e| match e {
            Error::InvalidSchema { detail } => p.error(0, detail),
            other => other,
        })
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, position: usize, detail: impl Into<String>) -> Error {
        Error::SchemaSyntax {
            text: self.text.to_owned(),
            position,
            detail: detail.into(),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("found {c:?}"),
            None => "found the end of the text".into(),
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(self.pos, format!("expected {what}, {}", self.found())))
        }
    }

    /// A run of letters, digits and `_`.
    fn word(&mut self) -> &str {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.text[start..self.pos]
    }

    fn name(&mut self) -> Result<(String, usize)> {
        let at = self.pos;
        let name = self.word().to_owned();
        if name.is_empty() {
            return Err(self.error(
                at,
                format!(
                    "expected a field name (letters, digits, `_`), {}",
                    self.found()
                ),
            ));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(self.error(
                at,
                format!(
                    "field name {name:?} is {} bytes long; at most {MAX_NAME_LEN} are allowed",
                    name.len()
                ),
            ));
        }
        Ok((name, at))
    }

    fn ty(&mut self) -> Result<FieldType> {
        let at = self.pos;
        let word = self.word().to_owned();
        let ty = match word.as_str() {
            "u8" => FieldType::U8,
            "i8" => FieldType::I8,
            "u16" => FieldType::U16,
            "i16" => FieldType::I16,
            "u32" => FieldType::U32,
            "i32" => FieldType::I32,
            "u64" => FieldType::U64,
            "i64" => FieldType::I64,
            "f32" => FieldType::F32,
            "f64" => FieldType::F64,
            "bool" => FieldType::Bool,
            "char" => FieldType::Char,
            "str" => FieldType::Str(self.count(&word)?),
            "bytes" => FieldType::Bytes(self.count(&word)?),
            "" => {
                return Err(self.error(
                    at,
                    format!("expected a type ({TYPE_NAMES}), {}", self.found()),
                ));
            }
            other => {
                return Err(self.error(
                    at,
                    format!("unknown type {other:?} (the types are {TYPE_NAMES})"),
                ));
            }
        };
        match ty.scalar() {
            Some(element) if self.peek() == Some('[') => {
                Ok(FieldType::Array(element, self.count(&word)?))
            }
            _ => Ok(ty),
        }
    }

    /// `[N]` after `str`, `bytes` or a scalar type.
    fn count(&mut self, ty: &str) -> Result<u32> {
        self.expect('[', &format!("`[N]` after `{ty}`"))?;
        let at = self.pos;
        let digits_len = self
            .rest()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest().len());
        let digits = &self.text[at..at + digits_len];
        if digits.is_empty() {
            return Err(self.error(
                at,
                format!("expected the size N of `{ty}[N]`, {}", self.found()),
            ));
        }
        self.pos += digits_len;
        let n = digits.parse::<u64>().ok().filter(|&n| n <= MAX_RECORD_SIZE);
        let n = match n {
            Some(0) => {
                return Err(self.error(at, format!("`{ty}[0]` has size 0; N must be at least 1")));
            }
            Some(n) => n as u32,
            None => {
                return Err(self.error(
                    at,
                    format!("N = {digits} is too large; at most {MAX_RECORD_SIZE} (1 GiB)"),
                ));
            }
        };
        self.expect(']', &format!("`]` after `{ty}[{digits}`"))?;
        Ok(n)
    }
}

impl FromStr for Layout {
    type Err = Error;

    /// `c` (natural alignment, the default) or `packed` (`#pragma pack(1)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::Layout;
    ///
    /// assert_eq!("packed".parse::<Layout>()?, Layout::Packed);
    /// assert_eq!("c".parse::<Layout>()?, Layout::C);
    /// assert!("pack".parse::<Layout>().is_err());
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Layout> {
        match s {
            "c" | "C" => Ok(Layout::C),
            "packed" => Ok(Layout::Packed),
            other => Err(Error::InvalidArgument(format!(
                "unknown layout {other:?}: expected `c` or `packed`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_at(text: &str) -> (usize, String) {
        match Schema::parse(text, Layout::C) {
            Err(Error::SchemaSyntax {
                position, detail, ..
            }) => (position, detail),
            other => panic!("{text:?}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn member_and_smtest() {
        let m = Schema::parse("id:str[256],name:str[256]", Layout::C).unwrap();
        assert_eq!(m.record_size(), 512);
        assert_eq!(m.field("name").unwrap().offset, 256);
        let s = Schema::parse(" c : char , i:i32,s:i16 ", Layout::Packed).unwrap();
        assert_eq!((s.record_size(), s.field("s").unwrap().offset), (7, 5));
        let c = Schema::parse("c:char,i:i32,s:i16", Layout::C).unwrap();
        assert_eq!((c.record_size(), c.field("i").unwrap().offset), (12, 4));
    }

    #[test]
    fn every_type_round_trips_through_display() {
        let text = "a:u8,b:i8,c:u16,d:i16,e:u32,f:i32,g:u64,h:i64,i:f32,j:f64,k:bool,l:char,m:str[3],n:bytes[5],이름:str[30],v:f32[3],w:u8[1],x:bool[2],y:char[4],z:i64[16]";
        for layout in [Layout::C, Layout::Packed] {
            let s = Schema::parse(text, layout).unwrap();
            assert_eq!(s.to_string(), text);
            assert_eq!(Schema::parse(&s.to_string(), layout).unwrap(), s);
        }
    }

    #[test]
    fn errors_point_at_the_problem() {
        let (at, d) = err_at("id:str[256],name:string");
        assert_eq!(at, 17);
        assert!(d.contains("unknown type \"string\""), "{d}");
        let (at, d) = err_at("a:u8,a:u16");
        assert_eq!(at, 5);
        assert!(d.contains("duplicate"), "{d}");
        let (at, _) = err_at("a:u8,:u16");
        assert_eq!(at, 5);
        let (at, _) = err_at("a:u8,");
        assert_eq!(at, 5);
        let (at, d) = err_at("a:str[0]");
        assert_eq!(at, 6);
        assert!(d.contains("size 0"), "{d}");
        let (at, d) = err_at("a:bytes[99999999999999999999999]");
        assert_eq!(at, 8);
        assert!(d.contains("too large"), "{d}");
        let (at, _) = err_at("a:bytes[1073741825]");
        assert_eq!(at, 8);
        let (at, d) = err_at("a:u8 junk");
        assert_eq!(at, 5);
        assert!(d.contains("found 'j'"), "{d}");
        let (at, d) = err_at("   ");
        assert_eq!(at, 0);
        assert!(d.contains("empty"), "{d}");
        let (at, _) = err_at("a u8");
        assert_eq!(at, 2);
        let (at, _) = err_at("a:str[4");
        assert_eq!(at, 7);
        let (at, _) = err_at("a:str");
        assert_eq!(at, 5);
        let (at, _) = err_at("a:");
        assert_eq!(at, 2);
        let long = "x".repeat(48);
        let (at, d) = err_at(&format!("a:u8,{long}:u8"));
        assert_eq!(at, 5);
        assert!(d.contains("48 bytes"), "{d}");
        let (_, d) = err_at("a:bytes[1073741824],b:bytes[1073741824]");
        assert!(d.contains("maximum record size"), "{d}");
        // Arrays.
        let (at, d) = err_at("v:f32[0]");
        assert_eq!(at, 6);
        assert!(d.contains("`f32[0]` has size 0"), "{d}");
        let (at, d) = err_at("v:f32[3");
        assert_eq!(at, 7);
        assert!(d.contains("`]` after `f32[3`"), "{d}");
        let (at, _) = err_at("v:f32[x]");
        assert_eq!(at, 6);
        let (at, d) = err_at("v:f32[3][2]");
        assert_eq!(at, 8);
        assert!(d.contains("found '['"), "{d}");
        let (at, d) = err_at("v:f32 [3]");
        assert_eq!(at, 6);
        assert!(d.contains("found '['"), "{d}");
        let (_, d) = err_at("v:f64[134217729]");
        assert!(d.contains("maximum record size"), "{d}");
    }

    #[test]
    fn layouts_parse() {
        assert_eq!("c".parse::<Layout>().unwrap(), Layout::C);
        assert_eq!("packed".parse::<Layout>().unwrap(), Layout::Packed);
        assert!("".parse::<Layout>().is_err());
    }
}
