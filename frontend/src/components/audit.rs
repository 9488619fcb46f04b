//! Pieces of the audit trail shared by the audit page and a user's change
//! history: what an operation was, by its label in the language of the
//! moment ("User changed"; the code, `user.update`, in its tooltip and as
//! the text of a code this app does not know), the field changes of an
//! operation, one line each by the field's label (`First name: "Anna" →
//! "Anne"`, `State: Open → Resolved`: codes the app labels by their label;
//! a field without a label by its name), who made it, an operation whose
//! outcome could not be recorded
//! (status `0`: "Outcome not recorded"), and how many refused requests one
//! entry folds together ("× 37 requests").

use leptos::prelude::*;
use shared::audit_action::action_label;
use shared::cases::{CaseKind, CaseState, Priority};
use shared::device::{known_lifecycle_error_label, known_lifecycle_label};
use shared::staff::{AuditEntry, FieldChange, StaffRole};
use shared::{Lang, Role};

use crate::format::count as number;
use crate::i18n::{lang, t, t_with, tr, tx};
use crate::pages::user_form::fields::Field;

/// A JSON value as compact text: strings quoted, `null` as a dash.
pub fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".to_string(),
        other => serde_json::to_string(other).unwrap_or_else(|_| other.to_string()),
    }
}

/// A changed field's label (tracked): the user form's for a user field,
/// else the label the app gives that field elsewhere (case page, device
/// card, building list, …) or one of its own (`audit.field.*`), else its
/// name. [`RECORDED`] lists what the gateway records.
pub fn field_label(name: &str) -> String {
    field_key(name).map_or_else(|| name.to_string(), t)
}

