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

pub mod fields;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde::{Deserialize, Serialize};
use shared::staff::StaffRole;
use shared::{ApiError, FieldError, Role, UpdateUser, User};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::feedback::{ErrorPanel, Loading, ReadOnly};
use crate::components::form::server_field_errors;
use crate::components::toast::use_toasts;
use crate::drafts;
use crate::i18n::{lang, t, t_with, tx, Label, Text};
use crate::session::use_session;
use fields::{focus_first, EditableFields, Field, FieldInput, Inputs, Typed};

/// Roles the create form offers, as far as the signed-in role may create
/// them, with their texts.
const ROLE_CHOICES: [(Role, Label); 3] = [
    (Role::User, || t("user_form.role_user")),
    (Role::Staff, || t("user_form.role_staff")),
    (Role::Admin, || t("user_form.role_admin")),
];

/// The signed-in role's label (tracked), for the read-only panel.
fn role_label(role: Option<StaffRole>) -> Signal<String> {
    Signal::derive(move || role.map_or_else(|| t("common.role_none"), |r| r.label_in(lang())))
}

/// The read-only panel for the signed-in role, if it may not change users.
fn read_only_role() -> Option<Signal<String>> {
    let session = use_session();
    untrack(|| (!session.can_change_users()).then(|| role_label(session.role())))
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
                {tx!("user_form.draft_restored")}" "
                <button type="button" data-testid="discard-draft" disabled=move || busy.get()
                        on:click=move |_| on_discard.run(())>
                    {tx!("user_form.discard")}
                </button>
            </div>
        </Show>
    }
}

#[component]
pub fn CreateUserPage() -> impl IntoView {
    match read_only_role() {
        Some(role) => view! {
            <p class="crumbs"><a href="/">{tx!("common.back_to_users")}</a></p>
            <h1>{tx!("user_form.new_title")}</h1>
            <ReadOnly role note=tx!("user_form.create_needs_role")/>
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
    let failure = RwSignal::new(None::<Text>);
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
                    toasts.success(t_with(
                        "user_form.created",
                        &[("name", &user.display_name())],
                    ));
                    navigate(&format!("/users/{}", user.id), Default::default());
                }
                Err(e) => match server_field_errors(&e) {
                    Some(fe) => {
                        focus_first(&fe);
                        errors.set(fe);
                    }
                    None => failure.set(Some(Text::Plain(e.message()))),
                },
            }
            busy.set(false);
        });
    };
    view! {
        <p class="crumbs"><a href="/">{tx!("common.back_to_users")}</a></p>
        <h1>{tx!("user_form.new_title")}</h1>
        <form class="user-form" data-testid="create-user-form" on:submit=submit novalidate=true>
            <DraftNotice restored busy on_discard=discard/>
            <div class="field">
                <label for="f-role">{move || Field::Role.label()}</label>
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
            {move || failure.get().map(|m| view! { <div class="span"><ErrorPanel message=move || m.get() title=tx!("user_form.not_created")/></div> })}
            <div class="actions span">
                <button type="submit" class="primary" data-testid="submit-user" disabled=move || busy.get()>
                    {move || if busy.get() { t("user_form.creating") } else { t("user_form.create") }}
                </button>
                <a class="button" href="/" on:click=move |_| drafts::clear(NEW_DRAFT)>{tx!("common.cancel")}</a>
            </div>
        </form>
    }
}

/// A field changed upstream since the form was opened.
#[derive(Clone, Debug, PartialEq)]
struct Conflict {
    field: Field,
    opened: String,
    theirs: String,
    mine: Option<String>,
}

