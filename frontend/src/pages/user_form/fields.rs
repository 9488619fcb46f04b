//! The user forms' field model, shared by the create and the edit form.
//!
//! [`Field`] names each input once: its `shared` / API field name (the key
//! of its errors and of its `data-testid`), its label, hint and input
//! attributes, how a [`User`] fills it and which request field it sets.
//! [`ByField`] holds one value per field, indexed by [`Field`]: [`Typed`]
//! (the text of every input, which is also the draft kept in
//! `sessionStorage`) and [`Inputs`] (the signals the inputs are bound to).
//! The create body, the update body (only what changed), filling from a
//! user and the comparison with the version the form was opened from all go
//! through them, so adding a field is one variant and its `match` arms.

use std::collections::BTreeMap;
use std::ops::{Index, IndexMut};

use leptos::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shared::{CreateUser, FieldError, Latitude, Longitude, Role, UpdateUser, User};

use crate::components::form::{CountrySelect, TextField};
use crate::i18n::{current, t};

/// One input of a user form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Role,
    Email,
    ExternalUserId,
    FirstName,
    LastName,
    StreetAndNumber,
    StreetAddInfo,
    ZipCode,
    Town,
    Country,
    Latitude,
    Longitude,
}

/// How many fields there are.
const COUNT: usize = 12;

// `Field::ALL` lists the variants in declaration order: a field's index in
// a `ByField` is its discriminant.
const _: () = {
    let mut i = 0;
    while i < COUNT {
        assert!(Field::ALL[i] as usize == i);
        i += 1;
    }
};

impl Field {
    /// Every field, in the order of [`ByField`].
    pub const ALL: [Field; COUNT] = [
        Field::Role,
        Field::Email,
        Field::ExternalUserId,
        Field::FirstName,
        Field::LastName,
        Field::StreetAndNumber,
        Field::StreetAddInfo,
        Field::ZipCode,
        Field::Town,
        Field::Country,
        Field::Latitude,
        Field::Longitude,
    ];

    /// What the edit form changes (role and e-mail are set at creation),
    /// in the order the forms show them.
    pub const EDITABLE: &'static [Field] = Field::ALL.split_at(2).1;

    fn index(self) -> usize {
        self as usize
    }

    /// The field's name in the `shared` validation and the Partner API:
    /// the key of its errors, its input's `f-<name>` id and its
    /// `field-<name>` / `error-<name>` test hooks.
    pub fn name(self) -> &'static str {
        match self {
            Field::Role => "role",
            Field::Email => "email",
            Field::ExternalUserId => "external_user_id",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::StreetAndNumber => "street_and_number",
            Field::StreetAddInfo => "street_add_info",
            Field::ZipCode => "zip_code",
            Field::Town => "town",
            Field::Country => "country_iso2",
            Field::Latitude => "latitude",
            Field::Longitude => "longitude",
        }
    }

    /// The field an error (or a draft entry) names; Podero's answers call
    /// the country `country`.
    pub fn from_name(name: &str) -> Option<Field> {
        match name {
            "country" => Some(Field::Country),
            _ => Field::ALL.into_iter().find(|f| f.name() == name),
        }
    }

    /// The field's label in the language of the moment (tracked).
    pub fn label(self) -> String {
        t(self.label_key())
    }

    /// The catalog key of the field's label.
    pub fn label_key(self) -> &'static str {
        match self {
            Field::Role => "user_form.field.role",
            Field::Email => "user_form.field.email",
            Field::ExternalUserId => "user_form.field.external_user_id",
            Field::FirstName => "user_form.field.first_name",
            Field::LastName => "user_form.field.last_name",
            Field::StreetAndNumber => "user_form.field.street_and_number",
            Field::StreetAddInfo => "user_form.field.street_add_info",
            Field::ZipCode => "user_form.field.zip_code",
            Field::Town => "user_form.field.town",
            Field::Country => "user_form.field.country",
            Field::Latitude => "user_form.field.latitude",
            Field::Longitude => "user_form.field.longitude",
        }
    }

    /// The hint under the input (empty: none), tracked.
    fn hint(self) -> String {
        match self {
            Field::Email => t("user_form.hint.email"),
            Field::ExternalUserId => t("user_form.hint.external_user_id"),
            Field::StreetAddInfo => t("user_form.hint.street_add_info"),
            Field::Latitude => t("user_form.hint.latitude"),
            Field::Longitude => t("user_form.hint.longitude"),
            _ => String::new(),
        }
    }

    /// Whether two texts of this field say the same (a coordinate may be
    /// written with a decimal comma or a dot).
    fn same(self, a: &str, b: &str) -> bool {
        match self {
            Field::Latitude | Field::Longitude => a.replace(',', ".") == b.replace(',', "."),
            _ => a == b,
        }
    }

    fn input_type(self) -> &'static str {
        match self {
            Field::Email => "email",
            _ => "text",
        }
    }

    fn inputmode(self) -> Option<&'static str> {
        match self {
            Field::Latitude | Field::Longitude => Some("decimal"),
            _ => None,
        }
    }

    fn required(self) -> bool {
        self == Field::Email
    }

    /// A user's value as the form shows it (a coordinate with the decimal
    /// separator of the language: `48,2082` in German; either is accepted).
    fn of(self, u: &User) -> String {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let number = |v: Option<f64>| {
            v.map(|x| match current() {
                shared::Lang::De => x.to_string().replace('.', ","),
                shared::Lang::En => x.to_string(),
            })
            .unwrap_or_default()
        };
        match self {
            Field::Role => u.role.as_str().to_string(),
            Field::Email => u.email.clone(),
            Field::ExternalUserId => text(&u.external_user_id),
            Field::FirstName => text(&u.first_name),
            Field::LastName => text(&u.last_name),
            Field::StreetAndNumber => text(&u.street_and_number),
            Field::StreetAddInfo => text(&u.street_add_info),
            Field::ZipCode => text(&u.zip_code),
            Field::Town => text(&u.town),
            Field::Country => text(&u.country),
            Field::Latitude => number(u.latitude),
            Field::Longitude => number(u.longitude),
        }
    }

    /// Where an optional text field goes in the create and in the update
    /// request (`None` for the others).
    fn slots(self) -> Option<(CreateSlot, UpdateSlot)> {
        let slots: (CreateSlot, UpdateSlot) = match self {
            Field::ExternalUserId => (|b| &mut b.external_user_id, |b| &mut b.external_user_id),
            Field::FirstName => (|b| &mut b.first_name, |b| &mut b.first_name),
            Field::LastName => (|b| &mut b.last_name, |b| &mut b.last_name),
            Field::StreetAndNumber => (|b| &mut b.street_and_number, |b| &mut b.street_and_number),
            Field::StreetAddInfo => (|b| &mut b.street_add_info, |b| &mut b.street_add_info),
            Field::ZipCode => (|b| &mut b.zip_code, |b| &mut b.zip_code),
            Field::Town => (|b| &mut b.town, |b| &mut b.town),
            Field::Country => (|b| &mut b.country_iso2, |b| &mut b.country_iso2),
            Field::Role | Field::Email | Field::Latitude | Field::Longitude => return None,
        };
        Some(slots)
    }
}

