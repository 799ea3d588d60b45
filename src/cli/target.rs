//! Where a command's records live: the `FILE` argument with `--raw`, `--schema` and
//! `--layout`. Every command opens (and creates) its store through this module, so a new
//! kind of target is added here, in one place.

use anyhow::{Context, Result, bail};
use fixrec::shm::SharedTable;
use fixrec::{Error, Layout, ReadOnly, Schema, StoreOptions, Table};
use std::path::PathBuf;

/// The store a record command works on.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// The store file (a fixrec file, or a headerless file of records with --raw), or
    /// `shm:NAME` for the named shared-memory region NAME.
    pub file: PathBuf,
    /// The file has no header: an array of records as a C program writes them. Needs
    /// --schema.
    #[arg(long, requires = "schema")]
    pub raw: bool,
    /// The record schema, e.g. `id:str[256],name:str[256]`. Required with --raw; for a
    /// fixrec file it is checked against the file's header.
    #[arg(long, value_name = "S")]
    pub schema: Option<String>,
    /// Field layout of --schema: `c` (natural alignment and padding; the default) or
    /// `packed`.
    #[arg(long, value_name = "L", requires = "schema", value_parser = parse_layout)]
    pub layout: Option<Layout>,
}

/// `c` or `packed`, for clap.
pub fn parse_layout(s: &str) -> Result<Layout, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

/// Whether the command writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Mapped read-only; other writers are not blocked.
    Read,
    /// The one writer of the file.
    Write,
}

impl Target {
    /// The schema given with --schema, parsed under --layout.
    pub fn given_schema(&self) -> Result<Option<Schema>> {
        self.schema
            .as_deref()
            .map(|s| Schema::parse(s, self.layout.unwrap_or(Layout::C)))
            .transpose()
            .context("--schema")
    }

    /// Opens the target: a fixrec file (its schema checked against --schema when given),
    /// or with --raw a headerless file read with --schema.
    pub fn open(&self, mode: Mode) -> Result<Table> {
        let writable = mode == Mode::Write;
        let given = self.given_schema()?;
        let region = self.region();
        if self.raw {
            let schema = given.context("--raw needs --schema")?;
            return Ok(match region {
                Some(name) => fixrec::shm::open_raw_table(name, schema, writable)?,
                None => Table::open_raw(&self.file, schema, writable)?,
            });
        }
        let opened = match region {
            Some(name) => fixrec::shm::open_table(name, writable),
            None if writable => Table::open(&self.file),
            None => Table::open_read_only(&self.file),
        };
        let table = match opened {
            Err(Error::BadMagic { path, .. }) => bail!(
                "{}: not a fixrec file (it does not start with the fixrec magic bytes); \
                 for a headerless file of records pass --raw --schema S [--layout c|packed]",
                path.display()
            ),
            other => other?,
        };
        if let Some(want) = &given {
            self.check_same(&table, want)?;
        }
        Ok(table)
    }

    /// Refuses a table whose schema is not --schema's.
    fn check_same(&self, table: &Table, want: &Schema) -> Result<()> {
        if let Some(have) = table.schema()
            && let Some(diff) = want.diff(have)
        {
            bail!(
                "{}: the file's schema `{have}` (layout {}) is not --schema `{want}` (layout {}): {diff}",
                self.file.display(),
                have.layout(),
                want.layout()
            );
        }
        Ok(())
    }

    /// `shm:NAME`: the named shared-memory region NAME instead of a file.
    fn region(&self) -> Option<&str> {
        self.file.to_str()?.strip_prefix("shm:")
    }

