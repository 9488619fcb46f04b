//! Create a user (`/users/new`) and edit one (`/users/:id/edit`).
//!
//! Both forms check their input with the `shared` validation
//! (`CreateUser::validate`, `UpdateUser::validate`: the code the gateway runs
//! too) when a field is left and on submit, and put every message, the
//! server's included (a duplicate e-mail or customer number), under its
//! field; what was typed stays. The edit form sends only the fields that
//! changed, and before saving re-reads the user: if someone changed it
//! since the form was opened, the agent sees what changed and chooses.
//!
//! A role that may not change users (viewer), or not this user (staff and
//! a team member), gets a plain read-only panel instead of the form, and
//! the create form offers only the roles the signed-in role may create.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};
use shared::{ApiError, CreateUser, FieldError, Latitude, Longitude, Role, UpdateUser, User};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::feedback::{ErrorPanel, Loading, ReadOnly};
use crate::components::form::{server_field_errors, CountrySelect, TextField};
use crate::components::toast::use_toasts;
use crate::session::use_session;

/// Roles the create form offers, as far as the signed-in role may create them.
const ROLE_CHOICES: [(Role, &str); 3] = [
    (Role::User, "End-user (customer)"),
    (Role::Staff, "Staff (team member)"),
    (Role::Admin, "Admin (team member)"),
];

/// The read-only panel for the signed-in role, if it may not change users.
fn read_only_role() -> Option<&'static str> {
    let session = use_session();
    untrack(|| (!session.can_change_users()).then(|| session.role().map_or("none", |r| r.label())))
}

/// The form's inputs, as typed.
#[derive(Clone, Copy)]
struct Fields {
    role: RwSignal<String>,
    email: RwSignal<String>,
    external_user_id: RwSignal<String>,
    first_name: RwSignal<String>,
    last_name: RwSignal<String>,
    street_and_number: RwSignal<String>,
    street_add_info: RwSignal<String>,
    zip_code: RwSignal<String>,
    town: RwSignal<String>,
    country: RwSignal<String>,
    latitude: RwSignal<String>,
    longitude: RwSignal<String>,
}

/// Trimmed text, `None` when empty.
fn opt(s: RwSignal<String>) -> Option<String> {
    let v = s.get_untracked().trim().to_string();
    (!v.is_empty()).then_some(v)
}

fn coordinate(
    s: RwSignal<String>,
    parse: fn(&str) -> Result<f64, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let text = opt(s)?;
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

/// The editable values of a user, by API field name, as the form shows them.
fn values(u: &User) -> Vec<(&'static str, &'static str, String)> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    vec![
        (
            "external_user_id",
            "Customer number",
            s(&u.external_user_id),
        ),
        ("first_name", "First name", s(&u.first_name)),
        ("last_name", "Last name", s(&u.last_name)),
        (
            "street_and_number",
            "Street and number",
            s(&u.street_and_number),
        ),
        ("street_add_info", "Address addition", s(&u.street_add_info)),
        ("zip_code", "Postal code", s(&u.zip_code)),
        ("town", "Town", s(&u.town)),
        ("country_iso2", "Country", s(&u.country)),
        ("latitude", "Latitude", f(u.latitude)),
        ("longitude", "Longitude", f(u.longitude)),
    ]
}

impl Fields {
    fn new() -> Self {
        let s = || RwSignal::new(String::new());
        Fields {
            role: RwSignal::new("user".into()),
            email: s(),
            external_user_id: s(),
            first_name: s(),
            last_name: s(),
            street_and_number: s(),
            street_add_info: s(),
            zip_code: s(),
            town: s(),
            country: s(),
            latitude: s(),
            longitude: s(),
        }
    }

    fn by_name(&self, name: &str) -> Option<RwSignal<String>> {
        Some(match name {
            "external_user_id" => self.external_user_id,
            "first_name" => self.first_name,
            "last_name" => self.last_name,
            "street_and_number" => self.street_and_number,
            "street_add_info" => self.street_add_info,
            "zip_code" => self.zip_code,
            "town" => self.town,
            "country_iso2" => self.country,
            "latitude" => self.latitude,
            "longitude" => self.longitude,
            _ => return None,
        })
    }

