//! Windows: Win32 calls through `windows-sys`. Files are opened with read, write and
//! delete sharing (std's default); locks are `LockFileEx` byte ranges; a map never
//! passes the end of its file (a writable view past it would grow the file) and a
//! mapped file cannot be cut, so callers unmap first; durability is `FlushViewOfFile`
//! then `FlushFileBuffers`.
//!
//! Named regions are file-mapping objects backed by the paging file
//! (`CreateFileMappingW(INVALID_HANDLE_VALUE, ...)`), named exactly as the caller wrote
//! (`Global\X`, `Local\X`, `X`). They differ from Unix regions in three ways:
//! - a region lives while any process has a handle to it (or a view of it), and goes
//!   with the last one: there is no removing a name, and no region outlives its users;
//! - its size is fixed when it is created: a store in a region cannot grow;
//! - a section has no byte-range locks, so a region's writer and mapped locks are taken
//!   on a lock file named after the region in the user's temporary directory.

use super::LockKind;
use crate::backing::Backing;
use crate::error::{Error, Result};
use crate::shm::{Name, RegionInfo};
use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::fs::FileExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::{Path, PathBuf};
use windows_sys::Win32::Foundation::{
    ERROR_ALREADY_EXISTS, ERROR_IO_PENDING, ERROR_LOCK_VIOLATION, GetLastError, HANDLE,
    INVALID_HANDLE_VALUE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_KERNEL_OBJECT};
use windows_sys::Win32::Security::{
    ACL, ACL_REVISION, AddAccessAllowedAce, EqualSid, GetTokenInformation, InitializeAcl,
    InitializeSecurityDescriptor, OWNER_SECURITY_INFORMATION, PSID, SECURITY_ATTRIBUTES,
    SECURITY_DESCRIPTOR, SetSecurityDescriptorDacl, TOKEN_INFORMATION_CLASS, TOKEN_QUERY,
    TOKEN_USER, TokenOwner, TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::{
    LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY, LockFileEx, UnlockFileEx,
};
use windows_sys::Win32::System::IO::OVERLAPPED;
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_READ, FILE_MAP_WRITE, FlushViewOfFile, MEMORY_MAPPED_VIEW_ADDRESS,
    MapViewOfFile, OpenFileMappingW, PAGE_READWRITE, SECTION_QUERY, UnmapViewOfFile,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// An access-pattern hint for a map. Windows has no `madvise` for mapped files: the
/// hints are accepted and change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Advice {
    /// No particular pattern.
    Normal,
    /// Random access.
    Random,
    /// Sequential access.
    Sequential,
    /// The pages will be needed soon.
    WillNeed,
}

/// Accepts `advice` and does nothing (see [`Advice`]).
pub(crate) fn advise(_map: &memmap2::MmapRaw, _advice: Advice) -> io::Result<()> {
    Ok(())
}

/// A view past the end of a writable file would grow the file, and a read-only one fails.
pub(crate) const MAP_PAST_END: bool = false;

pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

pub(crate) fn open(path: &Path, writable: bool) -> io::Result<File> {
    OpenOptions::new().read(true).write(writable).open(path)
}

pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn overlapped(at: u64) -> OVERLAPPED {
    // SAFETY: OVERLAPPED is plain old data; all-zero is its documented initial value.
    let mut o: OVERLAPPED = unsafe { std::mem::zeroed() };
    o.Anonymous.Anonymous.Offset = at as u32;
    o.Anonymous.Anonymous.OffsetHigh = (at >> 32) as u32;
    o
}

/// `LockFileEx` of byte `at`, never waiting; false when another handle holds it.
fn try_lock(file: &File, at: u64, kind: LockKind) -> io::Result<bool> {
    let mut flags = LOCKFILE_FAIL_IMMEDIATELY;
    if kind == LockKind::Exclusive {
        flags |= LOCKFILE_EXCLUSIVE_LOCK;
    }
    let mut o = overlapped(at);
    // SAFETY: a valid handle and an initialised OVERLAPPED that outlives the call (the
    // handle is synchronous, so the call completes before it returns).
    let ok = unsafe { LockFileEx(file.as_raw_handle() as HANDLE, flags, 0, 1, 0, &mut o) };
    if ok != 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error().map(|c| c as u32) {
        Some(ERROR_LOCK_VIOLATION) | Some(ERROR_IO_PENDING) => Ok(false),
        _ => Err(e),
    }
}

