//! Deterministic demo data: an organisation of German and Austrian
//! customers with heat pumps, EVs, wallboxes and solar inverters.
//!
//! The same seed and size always give the same organisation, ids and
//! timestamps included: everything is generated against a fixed reference
//! instant ([`reference_time`], 2026-11-01T08:00:00Z) with a splitmix64
//! PRNG. Only writes made at runtime carry the real clock's time (and, when
//! a data directory is seeded, the demo's reconnection sessions and the
//! moments its lost devices lost their connection move to the clock: see
//! `state::Emulator::open`). About one device in eleven has lost its
//! manufacturer connection (2 hours to 4 days before the reference instant)
//! and carries a reconnection link, so the support journey has something to
//! work on from the first start.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use shared::{Building, Device, DeviceKind, HealthStatus, Role, User};
use uuid::Uuid;

use crate::connection::{connect_path, device_common_mut, disconnect, is_lost, AuthSession};
use crate::store::{OrgMeta, Record, Rows, Seeder, StoreError};

/// Small, fast, deterministic PRNG (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    pub fn uuid(&mut self) -> Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid()
    }
}

/// The instant demo data is generated against.
pub fn reference_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

const FIRST: &[&str] = &[
    "Anna",
    "Lena",
    "Sophie",
    "Marie",
    "Laura",
    "Julia",
    "Katharina",
    "Elisabeth",
    "Johanna",
    "Theresa",
    "Sabine",
    "Petra",
    "Monika",
    "Ursula",
    "Birgit",
    "Claudia",
    "Andrea",
    "Barbara",
    "Eva",
    "Magdalena",
    "Lukas",
    "Maximilian",
    "Jakob",
    "Felix",
    "Paul",
    "Tobias",
    "Florian",
    "Stefan",
    "Thomas",
    "Michael",
    "Andreas",
    "Markus",
    "Christian",
    "Wolfgang",
    "Jürgen",
    "Günter",
    "Klaus",
    "Matthias",
    "Sebastian",
    "Jonas",
    "Leon",
    "Niklas",
    "Simon",
    "David",
    "Georg",
    "Josef",
    "Franz",
    "Herbert",
    "Helmut",
    "Björn",
];
const LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Gruber",
    "Huber",
    "Bauer",
    "Wagner",
    "Pichler",
    "Steiner",
    "Moser",
    "Mayer",
    "Hofer",
    "Leitner",
    "Berger",
    "Fuchs",
    "Eder",
    "Fischer",
    "Schmid",
    "Winkler",
    "Weber",
    "Schwarz",
    "Maier",
    "Schneider",
    "Reiter",
    "Mayr",
    "Brunner",
    "Lang",
    "Baumgartner",
    "Auer",
    "Binder",
    "Lechner",
    "Wolf",
    "Wallner",
    "Aigner",
    "Ebner",
    "Koller",
    "Lehner",
    "Haas",
    "Schuster",
    "Krämer",
    "Köhler",
    "Schäfer",
    "Zimmermann",
    "Groß",
    "Weiß",
    "Böhm",
    "Jäger",
    "Kühn",
    "Lorenz",
    "Hartmann",
    "Krüger",
    "Vogel",
    "Friedrich",
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Schulgasse",
    "Kirchenweg",
    "Gartenstraße",
    "Lindenallee",
    "Mozartgasse",
    "Goethestraße",
    "Schillerplatz",
    "Bergstraße",
    "Waldweg",
    "Rosenweg",
    "Am Mühlbach",
    "Feldgasse",
    "Dorfstraße",
    "Wiener Straße",
    "Grazer Straße",
    "Münchner Straße",
    "Seestraße",
    "Sonnenweg",
];
/// (town, postal code, latitude, longitude, country)
const TOWNS: &[(&str, &str, f64, f64, &str)] = &[
    ("Wien", "1010", 48.2082, 16.3738, "AT"),
    ("Wien", "1100", 48.1553, 16.3824, "AT"),
    ("Wien", "1210", 48.2783, 16.4115, "AT"),
    ("Graz", "8010", 47.0707, 15.4395, "AT"),
    ("Linz", "4020", 48.3069, 14.2858, "AT"),
    ("Salzburg", "5020", 47.8095, 13.0550, "AT"),
    ("Innsbruck", "6020", 47.2692, 11.4041, "AT"),
    ("Klagenfurt am Wörthersee", "9020", 46.6247, 14.3053, "AT"),
    ("Villach", "9500", 46.6111, 13.8558, "AT"),
    ("Wels", "4600", 48.1575, 14.0289, "AT"),
    ("St. Pölten", "3100", 48.2047, 15.6256, "AT"),
    ("Dornbirn", "6850", 47.4125, 9.7417, "AT"),
    ("Wiener Neustadt", "2700", 47.8151, 16.2465, "AT"),
    ("Steyr", "4400", 48.0427, 14.4213, "AT"),
    ("Feldkirch", "6800", 47.2381, 9.5981, "AT"),
    ("Bregenz", "6900", 47.5031, 9.7471, "AT"),
    ("Leoben", "8700", 47.3765, 15.0914, "AT"),
    ("Krems an der Donau", "3500", 48.4100, 15.6100, "AT"),
    ("Baden", "2500", 48.0069, 16.2308, "AT"),
    ("Mödling", "2340", 48.0856, 16.2831, "AT"),
    ("Berlin", "10115", 52.5323, 13.3846, "DE"),
    ("Berlin", "12043", 52.4811, 13.4353, "DE"),
    ("München", "80331", 48.1374, 11.5755, "DE"),
    ("Hamburg", "20095", 53.5511, 9.9937, "DE"),
    ("Köln", "50667", 50.9375, 6.9603, "DE"),
    ("Frankfurt am Main", "60311", 50.1109, 8.6821, "DE"),
    ("Stuttgart", "70173", 48.7758, 9.1829, "DE"),
    ("Düsseldorf", "40213", 51.2277, 6.7735, "DE"),
    ("Leipzig", "04109", 51.3397, 12.3731, "DE"),
    ("Dresden", "01067", 51.0504, 13.7373, "DE"),
    ("Nürnberg", "90402", 49.4521, 11.0767, "DE"),
    ("Hannover", "30159", 52.3759, 9.7320, "DE"),
    ("Bremen", "28195", 53.0793, 8.8017, "DE"),
    ("Freiburg im Breisgau", "79098", 47.9990, 7.8421, "DE"),
    ("Augsburg", "86150", 48.3705, 10.8978, "DE"),
    ("Regensburg", "93047", 49.0134, 12.1016, "DE"),
    ("Passau", "94032", 48.5665, 13.4312, "DE"),
    ("Rosenheim", "83022", 47.8571, 12.1181, "DE"),
    ("Würzburg", "97070", 49.7913, 9.9534, "DE"),
    ("Ulm", "89073", 48.4011, 9.9876, "DE"),
];
const DOMAINS: &[&str] = &[
    "gmx.at",
    "gmx.de",
    "web.de",
    "aon.at",
    "a1.net",
    "t-online.de",
    "posteo.de",
    "outlook.com",
    "gmail.com",
    "icloud.com",
];

