//! The `fixrec` command line, run as a user runs it: the built binary against real files
//! in temporary directories. Every command with its output checked; every bad input with
//! exit code 1, a message naming where, and the store unchanged afterwards.
// Some imports serve only the tests gated to Unix below.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::cli::{fails, fixrec, ok, spawn, text};
use fixrec::{CChar, FixedStr, Store, record};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MEMBER: &str = "id:str[256],name:str[256]";
const SMTEST: &str = "c:char,i:i32,s:i16";

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`
    #[derive(Debug, PartialEq)]
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

record! {
    #[repr(C, packed)]
    /// `#pragma pack(1) struct SMTEST { char c; int i; short s; }`
    pub struct Smtest {
        pub c: CChar,
        pub i: i32,
        pub s: i16,
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn info_json(dir: &Path, args: &[&str]) -> Value {
    let mut a = vec!["info"];
    a.extend_from_slice(args);
    a.push("--json");
    serde_json::from_str(&ok(dir, &a)).expect("info --json prints JSON")
}

/// What must not change when a command fails: len and every record's bytes.
fn snapshot(dir: &Path, target: &[&str]) -> (u64, Vec<u8>) {
    let len = info_json(dir, target)["len"].as_u64().unwrap();
    let mut a = vec!["export", "--format", "raw"];
    a.extend_from_slice(target);
    let out = fixrec(dir, &a);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (len, out.stdout)
}

fn members_store(dir: &Path) -> PathBuf {
    ok(
        dir,
        &[
            "import",
            "m.fxr",
            data("members.csv").to_str().unwrap(),
            "--create",
            "--schema",
            MEMBER,
        ],
    );
    dir.join("m.fxr")
}

#[test]
fn create_prints_what_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(
        dir.path(),
        &[
            "create",
            "s.fxr",
            "--schema",
            SMTEST,
            "--layout",
            "packed",
            "--capacity",
            "10",
        ],
    );
    assert_eq!(
        out,
        "created s.fxr: 0 records of 7 bytes (c:char,i:i32,s:i16, layout packed), capacity 10\n"
    );
    let info = info_json(dir.path(), &["s.fxr"]);
    assert_eq!(info["record_size"], 7);
    assert_eq!(info["layout"], "packed");
    assert_eq!(info["capacity"], 10);
    let err = fails(dir.path(), &["create", "s.fxr", "--schema", SMTEST]);
    assert!(err.contains("s.fxr: already exists"), "{err}");
    // --schema is required: a usage error.
    let out = fixrec(dir.path(), &["create", "t.fxr"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("t.fxr").exists());
}

#[test]
fn hangul_round_trips_through_import_get_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = data("members.csv");
    let out = ok(
        d,
        &[
            "import",
            "m.fxr",
            csv.to_str().unwrap(),
            "--create",
            "--schema",
            MEMBER,
        ],
    );
    assert!(
        out.starts_with("imported 3000 records (1536000 bytes) into m.fxr in "),
        "{out}"
    );
    assert!(out.contains(" records/s); len 3000\n"), "{out}");

    // get: one JSON object per line, in the order asked.
    let input = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<(&str, &str)> = input
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .collect();
    let hangul = rows
        .iter()
        .position(|(_, n)| n.chars().any(|c| ('가'..='힣').contains(&c)))
        .expect("members.csv has Hangul names");
    let got = ok(d, &["get", "m.fxr", &hangul.to_string(), "0"]);
    let lines: Vec<Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], rows[hangul].0);
    assert_eq!(lines[0]["name"], rows[hangul].1);
    assert_eq!(lines[1]["name"], rows[0].1);

    // export: byte for byte the file that was imported.
    let exported = fixrec(d, &["export", "m.fxr"]);
    assert!(exported.status.success());
    assert_eq!(text(&exported.stdout), input);
}

#[test]
fn export_and_reimport_give_the_same_records_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members_store(d);
    let (_, records) = snapshot(d, &["m.fxr"]);
    for (format, file) in [("csv", "o.csv"), ("jsonl", "o.jsonl"), ("raw", "o.dat")] {
        assert_eq!(
            ok(d, &["export", "m.fxr", "--format", format, "-o", file]),
            ""
        );
        let store = format!("re-{format}.fxr");
        ok(
            d,
            &[
                "import", &store, file, "--format", format, "--create", "--schema", MEMBER,
            ],
        );
        assert_eq!(snapshot(d, &[&store]), (3000, records.clone()), "{format}");
    }
    // JSON lines: fields in schema order.
    let jsonl = std::fs::read_to_string(d.join("o.jsonl")).unwrap();
    assert!(
        jsonl.starts_with("{\"id\":\"M00001\",\"name\":"),
        "{jsonl:.80}"
    );
    assert_eq!(std::fs::read(d.join("o.dat")).unwrap(), records);
}

