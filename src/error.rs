//! The one error type of the library.

use std::io;
use std::path::PathBuf;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in fixrec.
///
/// Each variant that a file can cause carries the file's path and, where it applies, the
/// expected and found values, so that its message says what failed, where, and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or region.
        path: PathBuf,
        /// What was being done, for example "reserve space" or "sync data".
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// An I/O error from the caller's own code, converted by `?` (`From<std::io::Error>`),
    /// so that a `fn main() -> fixrec::Result<()>` can use `?` on `std::fs` calls too. The
    /// message is the OS error's own. fixrec's own failures are [`Error::Io`], which names
    /// the file and the operation.
    ///
    /// # Examples
    ///
    /// ```
    /// fn size(path: &std::path::Path) -> fixrec::Result<u64> {
    ///     Ok(std::fs::metadata(path)?.len())
    /// }
    /// assert!(matches!(size("/no/such/file".as_ref()), Err(fixrec::Error::StdIo(_))));
    /// ```
    #[error(transparent)]
    StdIo(#[from] io::Error),

    /// The file does not start with the fixrec magic bytes.
    #[error(
        "{path}: not a fixrec file (it starts with {}, not the fixrec magic {}); for a headerless array of records use open_raw",
        hex_bytes(found),
        hex_bytes(&crate::format::MAGIC)
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first bytes found.
        found: Vec<u8>,
    },

    /// A file opened as headerless records starts with the fixrec magic: it is a fixrec
    /// file, whose header would read as records.
    #[error(
        "{path}: a fixrec file (it starts with the fixrec magic), not a headerless array of records: open it with Store::open or Store::open_read_only, or read its bytes from byte 0, header included, with StoreOptions::new().header_as_records(true)"
    )]
    NotRaw {
        /// The file.
        path: PathBuf,
    },

    /// The file has a format version this build cannot read.
    #[error(
        "{path}: format version {found} is not supported (this build reads versions 1 to {supported}); upgrade fixrec to open it"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// The file is too short to hold its header.
    #[error("{path}: truncated header: the file has {found} bytes, the header needs {needed}")]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Bytes the header needs.
        needed: u64,
        /// Bytes in the file.
        found: u64,
    },

    /// The superblock is damaged: a bad checksum or a value out of its range.
    #[error("{path}: corrupt superblock: {detail}")]
    CorruptSuperblock {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// Neither meta slot holds a valid commit.
    #[error(
        "{path}: both meta slots are invalid (torn or corrupt); the file has no committed state to open"
    )]
    NoValidMeta {
        /// The file.
        path: PathBuf,
    },

    /// The committed len is larger than the committed capacity.
    #[error("{path}: corrupt meta: len {len} is greater than capacity {capacity}")]
    LenExceedsCapacity {
        /// The file.
        path: PathBuf,
        /// Committed len.
        len: u64,
        /// Committed capacity.
        capacity: u64,
    },

    /// The data region the header describes extends past the end of the file.
    #[error(
        "{path}: the data region ends at byte {needed} but the file has only {file_size} bytes (was it truncated?)"
    )]
    DataPastEnd {
        /// The file.
        path: PathBuf,
        /// Where the data region ends.
        needed: u64,
        /// The file's size.
        file_size: u64,
    },

    /// The file's record size differs from the type's.
    #[error("{path}: expected record size {expected} but the file specifies {found}")]
    RecordSizeMismatch {
        /// The file.
        path: PathBuf,
        /// The type's record size.
        expected: u64,
        /// The file's record size.
        found: u64,
    },

    /// The file's schema differs from the type's.
    #[error("{path}: schema mismatch: {detail}")]
    SchemaMismatch {
        /// The file.
        path: PathBuf,
        /// The first difference, expected vs found.
        detail: String,
    },

    /// Another handle holds the file for writing: a writer in another process, or
    /// another writable handle in this one (the lock is per handle, not per process).
    #[error(
        "{path}: locked: another writer holds this file (a writable handle in this process or in another; one writer at a time); close that writer, open this one read-only, or wait"
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },

    /// The store cannot shrink its file because another process has it mapped.
    #[error(
        "{path}: cannot shrink the file: another process has it mapped (close the readers first)"
    )]
    InUse {
        /// The file.
        path: PathBuf,
    },

    /// A raw file's size is not a whole number of records.
    #[error(
        "{path}: raw file size {file_size} is not a multiple of the record size {record_size} ({remainder} bytes left over)"
    )]
    RawSizeNotMultiple {
        /// The file.
        path: PathBuf,
        /// The file's size.
        file_size: u64,
        /// The record size.
        record_size: u64,
        /// `file_size % record_size`.
        remainder: u64,
    },

    /// A store was asked to create a file that already exists.
    #[error("{path}: already exists")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },

    /// A transaction on a store whose file cannot hold a transaction log.
    #[error("{path}: {detail}")]
    NoTransactions {
        /// The file.
        path: PathBuf,
        /// Why, and what to do.
        detail: String,
    },

    /// A read-only open found committed transactions that are not yet applied to the
    /// records (their writer stopped before its checkpoint), and could not apply them.
    #[error(
        "{path}: the transaction log holds committed transactions not yet applied to the records, and this handle cannot apply them ({cause}); open the store once for writing (Store::open, or any fixrec command that writes) to apply them"
    )]
    LogNotApplied {
        /// The file.
        path: PathBuf,
        /// Why the reader could not apply them.
        cause: String,
    },

    /// A transaction log entry with a valid checksum whose content cannot be right.
    #[error("{path}: transaction log entry {seq} at log byte {offset}: {detail}")]
    CorruptLog {
        /// The file.
        path: PathBuf,
        /// The entry's sequence number.
        seq: u64,
        /// Where the entry starts in the log.
        offset: u64,
        /// What is wrong.
        detail: String,
    },

    /// An earlier sync failed; the store keeps reporting it until it is reopened.
    #[error(
        "{path}: an earlier sync failed ({cause}); data may be lost, reopen the store to see what is durable"
    )]
    SyncFailed {
        /// The file.
        path: PathBuf,
        /// The first failure.
        cause: String,
    },

    /// Text does not fit a fixed-size text field.
    #[error("text of {len} bytes does not fit a {capacity}-byte field (at most {max} bytes plus NUL)", max = capacity.saturating_sub(1))]
    TextTooLong {
        /// Bytes of text.
        len: usize,
        /// The field's size, NUL included.
        capacity: usize,
    },

    /// Bytes that should be UTF-8 text are not.
    #[error("invalid UTF-8 at byte {valid_up_to}")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },

    /// An index past the end.
    #[error("index {index} is out of range (len {len})")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The len.
        len: u64,
    },

    /// An encoded value does not fit its slot.
    #[error("encoded value of {needed} bytes does not fit a slot of {slot_size} bytes ({available} available after the length prefix)", available = slot_size.saturating_sub(4))]
    SlotTooSmall {
        /// The encoded size.
        needed: usize,
        /// The slot size.
        slot_size: usize,
    },

    /// bincode failed to encode or decode a value.
    #[error("slot {index}: {detail}")]
    Codec {
        /// The slot.
        index: u64,
        /// What bincode said.
        detail: String,
    },

    /// A schema is invalid (bad text, a bad field, a zero-sized record).
    #[error("invalid schema: {detail}")]
    InvalidSchema {
        /// What is wrong, and where.
        detail: String,
    },

    /// Schema text that does not parse: `position` is the byte in `text` where the
    /// problem starts.
    #[error("invalid schema text at byte {position} of {text:?}: {detail}")]
    SchemaSyntax {
        /// The schema text as given.
        text: String,
        /// Byte offset of the problem in `text`.
        position: usize,
        /// What is wrong and what was expected.
        detail: String,
    },

    /// A value that does not fit its field (text too long, a number out of range, not a
    /// number, invalid UTF-8, a wrong JSON type).
    #[error("field `{field}`: value {value}: {detail}")]
    BadValue {
        /// The field's name.
        field: String,
        /// The value, quoted and shortened for the message.
        value: String,
        /// Why it does not fit.
        detail: String,
    },

    /// A name (a CSV column, a JSON key, a `field=value` argument) that is not a field of
    /// the schema.
    #[error("unknown field `{name}` (the schema's fields are: {known})")]
    UnknownField {
        /// The name given.
        name: String,
        /// The schema's field names, comma-separated.
        known: String,
    },

    /// A field of the schema that the input does not give a value for.
    #[error("missing field `{field}`: the input gives no value for it")]
    MissingField {
        /// The field's name.
        field: String,
    },

    /// `verify` found problems; each says what and where.
    #[error("{path}: verify found {} problem(s):\n  {}", problems.len(), problems.join("\n  "))]
    VerifyFailed {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<String>,
    },

    /// A write was attempted through a handle opened read-only.
    #[error("{path}: opened read-only; open it with `open` to write")]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },

    /// An argument is out of its range (for example a capacity that overflows). The
    /// message is whole: it names the argument and says what is wrong with it.
    #[error("{0}")]
    InvalidArgument(String),

    /// A shared-memory region name that cannot be used.
    #[error("invalid shared-memory name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An existing shared-memory object that fixrec refuses to trust: a symbolic link,
    /// not a regular object, owned by another user, or writable by others.
    #[error("{path}: refusing to use this region: {detail}")]
    UnsafeRegion {
        /// The region (`shm:NAME`).
        path: PathBuf,
        /// Why, and what to do.
        detail: String,
    },

    /// The writer of a shared store died in the middle of updating a record.
    #[error(
        "{path}: record {index}: the writer died in the middle of updating it; open the store for writing to repair it (the update is rolled back)"
    )]
    WriterDied {
        /// The region (`shm:NAME`).
        path: PathBuf,
        /// The record that was being updated.
        index: u64,
    },

    /// The writer of a shared store is alive but has been updating a record for longer
    /// than the reader's timeout (it may be stopped or stuck).
    #[error(
        "{path}: record {index}: the writer has been updating it for over {waited_ms} ms; it may be stopped or stuck (retry, or raise the timeout)"
    )]
    WriterStalled {
        /// The region (`shm:NAME`).
        path: PathBuf,
        /// The record.
        index: u64,
        /// How long the reader waited.
        waited_ms: u64,
    },

    /// A value of one row of a columnar (Arrow or Parquet) input or output, counted from
    /// 0, that does not convert (the source names the field).
    #[error("row {row}: {source}")]
    AtRow {
        /// The row (the record index on output).
        row: u64,
        /// What is wrong with it.
        source: Box<Error>,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// Bytes as `0x89 0x46 ...` (hex with its prefix: `[89, 46]` reads as decimal), or
/// "no bytes" for an empty file.
fn hex_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "no bytes".to_owned();
    }
    let shown: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
    shown.join(" ")
}
