//! Named regions: `shm_open` objects, created, opened, mapped and removed by name.

use super::name::Name;
use crate::backing::Backing;
use crate::error::{Error, Result};
use crate::mapping::Map;
use crate::platform;
use crate::store::{Access, ReadOnly, ReadWrite};
use bytemuck::Pod;
use std::io;
use std::marker::PhantomData;

/// The mode a region gets unless the caller asks for another: owner read and write only.
pub const DEFAULT_MODE: u32 = 0o600;

/// What happens to a region when the handle that created it is dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifetime {
    /// The region stays until [`Region::remove`] (or a reboot): the POSIX way. On
    /// Windows every region goes with its last handle, whatever its lifetime.
    #[default]
    Persistent,
    /// The creating handle removes the name when it is dropped: the closest match to
    /// Win32, where a mapping object goes away with its last handle. Processes that
    /// have it open or mapped keep their access; later opens by name fail.
    RemoveOnDrop,
}

/// Which of the two things [`Region::open_or_create`] did (Win32's
/// `ERROR_ALREADY_EXISTS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The region did not exist: this call created it, zero-filled, with the size asked.
    Created,
    /// The region existed: this call opened it, with the size it has.
    Opened,
}

/// What `fixrec shm ls` shows about a region: from `fstat` of the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The name, without the leading `/`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The owner's user id.
    pub uid: u32,
    /// Permission bits (for example `0o600`).
    pub mode: u32,
}

/// Settings for creating regions: mode, [`Lifetime`], and whether
/// [`open_or_create`](RegionOptions::open_or_create) may use an existing region that
/// another user owns or that others may write.
///
/// # Examples
///
/// ```
/// use fixrec::shm::{Lifetime, Region, RegionOptions};
///
/// let name = format!("fixrec-doc-options-{}", std::process::id());
/// let region = RegionOptions::new()
///     .mode(0o640)
///     .lifetime(Lifetime::RemoveOnDrop)
///     .create(&name, 4096)?;
/// assert_eq!(region.info()?.mode, 0o640);
/// drop(region); // removes the name
/// assert!(Region::open(&name).is_err());
/// # Ok::<(), fixrec::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RegionOptions {
    mode: u32,
    lifetime: Lifetime,
    trust_existing: bool,
}

impl Default for RegionOptions {
    fn default() -> Self {
        RegionOptions {
            mode: DEFAULT_MODE,
            lifetime: Lifetime::Persistent,
            trust_existing: false,
        }
    }
}

impl RegionOptions {
    /// Mode 0600, persistent, existing regions checked.
    pub fn new() -> Self {
        Self::default()
    }