const HEAT_PUMPS: &[(&str, &str)] = &[
    ("Viessmann", "Vitocal 250-A"),
    ("Daikin", "Altherma 3 H HT"),
    ("Vaillant", "aroTHERM plus"),
    ("Stiebel Eltron", "WPL 25 AC"),
    ("Bosch", "Compress 7400i AW"),
    ("Ochsner", "AIR 18"),
];
const EVS: &[(&str, &str)] = &[
    ("Tesla", "Model 3"),
    ("Tesla", "Model Y"),
    ("Volkswagen", "ID.4"),
    ("Hyundai", "Ioniq 5"),
    ("BMW", "i4"),
    ("Skoda", "Enyaq iV"),
    ("Renault", "Zoe"),
    ("Audi", "Q4 e-tron"),
];
const WALLBOXES: &[(&str, &str)] = &[
    ("go-e", "Charger Gemini"),
    ("Easee", "One"),
    ("KEBA", "KeContact P30"),
    ("Wallbox", "Pulsar Plus"),
];
const INVERTERS: &[(&str, &str)] = &[
    ("Fronius", "Symo GEN24 Plus"),
    ("SMA", "Sunny Tripower X"),
    ("Huawei", "SUN2000-10KTL"),
    ("Kostal", "Plenticore plus"),
    ("SolarEdge", "SE10K"),
];

