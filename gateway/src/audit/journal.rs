//! The audit journal: where the records of reads become durable first.
//!
//! A signed-in person's read (a `GET` or `HEAD` that changes nothing) is
//! most of the gateway's traffic, and its record must be on disk before
//! its answer (issue 17). Inserting it into the audit table — four
//! indexes, a commit through the database connection's own thread — cost
//! more than the rest of the forwarded request. Here one writer thread
//! appends the lines (JSON) of every record queued while its last
//! `fdatasync` ran to a segment file of this process's journal and syncs
//! once (group commit); each caller is answered after that sync.
//!
//! A background task ([`Journal::ingest`], started by
//! [`crate::startup`]) then moves the records into the audit table in
//! large transactions, each also advancing this journal's row in
//! `audit_journal` (segment and byte position), so every record is
//! inserted exactly once even across a crash. A segment is closed at
//! [`SEGMENT_BYTES`]; one read to its end and closed is deleted. Reads of
//! the trail ([`crate::audit::AuditLog`]'s page, export and history) first
//! ingest what this process has acknowledged, so the trail shows every
//! request answered before it was asked; another replica's reads appear
//! once its own task has run (milliseconds later).
//!
//! Every process start opens a journal of its own
//! (`<data dir>/audit-journal/<uuid>/`, locked while the process lives);
//! at start, journals whose lock is free (their process ended: stopped,
//! or crashed before it had moved everything) are moved into the table
//! and removed ([`recover`]). If more than [`MAX_BACKLOG`] bytes wait to
//! be moved (the database unreachable), [`Journal::append`] refuses and
//! the caller writes the record to the table directly, so the journal's
//! disk use stays bounded and a database outage still shows.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

use tokio::sync::{oneshot, Notify};
use uuid::Uuid;

use super::log::{insert_in, Record};
use crate::database::Db;

/// The journals' directory inside the data directory.
pub const DIR: &str = "audit-journal";
/// A segment is closed once it holds this many bytes.
pub const SEGMENT_BYTES: u64 = 8 << 20;
/// Bytes acknowledged and not yet moved into the table at most; beyond
/// it, appends are refused (the caller writes to the table itself).
pub const MAX_BACKLOG: u64 = 64 << 20;
/// Bytes queued for the writer at most (beyond: refused likewise).
const MAX_QUEUED: usize = 8 << 20;
/// Bytes read from a segment for one transaction at most (a record is far
/// smaller: its texts are capped).
const READ_BYTES: u64 = 1 << 20;
const LOCK_FILE: &str = "lock";
const SEGMENT_SUFFIX: &str = ".jsonl";

/// Why [`Journal::append`] did not take a record.
#[derive(Debug)]
pub enum Refused {
    /// Too much is waiting (or the journal is closed): write the record
    /// elsewhere.
    Full,
    /// Writing or syncing failed; the record is not durable here.
    Failed(String),
}

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Default)]
struct Queue {
    lines: Vec<u8>,
    waiters: Vec<Waiter>,
    closed: bool,
}

/// What the writer thread and the handles share.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    queued: Condvar,
    /// Woken after each synced batch (the ingesting task waits on it).
    written: Notify,
    /// Bytes synced and not yet moved into the table.
    backlog: AtomicU64,
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// This process's journal (cheap to clone). The writer thread ends, and
/// the lock is released, when the last clone is dropped.
#[derive(Clone)]
pub struct Journal(Arc<Handle>);

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("dir", &self.0.dir).finish()
    }
}

struct Handle {
    id: String,
    dir: PathBuf,
    shared: Arc<Shared>,
    /// The writer thread (joined on drop, so the lock is free after).
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Where moving into the table has got to (`None`: not read yet); one
    /// move at a time.
    cursor: tokio::sync::Mutex<Option<Cursor>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.queue().closed = true;
        self.shared.queued.notify_all();
        // Nobody can be waiting for it (an appender holds a handle), so it
        // only finishes a sync it may be in.
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = writer {
            let _ = w.join();
        }
    }
}

/// A position in a journal: segment number and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    segment: u64,
    position: u64,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:020}{SEGMENT_SUFFIX}"))
}

/// The segment numbers in `dir`, ascending.
fn segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out: Vec<u64> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(SEGMENT_SUFFIX)?
                .parse()
                .ok()
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Make a directory entry (a new file) durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A new segment `n` in `dir`, its name on disk.
fn create_segment(dir: &Path, n: u64) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(segment_path(dir, n))?;
    sync_dir(dir)?;
    Ok(file)
}

