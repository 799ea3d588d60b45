//! A Rust port of the Win32 "second process": open the named region
//! `Global\MyFileMappingObject` that the sender created and print its message.
//!
//! ```text
//! cargo run --example sender      # first, in another terminal
//! cargo run --example listener -- [NAME]
//! ```

use fixrec::shm::Region;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| r"Global\MyFileMappingObject".into());
    let region = Region::open_read_only(&name).map_err(|e| {
        format!("{e}\n(is the sender running? start `cargo run --example sender` first)")
    })?;
    // The text up to the first NUL, as the C program's printf("%s") would show it.
    let bytes = region.as_slice();
    let text = bytes.split(|&b| b == 0).next().unwrap_or(bytes);
    println!("{}", String::from_utf8_lossy(text));
    Ok(())
}
