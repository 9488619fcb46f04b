//! One row of a customer file, checked by the same validators as the user
//! form (`shared::validation`): a [`Customer`] when every mapped cell is
//! valid, otherwise every bad cell with the validator's message and the
//! column it came from.
//!
//! An empty cell of a mapped column means "no value" (Podero's value is
//! cleared), except the customer number, which is only ever set, and the
//! e-mail, which is required. A field whose column is not mapped is left
//! as it is in Podero.

use serde_json::{json, Value};
use shared::sync::{RowProblem, SyncField};
use shared::validation::check_text;
use shared::{
    CountryCode, CreateUser, Email, ExternalUserId, FieldError, Lang, Latitude, Longitude,
    PostalCode, Role, User,
};

use super::file::{FileRow, Mapping};

/// A valid row: per mapped field its value (`None`: empty cell).
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub line: u64,
    pub external_user_id: Option<String>,
    pub email: String,
    /// `(field, value)` of every other mapped field, in [`SyncField::ALL`]
    /// order.
    pub fields: Vec<(SyncField, Option<Value>)>,
}

impl Customer {
    /// The value of a mapped field (`Some(None)`: mapped but empty).
    pub fn get(&self, field: SyncField) -> Option<Option<&Value>> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_ref())
    }

    fn text(&self, field: SyncField) -> Option<&str> {
        self.get(field).flatten().and_then(Value::as_str)
    }

    fn number(&self, field: SyncField) -> Option<f64> {
        self.get(field).flatten().and_then(Value::as_f64)
    }

    /// "First Last" of the row.
    pub fn name(&self) -> String {
        User::name_of(
            self.text(SyncField::FirstName),
            self.text(SyncField::LastName),
            &self.email,
        )
    }

    /// The body creating this customer as an end-user.
    pub fn create_body(&self) -> CreateUser {
        let owned = |f| self.text(f).map(str::to_string);
        CreateUser {
            external_user_id: self.external_user_id.clone(),
            first_name: owned(SyncField::FirstName),
            last_name: owned(SyncField::LastName),
            street_and_number: owned(SyncField::StreetAndNumber),
            street_add_info: owned(SyncField::StreetAddInfo),
            zip_code: owned(SyncField::ZipCode),
            town: owned(SyncField::Town),
            country_iso2: owned(SyncField::Country),
            latitude: self.number(SyncField::Latitude),
            longitude: self.number(SyncField::Longitude),
            ..CreateUser::new(Role::User, &self.email)
        }
    }

    /// The customer's values as a user (for the data-quality checks of a
    /// new row).
    pub fn as_user(&self, base: Option<&User>) -> User {
        let mut u = base.cloned().unwrap_or_else(|| User {
            id: uuid::Uuid::nil(),
            organization_id: None,
            role: Role::User,
            email: self.email.clone(),
            num_inverters: 0,
            num_heat_pumps: 0,
            num_electric_vehicles: 0,
            num_wallboxes: 0,
            external_user_id: None,
            first_name: None,
            last_name: None,
            is_onboarded: None,
            street_and_number: None,
            street_add_info: None,
            zip_code: None,
            town: None,
            country: None,
            latitude: None,
            longitude: None,
            last_login: None,
            joined_at: None,
            location_last_updated: None,
            deleted_at: None,
        });
        u.email = self.email.clone();
        if self.external_user_id.is_some() {
            u.external_user_id = self.external_user_id.clone();
        }
        for (field, value) in &self.fields {
            let text = value.as_ref().and_then(Value::as_str).map(str::to_string);
            let number = value.as_ref().and_then(Value::as_f64);
            match field {
                SyncField::FirstName => u.first_name = text,
                SyncField::LastName => u.last_name = text,
                SyncField::StreetAndNumber => u.street_and_number = text,
                SyncField::StreetAddInfo => u.street_add_info = text,
                SyncField::ZipCode => u.zip_code = text,
                SyncField::Town => u.town = text,
                SyncField::Country => u.country = text,
                SyncField::Latitude => u.latitude = number,
                SyncField::Longitude => u.longitude = number,
                SyncField::ExternalUserId | SyncField::Email => {}
            }
        }
        u
    }
}

