//! JSON lines: a record from one line of JSON, with errors that name the field and show
//! the value as the line has it, even where a JSON parser alone would only give a
//! column (a value that is not UTF-8, a number out of range, a key given twice).

use super::value::{bad, hex_digit, int_range, json_kind, show};
use super::{FieldType, Schema};
use crate::error::{Error, Result};
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde_json::{Map, Value};

impl Schema {
    /// Fills `record` from one line of JSON lines: the bytes of one JSON object giving
    /// every field (padding bytes are left as they are: start from zeros). It reads
    /// what [`from_json`](Schema::from_json) reads, with the same errors, and reports
    /// what a JSON parser alone cannot say well: which field holds a string that is not
    /// UTF-8 or a number too large for any float, with the value's bytes; a key given
    /// twice (a parser keeps the last); and where in the line the JSON is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Layout, Schema};
    ///
    /// let s = Schema::parse("id:u32,name:str[8],x:f64", Layout::C)?;
    /// let mut rec = vec![0u8; s.record_size() as usize];
    /// s.from_json_line(br#"{"id": 22, "name": "Kim", "x": 0.5}"#, &mut rec)?;
    /// assert_eq!(s.to_json(&rec)?, serde_json::json!({"id": 22, "name": "Kim", "x": 0.5}));
    ///
    /// let err = |line: &[u8]| s.from_json_line(line, &mut vec![0; 24]).unwrap_err().to_string();
    /// assert_eq!(
    ///     err(b"{\"id\":1,\"name\":\"K\xffim\",\"x\":0}"),
    ///     r#"field `name`: value "K\xffim": invalid UTF-8 at byte 1"#
    /// );
    /// assert_eq!(
    ///     err(br#"{"id":1,"name":"a","x":1e400}"#),
    ///     r#"field `x`: value "1e400": out of range for f64"#
    /// );
    /// assert_eq!(
    ///     err(br#"{"id":1,"name":"a","x":1,"id":2}"#),
    ///     "key `id` appears twice in the JSON object"
    /// );
    /// assert_eq!(
    ///     err(br#"{"id":1 "name":"a","x":1}"#),
    ///     "invalid JSON at column 9: expected `,` or `}`"
    /// );
    /// assert!(err(br#"{"id":1,"x":1}"#).starts_with("missing field `name`"));
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_json`](Schema::from_json); and [`Error::BadValue`] naming the field
    /// and showing the value for a string that is not UTF-8 or a number out of range,
    /// [`Error::InvalidArgument`] for a key given twice (naming it) or JSON that does
    /// not parse (with the column, a byte count from 1, and the field whose value it is
    /// in, if any). `record` may be partly written on error.
    pub fn from_json_line(&self, line: &[u8], record: &mut [u8]) -> Result<()> {
        self.check_len(record.len())?;
        let object = line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let mut de = serde_json::Deserializer::from_slice(line);
        let mut duplicate = None;
        let parsed = if object {
            UniqueKeys {
                duplicate: &mut duplicate,
            }
            .deserialize(&mut de)
            .map(Value::Object)
        } else {
            // Not an object: from_json says so, naming the fields.
            serde::Deserialize::deserialize(&mut de)
        };
        let value = parsed.and_then(|v| de.end().map(|()| v));
        if let Some(key) = duplicate {
            return Err(Error::InvalidArgument(format!(
                "key `{}` appears twice in the JSON object",
                key.escape_debug()
            )));
        }
        match value {
            Ok(value) => self
                .from_json(&value, record)
                .map_err(|e| self.as_typed(line, e)),
            Err(e) => Err(self.json_line_error(line, &e)),
        }
    }

    /// A bad number shown as the line has it, not as serde_json read it (`1e2`, not
    /// `100.0`); an integer literal beyond i64/u64, which serde_json reads as a float, is
    /// out of range rather than "not an integer".
    fn as_typed(&self, line: &[u8], e: Error) -> Error {
        let Error::BadValue {
            field,
            value,
            detail,
        } = e
        else {
            return e;
        };
        let raw = members(line)
            .into_iter()
            .find(|m| string_inner(&line[m.key.clone()]) == field.as_bytes())
            .map(|m| line[m.value].trim_ascii());
        let Some(raw) = raw.filter(|r| r.first().is_some_and(|&c| c == b'-' || c.is_ascii_digit()))
        else {
            return Error::BadValue {
                field,
                value,
                detail,
            };
        };
        let integral = raw
            .strip_prefix(b"-")
            .unwrap_or(raw)
            .iter()
            .all(u8::is_ascii_digit);
        let detail = match self.field_or_err(&field) {
            Ok(f) if integral && detail.starts_with("expected an integer") => {
                let (lo, hi) = int_range(f.ty);
                let n = std::str::from_utf8(raw)
                    .ok()
                    .and_then(|t| t.parse::<i128>().ok());
                if n.is_some_and(|n| (lo..=hi).contains(&n)) {
                    detail // `-0`: an integer, but read as a float
                } else {
                    format!("out of range for {} ({lo} to {hi})", f.ty)
                }
            }
            _ => detail,
        };
        Error::BadValue {
            field,
            value: show(raw),
            detail,
        }
    }

    /// The error for a line serde_json could not parse: the field and value when the
    /// problem is a depth-1 value that is not UTF-8 or a number out of range, else the
    /// parser's message with its column (and the field, when inside a value).
    fn json_line_error(&self, line: &[u8], e: &serde_json::Error) -> Error {
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        // serde_json counts lines from 1 and bytes in a line from 1 (0: none yet).
        let line_start = match e.line() {
            0 | 1 => 0,
            n => line
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .nth(n - 2)
                .map_or(line.len(), |(i, _)| i + 1),
        };
        let at = (line_start + e.column())
            .saturating_sub(1)
            .min(line.len().saturating_sub(1));
        let column = at + 1;
        let members = members(line);
        let Some(m) = members.iter().find(|m| {
            (m.key.start..m.key.end.max(m.key.start + 1)).contains(&at)
                || (m.value.start..m.value.end.max(m.value.start + 1)).contains(&at)
        }) else {
            return Error::InvalidArgument(format!("invalid JSON at column {column}: {message}"));
        };
        let key = unescape(string_inner(&line[m.key.clone()]));
        let name = match String::from_utf8(key) {
            Ok(name) => name,
            Err(e) => {
                return Error::InvalidArgument(format!(
                    "invalid JSON at column {column}: key {} is not UTF-8",
                    show(e.as_bytes())
                ));
            }
        };
        let raw = &line[m.value.clone()];
        if m.value.contains(&at) {
            if raw.first() == Some(&b'"') && std::str::from_utf8(string_inner(raw)).is_err() {
                let value = unescape(string_inner(raw));
                let bad_at = std::str::from_utf8(&value).map_or_else(|e| e.valid_up_to(), |_| 0);
                return match self.field_or_err(&name) {
                    Ok(f) => bad(f, show(&value), format!("invalid UTF-8 at byte {bad_at}")),
                    Err(e) => e,
                };
            }
            let overflows = std::str::from_utf8(raw)
                .ok()
                .filter(|t| t.starts_with(|c: char| c == '-' || c.is_ascii_digit()))
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(f64::is_infinite);
            if overflows {
                return match self.field_or_err(&name) {
                    Ok(f) => {
                        let detail = match f.ty {
                            FieldType::F32 | FieldType::F64 => format!("out of range for {}", f.ty),
                            FieldType::Bool
                            | FieldType::Char
                            | FieldType::Str(_)
                            | FieldType::Bytes(_)
                            | FieldType::Array(..) => {
                                format!("expected {} for {}", json_kind(f.ty), f.ty)
                            }
                            _ => {
                                let (lo, hi) = int_range(f.ty);
                                format!("out of range for {} ({lo} to {hi})", f.ty)
                            }
                        };
                        bad(f, show(raw), detail)
                    }
                    Err(e) => e,
                };
            }
            return Error::InvalidArgument(format!(
                "invalid JSON at column {column} (the value of `{}`): {message}",
                name.escape_debug()
            ));
        }
        Error::InvalidArgument(format!(
            "invalid JSON at column {column} (the key `{}`): {message}",
            name.escape_debug()
        ))
    }
}

/// Deserializes a JSON object into a map, stopping at a key that is there already (and
/// putting it in `duplicate`): serde_json's own maps keep the last value.
struct UniqueKeys<'a> {
    duplicate: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                *self.duplicate = Some(key);
                return Err(serde::de::Error::custom("duplicate key"));
            }
            let value = access.next_value()?;
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// One `"key": value` of a JSON object: byte ranges of the line, the key's with its
/// quotes.
struct Member {
    key: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

/// The depth-1 members of the JSON object in `line`, as far as they can be made out:
/// the line may be malformed (that is why we look), so this never fails; a value cut
/// short runs to the end of the line.
fn members(line: &[u8]) -> Vec<Member> {
    let ws = |mut i: usize| {
        while line.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = ws(0);
    if line.get(i) != Some(&b'{') {
        return out;
    }
    i += 1;
    loop {
        i = ws(i);
        if line.get(i) != Some(&b'"') {
            break;
        }
        let key = i..string_end(line, i);
        i = ws(key.end);
        if line.get(i) != Some(&b':') {
            out.push(Member { key, value: i..i });
            break;
        }
        let start = ws(i + 1);
        i = value_end(line, start);
        out.push(Member {
            key,
            value: start..i,
        });
        i = ws(i);
        if line.get(i) != Some(&b',') {
            break;
        }
        i += 1;
    }
    out
}

/// The end (past the closing quote) of the JSON string that opens at `start`, or the end
/// of the line.
fn string_end(line: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while j < line.len() {
        match line[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    line.len()
}

/// The end of the JSON value that starts at `start` (an object or array with all it
/// holds), or the end of the line.
fn value_end(line: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut j = start;
    while j < line.len() {
        match line[j] {
            b'"' => {
                j = string_end(line, j);
                if depth == 0 {
                    return j;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return j,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            b',' if depth == 0 => return j,
            b if depth == 0 && b.is_ascii_whitespace() => return j,
            _ => {}
        }
        j += 1;
    }
    line.len()
}

/// The bytes between a JSON string's quotes (the closing one may be missing).
fn string_inner(quoted: &[u8]) -> &[u8] {
    let inner = quoted.strip_prefix(b"\"").unwrap_or(quoted);
    let closed = inner.ends_with(b"\"") && {
        let backslashes = inner[..inner.len() - 1]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        backslashes % 2 == 0
    };
    if closed {
        &inner[..inner.len() - 1]
    } else {
        inner
    }
}

/// A JSON string's bytes with its escapes decoded; an escape that does not decode is
/// kept as it is written (the parser has reported it already).
fn unescape(s: &[u8]) -> Vec<u8> {
    let hex4 = |at: usize| -> Option<u32> {
        let digits = s.get(at..at + 4)?;
        digits
            .iter()
            .try_fold(0u32, |acc, &d| Some(acc << 4 | u32::from(hex_digit(d)?)))
    };
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let simple = match s.get(i + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'b') => Some(8),
            Some(b'f') => Some(12),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
            continue;
        }
        let unit = if s.get(i + 1) == Some(&b'u') {
            hex4(i + 2)
        } else {
            None
        };
        let (c, len) = match unit {
            Some(hi @ 0xd800..=0xdbff) if s.get(i + 6..i + 8) == Some(b"\\u") => {
                match hex4(i + 8) {
                    Some(lo @ 0xdc00..=0xdfff) => (
                        char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)),
                        12,
                    ),
                    _ => (None, 6),
                }
            }
            Some(u) => (char::from_u32(u), 6),
            None => (None, 1),
        };
        match c {
            Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            None => out.extend_from_slice(&s[i..(i + len).min(s.len())]),
        }
        i += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_members_and_strings() {
        let line = br#" {"a": 1, "b\"c" :"x\"y,z" , "d":[1,{"e":"]"}],"f":tru"#;
        let m = members(line);
        let spans: Vec<_> = m
            .iter()
            .map(|m| (&line[m.key.clone()], &line[m.value.clone()]))
            .collect();
        assert_eq!(
            spans,
            [
                (&br#""a""#[..], &b"1"[..]),
                (br#""b\"c""#, br#""x\"y,z""#),
                (br#""d""#, br#"[1,{"e":"]"}]"#),
                (br#""f""#, b"tru"),
            ]
        );
        assert_eq!(string_inner(br#""ab\"""#), br#"ab\""#);
        assert_eq!(string_inner(br#""ab\""#), br#"ab\""#);
        assert_eq!(
            unescape(br"a\n\u00e9\ud83d\ude00\q\ud800x"),
            "a\né😀\\q\\ud800x".as_bytes()
        );
    }
}