/// The catalog key of a changed field's label, if the app has one.
fn field_key(name: &str) -> Option<&'static str> {
    if let Some(field) = Field::from_name(name) {
        return Some(field.label_key());
    }
    Some(match name {
        // Cases (gateway/src/cases/mod.rs, routes/cases.rs).
        "state" => "case_page.state",
        "assignee" => "case_page.assignee",
        "priority" => "case_page.priority",
        "subject" => "user_cases.field_subject",
        "kind" => "case_page.kind",
        "device_id" => "case_page.device",
        "comment" => "case_page.comment_label",
        // Self-service links and messages (routes/self_service.rs).
        "self_service_link" => "self_service.title",
        "self_service_email" => "self_service.send_to",
        "case_id" => "case_page.number",
        // The account's and a message's language (routes/session.rs).
        "language" => "app.language",
        // Buildings (forwarded writes, `shared::BuildingWrite`).
        "name" => "audit.field.name",
        "property_type" => "user_detail.building_type",
        "property_size_m2" => "user_detail.building_size",
        "property_age" => "audit.field.property_age",
        "num_occupants" => "user_detail.building_occupants",
        "occupant_type" => "audit.field.occupant_type",
        "space_heating" => "user_detail.building_space_heating",
        "water_heating" => "user_detail.building_water_heating",
        "photovoltaic" => "user_detail.building_photovoltaic",
        // Devices (forwarded writes: the fields every device kind has).
        "building_id" | "building" => "user_detail.building",
        "is_smart_optimization_active" => "device.optimisation",
        "lifecycle_state" => "device.lifecycle",
        "lifecycle_error" => "audit.field.lifecycle_error",
        "is_pause_power_active" => "audit.field.is_pause_power_active",
        "pause_power_until" => "audit.field.pause_power_until",
        "device_model" => "audit.field.device_model",
        "price_zone" => "audit.field.price_zone",
        "deleted_at" => "audit.field.deleted_at",
        "optimization_score" => "audit.field.optimization_score",
        "last_monitoring_executed_at" => "audit.field.last_monitoring_executed_at",
        "is_inverter_forced_mode_enabled" => "audit.field.is_inverter_forced_mode_enabled",
        "is_trading_enabled" => "audit.field.is_trading_enabled",
        "actual_steering_state" => "audit.field.actual_steering_state",
        "is_forecasting_enabled" => "audit.field.is_forecasting_enabled",
        "external_device_id" => "audit.field.external_device_id",
        // A device kind's own settings (forwarded writes: `shared`'s
        // `HeatPumpWrite`, `ElectricVehicleWrite`, `WallboxWrite` and
        // `InverterWrite`, REFERENCE.md 2.4–2.7), with the names of the
        // older attribute pages a client may still send.
        "optimization_level" => "audit.field.optimization_level",
        "indoor_target_temperature_offset" => "audit.field.indoor_target_temperature_offset",
        "dhw_standard_temperature" => "audit.field.dhw_standard_temperature",
        "is_hot_water_heating_enabled" => "audit.field.is_hot_water_heating_enabled",
        "is_space_heating_enabled" => "audit.field.is_space_heating_enabled",
        "is_pool_heating_enabled" => "audit.field.is_pool_heating_enabled",
        "is_space_cooling_enabled" => "audit.field.is_space_cooling_enabled",
        "heating_policy_name" => "audit.field.heating_policy_name",
        "is_heating_policy_enabled" => "audit.field.is_heating_policy_enabled",
        "maximum_temperature_limit" => "audit.field.maximum_temperature_limit",
        "minimum_temperature_limit" => "audit.field.minimum_temperature_limit",
        "minimum_dhw_temperature_limit" => "audit.field.minimum_dhw_temperature_limit",
        "is_away_mode_enabled" => "audit.field.is_away_mode_enabled",
        "away_mode_start" => "audit.field.away_mode_start",
        "away_mode_end" => "audit.field.away_mode_end",
        "away_mode_minimum_temperature_limit" => "audit.field.away_mode_minimum_temperature_limit",
        "away_mode_minimum_dhw_temperature_limit" => {
            "audit.field.away_mode_minimum_dhw_temperature_limit"
        }
        "is_charge_policy_enabled" => "audit.field.is_charge_policy_enabled",
        "charge_deadline_at" => "audit.field.charge_deadline_at",
        "minimum_charge_limit" => "audit.field.minimum_charge_limit",
        "charge_target_min" => "audit.field.charge_target_min",
        "charge_target_max" => "audit.field.charge_target_max",
        "charge_limit_min" => "audit.field.charge_limit_min",
        "charge_limit_max" => "audit.field.charge_limit_max",
        "is_over_charge_allowed" => "audit.field.is_over_charge_allowed",
        "charge_power_max_w" => "audit.field.charge_power_max_w",
        "solar_power_rating_kw" => "audit.field.solar_power_rating_kw",
        "is_battery_connected" => "audit.field.is_battery_connected",
        "battery_capacity_kwh" => "audit.field.battery_capacity_kwh",
        "min_battery_charge" => "audit.field.min_battery_charge",
        "max_battery_charge" => "audit.field.max_battery_charge",
        "battery_policy" => "audit.field.battery_policy",
        "device_model_id" => "audit.field.device_model",
        "pause_power_active" => "audit.field.is_pause_power_active",
        "pause_power_until_utc" => "audit.field.pause_power_until",
        // A device's reconnection link (`shared::AuthSessionRequest`).
        "success_url" => "audit.field.success_url",
        "cancel_url" => "audit.field.cancel_url",
        _ => return None,
    })
}