    /// The permission bits a created region gets, exactly (the umask does not apply).
    /// At least `0o600`, at most `0o777`; checked when the region is created. Unix only:
    /// on Windows the region is for its creating user alone, whatever the mode.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    pub(crate) fn mode_bits(&self) -> u32 {
        self.mode
    }

    pub(crate) fn lifetime_kind(&self) -> Lifetime {
        self.lifetime
    }

    /// What happens when the creating handle is dropped.
    pub fn lifetime(mut self, lifetime: Lifetime) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Lets [`open_or_create`](RegionOptions::open_or_create) use an existing region that
    /// another user owns, or that group or others may write beyond the mode asked for.
    /// Off by default: such a region may have been planted to read or change what this
    /// process puts in it.
    pub fn trust_existing(mut self, trust: bool) -> Self {
        self.trust_existing = trust;
        self
    }

    pub(crate) fn check_mode(&self) -> Result<()> {
        if self.mode & !0o777 != 0 || self.mode & 0o600 != 0o600 {
            return Err(Error::InvalidArgument(format!(
                "region mode {:#o}: give permission bits between 0o600 and 0o777 (the owner must read and write)",
                self.mode
            )));
        }
        Ok(())
    }

    /// Creates region `name` of `size` zero bytes; fails if the name exists.
    ///
    /// On Unix the object is made with `O_CREAT | O_EXCL | O_NOFOLLOW` and mode 0600, then given
    /// exactly the mode asked (`fchmod`, so the umask cannot widen or narrow it), and
    /// its pages are reserved (`posix_fallocate`), so a full `/dev/shm` is an error here
    /// and never a SIGBUS later. On Windows it is a paging-file section, committed at
    /// creation (a lack of memory is an error here), for the creating user alone.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if the name exists (whatever it is: a region, a symbolic
    /// link); [`Error::InvalidName`]; [`Error::InvalidArgument`] for a size of 0 or a bad
    /// mode; an IO error (no space among them).
    pub fn create(&self, name: &str, size: usize) -> Result<Region> {
        let name = Name::new(name)?;
        self.create_name(&name, size)
    }

    fn create_name(&self, name: &Name, size: usize) -> Result<Region> {
        self.check_mode()?;
        if size == 0 || size > isize::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "{name}: a region needs between 1 and {} bytes, not {size}",
                isize::MAX
            )));
        }
        let backing = create_object(name, size as u64, self.mode)?;
        let mapped = Region::map(backing, name.clone(), self.lifetime, true);
        if mapped.is_err() {
            // We created it: a failed create leaves nothing behind.
            let _ = unlink(name);
        }
        mapped
    }

    /// Opens region `name` if it exists (with its own size), else creates it with `size`
    /// bytes, and says which happened.
    ///
    /// An existing region is refused unless this process's user owns it and group and
    /// others cannot write it beyond the mode asked for (see
    /// [`trust_existing`](RegionOptions::trust_existing)). A symbolic link is always
    /// refused.
    ///
    /// # Errors
    ///
    /// [`Error::UnsafeRegion`] for a region that fails those checks; the errors of
    /// [`create`](RegionOptions::create) and [`Region::open`].
    pub fn open_or_create(&self, name: &str, size: usize) -> Result<(Region, Origin)> {
        let name = Name::new(name)?;
        self.check_mode()?;
        loop {
            match open_object(&name, true) {
                Ok(backing) => {
                    if !self.trust_existing {
                        platform::check_trusted(&name, &backing, self.mode)?;
                    }
                    let region = Region::map(backing, name, Lifetime::Persistent, true)?;
                    return Ok((region, Origin::Opened));
                }
                Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            match self.create_name(&name, size) {
                Ok(region) => return Ok((region, Origin::Created)),
                // Another process created it between our open and create: open it.
                Err(Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// A named shared-memory region, mapped: the POSIX twin of a Win32 file mapping backed by
/// the paging file (`CreateFileMapping(INVALID_HANDLE_VALUE, ...)`).
///
/// `Region` (`ReadWrite`) maps the object read/write; `Region<ReadOnly>` maps it
/// `PROT_READ` and has no mutable access.
///
/// # Concurrent access
///
/// A region's bytes are shared with every process that maps it, and fixrec cannot stop
/// another process from writing them while this one holds a slice: the slice then sees
/// the bytes change. Raw regions suit the hand-over pattern of the Win32 programs (one
/// process writes, then another reads). For records that one process updates while
/// others read, use a [`SharedStore`](super::SharedStore): its reads never return a torn
/// record.
///
/// # Examples
///
/// ```
/// use fixrec::shm::{Origin, Region};
///
/// let name = format!("fixrec-doc-region-{}", std::process::id());
/// let mut first = Region::create(&name, 256)?;
/// first.as_mut_slice()[..27].copy_from_slice(b"Message from first process.");
///
/// let (second, origin) = Region::open_or_create(&name, 256)?;
/// assert_eq!(origin, Origin::Opened);
/// assert_eq!(&second.as_slice()[..27], b"Message from first process.");
/// Region::remove(&name)?;
/// # Ok::<(), fixrec::Error>(())
/// ```
pub struct Region<A: Access = ReadWrite> {
    backing: Backing,
    name: Name,
    map: Map,
    remove_on_drop: bool,
    _access: PhantomData<A>,
}

impl<A: Access> std::fmt::Debug for Region<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("name", &self.name.as_str())
            .field("len", &self.len())
            .finish()
    }
}

impl Region {
    /// Creates region `name` of `size` zero bytes, mode 0600, persistent. See
    /// [`RegionOptions::create`].
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if the name exists; [`Error::InvalidName`]; an IO error.
    pub fn create(name: &str, size: usize) -> Result<Region> {
        RegionOptions::new().create(name, size)
    }

    /// Opens existing region `name` read/write, with its real size ([`Region::len`]).
    /// Never follows a symbolic link. Unlike
    /// [`open_or_create`](Region::open_or_create), it does not check the owner: opening
    /// a region by name is trusting whoever made it.
    ///
    /// # Errors
    ///
    /// An IO error (`NotFound` when there is no such region); [`Error::UnsafeRegion`]
    /// for a symbolic link or an object that is not a regular region.
    pub fn open(name: &str) -> Result<Region> {
        let name = Name::new(name)?;
        Region::map(open_object(&name, true)?, name, Lifetime::Persistent, true)
    }

    /// Opens existing region `name`, mapped read-only.
    ///
    /// # Errors
    ///
    /// As [`Region::open`].
    pub fn open_read_only(name: &str) -> Result<Region<ReadOnly>> {
        let name = Name::new(name)?;
        Region::map(
            open_object(&name, false)?,
            name,
            Lifetime::Persistent,
            false,
        )
    }

    /// Opens region `name` if it exists, else creates it with `size` bytes; says which.
    /// See [`RegionOptions::open_or_create`] for the checks on an existing region.
    ///
    /// # Errors
    ///
    /// [`Error::UnsafeRegion`] for a region another user owns, that others can write, or
    /// that is a symbolic link; the errors of [`Region::create`].
    pub fn open_or_create(name: &str, size: usize) -> Result<(Region, Origin)> {
        RegionOptions::new().open_or_create(name, size)
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.map.bytes_mut()
    }

    /// The bytes as `R` records, writable. See [`Region::records`].
    ///
    /// # Errors
    ///
    /// As [`Region::records`].
    pub fn records_mut<R: Pod>(&mut self) -> Result<&mut [R]> {
        let path = self.name.display_path();
        let size = self.len();
        let whole = size - self.rounding_tail::<R>();
        bytemuck::try_cast_slice_mut(&mut self.map.bytes_mut()[..whole])
            .map_err(|_| not_records::<R>(path, size))
    }
}

impl Region<ReadWrite> {
    /// Removes the name: later opens fail, but every process that has the region open
    /// or mapped keeps it until it lets go (`shm_unlink`). A symbolic link is removed,
    /// not followed. On Windows a name cannot be removed (the object goes with its last
    /// handle): this only checks that the region exists.
    ///
    /// # Errors
    ///
    /// An IO error (`NotFound` when there is no such region); [`Error::InvalidName`].
    pub fn remove(name: &str) -> Result<()> {
        let name = Name::new(name)?;
        unlink(&name).map_err(|e| Error::io(name.display_path(), "remove", e))
    }
}

impl<A: Access> Region<A> {
    fn map(backing: Backing, name: Name, lifetime: Lifetime, writable: bool) -> Result<Region<A>> {
        let size = backing.size()?;
        let len = usize::try_from(size)
            .ok()
            .filter(|&l| l <= isize::MAX as usize)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("{name}: size {size} does not fit in memory"))
            })?;
        // Like every mapping handle, hold the shared "mapped" lock, so that no store
        // handle on the same object shrinks it under this map.
        backing.lock_mapped()?;
        let map = Map::new(&backing, len, writable).map_err(|e| backing.err("map", e))?;
        Ok(Region {
            backing,
            name,
            map,
            remove_on_drop: lifetime == Lifetime::RemoveOnDrop,
            _access: PhantomData,
        })
    }

    /// Bytes past the last whole `R` that only the system's rounding of the size put
    /// there (a Windows section reports its size rounded up to a page): none elsewhere.
    fn rounding_tail<R>(&self) -> usize {
        match self.backing.section() {
            Some(_) => self.len() % size_of::<R>().max(1),
            None => 0,
        }
    }

    fn whole_records<'b, R>(&self, bytes: &'b [u8]) -> &'b [u8] {
        &bytes[..bytes.len() - self.rounding_tail::<R>()]
    }

    /// The region's name, without prefix.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// Bytes mapped: the region's size when it was opened.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the region has no bytes (a region someone else created with size 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.map.bytes()
    }

    /// The bytes as `R` records: a raw region with a schema, like a raw file (for
    /// example one `#[repr(C, packed)]` SMTEST struct, or a 256-byte message).
    ///
    /// # Errors
    ///
    /// [`Error::RawSizeNotMultiple`] if the size is not a whole number of records.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{CChar, record};
    /// use fixrec::shm::{Lifetime, RegionOptions};
    ///
    /// record! {
    ///     #[repr(C, packed)]
    ///     /// `#pragma pack(1) struct SMTEST { char c; int i; short s; }`
    ///     pub struct Smtest { pub c: CChar, pub i: i32, pub s: i16 }
    /// }
    ///
    /// let name = format!("fixrec-doc-smtest-{}", std::process::id());
    /// let mut region = RegionOptions::new()
    ///     .lifetime(Lifetime::RemoveOnDrop)
    ///     .create(&name, size_of::<Smtest>())?;
    /// region.records_mut::<Smtest>()?[0] = Smtest { c: CChar(b'a'), i: 100, s: 10 };
    /// assert_eq!(region.as_slice(), &[b'a', 100, 0, 0, 0, 10, 0]);
    /// let i = region.records::<Smtest>()?[0].i; // packed fields are read by copy
    /// assert_eq!(i, 100);
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    pub fn records<R: Pod>(&self) -> Result<&[R]> {
        bytemuck::try_cast_slice(self.whole_records::<R>(self.map.bytes()))
            .map_err(|_| not_records::<R>(self.name.display_path(), self.len()))
    }

    /// Owner, mode and size, from `fstat` of the object.
    ///
    /// # Errors
    ///
    /// An IO error; [`Error::InvalidArgument`] on Windows, whose regions have a security
    /// descriptor rather than an owner uid and mode.
    pub fn info(&self) -> Result<RegionInfo> {
        platform::region_info(&self.name, &self.backing)
    }
}

