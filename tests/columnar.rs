//! Parquet and Arrow in and out, and array fields, through the `fixrec` binary: exact
//! round trips, real readers and writers (Python's pyarrow, duckdb and numpy), and bad
//! input that names the row and the column and leaves the store as it was.
//!
//! The Python tests need `python3` with pyarrow, duckdb and numpy (`.ci/run` installs
//! them). Without them they are skipped with a message, except under CI (`CI` set), where
//! they fail.

mod common;

use common::cli::{fails, ok, ok_bytes, text};
use std::path::Path;
use std::process::{Command, Stdio};

/// Every type, arrays of every scalar, and values at the edges.
const SCHEMA: &str = "a:u8,b:i8,c:u16,d:i16,e:u32,f:i32,g:u64,h:i64,x:f32,y:f64,k:bool,l:char,\
m:str[12],n:bytes[3],v:f32[3],ids:u32[4],flags:bool[2],tag:char[3],w:i64[2],z:f64[2],q:u8[2]";

const ROWS: &str = r#"{"a":255,"b":-128,"c":65535,"d":-32768,"e":4294967295,"f":-2147483648,"g":18446744073709551615,"h":-9223372036854775808,"x":1.5,"y":-0.0,"k":true,"l":"é","m":"김용 Kim","n":"00ff10","v":[1.5,"-inf",0.1],"ids":[0,1,2,4294967295],"flags":[true,false],"tag":["a","","ÿ"],"w":[9223372036854775807,-1],"z":["NaN",1e300],"q":[0,255]}
{"a":0,"b":127,"c":0,"d":32767,"e":0,"f":2147483647,"g":0,"h":9223372036854775807,"x":"NaN","y":5e-324,"k":false,"l":"","m":"","n":"","v":[0,0,0],"ids":[7,7,7,7],"flags":[false,true],"tag":["","",""],"w":[0,0],"z":["inf","-inf"],"q":[1,2]}
{"a":1,"b":0,"c":1,"d":0,"e":22,"f":-1,"g":1,"h":0,"x":-3.4028234663852886e38,"y":0.1,"k":true,"l":"z","m":"12345678901","n":"01","v":[-0.0,1e-45,3e38],"ids":[1,2,3,4],"flags":[true,true],"tag":["x","y","z"],"w":[-9223372036854775808,1],"z":[0.5,-2.5],"q":[9,8]}
"#;

fn store(dir: &Path, name: &str, layout: &str) {
    std::fs::write(dir.join("rows.jsonl"), ROWS).unwrap();
    ok(
        dir,
        &[
            "import",
            name,
            "rows.jsonl",
            "--format",
            "jsonl",
            "--create",
            "--schema",
            SCHEMA,
            "--layout",
            layout,
        ],
    );
}

fn raw(dir: &Path, name: &str) -> Vec<u8> {
    ok_bytes(dir, &["export", name, "--format", "raw"])
}

#[test]
fn store_to_parquet_and_arrow_to_store_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for layout in ["c", "packed"] {
        let src = format!("src-{layout}.fxr");
        store(d, &src, layout);
        let want = raw(d, &src);
        assert_eq!(want.len() % 3, 0);
        for (format, file, extra) in [
            ("parquet", "out.parquet", None),
            ("parquet", "out-zstd.parquet", Some("zstd")),
            ("parquet", "out-none.parquet", Some("none")),
            ("arrow", "out.arrow", None),
            ("arrow", "out-zstd.arrow", Some("zstd")),
        ] {
            let mut args = vec!["export", &src, "--format", format, "-o", file];
            if let Some(c) = extra {
                args.extend(["--compression", c]);
            }
            ok(d, &args);
            // --create without --schema: the schema and layout come back from the file.
            let copy = format!("copy-{layout}-{file}.fxr");
            let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
                .args(["import", &copy, file, "--create"])
                .current_dir(d)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            let said = text(&out.stderr);
            assert!(
                said.contains(&format!("--schema '{SCHEMA}' --layout {layout}")),
                "{said}"
            );
            assert_eq!(raw(d, &copy), want, "{layout} {file}");
            // And into an existing store with the same schema, appended.
            ok(d, &["import", &copy, file]);
            let twice = raw(d, &copy);
            assert_eq!(&twice[..want.len()], &want[..]);
            assert_eq!(&twice[want.len()..], &want[..]);
        }
    }
}