/// A text field of the create request.
type CreateSlot = fn(&mut CreateUser) -> &mut Option<String>;
/// A text field of the update request (`Some(None)` clears it).
type UpdateSlot = fn(&mut UpdateUser) -> &mut Option<Option<String>>;

/// One value per [`Field`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ByField<T>([T; COUNT]);

impl<T> ByField<T> {
    pub fn from_fn(f: impl FnMut(Field) -> T) -> Self {
        ByField(Field::ALL.map(f))
    }
}

impl<T> Index<Field> for ByField<T> {
    type Output = T;
    fn index(&self, f: Field) -> &T {
        &self.0[f.index()]
    }
}

impl<T> IndexMut<Field> for ByField<T> {
    fn index_mut(&mut self, f: Field) -> &mut T {
        &mut self.0[f.index()]
    }
}

/// The text of every input, as typed.
pub type Typed = ByField<String>;

/// The inputs' signals.
pub type Inputs = ByField<RwSignal<String>>;

/// Kept (in a draft) as an object keyed by field name, so a draft saved by
/// an earlier version of the app still lands in the right fields.
impl Serialize for Typed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let named: BTreeMap<&str, &str> = Field::ALL
            .into_iter()
            .map(|f| (f.name(), self[f].as_str()))
            .collect();
        named.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Typed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let named = BTreeMap::<String, String>::deserialize(d)?;
        let mut typed = Typed::default();
        for (name, value) in named {
            if let Some(f) = Field::from_name(&name) {
                typed[f] = value;
            }
        }
        Ok(typed)
    }
}

impl Default for Typed {
    fn default() -> Self {
        ByField::from_fn(|_| String::new())
    }
}

