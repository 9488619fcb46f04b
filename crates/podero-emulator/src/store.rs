//! Durable storage: a snapshot file plus an append-only journal.
//!
//! `snapshot.jsonl` holds every record of the organisation, one JSON object
//! per line; it is written to a temporary file, synced and renamed into
//! place, so a crash leaves either the old or the new snapshot, never a mix.
//! `journal.jsonl` gets one line per acknowledged write, synced before the
//! HTTP answer is sent. On start the snapshot is read, the journal replayed
//! (a torn last line from a crash is ignored: it was never acknowledged),
//! and the two are compacted into a fresh snapshot.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::{Building, Device, User};
use uuid::Uuid;

use crate::state::AuthSession;

/// One stored fact. Later records for the same id replace earlier ones.
// Records are built and written one at a time; boxing the large variants
// would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Meta {
        org_id: Uuid,
        seed: u64,
        format: u32,
    },
    User {
        user: User,
    },
    Device {
        user_id: Uuid,
        device: Device,
    },
    Building {
        user_id: Uuid,
        building: Building,
    },
    RemoveBuilding {
        id: Uuid,
    },
    Session {
        session: AuthSession,
    },
}

pub const FORMAT: u32 = 1;

pub struct Store {
    journal: BufWriter<File>,
}

impl Store {
    fn snapshot_path(dir: &Path) -> PathBuf {
        dir.join("snapshot.jsonl")
    }

    fn journal_path(dir: &Path) -> PathBuf {
        dir.join("journal.jsonl")
    }

    /// Read everything stored under `dir` (empty if nothing is).
    pub fn load(dir: &Path) -> std::io::Result<Vec<Record>> {
        fs::create_dir_all(dir)?;
        let mut records = Vec::new();
        let snap = Self::snapshot_path(dir);
        if snap.exists() {
            for (n, line) in BufReader::new(File::open(&snap)?).lines().enumerate() {
                let line = line?;
                let record = serde_json::from_str(&line).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} line {}: {e}", snap.display(), n + 1),
                    )
                })?;
                records.push(record);
            }
        }
        let journal = Self::journal_path(dir);
        if journal.exists() {
            for line in BufReader::new(File::open(&journal)?).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str(&line) {
                    Ok(record) => records.push(record),
                    // A torn write at the end: never acknowledged, drop it.
                    Err(_) => break,
                }
            }
        }
        Ok(records)
    }

    /// Write `records` as the new snapshot, empty the journal, and open it.
    pub fn compact(dir: &Path, records: impl Iterator<Item = Record>) -> std::io::Result<Store> {
        fs::create_dir_all(dir)?;
        let tmp = dir.join("snapshot.jsonl.tmp");
        {
            let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            for r in records {
                serde_json::to_writer(&mut w, &r)?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        fs::rename(&tmp, Self::snapshot_path(dir))?;
        // The journal's content is now in the snapshot.
        let journal = File::create(Self::journal_path(dir))?;
        journal.sync_all()?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        let journal = OpenOptions::new()
            .append(true)
            .open(Self::journal_path(dir))?;
        Ok(Store {
            journal: BufWriter::new(journal),
        })
    }

    /// Append records and sync them to disk before returning.
    pub fn append(&mut self, records: &[Record]) -> std::io::Result<()> {
        for r in records {
            serde_json::to_writer(&mut self.journal, r)?;
            self.journal.write_all(b"\n")?;
        }
        self.journal.flush()?;
        self.journal.get_ref().sync_data()
    }
}
