//! The embedded databases fixrec is compared with: SQLite (bundled, through rusqlite)
//! and LMDB (through heed), each used the way its documentation recommends for speed:
//! prepared statements and one transaction per batch for SQLite, one transaction per
//! batch and `MDB_APPEND` for sorted loads in LMDB.

use super::methods::{Backend, Source};
use super::workloads::{NAME_AT, RECORD, stamp, sum_words};
use anyhow::{Context, Result, bail};
use heed::byteorder::BigEndian;
use heed::types::{Bytes, U64};
use heed::{CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions, PutFlags};
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::{Duration, Instant};

/// SQLite: `CREATE TABLE m (id INTEGER PRIMARY KEY, v BLOB NOT NULL)` in WAL mode.
pub struct Sqlite {
    conn: Connection,
}

fn blob_sum(row: &rusqlite::Row<'_>) -> rusqlite::Result<u64> {
    let v = row.get_ref(0)?.as_blob()?;
    Ok(sum_words(v))
}

impl Sqlite {
    fn connect(path: &Path, durable: bool) -> Result<Connection> {
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if mode != "wal" {
            bail!("SQLite refused WAL mode (journal_mode is {mode})");
        }
        let sync = if durable { "FULL" } else { "OFF" };
        conn.execute_batch(&format!("PRAGMA synchronous={sync}"))?;
        Ok(conn)
    }

    pub fn open(path: &Path, durable: bool) -> Result<Sqlite> {
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        Ok(Sqlite {
            conn: Self::connect(path, durable)?,
        })
    }

    /// Moves the WAL into the database file and empties the WAL.
    pub fn checkpoint(path: &Path) -> Result<()> {
        let conn = Connection::open(path)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn load(target: &Path, src: &dyn Source, durable: bool) -> Result<Duration> {
        if target.exists() {
            bail!("{} already exists", target.display());
        }
        let mut conn = Self::connect(target, durable)?;
        conn.execute_batch("CREATE TABLE m (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")?;
        let t = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare("INSERT INTO m (id, v) VALUES (?1, ?2)")?;
            let mut id = 0i64;
            src.for_each(&mut |m| {
                insert.execute(params![id, bytemuck::bytes_of(m)])?;
                id += 1;
                Ok(())
            })?;
        }
        tx.commit()?;
        Ok(t.elapsed())
    }

    pub fn open_and_read(path: &Path, i: u32) -> Result<u64> {
        let conn = Connection::open(path)?;
        Ok(conn.query_row("SELECT v FROM m WHERE id = ?1", [i], blob_sum)?)
    }
}

