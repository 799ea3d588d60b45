//! `fixrec shm`: named shared-memory regions from the shell.

use anyhow::{Context, Result};
use fixrec::shm::{self, Region, RegionOptions};
use std::process::ExitCode;

/// Create, write, read, remove and list named shared-memory regions (`shm_open("/NAME")`,
/// so C programs share them). Record commands take `shm:NAME` where they take a file.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  \
    fixrec shm create MyFileMappingObject --size 256\n  \
    fixrec shm write MyFileMappingObject 'Message from first process.'\n  \
    fixrec shm read MyFileMappingObject\n  \
    fixrec shm rm MyFileMappingObject\n  \
    fixrec create shm:JJBSMTEST --raw --schema 'c:char,i:i32,s:i16' --layout packed --capacity 1\n  \
    fixrec get shm:JJBSMTEST 0 --raw --schema 'c:char,i:i32,s:i16' --layout packed")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create a region of zero bytes (fails if the name exists). Mode 0600 unless --mode.
    #[command(
        after_help = "Example:\n  fixrec shm create MyFileMappingObject --size 256 --mode 0640"
    )]
    Create {
        /// The region's name (`Global\` and `Local\` prefixes are accepted).
        name: String,
        /// Size in bytes.
        #[arg(long)]
        size: usize,
        /// Permission bits in octal, 600 to 777, including the owner's 600 (the umask does
        /// not apply).
        #[arg(long, value_parser = parse_mode, default_value = "0600")]
        mode: u32,
    },
    /// Write TEXT into a region at --offset, followed by a NUL if there is room.
    #[command(
        after_help = "Example:\n  fixrec shm write MyFileMappingObject 'Message from first process.'"
    )]
    Write {
        /// The region's name.
        name: String,
        /// The text.
        text: String,
        /// Byte offset to write at.
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// Print a region's bytes: the text up to the first NUL, or --hex.
    #[command(after_help = "Examples:\n  fixrec shm read MyFileMappingObject\n  \
        fixrec shm read JJBSMTEST --len 7 --hex")]
    Read {
        /// The region's name.
        name: String,
        /// Read at most this many bytes.
        #[arg(long)]
        len: Option<usize>,
        /// Print a hex dump of the bytes instead of text.
        #[arg(long)]
        hex: bool,
    },
    /// Remove a region's name (processes that have it mapped keep it).
    #[command(after_help = "Example:\n  fixrec shm rm MyFileMappingObject")]
    Rm {
        /// The region's name.
        name: String,
    },
    /// List the regions: name, size, owner, mode.
    #[command(after_help = "Example:\n  fixrec shm ls")]
    Ls,
}

/// `--mode`: permission bits in octal (`0640`, `640` or `0o640`), at most 0o777, with the
/// owner's read and write bits (the region is created for its owner to write). Anything
/// else is a usage error here, before a region is made.
fn parse_mode(s: &str) -> Result<u32, String> {
    let allowed = "give octal permission bits from 600 to 777 that include 600 \
        (the owner reads and writes), such as 0640";
    let digits = s.strip_prefix("0o").unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(format!("{s:?} is not an octal mode: {allowed}"));
    }
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 && mode & 0o600 == 0o600 => Ok(mode),
        _ => Err(format!("{s:?} is not an allowed mode: {allowed}")),
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Create { name, size, mode } => {
            super::os::check_region_outlives_command(&name, "create")?;
            let region = RegionOptions::new().mode(mode).create(&name, size)?;
            outln!("created {} ({size} bytes, mode {mode:o})", region.name());
        }
        Command::Write { name, text, offset } => {
            let mut region = Region::open(&name)?;
            let len = region.len();
            let bytes = region.as_mut_slice();
            let end = offset
                .checked_add(text.len())
                .filter(|&end| end <= len)
                .with_context(|| {
                    format!(
                        "shm:{name}: {} bytes at offset {offset} do not fit in its {len} bytes",
                        text.len()
                    )
                })?;
            bytes[offset..end].copy_from_slice(text.as_bytes());
            if end < len {
                bytes[end] = 0;
            }
        }
        Command::Read { name, len, hex } => {
            let region = Region::open_read_only(&name)?;
            let bytes = region.as_slice();
            let bytes = &bytes[..len.unwrap_or(bytes.len()).min(bytes.len())];
            if hex {
                for (i, line) in bytes.chunks(16).enumerate() {
                    let cells: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
                    outln!("{:08x}  {}", i * 16, cells.join(" "));
                }
            } else {
                let text = bytes.split(|&b| b == 0).next().unwrap_or(bytes);
                outln!("{}", String::from_utf8_lossy(text));
            }
        }
        Command::Rm { name } => {
            super::os::check_region_outlives_command(&name, "remove")?;
            Region::remove(&name)?
        }
        Command::Ls => {
            let regions = shm::list()?;
            outln!("{:<40} {:>12} {:>8} {:>5}", "NAME", "SIZE", "OWNER", "MODE");
            for r in regions {
                outln!("{:<40} {:>12} {:>8} {:>5o}", r.name, r.size, r.uid, r.mode);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