#[test]
fn range_and_an_empty_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    store(d, "s.fxr", "c");
    let all = raw(d, "s.fxr");
    let rs = all.len() / 3;
    ok(
        d,
        &[
            "export",
            "s.fxr",
            "--format",
            "parquet",
            "--range",
            "1..",
            "-o",
            "r.parquet",
        ],
    );
    ok(d, &["import", "r.fxr", "r.parquet", "--create"]);
    assert_eq!(raw(d, "r.fxr"), &all[rs..]);
    ok(
        d,
        &[
            "export", "s.fxr", "--format", "arrow", "--range", "1..1", "-o", "e.arrow",
        ],
    );
    ok(d, &["import", "e.fxr", "e.arrow", "--create"]);
    assert!(raw(d, "e.fxr").is_empty());
    let e = fails(
        d,
        &[
            "export",
            "s.fxr",
            "--format",
            "parquet",
            "--range",
            "2..9",
            "-o",
            "x.parquet",
        ],
    );
    assert!(e.contains("not within the store's records 0..3"), "{e}");
    assert!(!d.join("x.parquet").exists());
    let e = fails(
        d,
        &[
            "export",
            "s.fxr",
            "--format",
            "csv",
            "--compression",
            "zstd",
        ],
    );
    assert!(e.contains("--compression applies to"), "{e}");
    let e = fails(
        d,
        &[
            "export",
            "s.fxr",
            "--format",
            "arrow",
            "--compression",
            "snappy",
            "-o",
            "x.arrow",
        ],
    );
    assert!(e.contains("no Snappy"), "{e}");
}

#[test]
fn csv_and_jsonl_carry_arrays_and_name_the_bad_element() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    store(d, "s.fxr", "c");
    let csv = ok(d, &["export", "s.fxr"]);
    assert!(csv.contains(r#","[1.5,""-inf"",0.1]","#), "{csv}");
    std::fs::write(d.join("s.csv"), &csv).unwrap();
    ok(
        d,
        &["import", "c.fxr", "s.csv", "--create", "--schema", SCHEMA],
    );
    assert_eq!(raw(d, "c.fxr"), raw(d, "s.fxr"));
    // A bad element: the line, the element, the value; nothing imported.
    std::fs::write(d.join("bad.csv"), "id,v\n1,\"[1,2,3]\"\n2,\"[1,2,1e39]\"\n").unwrap();
    ok(d, &["create", "b.fxr", "--schema", "id:u32,v:f32[3]"]);
    let e = fails(d, &["import", "b.fxr", "bad.csv"]);
    assert!(
        e.contains("bad.csv: line 3: field `v[2]`: value \"1e+39\": out of range for f32"),
        "{e}"
    );
    std::fs::write(d.join("short.csv"), "id,v\n1,\"[1,2]\"\n").unwrap();
    let e = fails(d, &["import", "b.fxr", "short.csv"]);
    assert!(
        e.contains(
            "line 2: field `v`: value \"[1,2]\": 2 values for f32[3], which holds exactly 3"
        ),
        "{e}"
    );
    assert!(raw(d, "b.fxr").is_empty());
    // The header keeps array fields: the store reopens with the same schema.
    assert!(ok(d, &["info", "s.fxr"]).contains("v:f32[3]"));
    let e = fails(d, &["create", "z.fxr", "--schema", "v:f32[0]"]);
    assert!(e.contains("`f32[0]` has size 0"), "{e}");
}

/// `python3` with pyarrow, duckdb and numpy, or `None` (skip) outside CI. Always `None`
/// on Windows: CI's Windows leg runs under Wine, which has no Windows Python, and a Linux
/// Python would not understand the test's Windows paths; the Linux leg runs these.
fn python() -> Option<()> {
    if cfg!(windows) {
        eprintln!("skipped on Windows: no Windows python3 (the Linux leg runs this test)");
        return None;
    }
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow, duckdb, numpy"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI: python3 with pyarrow, duckdb and numpy is needed (.ci/run installs them)"
    );
    eprintln!("skipped: python3 with pyarrow, duckdb and numpy is not installed");
    None
}