#[test]
fn export_range() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members_store(d);
    let all = ok(d, &["export", "m.fxr", "--format", "jsonl"]);
    let all: Vec<&str> = all.lines().collect();
    let some = ok(
        d,
        &["export", "m.fxr", "--format", "jsonl", "--range", "10..13"],
    );
    assert_eq!(some.lines().collect::<Vec<_>>(), all[10..13]);
    let tail = ok(
        d,
        &["export", "m.fxr", "--format", "jsonl", "--range", "2998.."],
    );
    assert_eq!(tail.lines().collect::<Vec<_>>(), all[2998..]);
    let head = ok(d, &["export", "m.fxr", "--range", "..2"]);
    assert_eq!(head.lines().count(), 3, "header and two rows: {head}");
    let raw = fixrec(
        d,
        &["export", "m.fxr", "--format", "raw", "--range", "5..7"],
    );
    assert_eq!(raw.stdout.len(), 2 * 512);
    let err = fails(d, &["export", "m.fxr", "--range", "2990..3001"]);
    assert!(
        err.contains("m.fxr: range 2990..3001 is not within the store's records 0..3000"),
        "{err}"
    );
    let bad = fixrec(d, &["export", "m.fxr", "--range", "a..b"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn get_set_push_info_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "create",
            "t.fxr",
            "--schema",
            "id:u32,score:f64,ok:bool,grade:char,name:str[16],tag:bytes[2]",
        ],
    );
    assert_eq!(
        ok(d, &["push", "t.fxr", "id=7", "name=김용", "score=-1.5"]),
        "0\n"
    );
    assert_eq!(ok(d, &["push", "t.fxr"]), "1\n");
    assert_eq!(
        ok(d, &["get", "t.fxr", "0", "1"]),
        "{\"id\":7,\"score\":-1.5,\"ok\":false,\"grade\":\"\",\"name\":\"김용\",\"tag\":\"0000\"}\n\
         {\"id\":0,\"score\":0.0,\"ok\":false,\"grade\":\"\",\"name\":\"\",\"tag\":\"0000\"}\n"
    );
    assert_eq!(
        ok(
            d,
            &[
                "set", "t.fxr", "1", "ok=true", "grade=A", "tag=beef", "name=a=b"
            ]
        ),
        "{\"id\":0,\"score\":0.0,\"ok\":true,\"grade\":\"A\",\"name\":\"a=b\",\"tag\":\"beef\"}\n"
    );
    assert_eq!(
        ok(d, &["get", "t.fxr", "1"]),
        "{\"id\":0,\"score\":0.0,\"ok\":true,\"grade\":\"A\",\"name\":\"a=b\",\"tag\":\"beef\"}\n"
    );

    let info = ok(d, &["info", "t.fxr"]);
    let keys: Vec<&str> = info
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "file",
            "format",
            "format_version",
            "schema",
            "layout",
            "record_size",
            "len",
            "capacity",
            "data_offset",
            "generation",
            "file_size"
        ]
    );
    assert!(info.contains("\nlen             2\n"), "{info}");
    let j = info_json(d, &["t.fxr"]);
    assert_eq!(j["record_size"], 40);
    assert_eq!(j["len"], 2);
    assert_eq!(j["data_offset"], 4096);
    assert_eq!(j["format"], "fixrec");
    assert_eq!(
        j["file_size"],
        std::fs::metadata(d.join("t.fxr")).unwrap().len()
    );
    assert_eq!(ok(d, &["verify", "t.fxr"]), "t.fxr: ok (2 records)\n");

    // A bool byte of 2 written behind fixrec's back: verify names record and field.
    let mut bytes = std::fs::read(d.join("t.fxr")).unwrap();
    bytes[4096 + 40 + 16] = 2; // record 1, field `ok` at offset 16
    std::fs::write(d.join("t.fxr"), &bytes).unwrap();
    let err = fails(d, &["verify", "t.fxr"]);
    assert!(
        err.contains("t.fxr: record 1: field `ok`: value byte 2: a bool must be 0 or 1"),
        "{err}"
    );
    let err = fails(d, &["get", "t.fxr", "1"]);
    assert!(
        err.contains("t.fxr: record 1: field `ok`: value byte 2: a bool must be 0 or 1"),
        "{err}"
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "create", "import", "export", "get", "set", "push", "info", "verify",
    ] {
        let out = ok(dir.path(), &[cmd, "--help"]);
        assert!(out.contains("Example"), "{cmd} --help:\n{out}");
        assert!(
            out.contains(&format!("fixrec {cmd} ")),
            "{cmd} --help:\n{out}"
        );
        assert!(out.contains("--raw"), "{cmd} --help:\n{out}");
    }
    let out = fixrec(dir.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn headerless_files_like_the_c_programs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jinyong = data("jinyong.dat");
    let j = jinyong.to_str().unwrap();
    assert_eq!(
        ok(d, &["get", j, "2", "--raw", "--schema", MEMBER]),
        "{\"id\":\"22\",\"name\":\"22\"}\n"
    );
    let info = info_json(d, &[j, "--raw", "--schema", MEMBER]);
    assert_eq!(info["len"], 1000);
    assert_eq!(info["format"], "raw (headerless)");
    assert_eq!(info["data_offset"], 0);
    assert_eq!(
        ok(d, &["verify", j, "--raw", "--schema", MEMBER]),
        format!("{j}: ok (1000 records)\n")
    );
    let smtest = data("smtest.bin");
    let s = smtest.to_str().unwrap();
    assert_eq!(
        ok(
            d,
            &[
                "get", s, "0", "--raw", "--schema", SMTEST, "--layout", "packed"
            ]
        ),
        "{\"c\":\"a\",\"i\":100,\"s\":10}\n"
    );

    // A raw file made by the CLI is byte for byte the C program's.
    ok(
        d,
        &[
            "create", "sm.bin", "--raw", "--schema", SMTEST, "--layout", "packed",
        ],
    );
    let raw = ["--raw", "--schema", SMTEST, "--layout", "packed"];
    let mut push = vec!["push", "sm.bin", "c=a", "i=100", "s=10"];
    push.extend(raw);
    assert_eq!(ok(d, &push), "0\n");
    assert_eq!(
        std::fs::read(d.join("sm.bin")).unwrap(),
        std::fs::read(&smtest).unwrap()
    );
    let mut set = vec!["set", "sm.bin", "0", "s=-2"];
    set.extend(raw);
    assert_eq!(ok(d, &set), "{\"c\":\"a\",\"i\":100,\"s\":-2}\n");
    assert_eq!(
        std::fs::read(d.join("sm.bin")).unwrap(),
        b"ad\0\0\0\xfe\xff"
    );

    // jinyong.dat into a fixrec file and back out: the same 512000 bytes.
    ok(
        d,
        &[
            "import", "j.fxr", j, "--format", "raw", "--create", "--schema", MEMBER,
        ],
    );
    let out = fixrec(d, &["export", "j.fxr", "--format", "raw"]);
    assert_eq!(out.stdout, std::fs::read(&jinyong).unwrap());
    // And CSV into a raw target.
    std::fs::write(d.join("two.csv"), "name,id\n김용,22\nx,y\n").unwrap();
    ok(
        d,
        &[
            "import", "two.dat", "two.csv", "--raw", "--create", "--schema", MEMBER,
        ],
    );
    assert_eq!(std::fs::metadata(d.join("two.dat")).unwrap().len(), 1024);
    assert_eq!(
        ok(d, &["get", "two.dat", "0", "--raw", "--schema", MEMBER]),
        "{\"id\":\"22\",\"name\":\"김용\"}\n"
    );
}