/// `UnlockFileEx` of byte `at`. Its result is ignored: Wine reports error 33 for a
/// release that worked, and a lock that was not held is no lock to release.
fn unlock(file: &File, at: u64) {
    let mut o = overlapped(at);
    // SAFETY: a valid handle and an initialised OVERLAPPED that outlives the call.
    unsafe { UnlockFileEx(file.as_raw_handle() as HANDLE, 0, 1, 0, &mut o) };
}

/// Moves the lock on byte `at` from `held` to `want` (`None`: unlocked). Returns false
/// when another handle holds a conflicting lock; the lock is then as it was. Windows
/// locks do not convert and a handle's own shared lock conflicts with its exclusive
/// one, so a change releases first, then locks, and takes `held` back on failure.
pub(crate) fn relock(
    file: &File,
    at: u64,
    held: Option<LockKind>,
    want: Option<LockKind>,
) -> io::Result<bool> {
    if held == want {
        return Ok(true);
    }
    if held.is_some() {
        unlock(file, at);
    }
    let Some(want) = want else {
        return Ok(true);
    };
    if try_lock(file, at, want)? {
        return Ok(true);
    }
    if let Some(held) = held {
        // A shared lock taken back after an exclusive one failed: only an exclusive
        // holder could refuse it, and that holder was just refused to us.
        let _ = try_lock(file, at, held);
    }
    Ok(false)
}

/// A file as a console control handler may use it: nothing, since Windows cannot cut
/// a file that is mapped (see [`cut_if_alone`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawFile;

/// Nothing is kept: see [`RawFile`].
pub(crate) fn raw_file(_file: &File) -> RawFile {
    RawFile
}

/// Windows refuses to cut a file while a view of it is mapped, and the handle that asks
/// maps it: the file keeps its length. Always false.
pub(crate) fn cut_if_alone(_file: RawFile, _lock_at: u64, _size: u64) -> bool {
    false
}

/// Whether another handle holds byte `at` exclusively: a shared lock is tried there
/// and released at once. (Unlike Unix's `F_GETLK`, the probe holds the byte for that
/// instant; a writer locking it in the same instant is refused as if another writer
/// held it.)
pub(crate) fn locked_elsewhere(file: &File, at: u64) -> io::Result<bool> {
    if try_lock(file, at, LockKind::Shared)? {
        unlock(file, at);
        Ok(false)
    } else {
        Ok(true)
    }
}

/// Grows the file to `to` bytes (`SetEndOfFile`). NTFS allocates the clusters (files are
/// not sparse unless asked), so a full disk fails here. Never shrinks it, as
/// `posix_fallocate` never does: a file already longer than `to` (a transaction log past
/// the data region) keeps its length.
pub(crate) fn allocate(file: &File, from: u64, to: u64) -> io::Result<()> {
    if to <= from || to <= file.metadata()?.len() {
        return Ok(());
    }
    file.set_len(to)
}

/// Nothing is reserved ahead of a write on Windows; a write to a full disk fails with an
/// error.
pub(crate) fn reserve_blocks(_file: &File, _from: u64, _to: u64) -> io::Result<()> {
    Ok(())
}

/// Windows has no asynchronous write-back hint for a file range; the sync does it all.
pub(crate) fn start_writeback(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Ok(())
}

/// NTFS journals directory entries; a directory cannot be flushed through std.
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

// ---- Named regions: paging-file sections ----