/// Runs a Python script in `dir`; returns its stdout, or panics with its stderr.
fn py(dir: &Path, script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn pyarrow_and_duckdb_read_what_fixrec_writes() {
    if python().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    store(d, "s.fxr", "c");
    ok(
        d,
        &["export", "s.fxr", "--format", "parquet", "-o", "s.parquet"],
    );
    ok(
        d,
        &["export", "s.fxr", "--format", "arrow", "-o", "s.arrow"],
    );
    let out = py(
        d,
        r#"
import math, pyarrow as pa, pyarrow.parquet as pq, pyarrow.ipc as ipc, duckdb
for t in (pq.read_table("s.parquet"), ipc.open_file("s.arrow").read_all()):
    s = t.schema
    want = {"a": pa.uint8(), "b": pa.int8(), "c": pa.uint16(), "d": pa.int16(),
            "e": pa.uint32(), "f": pa.int32(), "g": pa.uint64(), "h": pa.int64(),
            "x": pa.float32(), "y": pa.float64(), "k": pa.bool_(), "l": pa.string(),
            "m": pa.string(), "n": pa.binary(3), "v": pa.list_(pa.field("item", pa.float32(), False), 3),
            "ids": pa.list_(pa.field("item", pa.uint32(), False), 4),
            "flags": pa.list_(pa.field("item", pa.bool_(), False), 2)}
    for name, ty in want.items():
        assert s.field(name).type == ty, (name, s.field(name).type, ty)
        assert not s.field(name).nullable, name
    assert s.field("m").metadata[b"fixrec.type"] == b"str[12]"
    r = t.to_pylist()
    assert len(r) == 3
    assert r[0]["g"] == 2**64 - 1 and r[0]["h"] == -2**63 and r[0]["e"] == 2**32 - 1
    assert r[0]["m"] == "김용 Kim" and r[0]["l"] == "é" and r[0]["n"] == b"\x00\xff\x10"
    assert r[0]["v"][0] == 1.5 and r[0]["v"][1] == -math.inf and r[0]["ids"] == [0, 1, 2, 2**32 - 1]
    assert r[0]["tag"] == ["a", "", "ÿ"] and r[0]["flags"] == [True, False]
    assert math.copysign(1, r[0]["y"]) == -1 and math.isnan(r[1]["x"]) and r[1]["y"] == 5e-324
    assert r[2]["m"] == "12345678901" and r[2]["n"] == b"\x01\x00\x00"
con = duckdb.connect()
row = con.execute("select count(*), sum(e), max(m), min(h), sum(list_sum(ids))::bigint from 's.parquet' where k").fetchall()
print(row)
types = dict(con.execute("select column_name, column_type from (describe select * from 's.parquet')").fetchall())
print(types["e"], types["g"], types["v"], types["n"], types["m"])
"#,
    );
    assert!(
        out.contains("[(2, 4294967317, '김용 Kim', -9223372036854775808, 4294967308)]"),
        "{out}"
    );
    assert!(
        out.contains("UINTEGER UBIGINT FLOAT[] BLOB VARCHAR"),
        "{out}"
    );
}

#[test]
fn files_pyarrow_writes_import() {
    if python().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    py(
        d,
        r#"
import pyarrow as pa, pyarrow.parquet as pq, pyarrow.ipc as ipc
t = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "name": pa.array(["Kim", "김용", ""], pa.large_string()),
    "pos": pa.array([[1.5, 2, 3], [0, 0, 0], [-1, 0.25, 8]], pa.list_(pa.float64())),
    "score": pa.array([0.5, 1.25, -2.0], pa.float64()),
})
pq.write_table(t, "py.parquet", row_group_size=2)
with ipc.new_file("py.arrow", t.schema) as w:
    w.write_table(t)
with ipc.new_stream("py.arrows", t.schema) as w:
    w.write_table(t)
bad = {
    "null": t.set_column(0, "id", pa.array([1, None, 3], pa.int64())),
    "range": t.set_column(0, "id", pa.array([1, 2, 2**32], pa.int64())),
    "long": t.set_column(1, "name", pa.array(["a", "b", "x" * 16], pa.string())),
    "precise": t.set_column(3, "score", pa.array([0.5, 0.1, 1.0], pa.float64())),
    "length": t.set_column(2, "pos", pa.array([[1, 2, 3], [1, 2], [1, 2, 3]], pa.list_(pa.float64()))),
    "element": t.set_column(2, "pos", pa.array([[1, 2, 3], [1, 1e300, 3], [1, 2, 3]], pa.list_(pa.float64(), 3))),
    "missing": t.drop_columns(["score"]),
    "extra": t.append_column("more", pa.array([1, 2, 3])),
    "type": t.set_column(1, "name", pa.array([1, 2, 3])),
    "timestamp": t.drop_columns(["pos"]).append_column("at", pa.array([1, 2, 3], pa.timestamp("s"))),
}
pq.write_table(t.drop_columns(["pos"]), "flat.parquet")
for k, v in bad.items():
    pq.write_table(v, f"bad-{k}.parquet")
"#,
    );
    let schema = "id:u32,name:str[16],pos:f32[3],score:f32";
    for file in ["py.parquet", "py.arrow", "py.arrows"] {
        let s = format!("{file}.fxr");
        ok(
            d,
            &[
                "import",
                &s,
                file,
                "--create",
                "--schema",
                schema,
                "--format",
                if file.ends_with("parquet") {
                    "parquet"
                } else {
                    "arrow"
                },
            ],
        );
        assert_eq!(
            ok(d, &["export", &s, "--format", "jsonl"]),
            "{\"id\":1,\"name\":\"Kim\",\"pos\":[1.5,2.0,3.0],\"score\":0.5}\n\
             {\"id\":2,\"name\":\"김용\",\"pos\":[0.0,0.0,0.0],\"score\":1.25}\n\
             {\"id\":3,\"name\":\"\",\"pos\":[-1.0,0.25,8.0],\"score\":-2.0}\n"
        );
    }
    // An Arrow stream on stdin.
    let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
        .args(["import", "stdin.fxr", "/dev/stdin", "--format", "arrow"])
        .args(["--create", "--schema", schema])
        .current_dir(d)
        .stdin(std::fs::File::open(d.join("py.arrows")).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(raw(d, "stdin.fxr"), raw(d, "py.parquet.fxr"));
    // --create alone derives the schema from the Arrow types (strings sized to fit).
    let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
        .args(["import", "derived.fxr", "flat.parquet", "--create"])
        .current_dir(d)
        .output()
        .unwrap();
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("--schema 'id:i64,name:str[7],score:f64' --layout c"),
        "{said}"
    );
    assert_eq!(
        ok(d, &["get", "derived.fxr", "1"]).trim(),
        r#"{"id":2,"name":"김용","score":1.25}"#
    );
    // A List column has no length to derive: the error says to give --schema.
    let e = fails(d, &["import", "derived2.fxr", "py.arrow", "--create"]);
    assert!(
        e.contains("column `pos` is List(") && e.contains("give the schema"),
        "{e}"
    );
    // Bad files: one error naming the row and the field; the store keeps its 3 records.
    ok(d, &["create", "t.fxr", "--schema", schema]);
    ok(d, &["import", "t.fxr", "py.parquet"]);
    let before = raw(d, "t.fxr");
    for (file, says) in [
        (
            "bad-null.parquet",
            "bad-null.parquet: row 1: field `id`: value null: a null",
        ),
        (
            "bad-range.parquet",
            "bad-range.parquet: row 2: field `id`: value \"4294967296\": out of range for u32",
        ),
        (
            "bad-long.parquet",
            "bad-long.parquet: row 2: field `name`: value \"xxxxxxxxxxxxxxxx\": 16 bytes of text do not fit str[16]",
        ),
        (
            "bad-precise.parquet",
            "bad-precise.parquet: row 1: field `score`: value \"0.1\": would lose precision in f32",
        ),
        (
            "bad-length.parquet",
            "bad-length.parquet: row 1: field `pos`: value a list of 2 values: f32[3] holds exactly 3 values",
        ),
        (
            "bad-element.parquet",
            "bad-element.parquet: row 1: field `pos[1]`: value \"1e300\": would lose precision in f32",
        ),
        ("bad-missing.parquet", "missing field `score`"),
        ("bad-extra.parquet", "unknown field `more`"),
        (
            "bad-type.parquet",
            "column `name` is Int64, which does not convert to field `name: str[16]`",
        ),
    ] {
        let e = fails(d, &["import", "t.fxr", file]);
        assert!(e.contains(says), "{file}: {e}");
        assert_eq!(raw(d, "t.fxr"), before, "{file}");
    }
    let e = fails(d, &["import", "u.fxr", "bad-timestamp.parquet", "--create"]);
    assert!(e.contains("column `at` is Timestamp"), "{e}");
    assert!(!d.join("u.fxr").exists());
    let e = fails(d, &["import", "t.fxr", "py.arrow", "--format", "parquet"]);
    assert!(
        e.contains("is an Arrow IPC file; give --format arrow"),
        "{e}"
    );
    // Not Parquet, or cut short: an error naming the file, and nothing imported.
    std::fs::write(d.join("junk.parquet"), "id,name\n1,a\n").unwrap();
    let e = fails(d, &["import", "t.fxr", "junk.parquet"]);
    assert!(e.contains("junk.parquet: not a Parquet file"), "{e}");
    let whole = std::fs::read(d.join("py.parquet")).unwrap();
    for cut in [4, whole.len() / 2, whole.len() - 1] {
        std::fs::write(d.join("cut.parquet"), &whole[..cut]).unwrap();
        let e = fails(d, &["import", "t.fxr", "cut.parquet"]);
        assert!(
            e.contains("cut.parquet: not a readable Parquet file"),
            "{cut}: {e}"
        );
    }
    let whole = std::fs::read(d.join("py.arrows")).unwrap();
    std::fs::write(d.join("cut.arrows"), &whole[..whole.len() - 20]).unwrap();
    let e = fails(d, &["import", "t.fxr", "cut.arrows"]);
    assert!(e.contains("cut.arrows: "), "{e}");
    assert_eq!(raw(d, "t.fxr"), before);
    let e = fails(d, &["import", "v.fxr", "py.csv", "--create"]);
    assert!(e.contains("--create needs --schema"), "{e}");
}

