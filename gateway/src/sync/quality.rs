//! Data quality: user data that will hurt optimisation or support.
//!
//! Per user: coordinates missing; coordinates outside the user's country
//! (a bounding box per country); coordinates far from the other users of
//! the same postal code (more than [`FAR_KM`] from their centre); a postal
//! code not valid for the country (its format); a town that disagrees with
//! what most other users of the postal code have; first or last name
//! missing. The organisation-wide part (centres and towns per postal code)
//! is a [`Context`] built once from the read model; checking a user against
//! it takes the user's own entry out, so a user never agrees with itself.
//! The dry run checks the file's rows against the same context.

use std::collections::HashMap;

use shared::directory::fold;
use shared::sync::{QualityIssue, QualityProblem};
use shared::{Role, User};

/// Farther than this from the centre of the others of the postal code.
pub const FAR_KM: f64 = 25.0;
/// Others of the postal code needed before their centre or their town
/// counts.
const MIN_OTHERS: u32 = 2;

/// `(country, south, north, west, east)`: generous boxes of the countries
/// Podero's partners serve; other countries are not checked.
const BOXES: &[(&str, f64, f64, f64, f64)] = &[
    ("AT", 46.3, 49.1, 9.5, 17.2),
    ("BE", 49.4, 51.6, 2.5, 6.5),
    ("CH", 45.8, 47.9, 5.9, 10.6),
    ("CZ", 48.5, 51.1, 12.0, 18.9),
    ("DE", 47.2, 55.1, 5.8, 15.1),
    ("DK", 54.5, 57.8, 8.0, 15.2),
    ("ES", 27.6, 43.8, -18.2, 4.4),
    ("FR", 41.3, 51.2, -5.2, 9.6),
    ("IT", 36.6, 47.1, 6.6, 18.6),
    ("LI", 47.0, 47.3, 9.4, 9.7),
    ("LU", 49.4, 50.2, 5.7, 6.6),
    ("NL", 50.7, 53.6, 3.3, 7.3),
    ("PL", 49.0, 54.9, 14.1, 24.2),
    ("SE", 55.3, 69.1, 11.0, 24.2),
];

/// Postal code formats: `9` a digit, `A` a letter, ` ` an optional space,
/// anything else itself.
const FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["9999"]),
    ("BE", &["9999"]),
    ("CH", &["9999"]),
    ("CZ", &["999 99"]),
    ("DE", &["99999"]),
    ("DK", &["9999"]),
    ("ES", &["99999"]),
    ("FR", &["99999"]),
    ("IT", &["99999"]),
    ("LI", &["9999"]),
    ("LU", &["9999", "L-9999"]),
    ("NL", &["9999 AA"]),
    ("PL", &["99-999"]),
    ("SE", &["999 99"]),
];

fn matches_format(zip: &str, format: &str) -> bool {
    let mut z = zip.chars().peekable();
    for f in format.chars() {
        match f {
            ' ' => {
                if z.peek() == Some(&' ') {
                    z.next();
                }
            }
            '9' => {
                if !z.next().is_some_and(|c| c.is_ascii_digit()) {
                    return false;
                }
            }
            'A' => {
                if !z.next().is_some_and(|c| c.is_ascii_alphabetic()) {
                    return false;
                }
            }
            other => {
                if z.next() != Some(other) {
                    return false;
                }
            }
        }
    }
    z.next().is_none()
}

/// Whether `zip` is a valid postal code of `country` (`None`: the country's
/// format is not known here).
pub fn zip_valid(country: &str, zip: &str) -> Option<bool> {
    let country = country.trim().to_ascii_uppercase();
    FORMATS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, formats)| formats.iter().any(|f| matches_format(zip.trim(), f)))
}

/// Whether the point lies in `country` (`None`: not known here).
pub fn inside_country(country: &str, lat: f64, lon: f64) -> Option<bool> {
    let country = country.trim().to_ascii_uppercase();
    BOXES
        .iter()
        .find(|b| b.0 == country)
        .map(|&(_, s, n, w, e)| (s..=n).contains(&lat) && (w..=e).contains(&lon))
}

