//! Pins points 8 to 10 of "the first hour" (what a newcomer trips on): an f32 printed as
//! the f64 it widens to (`-26.56399917602539`) by `get` and JSON export while CSV gave
//! `-26.564`; `info --json` with no field list for numpy; and the smaller items of
//! point 10, each at its test below.

mod common;

use common::cli::{fails, ok};
use fixrec::{Layout, Schema};

// ---- 8. An f32 prints as its shortest text everywhere ----

#[test]
fn an_f32_prints_as_its_shortest_text_in_get_set_push_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["create", "t.fxr", "--schema", "lat:f32,lon:f32,x:f64"]);
    assert_eq!(
        ok(d, &["push", "t.fxr", "lat=-26.564", "lon=0.1", "x=0.1"]),
        "0\n"
    );
    let line = r#"{"lat":-26.564,"lon":0.1,"x":0.1}"#;
    assert_eq!(ok(d, &["get", "t.fxr", "0"]), format!("{line}\n"));
    assert_eq!(
        ok(d, &["export", "t.fxr", "--format", "jsonl"]),
        format!("{line}\n")
    );
    assert_eq!(ok(d, &["export", "t.fxr"]), "lat,lon,x\n-26.564,0.1,0.1\n");
    assert_eq!(
        ok(d, &["set", "t.fxr", "0", "lon=3.4028235e38"]),
        "{\"lat\":-26.564,\"lon\":3.4028235e+38,\"x\":0.1}\n"
    );
    // What was printed reads back to the same bytes.
    let jsonl = d.join("t.jsonl");
    ok(
        d,
        &["export", "t.fxr", "--format", "jsonl", "-o", "t.jsonl"],
    );
    ok(
        d,
        &[
            "import",
            "u.fxr",
            jsonl.to_str().unwrap(),
            "--format",
            "jsonl",
            "--create",
            "--schema",
            "lat:f32,lon:f32,x:f64",
        ],
    );
    ok(d, &["export", "t.fxr", "--format", "raw", "-o", "t.raw"]);
    ok(d, &["export", "u.fxr", "--format", "raw", "-o", "u.raw"]);
    assert_eq!(
        std::fs::read(d.join("t.raw")).unwrap(),
        std::fs::read(d.join("u.raw")).unwrap()
    );
}

/// The significant digits of a decimal: `-0.0250e3` gives `25`.
fn digits(number: &str) -> String {
    let mantissa = number.split(['e', 'E']).next().unwrap();
    let all: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    all.trim_matches('0').to_owned()
}

/// Every f32 of a spread of bit patterns (all exponents, signs, subnormals, and the
/// neighbours of the largest and smallest values) prints in JSON with the digits of its text,
/// and that JSON reads back to the same bits.
#[test]
fn every_f32_prints_in_json_as_in_text_and_reads_back_exactly() {
    let s = Schema::parse("y:f32", Layout::C).unwrap();
    let y = s.field("y").unwrap();
    let mut bits: Vec<u32> = (0..=u32::MAX).step_by(65_521).collect();
    for edge in [
        0u32,
        1,
        2,
        0x007f_ffff,
        0x0080_0000,
        0x7f7f_ffff,
        0x7f7f_fffe,
    ] {
        bits.extend([edge, edge | 0x8000_0000]);
    }
    let mut checked = 0;
    for b in bits {
        let x = f32::from_bits(b);
        if !x.is_finite() {
            continue;
        }
        let rec = b.to_le_bytes();
        let mut line = String::new();
        s.write_json(&rec, &mut line).unwrap();
        let mut text = String::new();
        y.write_text(&rec, &mut text).unwrap();
        let json_number = line
            .strip_prefix("{\"y\":")
            .and_then(|l| l.strip_suffix('}'))
            .unwrap();
        // The same number: the JSON may use an exponent where the text spells it out.
        assert_eq!(
            json_number.parse::<f32>().unwrap().to_bits(),
            b,
            "{x:?}: JSON {json_number}"
        );
        assert_eq!(
            digits(json_number),
            digits(&text),
            "{x:?}: JSON {json_number}, text {text}"
        );
        let mut back = [0u8; 4];
        s.from_json_line(line.as_bytes(), &mut back).unwrap();
        assert_eq!(u32::from_le_bytes(back), b, "{x:?}: {line} read back");
        checked += 1;
    }
    assert!(checked > 60_000, "{checked}");
}

// ---- 10. The smaller items ----

fixrec::record! {
    #[repr(C)]
    pub struct Pair { pub a: u32, pub b: u32 }
}

