//! Every JSON example of REFERENCE.md (and the seed documents) for the
//! shared types deserialises, and round-trips: deserialise -> serialise ->
//! deserialise gives the same value.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use shared::*;

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(example: Value) -> T {
    let first: T =
        serde_json::from_value(example.clone()).unwrap_or_else(|e| panic!("{e}: {example}"));
    let again: T = serde_json::from_value(serde_json::to_value(&first).unwrap()).unwrap();
    assert_eq!(first, again);
    first
}

/// REFERENCE.md 2.2.3 (current API reference, by-ext-id response).
fn user_example() -> Value {
    json!({
      "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
      "organization_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
      "role": "admin",
      "email": "<string>",
      "num_inverters": 123,
      "num_heat_pumps": 123,
      "num_electric_vehicles": 123,
      "num_wallboxes": 123,
      "external_user_id": "<string>",
      "first_name": "<string>",
      "last_name": "<string>",
      "is_onboarded": true,
      "street_and_number": "<string>",
      "street_add_info": "<string>",
      "zip_code": "<string>",
      "town": "<string>",
      "country": "<string>",
      "latitude": 123,
      "longitude": 123,
      "last_login": "2023-11-07T05:31:56Z",
      "joined_at": "2023-11-07T05:31:56Z"
    })
}

/// REFERENCE.md 2.3, the block all four device types share.
fn device_example() -> Value {
    json!({
      "connection_status": "ok",
      "monitoring_status": "ok",
      "steering_status": "ok",
      "device_model": {
        "device_type": {"short_name": "<string>", "long_name": "<string>"},
        "manufacturer": "<string>",
        "model": "<string>",
        "cloud_service_instructions": "<string>",
        "cloud_service_signup_link": "<string>",
        "year": 123,
        "cloud_service": "3c90c3cc-0d44-4b50-8888-8dd25736052a"
      },
      "owner": {
        "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "email": "<string>",
        "first_name": "<string>",
        "last_name": "<string>",
        "external_id": "<string>"
      },
      "created_at": "2023-11-07T05:31:56Z",
      "updated_at": "2023-11-07T05:31:56Z",
      "price_zone": "AT",
      "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
      "deleted_at": "2023-11-07T05:31:56Z",
      "lifecycle_state": "authenticated",
      "lifecycle_error": "<string>",
      "building": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
      "pause_power_until": "2023-11-07T05:31:56Z",
      "is_pause_power_active": false,
      "external_device_id": "",
      "is_authenticated": false,
      "is_smart_optimization_active": false,
      "optimization_score": 123,
      "current_mode": "<string>",
      "comment": "<string>",
      "current_state_last_updated_at": "2023-11-07T05:31:56Z",
      "last_monitoring_executed_at": "2023-11-07T05:31:56Z",
      "is_inverter_forced_mode_enabled": false,
      "is_inverter_forced_mode_active": false,
      "inverter_forced_mode_since": "0001-01-01T00:00:00Z",
      "is_trading_enabled": false,
      "actual_steering_state": "unknown"
    })
}

#[test]
fn user_current_shape() {
    let u: User = round_trip(user_example());
    assert_eq!(u.role, Role::Admin);
    assert_eq!(u.num_wallboxes, 123);
    assert_eq!(u.latitude, Some(123.0));
    assert!(u.last_login.is_some());
}

#[test]
fn user_older_guide_shape() {
    let u: User = round_trip(json!({
      "id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
      "external_user_id": null,
      "role": "user",
      "email": "…",
      "first_name": null,
      "last_name": null,
      "street_and_number": null,
      "street_add_info": null,
      "zip_code": null,
      "town": null,
      "country": null,
      "latitude": null,
      "longitude": null,
      "location_last_updated": null
    }));
    assert_eq!(u.organization_id, None);
    assert_eq!(u.num_devices(), 0);
}