/// Great-circle distance in km.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The users of one postal code.
#[derive(Debug, Default, Clone)]
struct Group {
    lat: f64,
    lon: f64,
    with_coords: u32,
    /// Folded town → (users, the town as first written).
    towns: HashMap<String, (u32, String)>,
    with_town: u32,
}

/// The organisation's postal codes: where their users are and which town
/// they name.
#[derive(Debug, Default)]
pub struct Context {
    groups: HashMap<(String, String), Group>,
}

fn key(u: &User) -> Option<(String, String)> {
    let zip = text(&u.zip_code)?;
    Some((
        text(&u.country).unwrap_or("").to_ascii_uppercase(),
        zip.to_ascii_uppercase(),
    ))
}

/// The users the checks are about: active end-users.
pub fn is_checked(u: &User) -> bool {
    u.role == Role::User && u.deleted_at.is_none()
}

impl Context {
    /// Add one user (only active end-users count).
    pub fn add(&mut self, u: &User) {
        if !is_checked(u) {
            return;
        }
        let Some(k) = key(u) else { return };
        let g = self.groups.entry(k).or_default();
        if let (Some(lat), Some(lon)) = (u.latitude, u.longitude) {
            g.lat += lat;
            g.lon += lon;
            g.with_coords += 1;
        }
        if let Some(t) = text(&u.town) {
            let e = g.towns.entry(fold(t)).or_insert((0, t.to_string()));
            e.0 += 1;
            g.with_town += 1;
        }
    }

    /// The group of `u` without `own` (the user's current entry, if it is
    /// in the context).
    fn others(&self, u: &User, own: Option<&User>) -> Option<Group> {
        let k = key(u)?;
        let mut g = self.groups.get(&k)?.clone();
        if let Some(own) = own.filter(|o| is_checked(o) && key(o).as_ref() == Some(&k)) {
            if let (Some(lat), Some(lon)) = (own.latitude, own.longitude) {
                g.lat -= lat;
                g.lon -= lon;
                g.with_coords = g.with_coords.saturating_sub(1);
            }
            if let Some(t) = text(&own.town) {
                if let Some(e) = g.towns.get_mut(&fold(t)) {
                    e.0 = e.0.saturating_sub(1);
                    g.with_town = g.with_town.saturating_sub(1);
                }
            }
        }
        Some(g)
    }