/// The object name a caller's spelling means: exactly as written (`Global\X`, `Local\X`
/// and `X` are what they are to Win32), a POSIX-style leading `/` aside.
pub(crate) fn object_name(given: &str) -> &str {
    given.strip_prefix('/').unwrap_or(given)
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// A file-mapping object backed by the paging file, and its size: as the system reports
/// it, which Wine (and, for some objects, Windows) rounds up to a whole page.
#[derive(Debug)]
pub(crate) struct Section {
    handle: OwnedHandle,
    size: u64,
}

/// A view of a [`Section`], unmapped on drop.
#[derive(Debug)]
pub(crate) struct View {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a view is memory shared between processes, reached only through raw pointers
// (the mapping layer decides who may read and write it); any thread may use or unmap it.
unsafe impl Send for View {}
// SAFETY: as above; `&View` only hands out the pointer.
unsafe impl Sync for View {}

impl Section {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Maps the first `len` bytes, read-only or read/write.
    pub fn map(&self, len: usize, writable: bool) -> io::Result<View> {
        let access = if writable {
            FILE_MAP_READ | FILE_MAP_WRITE
        } else {
            FILE_MAP_READ
        };
        // SAFETY: a valid section handle; the system checks the length against it.
        let addr =
            unsafe { MapViewOfFile(self.handle.as_raw_handle() as HANDLE, access, 0, 0, len) };
        if addr.Value.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(View {
            ptr: addr.Value.cast(),
            len,
        })
    }

    fn span(&self, offset: u64, len: usize) -> io::Result<usize> {
        let end = offset
            .checked_add(len as u64)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "bytes {offset}..+{len} lie past the region's {} bytes",
                        self.size
                    ),
                )
            })?;
        Ok(end as usize)
    }

    /// Copies bytes at `offset` out of the region; fewer at its end.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let n = (self.size.saturating_sub(offset)).min(buf.len() as u64) as usize;
        if n == 0 {
            return Ok(0);
        }
        let end = self.span(offset, n)?;
        let view = self.map(end, false)?;
        // SAFETY: `offset..end` lies inside the view, which lives until the end of this
        // function; `buf` is ours and does not overlap it.
        unsafe {
            std::ptr::copy_nonoverlapping(view.ptr.add(offset as usize), buf.as_mut_ptr(), n)
        };
        Ok(n)
    }

    /// Copies `buf` into the region at `offset`; past its end is an error.
    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = self.span(offset, buf.len())?;
        let view = self.map(end, true)?;
        // SAFETY: as in `read_at`, and the view is writable.
        unsafe {
            std::ptr::copy_nonoverlapping(buf.as_ptr(), view.ptr.add(offset as usize), buf.len())
        };
        Ok(())
    }
}

impl View {
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// `FlushViewOfFile` over `offset..offset + len`.
    pub fn flush(&self, offset: usize, len: usize) -> io::Result<()> {
        // SAFETY: the range lies inside the view (callers pass ranges of the map).
        if unsafe { FlushViewOfFile(self.ptr.add(offset).cast(), len) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: `ptr` is the base address MapViewOfFile returned, unmapped only here;
        // no reference into the view outlives the map that owns it.
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.ptr.cast(),
            })
        };
    }
}

/// `SectionBasicInformation` of `NtQuerySection`: the size a section was created with.
#[repr(C)]
struct SectionBasicInformation {
    base_address: *mut c_void,
    allocation_attributes: u32,
    maximum_size: i64,
}

#[link(name = "ntdll")]
unsafe extern "system" {
    fn NtQuerySection(
        section: HANDLE,
        class: u32,
        info: *mut c_void,
        info_len: usize,
        returned: *mut usize,
    ) -> i32;
}

/// The size of the section, in bytes, as it was created (`NtQuerySection`: Win32 has no
/// call for it, and a view's size is rounded to pages).
fn section_size(handle: &OwnedHandle) -> io::Result<u64> {
    // SAFETY: plain old data; all-zero is valid.
    let mut info: SectionBasicInformation = unsafe { std::mem::zeroed() };
    // SAFETY: a valid section handle opened with SECTION_QUERY, and a buffer of the
    // size passed, which the call fills.
    let status = unsafe {
        NtQuerySection(
            handle.as_raw_handle() as HANDLE,
            0,
            (&mut info as *mut SectionBasicInformation).cast(),
            size_of::<SectionBasicInformation>(),
            std::ptr::null_mut(),
        )
    };
    if status < 0 {
        return Err(io::Error::other(format!(
            "NtQuerySection failed with status {status:#010x}"
        )));
    }
    Ok(info.maximum_size.max(0) as u64)
}

/// A SID of this process's token, in a buffer (`TOKEN_USER` or `TOKEN_OWNER` at its
/// start, both a SID pointer first).
struct CurrentUser(Vec<u64>);

impl CurrentUser {
    /// The user.
    fn get() -> io::Result<CurrentUser> {
        Self::query(TokenUser)
    }

    /// The default owner of what this process creates: the user, or for an elevated
    /// administrator the Administrators group.
    fn default_owner() -> io::Result<CurrentUser> {
        Self::query(TokenOwner)
    }

