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
//!
//! The fields themselves (names, labels, a value per field, the request
//! bodies built from them) are one model for both forms: [`fields`].
//!
//! While the values differ from the saved ones, both forms keep a draft
//! (`crate::drafts`, keyed by the form's path): when the session ends and
//! the sign-in page takes over, the form shown again afterwards restores
//! what was typed and says so. The edit form's draft keeps the version it
//! was opened from, so a restored draft still goes through the check for
//! changes by others. Saving or Cancel clears the draft.

mod fields;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde::{Deserialize, Serialize};
use shared::{ApiError, FieldError, Role, UpdateUser, User};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::feedback::{ErrorPanel, Loading, ReadOnly};
use crate::components::form::server_field_errors;
use crate::components::toast::use_toasts;
use crate::drafts;
use crate::session::use_session;
use fields::{focus_first, EditableFields, Field, FieldInput, Inputs, Typed};

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

/// A draft of a user form, as kept in `sessionStorage`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Draft {
    /// Who typed it: another person signing in in this tab does not get it.
    account: Option<Uuid>,
    typed: Typed,
    /// The edit form's version it was opened from (for the conflict check).
    base: Option<User>,
}

/// The create form's draft key.
const NEW_DRAFT: &str = "/users/new";

/// The edit form's draft key.
fn edit_draft(id: Uuid) -> String {
    format!("/users/{id}/edit")
}

/// The draft under `key` if `account` typed it; another account's is dropped.
fn load_draft(key: &str, account: Option<Uuid>) -> Option<Draft> {
    let draft = drafts::load::<Draft>(key)?;
    if draft.account == account {
        Some(draft)
    } else {
        drafts::clear(key);
        None
    }
}