#[component]
pub fn EditUserPage() -> impl IntoView {
    match read_only_role() {
        Some(role) => view! {
            <p class="crumbs"><a href="/">{tx!("common.back_to_users")}</a></p>
            <h1>{tx!("user_form.edit_user_title")}</h1>
            <ReadOnly role note=tx!("user_form.change_needs_role")/>
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
                    error: ApiError::message(t("user_detail.invalid_address")),
                }),
            }
        }
    });
    view! {
        {move || match user.get() {
            None => view! { <Loading text=tx!("user_detail.loading_user")/> }.into_any(),
            Some(Err(e)) => view! {
                <p class="crumbs"><a href="/">{tx!("common.back_to_users")}</a></p>
                <ErrorPanel message=e.message() retry=Callback::new(move |_| user.refetch())/>
            }.into_any(),
            // Untracked: when the session ends the shell removes this page;
            // re-running here then would read the disposed `user`.
            Some(Ok(u)) if !untrack(|| session.can_change_user_of_role(u.role)) => {
                let role = role_label(untrack(|| session.role()));
                let name = u.display_name();
                let their_role = u.role;
                let note = {
                    let name = name.clone();
                    move || {
                        let key = if their_role == Role::Admin {
                            "user_form.not_yours_admin"
                        } else {
                            "user_form.not_yours_team"
                        };
                        t_with(key, &[("name", &name), ("role", &their_role.label_in(lang()))])
                    }
                };
                let title = {
                    let name = name.clone();
                    move || t_with("user_form.edit_title", &[("name", &name)])
                };
                view! {
                    <p class="crumbs"><a href=format!("/users/{}", u.id)>{format!("← {name}")}</a></p>
                    <h1>{title}</h1>
                    <ReadOnly role note/>
                }.into_any()
            }
            // Podero keeps an archived user as it is: a change would only
            // be refused (404), so say so instead of offering the form.
            Some(Ok(u)) if u.deleted_at.is_some() => {
                let name = u.display_name();
                let title = {
                    let name = name.clone();
                    move || t_with("user_form.edit_title", &[("name", &name)])
                };
                let note = {
                    let name = name.clone();
                    move || t_with("user_form.archived_note", &[("name", &name)])
                };
                view! {
                    <p class="crumbs"><a href=format!("/users/{}", u.id)>{format!("← {name}")}</a></p>
                    <h1>{title}</h1>
                    <div class="empty role-note" data-testid="archived-note" role="note">
                        <p><strong>{note}</strong></p>
                        <p><a href=format!("/users/{}", u.id)>{move || t_with("user_form.archived_back", &[("name", &name)])}</a></p>
                    </div>
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
    let failure = RwSignal::new(None::<Text>);
    let notice = RwSignal::new(None::<Text>);
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
                        toasts.success(t_with("user_form.saved", &[("name", &u.display_name())]));
                        navigate(&format!("/users/{user_id}"), Default::default());
                    }
                    Err(e) => match server_field_errors(&e) {
                        Some(fe) => {
                            focus_first(&fe);
                            errors.set(fe);
                        }
                        None => failure.set(Some(Text::Plain(e.message()))),
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
                notice.set(Some(Text::Key("user_form.nothing_to_save")));
                return;
            }
            busy.set(true);
            let send = send.clone();
            spawn_local(async move {
                // Re-read: did someone change this user since the form opened?
                match api::get_user(user_id).await {
                    Err(e) => {
                        failure.set(Some(Text::Plain(t_with(
                            "user_form.conflict_check_failed",
                            &[("error", &e.message())],
                        ))));
                        busy.set(false);
                    }
                    Ok(now) => {
                        let before = Typed::of(&opened);
                        let after = Typed::of(&now);
                        let mine = inputs.typed();
                        let found: Vec<Conflict> = after
                            .changed_from(&before)
                            .map(|f| Conflict {
                                field: f,
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
        notice.set(Some(Text::Key("user_form.reloaded")));
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
        <h1>{move || t_with("user_form.edit_title", &[("name", &name)])}</h1>
        <p class="muted">{move || t_with(
            "user_form.email_and_role",
            &[("email", &original.email), ("role", &original.role.label_in(lang()))],
        )}</p>
        <form class="user-form" data-testid="edit-user-form" on:submit=submit novalidate=true>
            <DraftNotice restored busy on_discard=discard/>
            <EditableFields inputs errors on_blur/>
            <Show when=move || !conflicts.get().is_empty()>
                <div class="conflict span" role="alert" data-testid="conflict">
                    <h2>{tx!("user_form.conflict_title")}</h2>
                    <table>
                        <thead><tr>
                            <th scope="col">{tx!("user_form.conflict_field")}</th>
                            <th scope="col">{tx!("user_form.conflict_opened")}</th>
                            <th scope="col">{tx!("user_form.conflict_now")}</th>
                            <th scope="col">{tx!("user_form.conflict_yours")}</th>
                        </tr></thead>
                        <tbody>
                            {move || conflicts.get().into_iter().map(|c| view! {
                                <tr>
                                    <th scope="row">{c.field.label()}</th>
                                    <td>{if c.opened.is_empty() { "—".to_string() } else { c.opened }}</td>
                                    <td><strong>{if c.theirs.is_empty() { "—".to_string() } else { c.theirs }}</strong></td>
                                    <td>{c.mine.unwrap_or_else(|| t("user_form.conflict_unchanged"))}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p>{tx!("user_form.conflict_help")}</p>
                    <div class="actions">
                        <button type="button" class="danger" data-testid="conflict-overwrite" on:click=overwrite.clone()>{tx!("user_form.conflict_overwrite")}</button>
                        <button type="button" data-testid="conflict-reload" on:click=reload>{tx!("user_form.conflict_reload")}</button>
                        <button type="button" data-testid="conflict-keep-editing" on:click=keep>{tx!("user_form.conflict_keep")}</button>
                    </div>
                </div>
            </Show>
            {move || notice.get().map(|m| view! { <p class="notice span" role="status" data-testid="form-notice">{m.get()}</p> })}
            {move || failure.get().map(|m| view! { <div class="span"><ErrorPanel message=move || m.get() title=tx!("user_form.not_saved")/></div> })}
            <div class="actions span">
                <button type="submit" class="primary" data-testid="submit-user" disabled=move || busy.get()>
                    {move || if busy.get() { t("user_form.saving") } else { t("user_form.save") }}
                </button>
                <a class="button" href=format!("/users/{user_id}")
                   on:click=move |_| key.with_value(|k| drafts::clear(k))>{tx!("common.cancel")}</a>
            </div>
        </form>
    }
}