/// A second writer in the same process was told "another process holds this file".
#[test]
fn a_second_writer_in_this_process_is_not_told_another_process_holds_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.fxr");
    let first = fixrec::Store::<Pair>::create(&path).unwrap();
    let e = fixrec::Store::<Pair>::open(&path).unwrap_err();
    assert!(matches!(e, fixrec::Error::Locked { .. }), "{e}");
    let msg = e.to_string();
    assert!(!msg.contains("another process holds"), "{msg}");
    assert_eq!(
        msg,
        format!(
            "{}: locked: another writer holds this file (a writable handle in this process \
             or in another; one writer at a time); close that writer, open this one \
             read-only, or wait",
            path.display()
        )
    );
    drop(first);
    fixrec::Store::<Pair>::open(&path).unwrap();
}

/// A bad magic was shown as `[23, 20, 66, ...]`: hex without a prefix, read as decimal.
#[test]
fn a_bad_magic_is_shown_as_prefixed_hex() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, vec![b'#'; 8192]).unwrap();
    let e = fixrec::Store::<Pair>::open_read_only(&path).unwrap_err();
    assert!(matches!(e, fixrec::Error::BadMagic { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: not a fixrec file (it starts with 0x23 0x23 0x23 0x23 0x23 0x23 0x23 0x23, \
             not the fixrec magic 0x89 0x46 0x49 0x58 0x52 0x45 0x43 0x0a); for a headerless \
             array of records use open_raw",
            path.display()
        )
    );
    std::fs::write(&path, b"").unwrap();
    let e = fixrec::Store::<Pair>::open_read_only(&path).unwrap_err();
    assert!(
        e.to_string().contains("(it starts with no bytes, not"),
        "{e}"
    );
}

/// The bool error said "expected true or false" although 1 and 0 are accepted.
#[test]
fn the_bool_error_names_every_accepted_text() {
    let s = Schema::parse("k:bool", Layout::C).unwrap();
    let k = s.field("k").unwrap();
    let mut rec = [0u8];
    for (text, byte) in [("true", 1), ("false", 0), ("1", 1), ("0", 0)] {
        k.set_text(text.as_bytes(), &mut rec).unwrap();
        assert_eq!(rec, [byte], "{text}");
    }
    assert_eq!(
        k.set_text(b"yes", &mut rec).unwrap_err().to_string(),
        "field `k`: value \"yes\": expected true, false, 1 or 0"
    );
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["create", "b.fxr", "--schema", "k:bool"]);
    let err = fails(dir.path(), &["push", "b.fxr", "k=2"]);
    assert_eq!(
        err,
        "error: b.fxr: new record: field `k`: value \"2\": expected true, false, 1 or 0\n"
    );
}

/// `Store::open_raw_read_only` on a fixrec file succeeded and read its header as
/// records: now refused (by `open_raw` too), unless asked for with `header_as_records`.
#[test]
fn raw_opens_refuse_a_fixrec_file_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.fxr");
    let mut s = fixrec::Store::<Pair>::create(&path).unwrap();
    s.push(Pair { a: 1, b: 2 }).unwrap();
    drop(s);
    let size = std::fs::metadata(&path).unwrap().len();
    let expected = format!(
        "{}: a fixrec file (it starts with the fixrec magic), not a headerless array of \
         records: open it with Store::open or Store::open_read_only, or read its bytes from \
         byte 0, header included, with StoreOptions::new().header_as_records(true)",
        path.display()
    );
    let e = fixrec::Store::<Pair>::open_raw_read_only(&path).unwrap_err();
    assert!(matches!(e, fixrec::Error::NotRaw { .. }), "{e}");
    assert_eq!(e.to_string(), expected);
    let e = fixrec::Store::<Pair>::open_raw(&path).unwrap_err();
    assert_eq!(e.to_string(), expected);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size, "untouched");
    assert_eq!(
        fixrec::Store::<Pair>::open_read_only(&path).unwrap()[0].b,
        2
    );

    // Asked for: the bytes from byte 0, the magic first.
    let raw = fixrec::StoreOptions::new()
        .header_as_records(true)
        .open_raw_read_only::<[u8; 8]>(&path)
        .unwrap();
    assert_eq!(raw[0], fixrec::format::MAGIC);
    assert_eq!(raw.len() as u64, size / 8);

    // A headerless file, and a short or empty one, still open.
    let plain = dir.path().join("plain.dat");
    std::fs::write(&plain, [7u8; 16]).unwrap();
    assert_eq!(
        fixrec::Store::<Pair>::open_raw_read_only(&plain)
            .unwrap()
            .len(),
        2
    );
    std::fs::write(&plain, b"").unwrap();
    assert!(fixrec::Store::<Pair>::open_raw(&plain).unwrap().is_empty());
}