/// ASCII form for e-mail local parts: ä -> ae, ß -> ss.
fn ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

fn ts(t: DateTime<Utc>) -> Value {
    json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn long_name(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::HeatPump => "Heat Pump (Air-to-Water)",
        DeviceKind::ElectricVehicle => "Electric Vehicle",
        DeviceKind::Wallbox => "Wallbox",
        DeviceKind::Inverter => "Solar Inverter",
    }
}

/// A device with nothing but defaults.
pub fn blank_device(kind: DeviceKind, id: Uuid, t: DateTime<Utc>) -> Device {
    device_from(
        kind,
        json!({
            "id": id,
            "created_at": ts(t),
            "updated_at": ts(t),
            "external_device_id": "",
            "device_model": {"device_type": {"short_name": kind.short_name(), "long_name": long_name(kind)}},
        }),
    )
}

fn device_from(kind: DeviceKind, v: Value) -> Device {
    let tagged = match v {
        Value::Object(mut m) => {
            m.insert(
                "kind".into(),
                serde_json::to_value(kind).unwrap_or(Value::Null),
            );
            Value::Object(m)
        }
        other => other,
    };
    // Built from literals above: the shapes are the shared types' own.
    serde_json::from_value(tagged).expect("seed device shape matches shared::Device")
}

/// The demo organisation, generated a chunk of users at a time (each user
/// with its building, devices and reconnection sessions), so a million
/// users never need to be in memory at once.
pub struct Generator {
    rng: Rng,
    meta: OrgMeta,
    n_users: usize,
    next: usize,
    /// How often each `name@domain` has been given so far: the n-th user
    /// with it gets `name{n}@domain` (names hold no digits, so these never
    /// clash with another name's).
    emails: HashMap<String, u32>,
    now: DateTime<Utc>,
}

impl Generator {
    /// `n_users` users from `seed`, timestamps relative to `now`.
    pub fn new(seed: u64, n_users: usize, now: DateTime<Utc>) -> Self {
        let mut rng = Rng::new(seed);
        let org_id = rng.uuid();
        Generator {
            rng,
            meta: OrgMeta { org_id, seed },
            n_users,
            next: 0,
            emails: HashMap::new(),
            now,
        }
    }

    pub fn meta(&self) -> OrgMeta {
        self.meta
    }

    /// The next (up to) `max` users' records; `None` once all are made.
    pub fn next_chunk(&mut self, max: usize) -> Option<Vec<Record>> {
        if self.next >= self.n_users {
            return None;
        }
        let end = (self.next + max.max(1)).min(self.n_users);
        let mut records = Vec::with_capacity((end - self.next) * 4);
        while self.next < end {
            self.user(self.next, &mut records);
            self.next += 1;
        }
        Some(records)
    }

