//! What the fleet watch saw, in the database: each device's last known
//! state (`watch_devices`), when each user was last checked
//! (`watch_users`), the transitions (`watch_transitions`) and the round's
//! place (`watch_progress`).
//!
//! [`WatchStore::observe`] compares a user's device list of one kind with
//! what is stored and writes the differences. Every transition is taken by
//! one conditional `UPDATE` (or an `INSERT … ON CONFLICT DO NOTHING`) whose
//! row count says whether this caller made it, so the watch and a device
//! read passing through the proxy at the same moment record it once.

use shared::cases::{Transition, TransitionKind, WatchedDevice, WatchedUser};
use shared::{DeviceCommon, DeviceKind};
use sqlx::Row;
use uuid::Uuid;

use crate::database::{failed, to_time, Db};
use crate::error::GatewayError;

/// The one progress row.
const FLEET: &str = "fleet";

/// A change found by [`WatchStore::observe`].
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub device_id: Uuid,
    pub kind: TransitionKind,
    /// When it happened (for a loss: since when the device is lost).
    pub at: i64,
    pub label: String,
}

/// The round's place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub cursor: Option<Uuid>,
    pub round_started_at: Option<i64>,
    pub round_users_checked: i64,
    pub rounds_completed: i64,
    pub last_round_finished_at: Option<i64>,
    pub last_round_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct WatchStore {
    db: Db,
}

