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
//! The layers, bottom up: the file (its locks and reserved space) and the map over it
//! (remapped on growth, synced by range), both internal; [`format`](mod@format) (the
//! header as bytes), [`schema`] (what the bytes mean), [`Table`] (the untyped array and
//! its commit protocol), and the typed stores [`Store`] and [`SlotStore`], then [`shm`]:
//! named shared-memory regions, raw or holding a [`SharedStore`] that one process updates
//! while others read. `docs/FORMAT.md` in the repository documents the file format.
//!
//! # Mapped memory shared with other handles
//!
//! A store's records are the file's pages, which other handles (in this process or
//! another) may map too. fixrec keeps its own handles from faulting: a file shrinks only
//! while no other handle maps it, and no handle touches bytes past the space reserved in
//! the file. Another program that ignores fixrec's advisory locks and cuts the file (with
//! `truncate`) can make a read of the lost pages fault with SIGBUS, as with any mapped
//! file; [`Store::verify`] reports a file shorter than its header claims.
//!
//! Within one handle, reads go through `&self` and writes through `&mut self`, so they
//! never overlap. Between two handles on the same file (a writer and a read-only store),
//! a record the writer updates in place while a reader holds `&R` to it changes under
//! that reference: in Rust's terms a data race, as with any shared mapping (memmap2's
//! `Mmap::map` is `unsafe` for this reason). In practice the reader sees an old, new or
//! torn record. Read only records the writer no longer changes (those committed before
//! your last [`Store::refresh`], for an append-only writer), or use a shared store,
//! whose [`SharedStore::read`] copies each record under a sequence lock.

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

mod backing;
mod error;
pub mod format;
mod mapping;
mod platform;
mod record;
pub mod schema;
pub mod shm;
mod slot;
mod store;
mod table;
mod txn;

pub use bytemuck;

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use backing::CutBack;
pub use error::{Error, Result};
pub use platform::Advice;
#[doc(hidden)]
pub use record::Padding;
pub use record::{CChar, FieldKind, FixedStr, Record};
pub use schema::{Field, FieldType, Layout, Scalar, Schema};
pub use shm::{Region, SharedStore};
pub use slot::{SlotStore, SlotTransaction};
pub use store::{Access, ReadOnly, ReadWrite, Store, StoreOptions};
pub use table::{Growth, SyncHook, SyncStep, Table};
pub use txn::{TableTransaction, Transaction};