#[test]
fn numpy_reads_array_fields_as_subarray_dtypes() {
    if python().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("p.jsonl"),
        "{\"id\":1,\"pos\":[1.5,2,3],\"ids\":[1,2,3,65535]}\n{\"id\":2,\"pos\":[0,-1,0.25],\"ids\":[4,5,6,7]}\n",
    )
    .unwrap();
    ok(
        d,
        &[
            "import",
            "p.fxr",
            "p.jsonl",
            "--format",
            "jsonl",
            "--create",
            "--schema",
            "id:u32,pos:f32[3],ids:u16[4]",
        ],
    );
    // The recipe of docs/FORMAT.md.
    let out = py(
        d,
        r#"
import numpy as np, struct
raw = open("p.fxr", "rb").read()
data_offset, = struct.unpack_from("<Q", raw, 32)
metas = [struct.unpack_from("<QQQ", raw, at + 8) for at in (512, 1024)]
gen, length, cap = max(metas)
dt = np.dtype({"names": ["id", "pos", "ids"],
               "formats": ["<u4", ("<f4", (3,)), ("<u2", (4,))],
               "offsets": [0, 4, 16], "itemsize": 24})
particles = np.frombuffer(raw, dtype=dt, count=length, offset=data_offset)
print(particles["pos"].shape, particles["pos"].tolist(), particles["ids"][0].tolist())
"#,
    );
    assert_eq!(
        out.trim(),
        "(2, 3) [[1.5, 2.0, 3.0], [0.0, -1.0, 0.25]] [1, 2, 3, 65535]"
    );
}

/// The README's "Scaling out" example: its `sh` block, run with bash in a directory with
/// the sample data and the built `fixrec` on PATH, prints what its `text` block shows.
#[test]
fn readme_scaling_out_example_prints_what_it_shows() {
    if python().is_none() {
        return;
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("## Scaling out").expect("the section")..];
    let block = |fence: &str| {
        let start = section.find(fence).expect("the block") + fence.len();
        section[start..][..section[start..].find("\n```\n").unwrap() + 1].to_owned()
    };
    let (script, shown) = (block("```sh\n"), block("```text\n"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/members.csv"),
        dir.path().join("data/members.csv"),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_fixrec")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .env("PATH", path)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), shown);
}