    /// The `i`-th user (0-based) and what belongs to it.
    fn user(&mut self, i: usize, records: &mut Vec<Record>) {
        let Generator {
            rng,
            meta,
            emails,
            now,
            ..
        } = self;
        let (org_id, now) = (meta.org_id, *now);
        let role = match i {
            0..=2 => Role::Admin,
            3..=10 => Role::Staff,
            _ => Role::User,
        };
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let base = format!("{}.{}", ascii(first), ascii(last));
        let domain = if role.is_team() {
            "stadtwerke-demo.at"
        } else {
            rng.pick(DOMAINS)
        };
        let given = emails.entry(format!("{base}@{domain}")).or_insert(0);
        *given += 1;
        let email = match *given {
            1 => format!("{base}@{domain}"),
            n => format!("{base}{n}@{domain}"),
        };
        let &(town, zip, lat, lon, country) = rng.pick(TOWNS);
        let street = format!("{} {}", rng.pick(STREETS), 1 + rng.below(120));
        let joined = now
            - Duration::days(rng.below(1000) as i64)
            - Duration::minutes(rng.below(1440) as i64);
        let user_id = rng.uuid();
        let has_devices = role == Role::User && rng.chance(0.62);
        let deleted = role == Role::User && !has_devices && rng.chance(0.08);
        let mut user = User {
            id: user_id,
            organization_id: Some(org_id),
            role,
            email,
            num_inverters: 0,
            num_heat_pumps: 0,
            num_electric_vehicles: 0,
            num_wallboxes: 0,
            external_user_id: (role == Role::User).then(|| format!("K-{}", 100_000 + i)),
            first_name: Some(first.to_string()),
            last_name: Some(last.to_string()),
            is_onboarded: Some(has_devices),
            street_and_number: Some(street.clone()),
            street_add_info: rng
                .chance(0.15)
                .then(|| format!("Top {}", 1 + rng.below(20))),
            zip_code: Some(zip.to_string()),
            town: Some(town.to_string()),
            country: Some(country.to_string()),
            latitude: Some(((lat + rng.range(-0.02, 0.02)) * 1e4).round() / 1e4),
            longitude: Some(((lon + rng.range(-0.02, 0.02)) * 1e4).round() / 1e4),
            last_login: rng
                .chance(0.7)
                .then(|| now - Duration::hours(rng.below(24 * 60) as i64)),
            joined_at: Some(joined),
            location_last_updated: None,
            deleted_at: deleted.then(|| now - Duration::days(rng.below(60) as i64)),
        };
        if has_devices {
            let home = Building {
                id: rng.uuid(),
                name: "Main home".into(),
                property_type: Some(
                    rng.pick(&["Detached", "Semi-detached", "Terraced", "Bungalow"])
                        .to_string(),
                ),
                property_size_m2: Some(90 + rng.below(160) as i64),
                property_age: Some(1960 + rng.below(64) as i64),
                num_occupants: Some(1 + rng.below(5) as i64),
                occupant_type: None,
                space_heating: Some("Heat pump".into()),
                water_heating: Some("Heat pump".into()),
                photovoltaic: Some(false),
                street_and_number: Some(street),
                street_add_info: None,
                zip_code: Some(zip.to_string()),
                town: Some(town.to_string()),
                country: Some(country.to_string()),
            };
            let mut kinds = Vec::new();
            if rng.chance(0.55) {
                kinds.push(DeviceKind::HeatPump);
            }
            if rng.chance(0.35) {
                kinds.push(DeviceKind::ElectricVehicle);
                if rng.chance(0.7) {
                    kinds.push(DeviceKind::Wallbox);
                }
            }
            if rng.chance(0.4) {
                kinds.push(DeviceKind::Inverter);
            }
            if kinds.is_empty() {
                kinds.push(DeviceKind::HeatPump);
            }
            let mut home = home;
            home.photovoltaic = Some(kinds.contains(&DeviceKind::Inverter));
            for kind in kinds {
                let (device, session) = seeded_device(rng, kind, user_id, home.id, now, joined);
                match kind {
                    DeviceKind::HeatPump => user.num_heat_pumps += 1,
                    DeviceKind::ElectricVehicle => user.num_electric_vehicles += 1,
                    DeviceKind::Wallbox => user.num_wallboxes += 1,
                    DeviceKind::Inverter => user.num_inverters += 1,
                }
                records.push(Record::Device { user_id, device });
                if let Some(s) = session {
                    records.push(Record::Session { session: s });
                }
            }
            records.push(Record::Building {
                user_id,
                building: home,
            });
        }
        records.push(Record::User { user });
    }
}

/// Generate a whole organisation as storage records (tests; seeding a data
/// directory goes chunk by chunk: [`seed_fresh`]).
#[cfg(test)]
pub fn generate(seed: u64, n_users: usize, now: DateTime<Utc>) -> (OrgMeta, Vec<Record>) {
    let mut generator = Generator::new(seed, n_users, now);
    let mut records = Vec::new();
    while let Some(chunk) = generator.next_chunk(1000) {
        records.extend(chunk);
    }
    (generator.meta(), records)
}

/// Users per chunk while seeding.
const SEED_CHUNK: usize = 2000;

