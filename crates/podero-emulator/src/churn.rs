//! Connections that change by themselves: the background task that makes
//! devices lose and regain their manufacturer connection over time.
//!
//! The rate is given in changes per 1,000 devices per hour
//! (`EmulatorConfig::churn_per_hour`). Every tick the changes due in that
//! tick are drawn (the whole part of the expected number, plus one more with
//! the probability of the fraction) and handed to [`Emulator::churn`], which
//! picks the devices and commits the changes as one durable write, like any
//! other. The draws come from a PRNG seeded with the demo-data seed, so a
//! given seed, state and rate make the same choices; a round changes at most
//! [`MAX_EVENTS_PER_TICK`] devices.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::seed::Rng;
use crate::state::Emulator;

/// The most devices one tick changes (one transaction stays small).
pub const MAX_EVENTS_PER_TICK: usize = 1000;

/// The running churn task; [`Churn::stop`] ends it between two rounds.
pub(crate) struct Churn {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Churn {
    /// Start churning `emulator` at `per_hour` changes per 1,000 devices
    /// per hour, a round every `tick`.
    pub(crate) fn start(emulator: Arc<Emulator>, per_hour: f64, tick: Duration, seed: u64) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let tick = tick.max(Duration::from_millis(10));
        tracing::info!(
            per_1000_devices_per_hour = per_hour,
            tick_ms = tick.as_millis() as u64,
            "device connections change by themselves (churn)"
        );
        let task = tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ 0xC4A2_7E11_D00D_F00D);
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await; // the first tick is immediate
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = interval.tick() => {}
                }
                let devices = match emulator.device_count().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = ?e, "churn: devices not counted");
                        continue;
                    }
                };
                let events = events_due(&mut rng, per_hour, devices, tick);
                if events == 0 {
                    continue;
                }
                match emulator.churn(&mut rng, events).await {
                    Ok(changed) if changed > 0 => {
                        tracing::debug!(changed, "churn round")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = ?e, "churn round not stored"),
                }
            }
        });
        Churn { stop, task }
    }

    /// Stop after the round under way (if any) and wait for it.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// How many changes fall into one tick: `per_hour / 1000 × devices ×
/// tick / 1 h` expected, its fraction drawn, capped.
fn events_due(rng: &mut Rng, per_hour: f64, devices: usize, tick: Duration) -> usize {
    let expected = per_hour / 1000.0 * devices as f64 * tick.as_secs_f64() / 3600.0;
    if !(expected.is_finite() && expected > 0.0) {
        return 0;
    }
    let whole = expected.floor();
    let extra = usize::from(rng.chance(expected - whole));
    (whole.min(MAX_EVENTS_PER_TICK as f64) as usize + extra).min(MAX_EVENTS_PER_TICK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_follow_the_rate_and_are_capped() {
        let mut rng = Rng::new(1);
        let tick = Duration::from_secs(5);
        // 3 per 1,000 devices per hour and 100,000 devices: 300 changes in
        // an hour, which is 720 ticks of 5 s.
        let hour: usize = (0..720)
            .map(|_| events_due(&mut rng, 3.0, 100_000, tick))
            .sum();
        assert!((240..=360).contains(&hour), "{hour}");
        assert_eq!(events_due(&mut rng, 0.0, 100_000, tick), 0);
        assert_eq!(events_due(&mut rng, 3.0, 0, tick), 0);
        assert_eq!(
            events_due(&mut rng, 3_600_000.0, 10_000_000, tick),
            MAX_EVENTS_PER_TICK
        );
    }
}