/// The rustdoc pointed at "the Safety section of `src/mapping.rs`" (a file docs.rs
/// readers do not have) and named the private modules `backing` and `mapping` as the
/// crate's layers. (`#![deny(rustdoc::private_intra_doc_links)]` in lib.rs keeps links
/// to private items out; this keeps out the plain-text pointers a lint cannot see.)
#[test]
fn rustdoc_points_at_no_source_file_and_no_private_module() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        // The command line's sources are a binary's, not the library's documentation.
        if rel.starts_with("cli") || rel == std::path::Path::new("main.rs") {
            continue;
        }
        for (n, line) in std::fs::read_to_string(file).unwrap().lines().enumerate() {
            let doc = line.trim_start();
            if (doc.starts_with("///") || doc.starts_with("//!"))
                && doc.contains("src/")
                && doc.contains(".rs")
            {
                found.push(format!("src/{}:{}: {doc}", rel.display(), n + 1));
            }
        }
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let crate_docs: String = lib
        .lines()
        .filter(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    for line in lib.lines() {
        if let Some(private) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';'))
            && crate_docs.contains(&format!("`{private}`"))
        {
            found.push(format!(
                "the crate docs name the private module `{private}`"
            ));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

// ---- 9. `info --json` describes the fields, and numpy maps the records ----

/// Whether `python3` can import numpy. Without it the numpy tests fail in CI (`CI` set:
/// `.ci/run` installs numpy) and are skipped elsewhere, with a notice. Skipped on
/// Windows: CI's Windows leg runs under Wine, which has no Windows Python (the Linux leg
/// runs these).
fn numpy_or_skip(test: &str) -> bool {
    if cfg!(windows) {
        eprintln!("skipped {test} on Windows: no Windows python3 (the Linux leg runs it)");
        return false;
    }
    let have = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: `python3 -c 'import numpy'` failed and CI is set: numpy is needed \
             (`python3 -m pip install numpy`)"
        );
        eprintln!(
            "skipped {test}: python3 with numpy is missing; `python3 -m pip install numpy` \
             to run it"
        );
    }
    have
}

/// Runs `script` with python3 in `dir`, with the built fixrec first on PATH; returns
/// stdout.
fn python(dir: &std::path::Path, script: &str) -> String {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_fixrec"))
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 failed:\n{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn info_json_gives_fields_and_a_numpy_dtype_for_both_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let schema = "c:char,i:i32,s:i16,x:f32,ok:bool,id:str[5],b:bytes[3],u:u64";
    for layout in ["c", "packed"] {
        let file = format!("{layout}.fxr");
        ok(
            d,
            &["create", &file, "--schema", schema, "--layout", layout],
        );
        ok(d, &["push", &file, "c=z", "u=5"]);
        let args = [
            "c=a",
            "i=-7",
            "s=10",
            "x=-26.564",
            "ok=true",
            "id=abc",
            "b=0a0b0c",
            "u=18446744073709551615",
        ];
        ok(d, &[&["push", file.as_str()][..], &args[..]].concat());
        let info: serde_json::Value =
            serde_json::from_str(&ok(d, &["info", &file, "--json"])).unwrap();
        let s = Schema::parse(
            schema,
            if layout == "c" {
                Layout::C
            } else {
                Layout::Packed
            },
        )
        .unwrap();
        let fields: Vec<serde_json::Value> = s
            .fields()
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name, "type": f.ty.to_string(), "offset": f.offset,
                    "size": f.ty.size(),
                })
            })
            .collect();
        assert_eq!(info["fields"], serde_json::Value::from(fields), "{layout}");
        assert_eq!(info["numpy_dtype"]["itemsize"], s.record_size(), "{layout}");
    }
    // The C layout pads (i at 4, record 40 bytes); packed does not (i at 1, 28 bytes).
    if !numpy_or_skip("info_json_gives_fields_and_a_numpy_dtype_for_both_layouts") {
        return;
    }
    let script = r#"