/// Seed a fresh database under `dir`: the demo organisation of `n_users`
/// users from `seed`. Generating (and turning records into rows) runs on a
/// blocking thread while the rows of the chunk before go into SQLite, a few
/// chunks in flight at most, so memory stays small at any size.
pub async fn seed_fresh(dir: &Path, seed: u64, n_users: usize) -> Result<OrgMeta, StoreError> {
    tracing::info!(users = n_users, seed, dir = %dir.display(), "seeding a fresh emulator organisation");
    let started = std::time::Instant::now();
    let mut seeder = Seeder::start(dir).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Rows, StoreError>>(2);
    let generator = tokio::task::spawn_blocking(move || {
        let mut generator = Generator::new(seed, n_users, reference_time());
        let issued = Utc::now();
        let mut devices = 0usize;
        while let Some(mut records) = generator.next_chunk(SEED_CHUNK) {
            devices += move_to_now(&mut records, issued);
            if tx.blocking_send(Rows::of(&records)).is_err() {
                break; // the writer failed; its error is reported
            }
        }
        (generator.meta(), devices)
    });
    while let Some(rows) = rx.recv().await {
        seeder.add(&rows?).await?;
    }
    let (meta, devices) = generator
        .await
        .map_err(|e| StoreError::Invalid(format!("seeding: {e}")))?;
    let rows_ms = started.elapsed().as_millis() as u64;
    seeder.finish(meta).await?;
    tracing::info!(
        users = n_users,
        devices,
        rows_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "seeded (rows_ms: rows stored; the rest: indexes built, file synced)"
    );
    Ok(meta)
}

/// The few demo facts that follow the clock rather than the reference
/// instant, moved to `issued` (the moment of seeding): the reconnection
/// sessions are issued then, so their links work for their 48 hours from
/// the first start; the moments the lost devices lost their connection
/// (hours to days before the reference instant) move by as much, so "lost
/// since" reads plausibly. Returns how many devices there are.
fn move_to_now(records: &mut [Record], issued: DateTime<Utc>) -> usize {
    let shift = issued - reference_time();
    let mut devices = 0;
    for r in records {
        match r {
            Record::Session { session } => session.created_at = issued,
            Record::Device { device, .. } => {
                devices += 1;
                if is_lost(device) {
                    let c = device_common_mut(device);
                    for t in [
                        &mut c.current_state_last_updated_at,
                        &mut c.last_monitoring_executed_at,
                        &mut c.updated_at,
                    ] {
                        *t = t.map(|t| t + shift);
                    }
                }
            }
            _ => {}
        }
    }
    devices
}

/// The seeded device of `kind` with its fixed fields set (connected,
/// statuses ok, the kind's settings); [`seeded_device`] fills in the rest.
/// Built once from JSON, then cloned: a million devices do not each pay for
/// building and reading a JSON tree.
fn template(kind: DeviceKind) -> &'static Device {
    static TEMPLATES: OnceLock<[Device; 4]> = OnceLock::new();
    &TEMPLATES.get_or_init(|| DeviceKind::ALL.map(template_of))[kind as usize]
}

fn template_of(kind: DeviceKind) -> Device {
    let mut v = json!({
        "id": Uuid::nil(),
        "connection_status": "ok",
        "monitoring_status": "ok",
        "steering_status": "ok",
        "device_model": {
            "device_type": {"short_name": kind.short_name(), "long_name": long_name(kind)},
            "manufacturer": null,
            "model": null,
            "cloud_service_instructions": null,
            "cloud_service_signup_link": null,
            "year": null,
            "cloud_service": null
        },
        "created_at": null,
        "updated_at": null,
        "price_zone": "AT",
        "deleted_at": null,
        "lifecycle_state": "authenticated",
        "lifecycle_error": null,
        "building": null,
        "pause_power_until": null,
        "is_pause_power_active": false,
        "external_device_id": "",
        "is_authenticated": true,
        "is_smart_optimization_active": false,
        "optimization_score": null,
        "current_mode": null,
        "comment": null,
        "current_state_last_updated_at": null,
        "last_monitoring_executed_at": null,
        "is_inverter_forced_mode_enabled": false,
        "is_inverter_forced_mode_active": false,
        "inverter_forced_mode_since": null,
        "is_trading_enabled": false,
        "actual_steering_state": "unknown",
        "authorization_url": null,
        "action_needed": false,
    });
    let fixed = match kind {
        DeviceKind::HeatPump => json!({
            "indoor_target_temperature": 21.5,
            "indoor_target_temperature_offset": 0.0,
            "dhw_standard_temperature": 50.0,
            "is_hot_water_heating_enabled": true,
            "is_space_heating_enabled": true,
            "is_pool_heating_enabled": false,
            "is_space_cooling_enabled": false,
            "is_heating_policy_enabled": false,
            "minimum_temperature_limit": 19.5,
            "maximum_temperature_limit": 23.5,
            "is_away_mode_enabled": false,
        }),
        DeviceKind::ElectricVehicle => json!({
            "charge_target_min": 50,
            "charge_deadline_at": "07:00",
            "minimum_charge_limit": 40,
        }),
        DeviceKind::Wallbox => json!({
            "charge_target_min": 50,
            "charge_target_max": 80,
            "is_charge_policy_enabled": false,
            "minimum_charge_limit": 80,
            "charge_deadline_at": "07:00",
            "is_over_charge_allowed": false,
            "is_charging": false,
        }),
        DeviceKind::Inverter => json!({}),
    };
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), fixed) {
        o.extend(e);
    }
    device_from(kind, v)
}