/// Check one row: the customer, or every bad cell (messages in `lang`).
pub fn check(
    row: &FileRow,
    mapping: &Mapping,
    headers: &[String],
    lang: Lang,
) -> Result<Customer, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let mut bad = |field: SyncField, e: FieldError| {
        let column = mapping
            .column(field)
            .and_then(|i| headers.get(i).cloned())
            .unwrap_or_default();
        problems.push(RowProblem {
            column,
            error: e.localized(lang),
        });
    };
    let external_user_id = match mapping.cell(row, SyncField::ExternalUserId) {
        Some(v) if !v.is_empty() => match ExternalUserId::parse(v) {
            Ok(id) => Some(id.as_str().to_string()),
            Err(e) => {
                bad(SyncField::ExternalUserId, e);
                None
            }
        },
        _ => None,
    };
    let email = match Email::parse(mapping.cell(row, SyncField::Email).unwrap_or("")) {
        Ok(e) => e.as_str().to_string(),
        Err(e) => {
            bad(SyncField::Email, e);
            String::new()
        }
    };
    let mut fields = Vec::new();
    for field in SyncField::ALL {
        if matches!(field, SyncField::ExternalUserId | SyncField::Email) {
            continue;
        }
        let Some(cell) = mapping.cell(row, field) else {
            continue;
        };
        if cell.is_empty() {
            fields.push((field, None));
            continue;
        }
        let value: Result<Value, FieldError> = match field {
            SyncField::ZipCode => PostalCode::parse(cell).map(|p| json!(p.as_str())),
            SyncField::Country => CountryCode::parse(cell).map(|c| json!(c.as_str())),
            SyncField::Latitude => Latitude::parse_str(cell).map(|v| json!(v.value())),
            SyncField::Longitude => Longitude::parse_str(cell).map(|v| json!(v.value())),
            _ => check_text(field.as_str(), cell).map(|()| json!(cell)),
        };
        match value {
            Ok(v) => fields.push((field, Some(v))),
            Err(e) => bad(field, e),
        }
    }
    if problems.is_empty() {
        Ok(Customer {
            line: row.line,
            external_user_id,
            email,
            fields,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::file::parse;

    fn rows(text: &str) -> Vec<Result<Customer, Vec<RowProblem>>> {
        let f = parse(text.as_bytes()).unwrap();
        let m = Mapping::guess(&f.headers);
        f.rows
            .iter()
            .map(|r| check(r, &m, &f.headers, Lang::De))
            .collect()
    }

    #[test]
    fn valid_rows_become_customers() {
        let r = rows(
            "Kundennummer;E-Mail;Vorname;Nachname;PLZ;Ort;Land;lat;lon\n\
             K-1;Anna@Example.at;Anna;;1010;Wien;at;48,5;16,25\n",
        );
        let c = r[0].as_ref().unwrap();
        assert_eq!(c.external_user_id.as_deref(), Some("K-1"));
        assert_eq!(c.email, "Anna@Example.at");
        assert_eq!(c.get(SyncField::Country), Some(Some(&json!("AT"))));
        assert_eq!(c.get(SyncField::Latitude), Some(Some(&json!(48.5))));
        assert_eq!(c.get(SyncField::LastName), Some(None));
        assert_eq!(c.get(SyncField::StreetAndNumber), None);
        let body = c.create_body();
        assert_eq!(body.role, Role::User);
        assert_eq!(body.longitude, Some(16.25));
        assert_eq!(body.last_name, None);
        assert!(body.validate().is_ok());
    }

    #[test]
    fn invalid_cells_name_column_and_message() {
        let r = rows(
            "Kundennummer;E-Mail;PLZ;Land;Breitengrad\n\
             K/1;anna;1;DEU;north\n",
        );
        let problems = r[0].as_ref().unwrap_err();
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(
            columns,
            ["Kundennummer", "E-Mail", "PLZ", "Land", "Breitengrad"]
        );
        // The validators' own messages, in the request's language.
        assert_eq!(
            problems[1].error.message,
            "Eine E-Mail-Adresse braucht ein @, z. B. anna.huber@example.at."
        );
        assert!(problems[3].error.message.contains("DE"), "{problems:?}");
    }
}