impl Journal {
    /// A new journal for this process under `root` (created if needed),
    /// with segments of `segment_bytes`; its writer thread starts here.
    pub fn open(root: &Path, segment_bytes: u64) -> std::io::Result<Journal> {
        std::fs::create_dir_all(root)?;
        let id = Uuid::new_v4().to_string();
        let dir = root.join(&id);
        std::fs::create_dir(&dir)?;
        let lock = File::create(dir.join(LOCK_FILE))?;
        lock.try_lock().map_err(|e| match e {
            TryLockError::Error(e) => e,
            TryLockError::WouldBlock => std::io::Error::other("a new journal is locked"),
        })?;
        let file = create_segment(&dir, 1)?;
        sync_dir(root)?;
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            dir: dir.clone(),
            shared: shared.clone(),
            segment: 1,
            file: Some(file),
            size: 0,
            segment_bytes: segment_bytes.max(1),
            _lock: lock,
        };
        let writer = std::thread::Builder::new()
            .name("audit-journal".into())
            .spawn(move || writer.run())?;
        Ok(Journal(Arc::new(Handle {
            id,
            dir,
            shared,
            writer: Mutex::new(Some(writer)),
            cursor: tokio::sync::Mutex::new(None),
        })))
    }

    /// This journal's id (its directory's name and its `audit_journal` row).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Append `record`; on `Ok` its line is on disk.
    pub async fn append(&self, record: &Record) -> Result<(), Refused> {
        let shared = &self.0.shared;
        if shared.backlog.load(Ordering::Relaxed) > MAX_BACKLOG {
            return Err(Refused::Full);
        }
        let mut line = serde_json::to_vec(record).map_err(|e| Refused::Failed(e.to_string()))?;
        line.push(b'\n');
        let (tx, rx) = oneshot::channel();
        {
            let mut q = shared.queue();
            if q.closed || q.lines.len() + line.len() > MAX_QUEUED {
                return Err(Refused::Full);
            }
            q.lines.extend_from_slice(&line);
            q.waiters.push(tx);
        }
        shared.queued.notify_one();
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Refused::Failed(e)),
            Err(_) => Err(Refused::Failed("the journal writer stopped".into())),
        }
    }

    /// Bytes acknowledged and not yet moved into the table.
    pub fn backlog(&self) -> u64 {
        self.0.shared.backlog.load(Ordering::Relaxed)
    }

    /// Move everything acknowledged so far into the audit table; the
    /// number of records moved.
    pub async fn ingest(&self, db: &Db) -> Result<u64, String> {
        let handle = &self.0;
        let mut cursor = handle.cursor.lock().await;
        let start = match *cursor {
            Some(c) => c,
            None => load_cursor(db, &handle.id, &handle.dir).await?,
        };
        let mut mover = Mover {
            db,
            id: &handle.id,
            dir: &handle.dir,
            cursor: start,
            owner_alive: true,
            moved: 0,
        };
        let result = mover.run(Some(&handle.shared.backlog)).await;
        *cursor = Some(mover.cursor);
        result.map(|()| mover.moved)
    }

    /// A reference that does not keep the journal open.
    pub fn weak(&self) -> JournalRef {
        JournalRef(Arc::downgrade(&self.0))
    }
}

/// A [`Journal`] that may have been dropped.
#[derive(Clone)]
pub struct JournalRef(Weak<Handle>);

impl JournalRef {
    /// Move records into the table whenever a batch was synced, until the
    /// journal is dropped (run as a task; a failure is logged and tried
    /// again a second later).
    pub async fn keep_ingesting(self, db: Db) {
        loop {
            let Some(handle) = self.0.upgrade() else {
                return;
            };
            let shared = handle.shared.clone();
            drop(handle);
            shared.written.notified().await;
            let Some(handle) = self.0.upgrade() else {
                return;
            };
            if let Err(e) = Journal(handle).ingest(&db).await {
                tracing::warn!("could not move audit records from the journal into the table: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                shared.written.notify_one();
            }
        }
    }
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    shared: Arc<Shared>,
    segment: u64,
    /// `None` after a failed write until a new segment could be made.
    file: Option<File>,
    size: u64,
    segment_bytes: u64,
    /// Held while the process lives (released when the thread ends).
    _lock: File,
}

impl Writer {
    fn run(mut self) {
        loop {
            let (lines, waiters) = {
                let mut q = self.shared.queue();
                while q.waiters.is_empty() && !q.closed {
                    q = self
                        .shared
                        .queued
                        .wait(q)
                        .unwrap_or_else(|p| p.into_inner());
                }
                if q.waiters.is_empty() {
                    return; // closed and everything answered
                }
                (std::mem::take(&mut q.lines), std::mem::take(&mut q.waiters))
            };
            let result = self.write(&lines);
            if result.is_ok() {
                self.shared
                    .backlog
                    .fetch_add(lines.len() as u64, Ordering::Relaxed);
            }
            for w in waiters {
                let _ = w.send(result.clone());
            }
            if result.is_ok() {
                self.shared.written.notify_one();
            }
        }
    }

