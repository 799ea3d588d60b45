//! A Rust port of the Win32 `test.txt` program: map an existing file read/write, add 1 to
//! every byte in place, and flush the view (`FlushViewOfFile`; here `msync`).
//!
//! Run: `cargo run --example increment [FILE]`. Without FILE it makes a temporary
//! `test.txt` holding "HAL 9000" and shows it before and after ("IBM!:111").

use fixrec::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let path = match std::env::args_os().nth(1) {
        Some(p) => p.into(),
        None => {
            let p = tmp.path().join("test.txt");
            std::fs::write(&p, "HAL 9000")?;
            p
        }
    };
    println!(
        "before: {:?}",
        String::from_utf8_lossy(&std::fs::read(&path)?)
    );

    // A headerless file of one-byte records: the whole file, mapped.
    let mut bytes = Store::<u8>::open_raw(&path)?;
    for b in bytes.as_mut_slice() {
        *b = b.wrapping_add(1);
    }
    bytes.flush()?;
    drop(bytes);

    println!(
        "after:  {:?}",
        String::from_utf8_lossy(&std::fs::read(&path)?)
    );
    Ok(())
}
