//! Pins the value-conversion fixes of the CLI audit: a `str[N]` with no NUL does not read
//! as text; text holding a NUL is refused, not cut; a float literal that overflows is
//! refused, not stored as infinity; bad values are shown with their real bytes, not
//! U+FFFD; `Schema::from_json_line` names the field for every JSON error and refuses
//! duplicate keys; and `set`/`push` refuse a field given twice.

mod common;

use common::cli::{fails, ok};
use fixrec::{Error, FixedStr, Layout, Schema};
use serde_json::json;

fn schema(text: &str) -> Schema {
    Schema::parse(text, Layout::C).unwrap()
}

fn zeros(s: &Schema) -> Vec<u8> {
    vec![0; s.record_size() as usize]
}

fn message<T: std::fmt::Debug>(r: fixrec::Result<T>) -> String {
    r.unwrap_err().to_string()
}

// ---- 1. A str[N] whose N bytes hold no NUL ----

#[test]
fn an_unterminated_str_does_not_read_as_text() {
    let s = schema("t:str[4]");
    let t = s.field("t").unwrap();
    let expected = "field `t`: value \"abcd\": not NUL-terminated (str[4] holds at most 3 bytes \
                    of text plus a NUL; use bytes[4] for unterminated data)";
    assert_eq!(message(s.to_json(b"abcd")), expected);
    assert_eq!(message(t.get_json(b"abcd")), expected);
    assert_eq!(message(t.check(b"abcd")), expected);
    let mut out = String::new();
    assert_eq!(message(t.write_text(b"abcd", &mut out)), expected);
    assert_eq!(out, "", "nothing written on error");
    let mut line = String::new();
    assert_eq!(message(s.write_json(b"abcd", &mut line)), expected);

    // The bytes are shown as they are, invalid UTF-8 and control characters escaped.
    assert_eq!(
        message(s.to_json(b"K\xff\x01m")),
        "field `t`: value \"K\\xff\\u{1}m\": not NUL-terminated (str[4] holds at most 3 \
         bytes of text plus a NUL; use bytes[4] for unterminated data)"
    );
    // One byte of room: only the NUL.
    let one = schema("c:str[1]");
    assert!(message(one.to_json(b"x")).contains("str[1] holds at most 0 bytes"));
    assert_eq!(one.to_json(b"\0").unwrap(), json!({"c": ""}));

    // Terminated text reads, bytes after the NUL ignored, as before.
    assert_eq!(s.to_json(b"abc\0").unwrap(), json!({"t": "abc"}));
    assert_eq!(s.to_json(b"a\0\xff\xff").unwrap(), json!({"t": "a"}));
    assert!(t.check(b"abc\0").is_ok());

    // The Rust type stays lenient, as documented.
    let full = FixedStr::from_array(*b"abcd");
    assert_eq!(full.as_bytes(), b"abcd");
    assert_eq!(full.as_str().unwrap(), "abcd");
}

// ---- 2. Text holding a NUL ----