    /// Write and sync one batch. After a failure the segment is closed (a
    /// partial line may end it; the mover skips it) and the next batch
    /// goes to a new one.
    fn write(&mut self, lines: &[u8]) -> Result<(), String> {
        if self.file.is_none() || self.size >= self.segment_bytes {
            self.next_segment()?;
        }
        let file = self.file.as_mut().expect("a segment is open");
        match file.write_all(lines).and_then(|()| file.sync_data()) {
            Ok(()) => {
                self.size += lines.len() as u64;
                Ok(())
            }
            Err(e) => {
                tracing::error!("could not write the audit journal: {e}");
                self.file = None;
                Err(format!("the audit journal could not be written: {e}"))
            }
        }
    }

    fn next_segment(&mut self) -> Result<(), String> {
        let file = create_segment(&self.dir, self.segment + 1)
            .map_err(|e| format!("could not start a new audit journal segment: {e}"))?;
        self.segment += 1;
        self.file = Some(file);
        self.size = 0;
        Ok(())
    }
}

/// Where the journal `id` has been moved up to: its row, else the start
/// of its first segment.
async fn load_cursor(db: &Db, id: &str, dir: &Path) -> Result<Cursor, String> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT segment, position FROM audit_journal WHERE journal = $1")
            .bind(id)
            .fetch_optional(db)
            .await
            .map_err(|e| e.to_string())?;
    if let Some((segment, position)) = row {
        return Ok(Cursor {
            segment: segment.try_into().unwrap_or(0),
            position: position.try_into().unwrap_or(0),
        });
    }
    let first = segments(dir)
        .map_err(|e| e.to_string())?
        .first()
        .copied()
        .unwrap_or(1);
    Ok(Cursor {
        segment: first,
        position: 0,
    })
}

/// What one step of moving did.
enum Step {
    /// Records moved (more may follow).
    Moved,
    /// A finished segment left behind.
    Advanced,
    /// Nothing more to move now.
    CaughtUp,
    /// The journal (of an ended process) is moved entirely and removed.
    Removed,
}

/// Moves one journal's records into the table.
struct Mover<'a> {
    db: &'a Db,
    id: &'a str,
    dir: &'a Path,
    cursor: Cursor,
    /// Whether the journal's process may still write to it (else its last
    /// segment is finished too).
    owner_alive: bool,
    moved: u64,
}

impl Mover<'_> {
    async fn run(&mut self, backlog: Option<&AtomicU64>) -> Result<(), String> {
        loop {
            match self.step(backlog).await? {
                Step::Moved | Step::Advanced => continue,
                Step::CaughtUp | Step::Removed => return Ok(()),
            }
        }
    }

    async fn step(&mut self, backlog: Option<&AtomicU64>) -> Result<Step, String> {
        let dir = self.dir.to_path_buf();
        let at = self.cursor;
        // Whether the segment is finished is decided before it is read: a
        // later segment exists only once the writer has left this one, so
        // what the read finds is then all there will ever be.
        let (later, bytes) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let later = segments(&dir)?.into_iter().find(|&n| n > at.segment);
            let bytes = match File::open(segment_path(&dir, at.segment)) {
                Ok(mut f) => {
                    f.seek(SeekFrom::Start(at.position))?;
                    let mut bytes = Vec::new();
                    f.take(READ_BYTES).read_to_end(&mut bytes)?;
                    Some(bytes)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            Ok((later, bytes))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("reading the audit journal {}: {e}", self.dir.display()))?;
        let finished = later.is_some() || !self.owner_alive;
        let complete = bytes
            .as_deref()
            .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
            .map_or(0, |last| last + 1);
        if complete > 0 {
            let bytes = bytes.expect("bytes were read");
            let records = parse(&bytes[..complete], self.id);
            let next = Cursor {
                segment: at.segment,
                position: at.position + complete as u64,
            };
            let mut tx = self.db.begin().await.map_err(|e| e.to_string())?;
            insert_in(&mut tx, &records)
                .await
                .map_err(|e| e.to_string())?;
            save_cursor(&mut tx, self.id, next).await?;
            tx.commit().await.map_err(|e| e.to_string())?;
            self.cursor = next;
            self.moved += records.len() as u64;
            if let Some(b) = backlog {
                let n = complete as u64;
                let _ = b.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(n))
                });
            }
            return Ok(Step::Moved);
        }
        if !finished {
            return Ok(Step::CaughtUp);
        }
        if bytes.as_ref().is_some_and(|b| !b.is_empty()) {
            tracing::warn!(
                "audit journal {}: segment {} ends in an incomplete line (a write cut short; it was never acknowledged), skipped",
                self.id,
                at.segment
            );
        }
        let old = segment_path(self.dir, at.segment);
        match later {
            Some(n) => {
                let next = Cursor {
                    segment: n,
                    position: 0,
                };
                let mut tx = self.db.begin().await.map_err(|e| e.to_string())?;
                save_cursor(&mut tx, self.id, next).await?;
                tx.commit().await.map_err(|e| e.to_string())?;
                self.cursor = next;
                remove(&old);
                Ok(Step::Advanced)
            }
            None => {
                sqlx::query("DELETE FROM audit_journal WHERE journal = $1")
                    .bind(self.id)
                    .execute(self.db)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = std::fs::remove_dir_all(self.dir);
                Ok(Step::Removed)
            }
        }
    }
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("could not remove {}: {e}", path.display());
        }
    }
}

