//! Folding of refused requests from clients without a session.
//!
//! An attacker (or a misconfigured script) without a session can send
//! requests as fast as the network allows; recording each would let them
//! fill the disk. The first refusal of a kind (client address, action,
//! status, error) in a window is recorded at once; repeats within the
//! window are counted and recorded as one record with that count when the
//! window ends — at the next refusal of that kind, or by the periodic
//! [`Refusals::due`] flush the gateway runs. The number of kinds tracked is
//! bounded; beyond it, refusals are folded per action, status and error
//! over all clients.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::log::{AuditLog, Record};

/// Length of a folding window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most kinds tracked at once.
const MAX_KINDS: usize = 10_000;

/// Client, action, status, error code (the e-mail tried is not part of
/// it: the latest one is kept as a sample, so varying it does not defeat
/// the folding).
type Kind = (String, String, u16, String);

#[derive(Debug)]
struct Pending {
    started: Instant,
    /// Refusals after the first in this window, not yet recorded.
    folded: u32,
    /// The latest of them (its time and details stand for the fold).
    last: Option<Record>,
}

#[derive(Debug, Default)]
pub struct Refusals {
    kinds: Mutex<HashMap<Kind, Pending>>,
}

fn folded_record(p: &mut Pending) -> Option<Record> {
    let mut r = p.last.take()?;
    r.count = std::mem::take(&mut p.folded);
    r.detail = Some(format!(
        "{} (folded: {} more refusal(s) of this kind from this client within {} s)",
        r.detail.unwrap_or_default(),
        r.count,
        WINDOW.as_secs()
    ));
    Some(r)
}

impl Refusals {
    /// Take a refusal; the records to write now (none while it is folded).
    pub fn fold(&self, record: Record, now: Instant) -> Vec<Record> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let mut kind: Kind = (
            record.client_addr.clone().unwrap_or_default(),
            record.action.clone(),
            record.status,
            record.detail.clone().unwrap_or_default(),
        );
        if kinds.len() >= MAX_KINDS && !kinds.contains_key(&kind) {
            kind.0 = "*".into();
        }
        let mut out = Vec::new();
        match kinds.get_mut(&kind) {
            Some(p) if now.duration_since(p.started) < WINDOW => {
                p.folded += 1;
                p.last = Some(record);
            }
            Some(p) => {
                out.extend(folded_record(p));
                p.started = now;
                out.push(record);
            }
            None => {
                kinds.insert(
                    kind,
                    Pending {
                        started: now,
                        folded: 0,
                        last: None,
                    },
                );
                out.push(record);
            }
        }
        out
    }

    /// Folds whose window has ended, as records to write; their kinds are
    /// forgotten.
    pub fn due(&self, now: Instant) -> Vec<Record> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        kinds.retain(|_, p| {
            if now.duration_since(p.started) < WINDOW {
                return true;
            }
            out.extend(folded_record(p));
            false
        });
        out
    }

    /// Every pending fold (at shutdown).
    pub fn all(&self) -> Vec<Record> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        kinds.values_mut().filter_map(folded_record).collect()
    }
}

/// The background job that writes folds whose window has ended (every
/// quarter window), so a burst is recorded within about a minute and a
/// quarter even if that client sends nothing more. Runs until the gateway
/// stops; the gateway writes what is still pending when it stops.
pub async fn flush_periodically(log: AuditLog) {
    use crate::metrics::{job_run, JobRunning, JOB_REFUSAL_FLUSH};
    let _running = JobRunning::start(JOB_REFUSAL_FLUSH);
    let mut tick = tokio::time::interval(WINDOW / 4);
    loop {
        tick.tick().await;
        let mut ok = true;
        for r in log.refusals().due(Instant::now()) {
            if let Err(e) = log.append(r).await {
                tracing::error!("could not write a folded audit record: {e}");
                ok = false;
            }
        }
        job_run(JOB_REFUSAL_FLUSH, ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(client: &str) -> Record {
        Record {
            client_addr: Some(client.into()),
            action: "api.refused".into(),
            status: 401,
            detail: Some("not_signed_in".into()),
            count: 1,
            ..Default::default()
        }
    }

    #[test]
    fn repeats_fold_into_one_record_with_a_count() {
        let r = Refusals::default();
        let t0 = Instant::now();
        assert_eq!(r.fold(refusal("1.1.1.1"), t0).len(), 1);
        for _ in 0..999 {
            assert!(r.fold(refusal("1.1.1.1"), t0).is_empty());
        }
        // Another client is its own kind.
        assert_eq!(r.fold(refusal("2.2.2.2"), t0).len(), 1);
        assert!(r.due(t0 + Duration::from_secs(1)).is_empty());
        let due = r.due(t0 + WINDOW);
        assert_eq!(due.len(), 1, "client 2 had nothing folded");
        assert_eq!(due[0].count, 999);
        assert!(r.all().is_empty());
        // After the window, the next refusal is written at once again.
        assert_eq!(r.fold(refusal("1.1.1.1"), t0 + WINDOW).len(), 1);
        r.fold(refusal("1.1.1.1"), t0 + WINDOW);
        let next = r.fold(refusal("1.1.1.1"), t0 + WINDOW * 2);
        assert_eq!(next.iter().map(|r| r.count).collect::<Vec<_>>(), [1, 1]);
    }
}