    /// Put a user's values into the form.
    fn fill(&self, u: &User) {
        self.role.set(u.role.as_str().into());
        self.email.set(u.email.clone());
        for (name, _, value) in values(u) {
            if let Some(sig) = self.by_name(name) {
                sig.set(value);
            }
        }
    }

    /// The create body, or every field error at once.
    fn create_body(&self) -> Result<CreateUser, Vec<FieldError>> {
        let mut errors = Vec::new();
        let role = Role::parse(&self.role.get_untracked()).unwrap_or(Role::User);
        let mut body = CreateUser::new(role, self.email.get_untracked().trim());
        body.external_user_id = opt(self.external_user_id);
        body.first_name = opt(self.first_name);
        body.last_name = opt(self.last_name);
        body.street_and_number = opt(self.street_and_number);
        body.street_add_info = opt(self.street_add_info);
        body.zip_code = opt(self.zip_code);
        body.town = opt(self.town);
        body.country_iso2 = opt(self.country);
        body.latitude = coordinate(self.latitude, lat, &mut errors);
        body.longitude = coordinate(self.longitude, lon, &mut errors);
        if let Err(more) = body.validate() {
            errors.extend(more);
        }
        if errors.is_empty() {
            Ok(body)
        } else {
            Err(errors)
        }
    }

    /// Only what differs from `original` (an emptied field clears it).
    fn update_body(&self, original: &User) -> Result<UpdateUser, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut body = UpdateUser::default();
        let changed = |sig: RwSignal<String>, old: &Option<String>| -> Option<Option<String>> {
            let new = opt(sig);
            let old = old
                .as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            (new != old).then_some(new)
        };
        body.external_user_id = changed(self.external_user_id, &original.external_user_id);
        body.first_name = changed(self.first_name, &original.first_name);
        body.last_name = changed(self.last_name, &original.last_name);
        body.street_and_number = changed(self.street_and_number, &original.street_and_number);
        body.street_add_info = changed(self.street_add_info, &original.street_add_info);
        body.zip_code = changed(self.zip_code, &original.zip_code);
        body.town = changed(self.town, &original.town);
        body.country_iso2 = changed(self.country, &original.country);
        let la = coordinate(self.latitude, lat, &mut errors);
        let lo = coordinate(self.longitude, lon, &mut errors);
        if errors.is_empty() {
            if la != original.latitude {
                body.latitude = Some(la);
            }
            if lo != original.longitude {
                body.longitude = Some(lo);
            }
        }
        if let Err(more) = body.validate() {
            errors.extend(more);
        }
        if errors.is_empty() {
            Ok(body)
        } else {
            Err(errors)
        }
    }
}

/// Focus the first field with an error.
fn focus_first(errors: &[FieldError]) {
    let Some(first) = errors.first() else { return };
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&format!("f-{}", first.field)))
    {
        use wasm_bindgen::JsCast;
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}

/// The address and contact fields both forms share.
#[component]
fn CommonFields(
    fields: Fields,
    errors: RwSignal<Vec<FieldError>>,
    on_blur: Callback<()>,
) -> impl IntoView {
    view! {
        <TextField name="external_user_id" label="Customer number" value=fields.external_user_id errors on_blur
            hint="Your own customer number (external user id), e.g. K-100234."/>
        <TextField name="first_name" label="First name" value=fields.first_name errors on_blur autocomplete="off"/>
        <TextField name="last_name" label="Last name" value=fields.last_name errors on_blur/>
        <TextField name="street_and_number" label="Street and number" value=fields.street_and_number errors on_blur/>
        <TextField name="street_add_info" label="Address addition" value=fields.street_add_info errors on_blur
            hint="Staircase, floor, apartment…"/>
        <TextField name="zip_code" label="Postal code" value=fields.zip_code errors on_blur/>
        <TextField name="town" label="Town" value=fields.town errors on_blur/>
        <CountrySelect value=fields.country errors/>
        <TextField name="latitude" label="Latitude" value=fields.latitude errors on_blur inputmode="decimal"
            hint="Degrees, e.g. 48.2082"/>
        <TextField name="longitude" label="Longitude" value=fields.longitude errors on_blur inputmode="decimal"
            hint="Degrees, e.g. 16.3738"/>
    }
}