#[test]
fn text_schema_and_rust_record_give_the_same_header() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Made by the CLI, opened as Store<Member>.
    ok(d, &["create", "cli.fxr", "--schema", MEMBER]);
    ok(d, &["push", "cli.fxr", "id=22", "name=김용"]);
    let store = Store::<Member>::open(d.join("cli.fxr")).expect("opens as Store<Member>");
    assert_eq!(store.len(), 1);
    assert_eq!(store[0].name.as_str().unwrap(), "김용");
    drop(store);
    ok(
        d,
        &["create", "sm.fxr", "--schema", SMTEST, "--layout", "packed"],
    );
    ok(d, &["push", "sm.fxr", "c=a", "i=100", "s=10"]);
    let sm = Store::<Smtest>::open_read_only(d.join("sm.fxr")).expect("opens as Store<Smtest>");
    let rec = sm[0];
    assert_eq!((rec.c.0, { rec.i }, { rec.s }), (b'a', 100, 10));
    // The same text under the C layout is another record: refused, naming the difference.
    ok(d, &["create", "c.fxr", "--schema", SMTEST]);
    let e = Store::<Smtest>::open(d.join("c.fxr")).unwrap_err();
    assert!(e.to_string().contains("expected record size 7"), "{e}");

    // Made by Store<Member>, used by the CLI.
    let mut store = Store::<Member>::create(d.join("rust.fxr")).unwrap();
    store
        .push(Member {
            id: FixedStr::new("22").unwrap(),
            name: FixedStr::new("黃蓉").unwrap(),
        })
        .unwrap();
    store.flush().unwrap();
    drop(store);
    assert_eq!(
        info_json(d, &["rust.fxr"])["schema"],
        info_json(d, &["cli.fxr"])["schema"]
    );
    // Byte for byte: the superblock (0..64) and the field table (1536..data offset) are
    // the same; only the meta slots (len, capacity, generation) differ.
    let (rust, cli) = (
        std::fs::read(d.join("rust.fxr")).unwrap(),
        std::fs::read(d.join("cli.fxr")).unwrap(),
    );
    assert_eq!(rust[..64], cli[..64], "superblock");
    assert_eq!(rust[1536..4096], cli[1536..4096], "field table");
    assert_eq!(
        ok(d, &["get", "rust.fxr", "0"]),
        "{\"id\":\"22\",\"name\":\"黃蓉\"}\n"
    );
    ok(d, &["set", "rust.fxr", "0", "name=Huang Rong"]);
    ok(d, &["get", "rust.fxr", "0", "--schema", MEMBER]);
    let store = Store::<Member>::open_read_only(d.join("rust.fxr")).unwrap();
    assert_eq!(store[0].name.as_str().unwrap(), "Huang Rong");
    // --schema on a fixrec file is checked against its header.
    let err = fails(
        d,
        &[
            "get",
            "rust.fxr",
            "0",
            "--schema",
            "id:str[256],nom:str[256]",
        ],
    );
    assert!(err.contains("is not --schema"), "{err}");
}

/// A store with three known rows, for the bad-input tests.
fn small_store(d: &Path) {
    std::fs::write(
        d.join("good.csv"),
        "id,name\n1,Guo Jing\n2,황용\n3,Yang Guo\n",
    )
    .unwrap();
    ok(
        d,
        &[
            "import", "m.fxr", "good.csv", "--create", "--schema", MEMBER,
        ],
    );
}

/// Imports `content` (as `bad.<ext>`) into m.fxr, expects failure with every one of
/// `expect` in the message, and checks the store did not change.
fn bad_import(d: &Path, ext: &str, content: &[u8], expect: &[&str]) {
    let before = snapshot(d, &["m.fxr"]);
    assert_eq!(before.0, 3);
    let input = format!("bad.{ext}");
    std::fs::write(d.join(&input), content).unwrap();
    let format = if ext == "dat" { "raw" } else { ext };
    let err = fails(d, &["import", "m.fxr", &input, "--format", format]);
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
    assert_eq!(snapshot(d, &["m.fxr"]), before, "the store changed: {err}");
    ok(d, &["verify", "m.fxr"]);
}

#[test]
fn malformed_csv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_store(d);
    bad_import(
        d,
        "csv",
        b"id,name\n4,ok\n5,\"unclosed\n6,more\n",
        &["bad.csv: a quote opened on line 3 is never closed"],
    );
    bad_import(
        d,
        "csv",
        b"id,name\n4,ok\n5,two,three\n",
        &["bad.csv: line 3: the row has 3 fields but the header has 2"],
    );
    bad_import(
        d,
        "csv",
        b"id,nick\n4,ok\n",
        &["bad.csv: line 1: unknown field `nick` (the schema's fields are: id, name)"],
    );
    bad_import(
        d,
        "csv",
        b"id\n4\n",
        &["bad.csv: line 1: missing field `name`"],
    );
}

#[test]
fn values_that_do_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_store(d);
    let long = format!("id,name\n4,ok\n5,{}\n", "가".repeat(100));
    bad_import(
        d,
        "csv",
        long.as_bytes(),
        &[
            "bad.csv: line 3: field `name`: value \"가가",
            "300 bytes of text do not fit str[256] (at most 255 bytes plus NUL)",
        ],
    );
    bad_import(
        d,
        "csv",
        b"id,name\n4,ok\n5,ab\xff\xfecd\n",
        &["bad.csv: line 3: field `name`: value \"ab\\xff\\xfecd\": invalid UTF-8 at byte 2"],
    );
    bad_import(
        d,
        "jsonl",
        b"{\"id\":\"4\",\"name\":\"ok\"}\n{\"id\":\"5\",\"name\":7}\n",
        &["bad.jsonl: line 2: field `name`: value \"7\": expected a string for str[256]"],
    );
    bad_import(
        d,
        "jsonl",
        b"{\"id\":\"4\",\"name\":\"ok\"}\n{\"id\":\"5\",\n",
        &["bad.jsonl: line 2: invalid JSON"],
    );

    // Numbers: out of range and not a number.
    ok(d, &["create", "n.fxr", "--schema", "count:u32,s:i16"]);
    ok(d, &["push", "n.fxr", "count=1", "s=1"]);
    let before = snapshot(d, &["n.fxr"]);
    std::fs::write(d.join("n.csv"), "count,s\n2,2\n3,40000\n").unwrap();
    let err = fails(d, &["import", "n.fxr", "n.csv"]);
    assert!(
        err.contains(
            "n.csv: line 3: field `s`: value \"40000\": out of range for i16 (-32768 to 32767)"
        ),
        "{err}"
    );
    std::fs::write(d.join("n.csv"), "count,s\n2,2\nmany,3\n").unwrap();
    let err = fails(d, &["import", "n.fxr", "n.csv"]);
    assert!(
        err.contains("n.csv: line 3: field `count`: value \"many\": not an integer (a u32)"),
        "{err}"
    );
    std::fs::write(d.join("n.jsonl"), "{\"count\":-1,\"s\":0}\n").unwrap();
    let err = fails(d, &["import", "n.fxr", "n.jsonl", "--format", "jsonl"]);
    assert!(
        err.contains("n.jsonl: line 1: field `count`: value \"-1\": out of range for u32"),
        "{err}"
    );
    // set and push check every value before writing anything.
    let err = fails(d, &["set", "n.fxr", "0", "count=5", "s=99999"]);
    assert!(err.contains("n.fxr: record 0: field `s`"), "{err}");
    let err = fails(d, &["push", "n.fxr", "count=5", "nope=1"]);
    assert!(err.contains("unknown field `nope`"), "{err}");
    let err = fails(d, &["set", "n.fxr", "0", "count=-5"]);
    assert!(err.contains("out of range for u32"), "{err}");
    assert_eq!(snapshot(d, &["n.fxr"]), before);
    let out = fixrec(d, &["set", "n.fxr", "0", "count"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "field=value syntax is a usage error"
    );
}