#[test]
fn unknown_fields_are_tolerated() {
    let mut v = user_example();
    v["a_field_podero_added_later"] = json!({"nested": [1, 2]});
    let _: User = serde_json::from_value(v).unwrap();
    let mut d = device_example();
    d["brand_new_flag"] = json!(true);
    let _: HeatPump = serde_json::from_value(d).unwrap();
}

#[test]
fn common_device_block_as_each_type() {
    let hp: HeatPump = round_trip(device_example());
    assert!(!hp.common.is_authenticated);
    assert_eq!(hp.common.connection_status, HealthStatus::Ok);
    let _: ElectricVehicle = round_trip(device_example());
    let _: Wallbox = round_trip(device_example());
    let _: Inverter = round_trip(device_example());
    // Unknown status values degrade to `unknown`, not to an error.
    let mut d = device_example();
    d["connection_status"] = json!("degraded");
    let hp: HeatPump = serde_json::from_value(d).unwrap();
    assert_eq!(hp.common.connection_status, HealthStatus::Unknown);
}

#[test]
fn device_type_specific_examples() {
    let mut ev = device_example();
    ev["charge_target_min"] = json!(50);
    ev["boost_state"] = json!("available");
    let ev: ElectricVehicle = round_trip(ev);
    assert_eq!(ev.charge_target_min, Some(50.0));
    let mut wb = device_example();
    for (k, v) in [
        ("charge_target_min", json!(50)),
        ("charge_target_max", json!(80)),
        ("charge_power_max_w", json!(7000)),
        ("minimum_charge_limit", json!(80)),
        ("charge_deadline_at", json!("2023-11-07T05:31:56Z")),
        ("mode", json!("READY")),
        ("connection", json!("online")),
    ] {
        wb[k] = v;
    }
    let wb: Wallbox = round_trip(wb);
    assert_eq!(wb.charge_power_max_w, Some(7000.0));
    let mut iv = device_example();
    iv["solar_power_rating_kw"] = json!(9.9);
    iv["is_battery_connected"] = json!(true);
    let iv: Inverter = round_trip(iv);
    assert_eq!(iv.is_battery_connected, Some(true));
}

#[test]
fn heat_pump_write_body() {
    let w: HeatPumpWrite = round_trip(json!({
      "is_pause_power_active": false,
      "is_smart_optimization_active": false,
      "device_model": {
        "device_type": {"short_name": "<string>", "long_name": "<string>"},
        "manufacturer": "<string>",
        "model": "<string>",
        "year": 123,
        "cloud_service_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"
      },
      "price_zone": "AT",
      "deleted_at": "2023-11-07T05:31:56Z",
      "lifecycle_state": "authenticated",
      "lifecycle_error": "<string>",
      "building_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
      "pause_power_until": "2023-11-07T05:31:56Z",
      "optimization_score": 123,
      "comment": "<string>",
      "last_monitoring_executed_at": "2023-11-07T05:31:56Z",
      "is_inverter_forced_mode_enabled": false,
      "is_trading_enabled": false,
      "actual_steering_state": "unknown",
      "indoor_target_temperature_offset": 123,
      "dhw_standard_temperature": 123,
      "is_hot_water_heating_enabled": false,
      "is_space_heating_enabled": false,
      "is_pool_heating_enabled": false,
      "is_space_cooling_enabled": false,
      "heating_policy_name": "<string>",
      "maximum_temperature_limit": 123,
      "minimum_temperature_limit": 123,
      "minimum_dhw_temperature_limit": 123,
      "is_heating_policy_enabled": false,
      "away_mode_start": "2023-11-07T05:31:56Z",
      "away_mode_end": "2023-11-07T05:31:56Z",
      "is_away_mode_enabled": true,
      "away_mode_minimum_temperature_limit": 123,
      "optimization_level": "Mid"
    }));
    assert_eq!(w.optimization_level.as_deref(), Some("Mid"));
    assert!(w.common.building_id.flatten().is_some());
}