/// The records of complete lines; a line that is not one (never expected:
/// only whole synced batches are acknowledged) is logged and skipped.
fn parse(bytes: &[u8], id: &str) -> Vec<Record> {
    bytes
        .split(|&c| c == b'\n')
        .filter(|line| !line.is_empty())
        .filter_map(|line| match serde_json::from_slice::<Record>(line) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!("audit journal {id}: a line is not a record ({e}), skipped");
                None
            }
        })
        .collect()
}

async fn save_cursor(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: &str,
    c: Cursor,
) -> Result<(), String> {
    sqlx::query(
        "INSERT INTO audit_journal (journal, segment, position) VALUES ($1, $2, $3) \
         ON CONFLICT (journal) DO UPDATE SET segment = excluded.segment, position = excluded.position",
    )
    .bind(id)
    .bind(i64::try_from(c.segment).unwrap_or(i64::MAX))
    .bind(i64::try_from(c.position).unwrap_or(i64::MAX))
    .execute(&mut **tx)
    .await
    .map(drop)
    .map_err(|e| e.to_string())
}

/// Move the journals under `root` whose process has ended (their lock is
/// free) into the table and remove them; the number of records moved.
/// Journals of live processes (sharing this data directory) are left to
/// them.
pub async fn recover(root: &Path, db: &Db) -> Result<u64, String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(0);
    };
    let mut moved = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let dir = entry.path();
        let Some(id) = entry
            .file_name()
            .to_str()
            .filter(|n| Uuid::parse_str(n).is_ok())
            .map(str::to_string)
        else {
            continue;
        };
        let Ok(lock) = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join(LOCK_FILE))
        else {
            continue;
        };
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(e.to_string()),
        }
        let cursor = load_cursor(db, &id, &dir).await?;
        let mut mover = Mover {
            db,
            id: &id,
            dir: &dir,
            cursor,
            owner_alive: false,
            moved: 0,
        };
        mover.run(None).await?;
        moved += mover.moved;
        drop(lock);
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::testing::stores;

    fn record(i: u32) -> Record {
        Record {
            at: 1_700_000_000_000 + i64::from(i),
            actor_id: Some(Uuid::from_u128(7)),
            actor_email: Some("agent@example.com".into()),
            client_addr: Some("127.0.0.1".into()),
            method: "GET".into(),
            route: format!("/api/partners/v2.0/org/x/users/{i}"),
            action: "user.read".into(),
            status: 200,
            count: 1,
            ..Default::default()
        }
    }

    /// The routes of the table's records, in id order.
    async fn routes(db: &Db) -> Vec<String> {
        sqlx::query_scalar("SELECT route FROM audit ORDER BY id")
            .fetch_all(db)
            .await
            .unwrap()
    }

    async fn append_all(j: &Journal, range: std::ops::Range<u32>) {
        let appends: Vec<_> = range
            .map(|i| async move { (i, j.append(&record(i)).await) })
            .collect();
        for (i, result) in futures::future::join_all(appends).await {
            assert!(result.is_ok(), "record {i}: {result:?}");
        }
    }

    fn expected(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| record(i).route).collect()
    }

    #[tokio::test]
    async fn acknowledged_records_reach_the_table_once_and_segments_go() {
        for store in stores().await {
            let root = tempfile::tempdir().unwrap();
            // Segments of ~2 records, so the journal rolls over many times.
            let j = Journal::open(root.path(), 300).unwrap();
            append_all(&j, 0..25).await;
            assert!(j.backlog() > 0, "{}", store.name);
            assert_eq!(j.ingest(&store.db).await.unwrap(), 25, "{}", store.name);
            let mut got = routes(&store.db).await;
            got.sort();
            let mut want = expected(0..25);
            want.sort();
            assert_eq!(got, want, "{}", store.name);
            assert_eq!(j.backlog(), 0, "{}", store.name);
            // Moved again: nothing new.
            assert_eq!(j.ingest(&store.db).await.unwrap(), 0, "{}", store.name);
            assert_eq!(routes(&store.db).await.len(), 25, "{}", store.name);
            // Finished segments are gone; the one being written stays.
            let left = segments(&root.path().join(j.id())).unwrap();
            assert_eq!(left.len(), 1, "{}: {left:?}", store.name);
            // The record as stored is the record as sent.
            let back: (String, i64, Option<String>) =
                sqlx::query_as("SELECT action, status, actor_email FROM audit WHERE route = $1")
                    .bind(record(3).route)
                    .fetch_one(&store.db)
                    .await
                    .unwrap();
            assert_eq!(
                back,
                ("user.read".into(), 200, Some("agent@example.com".into()))
            );
        }
    }

    #[tokio::test]
    async fn a_crashed_process_journal_is_moved_at_the_next_start() {
        for store in stores().await {
            let root = tempfile::tempdir().unwrap();
            let j = Journal::open(root.path(), 500).unwrap();
            append_all(&j, 0..10).await;
            // Part of it was moved before the "crash"…
            assert_eq!(j.ingest(&store.db).await.unwrap(), 10);
            append_all(&j, 10..30).await;
            let dir = root.path().join(j.id());
            drop(j);
            // …and the last write was cut short (never acknowledged).
            let last = *segments(&dir).unwrap().last().unwrap();
            let mut f = OpenOptions::new()
                .append(true)
                .open(segment_path(&dir, last))
                .unwrap();
            f.write_all(br#"{"at":1,"method":"GE"#).unwrap();
            drop(f);
            // A journal of a live process is not touched.
            let live = Journal::open(root.path(), 500).unwrap();
            append_all(&live, 100..102).await;

            assert_eq!(
                recover(root.path(), &store.db).await.unwrap(),
                20,
                "{}",
                store.name
            );
            let mut got = routes(&store.db).await;
            got.sort();
            let mut want = expected(0..30);
            want.sort();
            assert_eq!(got, want, "{}: each record once", store.name);
            assert!(
                !dir.exists(),
                "{}: the moved journal is removed",
                store.name
            );
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_journal")
                .fetch_one(&store.db)
                .await
                .unwrap();
            assert_eq!(rows, 0, "{}: its row is removed", store.name);
            assert!(root.path().join(live.id()).exists(), "{}", store.name);
            // Recovering again moves nothing twice.
            assert_eq!(recover(root.path(), &store.db).await.unwrap(), 0);
            assert_eq!(live.ingest(&store.db).await.unwrap(), 2);
            assert_eq!(routes(&store.db).await.len(), 32, "{}", store.name);
        }
    }

    #[tokio::test]
    async fn a_line_that_is_no_record_is_skipped_not_fatal() {
        for store in stores().await {
            let root = tempfile::tempdir().unwrap();
            let j = Journal::open(root.path(), SEGMENT_BYTES).unwrap();
            append_all(&j, 0..2).await;
            let dir = root.path().join(j.id());
            drop(j);
            let mut f = OpenOptions::new()
                .append(true)
                .open(segment_path(&dir, 1))
                .unwrap();
            f.write_all(b"not json\n").unwrap();
            drop(f);
            assert_eq!(
                recover(root.path(), &store.db).await.unwrap(),
                2,
                "{}",
                store.name
            );
            assert!(!dir.exists(), "{}", store.name);
        }
    }

    #[tokio::test]
    async fn an_unreachable_database_leaves_records_in_the_journal() {
        let root = tempfile::tempdir().unwrap();
        let store = stores().await.remove(0);
        let j = Journal::open(root.path(), SEGMENT_BYTES).unwrap();
        append_all(&j, 0..3).await;
        store.db.close().await;
        assert!(j.ingest(&store.db).await.is_err());
        assert!(j.backlog() > 0);
        assert!(segments(&root.path().join(j.id())).unwrap().len() == 1);
    }
}