impl Backend for Sqlite {
    fn scan(&mut self) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let mut sum = 0u64;
        {
            let mut stmt = tx.prepare("SELECT v FROM m ORDER BY id")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                sum = sum.wrapping_add(blob_sum(row)?);
            }
        }
        tx.commit()?;
        Ok(sum)
    }

    fn get(&mut self, idx: &[u32]) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let mut sum = 0u64;
        {
            let mut stmt = tx.prepare("SELECT v FROM m WHERE id = ?1")?;
            for &i in idx {
                sum = sum.wrapping_add(stmt.query_row([i], blob_sum)?);
            }
        }
        tx.commit()?;
        Ok(sum)
    }

    fn update(&mut self, idx: &[u32], commit_every: Option<usize>, salt: u32) -> Result<u64> {
        let mut sum = 0u64;
        let batch = commit_every.unwrap_or(idx.len()).max(1);
        let mut rec = [0u8; RECORD];
        for (b, chunk) in idx.chunks(batch).enumerate() {
            let tx = self.conn.transaction()?;
            {
                let mut select = tx.prepare("SELECT v FROM m WHERE id = ?1")?;
                let mut update = tx.prepare("UPDATE m SET v = ?2 WHERE id = ?1")?;
                for (n, &i) in chunk.iter().enumerate() {
                    select.query_row([i], |row| {
                        rec.copy_from_slice(row.get_ref(0)?.as_blob()?);
                        Ok(())
                    })?;
                    sum = sum.wrapping_add(sum_words(&rec));
                    rec[NAME_AT..NAME_AT + 8].copy_from_slice(&stamp(b * batch + n, salt));
                    update.execute(params![i, &rec[..]])?;
                }
            }
            tx.commit()?;
        }
        Ok(sum)
    }

    fn settle(&mut self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

type Table = Database<'static, U64<BigEndian>, Bytes>;

/// LMDB: one unnamed database of big-endian u64 keys (so key order is record order) to
/// 512-byte values.
pub struct Lmdb {
    env: Env,
    db: Table,
}

/// LMDB's map size: the most the file may grow to. `records` is the dataset's size
/// when loading (the file does not exist yet): a B-tree of 512-byte values takes about
/// twice their bytes at worst (half-full pages after splits), and copy-on-write needs
/// room for the pages a transaction rewrites, so four times the values, or four times
/// the file, at least 1 GiB.
fn map_size(path: &Path, records: usize) -> usize {
    let have = std::fs::metadata(path.join("data.mdb")).map_or(0, |m| m.len() as usize);
    let values = records.saturating_mul(RECORD + 16);
    (have.max(values).saturating_mul(4))
        .max(1 << 30)
        .next_multiple_of(1 << 20)
}

impl Lmdb {
    fn env(path: &Path, durable: bool, records: usize) -> Result<Env> {
        std::fs::create_dir_all(path)?;
        let mut options = EnvOpenOptions::new();
        options.map_size(map_size(path, records)).max_dbs(1);
        if !durable {
            // SAFETY: MDB_NOSYNC gives up durability of the last transactions on a system
            // crash, not the integrity of this process's data; the benchmark names it.
            unsafe {
                options.flags(EnvFlags::NO_SYNC);
            }
        }
        // SAFETY: the benchmark's own directory; no other process or handle opens it
        // while this one is open (LMDB requires one open env per file per process).
        let env = unsafe { options.open(path) }
            .with_context(|| format!("cannot open LMDB at {}", path.display()))?;
        Ok(env)
    }

    pub fn open(path: &Path, durable: bool) -> Result<Lmdb> {
        if !path.join("data.mdb").exists() {
            bail!("{} holds no LMDB data", path.display());
        }
        let env = Self::env(path, durable, 0)?;
        let rtxn = env.read_txn()?;
        let db: Option<Table> = env
            .open_databases_and_commit(rtxn, |opener, rtxn| {
                opener
                    .open_database(rtxn, None)
                    .map(CommitOrAbort::<_, ()>::Commit)
            })?
            .unwrap_commit();
        let db = db.context("the LMDB database is missing")?;
        Ok(Lmdb { env, db })
    }

    pub fn load(target: &Path, src: &dyn Source, durable: bool) -> Result<Duration> {
        if target.exists() {
            bail!("{} already exists", target.display());
        }
        let mut records = 0usize;
        src.for_each(&mut |_| {
            records += 1;
            Ok(())
        })?;
        let env = Self::env(target, durable, records)?;
        let wtxn = env.write_txn()?;
        let db: Table = env
            .create_databases_and_commit(wtxn, |opener, wtxn| {
                opener
                    .create_database(wtxn, None)
                    .map(CommitOrAbort::<_, ()>::Commit)
            })?
            .unwrap_commit();
        let t = Instant::now();
        let mut wtxn = env.write_txn()?;
        let mut key = 0u64;
        src.for_each(&mut |m| {
            db.put_with_flags(&mut wtxn, PutFlags::APPEND, &key, bytemuck::bytes_of(m))?;
            key += 1;
            Ok(())
        })?;
        wtxn.commit()?;
        let elapsed = t.elapsed();
        env.force_sync()?;
        Ok(elapsed)
    }

    pub fn open_and_read(path: &Path, i: u32) -> Result<u64> {
        let lmdb = Lmdb::open(path, true)?;
        let rtxn = lmdb.env.read_txn()?;
        let v = lmdb
            .db
            .get(&rtxn, &u64::from(i))?
            .context("record missing")?;
        Ok(sum_words(v))
    }
}

impl Backend for Lmdb {
    fn scan(&mut self) -> Result<u64> {
        let rtxn = self.env.read_txn()?;
        let mut sum = 0u64;
        for entry in self.db.iter(&rtxn)? {
            let (_, v) = entry?;
            sum = sum.wrapping_add(sum_words(v));
        }
        Ok(sum)
    }

    fn get(&mut self, idx: &[u32]) -> Result<u64> {
        let rtxn = self.env.read_txn()?;
        let mut sum = 0u64;
        for &i in idx {
            let v = self
                .db
                .get(&rtxn, &u64::from(i))?
                .context("record missing")?;
            sum = sum.wrapping_add(sum_words(v));
        }
        Ok(sum)
    }

    fn update(&mut self, idx: &[u32], commit_every: Option<usize>, salt: u32) -> Result<u64> {
        let mut sum = 0u64;
        let batch = commit_every.unwrap_or(idx.len()).max(1);
        let mut rec = [0u8; RECORD];
        for (b, chunk) in idx.chunks(batch).enumerate() {
            let mut wtxn = self.env.write_txn()?;
            for (n, &i) in chunk.iter().enumerate() {
                let key = u64::from(i);
                rec.copy_from_slice(self.db.get(&wtxn, &key)?.context("record missing")?);
                sum = sum.wrapping_add(sum_words(&rec));
                rec[NAME_AT..NAME_AT + 8].copy_from_slice(&stamp(b * batch + n, salt));
                self.db.put(&mut wtxn, &key, &rec)?;
            }
            wtxn.commit()?;
        }
        Ok(sum)
    }

    fn settle(&mut self) -> Result<()> {
        Ok(self.env.force_sync()?)
    }
}