#[test]
fn building_object_and_write_bodies() {
    let b: Building = round_trip(json!({
      "name": "<string>",
      "property_type": "<string>",
      "property_size_m2": 123,
      "property_age": 123,
      "num_occupants": 123,
      "occupant_type": "<string>",
      "space_heating": "<string>",
      "water_heating": "<string>",
      "photovoltaic": false,
      "street_and_number": "<string>",
      "street_add_info": "<string>",
      "zip_code": "<string>",
      "town": "<string>",
      "country": "<string>",
      "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    }));
    assert_eq!(b.num_occupants, Some(123));
    // Guide: create with just a name.
    let w: BuildingWrite = round_trip(json!({"name": "Main House"}));
    assert_eq!(
        serde_json::to_value(&w).unwrap(),
        json!({"name": "Main House"})
    );
}

#[test]
fn token_request_and_response() {
    let r: TokenRequest = round_trip(json!({"grant_type": "client_credentials"}));
    assert_eq!(r, TokenRequest::client_credentials());
    let t: TokenResponse = round_trip(json!({
      "access_token": "PaZDOD5UwzbGOFsQr34LQ7JUYOj3yK",
      "expires_in": 36000,
      "token_type": "Bearer",
      "scope": "read write"
    }));
    assert_eq!(t.expires_in, 36000);
    assert!(
        !format!("{t:?}").contains("PaZDOD5U"),
        "Debug must not print the token"
    );
}

#[test]
fn auth_session_request_and_response() {
    let _: AuthSessionRequest =
        round_trip(json!({"success_url": "https://www.success.com", "cancel_url": null}));
    let r: AuthSessionResponse = round_trip(json!({
      "authentication_url": "https://connect.podero.com?onboarding_session_id=497f6eca-6276-4993-bfeb-53cbbbba6f08",
      "device_id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
      "session_id": "a169451c-8525-4352-b8ca-070dd449a1a5"
    }));
    assert!(r.authentication_url.is_some());
}

#[test]
fn api_error_bodies() {
    let e: ApiError = round_trip(json!({"detail": "Not found."}));
    assert_eq!(e.summary(), "Not found.");
    let e: ApiError = round_trip(
        json!({"detail": [{"type": "unique", "loc": ["body", "email"], "msg": "taken"}]}),
    );
    assert_eq!(e.field_message("email"), Some("taken"));
    let _: OAuthError = round_trip(json!({"error": "invalid_client"}));
}

#[test]
fn seed_document_bodies() {
    // user-management-guide.txt, "Create New User".
    let c: CreateUser = round_trip(json!({
        "role": "user",
        "email": "john.doe@example.com",
        "external_user_id": "customer_12345",
        "first_name": "John",
        "last_name": "Doe"
    }));
    assert!(c.validate().is_ok());
    // "Update User Data".
    let u: UpdateUser = round_trip(json!({
        "first_name": "Peter",
        "last_name": "Schmidt",
        "street_and_number": "Main Street 123",
        "zip_code": "10115",
        "town": "Berlin",
        "country_iso2": "DE"
    }));
    assert!(u.validate().is_ok());
    assert_eq!(u.country_iso2, Some(Some("DE".into())));
    assert_eq!(u.email, None);
}

#[test]
fn partial_update_sends_only_what_is_set_and_null_clears() {
    let mut u = UpdateUser::default();
    assert!(u.is_empty());
    assert_eq!(serde_json::to_value(&u).unwrap(), json!({}));
    u.external_user_id = Some(Some("12345abc".into()));
    u.street_add_info = Some(None);
    assert_eq!(
        serde_json::to_value(&u).unwrap(),
        json!({"external_user_id": "12345abc", "street_add_info": null})
    );
    let back: UpdateUser = serde_json::from_value(json!({"street_add_info": null})).unwrap();
    assert_eq!(back.street_add_info, Some(None));
    assert_eq!(back.town, None);
}