/// Every field name the gateway records in a change, for the test that
/// each has a label. Where they come from:
/// - cases: `gateway/src/cases/mod.rs` (`change(..)`: state, assignee,
///   priority, subject) and `gateway/src/routes/cases.rs` (a new case's
///   kind, subject, priority, device_id; a comment);
/// - self-service: `gateway/src/routes/self_service.rs` (link created or
///   revoked; a message's address, language and case);
/// - the team: `gateway/src/routes/team.rs` (an invitation's e-mail,
///   names and role; a role change);
/// - the account's language: `gateway/src/routes/session.rs`;
/// - the CSV sync: `gateway/src/sync/diff.rs` and `sync/mod.rs` (a
///   `CreateUser` / `UpdateUser` body, `shared::sync::SyncField` names);
/// - forwarded Podero writes, `gateway/src/routes/proxy.rs`
///   (`audit::created` / `audit::diff` of the body): users (`CreateUser`,
///   `UpdateUser`; Podero answers `country`), buildings (`BuildingWrite`),
///   a reconnection link's request (`AuthSessionRequest`), and devices:
///   every field of the four kinds' write bodies, read from `shared`'s
///   types by [`device_write_fields`] rather than listed here, plus the
///   names of REFERENCE.md's older attribute pages listed below (`building`,
///   `device_model_id`, …). Any other key a client sends is shown by name.
#[cfg(test)]
const RECORDED: &[&str] = &[
    "state",
    "assignee",
    "priority",
    "subject",
    "kind",
    "device_id",
    "comment",
    "self_service_link",
    "self_service_email",
    "language",
    "case_id",
    "email",
    "first_name",
    "last_name",
    "role",
    "external_user_id",
    "street_and_number",
    "street_add_info",
    "zip_code",
    "town",
    "country_iso2",
    "country",
    "latitude",
    "longitude",
    "name",
    "property_type",
    "property_size_m2",
    "property_age",
    "num_occupants",
    "occupant_type",
    "space_heating",
    "water_heating",
    "photovoltaic",
    "success_url",
    "cancel_url",
    // Devices: the older attribute pages' names (REFERENCE.md 2.4–2.7).
    "building",
    "device_model_id",
    "pause_power_active",
    "pause_power_until_utc",
    "away_mode_minimum_dhw_temperature_limit",
    "charge_limit_min",
    "charge_limit_max",
    "battery_policy",
];

