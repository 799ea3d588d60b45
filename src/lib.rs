//! # fixrec
//!
//! Memory-mapped fixed-record files: arrays of plain-old-data records, read and written
//! in place at memory speed, durable when [`Store::flush`] says so, and laid out byte for
//! byte as a C program or numpy reads them.
//!
//! ```
//! use fixrec::{FixedStr, Store, record};
//!
//! record! {
//!     #[repr(C)]
//!     /// `struct Member { char Id[256]; char name[256]; }`: 512 bytes.
//!     #[derive(Debug)]
//!     pub struct Member {
//!         pub id: FixedStr<256>,
//!         pub name: FixedStr<256>,
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("members.fxr");
//! let mut members = Store::<Member>::create(&path)?;
//! members.push(Member { id: FixedStr::new("22")?, name: FixedStr::new("Guo Jing")? })?;
//! members[0].name.set("Huang Rong")?;  // in place, in the map
//! members.flush()?;                     // the durability point
//! drop(members);
//!
//! let members = Store::<Member>::open_read_only(&path)?;
//! assert_eq!(members[0].name.as_str()?, "Huang Rong");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The layers, bottom up (each a module): `backing` (the file, its locks and space),
//! `mapping` (the map, remap and sync), [`format`](mod@format) (the header as bytes), [`schema`]
//! (what the bytes mean), [`Table`] (the untyped array and its commit protocol), and the
//! typed stores [`Store`] and [`SlotStore`], then [`shm`]: named shared-memory regions,
//! raw or holding a [`SharedStore`] that one process updates while others read.
//! `docs/FORMAT.md` documents the file format.

#![deny(missing_docs)]

mod backing;
mod error;
pub mod format;
mod mapping;
mod record;
pub mod schema;
pub mod shm;
mod slot;
mod store;
mod table;

pub use bytemuck;

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use error::{Error, Result};
pub use record::{CChar, FieldKind, FixedStr, Record};
pub use schema::{Field, FieldType, Layout, Scalar, Schema};
pub use shm::{Region, SharedStore};
pub use slot::SlotStore;
pub use store::{Access, ReadOnly, ReadWrite, Store, StoreOptions};
pub use table::{Growth, SyncHook, SyncStep, Table};