    fn query(class: TOKEN_INFORMATION_CLASS) -> io::Result<CurrentUser> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the pseudo-handle of this process and an out pointer.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: OpenProcessToken returned a handle we now own.
        let token = unsafe { OwnedHandle::from_raw_handle(token as _) };
        let mut buf = vec![0u64; 64]; // 512 bytes, 8-aligned: room for any SID
        let mut needed = 0u32;
        // SAFETY: a token handle with TOKEN_QUERY and a buffer of the size passed.
        let ok = unsafe {
            GetTokenInformation(
                token.as_raw_handle() as HANDLE,
                class,
                buf.as_mut_ptr().cast(),
                (buf.len() * 8) as u32,
                &mut needed,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(CurrentUser(buf))
    }

    fn sid(&self) -> PSID {
        // SAFETY: the buffer starts with the TOKEN_USER or TOKEN_OWNER GetTokenInformation
        // wrote, whose first member is the SID pointer (TOKEN_USER's SID_AND_ATTRIBUTES
        // starts with it); it points into the same buffer, which lives as long as `self`.
        unsafe { (*self.0.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

/// The lock file of region `name`: in the temporary directory, named after the object
/// (`Local\X` and `X` are one object, so one file).
fn lock_file(name: &Name) -> io::Result<File> {
    let key = name.as_str();
    let key = key.strip_prefix("Local\\").unwrap_or(key);
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let path: PathBuf = std::env::temp_dir().join(format!("fixrec-region-{hex}.lock"));
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn wrap(name: &Name, handle: OwnedHandle) -> Result<Backing> {
    let path = name.display_path();
    let size = section_size(&handle).map_err(|e| Error::io(&path, "size", e))?;
    let lock = lock_file(name).map_err(|e| Error::io(&path, "open the lock file", e))?;
    Ok(Backing::from_section(Section { handle, size }, lock, path))
}

/// Creates the section with `CreateFileMappingW(INVALID_HANDLE_VALUE, ...)`, committed
/// in the paging file (so a lack of memory is an error here, never a fault later), with
/// a security descriptor that grants this process's user alone any access. `mode` has
/// no meaning on Windows and is not used. An existing object (`ERROR_ALREADY_EXISTS`) is
/// [`Error::AlreadyExists`].
pub(crate) fn create_region(name: &Name, size: u64, _mode: u32) -> Result<Backing> {
    let path = name.display_path();
    let user = CurrentUser::get().map_err(|e| Error::io(&path, "find the current user", e))?;
    let sid = user.sid();
    // An ACL with one ACE: GENERIC_ALL for the user.
    let mut acl_buf = vec![0u64; 64];
    // SAFETY: the SID is valid (from the token); the buffers are large enough for an ACL
    // with one ACE of that SID (8 + 8 + 68 bytes at most) and for a descriptor.
    let mut sd: SECURITY_DESCRIPTOR = unsafe { std::mem::zeroed() };
    let made = unsafe {
        let acl = acl_buf.as_mut_ptr().cast::<ACL>();
        InitializeAcl(acl, (acl_buf.len() * 8) as u32, ACL_REVISION) != 0
            && AddAccessAllowedAce(acl, ACL_REVISION, 0x1000_0000 /* GENERIC_ALL */, sid) != 0
            && InitializeSecurityDescriptor((&mut sd as *mut SECURITY_DESCRIPTOR).cast(), 1) != 0
            && SetSecurityDescriptorDacl((&mut sd as *mut SECURITY_DESCRIPTOR).cast(), 1, acl, 0)
                != 0
    };
    if !made {
        return Err(Error::io(
            &path,
            "make the security descriptor",
            io::Error::last_os_error(),
        ));
    }
    let sa = SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: (&mut sd as *mut SECURITY_DESCRIPTOR).cast(),
        bInheritHandle: 0,
    };
    let wname = wide(name.as_str());
    // SAFETY: INVALID_HANDLE_VALUE asks for a paging-file section; the attributes and
    // the NUL-terminated name outlive the call.
    let h = unsafe {
        CreateFileMappingW(
            INVALID_HANDLE_VALUE,
            &sa,
            PAGE_READWRITE,
            (size >> 32) as u32,
            size as u32,
            wname.as_ptr(),
        )
    };
    // SAFETY: GetLastError has no preconditions; read before any other call.
    let last = unsafe { GetLastError() };
    if h.is_null() {
        return Err(Error::io(
            &path,
            "create",
            io::Error::from_raw_os_error(last as i32),
        ));
    }
    // SAFETY: CreateFileMappingW returned a handle we now own.
    let handle = unsafe { OwnedHandle::from_raw_handle(h as _) };
    if last == ERROR_ALREADY_EXISTS {
        return Err(Error::AlreadyExists { path });
    }
    wrap(name, handle)
}

/// Opens an existing section (`OpenFileMappingW`), for reading and writing when
/// `writable`. No such object is `NotFound`.
pub(crate) fn open_region(name: &Name, writable: bool) -> Result<Backing> {
    let path = name.display_path();
    // READ_CONTROL: `check_trusted` reads the owner.
    const READ_CONTROL: u32 = 0x0002_0000;
    let access =
        READ_CONTROL | SECTION_QUERY | FILE_MAP_READ | if writable { FILE_MAP_WRITE } else { 0 };
    let wname = wide(name.as_str());
    // SAFETY: a NUL-terminated name that outlives the call.
    let h = unsafe { OpenFileMappingW(access, 0, wname.as_ptr()) };
    if h.is_null() {
        return Err(Error::io(&path, "open", io::Error::last_os_error()));
    }
    // SAFETY: OpenFileMappingW returned a handle we now own.
    let handle = unsafe { OwnedHandle::from_raw_handle(h as _) };
    wrap(name, handle)
}

/// A section's name cannot be removed: it goes with the last handle. Succeeds when the
/// object exists (nothing to do), `NotFound` when it does not.
pub(crate) fn unlink_region(name: &Name) -> io::Result<()> {
    let wname = wide(name.as_str());
    // SAFETY: a NUL-terminated name that outlives the call.
    let h = unsafe { OpenFileMappingW(FILE_MAP_READ, 0, wname.as_ptr()) };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a handle we own, closed here.
    drop(unsafe { OwnedHandle::from_raw_handle(h as _) });
    Ok(())
}

/// Nothing to remove: the section goes with its last handle.
pub(crate) fn remove_if_ours(_name: &Name, _backing: &Backing) {}

/// Refuses a section that another user owns (`GetSecurityInfo` of its owner): its owner
/// must be this process's user or its token's default owner (what this user's other
/// programs, a C program calling `CreateFileMappingA(..., NULL, ...)` among them, make
/// their objects with).
pub(crate) fn check_trusted(name: &Name, backing: &Backing, _mode: u32) -> Result<()> {
    let path = name.display_path();
    let Some(section) = backing.section() else {
        return Ok(());
    };
    let user = CurrentUser::get().map_err(|e| Error::io(&path, "find the current user", e))?;
    let default_owner =
        CurrentUser::default_owner().map_err(|e| Error::io(&path, "find the current user", e))?;
    let mut owner: PSID = std::ptr::null_mut();
    let mut sd: *mut c_void = std::ptr::null_mut();
    // SAFETY: a valid handle; the out pointers receive the owner SID, which points into
    // the descriptor `sd` that we free below.
    let rc = unsafe {
        GetSecurityInfo(
            section.handle.as_raw_handle() as HANDLE,
            SE_KERNEL_OBJECT,
            OWNER_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        // The handle was opened without READ_CONTROL where the system insists on it:
        // say so rather than trust blindly.
        return Err(Error::UnsafeRegion {
            path,
            detail: format!(
                "its owner cannot be read (error {rc}); trust it explicitly if it is yours"
            ),
        });
    }
    // SAFETY: both SIDs are valid; `sd` was allocated by GetSecurityInfo.
    let same = unsafe {
        let same = EqualSid(owner, user.sid()) != 0 || EqualSid(owner, default_owner.sid()) != 0;
        LocalFree(sd);
        same
    };
    if !same {
        return Err(Error::UnsafeRegion {
            path,
            detail: "it is owned by another user, who may read or change what you put in it; trust it explicitly if you mean to share it".into(),
        });
    }
    Ok(())
}

/// Owners and modes are POSIX attributes; a Windows region has a security descriptor.
pub(crate) fn region_info(name: &Name, backing: &Backing) -> Result<RegionInfo> {
    let _ = backing;
    Err(Error::InvalidArgument(format!(
        "{name}: owner and mode are POSIX attributes; a region on Windows has a security descriptor instead"
    )))
}

/// Windows cannot list its named objects through Win32.
pub(crate) fn list_regions() -> Result<Vec<RegionInfo>> {
    Err(Error::InvalidArgument(
        "listing regions is not possible on Windows: Win32 cannot enumerate named file-mapping objects; open one by name instead".into(),
    ))
}