#[test]
fn text_holding_a_nul_is_refused_for_str() {
    let s = schema("id:u32,name:str[8]");
    let name = s.field("name").unwrap();
    let expected = "field `name`: value \"a\\0b\": holds a NUL at byte 1; the text of str[8] \
                    ends at its first NUL (use bytes[N] for binary data)";
    let mut rec = zeros(&s);
    assert_eq!(message(name.set_text(b"a\0b", &mut rec)), expected);
    assert_eq!(
        message(name.set_json(&json!("a\u{0}b"), &mut rec)),
        expected
    );
    assert_eq!(
        message(s.from_json(&json!({"id": 1, "name": "a\u{0}b"}), &mut rec)),
        expected
    );
    assert_eq!(
        message(s.from_json_line(br#"{"id":1,"name":"a\u0000b"}"#, &mut rec)),
        expected
    );
    // A CSV cell with a 0 byte in it.
    let cols = s.columns(["id", "name"]).unwrap();
    assert_eq!(
        message(cols.fill(&s, [&b"1"[..], b"a\0b"], &mut rec)),
        expected
    );
    // At the very start, and at the end.
    assert!(message(name.set_text(b"\0", &mut rec)).contains("NUL at byte 0"));
    assert!(message(name.set_text(b"abc\0", &mut rec)).contains("NUL at byte 3"));
    // Nothing was written by any of them (the id cell before may be).
    assert!(rec[4..].iter().all(|&b| b == 0), "{rec:?}");
    // The Rust API refuses it too, rather than cut the text.
    assert!(FixedStr::<8>::new("a\0b").is_err());
}

#[test]
fn a_char_may_be_the_nul_byte() {
    let s = schema("c:char,t:str[4]");
    let mut rec = zeros(&s);
    rec[0] = b'x';
    s.from_json(&json!({"c": "\u{0}", "t": ""}), &mut rec)
        .unwrap();
    assert_eq!(rec[0], 0);
    // It reads back as "", which writes the same byte.
    assert_eq!(s.to_json(&rec).unwrap(), json!({"c": "", "t": ""}));
    rec[0] = b'x';
    s.field("c").unwrap().set_text(b"\0", &mut rec).unwrap();
    assert_eq!(rec[0], 0);
    rec[0] = b'x';
    s.from_json_line(br#"{"c":"\u0000","t":"ok"}"#, &mut rec)
        .unwrap();
    assert_eq!(rec[..4], [0, b'o', b'k', 0]);
}

// ---- 3. Floats ----

#[test]
fn a_float_literal_that_overflows_is_refused() {
    let s = schema("x:f64,y:f32");
    let (x, y) = (s.field("x").unwrap(), s.field("y").unwrap());
    let mut rec = zeros(&s);
    for (field, text, ty) in [
        (x, "1e400", "f64"),
        (x, "-1e400", "f64"),
        (x, " 2e308 ", "f64"),
        (y, "1e400", "f32"),
        (y, "1e39", "f32"),
        (y, "-3.5e38", "f32"),
    ] {
        assert_eq!(
            message(field.set_text(text.as_bytes(), &mut rec)),
            format!(
                "field `{}`: value {text:?}: out of range for {ty}",
                field.name
            )
        );
    }
    assert!(rec.iter().all(|&b| b == 0), "nothing written");
    // Through JSON: a number f32 cannot hold, and a line whose number no float holds.
    assert_eq!(
        message(s.from_json(&json!({"x": 1, "y": 3.5e38}), &mut rec)),
        "field `y`: value \"3.5e+38\": out of range for f32"
    );
    assert_eq!(
        message(s.from_json_line(br#"{"x":1e400,"y":0}"#, &mut rec)),
        "field `x`: value \"1e400\": out of range for f64"
    );
    assert_eq!(
        message(s.from_json_line(br#"{"x":0,"y":-1e999}"#, &mut rec)),
        "field `y`: value \"-1e999\": out of range for f32"
    );
    // The largest values still fit; underflow to zero is not an error.
    x.set_text(b"1.7976931348623157e308", &mut rec).unwrap();
    y.set_text(b"3.4028235e38", &mut rec).unwrap();
    assert_eq!(f32::from_le_bytes(rec[8..12].try_into().unwrap()), f32::MAX);
    x.set_text(b"1e-400", &mut rec).unwrap();
    assert_eq!(rec[..8], [0; 8]);
}

#[test]
fn infinity_and_nan_said_so_are_kept_and_round_trip() {
    let s = schema("x:f64,y:f32");
    let (x, y) = (s.field("x").unwrap(), s.field("y").unwrap());
    let mut rec = zeros(&s);
    for (text, want) in [
        ("inf", f64::INFINITY),
        ("-inf", f64::NEG_INFINITY),
        ("+inf", f64::INFINITY),
        ("Infinity", f64::INFINITY),
        ("-INF", f64::NEG_INFINITY),
    ] {
        x.set_text(text.as_bytes(), &mut rec).unwrap();
        y.set_text(text.as_bytes(), &mut rec).unwrap();
        assert_eq!(f64::from_le_bytes(rec[..8].try_into().unwrap()), want);
        assert_eq!(
            f32::from_le_bytes(rec[8..12].try_into().unwrap()),
            want as f32
        );
    }
    x.set_text(b"NaN", &mut rec).unwrap();
    assert!(f64::from_le_bytes(rec[..8].try_into().unwrap()).is_nan());

    // Export forms: CSV text `inf`/`-inf`/`NaN`, JSON strings "inf"/"-inf"/"NaN"; each
    // reads back as the same bytes.
    for (xv, yv) in [
        (f64::INFINITY, f32::NEG_INFINITY),
        (f64::NAN, f32::NAN),
        (f64::NEG_INFINITY, f32::INFINITY),
    ] {
        let mut rec = zeros(&s);
        rec[..8].copy_from_slice(&xv.to_le_bytes());
        rec[8..12].copy_from_slice(&yv.to_le_bytes());
        let json = s.to_json(&rec).unwrap();
        assert!(json["x"].is_string() && json["y"].is_string(), "{json}");
        let mut back = zeros(&s);
        s.from_json(&json, &mut back).unwrap();
        assert_eq!(back, rec, "{json}");
        let mut line = String::new();
        s.write_json(&rec, &mut line).unwrap();
        let mut back = zeros(&s);
        s.from_json_line(line.as_bytes(), &mut back).unwrap();
        assert_eq!(back, rec, "{line}");
        let mut back = zeros(&s);
        for f in s.fields() {
            let mut cell = String::new();
            f.write_text(&rec, &mut cell).unwrap();
            assert!(["inf", "-inf", "NaN"].contains(&cell.as_str()), "{cell}");
            f.set_text(cell.as_bytes(), &mut back).unwrap();
        }
        assert_eq!(back, rec);
    }
    // JSON strings other than those three are not numbers.
    assert!(message(x.set_json(&json!("1e400"), &mut rec)).contains("expected a number"));
}

// ---- 4. Values shown with their bytes ----

#[test]
fn bad_values_are_shown_with_their_bytes() {
    let s = schema("name:str[8],n:u32,b:bytes[2]");
    let mut rec = zeros(&s);
    let f = |n: &str| s.field(n).unwrap();
    assert_eq!(
        message(f("name").set_text(b"K\xffim", &mut rec)),
        "field `name`: value \"K\\xffim\": invalid UTF-8 at byte 1"
    );
    assert_eq!(
        message(f("n").set_text(b"1\t2\x1b\"\\", &mut rec)),
        "field `n`: value \"1\\t2\\u{1b}\\\"\\\\\": not an integer (a u32)"
    );
    assert_eq!(
        message(f("n").set_text("김용".as_bytes(), &mut rec)),
        "field `n`: value \"김용\": not an integer (a u32)"
    );
    assert_eq!(
        message(f("b").set_text(b"\xe2\x82zz", &mut rec)),
        "field `b`: value \"\\xe2\\x82zz\": invalid UTF-8 at byte 0"
    );
    // Long values are cut after 60 characters (an invalid byte counts as one).
    let long = [b'\xfe'; 200];
    let e = message(f("name").set_text(&long, &mut rec));
    assert_eq!(
        e,
        format!(
            "field `name`: value \"{}\"... (200 bytes): invalid UTF-8 at byte 0",
            "\\xfe".repeat(60)
        )
    );
    assert!(!e.contains('\u{fffd}'));
}

// ---- 5. JSON lines ----

#[test]
fn json_lines_name_the_field_of_a_value_that_is_not_utf8() {
    let s = schema("id:u32,name:str[16]");
    let mut rec = zeros(&s);
    assert_eq!(
        message(s.from_json_line(b"{\"id\":1,\"name\":\"K\xffim\"}\n", &mut rec)),
        "field `name`: value \"K\\xffim\": invalid UTF-8 at byte 1"
    );
    // Escapes in the value are decoded before it is shown; the byte counts the value.
    assert_eq!(
        message(s.from_json_line(b"{\"name\":\"a\\n\\u00e9\xe2\x82\",\"id\":1}", &mut rec)),
        "field `name`: value \"a\\né\\xe2\\x82\": invalid UTF-8 at byte 4"
    );
    // In a value of another type, it is still that field's value.
    assert_eq!(
        message(s.from_json_line(b"{\"id\":\"\xff\",\"name\":\"a\"}", &mut rec)),
        "field `id`: value \"\\xff\": invalid UTF-8 at byte 0"
    );
    // A key that is not a field is reported as from_json reports it.
    assert!(matches!(
        s.from_json_line(b"{\"id\":1,\"nick\":\"\xff\"}", &mut rec),
        Err(Error::UnknownField { name, .. }) if name == "nick"
    ));
    // A key that is not UTF-8.
    assert_eq!(
        message(s.from_json_line(b"{\"i\xffd\":1}", &mut rec)),
        "invalid JSON at column 4: key \"i\\xffd\" is not UTF-8"
    );
}

#[test]
fn json_lines_name_the_field_of_a_number_out_of_range() {
    let s = schema("a:u8,b:i64,c:u64,x:f64,t:str[4]");
    let err = |l: String| message(s.from_json_line(l.as_bytes(), &mut zeros(&s)));
    // A line giving every field, with `field`'s value replaced by `v`.
    let only = |field: &str, v: &str| {
        let mut obj = serde_json::Map::new();
        for (k, val) in [
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("x", "0"),
            ("t", "\"\""),
        ] {
            obj.insert(k.into(), serde_json::from_str(val).unwrap());
        }
        let mut text = serde_json::Value::Object(obj).to_string();
        let key = format!("\"{field}\":");
        let at = text.find(&key).unwrap() + key.len();
        let end = at + text[at..].find([',', '}']).unwrap();
        text.replace_range(at..end, v);
        text
    };
    assert_eq!(
        err(only("x", "1e400")),
        "field `x`: value \"1e400\": out of range for f64"
    );
    assert_eq!(
        err(only("x", "-2e308")),
        "field `x`: value \"-2e308\": out of range for f64"
    );
    assert_eq!(
        err(only("a", "1e400")),
        "field `a`: value \"1e400\": out of range for u8 (0 to 255)"
    );
    assert_eq!(
        err(only("t", "1e400")),
        "field `t`: value \"1e400\": expected a string for str[4]"
    );
    // An integer too large for any integer type parses as a float: out of range, and
    // shown as written.
    assert_eq!(
        err(only("c", "18446744073709551616")),
        "field `c`: value \"18446744073709551616\": out of range for u64 (0 to 18446744073709551615)"
    );
    assert!(err(only("b", "-99999999999999999999")).contains("out of range for i64"));
    // Nested: the column, and the field whose value it is in.
    assert_eq!(
        err(only("t", "[1e400]")),
        "invalid JSON at column 29 (the value of `t`): number out of range"
    );
}

#[test]
fn json_lines_refuse_a_duplicate_key() {
    let s = schema("a:u32,b:u32");
    let mut rec = zeros(&s);
    assert_eq!(
        message(s.from_json_line(br#"{"a":1,"a":2,"b":3}"#, &mut rec)),
        "key `a` appears twice in the JSON object"
    );
    // Written differently, the same key.
    assert_eq!(
        message(s.from_json_line(br#"{"a":1,"b":3,"\u0061":1}"#, &mut rec)),
        "key `a` appears twice in the JSON object"
    );
    // A duplicate key that is not a field is still a duplicate.
    assert_eq!(
        message(s.from_json_line(br#"{"a":1,"b":3,"x":1,"x":1}"#, &mut rec)),
        "key `x` appears twice in the JSON object"
    );
    // serde_json alone keeps the last value silently: that is what this pins.
    let v: serde_json::Value = serde_json::from_slice(br#"{"a":1,"a":2,"b":3}"#).unwrap();
    s.from_json(&v, &mut rec).unwrap();
}

#[test]
fn json_lines_give_the_column_of_a_syntax_error() {
    let s = schema("id:u32,name:str[8]");
    let err = |line: &[u8]| message(s.from_json_line(line, &mut zeros(&s)));
    assert_eq!(
        err(br#"{"id":1 "name":"a"}"#),
        "invalid JSON at column 9: expected `,` or `}`"
    );
    assert_eq!(
        err(br#"{"id":1,"name":"a"} x"#),
        "invalid JSON at column 21: trailing characters"
    );
    assert_eq!(
        err(br#"{"id":01,"name":"a"}"#),
        "invalid JSON at column 8 (the value of `id`): invalid number"
    );
    assert_eq!(
        err(br#"{"id":1,"name":"a\qb"}"#),
        "invalid JSON at column 19 (the value of `name`): invalid escape"
    );
    assert_eq!(
        err(b"{\"id\":1,\"name\":\"abc\n"),
        "invalid JSON at column 20 (the value of `name`): control character (\\u0000-\\u001F) \
         found while parsing a string"
    );
    assert_eq!(
        err(b"{\"id\":1,\n"),
        "invalid JSON at column 9: EOF while parsing a value"
    );
    assert_eq!(
        err(b""),
        "invalid JSON at column 1: EOF while parsing a value"
    );
}

#[test]
fn json_lines_otherwise_read_as_from_json_does() {
    let s = schema("id:u32,name:str[4],ok:bool");
    for line in [
        &br#"{"id":1,"name":"abc","ok":true}"#[..],
        br#"  {"ok":false, "name":"", "id":4294967295}  "#,
        b"{\"id\":7,\"name\":\"\\u00e9\",\"ok\":true}\r\n",
        br#"{"id":1}"#,
        br#"{"id":1,"name":"abc","ok":true,"x":1}"#,
        br#"{"id":-1,"name":"abc","ok":true}"#,
        br#"{"id":1,"name":"abcd","ok":true}"#,
        br#"{"id":1,"name":5,"ok":true}"#,
        br#"{"id":1,"name":"a","ok":1}"#,
        br#"[1,"a",true]"#,
        b"5",
        br#""x""#,
        b"null",
    ] {
        let mut a = zeros(&s);
        let mut b = zeros(&s);
        let via_value = serde_json::from_slice::<serde_json::Value>(line)
            .map_err(|e| e.to_string())
            .and_then(|v| s.from_json(&v, &mut a).map_err(|e| e.to_string()));
        let via_line = s.from_json_line(line, &mut b).map_err(|e| e.to_string());
        assert_eq!(via_line, via_value, "{}", String::from_utf8_lossy(line));
        assert_eq!(a, b);
    }
    // The record must be one record long.
    assert!(s.from_json_line(br#"{"id":1}"#, &mut [0; 3]).is_err());
}

// ---- 6 and the CLI ----

#[test]
fn set_and_push_refuse_a_field_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["create", "t.fxr", "--schema", "id:u32,name:str[16]"]);
    ok(d, &["push", "t.fxr", "id=1", "name=a"]);
    let before = std::fs::read(d.join("t.fxr")).unwrap();
    let err = fails(d, &["set", "t.fxr", "0", "name=b", "id=2", "name=c"]);
    assert!(
        err.contains(
            "t.fxr: record 0: field `name` is given twice (name=\"b\" and name=\"c\"); \
             give each field once"
        ),
        "{err}"
    );
    let err = fails(d, &["push", "t.fxr", "id=2", "id=2"]);
    assert!(
        err.contains("t.fxr: new record: field `id` is given twice (id=\"2\" and id=\"2\")"),
        "{err}"
    );
    assert_eq!(std::fs::read(d.join("t.fxr")).unwrap(), before);
    assert_eq!(ok(d, &["get", "t.fxr", "0"]), "{\"id\":1,\"name\":\"a\"}\n");
    // Each field once is fine.
    ok(d, &["set", "t.fxr", "0", "name=b", "id=2"]);
}

#[test]
fn the_cli_refuses_overflow_and_nul_and_round_trips_infinity() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["create", "t.fxr", "--schema", "x:f64,y:f32,t:str[8]"]);
    let err = fails(d, &["push", "t.fxr", "x=1e400"]);
    assert!(
        err.contains("t.fxr: new record: field `x`: value \"1e400\": out of range for f64"),
        "{err}"
    );
    std::fs::write(d.join("has-nul.csv"), b"x,y,t\n1,2,ok\n1,2,a\0b\n").unwrap();
    let err = fails(d, &["import", "t.fxr", "has-nul.csv"]);
    assert!(
        err.contains("has-nul.csv: line 3: field `t`: value \"a\\0b\": holds a NUL at byte 1"),
        "{err}"
    );
    std::fs::write(d.join("big.csv"), b"x,y,t\n1e400,2,ok\n").unwrap();
    let err = fails(d, &["import", "t.fxr", "big.csv"]);
    assert!(
        err.contains("field `x`: value \"1e400\": out of range for f64"),
        "{err}"
    );
    std::fs::write(d.join("bad.csv"), b"x,y,t\n1,2,K\xffim\n").unwrap();
    let err = fails(d, &["import", "t.fxr", "bad.csv"]);
    assert!(
        err.contains("field `t`: value \"K\\xffim\": invalid UTF-8 at byte 1"),
        "{err}"
    );
    assert!(ok(d, &["info", "t.fxr", "--json"]).contains("\"len\":0"));

    ok(d, &["push", "t.fxr", "x=inf", "y=-inf", "t=a"]);
    ok(d, &["push", "t.fxr", "x=NaN", "y=NaN", "t=b"]);
    ok(d, &["push", "t.fxr", "x=-inf", "y=3.4028235e38", "t=c"]);
    let records = ok(d, &["get", "t.fxr", "0", "1", "2"]);
    assert_eq!(
        records,
        "{\"x\":\"inf\",\"y\":\"-inf\",\"t\":\"a\"}\n\
         {\"x\":\"NaN\",\"y\":\"NaN\",\"t\":\"b\"}\n\
         {\"x\":\"-inf\",\"y\":3.4028235e+38,\"t\":\"c\"}\n"
    );
    for format in ["csv", "jsonl"] {
        let out = format!("t.{format}");
        ok(d, &["export", "t.fxr", "--format", format, "-o", &out]);
        let copy = format!("copy-{format}.fxr");
        ok(
            d,
            &[
                "import",
                &copy,
                &out,
                "--format",
                format,
                "--create",
                "--schema",
                "x:f64,y:f32,t:str[8]",
            ],
        );
        assert_eq!(ok(d, &["get", &copy, "0", "1", "2"]), records, "{format}");
    }
}

#[test]
fn the_cli_refuses_to_read_an_unterminated_str() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A C program's `struct { char t[4]; int n; }` with `t` filled to the brim.
    let mut raw = Vec::new();
    raw.extend_from_slice(b"abc\0");
    raw.extend_from_slice(&1i32.to_le_bytes());
    raw.extend_from_slice(b"wxyz");
    raw.extend_from_slice(&2i32.to_le_bytes());
    std::fs::write(d.join("c.dat"), &raw).unwrap();
    let schema = ["--raw", "--schema", "t:str[4],n:i32"];
    let with = |args: &[&'static str]| [args, &schema[..]].concat();
    assert_eq!(
        ok(d, &with(&["get", "c.dat", "0"])),
        "{\"t\":\"abc\",\"n\":1}\n"
    );
    let expected = "field `t`: value \"wxyz\": not NUL-terminated (str[4] holds at most 3 \
                    bytes of text plus a NUL; use bytes[4] for unterminated data)";
    let err = fails(d, &with(&["get", "c.dat", "1"]));
    assert!(
        err.contains(&format!("c.dat: record 1: {expected}")),
        "{err}"
    );
    for format in ["csv", "jsonl"] {
        let err = fails(d, &with(&["export", "c.dat", "--format", format]));
        assert!(err.contains(expected), "{format}: {err}");
    }
    // Raw import checks each str the same way, and imports nothing.
    ok(d, &["create", "n.fxr", "--schema", "t:str[4],n:i32"]);
    let err = fails(d, &["import", "n.fxr", "c.dat", "--format", "raw"]);
    assert!(
        err.contains(&format!("c.dat: record 1: {expected}")),
        "{err}"
    );
    assert!(ok(d, &["info", "n.fxr", "--json"]).contains("\"len\":0"));
    // As bytes[4] the same data reads.
    assert_eq!(
        ok(
            d,
            &["get", "c.dat", "1", "--raw", "--schema", "t:bytes[4],n:i32"]
        ),
        "{\"t\":\"7778797a\",\"n\":2}\n"
    );
}

proptest::proptest! {
    /// Text a `str` field accepts reads back as the same text: nothing is cut.
    #[test]
    fn accepted_text_reads_back_whole(text in "\\PC{0,6}|[a\\x00\\xff]{0,20}") {
        let s = schema("t:str[16]");
        let mut rec = zeros(&s);
        let accepted = s.field("t").unwrap().set_text(text.as_bytes(), &mut rec);
        proptest::prop_assert_eq!(
            accepted.is_ok(),
            text.len() < 16 && !text.contains('\0'),
            "{:?}", text
        );
        if accepted.is_ok() {
            proptest::prop_assert_eq!(s.to_json(&rec).unwrap(), json!({"t": text}));
        }
    }

    /// Any bytes of a `str` field either read as text that writes back the same field
    /// (up to its NUL), or are an error: never text that does not fit again.
    #[test]
    fn str_bytes_read_as_text_that_fits_or_not_at_all(
        bytes in proptest::collection::vec(proptest::sample::select(vec![0u8, b'a', 0xc3, 0xa9, 0xff]), 4)
    ) {
        let s = schema("t:str[4]");
        let t = s.field("t").unwrap();
        let mut text = String::new();
        match t.write_text(&bytes, &mut text) {
            Ok(()) => {
                let mut back = zeros(&s);
                t.set_text(text.as_bytes(), &mut back).unwrap();
                let end = bytes.iter().position(|&b| b == 0).unwrap();
                proptest::prop_assert_eq!(&back[..=end], &bytes[..=end]);
            }
            Err(e) => {
                let e = e.to_string();
                proptest::prop_assert!(e.starts_with("field `t`: value \""), "{}", e);
                proptest::prop_assert!(!e.contains('\u{fffd}'), "{}", e);
                proptest::prop_assert_eq!(t.check(&bytes).unwrap_err().to_string(), e);
            }
        }
    }

    /// A JSON line with bytes changed never panics, and reads as from_json reads it
    /// whenever serde_json parses it without a duplicate key.
    #[test]
    fn damaged_json_lines_never_panic(
        edits in proptest::collection::vec(
            (0usize..64, proptest::sample::select(b"{}[]\",:\\u0aeE9-+ \n\xff\xc3".to_vec())),
            1..4,
        )
    ) {
        let s = schema("id:u32,name:str[8],x:f64,ok:bool");
        let mut line = br#"{"id":7,"name":"K\u00e9","x":-1.5e3,"ok":true}"#.to_vec();
        for (at, b) in edits {
            let at = at % (line.len() + 1);
            if at.is_multiple_of(2) { line.insert(at, b) } else if at < line.len() { line[at] = b }
        }
        let mut rec = zeros(&s);
        let got = s.from_json_line(&line, &mut rec);
        let got = got.map_err(|e| e.to_string());
        let duplicate = got.as_ref().is_err_and(|e| e.contains("appears twice"));
        match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(v) if !duplicate => {
                let mut want = zeros(&s);
                let expected = s.from_json(&v, &mut want).map_err(|e| e.to_string());
                proptest::prop_assert_eq!(&got, &expected, "{}", String::from_utf8_lossy(&line));
                proptest::prop_assert_eq!(&rec, &want);
            }
            _ => proptest::prop_assert!(got.is_err()),
        }
    }

    /// Any f64 and f32 bits round-trip through text and through a JSON line (NaN as a
    /// NaN).
    #[test]
    fn any_float_round_trips(x in proptest::num::f64::ANY, y in proptest::num::f32::ANY) {
        let s = schema("x:f64,y:f32");
        let mut rec = zeros(&s);
        rec[..8].copy_from_slice(&x.to_le_bytes());
        rec[8..12].copy_from_slice(&y.to_le_bytes());
        let mut line = String::new();
        s.write_json(&rec, &mut line).unwrap();
        let mut from_line = zeros(&s);
        s.from_json_line(line.as_bytes(), &mut from_line).unwrap();
        let mut from_text = zeros(&s);
        for f in s.fields() {
            let mut cell = String::new();
            f.write_text(&rec, &mut cell).unwrap();
            f.set_text(cell.as_bytes(), &mut from_text).unwrap();
        }
        for back in [from_line, from_text] {
            let bx = f64::from_le_bytes(back[..8].try_into().unwrap());
            let by = f32::from_le_bytes(back[8..12].try_into().unwrap());
            proptest::prop_assert!(bx.to_bits() == x.to_bits() || (x.is_nan() && bx.is_nan()));
            proptest::prop_assert!(by.to_bits() == y.to_bits() || (y.is_nan() && by.is_nan()));
        }
    }
}

/// A JSON line's bad number is shown as written (`1e2`, not serde_json's `100.0`), and
/// an integer beyond i64/u64 (which a JSON parser reads as a float) is out of range,
/// not "not an integer".
#[test]
fn json_lines_show_a_bad_number_as_written() {
    let s = schema("a:u8,b:i64,c:f32");
    let mut rec = zeros(&s);
    let cases = [
        (
            r#"{"a":1e2,"b":1,"c":1}"#,
            r#"field `a`: value "1e2": expected an integer for u8"#,
        ),
        (
            r#"{"a":1,"b":-9223372036854775809,"c":1}"#,
            r#"field `b`: value "-9223372036854775809": out of range for i64 (-9223372036854775808 to 9223372036854775807)"#,
        ),
        (
            r#"{"a":1,"b":1,"c":3.5e38}"#,
            r#"field `c`: value "3.5e38": out of range for f32"#,
        ),
        (
            r#"{"a":256,"b":1,"c":1}"#,
            r#"field `a`: value "256": out of range for u8 (0 to 255)"#,
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(
            message(s.from_json_line(line.as_bytes(), &mut rec)),
            expected,
            "{line}"
        );
    }
}

/// `from_json` (a parsed value) and `from_json_line` (the text) agree on an integer just
/// beyond i64, which a JSON parser reads as a float rounded to -2^63: out of range.
#[test]
fn an_integer_just_beyond_i64_is_out_of_range_either_way() {
    let s = schema("b:i64");
    let mut rec = zeros(&s);
    let value: serde_json::Value = serde_json::from_str(r#"{"b":-9223372036854775809}"#).unwrap();
    let parsed = message(s.from_json(&value, &mut rec));
    assert!(parsed.contains("out of range for i64"), "{parsed}");
    let line = message(s.from_json_line(br#"{"b":-9223372036854775809}"#, &mut rec));
    assert!(line.contains("out of range for i64"), "{line}");
}
