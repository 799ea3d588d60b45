//! The README's first example, word for word (`tests/examples.rs` checks that they
//! match): 1000 `struct Member` records in a new file, one changed in place, flushed, read
//! back through a read-only map. Every run starts from an empty file of its own and prints
//! the same line.
//!
//! Run: `cargo run --example members`.

use fixrec::{FixedStr, Store, record};

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`: 512 bytes, as in C.
    pub struct Member { pub id: FixedStr<256>, pub name: FixedStr<256> }
}

fn main() -> fixrec::Result<()> {
    // A new file of this run's own, so every run starts empty and prints the same.
    let path = std::env::temp_dir().join(format!("members-{}.fxr", std::process::id()));
    let mut members = Store::<Member>::create(&path)?;
    for i in 0..1000 {
        let id = FixedStr::new(&i.to_string())?;
        members.push(Member {
            id,
            name: FixedStr::new("김용")?,
        })?;
    }
    members[2].name.set("Jin Yong")?; // in place, in the map
    members.flush()?; // durable: records synced, then len committed

    let reader = Store::<Member>::open_read_only(&path)?;
    println!("{} records; member[2] = {}", reader.len(), reader[2].name);
    drop((members, reader));
    std::fs::remove_file(&path)?; // `?` takes std's IO errors too
    Ok(())
}
