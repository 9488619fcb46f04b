//! Parsing newtypes for user input, used by the browser form and the gateway.
//!
//! Each type can only be built by `parse`, so a value that exists is valid.
//! Errors are [`FieldError`]s: the field name as the API spells it and one
//! sentence that says what is wrong and how to fix it.

use serde::{Deserialize, Serialize};

use crate::country;

/// A rejected field and a message a person can act on. A message from the
/// catalog ([`crate::i18n`]) keeps its key and values, so the browser and
/// the gateway can say it in German or English ([`FieldError::message_in`]);
/// `message` is its English text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The catalog key of the message, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The values of its `%{name}` placeholders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(String, String)>,
}

impl FieldError {
    /// A message that is not in the catalog (e.g. Podero's own words).
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
            key: None,
            args: Vec::new(),
        }
    }

    /// The catalog's message `key` with its placeholder values.
    pub fn keyed(field: &str, key: &str, args: &[(&str, &str)]) -> Self {
        Self {
            field: field.to_string(),
            message: crate::i18n::tr(crate::i18n::Lang::En, key, args),
            key: Some(key.to_string()),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The message in `lang`.
    pub fn message_in(&self, lang: crate::i18n::Lang) -> String {
        match &self.key {
            Some(key) => {
                let args: Vec<(&str, &str)> = self
                    .args
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                crate::i18n::tr(lang, key, &args)
            }
            None => self.message.clone(),
        }
    }

    /// The same error with its message in `lang`.
    pub fn localized(mut self, lang: crate::i18n::Lang) -> Self {
        self.message = self.message_in(lang);
        self
    }
}

/// Longest free-text field (names, street, town), as Podero's building fields.
pub const MAX_TEXT_LEN: usize = 100;

/// An e-mail address: trimmed, one `@`, a dotted domain, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = |key: &str| {
            Err(FieldError::keyed(
                "email",
                &format!("validation.email.{key}"),
                &[],
            ))
        };
        let s = input.trim();
        if s.is_empty() {
            return err("empty");
        }
        if s.chars().count() > 254 {
            return err("too_long");
        }
        if s.chars().any(char::is_whitespace) {
            return err("spaces");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return err("no_at");
        };
        if domain.contains('@') {
            return err("two_at");
        }
        if local.is_empty() || local.len() > 64 {
            return err("mailbox");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return err("domain_dot");
        }
        if labels.iter().any(|l| {
            l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        }) {
            return err("domain_chars");
        }
        let tld = labels[labels.len() - 1];
        if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
            return err("top_level");
        }
        Ok(Email(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-cased form for uniqueness checks (Podero: unique per organisation).
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// The partner's own customer number (`external_user_id`).
///
/// It travels in a URL path (`by-ext-id/{external_id}`), so characters that
/// would change the path are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ExternalUserId(String);

impl ExternalUserId {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = |key: &str, args: &[(&str, &str)]| {
            Err(FieldError::keyed(
                "external_user_id",
                &format!("validation.customer_number.{key}"),
                args,
            ))
        };
        let s = input.trim();
        if s.is_empty() {
            return err("empty", &[]);
        }
        let n = s.chars().count();
        if n > Self::MAX_LEN {
            return err(
                "too_long",
                &[
                    ("max", &Self::MAX_LEN.to_string()),
                    ("count", &n.to_string()),
                ],
            );
        }
        if let Some(c) = s
            .chars()
            .find(|c| c.is_control() || matches!(c, '/' | '\\' | '?' | '#' | '%'))
        {
            if c.is_control() {
                return err("control_character", &[]);
            }
            return err("character", &[("character", &c.to_string())]);
        }
        Ok(ExternalUserId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal code: 2 to 20 letters, digits, spaces or hyphens, with a digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PostalCode(String);

impl PostalCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = |key: &str| {
            Err(FieldError::keyed(
                "zip_code",
                &format!("validation.postal_code.{key}"),
                &[],
            ))
        };
        let s = input.trim();
        if s.chars().count() < 2 || s.chars().count() > 20 {
            return err("length");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        {
            return err("characters");
        }
        if !s.chars().any(|c| c.is_ascii_digit()) {
            return err("digit");
        }
        Ok(PostalCode(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case (`DE`, `AT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = |key: &str, args: &[(&str, &str)]| {
            Err(FieldError::keyed(
                "country_iso2",
                &format!("validation.country.{key}"),
                args,
            ))
        };
        let s = input.trim().to_ascii_uppercase();
        if s.len() == 3 && s.chars().all(|c| c.is_ascii_alphabetic()) {
            return match country::alpha2_for_alpha3(&s) {
                Some(a2) => err("alpha3_known", &[("alpha3", &s), ("alpha2", a2)]),
                None => err("alpha3", &[]),
            };
        }
        match country::name(&s) {
            Some(_) => {
                let b = s.as_bytes();
                Ok(CountryCode([b[0], b[1]]))
            }
            None => err("unknown", &[("value", input.trim())]),
        }
    }

    pub fn as_str(&self) -> &str {
        // Built only from ASCII letters in `parse`.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// English short name, e.g. "Austria".
    pub fn name(&self) -> &'static str {
        country::name(self.as_str()).unwrap_or("")
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Latitude in degrees, -90 to 90.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Latitude(f64);

impl Latitude {
    pub fn parse(value: f64) -> Result<Self, FieldError> {
        if value.is_finite() && (-90.0..=90.0).contains(&value) {
            Ok(Latitude(value))
        } else {
            Err(FieldError::keyed(
                "latitude",
                "validation.latitude.range",
                &[],
            ))
        }
    }

    /// Parse text typed into a form field (accepts a decimal comma).
    pub fn parse_str(input: &str) -> Result<Self, FieldError> {
        parse_number(input, "latitude").and_then(Self::parse)
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// Longitude in degrees, -180 to 180.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Longitude(f64);

impl Longitude {
    pub fn parse(value: f64) -> Result<Self, FieldError> {
        if value.is_finite() && (-180.0..=180.0).contains(&value) {
            Ok(Longitude(value))
        } else {
            Err(FieldError::keyed(
                "longitude",
                "validation.longitude.range",
                &[],
            ))
        }
    }

    /// Parse text typed into a form field (accepts a decimal comma).
    pub fn parse_str(input: &str) -> Result<Self, FieldError> {
        parse_number(input, "longitude").and_then(Self::parse)
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// A number typed into the `latitude` or `longitude` field.
fn parse_number(input: &str, field: &str) -> Result<f64, FieldError> {
    input
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .map_err(|_| FieldError::keyed(field, &format!("validation.{field}.not_a_number"), &[]))
}

/// A free-text field (name, street, town): at most [`MAX_TEXT_LEN`]
/// characters and no control characters.
pub fn check_text(field: &str, value: &str) -> Result<(), FieldError> {
    let n = value.chars().count();
    if n > MAX_TEXT_LEN {
        return Err(FieldError::keyed(
            field,
            "validation.text.too_long",
            &[
                ("max", &MAX_TEXT_LEN.to_string()),
                ("count", &n.to_string()),
            ],
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::keyed(
            field,
            "validation.text.control_characters",
            &[],
        ));
    }
    Ok(())
}

pub(crate) fn collect(errors: &mut Vec<FieldError>, result: Result<(), FieldError>) {
    if let Err(e) = result {
        errors.push(e);
    }
}

pub(crate) fn check_optional_fields(
    errors: &mut Vec<FieldError>,
    external_user_id: Option<&str>,
    zip_code: Option<&str>,
    country_iso2: Option<&str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
) {
    if let Some(v) = external_user_id {
        collect(errors, ExternalUserId::parse(v).map(drop));
    }
    if let Some(v) = zip_code {
        collect(errors, PostalCode::parse(v).map(drop));
    }
    if let Some(v) = country_iso2 {
        collect(errors, CountryCode::parse(v).map(drop));
    }
    if let Some(v) = latitude {
        collect(errors, Latitude::parse(v).map(drop));
    }
    if let Some(v) = longitude {
        collect(errors, Longitude::parse(v).map(drop));
    }
}

pub(crate) fn check_text_fields(errors: &mut Vec<FieldError>, fields: &[(&str, Option<&str>)]) {
    for (field, value) in fields {
        if let Some(v) = value {
            collect(errors, check_text(field, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_ordinary_addresses_and_trims() {
        assert_eq!(
            Email::parse("  anna.huber@example.at ").unwrap().as_str(),
            "anna.huber@example.at"
        );
        assert!(Email::parse("j.müller@stadtwerke-graz.at").is_ok());
        assert_eq!(
            Email::parse("Anna@Example.AT").unwrap().normalized(),
            "anna@example.at"
        );
    }

    #[test]
    fn email_rejects_with_a_reason() {
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.at",
            "anna@example",
            "a b@example.at",
            "a@b@c.at",
            "a@-x.at",
            "a@x.1",
        ] {
            let e = Email::parse(bad).unwrap_err();
            assert_eq!(e.field, "email");
            assert!(!e.message.is_empty(), "{bad}");
        }
    }

    #[test]
    fn external_id_refuses_path_characters() {
        assert!(ExternalUserId::parse("customer_12345").is_ok());
        for bad in ["", "  ", "a/b", "a?b", "a#b", "a%2Fb", "a\nb"] {
            assert!(ExternalUserId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ExternalUserId::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn postal_codes() {
        for ok in ["1010", "10115", "SW1A 1AA", "A-1010"] {
            assert!(PostalCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["1", "abc", "10115!", &"1".repeat(21)] {
            assert!(PostalCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries_are_alpha2_with_a_hint_for_alpha3() {
        assert_eq!(CountryCode::parse("de").unwrap().as_str(), "DE");
        assert_eq!(CountryCode::parse("AT").unwrap().name(), "Austria");
        let e = CountryCode::parse("DEU").unwrap_err();
        assert!(e.message.contains("use DE"), "{}", e.message);
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("").is_err());
        assert!(CountryCode::parse("Ö").is_err());
    }

    #[test]
    fn coordinates() {
        assert!(Latitude::parse(48.2).is_ok());
        assert!(Latitude::parse(90.01).is_err());
        assert!(Latitude::parse(f64::NAN).is_err());
        assert!(Longitude::parse(-180.0).is_ok());
        assert!(Longitude::parse(180.5).is_err());
        assert_eq!(Latitude::parse_str("48,5").unwrap().value(), 48.5);
        assert!(Longitude::parse_str("east").is_err());
    }

    #[test]
    fn messages_in_german_and_english() {
        use crate::i18n::Lang;
        let e = Email::parse("anna").unwrap_err();
        assert_eq!(
            e.message,
            "An e-mail address needs an @, e.g. anna.huber@example.at."
        );
        assert_eq!(e.message_in(Lang::En), e.message);
        assert_eq!(
            e.message_in(Lang::De),
            "Eine E-Mail-Adresse braucht ein @, z. B. anna.huber@example.at."
        );
        assert_eq!(
            e.clone().localized(Lang::De).message,
            e.message_in(Lang::De)
        );
        let e = CountryCode::parse("AUT").unwrap_err();
        assert_eq!(
            e.message,
            "Use the two-letter ISO 3166-1 country code, not a three-letter one. For AUT use AT."
        );
        assert_eq!(
            e.message_in(Lang::De),
            "Bitte verwenden Sie den zweistelligen Ländercode nach ISO 3166-1, keinen dreistelligen. Für AUT ist das AT."
        );
        let e = ExternalUserId::parse("a/b").unwrap_err();
        assert_eq!(
            e.message,
            "A customer number cannot contain '/'; use letters, digits, '-', '_' or '.'."
        );
        assert!(e
            .message_in(Lang::De)
            .starts_with("Eine Kundennummer darf kein '/'"));
        let e = check_text("town", &"x".repeat(101)).unwrap_err();
        assert_eq!(
            e.message,
            "At most 100 characters are allowed here; this has 101. Shorten it."
        );
        // A message that is not in the catalog (Podero's words) stays as is.
        let podero = FieldError::new("email", "User with this email already exists.");
        assert_eq!(podero.message_in(Lang::De), podero.message);
    }

    /// Every message the parsers give is in the catalog in both languages
    /// (no key comes back untranslated, no placeholder unfilled).
    #[test]
    fn every_message_is_in_the_catalog() {
        use crate::i18n::Lang;
        let long = "x".repeat(300);
        let mut errors: Vec<FieldError> = Vec::new();
        for bad in [
            "", &long, "a b@x.at", "anna", "a@b@c.at", "@x.at", "a@x", "a@-x.at", "a@x.1",
        ] {
            errors.push(Email::parse(bad).unwrap_err());
        }
        for bad in ["", &long, "a/b", "a\u{1}b"] {
            errors.push(ExternalUserId::parse(bad).unwrap_err());
        }
        for bad in ["1", "10115!", "abc"] {
            errors.push(PostalCode::parse(bad).unwrap_err());
        }
        for bad in ["DEU", "XYZ", "XX"] {
            errors.push(CountryCode::parse(bad).unwrap_err());
        }
        errors.push(Latitude::parse(91.0).unwrap_err());
        errors.push(Latitude::parse_str("north").unwrap_err());
        errors.push(Longitude::parse(181.0).unwrap_err());
        errors.push(Longitude::parse_str("east").unwrap_err());
        errors.push(check_text("town", &long).unwrap_err());
        errors.push(check_text("town", "a\nb").unwrap_err());
        errors.extend(crate::directory::UserQuery::parse(&format!(
            "q={long}&role=x&device=x&onboarded=x&lost=x&archived=x&include_deleted=x&sort=x&dir=x&page=0&per_page=0"
        ))
        .unwrap_err());
        errors.extend(
            crate::staff::AuditQuery::parse(
                "user=x&action=X&changes_only=x&from=x&page=0&per_page=0",
            )
            .unwrap_err(),
        );
        errors
            .extend(crate::staff::AuditQuery::parse("from=2026-11-02&to=2026-11-01").unwrap_err());
        for (current, new) in [
            ("", "short"),
            ("x", &long),
            ("a@b.de", "a@b.de"),
            ("same password", "same password"),
        ] {
            let change = crate::staff::ChangePassword {
                current_password: current.into(),
                new_password: new.into(),
            };
            errors.extend(change.validate("a@b.de").unwrap_err());
        }
        let invite = crate::staff::Invite {
            email: "x".into(),
            first_name: " ".into(),
            last_name: String::new(),
            role: crate::staff::StaffRole::Staff,
        };
        errors.extend(invite.validate().unwrap_err());
        assert!(errors.len() >= 45, "{}", errors.len());
        for e in &errors {
            let key = e.key.as_deref().expect("every message has a key");
            for lang in Lang::ALL {
                let text = e.message_in(lang);
                assert!(
                    text != key && !text.contains("%{"),
                    "{key} in {lang:?}: {text}"
                );
            }
            assert_ne!(e.message_in(Lang::De), e.message, "{key}");
        }
    }

    #[test]
    fn text_fields() {
        assert!(check_text("town", "Wien").is_ok());
        assert!(check_text("town", &"x".repeat(101)).is_err());
        assert!(check_text("town", "a\u{0}b").is_err());
    }
}
