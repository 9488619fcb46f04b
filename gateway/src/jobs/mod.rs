//! Background work, per replica or once per cluster.
//!
//! Per replica: the users read model's refresh ([`crate::directory`]) and
//! the flush of folded refusals ([`crate::audit::refusals`]) — every
//! replica needs its own. Once per cluster: work that must not run twice
//! at the same time (anything that writes to Podero or sends messages,
//! and the database's [`housekeeping`]). Such a job runs only while its
//! replica holds the job's [`lease::Lease`], a row in the shared database
//! that the holder renews every few seconds; when the holder dies, another
//! replica takes the lease over once it has expired (within
//! [`lease::TTL`] + [`lease::RENEW_EVERY`]).

pub mod housekeeping;
pub mod lease;

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::error::GatewayError;
use lease::{Lease, Leases};

/// Run `work` every `every` on whichever replica holds the lease `name`:
/// a task keeps the lease (taking it when free, renewing it while held)
/// and calls `work` when it is held and due. `work` gets the lease to
/// check [`Lease::is_held`] between the steps of a long run.
pub fn spawn_once_per_cluster<F, Fut>(
    leases: Leases,
    name: &'static str,
    every: Duration,
    mut work: F,
) -> JoinHandle<()>
where
    F: FnMut(Lease) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), GatewayError>> + Send,
{
    tokio::spawn(async move {
        let lease = Lease::keep(leases, name);
        let mut due = tokio::time::Instant::now();
        loop {
            lease.wait_held().await;
            tokio::time::sleep_until(due).await;
            if !lease.is_held() {
                continue;
            }
            if let Err(e) = work(lease.clone()).await {
                tracing::warn!(job = name, "background job failed: {e}");
            }
            due = tokio::time::Instant::now() + every;
        }
    })
}