fn seeded_device(
    rng: &mut Rng,
    kind: DeviceKind,
    user_id: Uuid,
    building: Uuid,
    now: DateTime<Utc>,
    joined: DateTime<Utc>,
) -> (Device, Option<AuthSession>) {
    let id = rng.uuid();
    let (manufacturer, model) = *rng.pick(match kind {
        DeviceKind::HeatPump => HEAT_PUMPS,
        DeviceKind::ElectricVehicle => EVS,
        DeviceKind::Wallbox => WALLBOXES,
        DeviceKind::Inverter => INVERTERS,
    });
    let lost = rng.chance(0.09);
    // Registered after the owner joined, not after the reference instant.
    let created = (joined + Duration::days(rng.below(20) as i64))
        .min(now - Duration::hours(3))
        .max(joined);
    // A lost device's last data is the moment it was lost: 2 hours to 4
    // days ago, after it was registered. A connected device's last data is
    // derived when it is read (see `state::last_refresh`); the stored value
    // is a placeholder.
    let last_data = if lost {
        (now - Duration::minutes(120 + rng.below(4 * 24 * 60 - 120) as i64)).max(created)
    } else {
        now - Duration::minutes(1 + rng.below(15) as i64)
    };
    // The fixed fields come from the kind's template; the rest is set here,
    // drawing from `rng` in a fixed order (the same organisation for a seed).
    let mut device = template(kind).clone();
    let steering_ok = rng.chance(0.95);
    let year = 2018 + rng.below(8) as i32;
    let smart = rng.chance(0.85);
    let score = (rng.range(40.0, 98.0) * 10.0).round() / 10.0;
    let c = device_common_mut(&mut device);
    c.id = id;
    if !steering_ok {
        c.steering_status = HealthStatus::Warning;
    }
    if let Some(m) = c.device_model.as_mut() {
        m.manufacturer = Some(manufacturer.to_string());
        m.model = Some(model.to_string());
        m.cloud_service_instructions = Some(format!(
            "Sign in with your {manufacturer} account to connect the device."
        ));
        m.year = Some(year);
    }
    c.created_at = Some(created);
    c.updated_at = Some(last_data);
    c.building = Some(building);
    c.is_smart_optimization_active = smart;
    c.optimization_score = Some(score);
    c.current_state_last_updated_at = Some(last_data);
    c.last_monitoring_executed_at = Some(last_data);
    let tenth = |x: f64| Some((x * 10.0).round() / 10.0);
    match &mut device {
        Device::HeatPump(d) => {
            d.common.current_mode = Some(rng.pick(&["min", "low", "mid", "max"]).to_string());
            d.optimization_level = Some(rng.pick(&["Low", "Mid", "Max"]).to_string());
            d.current_power_consumption_w = Some((300 + rng.below(2500)) as f64);
            d.outdoor_temperature = tenth(rng.range(-8.0, 14.0));
            d.indoor_actual_temperature = tenth(rng.range(19.5, 23.0));
            d.inlet_temperature = tenth(rng.range(28.0, 40.0));
            d.outlet_temperature = tenth(rng.range(32.0, 48.0));
            d.dhw_temperature = tenth(rng.range(42.0, 55.0));
        }
        Device::ElectricVehicle(d) => {
            let plugged = rng.chance(0.4);
            let level = 20 + rng.below(80);
            d.charge_target_max = Some((80 + 10 * rng.below(3)) as f64);
            d.is_charge_policy_enabled = Some(rng.chance(0.5));
            d.is_plugged_in = Some(plugged);
            d.is_charging = Some(plugged && level < 80 && rng.chance(0.5));
            d.charge_rate_w = Some(if plugged { 11000.0 } else { 0.0 });
            d.battery_level = Some(level as f64);
            d.battery_capacity_kwh = Some(*rng.pick(&[58.0, 64.0, 77.0, 82.0]));
            d.is_fully_charged = Some(level >= 100);
            d.driving_range = Some((level * 4) as f64);
            d.boost_state = Some(if plugged { "available" } else { "unavailable" }.into());
        }
        Device::Wallbox(d) => {
            let plugged = rng.chance(0.4);
            d.charge_power_max_w = Some(*rng.pick(&[7400.0, 11000.0, 22000.0]));
            d.is_plugged_in = Some(plugged);
            d.is_ocpp_connected = Some(!lost);
            let mode = if lost {
                "UNAVAILABLE"
            } else if plugged {
                "PLUGGED_IN"
            } else {
                "READY"
            };
            d.mode = Some(mode.into());
            d.connection = Some(if lost { "offline" } else { "online" }.into());
        }
        Device::Inverter(d) => {
            let battery = rng.chance(0.5);
            let production = rng.below(8000) as f64;
            let household = (300 + rng.below(2500)) as f64;
            d.solar_power_rating_kw = Some(*rng.pick(&[5.0, 7.5, 9.9, 12.0]));
            d.is_battery_connected = Some(battery);
            d.battery_capacity_kwh = battery.then_some(10.0);
            d.min_battery_charge = battery.then_some(10.0);
            d.max_battery_charge = battery.then_some(95.0);
            d.current_solar_production_w = Some(production);
            d.household_consumption_w = Some(household);
            d.solar_surplus_w = Some(production - household);
            d.current_power_to_grid_w = Some(production - household);
            d.battery_charge_level_percent = battery.then(|| rng.below(100) as f64);
            d.battery_charge_discharge_power_w = battery.then_some(0.0);
        }
    }
    let session = if lost {
        let session = AuthSession {
            id: rng.uuid(),
            user_id,
            device_id: id,
            kind,
            success_url: None,
            cancel_url: None,
            created_at: now,
            outcome: None,
        };
        let link = connect_path(session.id);
        disconnect(&mut device, &link, "error", Some("auth_expired"));
        Some(session)
    } else {
        None
    };
    (device, session)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn same_seed_same_organisation() {
        let a = serde_json::to_string(&generate(7, 50, reference_time()).1).unwrap();
        let b = serde_json::to_string(&generate(7, 50, reference_time()).1).unwrap();
        assert_eq!(a, b);
        let c = serde_json::to_string(&generate(8, 50, reference_time()).1).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn chunks_make_the_same_organisation() {
        let (meta, whole) = generate(5, 120, reference_time());
        let mut g = Generator::new(5, 120, reference_time());
        assert_eq!(g.meta(), meta);
        let mut chunked = Vec::new();
        while let Some(c) = g.next_chunk(7) {
            chunked.extend(c);
        }
        assert_eq!(
            serde_json::to_string(&whole).unwrap(),
            serde_json::to_string(&chunked).unwrap()
        );
    }

    #[test]
    fn emails_unique_and_some_devices_lost() {
        let (_, records) = generate(42, 2000, reference_time());
        let mut emails = HashSet::new();
        let (mut devices, mut lost) = (0, 0);
        for r in &records {
            match r {
                Record::User { user } => {
                    assert!(emails.insert(user.email.to_lowercase()), "{}", user.email)
                }
                Record::Device { device, .. } => {
                    devices += 1;
                    if !device.common().is_authenticated {
                        lost += 1;
                        assert!(device.common().reconnection_link().is_some());
                    }
                }
                _ => {}
            }
        }
        assert!(devices > 1000, "{devices}");
        assert!(
            lost > devices / 30 && lost < devices / 5,
            "{lost} of {devices}"
        );
        for e in &emails {
            assert!(shared::Email::parse(e).is_ok(), "{e}");
        }
    }
}