#[component]
pub fn CreateUserPage() -> impl IntoView {
    match read_only_role() {
        Some(role) => view! {
            <p class="crumbs"><a href="/">"← All users"</a></p>
            <h1>"New user"</h1>
            <ReadOnly role note="Creating users needs the role Staff or Admin."/>
        }
        .into_any(),
        None => view! { <CreateForm/> }.into_any(),
    }
}

#[component]
fn CreateForm() -> impl IntoView {
    let session = use_session();
    let fields = Fields::new();
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let toasts = use_toasts();
    let navigate = use_navigate();
    // Leaving a field re-checks the form, showing only errors of fields
    // that have something typed (an untouched required field is not yet
    // an error).
    let on_blur = Callback::new(move |_| {
        if let Err(all) = fields.create_body() {
            let touched: Vec<FieldError> = all
                .into_iter()
                .filter(|e| {
                    fields
                        .by_name(&e.field)
                        .or((e.field == "email").then_some(fields.email))
                        .is_some_and(|s| !s.get_untracked().trim().is_empty())
                })
                .collect();
            errors.set(touched);
        } else {
            errors.set(Vec::new());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        failure.set(None);
        let body = match fields.create_body() {
            Ok(b) => b,
            Err(e) => {
                focus_first(&e);
                errors.set(e);
                return;
            }
        };
        errors.set(Vec::new());
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::create_user(&body).await {
                Ok(user) => {
                    toasts.success(format!("{} created", user.display_name()));
                    navigate(&format!("/users/{}", user.id), Default::default());
                }
                Err(e) => match server_field_errors(&e) {
                    Some(fe) => {
                        focus_first(&fe);
                        errors.set(fe);
                    }
                    None => failure.set(Some(e.message())),
                },
            }
            busy.set(false);
        });
    };
    view! {
        <p class="crumbs"><a href="/">"← All users"</a></p>
        <h1>"New user"</h1>
        <form class="user-form" data-testid="create-user-form" on:submit=submit novalidate=true>
            <div class="field">
                <label for="f-role">"Role"</label>
                <select id="f-role" data-testid="field-role" prop:value=move || fields.role.get()
                        on:change=move |ev| fields.role.set(event_target_value(&ev))>
                    {ROLE_CHOICES
                        .into_iter()
                        .filter(|(r, _)| untrack(|| session.can_change_user_of_role(*r)))
                        .map(|(r, label)| view! { <option value=r.as_str()>{label}</option> })
                        .collect_view()}
                </select>
            </div>
            <TextField name="email" label="E-mail" value=fields.email errors on_blur input_type="email" required=true
                hint="Must be unique in your organisation."/>
            <CommonFields fields errors on_blur/>
            {move || failure.get().map(|m| view! { <div class="span"><ErrorPanel message=m title="The user was not created."/></div> })}
            <div class="actions span">
                <button type="submit" class="primary" data-testid="submit-user" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create user" }}
                </button>
                <a class="button" href="/">"Cancel"</a>
            </div>
        </form>
    }
}

/// A field changed upstream since the form was opened.
#[derive(Clone, Debug, PartialEq)]
struct Conflict {
    label: &'static str,
    opened: String,
    theirs: String,
    mine: Option<String>,
}

#[component]
pub fn EditUserPage() -> impl IntoView {
    match read_only_role() {
        Some(role) => view! {
            <p class="crumbs"><a href="/">"← All users"</a></p>
            <h1>"Edit user"</h1>
            <ReadOnly role note="Changing users needs the role Staff or Admin."/>
        }
        .into_any(),
        None => view! { <EditLoader/> }.into_any(),
    }
}