#[test]
fn a_bad_row_deep_in_a_big_import_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_store(d);
    // More than a chunk of good rows (appended past len before the bad row is read),
    // across two input files.
    let mut csv = String::from("id,name\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},name {i}\n"));
    }
    std::fs::write(d.join("a.csv"), &csv).unwrap();
    csv.push_str("5000,\"x\"y\"\n5001,");
    csv.push_str(&"x".repeat(256));
    csv.push('\n');
    let before = snapshot(d, &["m.fxr"]);
    std::fs::write(d.join("b.csv"), &csv).unwrap();
    let err = fails(d, &["import", "m.fxr", "a.csv", "b.csv"]);
    assert!(err.contains("b.csv: line 5003: field `name`"), "{err}");
    assert_eq!(snapshot(d, &["m.fxr"]), before);
    ok(d, &["verify", "m.fxr"]);
    // The good file alone imports.
    let out = ok(d, &["import", "m.fxr", "a.csv"]);
    assert!(out.contains("imported 5000 records"), "{out}");
    assert_eq!(info_json(d, &["m.fxr"])["len"], 5003);
}

/// An import that grew the file before its bad row commits nothing: the header (len,
/// capacity, generation) and the file size are as before, with or without another
/// handle mapping the file (then the file keeps the room, uncounted).
#[test]
fn a_failed_import_that_grew_the_file_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["create", "g.fxr", "--schema", MEMBER, "--capacity", "10"],
    );
    ok(d, &["push", "g.fxr", "id=1", "name=Guo Jing"]);
    let mut csv = String::from("id,name\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},name {i}\n"));
    }
    csv.push_str("5000,\"unclosed\n");
    std::fs::write(d.join("grow.csv"), &csv).unwrap();
    let info = info_json(d, &["g.fxr"]);
    let before = snapshot(d, &["g.fxr"]);
    let size = std::fs::metadata(d.join("g.fxr")).unwrap().len();

    let err = fails(d, &["import", "g.fxr", "grow.csv"]);
    assert!(
        err.contains("grow.csv: a quote opened on line 5002"),
        "{err}"
    );
    assert_eq!(info_json(d, &["g.fxr"]), info, "no commit, no growth");
    assert_eq!(std::fs::metadata(d.join("g.fxr")).unwrap().len(), size);
    assert_eq!(snapshot(d, &["g.fxr"]), before);

    // With a reader mapping the file, it cannot shrink back; still nothing is committed.
    let reader = fixrec::Table::open_read_only(d.join("g.fxr")).unwrap();
    fails(d, &["import", "g.fxr", "grow.csv"]);
    drop(reader);
    let mut after = info_json(d, &["g.fxr"]);
    assert!(
        after["file_size"].as_u64().unwrap() > size,
        "the room stays"
    );
    after["file_size"] = info["file_size"].clone();
    assert_eq!(after, info, "no commit");
    assert_eq!(snapshot(d, &["g.fxr"]), before);
    ok(d, &["verify", "g.fxr"]);
}