fn ms(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

/// The device's label: manufacturer and model, or its kind.
pub fn label(kind: DeviceKind, d: &DeviceCommon) -> String {
    d.model_name().unwrap_or_else(|| kind.label().to_string())
}

impl WatchStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Record `devices` (read at `now`; `whole`: the user's whole list of
    /// `kind`, so a stored device missing from it was removed) and answer
    /// the transitions it shows.
    pub async fn observe(
        &self,
        user: Uuid,
        kind: DeviceKind,
        devices: &[DeviceCommon],
        whole: bool,
        now: i64,
    ) -> Result<Vec<Change>, GatewayError> {
        let user_s = user.to_string();
        let known_user: Option<i64> =
            sqlx::query_scalar("SELECT checked_at FROM watch_users WHERE user_id = $1")
                .bind(&user_s)
                .fetch_optional(&self.db)
                .await
                .map_err(failed)?;
        let mut changes = Vec::new();
        let mut seen = Vec::new();
        for d in devices.iter().filter(|d| d.deleted_at.is_none()) {
            seen.push(d.id.to_string());
            changes.extend(self.observe_one(&user_s, kind, d, now, known_user).await?);
        }
        if !whole {
            return Ok(changes);
        }
        // Devices of this kind no longer in the list: removed.
        let stored: Vec<(String, String)> = sqlx::query_as(
            "SELECT device_id, label FROM watch_devices WHERE user_id = $1 AND kind = $2 \
             AND removed_at IS NULL",
        )
        .bind(&user_s)
        .bind(kind.path_segment())
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        for (id, label) in stored.into_iter().filter(|(id, _)| !seen.contains(id)) {
            let done = sqlx::query(
                "UPDATE watch_devices SET removed_at = $1, checked_at = $1 \
                 WHERE device_id = $2 AND removed_at IS NULL",
            )
            .bind(now)
            .bind(&id)
            .execute(&self.db)
            .await
            .map_err(failed)?;
            if done.rows_affected() == 1 {
                if let Ok(device_id) = Uuid::parse_str(&id) {
                    self.transition(&user_s, device_id, TransitionKind::Removed, now)
                        .await?;
                    changes.push(Change {
                        device_id,
                        kind: TransitionKind::Removed,
                        at: now,
                        label,
                    });
                }
            }
        }
        Ok(changes)
    }

    async fn observe_one(
        &self,
        user: &str,
        kind: DeviceKind,
        d: &DeviceCommon,
        now: i64,
        known_user: Option<i64>,
    ) -> Result<Vec<Change>, GatewayError> {
        let id = d.id.to_string();
        let label = label(kind, d);
        let last_data = ms(d.current_state_last_updated_at);
        // A lost device's data stopped when it was lost.
        let lost_since_first = last_data.filter(|t| *t <= now).unwrap_or(now);
        let health = |h: &shared::HealthStatus| Some(h.as_str().to_string());
        let inserted = sqlx::query(
            "INSERT INTO watch_devices (device_id, user_id, kind, label, is_authenticated, \
             connection_status, monitoring_status, steering_status, last_data_at, lost_since, \
             first_seen_at, checked_at, removed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, NULL) \
             ON CONFLICT (device_id) DO NOTHING",
        )
        .bind(&id)
        .bind(user)
        .bind(kind.path_segment())
        .bind(&label)
        .bind(i64::from(d.is_authenticated))
        .bind(health(&d.connection_status))
        .bind(health(&d.monitoring_status))
        .bind(health(&d.steering_status))
        .bind(last_data)
        .bind((!d.is_authenticated).then_some(lost_since_first))
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(failed)?;
        let mut changes = Vec::new();
        let mut change = |kind, at| {
            changes.push(Change {
                device_id: d.id,
                kind,
                at,
                label: label.clone(),
            })
        };
        if inserted.rows_affected() == 1 {
            if known_user.is_some() {
                self.transition(user, d.id, TransitionKind::Added, now)
                    .await?;
                change(TransitionKind::Added, now);
            }
            if !d.is_authenticated {
                self.transition(user, d.id, TransitionKind::Lost, lost_since_first)
                    .await?;
                change(TransitionKind::Lost, lost_since_first);
            }
            return Ok(changes);
        }
        // Known: was it connected before, and when was it last seen so?
        let before: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT is_authenticated, checked_at, removed_at FROM watch_devices WHERE device_id = $1",
        )
        .bind(&id)
        .fetch_optional(&self.db)
        .await
        .map_err(failed)?;
        let Some((was_authenticated, checked_at, removed_at)) = before else {
            return Ok(changes);
        };
        if removed_at.is_some() {
            let back = sqlx::query(
                "UPDATE watch_devices SET removed_at = NULL WHERE device_id = $1 AND removed_at IS NOT NULL",
            )
            .bind(&id)
            .execute(&self.db)
            .await
            .map_err(failed)?;
            if back.rows_affected() == 1 {
                self.transition(user, d.id, TransitionKind::Added, now)
                    .await?;
                change(TransitionKind::Added, now);
            }
        }
        if was_authenticated == 1 && !d.is_authenticated {
            // Lost after it was last seen connected; its data says when.
            let since = last_data
                .filter(|t| *t <= now)
                .unwrap_or(now)
                .max(checked_at.min(now));
            let done = sqlx::query(
                "UPDATE watch_devices SET is_authenticated = 0, lost_since = $1 \
                 WHERE device_id = $2 AND is_authenticated = 1",
            )
            .bind(since)
            .bind(&id)
            .execute(&self.db)
            .await
            .map_err(failed)?;
            if done.rows_affected() == 1 {
                self.transition(user, d.id, TransitionKind::Lost, since)
                    .await?;
                change(TransitionKind::Lost, since);
            }
        } else if was_authenticated == 0 && d.is_authenticated {
            let done = sqlx::query(
                "UPDATE watch_devices SET is_authenticated = 1, lost_since = NULL \
                 WHERE device_id = $1 AND is_authenticated = 0",
            )
            .bind(&id)
            .execute(&self.db)
            .await
            .map_err(failed)?;
            if done.rows_affected() == 1 {
                self.transition(user, d.id, TransitionKind::Reconnected, now)
                    .await?;
                change(TransitionKind::Reconnected, now);
            }
        }
        sqlx::query(
            "UPDATE watch_devices SET label = $1, connection_status = $2, monitoring_status = $3, \
             steering_status = $4, last_data_at = $5, checked_at = $6 WHERE device_id = $7",
        )
        .bind(&label)
        .bind(health(&d.connection_status))
        .bind(health(&d.monitoring_status))
        .bind(health(&d.steering_status))
        .bind(last_data)
        .bind(now)
        .bind(&id)
        .execute(&self.db)
        .await
        .map_err(failed)?;
        Ok(changes)
    }

    async fn transition(
        &self,
        user: &str,
        device: Uuid,
        kind: TransitionKind,
        at: i64,
    ) -> Result<(), GatewayError> {
        sqlx::query(
            "INSERT INTO watch_transitions (device_id, user_id, kind, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(device.to_string())
        .bind(user.to_string())
        .bind(kind.as_str())
        .bind(at)
        .execute(&self.db)
        .await
        .map_err(failed)?;
        Ok(())
    }

    /// The user's devices were all read at `now`.
    pub async fn user_checked(&self, user: Uuid, now: i64) -> Result<(), GatewayError> {
        sqlx::query(
            "INSERT INTO watch_users (user_id, checked_at) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(user.to_string())
        .bind(now)
        .execute(&self.db)
        .await
        .map_err(failed)?;
        Ok(())
    }

    pub async fn progress(&self) -> Result<Progress, GatewayError> {
        let row = sqlx::query(
            "SELECT cursor, round_started_at, round_users_checked, rounds_completed, \
             last_round_finished_at, last_round_ms FROM watch_progress WHERE name = $1",
        )
        .bind(FLEET)
        .fetch_optional(&self.db)
        .await
        .map_err(failed)?;
        let Some(r) = row else {
            return Ok(Progress::default());
        };
        (|| -> Result<Progress, sqlx::Error> {
            Ok(Progress {
                cursor: r
                    .try_get::<Option<String>, _>("cursor")?
                    .and_then(|c| Uuid::parse_str(&c).ok()),
                round_started_at: r.try_get("round_started_at")?,
                round_users_checked: r.try_get("round_users_checked")?,
                rounds_completed: r.try_get("rounds_completed")?,
                last_round_finished_at: r.try_get("last_round_finished_at")?,
                last_round_ms: r.try_get("last_round_ms")?,
            })
        })()
        .map_err(failed)
    }

    pub async fn save_progress(&self, p: &Progress) -> Result<(), GatewayError> {
        sqlx::query(
            "INSERT INTO watch_progress (name, cursor, round_started_at, round_users_checked, \
             rounds_completed, last_round_finished_at, last_round_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, \
             round_started_at = excluded.round_started_at, \
             round_users_checked = excluded.round_users_checked, \
             rounds_completed = excluded.rounds_completed, \
             last_round_finished_at = excluded.last_round_finished_at, \
             last_round_ms = excluded.last_round_ms",
        )
        .bind(FLEET)
        .bind(p.cursor.map(|c| c.to_string()))
        .bind(p.round_started_at)
        .bind(p.round_users_checked)
        .bind(p.rounds_completed)
        .bind(p.last_round_finished_at)
        .bind(p.last_round_ms)
        .execute(&self.db)
        .await
        .map_err(failed)?;
        Ok(())
    }

    /// Devices known (not removed), and lost now.
    pub async fn device_counts(&self) -> Result<(u64, u64), GatewayError> {
        let (all, lost): (i64, Option<i64>) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), \
             CAST(SUM(CASE WHEN is_authenticated = 0 THEN 1 ELSE 0 END) AS BIGINT) \
             FROM watch_devices WHERE removed_at IS NULL",
        )
        .fetch_one(&self.db)
        .await
        .map_err(failed)?;
        Ok((all.max(0) as u64, lost.unwrap_or(0).max(0) as u64))
    }

    /// What the watch knows of one user.
    pub async fn user(&self, user: Uuid) -> Result<WatchedUser, GatewayError> {
        let user_s = user.to_string();
        let checked_at: Option<i64> =
            sqlx::query_scalar("SELECT checked_at FROM watch_users WHERE user_id = $1")
                .bind(&user_s)
                .fetch_optional(&self.db)
                .await
                .map_err(failed)?;
        let rows = sqlx::query(
            "SELECT device_id, kind, label, is_authenticated, connection_status, monitoring_status, \
             steering_status, last_data_at, lost_since, checked_at, removed_at \
             FROM watch_devices WHERE user_id = $1 ORDER BY kind, label, device_id",
        )
        .bind(&user_s)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?;
        let devices = rows
            .iter()
            .map(|r| -> Result<Option<WatchedDevice>, sqlx::Error> {
                let id: String = r.try_get("device_id")?;
                let kind: String = r.try_get("kind")?;
                let (Ok(device_id), Some(kind)) =
                    (Uuid::parse_str(&id), DeviceKind::from_path_segment(&kind))
                else {
                    return Ok(None);
                };
                Ok(Some(WatchedDevice {
                    device_id,
                    kind,
                    label: r.try_get("label")?,
                    is_authenticated: r.try_get::<i64, _>("is_authenticated")? == 1,
                    connection_status: r.try_get("connection_status")?,
                    monitoring_status: r.try_get("monitoring_status")?,
                    steering_status: r.try_get("steering_status")?,
                    last_data_at: r.try_get::<Option<i64>, _>("last_data_at")?.map(to_time),
                    lost_since: r.try_get::<Option<i64>, _>("lost_since")?.map(to_time),
                    checked_at: to_time(r.try_get("checked_at")?),
                    removed_at: r.try_get::<Option<i64>, _>("removed_at")?.map(to_time),
                }))
            })
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        let transitions = sqlx::query(
            "SELECT device_id, kind, at FROM watch_transitions WHERE user_id = $1 \
             ORDER BY at DESC, id DESC LIMIT 50",
        )
        .bind(&user_s)
        .fetch_all(&self.db)
        .await
        .map_err(failed)?
        .iter()
        .map(|r| -> Result<Option<Transition>, sqlx::Error> {
            let id: String = r.try_get("device_id")?;
            let kind: String = r.try_get("kind")?;
            Ok(match (Uuid::parse_str(&id), TransitionKind::parse(&kind)) {
                (Ok(device_id), Some(kind)) => Some(Transition {
                    device_id,
                    kind,
                    at: to_time(r.try_get("at")?),
                }),
                _ => None,
            })
        })
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
        Ok(WatchedUser {
            user_id: user,
            checked_at: checked_at.map(to_time),
            devices,
            transitions,
        })
    }
}