/// Says that a draft was restored, with "Discard" (back to the saved values).
#[component]
fn DraftNotice(
    restored: RwSignal<bool>,
    busy: RwSignal<bool>,
    on_discard: Callback<()>,
) -> impl IntoView {
    view! {
        <Show when=move || restored.get()>
            <div class="notice span" role="status" data-testid="draft-restored">
                "Restored what you typed before you were signed out. Check it and save. "
                <button type="button" data-testid="discard-draft" disabled=move || busy.get()
                        on:click=move |_| on_discard.run(())>
                    "Discard"
                </button>
            </div>
        </Show>
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
    let inputs = Inputs::new(&Typed::blank());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let toasts = use_toasts();
    let navigate = use_navigate();
    // A draft from before the session ended: back into the form.
    let account = untrack(|| session.account_id());
    let restored = RwSignal::new(false);
    if let Some(draft) = load_draft(NEW_DRAFT, account) {
        inputs.restore(&draft.typed);
        // A role this account may no longer create is not offered.
        let role_ok = Role::parse(&draft.typed[Field::Role])
            .is_some_and(|r| untrack(|| session.can_change_user_of_role(r)));
        if !role_ok {
            inputs[Field::Role].set(Typed::blank()[Field::Role].clone());
        }
        restored.set(!inputs.is_blank());
    }
    // Keep a draft while something is typed (none for an untouched form).
    Effect::new(move |_| {
        inputs.track();
        if inputs.is_blank() {
            drafts::clear(NEW_DRAFT);
        } else {
            let draft = Draft {
                account,
                typed: inputs.typed(),
                base: None,
            };
            drafts::save(NEW_DRAFT, &draft);
        }
    });
    let discard = Callback::new(move |_| {
        drafts::clear(NEW_DRAFT);
        inputs.restore(&Typed::blank());
        errors.set(Vec::new());
        failure.set(None);
        restored.set(false);
    });
    // Leaving a field re-checks the form, showing only errors of fields
    // that have something typed (an untouched required field is not yet
    // an error).
    let on_blur = Callback::new(move |_| {
        let typed = inputs.typed();
        if let Err(all) = typed.create_body() {
            let touched: Vec<FieldError> = all
                .into_iter()
                .filter(|e| Field::from_name(&e.field).is_some_and(|f| !typed[f].trim().is_empty()))
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
        let body = match inputs.typed().create_body() {
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
                    drafts::clear(NEW_DRAFT);
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
            <DraftNotice restored busy on_discard=discard/>
            <div class="field">
                <label for="f-role">"Role"</label>
                <select id="f-role" data-testid="field-role" prop:value=move || inputs[Field::Role].get()
                        on:change=move |ev| inputs[Field::Role].set(event_target_value(&ev))>
                    {ROLE_CHOICES
                        .into_iter()
                        .filter(|(r, _)| untrack(|| session.can_change_user_of_role(*r)))
                        .map(|(r, label)| view! { <option value=r.as_str()>{label}</option> })
                        .collect_view()}
                </select>
            </div>
            <FieldInput field=Field::Email inputs errors on_blur/>
            <EditableFields inputs errors on_blur/>
            {move || failure.get().map(|m| view! { <div class="span"><ErrorPanel message=m title="The user was not created."/></div> })}
            <div class="actions span">
                <button type="submit" class="primary" data-testid="submit-user" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create user" }}
                </button>
                <a class="button" href="/" on:click=move |_| drafts::clear(NEW_DRAFT)>"Cancel"</a>
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
            // Untracked: when the session ends the shell removes this page;
            // re-running here then would read the disposed `user`.
            Some(Ok(u)) if !untrack(|| session.can_change_user_of_role(u.role)) => {
                let role = untrack(|| session.role()).map_or("none", |r| r.label());
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
    let session = use_session();
    let inputs = Inputs::new(&Typed::of(&original));
    // The version the form edits against, and the newest one seen when a
    // conflict was found.
    let base = StoredValue::new(original.clone());
    // The version loaded now, for "Discard".
    let saved = StoredValue::new(original.clone());
    // A draft from before the session ended goes on top of the loaded
    // values, with the version it was opened from: saving it checks for
    // changes by others since then, as any save does.
    let key = StoredValue::new(edit_draft(original.id));
    let account = untrack(|| session.account_id());
    let restored = RwSignal::new(false);
    if let Some(draft) = key.with_value(|k| load_draft(k, account)) {
        if let Some(opened) = draft.base.filter(|b| b.id == original.id) {
            // Unchanged since: the loaded version (exactly as the server
            // sent it) is the same base.
            if Typed::of(&opened)
                .changed_from(&Typed::of(&original))
                .next()
                .is_some()
            {
                base.set_value(opened);
            }
        }
        inputs.restore(&draft.typed);
        restored.set(inputs.differs_from(&base.get_value()));
    }
    // Keep a draft while the fields differ from the version they edit.
    let keep_draft = move || {
        let opened = base.get_value();
        if inputs.differs_from(&opened) {
            let draft = Draft {
                account,
                typed: inputs.typed(),
                base: Some(opened),
            };
            key.with_value(|k| drafts::save(k, &draft));
        } else {
            key.with_value(|k| drafts::clear(k));
        }
    };
    Effect::new(move |_| {
        inputs.track();
        keep_draft();
    });
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
            inputs
                .typed()
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
                        key.with_value(|k| drafts::clear(k));
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
            let body = match inputs.typed().update_body(&opened) {
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
                        let before = Typed::of(&opened);
                        let after = Typed::of(&now);
                        let mine = inputs.typed();
                        let found: Vec<Conflict> = after
                            .changed_from(&before)
                            .map(|f| Conflict {
                                label: f.label(),
                                opened: before[f].clone(),
                                theirs: after[f].clone(),
                                mine: Some(mine[f].trim().to_string()).filter(|m| *m != before[f]),
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
                keep_draft();
            }
            if let Some(body) = pending.get_value() {
                send(body);
            }
        }
    };
    // "Use their version": reload the form from the newest version.
    let reload = move |_| {
        if let Some(now) = newest.get_value() {
            inputs.fill(&now);
            base.set_value(now);
            keep_draft();
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
            let opened = Typed::of(&base.get_value());
            let theirs = Typed::of(&now);
            for &f in Field::EDITABLE {
                if inputs[f].get_untracked().trim() == opened[f] {
                    inputs[f].set(theirs[f].clone());
                }
            }
            base.set_value(now);
            keep_draft();
        }
        conflicts.set(Vec::new());
    };
    // "Discard": back to the version loaded now, without the draft.
    let discard = Callback::new(move |_| {
        key.with_value(|k| drafts::clear(k));
        let now = saved.get_value();
        inputs.fill(&now);
        base.set_value(now);
        newest.set_value(None);
        pending.set_value(None);
        conflicts.set(Vec::new());
        errors.set(Vec::new());
        failure.set(None);
        notice.set(None);
        restored.set(false);
    });

    view! {
        <p class="crumbs"><a href=format!("/users/{user_id}")>{format!("← {name}")}</a></p>
        <h1>{format!("Edit {name}")}</h1>
        <p class="muted">{format!("E-mail {} · role {}", original.email, original.role.label())}</p>
        <form class="user-form" data-testid="edit-user-form" on:submit=submit novalidate=true>
            <DraftNotice restored busy on_discard=discard/>
            <EditableFields inputs errors on_blur/>
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
                <a class="button" href=format!("/users/{user_id}")
                   on:click=move |_| key.with_value(|k| drafts::clear(k))>"Cancel"</a>
            </div>
        </form>
    }
}