    /// Opens the target for writing records: a [`Table`], or for `shm:NAME` holding a
    /// shared store its [`SharedTable`], whose updates keep that store's readers from
    /// seeing a torn record.
    pub fn open_writer(&self) -> Result<Writer> {
        if let (Some(name), false) = (self.region(), self.raw) {
            match SharedTable::open(name) {
                Ok(shared) => {
                    if let Some(want) = self.given_schema()? {
                        self.check_same(shared.table(), &want)?;
                    }
                    return Ok(Writer::Shared(shared));
                }
                // Not a shared store: a plain table, opened (and explained) below.
                Err(Error::SchemaMismatch { .. } | Error::BadMagic { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Writer::Table(self.open(Mode::Write)?))
    }

    /// Opens the target for reading records: a [`Table`], or for `shm:NAME` holding a
    /// shared store a reader that copies each record under its sequence lock.
    pub fn open_reader(&self) -> Result<Reader> {
        if let (Some(name), false) = (self.region(), self.raw) {
            match SharedTable::open_read_only(name) {
                Ok(shared) => {
                    if let Some(want) = self.given_schema()? {
                        self.check_same(shared.table(), &want)?;
                    }
                    return Ok(Reader::Shared(shared));
                }
                Err(Error::SchemaMismatch { .. } | Error::BadMagic { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Reader::Table(self.open(Mode::Read)?))
    }

    /// Whether the target is a file (not `shm:NAME`).
    pub fn is_file(&self) -> bool {
        self.region().is_none()
    }

    /// Whether the file (or region) exists.
    pub fn exists(&self) -> bool {
        match self.region() {
            Some(name) => fixrec::shm::Region::open_read_only(name).is_ok(),
            None => self.file.exists(),
        }
    }

    /// For `--create` on a `shm:NAME` that exists already: refuses a region another user
    /// owns or that group or others may write, as `Region::open_or_create` does (someone
    /// may have planted it to read or change what we put in it).
    pub fn check_existing_is_ours(&self) -> Result<()> {
        let Some(name) = self.region() else {
            return Ok(());
        };
        super::os::check_region_is_ours(name)
    }

    /// Removes the file (or region), for a command that created it and then failed.
    pub fn remove(&self) {
        let _ = match self.region() {
            Some(name) => fixrec::shm::Region::remove(name).map_err(drop),
            None => std::fs::remove_file(&self.file).map_err(drop),
        };
    }

    /// Creates the target (it must not exist) with the schema of --schema: a fixrec
    /// file, or with --raw an empty headerless file.
    pub fn create(&self, capacity: Option<u64>) -> Result<Table> {
        let schema = self
            .given_schema()?
            .context("creating a store needs --schema")?;
        if let Some(name) = self.region() {
            super::os::check_region_outlives_command(name, "create")?;
            // Without --raw: a shared store (a header, records under a sequence lock).
            if !self.raw {
                let capacity = capacity.unwrap_or_else(|| (65536 / schema.record_size()).max(1));
                let shared = SharedTable::create(name, schema, capacity)?;
                drop(shared);
                return Ok(fixrec::shm::open_table(name, false)?);
            }
            // A raw region holds exactly --capacity zeroed records.
            let records = capacity.with_context(|| {
                format!(
                    "creating a raw region needs --capacity N (records): \
                     fixrec create shm:{name} --raw --schema S --capacity N"
                )
            })?;
            let size = records
                .checked_mul(schema.record_size())
                .and_then(|s| usize::try_from(s).ok())
                .with_context(|| format!("shm:{name}: {records} records do not fit in memory"))?;
            drop(fixrec::shm::Region::create(name, size)?);
            return Ok(fixrec::shm::open_raw_table(name, schema, true)?);
        }
        if self.raw {
            if capacity.is_some() {
                bail!(
                    "{}: --capacity does not apply to a headerless file, which is always exactly len records long (it applies to fixrec files and to shm: regions)",
                    self.file.display()
                );
            }
            return Ok(Table::create_raw(&self.file, schema)?);
        }
        let mut options = StoreOptions::new();
        if let Some(n) = capacity {
            options = options.capacity(n);
        }
        Ok(Table::create(&self.file, schema, &options)?)
    }

    /// Creates the target, as [`create`](Target::create) does, and opens it as its
    /// writer (for `shm:NAME`, the shared store's writer).
    pub fn create_writer(&self, capacity: Option<u64>) -> Result<Writer> {
        match self.region() {
            Some(name) if !self.raw => {
                let schema = self
                    .given_schema()?
                    .context("creating a store needs --schema")?;
                let capacity = capacity.unwrap_or_else(|| (65536 / schema.record_size()).max(1));
                Ok(Writer::Shared(SharedTable::create(name, schema, capacity)?))
            }
            _ => Ok(Writer::Table(self.create(capacity)?)),
        }
    }

    /// For `import --replace`: a new file beside FILE, of FILE's schema and format (fixrec
    /// or headerless), that the import writes and [`Replacement::finish`] renames over
    /// FILE once committed. FILE's writer lock is held until then, so that nobody else
    /// writes it meanwhile; until the rename, FILE keeps its records.
    pub fn open_replacement(&self) -> Result<(Writer, Replacement)> {
        if !self.is_file() {
            bail!(
                "{}: --replace works on files, not shm: regions (remove the region and import with --create)",
                self.file.display()
            );
        }
        let old = self.open(Mode::Write)?;
        let schema = Target::schema_of(&old)?;
        let name = self.file.file_name().unwrap_or_default().to_string_lossy();
        let tmp = self
            .file
            .with_file_name(format!(".{name}.fixrec-tmp-{}", std::process::id()));
        // Named before the file exists, so that a second signal removes it.
        super::remove_if_killed(Some(&tmp));
        let new = if old.is_raw() {
            Table::create_raw(&tmp, schema)
        } else {
            Table::create(&tmp, schema, &StoreOptions::new())
        };
        let new = new.inspect_err(|_| super::remove_if_killed(None))?;
        let replacement = Replacement {
            old,
            tmp,
            file: self.file.clone(),
        };
        Ok((Writer::Table(new), replacement))
    }

    /// The schema of an opened table (a raw table always has the one from --schema).
    pub fn schema_of(table: &Table) -> Result<Schema> {
        table.schema().cloned().with_context(|| {
            format!(
                "{}: the file's header describes no field schema",
                table.path().display()
            )
        })
    }
}

/// The file that `import --replace` fills, and the store it replaces (held open, with its
/// writer lock, until the rename).
pub struct Replacement {
    old: Table,
    tmp: PathBuf,
    file: PathBuf,
}

impl Replacement {
    /// Once the new file is committed: renames it over FILE (with FILE's mode) and
    /// makes that durable. On error the new file is removed and FILE keeps its records.
    pub fn finish(self) -> Result<()> {
        let Replacement { old, tmp, file } = self;
        let replaced = super::os::replace_file(&tmp, &file, old);
        if replaced.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        super::remove_if_killed(None);
        replaced
    }

    /// Removes the new file: FILE keeps its records.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
        super::remove_if_killed(None);
    }
}

/// Where a writing command puts records: a table, or a shared store's sequence-locked
/// writer.
pub enum Writer {
    Table(Table),
    Shared(SharedTable),
}

impl Writer {
    pub fn table(&self) -> &Table {
        match self {
            Writer::Table(t) => t,
            Writer::Shared(s) => s.table(),
        }
    }

    /// A copy of record `i`.
    pub fn read(&self, i: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.table().record_size()];
        match self {
            Writer::Table(t) => t.read_record(i, &mut out)?,
            Writer::Shared(s) => s.read(i, &mut out)?,
        }
        Ok(out)
    }

    /// Replaces record `i`.
    pub fn set(&mut self, i: usize, bytes: &[u8]) -> Result<()> {
        match self {
            Writer::Table(t) => t.record_mut(i)?.copy_from_slice(bytes),
            Writer::Shared(s) => s.set(i, bytes)?,
        }
        Ok(())
    }

    /// Appends whole records; returns the index of the first.
    pub fn append(&mut self, bytes: &[u8]) -> Result<usize> {
        Ok(match self {
            Writer::Table(t) => t.append(bytes)?,
            Writer::Shared(s) => s.append(bytes)?,
        })
    }

    /// Gives up uncommitted appends and the room grown for them, so that closing
    /// commits none of them (`Table::roll_back_appends`).
    pub fn roll_back(&mut self) -> Result<()> {
        match self {
            Writer::Table(t) => t.roll_back_appends()?,
            Writer::Shared(s) => s.roll_back_appends()?,
        }
        Ok(())
    }

    /// Commits.
    pub fn flush(&mut self) -> Result<()> {
        match self {
            Writer::Table(t) => t.flush()?,
            Writer::Shared(s) => s.flush()?,
        }
        Ok(())
    }

    /// Starts writing a file's records to disk (a head start for the next `flush`).
    pub fn flush_async(&mut self) -> Result<()> {
        match self {
            Writer::Table(t) => t.flush_async()?,
            Writer::Shared(_) => {} // memory: nothing to write
        }
        Ok(())
    }
}

/// Where a reading command gets records from.
pub enum Reader {
    Table(Table),
    Shared(SharedTable<ReadOnly>),
}

impl Reader {
    pub fn table(&self) -> &Table {
        match self {
            Reader::Table(t) => t,
            Reader::Shared(s) => s.table(),
        }
    }

    /// A copy of record `i` (for a shared store, made under its sequence lock). A copy,
    /// not the map's bytes: another process may be changing them in place, and they are
    /// checked (UTF-8) before they are shown.
    pub fn record(&self, i: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.table().record_size()];
        match self {
            Reader::Table(t) => t.read_record(i, &mut out)?,
            Reader::Shared(s) => s.read(i, &mut out)?,
        }
        Ok(out)
    }
}
