//! Layer 7: named shared memory. Regions created and opened by name, raw or holding a
//! store: Win32's `CreateFileMapping(INVALID_HANDLE_VALUE, ..., name)` and
//! `OpenFileMapping` on Windows, their POSIX twin `shm_open` on Unix.
//!
//! - [`Region`]: a named region of bytes, or of raw `R` records ([`Region::records`]),
//!   like the Win32 programs' 256-byte message and packed `SMTEST` struct.
//! - [`SharedStore`]: a store of records with the same header as a store file, that one
//!   process updates while others read, with no torn record and no hang when the writer
//!   dies.
//! - [`open_table`] and [`open_raw_table`]: the untyped [`Table`] over a region, for
//!   tools (the command line's `shm:NAME` targets).
//!
//! # Names
//!
//! A [`Name`] is what a C program on the same machine opens by that name, so it shares
//! fixrec's regions: `shm_open("/Name")` on Unix, where the Win32 prefixes `Global\` and
//! `Local\` are accepted and stripped (Linux has one namespace of regions per IPC
//! namespace); `OpenFileMappingA(..., name)` on Windows, with the name exactly as written.
//!
//! # Lifetime and size
//!
//! On Unix a region lives until it is removed ([`Region::remove`]) or the machine
//! restarts, and a store in it grows. On Windows a region is a file-mapping object on
//! the paging file: it lives while any process has a handle to it and goes with the last
//! one ([`Region::remove`] cannot remove it, and only checks that it exists), and it
//! keeps the size it was created with, so a store in it cannot grow past the capacity it
//! was created with (an error says so).
//!
//! # Security
//!
//! On Unix a region is created with `O_CREAT | O_EXCL | O_NOFOLLOW` and mode exactly 0600
//! (set with `fchmod`, so the umask does not matter) unless a wider mode is asked for by
//! [`RegionOptions::mode`]. [`Region::open_or_create`] refuses an existing region that
//! another user owns or that group or others can write, unless
//! [`RegionOptions::trust_existing`] says otherwise. No open follows a symbolic link.
//!
//! On Windows a region is created with a security descriptor whose one entry grants the
//! creating user all access (modes do not apply), and [`Region::open_or_create`] refuses
//! an existing object another user owns (`ERROR_ALREADY_EXISTS` on an object of this
//! user's is [`Origin::Opened`]).
//!
//! # Examples
//!
//! The Win32 sender and listener, in one program:
//!
//! ```
//! use fixrec::shm::{Lifetime, Region, RegionOptions};
//!
//! let name = format!(r"Global\fixrec-doc-{}", std::process::id());
//! // The sender: CreateFileMapping(INVALID_HANDLE_VALUE, ..., 256, name).
//! let mut sender = RegionOptions::new()
//!     .lifetime(Lifetime::RemoveOnDrop)
//!     .create(&name, 256)?;
//! let message = b"Message from first process.";
//! sender.as_mut_slice()[..message.len()].copy_from_slice(message);
//!
//! // The listener: OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, name).
//! let listener = Region::open_read_only(&name)?;
//! let text = listener.as_slice().split(|&b| b == 0).next().unwrap();
//! assert_eq!(text, message);
//! # Ok::<(), fixrec::Error>(())
//! ```

mod name;
mod region;
mod seqlock;
mod shared;

pub use name::{MAX_NAME_LEN, Name};
pub use region::{DEFAULT_MODE, Lifetime, Origin, Region, RegionInfo, RegionOptions, list};
pub use shared::{DEFAULT_TIMEOUT, RecordWrite, SharedStore, SharedTable};

use crate::error::{Error, Result};
use crate::format::Kind;
use crate::schema::Schema;
use crate::table::{Growth, Table};

/// Opens the store in region `name` (a [`Store`](crate::Store) image or a
/// [`SharedStore`]) as an untyped [`Table`], schema from its header. A shared store is
/// opened for writing only by [`SharedStore::open`], whose writes keep readers safe.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for a writable open of a shared store; the errors of
/// [`Table::open`].
pub fn open_table(name: &str, writable: bool) -> Result<Table> {
    let name = Name::new(name)?;
    let backing = region::open_object(&name, writable)?;
    Table::open_native_on(backing, writable, Growth::default(), |sb| {
        if writable && sb.kind == Kind::Shared {
            return Err(Error::InvalidArgument(format!(
                "{name} is a shared store: write it with SharedStore (untyped writes would let readers see torn records)"
            )));
        }
        Ok(())
    })
}

/// Opens region `name` as headerless records of `schema` (like a raw file: len is the
/// region's size divided by the record size).
///
/// # Errors
///
/// [`Error::RawSizeNotMultiple`] naming both sizes; [`Error::Locked`] for a second
/// writer; an IO error.
///
/// # Examples
///
/// ```
/// use fixrec::shm::{self, Lifetime, RegionOptions};
/// use fixrec::{FieldType, Layout, Schema};
///
/// let name = format!("fixrec-doc-raw-{}", std::process::id());
/// let mut region = RegionOptions::new().lifetime(Lifetime::RemoveOnDrop).create(&name, 7)?;
/// region.as_mut_slice().copy_from_slice(&[b'a', 100, 0, 0, 0, 10, 0]);
/// let smtest = Schema::from_fields(Layout::Packed,
///     [("c", FieldType::Char), ("i", FieldType::I32), ("s", FieldType::I16)])?;
/// let table = shm::open_raw_table(&name, smtest, false)?;
/// assert_eq!(table.len(), 1);
/// # Ok::<(), fixrec::Error>(())
/// ```
pub fn open_raw_table(name: &str, schema: Schema, writable: bool) -> Result<Table> {
    let name = Name::new(name)?;
    let rs = usize::try_from(schema.record_size()).map_err(|_| {
        Error::InvalidArgument(format!("{name}: the record size does not fit in memory"))
    })?;
    let backing = region::open_object(&name, writable)?;
    Ok(Table::open_raw_on(backing, rs, writable, Growth::default())?.with_schema(schema))
}