/// Every field of the four device kinds' write bodies (`shared`'s
/// `HeatPumpWrite`, ...), what a forwarded device write records: each body
/// built with every field set (no `..Default::default()`, so a field added
/// in `shared` does not compile here until it is set, and then needs a
/// label) and its keys read back.
#[cfg(test)]
fn device_write_fields() -> Vec<String> {
    use shared::device::DeviceModelWrite;
    use shared::{
        DeviceWriteCommon, ElectricVehicleWrite, HeatPumpWrite, InverterWrite, WallboxWrite,
    };
    let (yes, n, text, at) = (
        Some(true),
        Some(1.0),
        Some("x".to_string()),
        Some(chrono::DateTime::UNIX_EPOCH),
    );
    let common = DeviceWriteCommon {
        is_pause_power_active: yes,
        is_smart_optimization_active: yes,
        device_model: Some(DeviceModelWrite::default()),
        price_zone: text.clone(),
        deleted_at: at,
        lifecycle_state: text.clone(),
        lifecycle_error: text.clone(),
        building_id: Some(None),
        pause_power_until: Some(None),
        optimization_score: n,
        comment: Some(None),
        last_monitoring_executed_at: at,
        is_inverter_forced_mode_enabled: yes,
        is_trading_enabled: yes,
        actual_steering_state: text.clone(),
        is_forecasting_enabled: yes,
        external_device_id: text.clone(),
    };
    let bodies = [
        serde_json::to_value(HeatPumpWrite {
            common: common.clone(),
            optimization_level: text.clone(),
            indoor_target_temperature_offset: n,
            dhw_standard_temperature: n,
            is_hot_water_heating_enabled: yes,
            is_space_heating_enabled: yes,
            is_pool_heating_enabled: yes,
            is_space_cooling_enabled: yes,
            heating_policy_name: text.clone(),
            maximum_temperature_limit: n,
            minimum_temperature_limit: n,
            minimum_dhw_temperature_limit: n,
            is_heating_policy_enabled: yes,
            away_mode_start: at,
            away_mode_end: at,
            is_away_mode_enabled: yes,
            away_mode_minimum_temperature_limit: n,
        }),
        serde_json::to_value(ElectricVehicleWrite {
            common: common.clone(),
            is_charge_policy_enabled: yes,
            charge_deadline_at: text.clone(),
            minimum_charge_limit: n,
            charge_target_min: n,
        }),
        serde_json::to_value(WallboxWrite {
            common: common.clone(),
            charge_target_min: n,
            charge_target_max: n,
            charge_power_max_w: n,
            is_charge_policy_enabled: yes,
            minimum_charge_limit: n,
            charge_deadline_at: text.clone(),
            is_over_charge_allowed: yes,
        }),
        serde_json::to_value(InverterWrite {
            common,
            solar_power_rating_kw: n,
            is_battery_connected: yes,
            battery_capacity_kwh: n,
            min_battery_charge: n,
            max_battery_charge: n,
        }),
    ];
    let mut names: Vec<String> = bodies
        .iter()
        .flat_map(|b| b.as_ref().unwrap().as_object().unwrap().keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A changed value as text (tracked): a code the app labels (a role, a
/// case's state, priority or kind, a device's lifecycle state or error, a
/// language, a self-service link's state) by its label in the language of
/// the moment, any other value as [`show_value`] writes it.
pub fn value_label(field: &str, v: &serde_json::Value) -> String {
    value_label_in(field, v, lang())
}

/// [`value_label`] in `lang`.
fn value_label_in(field: &str, v: &serde_json::Value, lang: Lang) -> String {
    let Some(code) = v.as_str() else {
        return show_value(v);
    };
    let label = match field {
        "role" => Role::parse(code)
            .map(|r| r.label_in(lang))
            .or_else(|| StaffRole::parse(code).map(|r| r.label_in(lang))),
        "state" => CaseState::parse(code).map(|s| s.label(lang)),
        "priority" => Priority::parse(code).map(|p| p.label(lang)),
        "kind" => CaseKind::parse(code).map(|k| k.label(lang)),
        "lifecycle_state" => known_lifecycle_label(code, lang),
        "lifecycle_error" => known_lifecycle_error_label(code, lang),
        "language" => Lang::parse(code).map(|l| l.native_name().to_string()),
        "self_service_link" => match code {
            "active" => Some(tr(lang, "self_service.state_active", &[])),
            "revoked" => Some(tr(lang, "self_service.state_revoked", &[])),
            _ => None,
        },
        _ => None,
    };
    label.unwrap_or_else(|| show_value(v))
}

/// One change as a line (tracked): `Field: from → to`.
pub fn change_line(c: &FieldChange) -> String {
    format!(
        "{}: {} → {}",
        field_label(&c.field),
        value_label(&c.field, &c.from),
        value_label(&c.field, &c.to)
    )
}

/// Who made an operation: their e-mail, or a dash (before sign-in).
pub fn actor(entry: &AuditEntry) -> String {
    crate::format::or_dash(entry.actor_email.as_deref())
}

/// The answer's status was not recorded: the operation was started (its
/// intent is in the trail) but whether it succeeded is unknown.
pub fn outcome_unknown(entry: &AuditEntry) -> bool {
    entry.status == 0
}

/// The answer was an error (refused or failed); an unknown outcome
/// (status `0`) is not.
pub fn is_failure(entry: &AuditEntry) -> bool {
    entry.status >= 400
}

/// What an operation was: its label (tracked), the code in `data-action`
/// and, with `note` (e.g. the request's route), in the tooltip.
#[component]
pub fn Action(code: String, #[prop(optional, into)] note: Option<String>) -> impl IntoView {
    let tooltip = match note {
        Some(note) => format!("{code} · {note}"),
        None => code.clone(),
    };
    let label = code.clone();
    view! {
        <span class="audit-action" data-testid="audit-action" data-action=code title=tooltip>
            {move || action_label(&label, lang())}
        </span>
    }
}

/// "Outcome not recorded", for an entry with status `0`.
#[component]
pub fn OutcomeNotRecorded() -> impl IntoView {
    view! {
        <span class="badge warn" data-testid="audit-status" data-outcome="unknown"
              title=tx!("audit.outcome_not_recorded_title")>
            {tx!("audit.outcome_not_recorded")}
        </span>
    }
}

/// "× N requests" when an entry stands for more than one request.
#[component]
pub fn RequestCount(count: u32) -> impl IntoView {
    (count > 1).then(|| {
        view! {
            <span class="badge" data-testid="audit-repeats"
                  title=tx!("audit.repeats_title")>
                {move || t_with("audit.repeats", &[("count", &number(count))])}
            </span>
        }
    })
}

/// The field changes of one operation, one line each (a dash for none).
#[component]
pub fn Changes(changes: Vec<FieldChange>) -> impl IntoView {
    if changes.is_empty() {
        return view! { <span class="changes muted" data-testid="audit-changes">"—"</span> }
            .into_any();
    }
    view! {
        <span class="changes" data-testid="audit-changes">
            {changes
                .iter()
                .map(|c| {
                    let (c, name) = (c.clone(), c.field.clone());
                    view! {
                        <span class="change" data-field=name.clone() title=name>
                            {move || change_line(&c)}
                        </span>
                    }
                })
                .collect_view()}
        </span>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_fields_by_the_apps_labels_and_others_by_name() {
        let line = |field: &str| {
            change_line(&FieldChange {
                field: field.to_string(),
                from: json!("AT"),
                to: json!(null),
            })
        };
        assert_eq!(line("country_iso2"), "Country: \"AT\" → —");
        assert_eq!(line("country"), "Country: \"AT\" → —");
        assert_eq!(field_label("first_name"), "First name");
        assert_eq!(field_label("subject"), "Subject");
        assert_eq!(
            line("is_smart_optimization_active"),
            "Optimisation: \"AT\" → —"
        );
        assert_eq!(
            line("minimum_temperature_limit"),
            "Lowest room temperature: \"AT\" → —"
        );
        assert_eq!(line("x_own_setting"), "x_own_setting: \"AT\" → —");
        assert_eq!(field_label(""), "");
    }

    /// Every name in [`RECORDED`] and every device write body's field
    /// ([`device_write_fields`]: what the gateway records) has a label in
    /// English and in German.
    #[test]
    fn every_recorded_field_has_a_label_in_both_languages() {
        let devices = device_write_fields();
        // The kinds' own settings are among them (a heat pump's, an EV's,
        // a wallbox's, an inverter's).
        for name in [
            "minimum_temperature_limit",
            "minimum_charge_limit",
            "charge_power_max_w",
            "max_battery_charge",
        ] {
            assert!(devices.iter().any(|d| d == name), "{name} in {devices:?}");
        }
        let names = RECORDED
            .iter()
            .copied()
            .chain(devices.iter().map(String::as_str));
        for name in names {
            let key = field_key(name).unwrap_or_else(|| panic!("{name} has no label"));
            for lang in [Lang::En, Lang::De] {
                let text = tr(lang, key, &[]);
                assert!(text != key && !text.is_empty(), "{name}: {key} in {lang:?}");
                assert!(!text.contains('_'), "{name}: {text:?} in {lang:?}");
            }
        }
        let de = |name| tr(Lang::De, field_key(name).unwrap(), &[]);
        assert_eq!(de("subject"), "Betreff");
        assert_ne!(
            de("lifecycle_error"),
            tr(Lang::En, "audit.field.lifecycle_error", &[])
        );
    }

    #[test]
    fn codes_read_as_labels_and_other_values_as_they_are() {
        let v = |field: &str, value: serde_json::Value, lang| value_label_in(field, &value, lang);
        assert_eq!(v("role", json!("user"), Lang::En), "End-user");
        assert_eq!(v("role", json!("user"), Lang::De), "Endkunde");
        assert_eq!(v("role", json!("viewer"), Lang::De), "Nur Lesen");
        assert_eq!(
            v("state", json!("resolved"), Lang::En),
            CaseState::Resolved.label(Lang::En)
        );
        assert_ne!(v("state", json!("open"), Lang::En), "\"open\"");
        assert_eq!(
            v("lifecycle_state", json!("authenticated"), Lang::De),
            "Verbunden"
        );
        assert_eq!(v("language", json!("de"), Lang::En), "Deutsch");
        assert_eq!(
            v("self_service_link", json!("revoked"), Lang::En),
            "Revoked"
        );
        assert_eq!(
            v("lifecycle_error", json!("auth_expired"), Lang::De),
            "Anmeldung beim Hersteller abgelaufen"
        );
        // A code nobody labels, a state of another field, and non-text
        // values are shown as they are.
        assert_eq!(
            v("lifecycle_error", json!("sensor_gone"), Lang::En),
            "\"sensor_gone\""
        );
        assert_eq!(
            v("lifecycle_state", json!("paired"), Lang::En),
            "\"paired\""
        );
        assert_eq!(v("subject", json!("open"), Lang::En), "\"open\"");
        assert_eq!(v("state", json!("paired"), Lang::En), "\"paired\"");
        assert_eq!(v("role", json!(null), Lang::En), "—");
        assert_eq!(v("latitude", json!(48.2), Lang::En), "48.2");
    }
}