import json, subprocess
import numpy as np
for layout, size, i_at in (("c", 40, 4), ("packed", 28, 1)):
    info = json.loads(subprocess.run(["fixrec", "info", layout + ".fxr", "--json"],
                                     capture_output=True, check=True).stdout)
    dt = np.dtype(info["numpy_dtype"])
    assert dt.itemsize == info["record_size"] == size, (layout, dt.itemsize)
    assert dt.fields["i"][1] == i_at, dt.fields
    for f in info["fields"]:
        assert dt.fields[f["name"]][1] == f["offset"], f
        assert dt[f["name"]].itemsize == f["size"], f
    m = np.memmap(layout + ".fxr", dtype=dt, mode="r", offset=info["data_offset"],
                  shape=(info["len"],))
    assert m.shape == (2,), m.shape
    r = m[1]
    assert r["c"] == b"a" and r["i"] == -7 and r["s"] == 10, r
    assert r["x"] == np.float32(-26.564) and r["ok"] == True, r
    assert r["id"] == b"abc" and r["b"].tobytes() == b"\x0a\x0b\x0c", r
    assert r["u"] == 2**64 - 1 and m[0]["u"] == 5 and m[0]["c"] == b"z", m
    print(layout, "ok")
"#;
    assert_eq!(python(d, script), "c ok\npacked ok\n");
}

/// docs/FORMAT.md's numpy recipes, run as written, map the records with `np.memmap`.
#[test]
fn the_format_md_numpy_recipes_map_the_records() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/FORMAT.md")).unwrap();
    let section = doc
        .split("## Reading a store from numpy")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let recipes: Vec<&str> = section
        .split("```python\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(recipes.len(), 2, "{section}");
    for r in &recipes {
        assert!(r.contains("np.memmap("), "{r}");
        assert!(!r.contains(".read()"), "reads the whole file: {r}");
    }
    assert!(recipes[0].contains(r#"np.dtype(info["numpy_dtype"])"#));
    if !numpy_or_skip("the_format_md_numpy_recipes_map_the_records") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = root.join("data/members.csv");
    ok(
        d,
        &[
            "import",
            "members.fxr",
            csv.to_str().unwrap(),
            "--create",
            "--schema",
            "id:str[256],name:str[256]",
        ],
    );
    let want: serde_json::Value =
        serde_json::from_str(&ok(d, &["get", "members.fxr", "2"])).unwrap();
    for r in recipes {
        let script = format!(
            "{r}\nprint(len(members), members[2]['id'].decode(), members[2]['name'].decode(), \
             sep='|')\n"
        );
        let out = python(d, &script);
        let last = out.lines().last().unwrap();
        assert_eq!(
            last,
            format!(
                "3000|{}|{}",
                want["id"].as_str().unwrap(),
                want["name"].as_str().unwrap()
            ),
            "{out}"
        );
    }
}

/// Importing the same CSV twice silently doubled the rows, with no way to replace them:
/// `--replace` (alias `--truncate`) replaces them, all or none.
#[test]
fn import_replace_replaces_the_records_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let schema = "id:u32,name:str[16]";
    std::fs::write(d.join("a.csv"), "id,name\n1,one\n2,two\n3,three\n").unwrap();
    std::fs::write(d.join("b.csv"), "id,name\n7,seven\n").unwrap();
    std::fs::write(d.join("bad.csv"), "id,name\n8,eight\n9,x,y\n").unwrap();
    for raw in [false, true] {
        let file = if raw { "r.dat" } else { "s.fxr" };
        let mut opts = vec!["--schema", schema];
        if raw {
            opts.insert(0, "--raw");
        }
        let import = |input: &'static str, extra: &[&'static str]| -> Vec<&'static str> {
            [&["import", file, input][..], extra, &opts[..]].concat()
        };
        ok(d, &import("a.csv", &["--create"]));
        ok(d, &import("a.csv", &[]));
        let export = || ok(d, &[&["export", file][..], &opts[..]].concat());
        assert_eq!(export().lines().count(), 7, "appended: doubled");

        ok(d, &import("a.csv", &["--replace"]));
        assert_eq!(export(), "id,name\n1,one\n2,two\n3,three\n");
        ok(d, &import("b.csv", &["--truncate"]));
        assert_eq!(export(), "id,name\n7,seven\n");

        // A bad row: the old records stay, and no temporary file is left.
        let err = fails(d, &import("bad.csv", &["--replace"]));
        assert!(err.contains("line 3"), "{err}");
        assert_eq!(export(), "id,name\n7,seven\n");
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        names.sort();
        assert!(names.is_empty(), "{names:?}");
    }
    let info: serde_json::Value =
        serde_json::from_str(&ok(d, &["info", "s.fxr", "--json"])).unwrap();
    assert_eq!(info["len"], 1);
}