/// Trimmed text, `None` when empty.
fn opt(text: &str) -> Option<String> {
    let v = text.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// A typed coordinate; its error (if any) goes into `errors`.
fn coordinate(
    text: &str,
    parse: fn(&str) -> Result<f64, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let text = opt(text)?;
    match parse(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn lat(s: &str) -> Result<f64, FieldError> {
    Latitude::parse_str(s).map(Latitude::value)
}

fn lon(s: &str) -> Result<f64, FieldError> {
    Longitude::parse_str(s).map(Longitude::value)
}

/// `body`, unless `errors` or the body's own validation (the `shared`
/// rules) found a problem: then every error at once.
fn checked<B>(
    body: B,
    validate: fn(&B) -> Result<(), Vec<FieldError>>,
    mut errors: Vec<FieldError>,
) -> Result<B, Vec<FieldError>> {
    if let Err(more) = validate(&body) {
        errors.extend(more);
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

impl Typed {
    /// What the create form starts with.
    pub fn blank() -> Self {
        let mut t = Typed::default();
        t[Field::Role] = Role::User.as_str().into();
        t
    }

    /// A user's values as the form shows them.
    pub fn of(u: &User) -> Self {
        ByField::from_fn(|f| f.of(u))
    }

    /// The editable fields whose values differ between `self` and `other`.
    pub fn changed_from(&self, other: &Typed) -> impl Iterator<Item = Field> + '_ {
        let other = other.clone();
        Field::EDITABLE
            .iter()
            .copied()
            .filter(move |f| !f.same(&self[*f], &other[*f]))
    }

    /// The create body, or every field error at once.
    pub fn create_body(&self) -> Result<CreateUser, Vec<FieldError>> {
        let mut errors = Vec::new();
        let role = Role::parse(&self[Field::Role]).unwrap_or(Role::User);
        let mut body = CreateUser::new(role, self[Field::Email].trim());
        for &f in Field::EDITABLE {
            if let Some((slot, _)) = f.slots() {
                *slot(&mut body) = opt(&self[f]);
            }
        }
        body.latitude = coordinate(&self[Field::Latitude], lat, &mut errors);
        body.longitude = coordinate(&self[Field::Longitude], lon, &mut errors);
        checked(body, CreateUser::validate, errors)
    }

    /// Only what differs from `original` (an emptied field clears it), or
    /// every field error at once.
    pub fn update_body(&self, original: &User) -> Result<UpdateUser, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut body = UpdateUser::default();
        let was = Typed::of(original);
        for &f in Field::EDITABLE {
            let (new, old) = (opt(&self[f]), opt(&was[f]));
            if let Some((_, slot)) = f.slots().filter(|_| new != old) {
                *slot(&mut body) = Some(new);
            }
        }
        let la = coordinate(&self[Field::Latitude], lat, &mut errors);
        let lo = coordinate(&self[Field::Longitude], lon, &mut errors);
        if errors.is_empty() {
            if la != original.latitude {
                body.latitude = Some(la);
            }
            if lo != original.longitude {
                body.longitude = Some(lo);
            }
        }
        checked(body, UpdateUser::validate, errors)
    }
}

impl Inputs {
    /// Inputs holding `start`.
    pub fn new(start: &Typed) -> Self {
        ByField::from_fn(|f| RwSignal::new(start[f].clone()))
    }

    /// Subscribe the running effect to every input.
    pub fn track(&self) {
        for sig in self.0 {
            sig.track();
        }
    }

    /// The values as typed (untracked).
    pub fn typed(&self) -> Typed {
        ByField::from_fn(|f| self[f].get_untracked())
    }

    /// Put these values into the inputs.
    pub fn restore(&self, t: &Typed) {
        for f in Field::ALL {
            self[f].set(t[f].clone());
        }
    }

    /// Put a user's values into the inputs.
    pub fn fill(&self, u: &User) {
        self.restore(&Typed::of(u));
    }

    /// Whether an editable field differs from `u`'s value.
    pub fn differs_from(&self, u: &User) -> bool {
        self.typed().changed_from(&Typed::of(u)).next().is_some()
    }

    /// Whether the inputs hold only the create form's starting values.
    pub fn is_blank(&self) -> bool {
        self.typed() == Typed::blank()
    }
}

/// Focus the input of the first field with an error in the order of the
/// form, skipping fields the form does not show.
pub fn focus_first(errors: &[FieldError]) {
    crate::components::form::focus_first_present(
        Field::ALL
            .into_iter()
            .filter(|f| {
                errors
                    .iter()
                    .any(|e| Field::from_name(&e.field) == Some(*f))
            })
            .map(|f| format!("f-{}", f.name())),
    );
}

/// The labelled input of one text field (or the country select), its
/// error under it.
#[component]
pub fn FieldInput(
    field: Field,
    inputs: Inputs,
    errors: RwSignal<Vec<FieldError>>,
    on_blur: Callback<()>,
) -> impl IntoView {
    let value = inputs[field];
    if field == Field::Country {
        return view! { <CountrySelect value errors/> }.into_any();
    }
    view! {
        <TextField name=field.name() label=move || field.label() value errors on_blur
            hint=move || field.hint() input_type=field.input_type() inputmode=field.inputmode()
            required=field.required()/>
    }
    .into_any()
}

/// The address and contact fields both forms show.
#[component]
pub fn EditableFields(
    inputs: Inputs,
    errors: RwSignal<Vec<FieldError>>,
    on_blur: Callback<()>,
) -> impl IntoView {
    Field::EDITABLE
        .iter()
        .map(|&field| view! { <FieldInput field inputs errors on_blur/> })
        .collect_view()
}
