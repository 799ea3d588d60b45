//! `fixrec update`: a batch of changes from JSON lines or CSV as one transaction; a bad
//! line names its line and field and changes nothing; a kill leaves all or nothing.

mod common;
use common::cli::{fails, ok, spawn};
use std::fs;
use std::io::Write;
use std::path::Path;

fn setup(dir: &Path, n: usize) {
    ok(
        dir,
        &[
            "create",
            "m.fxr",
            "--schema",
            "id:u32,name:str[16],score:f64",
        ],
    );
    let rows: String = (0..n)
        .map(|i| format!("{{\"id\":{i},\"name\":\"n{i}\",\"score\":0}}\n"))
        .collect();
    fs::write(dir.join("rows.jsonl"), rows).unwrap();
    ok(dir, &["import", "m.fxr", "rows.jsonl", "--format", "jsonl"]);
}

fn export(dir: &Path) -> String {
    ok(dir, &["export", "m.fxr", "--format", "jsonl"])
}

#[test]
fn json_lines_and_csv_change_the_named_fields() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path(), 4);
    fs::write(
        d.path().join("c.jsonl"),
        "{\"_index\": 1, \"name\": \"Jin Yong\"}\n\n{\"_index\": 3, \"score\": 2.5, \"id\": 30}\n",
    )
    .unwrap();
    let out = ok(d.path(), &["update", "m.fxr", "c.jsonl"]);
    assert!(out.contains("2 changes committed"), "{out}");
    fs::write(d.path().join("c.csv"), "score,_index\n9.5,0\n1,1\n").unwrap();
    ok(d.path(), &["update", "m.fxr", "c.csv"]);
    let rows = export(d.path());
    let lines: Vec<&str> = rows.lines().collect();
    assert_eq!(lines[0], r#"{"id":0,"name":"n0","score":9.5}"#);
    assert_eq!(lines[1], r#"{"id":1,"name":"Jin Yong","score":1.0}"#);
    assert_eq!(lines[2], r#"{"id":2,"name":"n2","score":0.0}"#);
    assert_eq!(lines[3], r#"{"id":30,"name":"n3","score":2.5}"#);
}

#[test]
fn stdin_is_read_with_a_dash() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path(), 2);
    let mut child = spawn(d.path(), &["update", "m.fxr", "-"]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"_index\":0,\"name\":\"piped\"}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(export(d.path()).contains("piped"));
}

#[test]
fn a_bad_line_names_line_and_field_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path(), 3);
    let before = fs::read(d.path().join("m.fxr")).unwrap();
    let cases = [
        (
            "{\"_index\":0,\"name\":\"a\"}\n{\"_index\":1,\"nmae\":\"b\"}\n",
            "line 2",
            "nmae",
        ),
        ("{\"_index\":0,\"score\":\"x\"}\n", "line 1", "score"),
        (
            "{\"_index\":0}\n{\"_index\":3,\"id\":1}\n",
            "line 2",
            "past the end",
        ),
        ("{\"_index\":-1,\"id\":1}\n", "line 1", "_index"),
        ("{\"id\":1}\n", "line 1", "_index"),
        ("{\"_index\":0,\"id\":1\n", "line 1", "invalid JSON"),
        (
            "{\"_index\":0,\"name\":\"much too long for sixteen\"}\n",
            "line 1",
            "name",
        ),
    ];
    for (input, line, what) in cases {
        fs::write(d.path().join("bad.jsonl"), input).unwrap();
        let err = fails(d.path(), &["update", "m.fxr", "bad.jsonl"]);
        assert!(err.contains(line) && err.contains(what), "{input}: {err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert_eq!(fs::read(d.path().join("m.fxr")).unwrap(), before, "{input}");
    }
    for (input, line, what) in [
        ("_index,score\n0,1\n1,oops\n", "line 3", "score"),
        ("score\n1\n", "line 1", "_index"),
        ("_index,nope\n0,1\n", "line 1", "nope"),
        ("_index,id\n7,1\n", "line 2", "past the end"),
    ] {
        fs::write(d.path().join("bad.csv"), input).unwrap();
        let err = fails(d.path(), &["update", "m.fxr", "bad.csv"]);
        assert!(err.contains(line) && err.contains(what), "{input}: {err}");
        assert_eq!(fs::read(d.path().join("m.fxr")).unwrap(), before, "{input}");
    }
}

/// A kill at a random moment of a large update leaves all of it or none.
#[test]
fn a_killed_update_leaves_all_or_nothing() {
    let d = tempfile::tempdir().unwrap();
    let n = 20_000;
    setup(d.path(), n);
    let changes: String = (0..n)
        .map(|i| format!("{{\"_index\":{i},\"name\":\"new\"}}\n"))
        .collect();
    fs::write(d.path().join("c.jsonl"), changes).unwrap();
    let (mut all, mut none) = (0, 0);
    for trial in 0..12u64 {
        let mut child = spawn(d.path(), &["update", "m.fxr", "c.jsonl"]);
        std::thread::sleep(std::time::Duration::from_millis(trial * 30));
        let _ = child.kill();
        let _ = child.wait();
        let rows = export(d.path());
        let new = rows.matches("\"new\"").count();
        assert!(
            new == 0 || new == n,
            "trial {trial}: {new} of {n} records changed"
        );
        if new == n {
            all += 1;
            // Back to the old names for the next trial.
            let back: String = (0..n)
                .map(|i| format!("{{\"_index\":{i},\"name\":\"n{i}\"}}\n"))
                .collect();
            fs::write(d.path().join("back.jsonl"), back).unwrap();
            ok(d.path(), &["update", "m.fxr", "back.jsonl"]);
        } else {
            none += 1;
        }
    }
    println!("killed updates: {all} committed whole, {none} not at all");
}
