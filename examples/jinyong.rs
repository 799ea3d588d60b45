//! A Rust port of the Win32 `jinyong.dat` program.
//!
//! The C program writes 1000 `struct Member { char Id[256]; char name[256]; }` records
//! with `WriteFile`, maps the file, and reads `member[2].Id` through a pointer. This does
//! the same: plain buffered IO writes the file, fixrec maps it as a raw store. Then it
//! does the same job with fixrec's native format: `push`, `flush`, reopen.
//!
//! Run: `cargo run --release --example jinyong [DIR]` (DIR defaults to a temporary folder).
//! It writes `jinyong.dat` and `jinyong.fxr` in DIR, replacing any it finds there, so
//! every run starts from empty files and prints the same.

use fixrec::{FixedStr, Store, record};
use std::io::{BufWriter, Write};

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`: `id` at offset 0, `name` at 256.
    #[derive(Debug)]
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

const COUNT: usize = 1000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| tmp.path().to_owned(), Into::into);

    // 1. The C program: strcpy(member.Id, "22"); strcpy(member.name, "22");
    //    then WriteFile 1000 times.
    let raw_path = dir.join("jinyong.dat");
    let mut out = BufWriter::new(std::fs::File::create(&raw_path)?);
    let mut c_record = [0u8; 512];
    c_record[..2].copy_from_slice(b"22");
    c_record[256..258].copy_from_slice(b"22");
    for _ in 0..COUNT {
        out.write_all(&c_record)?;
    }
    out.into_inner()?.sync_all()?;
    println!(
        "wrote jinyong.dat ({} bytes) with buffered IO",
        std::fs::metadata(&raw_path)?.len()
    );

    // 2. Map it: CreateFileMapping + MapViewOfFile, then member[2].Id.
    let members = Store::<Member>::open_raw_read_only(&raw_path)?;
    println!("mapped {} raw records", members.len());
    println!("member[2].id   = {}", members[2].id.as_str()?);
    println!("member[3].name = {}", members[3].name.as_str()?);
    drop(members);

    // 3. The same with the native format: a self-describing header, push, flush, reopen.
    let path = dir.join("jinyong.fxr");
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let mut store = Store::<Member>::create(&path)?;
    for i in 0..COUNT {
        let id = FixedStr::new(&i.to_string())?;
        store.push(Member {
            id,
            name: FixedStr::new("김용 (Jin Yong)")?,
        })?;
    }
    store[3].name.set("郭靖 Guo Jing")?;
    store.flush()?;
    println!("pushed and flushed {} records to jinyong.fxr", store.len());
    drop(store);

    let store = Store::<Member>::open_read_only(&path)?;
    store.verify()?;
    println!(
        "reopened: len {}, schema {}, member[2].id = {}, member[3].name = {}",
        store.len(),
        store.schema().map(ToString::to_string).unwrap_or_default(),
        store[2].id,
        store[3].name
    );
    Ok(())
}