/// Loads the user, then the form if the signed-in role may change them.
#[component]
fn EditLoader() -> impl IntoView {
    let session = use_session();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| Uuid::parse_str(&s).ok())
    };
    let user = LocalResource::new(move || {
        let id = id();
        async move {
            match id {
                Some(id) => api::get_user(id).await,
                None => Err(ApiFailure::Api {
                    status: 404,
                    error: ApiError::message("This is not a valid user address."),
                }),
            }
        }
    });
    view! {
        {move || match user.get() {
            None => view! { <Loading what="user"/> }.into_any(),
            Some(Err(e)) => view! {
                <p class="crumbs"><a href="/">"← All users"</a></p>
                <ErrorPanel message=e.message() retry=Callback::new(move |_| user.refetch())/>
            }.into_any(),
            Some(Ok(u)) if !session.can_change_user_of_role(u.role) => {
                let role = session.role().map_or("none", |r| r.label());
                let note = format!(
                    "{} is {} ({}); your role changes end-users only.",
                    u.display_name(),
                    if u.role == Role::Admin { "an admin" } else { "a team member" },
                    u.role.label()
                );
                view! {
                    <p class="crumbs"><a href=format!("/users/{}", u.id)>{format!("← {}", u.display_name())}</a></p>
                    <h1>{format!("Edit {}", u.display_name())}</h1>
                    <ReadOnly role note/>
                }.into_any()
            }
            Some(Ok(u)) => view! { <EditForm original=u/> }.into_any(),
        }}
    }
}