/// A damaged meta slot of the last commit: the store falls back to the commit before,
/// and `verify` says so (a warning: an interrupted commit looks the same).
#[test]
fn verify_warns_about_an_invalid_meta_slot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_store(d);
    ok(d, &["push", "m.fxr", "id=4", "name=Xiao Longnu"]);
    let info = info_json(d, &["m.fxr"]);
    let generation = info["generation"].as_u64().unwrap();
    assert_eq!(info["len"], 4);
    let out = fixrec(d, &["verify", "m.fxr"]);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");

    // One byte of the len field of the slot holding the last commit.
    let slot = [512, 1024][(generation % 2) as usize];
    let mut bytes = std::fs::read(d.join("m.fxr")).unwrap();
    bytes[slot + 16] ^= 0xff;
    std::fs::write(d.join("m.fxr"), &bytes).unwrap();

    let out = fixrec(d, &["verify", "m.fxr"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(text(&out.stdout).contains("ok (3 records)"), "{out:?}");
    assert!(
        err.starts_with(&format!(
            "warning: m.fxr: meta slot {} (bytes {slot}..{}) is not a valid commit",
            generation % 2,
            slot + 64
        )) && err.contains(&format!("generation {} (len 3)", generation - 1)),
        "{err}"
    );
}

/// FILE must be a regular file: a directory, a FIFO (whose open would wait for a
/// writer) or a device is refused at once with a clear message, with and without --raw.
#[cfg(unix)] // FIFOs and device files are Unix
#[test]
fn a_file_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("adir")).unwrap();
    let fifo = std::ffi::CString::new(d.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    for (file, what) in [
        ("adir", "a directory, not a regular file"),
        ("fifo", "a FIFO, socket or device, not a regular file"),
        ("/dev/null", "a FIFO, socket or device, not a regular file"),
    ] {
        for args in [
            vec!["get", file, "0"],
            vec!["info", file, "--raw", "--schema", "a:u8"],
            vec!["push", file, "a=1", "--raw", "--schema", "a:u8"],
        ] {
            let mut child = Command::new(env!("CARGO_BIN_EXE_fixrec"))
                .args(&args)
                .current_dir(d)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // A guard against the hang this pins, not a timing: generous on a loaded machine.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while child.try_wait().unwrap().is_none() {
                if std::time::Instant::now() > deadline {
                    child.kill().unwrap();
                    panic!("fixrec {args:?} hangs");
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let out = child.wait_with_output().unwrap();
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert_eq!(err, format!("error: {file}: open: {what}\n"), "{args:?}");
        }
    }
    assert!(d.join("adir").is_dir() && d.join("fifo").exists());
}

/// Options that would be silently ignored are refused: --capacity for a headerless
/// file (exactly len records long), --layout without --schema (a usage error).
#[test]
fn options_that_do_not_apply_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = fixrec(
        d,
        &[
            "create",
            "x.bin",
            "--raw",
            "--schema",
            "a:u8",
            "--capacity",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "a usage error: {out:?}");
    assert!(
        text(&out.stderr).contains("--capacity does not apply to a headerless file"),
        "{out:?}"
    );
    assert!(!d.join("x.bin").exists());
    let out = fixrec(d, &["create", "y.fxr", "--layout", "packed"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("--schema"), "{out:?}");
    small_store(d);
    let out = fixrec(d, &["get", "m.fxr", "0", "--layout", "packed"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// `verify` checks a field as every reader does: a `str[4]` holding four bytes and no
/// NUL is reported (with the message `get` gives), not passed.
#[test]
fn verify_reports_an_unterminated_str() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.raw"), b"ab\0\0abcd").unwrap();
    let raw = ["--raw", "--schema", "t:str[4]"];
    let err = fails(d, &[&["verify", "t.raw"][..], &raw].concat());
    assert_eq!(
        err,
        "error: t.raw: record 1: field `t`: value \"abcd\": not NUL-terminated (str[4] holds at most 3 bytes of text plus a NUL; use bytes[4] for unterminated data)\n"
    );
    let get = fails(d, &[&["get", "t.raw", "1"][..], &raw].concat());
    assert!(
        get.ends_with(&err["error: t.raw: record 1".len()..]),
        "{get}"
    );
    assert_eq!(
        ok(d, &["get", "t.raw", "1", "--raw", "--schema", "t:bytes[4]"]),
        "{\"t\":\"61626364\"}\n"
    );
}

#[test]
fn a_failed_import_with_create_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("x.csv"), "id,name\n1,a\n2\n").unwrap();
    let err = fails(
        d,
        &["import", "new.fxr", "x.csv", "--create", "--schema", MEMBER],
    );
    assert!(err.contains("x.csv: line 3"), "{err}");
    assert!(!d.join("new.fxr").exists());
}

#[test]
fn raw_inputs_and_targets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_store(d);
    let mut rec = vec![0u8; 512];
    rec[..2].copy_from_slice(b"22");
    let mut truncated = rec.repeat(3);
    truncated.truncate(3 * 512 - 100);
    bad_import(
        d,
        "dat",
        &truncated,
        &[
            "bad.dat: raw input of 1436 bytes is not a whole number of 512-byte records (412 bytes left over",
        ],
    );
    let mut bad_utf8 = rec.repeat(3);
    bad_utf8[2 * 512 + 256] = 0xff;
    bad_import(
        d,
        "dat",
        &bad_utf8,
        &["bad.dat: record 2: field `name`: value \"\\xff\": invalid UTF-8 at byte 0"],
    );

    // A raw target: unchanged, byte for byte, by a failed import.
    let jinyong = std::fs::read(data("jinyong.dat")).unwrap();
    std::fs::write(d.join("j.dat"), &jinyong).unwrap();
    std::fs::write(d.join("x.csv"), "id,name\n1,a\n2,b,c\n").unwrap();
    let err = fails(
        d,
        &["import", "j.dat", "x.csv", "--raw", "--schema", MEMBER],
    );
    assert!(err.contains("x.csv: line 3"), "{err}");
    assert_eq!(std::fs::read(d.join("j.dat")).unwrap(), jinyong);
    // A raw target whose size is not a whole number of records.
    std::fs::write(d.join("t.dat"), &truncated).unwrap();
    let err = fails(d, &["get", "t.dat", "0", "--raw", "--schema", MEMBER]);
    assert!(
        err.contains("t.dat: raw file size 1436 is not a multiple of the record size 512"),
        "{err}"
    );
    // --raw without --schema is a usage error.
    let out = fixrec(d, &["get", "j.dat", "0", "--raw"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_schema_text_points_at_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (schema, at, what) in [
        ("id:str[256],name:string", 17, "unknown type \"string\""),
        ("id:u8,id:u16", 6, "duplicate field name \"id\""),
        ("id:u8,:u16", 6, "expected a field name"),
        ("id:str[0]", 7, "`str[0]` has size 0"),
        ("id:bytes[2000000000]", 9, "N = 2000000000 is too large"),
        ("id:u8 extra", 6, "expected `,` before the next field"),
        ("", 0, "the schema is empty"),
    ] {
        let err = fails(d, &["create", "s.fxr", "--schema", schema]);
        assert!(
            err.contains(&format!(
                "invalid schema text at byte {at} of {schema:?}: {what}"
            )),
            "{schema:?}: {err}"
        );
        assert!(!d.join("s.fxr").exists());
    }
    let err = fails(
        d,
        &[
            "get",
            &data("jinyong.dat").to_string_lossy(),
            "0",
            "--raw",
            "--schema",
            "id:chr",
        ],
    );
    assert!(err.contains("at byte 3"), "{err}");
    let out = fixrec(
        d,
        &["create", "s.fxr", "--schema", "a:u8", "--layout", "pack"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn index_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_store(d);
    let before = snapshot(d, &["m.fxr"]);
    let out = fixrec(d, &["get", "m.fxr", "0", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing printed before the check");
    assert!(text(&out.stderr).contains("m.fxr: index 3 is out of range (len 3)"));
    let err = fails(d, &["set", "m.fxr", "99", "name=x"]);
    assert!(
        err.contains("m.fxr: index 99 is out of range (len 3)"),
        "{err}"
    );
    assert_eq!(snapshot(d, &["m.fxr"]), before);
    let out = fixrec(d, &["get", "m.fxr", "-1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn not_a_fixrec_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let junk = b"this is not a store, just some text\n".repeat(200);
    std::fs::write(d.join("junk.txt"), &junk).unwrap();
    std::fs::write(d.join("rows.csv"), "id,name\n1,a\n").unwrap();
    for args in [
        &["info", "junk.txt"][..],
        &["verify", "junk.txt"],
        &["get", "junk.txt", "0"],
        &["set", "junk.txt", "0", "name=x"],
        &["push", "junk.txt", "name=x"],
        &["export", "junk.txt"],
        &["import", "junk.txt", "rows.csv"],
    ] {
        let err = fails(d, args);
        assert!(
            err.contains("junk.txt: not a fixrec file") && err.contains("--raw --schema"),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read(d.join("junk.txt")).unwrap(), junk, "{args:?}");
    }
    let err = fails(d, &["info", "missing.fxr"]);
    assert!(err.contains("missing.fxr"), "{err}");
}

#[cfg(unix)] // compiles C with the system `cc`; tests/win32.rs does this on Windows
#[test]
fn c_programs_read_what_the_cli_wrote_and_the_other_way_round() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct Member { char Id[256]; char name[256]; };
#pragma pack(push, 1)
struct SMTEST { char c; int i; short s; };
#pragma pack(pop)
int main(int argc, char **argv) {
    if (argv[1][0] == 'w') {            /* write: members.dat and smtest.bin */
        FILE *f = fopen("c_members.dat", "wb");
        for (int i = 0; i < 1000; i++) {
            struct Member m; memset(&m, 0, sizeof m);
            snprintf(m.Id, sizeof m.Id, "%d", i);
            snprintf(m.name, sizeof m.name, "name %d", i);
            fwrite(&m, sizeof m, 1, f);
        }
        fclose(f);
        struct SMTEST t = { 'b', -7, 300 };
        f = fopen("c_smtest.bin", "wb"); fwrite(&t, sizeof t, 1, f); fclose(f);
        return 0;
    }
    /* read FILE OFFSET INDEX: print member[INDEX] of the array at OFFSET */
    FILE *f = fopen(argv[2], "rb");
    long off = atol(argv[3]) + atol(argv[4]) * (long)sizeof(struct Member);
    struct Member m;
    fseek(f, off, SEEK_SET);
    if (fread(&m, sizeof m, 1, f) != 1) return 1;
    printf("%s|%s\n", m.Id, m.name);
    return 0;
}
"#;
    std::fs::write(d.join("member.c"), src).unwrap();
    let cc = Command::new("cc")
        .args(["-O1", "-o", "member", "member.c"])
        .current_dir(d)
        .output()
        .expect("`cc` (the system C compiler) is required by this test");
    assert!(cc.status.success(), "{}", text(&cc.stderr));
    let c = |args: &[&str]| {
        let out = Command::new(d.join("member"))
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    c(&["w"]);

    // fixrec reads what C wrote.
    let raw = ["--raw", "--schema", MEMBER];
    let mut get = vec!["get", "c_members.dat", "999"];
    get.extend(raw);
    assert_eq!(ok(d, &get), "{\"id\":\"999\",\"name\":\"name 999\"}\n");
    assert_eq!(
        ok(
            d,
            &[
                "get",
                "c_smtest.bin",
                "0",
                "--raw",
                "--schema",
                SMTEST,
                "--layout",
                "packed"
            ]
        ),
        "{\"c\":\"b\",\"i\":-7,\"s\":300}\n"
    );

    // C reads what fixrec wrote: a native file at the data offset info reports, and a
    // raw file at offset 0.
    ok(
        d,
        &[
            "import",
            "n.fxr",
            "c_members.dat",
            "--format",
            "raw",
            "--create",
            "--schema",
            MEMBER,
        ],
    );
    ok(d, &["set", "n.fxr", "2", "id=22", "name=김용"]);
    let off = info_json(d, &["n.fxr"])["data_offset"]
        .as_u64()
        .unwrap()
        .to_string();
    assert_eq!(c(&["r", "n.fxr", &off, "2"]), "22|김용\n");
    assert_eq!(c(&["r", "n.fxr", &off, "999"]), "999|name 999\n");
    let mut set = vec!["set", "c_members.dat", "500", "name=Huang Rong"];
    set.extend(raw);
    ok(d, &set);
    assert_eq!(c(&["r", "c_members.dat", "0", "500"]), "500|Huang Rong\n");
}

#[test]
fn every_field_type_round_trips_through_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let schema = "a:u8,b:i8,c:u16,d:i16,e:u32,f:i32,g:u64,h:i64,x:f32,y:f64,k:bool,l:char,m:str[16],n:bytes[3]";
    ok(
        d,
        &["create", "t.fxr", "--schema", schema, "--layout", "packed"],
    );
    for values in [
        &[
            "a=255",
            "b=-128",
            "c=65535",
            "d=-32768",
            "e=4294967295",
            "f=-2147483648",
        ][..],
        &[
            "g=18446744073709551615",
            "h=-9223372036854775808",
            "x=0.1",
            "y=0.1",
        ],
        &[
            "x=3.4028235e38",
            "y=-2.2250738585072014e-308",
            "k=true",
            "l=é",
            "m=김용, \"hi\"",
        ],
        &["x=NaN", "y=-inf", "n=00ff7f", "m=a\nb"],
        &["x=1.17549435e-38", "y=5e-324", "l=,"],
    ] {
        let mut args = vec!["push", "t.fxr"];
        args.extend_from_slice(values);
        ok(d, &args);
    }
    let (len, records) = snapshot(d, &["t.fxr"]);
    assert_eq!(len, 5);
    for format in ["csv", "jsonl", "raw"] {
        let out = format!("t.{format}");
        ok(d, &["export", "t.fxr", "--format", format, "-o", &out]);
        let copy = format!("copy-{format}.fxr");
        ok(
            d,
            &[
                "import", &copy, &out, "--format", format, "--create", "--schema", schema,
                "--layout", "packed",
            ],
        );
        assert_eq!(snapshot(d, &[&copy]), (5, records.clone()), "{format}");
    }
    let got = ok(d, &["get", "t.fxr", "3"]);
    assert!(
        got.contains("\"x\":\"NaN\",\"y\":\"-inf\"") && got.contains("\"m\":\"a\\nb\""),
        "{got}"
    );
}

#[cfg(unix)]
// a region made by `fixrec create` outlives the command only on Unix (Windows refuses it: tests/win32.rs)
#[test]
fn create_makes_a_raw_shared_memory_region_that_record_commands_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = format!("fixrec-cli-create-{}", std::process::id());
    let target = format!("shm:{name}");
    let schema = [
        "--raw",
        "--schema",
        "c:char,i:i32,s:i16",
        "--layout",
        "packed",
    ];
    fn with<'a>(cmd: &[&'a str], schema: &[&'a str]) -> Vec<&'a str> {
        [cmd, schema].concat()
    }
    // Removes the region even when an assertion fails.
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = fixrec::shm::Region::remove(&self.0);
        }
    }
    let _cleanup = Remove(name.clone());

    let made = ok(d, &with(&["create", &target, "--capacity", "2"], &schema));
    assert!(made.contains("2 records of 7 bytes"), "{made}");
    assert_eq!(
        std::fs::metadata(format!("/dev/shm/{name}")).unwrap().len(),
        14
    );
    ok(
        d,
        &with(&["set", &target, "1", "c=a", "i=100", "s=10"], &schema),
    );
    assert_eq!(
        ok(d, &with(&["get", &target, "1"], &schema)).trim(),
        r#"{"c":"a","i":100,"s":10}"#
    );
    // It exists now, and a region with a header is the library's to make.
    let err = fails(d, &with(&["create", &target, "--capacity", "2"], &schema));
    assert!(err.contains("already exists"), "{err}");
    let out = fixrec(d, &with(&["create", &format!("{target}-n")], &schema));
    assert_eq!(out.status.code(), Some(2), "a usage error: {out:?}");
    assert!(
        text(&out.stderr).contains("'--capacity <N>' is required"),
        "{out:?}"
    );
    // Without --raw: a shared store, with a header and a sequence lock.
    let shared = format!("{name}-h");
    let _cleanup_shared = Remove(shared.clone());
    let made = ok(
        d,
        &[
            "create",
            &format!("shm:{shared}"),
            "--schema",
            "c:char,n:u32",
            "--capacity",
            "3",
        ],
    );
    assert!(made.contains("capacity 3"), "{made}");
    ok(d, &["push", &format!("shm:{shared}"), "c=x", "n=7"]);
    assert_eq!(
        ok(d, &["get", &format!("shm:{shared}"), "0"]).trim(),
        r#"{"c":"x","n":7}"#
    );
    let info = ok(d, &["info", &format!("shm:{shared}"), "--json"]);
    assert!(
        info.contains(r#""len":1"#) && info.contains(r#""format":"fixrec""#),
        "{info}"
    );
}

/// `import shm:NAME --create` makes a shared store and fills it; a later import that
/// fails after growing the store commits nothing (len, capacity, generation and the
/// region's size as before); a raw region cannot be made by import (it needs a size).
#[cfg(unix)] // as above, and /dev/shm and modes
#[test]
fn import_creates_a_shared_store_and_a_failed_one_commits_nothing() {
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = fixrec::shm::Region::remove(&self.0);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = format!("fixrec-cli-import-{}", std::process::id());
    let _cleanup = Remove(name.clone());
    let target = format!("shm:{name}");
    std::fs::write(d.join("a.csv"), "id,name\n1,Guo Jing\n2,황용\n").unwrap();
    let out = ok(
        d,
        &["import", &target, "a.csv", "--create", "--schema", MEMBER],
    );
    assert!(out.contains("imported 2 records"), "{out}");
    assert_eq!(
        ok(d, &["get", &target, "1"]),
        "{\"id\":\"2\",\"name\":\"황용\"}\n"
    );
    let info = info_json(d, &[&target]);

    let mut csv = String::from("id,name\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},name {i}\n"));
    }
    csv.push_str("5000,\"unclosed\n");
    std::fs::write(d.join("grow.csv"), &csv).unwrap();
    let err = fails(d, &["import", &target, "grow.csv"]);
    assert!(err.contains("a quote opened on line 5002"), "{err}");
    assert_eq!(info_json(d, &[&target]), info, "no commit, no growth");
    assert_eq!(ok(d, &["export", &target]), "id,name\n1,Guo Jing\n2,황용\n");

    let raw = format!("shm:{name}-raw");
    let err = fails(
        d,
        &[
            "import", &raw, "a.csv", "--create", "--raw", "--schema", MEMBER,
        ],
    );
    assert!(err.contains("needs --capacity N"), "{err}");
    assert!(!std::path::Path::new(&format!("/dev/shm/{name}-raw")).exists());

    // A region others may write (planted, or left open) is not taken by --create; it is
    // by a plain import, which names it on purpose.
    use std::os::unix::fs::PermissionsExt;
    let object = format!("/dev/shm/{name}");
    std::fs::set_permissions(&object, std::fs::Permissions::from_mode(0o666)).unwrap();
    let err = fails(
        d,
        &["import", &target, "a.csv", "--create", "--schema", MEMBER],
    );
    assert!(
        err.contains(&format!("shm:{name} exists, owned by uid")) && err.contains("mode 0o666"),
        "{err}"
    );
    assert_eq!(info_json(d, &[&target])["len"], 2);
    ok(d, &["import", &target, "a.csv"]);
    assert_eq!(info_json(d, &[&target])["len"], 4);
}

/// A bad row's line is counted as an editor counts it, whatever the line ends (`\n`,
/// `\r\n`, a lone `\r`) and with blank lines before it, which the csv parser skips.
#[test]
fn csv_errors_give_the_line_an_editor_shows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["create", "m.fxr", "--schema", "id:str[16],name:str[16]"],
    );
    let long = "0123456789abcdefghij";
    for (csv, line) in [
        ("id,name\r\n1,a\r\n2,b,c\r\n".to_string(), 3),
        ("id,name\r\n1,a\r\n3,c\r\n4,d\r\n5,e,f\r\n".into(), 5),
        ("id,name\n1,a\n\n\n5,e,f\n".into(), 5),
        (format!("id,name\r1,a\r2,{long}\r3,c\r"), 3),
        (format!("id,name\n1,a\n\n2,{long}\n"), 4),
        (
            format!("id,name\r\n\r\n1,\"two\r\nlines\"\r\n\r\n2,{long}\r\n"),
            6,
        ),
    ] {
        std::fs::write(d.join("bad.csv"), &csv).unwrap();
        let err = fails(d, &["import", "m.fxr", "bad.csv"]);
        assert!(
            err.starts_with(&format!("error: bad.csv: line {line}: ")),
            "{csv:?}: {err}"
        );
    }
    // A quote left open is the error, wherever it is: the field it opens runs to the
    // end, so its row also has too few fields, or its header an odd name.
    for (csv, line) in [
        ("id,name\r1,a\r\r2,\"x\ry\r", 4),
        ("id,name\n1,a\n\"2,b\n3,c\n", 3),
        ("id,\"name\n1,a\n", 1),
    ] {
        std::fs::write(d.join("open.csv"), csv).unwrap();
        let err = fails(d, &["import", "m.fxr", "open.csv"]);
        assert_eq!(
            err,
            format!(
                "error: open.csv: a quote opened on line {line} is never closed (the field runs to the end of the file)\n"
            ),
            "{csv:?}"
        );
    }
    assert_eq!(info_json(d, &["m.fxr"])["len"], 0);
}

/// Runs fixrec with `input` on its stdin.
fn piped(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = spawn(dir, args);
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    if let Err(e) = writer.join().unwrap() {
        panic!("writing fixrec's stdin: {e}; fixrec {args:?}: {out:?}");
    }
    out
}

/// An INPUT that is a pipe (no size, cannot be read twice) imports as a file does, in
/// every format, with the same checks: a raw input that is not whole records is refused,
/// not taken as empty. `-` is stdin on every system (and `/dev/stdin` on Unix).
#[test]
fn import_reads_a_pipe_as_it_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jinyong = std::fs::read(data("jinyong.dat")).unwrap();
    let raw = ["--raw", "--schema", MEMBER];
    let out = piped(
        d,
        &[
            &["import", "j.dat", "-", "--format", "raw", "--create"][..],
            &raw,
        ]
        .concat(),
        &jinyong,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(d.join("j.dat")).unwrap(), jinyong);
    let out = piped(
        d,
        &[&["import", "j.dat", "-", "--format", "raw"][..], &raw].concat(),
        &jinyong[..800],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("-: raw input of 800 bytes is not a whole number of 512-byte records"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(d.join("j.dat")).unwrap(), jinyong);

    let members = std::fs::read(data("members.csv")).unwrap();
    let out = piped(
        d,
        &["import", "m.fxr", "-", "--create", "--schema", MEMBER],
        &members,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(ok(d, &["export", "m.fxr"]).as_bytes(), members);
    let out = piped(d, &["import", "m.fxr", "-"], b"id,name\n1,a\n\n2,\"open\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: -: a quote opened on line 4 is never closed (the field runs to the end of the file)\n"
    );
    let out = piped(
        d,
        &["import", "m.fxr", "-", "--format", "jsonl"],
        "\u{feff}{\"id\":\"x\",\"name\":\"BOM first\"}\n".as_bytes(),
    );
    assert!(
        out.status.success(),
        "a byte-order mark is skipped: {out:?}"
    );
    assert_eq!(info_json(d, &["m.fxr"])["len"], 3001);
    let err = fails(d, &["import", "m.fxr", "."]);
    // Windows refuses to open a folder as a file ("Access denied").
    let why = if cfg!(windows) { "" } else { " a directory" };
    assert!(
        err.contains(&format!(".: cannot open input:{why}")),
        "{err}"
    );
    #[cfg(unix)]
    {
        let out = piped(d, &["import", "m.fxr", "/dev/stdin"], b"id,name\n9,nine\n");
        assert!(out.status.success(), "{out:?}");
        assert!(ok(d, &["export", "m.fxr"]).ends_with("9,nine\n"));
    }
}

/// `set` on a record whose other field is bad (a `str` with no NUL) fails before it
/// writes: the file is unchanged, and the message names the bad field.
#[test]
fn set_changes_nothing_when_another_field_of_the_record_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.raw"), b"wxyz\x00").unwrap();
    let raw = ["--raw", "--schema", "t:str[4],n:bool", "--layout", "packed"];
    let err = fails(d, &[&["set", "t.raw", "0", "n=true"][..], &raw].concat());
    assert!(
        err.contains("t.raw: record 0: field `t`: value \"wxyz\": not NUL-terminated"),
        "{err}"
    );
    assert_eq!(std::fs::read(d.join("t.raw")).unwrap(), b"wxyz\x00");
    // Setting the bad field itself mends the record.
    assert_eq!(
        ok(
            d,
            &[&["set", "t.raw", "0", "t=abc", "n=true"][..], &raw].concat()
        ),
        "{\"t\":\"abc\",\"n\":true}\n"
    );
    assert_eq!(std::fs::read(d.join("t.raw")).unwrap(), b"abc\x00\x01");
}

/// Records too large for the memory an import may use: an error, never an abort.
#[cfg(unix)] // limits memory with bash `ulimit -v`
#[test]
fn an_import_that_runs_out_of_memory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let schema = "b:bytes[268435456]"; // 256 MiB records
    ok(d, &["create", "big.fxr", "--schema", schema]);
    std::fs::write(d.join("b.jsonl"), "{\"b\":\"ff\"}\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_fixrec");
    // Address space (KiB) under what each import needs: two 256 MiB chunk buffers and
    // the grown map; the record held and the map of the headerless file.
    for (limit, args) in [
        (
            600_000,
            format!("{bin} import big.fxr b.jsonl --format jsonl"),
        ),
        (
            400_000,
            format!("{bin} import r.dat b.jsonl --format jsonl --create --raw --schema '{schema}'"),
        ),
    ] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -v {limit} && exec {args}"))
            .current_dir(d)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args}: {err}");
        assert!(
            err.starts_with("error: ")
                && (err.contains("in memory") || err.contains("Cannot allocate memory")),
            "{args}: {err}"
        );
    }
    assert_eq!(info_json(d, &["big.fxr"])["len"], 0);
    assert!(!d.join("r.dat").exists());
}