    /// The problems of `u`; `own` is its entry in the context (to leave
    /// out of the comparison with the others).
    pub fn check(&self, u: &User, own: Option<&User>) -> Vec<QualityIssue> {
        let mut out = Vec::new();
        let mut issue = |problem, detail: String| out.push(QualityIssue { problem, detail });
        if text(&u.first_name).is_none() || text(&u.last_name).is_none() {
            issue(QualityProblem::NameMissing, String::new());
        }
        let country = text(&u.country).unwrap_or("");
        match (u.latitude, u.longitude) {
            (Some(lat), Some(lon)) => {
                if inside_country(country, lat, lon) == Some(false) {
                    issue(
                        QualityProblem::OutsideCountry,
                        format!("{lat:.4}, {lon:.4} ∉ {country}"),
                    );
                }
            }
            _ => issue(QualityProblem::CoordinatesMissing, String::new()),
        }
        if let Some(zip) = text(&u.zip_code) {
            if zip_valid(country, zip) == Some(false) {
                issue(
                    QualityProblem::PostalCodeInvalid,
                    format!("{zip} ({country})"),
                );
            }
        }
        let Some(g) = self.others(u, own) else {
            return out;
        };
        let zip = text(&u.zip_code).unwrap_or("");
        if let (Some(lat), Some(lon), true) = (u.latitude, u.longitude, g.with_coords >= MIN_OTHERS)
        {
            let n = f64::from(g.with_coords);
            let centre = (g.lat / n, g.lon / n);
            let km = distance_km((lat, lon), centre);
            if km > FAR_KM {
                issue(
                    QualityProblem::FarFromPostalCode,
                    format!("{km:.0} km ({zip})"),
                );
            }
        }
        if let (Some(town), true) = (text(&u.town), g.with_town >= MIN_OTHERS) {
            if let Some((count, name)) = g.towns.values().max_by_key(|(c, _)| *c) {
                if *count * 2 > g.with_town && fold(name) != fold(town) {
                    issue(
                        QualityProblem::TownDisagrees,
                        format!("{zip}: {town} ≠ {name}"),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(zip: &str, town: &str, country: &str, coords: Option<(f64, f64)>) -> User {
        let mut u: User = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::new_v4(), "role": "user", "email": "a@b.at",
            "first_name": "A", "last_name": "B",
        }))
        .unwrap();
        u.zip_code = Some(zip.into());
        u.town = Some(town.into());
        u.country = Some(country.into());
        u.latitude = coords.map(|c| c.0);
        u.longitude = coords.map(|c| c.1);
        u
    }

    fn problems(issues: &[QualityIssue]) -> Vec<QualityProblem> {
        issues.iter().map(|i| i.problem).collect()
    }

    #[test]
    fn formats_and_boxes() {
        assert_eq!(zip_valid("DE", "10115"), Some(true));
        assert_eq!(zip_valid("de", "1011"), Some(false));
        assert_eq!(zip_valid("AT", "1010"), Some(true));
        assert_eq!(zip_valid("NL", "1012 AB"), Some(true));
        assert_eq!(zip_valid("NL", "1012AB"), Some(true));
        assert_eq!(zip_valid("PL", "00-950"), Some(true));
        assert_eq!(zip_valid("GB", "SW1A 1AA"), None);
        assert_eq!(inside_country("AT", 48.2, 16.37), Some(true));
        assert_eq!(inside_country("AT", 52.5, 13.4), Some(false));
        let km = distance_km((48.2082, 16.3738), (48.1374, 11.5755));
        assert!((350.0..360.0).contains(&km), "{km}");
    }

    #[test]
    fn a_user_is_compared_with_the_others_of_its_postal_code() {
        let wien = |lat| user("1010", "Wien", "AT", Some((lat, 16.37)));
        let mut ctx = Context::default();
        let others = [wien(48.20), wien(48.21), wien(48.205)];
        for u in &others {
            ctx.add(u);
        }
        // A user where the others are: fine, also when it is in the context.
        assert!(ctx.check(&others[0], Some(&others[0])).is_empty());
        // Far away (Graz), with the wrong town, in the context itself.
        let graz = user("1010", "Graz", "AT", Some((47.07, 15.44)));
        ctx.add(&graz);
        assert_eq!(
            problems(&ctx.check(&graz, Some(&graz))),
            [
                QualityProblem::FarFromPostalCode,
                QualityProblem::TownDisagrees
            ]
        );
        // Outside the country, a bad postal code, no name, no coordinates.
        let berlin = user("1010", "Wien", "AT", Some((52.5, 13.4)));
        assert!(problems(&ctx.check(&berlin, None)).contains(&QualityProblem::OutsideCountry));
        let mut bad = user("101", "Wien", "AT", None);
        bad.first_name = None;
        assert_eq!(
            problems(&ctx.check(&bad, None)),
            [
                QualityProblem::NameMissing,
                QualityProblem::CoordinatesMissing,
                QualityProblem::PostalCodeInvalid
            ]
        );
    }
}

/// The report's filter: one problem, words in name, e-mail, customer
/// number, postal code or town, and the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub problem: Option<QualityProblem>,
    pub q: String,
    pub page: u32,
    pub per_page: u32,
}

/// Most rows on one page of the report.
pub const MAX_PER_PAGE: u32 = 500;

impl Filter {
    /// From the query's pairs; a bad value is an error naming it.
    pub fn parse(pairs: &[(String, String)]) -> Result<Filter, Vec<shared::FieldError>> {
        let mut f = Filter {
            problem: None,
            q: String::new(),
            page: 1,
            per_page: 50,
        };
        let mut errors = Vec::new();
        let bad = |name: &str| {
            shared::FieldError::keyed(name, "sync.quality.bad_parameter", &[("name", name)])
        };
        for (k, v) in pairs {
            match k.as_str() {
                "problem" if v.is_empty() => {}
                "problem" => match QualityProblem::parse(v) {
                    Some(p) => f.problem = Some(p),
                    None => errors.push(bad("problem")),
                },
                "q" if v.chars().count() <= shared::directory::MAX_SEARCH_CHARS => f.q = v.clone(),
                "q" => errors.push(bad("q")),
                "page" => match v.parse::<u32>() {
                    Ok(n) if n >= 1 => f.page = n,
                    _ => errors.push(bad("page")),
                },
                "per_page" => match v.parse::<u32>() {
                    Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => f.per_page = n,
                    _ => errors.push(bad("per_page")),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(errors)
        }
    }
}

/// The organisation's context: every active end-user of the snapshot.
pub fn context(snapshot: &crate::directory::Snapshot) -> Context {
    let mut ctx = Context::default();
    for u in snapshot.users() {
        if u.role() == Role::User && !u.is_archived() {
            ctx.add(&u.to_user());
        }
    }
    ctx
}

/// The report: counts per problem over every active end-user, and the
/// users matching `f` (`all`: every match, for the CSV).
pub fn report(
    snapshot: &crate::directory::Snapshot,
    f: &Filter,
    all: bool,
) -> shared::sync::QualityReport {
    use shared::sync::{QualityCount, QualityReport, QualityRow};
    let ctx = context(snapshot);
    let words: Vec<String> = fold(&f.q).split_whitespace().map(str::to_string).collect();
    let mut counts: HashMap<QualityProblem, u32> = HashMap::new();
    let mut checked = 0u32;
    let mut total = 0u32;
    let skip = if all {
        0
    } else {
        (f.page.saturating_sub(1) as usize).saturating_mul(f.per_page as usize)
    };
    let take = if all { usize::MAX } else { f.per_page as usize };
    let mut rows = Vec::new();
    for r in snapshot.users() {
        if r.role() != Role::User || r.is_archived() {
            continue;
        }
        checked += 1;
        let u = r.to_user();
        let issues = ctx.check(&u, Some(&u));
        if issues.is_empty() {
            continue;
        }
        for i in &issues {
            *counts.entry(i.problem).or_default() += 1;
        }
        if f.problem
            .is_some_and(|p| !issues.iter().any(|i| i.problem == p))
        {
            continue;
        }
        if !words.is_empty() {
            let hay = fold(&format!(
                "{} {} {} {} {}",
                u.display_name(),
                u.email,
                u.external_user_id.as_deref().unwrap_or(""),
                u.zip_code.as_deref().unwrap_or(""),
                u.town.as_deref().unwrap_or("")
            ));
            if !words.iter().all(|w| hay.contains(w.as_str())) {
                continue;
            }
        }
        total += 1;
        if (total as usize) > skip && rows.len() < take {
            rows.push(QualityRow {
                user_id: u.id,
                name: u.display_name(),
                email: u.email.clone(),
                external_user_id: u.external_user_id.clone(),
                zip_code: u.zip_code.clone(),
                town: u.town.clone(),
                country: u.country.clone(),
                issues,
            });
        }
    }
    QualityReport {
        checked,
        counts: QualityProblem::ALL
            .into_iter()
            .map(|p| QualityCount {
                problem: p,
                count: counts.get(&p).copied().unwrap_or(0),
            })
            .collect(),
        total,
        page: f.page,
        per_page: f.per_page,
        rows,
    }
}