#[component]
fn EditForm(original: User) -> impl IntoView {
    let fields = Fields::new();
    fields.fill(&original);
    // The version the form edits against, and the newest one seen when a
    // conflict was found.
    let base = StoredValue::new(original.clone());
    let newest = StoredValue::new(None::<User>);
    let pending = StoredValue::new(None::<UpdateUser>);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let conflicts = RwSignal::new(Vec::<Conflict>::new());
    let busy = RwSignal::new(false);
    let toasts = use_toasts();
    let navigate = use_navigate();
    let user_id = original.id;
    let name = original.display_name();

    let on_blur = Callback::new(move |_| {
        errors.set(
            fields
                .update_body(&base.get_value())
                .err()
                .unwrap_or_default(),
        );
    });

    // Send `body`; on success go to the user's page.
    let send = {
        let navigate = navigate.clone();
        move |body: UpdateUser| {
            busy.set(true);
            let navigate = navigate.clone();
            spawn_local(async move {
                match api::update_user(user_id, &body).await {
                    Ok(u) => {
                        toasts.success(format!("Changes to {} saved", u.display_name()));
                        navigate(&format!("/users/{user_id}"), Default::default());
                    }
                    Err(e) => match server_field_errors(&e) {
                        Some(fe) => {
                            focus_first(&fe);
                            errors.set(fe);
                        }
                        None => failure.set(Some(e.message())),
                    },
                }
                busy.set(false);
            });
        }
    };

    let save = {
        let send = send.clone();
        move || {
            failure.set(None);
            notice.set(None);
            let opened = base.get_value();
            let body = match fields.update_body(&opened) {
                Ok(b) => b,
                Err(e) => {
                    focus_first(&e);
                    errors.set(e);
                    return;
                }
            };
            errors.set(Vec::new());
            if body.is_empty() {
                notice.set(Some("Nothing to save: no field was changed.".into()));
                return;
            }
            busy.set(true);
            let send = send.clone();
            spawn_local(async move {
                // Re-read: did someone change this user since the form opened?
                match api::get_user(user_id).await {
                    Err(e) => {
                        failure.set(Some(format!(
                            "Could not check for changes by others: {}",
                            e.message()
                        )));
                        busy.set(false);
                    }
                    Ok(now) => {
                        let before = values(&opened);
                        let after = values(&now);
                        let found: Vec<Conflict> = before
                            .iter()
                            .zip(after.iter())
                            .filter(|(b, a)| b.2 != a.2)
                            .map(|(b, a)| Conflict {
                                label: b.1,
                                opened: b.2.clone(),
                                theirs: a.2.clone(),
                                mine: fields
                                    .by_name(b.0)
                                    .map(|s| s.get_untracked().trim().to_string())
                                    .filter(|m| *m != b.2),
                            })
                            .collect();
                        if found.is_empty() {
                            send(body);
                        } else {
                            newest.set_value(Some(now));
                            pending.set_value(Some(body));
                            conflicts.set(found);
                            busy.set(false);
                        }
                    }
                }
            });
        }
    };
    let save_on_submit = save.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !busy.get_untracked() {
            save_on_submit();
        }
    };
    // "Save mine anyway": only the fields I changed (against the version I
    // opened); the fields they changed and I did not keep their values.
    let overwrite = {
        let send = send.clone();
        move |_| {
            conflicts.set(Vec::new());
            if let Some(now) = newest.get_value() {
                base.set_value(now);
            }
            if let Some(body) = pending.get_value() {
                send(body);
            }
        }
    };
    // "Use their version": reload the form from the newest version.
    let reload = move |_| {
        if let Some(now) = newest.get_value() {
            fields.fill(&now);
            base.set_value(now);
        }
        conflicts.set(Vec::new());
        errors.set(Vec::new());
        notice.set(Some(
            "The form now shows the latest version; your edits were discarded.".into(),
        ));
    };
    // "Keep editing": take their values where I changed nothing, keep mine.
    let keep = move |_| {
        if let Some(now) = newest.get_value() {
            let opened = values(&base.get_value());
            for ((name, _, was), (_, _, theirs)) in opened.iter().zip(values(&now)) {
                if let Some(sig) = fields.by_name(name) {
                    if sig.get_untracked().trim() == was.as_str() {
                        sig.set(theirs);
                    }
                }
            }
            base.set_value(now);
        }
        conflicts.set(Vec::new());
    };

    view! {
        <p class="crumbs"><a href=format!("/users/{user_id}")>{format!("← {name}")}</a></p>
        <h1>{format!("Edit {name}")}</h1>
        <p class="muted">{format!("E-mail {} · role {}", original.email, original.role.label())}</p>
        <form class="user-form" data-testid="edit-user-form" on:submit=submit novalidate=true>
            <CommonFields fields errors on_blur/>
            <Show when=move || !conflicts.get().is_empty()>
                <div class="conflict span" role="alert" data-testid="conflict">
                    <h2>"Someone else changed this user since you opened the form"</h2>
                    <table>
                        <thead><tr><th scope="col">"Field"</th><th scope="col">"When you opened it"</th><th scope="col">"Now"</th><th scope="col">"Your value"</th></tr></thead>
                        <tbody>
                            {move || conflicts.get().into_iter().map(|c| view! {
                                <tr>
                                    <th scope="row">{c.label}</th>
                                    <td>{if c.opened.is_empty() { "—".to_string() } else { c.opened }}</td>
                                    <td><strong>{if c.theirs.is_empty() { "—".to_string() } else { c.theirs }}</strong></td>
                                    <td>{c.mine.unwrap_or_else(|| "(unchanged)".into())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p>"Save your changes over theirs, or load their version and start again. Fields you did not change keep their new values either way."</p>
                    <div class="actions">
                        <button type="button" class="danger" data-testid="conflict-overwrite" on:click=overwrite.clone()>"Save mine anyway"</button>
                        <button type="button" data-testid="conflict-reload" on:click=reload>"Use their version"</button>
                        <button type="button" data-testid="conflict-keep-editing" on:click=keep>"Keep editing"</button>
                    </div>
                </div>
            </Show>
            {move || notice.get().map(|m| view! { <p class="notice span" role="status" data-testid="form-notice">{m}</p> })}
            {move || failure.get().map(|m| view! { <div class="span"><ErrorPanel message=m title="The changes were not saved."/></div> })}
            <div class="actions span">
                <button type="submit" class="primary" data-testid="submit-user" disabled=move || busy.get()>
                    {move || if busy.get() { "Saving…" } else { "Save changes" }}
                </button>
                <a class="button" href=format!("/users/{user_id}")>"Cancel"</a>
            </div>
        </form>
    }
}