/// Readers (`get`, `export`, `verify`) while another handle rewrites a record in place,
/// as a writer process would: each reads a copy of the record (or, for a shared store,
/// reads it under its sequence lock), so none crashes, and none reports a record torn.
#[cfg(unix)] // makes its region with `fixrec create shm:`, refused on Windows
#[test]
fn readers_work_on_copies_while_a_writer_rewrites_a_record() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = fixrec::shm::Region::remove(&self.0);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let schema = "id:str[32],name:str[32]";
    ok(d, &["create", "m.fxr", "--schema", schema]);
    ok(d, &["push", "m.fxr", "id=1", "name=x"]);
    let name = format!("fixrec-cli-readers-{}", std::process::id());
    let _cleanup = Remove(name.clone());
    let shm = format!("shm:{name}");
    ok(d, &["create", &shm, "--schema", schema, "--capacity", "4"]);
    ok(d, &["push", &shm, "id=1", "name=x"]);

    // Two values of record 0 whose byte mixes are mostly not UTF-8 (three-byte Hangul
    // over ASCII): a torn copy shows as a bad value.
    let value = |long: bool| {
        let mut rec = vec![0u8; 64];
        let text = if long {
            "한글한글한글한글한글"
        } else {
            "abc"
        };
        rec[..text.len()].copy_from_slice(text.as_bytes());
        rec[32..32 + text.len()].copy_from_slice(text.as_bytes());
        rec
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut table = fixrec::Table::open(d.join("m.fxr")).unwrap();
    let mut shared = fixrec::shm::SharedTable::open(&name).unwrap();
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut long = false;
            while !stop.load(Ordering::Relaxed) {
                long = !long;
                table.record_mut(0).unwrap().copy_from_slice(&value(long));
                shared.set(0, &value(long)).unwrap();
            }
        })
    };
    for _ in 0..40 {
        for target in ["m.fxr", shm.as_str()] {
            for args in [
                vec!["get", target, "0"],
                vec!["export", target, "--format", "jsonl"],
                vec!["verify", target],
            ] {
                let out = fixrec(d, &args);
                let err = text(&out.stderr);
                if target == "m.fxr" {
                    // A file store has no sequence lock: a copy may be torn, which is
                    // then an error about the value, never a crash.
                    assert!(
                        out.status.success()
                            || (out.status.code() == Some(1)
                                && err.starts_with("error: ")
                                && err.contains("invalid UTF-8")
                                && !err.contains("panicked")),
                        "{args:?}: {out:?}"
                    );
                } else {
                    assert!(out.status.success(), "{args:?}: {err}");
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

/// A line far longer than any row of the schema can be (a file of the wrong kind) is an
/// error naming it, before memory runs out, and the store is left as it was.
#[test]
fn a_line_longer_than_any_row_can_be_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["create", "m.fxr", "--schema", "a:u64"]);
    let long = "7".repeat(3 << 20);
    std::fs::write(
        d.join("long.jsonl"),
        format!("{{\"a\":1}}\n{{\"a\":{long}}}\n"),
    )
    .unwrap();
    let err = fails(d, &["import", "m.fxr", "long.jsonl", "--format", "jsonl"]);
    assert!(
        err.contains("long.jsonl: line 2 is longer than any JSON object of this schema can be"),
        "{err}"
    );
    std::fs::write(d.join("long.csv"), format!("a\n1\n{long}\n")).unwrap();
    let err = fails(d, &["import", "m.fxr", "long.csv"]);
    assert!(
        err.contains("long.csv") && err.contains("longer than any row of this schema can be"),
        "{err}"
    );
    assert_eq!(info_json(d, &["m.fxr"])["len"], 0);
}
