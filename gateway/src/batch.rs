//! One worker answering many callers in one go (group commit).
//!
//! A [`Batcher`] hands each call to a single background task through a
//! bounded channel. The task takes everything queued (up to a maximum) as
//! one batch, does the batch's work once — one transaction for many audit
//! records ([`crate::audit`]), one read of the sessions generation for
//! many requests ([`crate::auth::session_cache`]) — and then answers each
//! caller. Calls made while a batch is being worked on wait for the next
//! one, so a batch's work always **starts after every call in it was
//! made**: a read sees every commit that finished before its callers
//! asked, and a caller hears back only once its batch's work is done (for
//! the audit: committed, on disk). Under load, batches grow by themselves
//! (everyone who arrived during one commit shares the next); alone, a
//! call costs its work plus two hops between tasks.
//!
//! The task is started by the first call, in that caller's runtime, and
//! again by a later call if that runtime has gone (tests build one per
//! test). If the work panics, its callers get [`Gone`] and the next call
//! starts a new task.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

/// The work done for one batch: one answer per item, in order.
pub type Work<I, O> =
    Arc<dyn Fn(Vec<I>) -> Pin<Box<dyn Future<Output = Vec<O>> + Send>> + Send + Sync>;

type Job<I, O> = (I, oneshot::Sender<O>);

/// The worker stopped before answering (its work panicked or its runtime
/// ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// A single worker doing queued calls in batches (cheap to share behind
/// an `Arc`).
pub struct Batcher<I, O> {
    name: &'static str,
    /// Calls queued at most; more wait to be queued.
    capacity: usize,
    /// Items in one batch at most.
    max_batch: usize,
    work: Work<I, O>,
    queue: Mutex<Option<mpsc::Sender<Job<I, O>>>>,
}

impl<I, O> fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// A batcher named `name` (in logs) doing `work`; nothing runs until
    /// the first call.
    pub fn new(name: &'static str, capacity: usize, max_batch: usize, work: Work<I, O>) -> Self {
        Self {
            name,
            capacity: capacity.max(1),
            max_batch: max_batch.max(1),
            work,
            queue: Mutex::new(None),
        }
    }

    /// The queue of a running worker, starting one if there is none.
    fn queue(&self) -> mpsc::Sender<Job<I, O>> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = queue.as_ref().filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(self.capacity);
        tokio::spawn(run(rx, self.max_batch, self.work.clone()));
        tracing::debug!(batcher = self.name, "worker started");
        *queue = Some(tx.clone());
        tx
    }

    /// Queue `item` and wait for its batch's answer.
    pub async fn call(&self, item: I) -> Result<O, Gone> {
        let (reply, answer) = oneshot::channel();
        let job = match self.queue().send((item, reply)).await {
            Ok(()) => None,
            Err(mpsc::error::SendError(job)) => Some(job),
        };
        if let Some(job) = job {
            // The worker's runtime ended between the check and the send.
            self.queue().send(job).await.map_err(|_| Gone)?;
        }
        answer.await.map_err(|_| Gone)
    }
}

/// The worker: a batch at a time, until every sender is gone.
async fn run<I, O>(mut rx: mpsc::Receiver<Job<I, O>>, max_batch: usize, work: Work<I, O>) {
    let mut items = Vec::new();
    let mut replies = Vec::new();
    while let Some((item, reply)) = rx.recv().await {
        items.push(item);
        replies.push(reply);
        while items.len() < max_batch {
            match rx.try_recv() {
                Ok((item, reply)) => {
                    items.push(item);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let answers = work(std::mem::take(&mut items)).await;
        for (reply, answer) in replies.drain(..).zip(answers) {
            // A caller that stopped waiting needs no answer.
            let _ = reply.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// Poll `cond` until it holds (5 s at most).
    async fn until(cond: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cond() {
            assert!(Instant::now() < deadline, "condition not met within 5 s");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Calls made while a batch runs share the next one; every caller
    /// gets its own answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_calls_made_meanwhile() {
        let batches = Arc::new(AtomicUsize::new(0));
        let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
        let counted = batches.clone();
        let work: Work<u32, u32> = Arc::new(move |items: Vec<u32>| {
            let counted = counted.clone();
            let mut gate = gate_rx.clone();
            Box::pin(async move {
                // The first batch waits until the others are queued.
                if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                    let _ = gate.wait_for(|open| *open).await;
                }
                items.into_iter().map(|i| i * 10).collect()
            })
        });
        let batcher = Arc::new(Batcher::new("test", 64, 64, work));
        let first = tokio::spawn({
            let b = batcher.clone();
            async move { b.call(1).await }
        });
        until(|| batches.load(Ordering::SeqCst) == 1).await;
        let rest: Vec<_> = (2..=20)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.call(i).await })
            })
            .collect();
        until(|| {
            batcher
                .queue
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|tx| tx.capacity() == 64 - 19)
        })
        .await;
        gate_tx.send(true).unwrap();
        assert_eq!(first.await.unwrap(), Ok(10));
        for (i, r) in (2..=20).zip(rest) {
            assert_eq!(r.await.unwrap(), Ok(i * 10));
        }
        assert_eq!(batches.load(Ordering::SeqCst), 2, "19 calls, one batch");
    }

    /// A panicking batch answers `Gone`; the next call starts a new worker.
    #[tokio::test]
    async fn a_panic_is_gone_and_the_next_call_works() {
        let work: Work<u32, u32> = Arc::new(|items: Vec<u32>| {
            Box::pin(async move {
                assert!(items[0] != 0, "boom");
                items
            })
        });
        let batcher = Batcher::new("test", 4, 4, work);
        assert_eq!(batcher.call(0).await, Err(Gone));
        assert_eq!(batcher.call(7).await, Ok(7));
    }
}