impl<A: Access> Drop for Region<A> {
    fn drop(&mut self) {
        if self.remove_on_drop {
            remove_if_ours(&self.name, &self.backing);
        }
    }
}

/// Removes `name` if it still refers to `backing`'s object.
pub(crate) fn remove_if_ours(name: &Name, backing: &Backing) {
    platform::remove_if_ours(name, backing)
}

fn not_records<R>(path: std::path::PathBuf, size: usize) -> Error {
    let rs = size_of::<R>().max(1) as u64;
    Error::RawSizeNotMultiple {
        path,
        file_size: size as u64,
        record_size: rs,
        remainder: size as u64 % rs,
    }
}

/// Removes the name (Unix); see [`Region::remove`].
pub(crate) fn unlink(name: &Name) -> io::Result<()> {
    platform::unlink_region(name)
}

/// Creates the object, `size` bytes reserved, exactly `mode` where the system has modes.
pub(crate) fn create_object(name: &Name, size: u64, mode: u32) -> Result<Backing> {
    platform::create_region(name, size, mode)
}

/// Opens an existing object; refuses symbolic links and anything but a regular object.
pub(crate) fn open_object(name: &Name, writable: bool) -> Result<Backing> {
    platform::open_region(name, writable)
}

/// Lists the regions on this machine (its IPC namespace): every regular object in
/// `/dev/shm`, with size, owner and mode. Symbolic links and other entries are skipped.
///
/// # Errors
///
/// An IO error reading `/dev/shm`; [`Error::InvalidArgument`] on systems without it
/// (Windows has no way to list its named objects short of the native NT API).
///
/// # Examples
///
/// ```
/// use fixrec::shm::{self, Lifetime, RegionOptions};
///
/// let name = format!("fixrec-doc-list-{}", std::process::id());
/// let _region = RegionOptions::new().lifetime(Lifetime::RemoveOnDrop).create(&name, 100)?;
/// # if cfg!(target_os = "linux") {
/// let found = shm::list()?.into_iter().find(|r| r.name == name).unwrap();
/// assert_eq!((found.size, found.mode), (100, 0o600));
/// # } else { assert!(shm::list().is_err()); }
/// # Ok::<(), fixrec::Error>(())
/// ```
pub fn list() -> Result<Vec<RegionInfo>> {
    platform::list_regions()
}
