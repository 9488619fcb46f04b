//! Team administration (`/team`, admins only): the colleagues with a
//! back-office account, from the gateway's own records (`/api/team`).
//!
//! Lists each member with their role, whether they have a Podero team
//! member, when they were last seen and how many sessions they have open,
//! and, while a member still has to replace a one-time password, until when
//! it works (or that it expired). Changes a member's role, ends all their
//! sessions, issues a new one-time password (after a confirmation that says
//! their current password stops working and they are signed out), and
//! removes a member (after a confirmation that says it cannot be undone).
//! Invites a colleague. Either way the one-time password is shown once, to
//! be handed over by a safe channel. The signed-in admin's own row offers
//! nothing: the gateway refuses changes to one's own account.
//!
//! Below the members, "In Podero, without back-office access": the
//! organisation's active admins and staff that no member is linked to, as
//! the same answer lists them (`TeamList::without_access`). "Give access"
//! fills the invite form with their e-mail, name and role; inviting them
//! links the new account to their existing Podero user. After a write the
//! team is read once more: the gateway answers only once its view of the
//! Podero users shows that write, so both lists are current.

use std::future::Future;

use chrono::{DateTime, Utc};
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::staff::{Invite, Invited, RoleChange, StaffRole, TeamList, TeamMember};
use shared::{FieldError, Role, User};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::confirm::ConfirmDialog;
use crate::components::device_card::copy_to_clipboard;
use crate::components::feedback::{AdminOnly, EmptyState, ErrorPanel, Loading};
use crate::components::form::{server_field_errors, TextField};
use crate::components::toast::use_toasts;
use crate::format::{ago, local_time, stamp};
use crate::i18n::{lang, t, t_with, tx, Label};
use crate::session::use_session;

/// What each role may do, for the invite form.
const ROLE_HELP: [(StaffRole, Label); 3] = [
    (StaffRole::Staff, || t("team.help_staff")),
    (StaffRole::Admin, || t("team.help_admin")),
    (StaffRole::Viewer, || t("team.help_viewer")),
];

/// The page's two lists, from one `/api/team` answer.
#[derive(Clone, Copy)]
struct Team {
    list: RwSignal<Option<Result<TeamList, ApiFailure>>>,
    /// Number of the latest read: an earlier read answering late is dropped.
    reads: StoredValue<u64>,
}

impl Team {
    fn new() -> Self {
        Team {
            list: RwSignal::new(None),
            reads: StoredValue::new(0),
        }
    }

    /// Read the team (again). The list shown stays until the answer comes.
    /// Nothing happens once the page is left (an action may end after).
    fn reload(self) {
        let Some(read) = self.reads.try_update_value(|n| {
            *n += 1;
            *n
        }) else {
            return;
        };
        spawn_local(async move {
            let answer = api::team().await;
            // The page may have been left meanwhile.
            if self.reads.try_get_value() == Some(read) {
                self.list.set(Some(answer));
            }
        });
    }
}

/// The invite form's fields, shared with "Give access", which fills them.
#[derive(Clone, Copy)]
struct InviteFields {
    email: RwSignal<String>,
    first: RwSignal<String>,
    last: RwSignal<String>,
    role: RwSignal<String>,
    errors: RwSignal<Vec<FieldError>>,
    failure: RwSignal<Option<String>>,
    form: NodeRef<html::Form>,
    submit: NodeRef<html::Button>,
}

impl InviteFields {
    fn new() -> Self {
        InviteFields {
            email: RwSignal::new(String::new()),
            first: RwSignal::new(String::new()),
            last: RwSignal::new(String::new()),
            role: RwSignal::new(StaffRole::Staff.as_str().to_string()),
            errors: RwSignal::new(Vec::new()),
            failure: RwSignal::new(None),
            form: NodeRef::new(),
            submit: NodeRef::new(),
        }
    }

    /// Fill the form for `user` (sends nothing), bring it into view and
    /// focus Invite, or the first name field still to fill in.
    fn fill_for(self, user: &User) {
        let role = match user.role {
            Role::Admin => StaffRole::Admin,
            _ => StaffRole::Staff,
        };
        self.email.set(user.email.clone());
        self.first.set(user.first_name.clone().unwrap_or_default());
        self.last.set(user.last_name.clone().unwrap_or_default());
        self.role.set(role.as_str().to_string());
        self.errors.set(Vec::new());
        self.failure.set(None);
        if let Some(form) = self.form.get_untracked() {
            form.scroll_into_view();
        }
        let missing = [("f-first_name", self.first), ("f-last_name", self.last)]
            .into_iter()
            .find(|(_, v)| v.with_untracked(|v| v.trim().is_empty()))
            .and_then(|(id, _)| {
                web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id(id))
            });
        match missing {
            Some(el) => {
                use wasm_bindgen::JsCast;
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
            None => {
                if let Some(b) = self.submit.get_untracked() {
                    let _ = b.focus();
                }
            }
        }
    }
}

/// The reason of a refusal: the gateway's words for "not your own
/// account" and "not allowed", the full message otherwise.
fn reason(e: &ApiFailure) -> String {
    match e.code() {
        Some("own_account" | "forbidden") => e.detail(),
        _ => e.message(),
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let session = use_session();
    let admin = Memo::new(move |_| session.is_admin());
    move || {
        if admin.get() {
            view! { <TeamAdmin/> }.into_any()
        } else {
            view! {
                <div class="page-head"><h1>{tx!("team.title")}</h1></div>
                <AdminOnly message=tx!("team.admin_only")/>
            }
            .into_any()
        }
    }
}

#[component]
fn TeamAdmin() -> impl IntoView {
    let team = Team::new();
    let fields = InviteFields::new();
    // A colleague's new one-time password, shown once above the members.
    let replaced = RwSignal::new(None::<Invited>);
    team.reload();
    view! {
        <section aria-labelledby="team-h">
            <div class="page-head"><h1 id="team-h">{tx!("team.title")}</h1></div>
            <p class="muted">{tx!("team.intro")}</p>
            <InviteForm team fields/>
            {move || replaced.get().map(|issued| view! {
                <OneTimePassword issued why=Issued::Replaced on_close=Callback::new(move |_| replaced.set(None))/>
            })}
            {move || match team.list.get() {
                None => view! { <Loading text=tx!("team.loading")/> }.into_any(),
                Some(Err(e)) => view! { <ErrorPanel message=e.message() retry=Callback::new(move |_| team.reload())/> }.into_any(),
                Some(Ok(list)) if list.members.is_empty() => view! {
                    <EmptyState message=tx!("team.empty")/>
                }.into_any(),
                Some(Ok(list)) => view! { <Members list=list.members team replaced/> }.into_any(),
            }}
            <PoderoOnly team fields/>
        </section>
    }
}

/// Invite a colleague; afterwards, their one-time password.
#[component]
fn InviteForm(team: Team, fields: InviteFields) -> impl IntoView {
    let toasts = use_toasts();
    let InviteFields {
        email,
        first,
        last,
        role,
        errors,
        failure,
        form,
        submit: submit_ref,
    } = fields;
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<Invited>);
    let body = move || Invite {
        email: email.get_untracked().trim().to_string(),
        first_name: first.get_untracked().trim().to_string(),
        last_name: last.get_untracked().trim().to_string(),
        role: StaffRole::parse(&role.get_untracked()).unwrap_or(StaffRole::Staff),
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        failure.set(None);
        let b = body();
        if let Err(e) = b.validate() {
            errors.set(e);
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        spawn_local(async move {
            match api::invite(&b).await {
                Ok(invited) => {
                    toasts.success(t_with(
                        "team.invited_toast",
                        &[
                            ("name", &invited.member.display_name),
                            ("role", &invited.member.role.label_in(lang())),
                        ],
                    ));
                    for s in [email, first, last] {
                        s.set(String::new());
                    }
                    result.set(Some(invited));
                    team.reload();
                }
                Err(e) => match server_field_errors(&e) {
                    Some(fe) => errors.set(fe),
                    None => failure.set(Some(e.message())),
                },
            }
            busy.set(false);
        });
    };
    let role_help = move || {
        StaffRole::parse(&role.get())
            .and_then(|r| ROLE_HELP.iter().find(|(h, _)| *h == r))
            .map(|(r, what)| format!("{}: {}", r.label_in(lang()), what()))
    };
    view! {
        <form class="invite" data-testid="invite-form" on:submit=submit novalidate=true node_ref=form>
            <h2>{tx!("team.invite_title")}</h2>
            <div class="invite-fields">
                <TextField name="email" label=tx!("team.email") value=email errors input_type="email" required=true/>
                <TextField name="first_name" label=tx!("team.first_name") value=first errors required=true/>
                <TextField name="last_name" label=tx!("team.last_name") value=last errors required=true/>
                <div class="field">
                    <label for="invite-role">{tx!("team.role")}</label>
                    <select id="invite-role" data-testid="invite-role" aria-describedby="invite-role-help"
                            prop:value=move || role.get()
                            on:change=move |ev| role.set(event_target_value(&ev))>
                        {ROLE_HELP.into_iter().map(|(r, _)| view! { <option value=r.as_str()>{move || r.label_in(lang())}</option> }).collect_view()}
                    </select>
                    <p class="hint" id="invite-role-help" aria-live="polite">{role_help}</p>
                </div>
            </div>
            <ul class="role-help">
                {ROLE_HELP.into_iter().map(|(r, what)| view! { <li><strong>{move || r.label_in(lang())}</strong>": "{what}</li> }).collect_view()}
            </ul>
            {move || failure.get().map(|m| view! { <ErrorPanel message=m title=tx!("team.not_invited")/> })}
            <button type="submit" class="primary" data-testid="invite-submit" disabled=move || busy.get() node_ref=submit_ref>
                {move || if busy.get() { t("team.inviting") } else { t("team.invite") }}
            </button>
            {move || result.get().map(|issued| view! {
                <OneTimePassword issued why=Issued::Invited on_close=Callback::new(move |_| result.set(None))/>
            })}
        </form>
    }
}

/// Why a one-time password is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Issued {
    /// A new colleague's first password.
    Invited,
    /// A colleague's new password, replacing the one they had.
    Replaced,
}

/// A one-time password, shown once: a new colleague's, or a colleague's
/// new one. It is brought into view when shown.
#[component]
fn OneTimePassword(issued: Invited, why: Issued, on_close: Callback<()>) -> impl IntoView {
    let member = issued.member;
    let name = member.display_name.clone();
    let password = issued.one_time_password;
    let shown = password.clone();
    let note = RwSignal::new(None::<&'static str>);
    let copy = move |_| {
        let password = password.clone();
        spawn_local(async move {
            note.set(Some(if copy_to_clipboard(password).await {
                "team.copied"
            } else {
                "team.copy_refused"
            }));
        });
    };
    let role = member.role;
    let testid = match why {
        Issued::Invited => "invite-result",
        Issued::Replaced => "new-one-time-password-result",
    };
    let heading = {
        let name = name.clone();
        move || match why {
            Issued::Invited => t_with(
                "team.otp_invited_heading",
                &[("name", &name), ("role", &role.label_in(lang()))],
            ),
            Issued::Replaced => t_with("team.otp_replaced_heading", &[("name", &name)]),
        }
    };
    let expires = member.one_time_password_expires_at;
    let shown_once = move || {
        let then = match why {
            Issued::Invited => t("team.otp_then_invited"),
            Issued::Replaced => t("team.otp_then_replaced"),
        };
        let until = expires
            .map(|at| t_with("team.otp_until", &[("time", &local_time(at))]))
            .unwrap_or_default();
        t_with(
            "team.otp_shown_once",
            &[("name", &name), ("then", &then), ("until", &until)],
        )
    };
    let panel = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = panel.get() {
            el.scroll_into_view_with_bool(false);
        }
    });
    view! {
        <div class="invite-result" data-testid=testid role="status" node_ref=panel>
            <h3>{heading}</h3>
            <p>{tx!("team.otp_for")}" "<strong>{member.email.clone()}</strong>":"</p>
            <p class="otp-line">
                <code class="otp" data-testid="one-time-password">{shown}</code>
                <button type="button" data-testid="copy-password" on:click=copy>{tx!("team.copy")}</button>
            </p>
            <p class="note" aria-live="polite">{move || note.get().map(t)}</p>
            <p>{shown_once}</p>
            <button type="button" data-testid="invite-result-close" on:click=move |_| on_close.run(())>{tx!("team.done")}</button>
        </div>
    }
}

/// Until when a member's one-time password works, or that it expired.
#[component]
fn OneTimePasswordValidity(until: DateTime<Utc>) -> impl IntoView {
    let expired = until.timestamp_millis() as f64 <= js_sys::Date::now();
    if expired {
        view! {
            <span class="otp-validity expired" data-testid="otp-expired" title=move || stamp(Some(until))>
                {tx!("team.otp_expired")}
            </span>
        }
        .into_any()
    } else {
        view! {
            <span class="otp-validity" data-testid="otp-valid-until" title=move || stamp(Some(until))>
                {move || t_with("team.otp_valid_until", &[("time", &local_time(until))])}
            </span>
        }
        .into_any()
    }
}

/// The member an action is about: id, name, e-mail, their Podero user.
#[derive(Clone, Debug, PartialEq)]
struct Target {
    id: Uuid,
    name: String,
    email: String,
    podero: Option<Uuid>,
}

/// A confirmed action on one member: who it is about, and the dialog.
#[derive(Clone, Copy)]
struct Pending {
    open: RwSignal<bool>,
    target: RwSignal<Option<Target>>,
}

impl Pending {
    fn new() -> Self {
        Pending {
            open: RwSignal::new(false),
            target: RwSignal::new(None),
        }
    }

    /// Ask about `target`.
    fn ask(self, target: &Target) -> Callback<()> {
        let target = target.clone();
        Callback::new(move |_| {
            self.target.set(Some(target.clone()));
            self.open.set(true);
        })
    }

    /// What confirming does: `act` on the member asked about.
    fn on_confirm<F, Fut>(self, act: F) -> Callback<()>
    where
        F: Fn(Target) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        Callback::new(move |_| {
            if let Some(t) = self.target.get_untracked() {
                spawn_local(act(t));
            }
        })
    }

    /// The dialog's text for the member asked about.
    fn text(self, f: fn(&Target) -> String) -> Signal<String> {
        Signal::derive(move || self.target.with(|t| t.as_ref().map(f).unwrap_or_default()))
    }
}

#[component]
fn Members(
    list: Vec<TeamMember>,
    team: Team,
    replaced: RwSignal<Option<Invited>>,
) -> impl IntoView {
    let toasts = use_toasts();
    let session = use_session();
    let me = untrack(|| session.account_id());

    // Remove: confirm, naming the person.
    let removing = Pending::new();
    let on_remove = removing.on_confirm(move |t| async move {
        match api::remove_member(t.id).await {
            Ok(()) => {
                toasts.success(t_with("team.removed_toast", &[("name", &t.name)]));
                team.reload();
            }
            Err(e) => toasts.error(t_with(
                "team.remove_failed",
                &[("name", &t.name), ("error", &reason(&e))],
            )),
        }
    });
    let remove_message = removing.text(|m| {
        let podero = if m.podero.is_some() {
            t("team.remove_message_podero")
        } else {
            String::new()
        };
        t_with(
            "team.remove_message",
            &[("name", &m.name), ("email", &m.email), ("podero", &podero)],
        )
    });
    let remove_title = removing.text(|m| t_with("team.remove_title", &[("name", &m.name)]));

    // End sessions: confirm, then say how many ended.
    let ending = Pending::new();
    let on_end = ending.on_confirm(move |t| async move {
        match api::end_sessions(t.id).await {
            Ok(r) => {
                let n = r.ended.to_string();
                let args = [("name", t.name.as_str()), ("count", n.as_str())];
                toasts.success(match r.ended {
                    0 => t_with("team.sessions_none", &args),
                    1 => t_with("team.sessions_ended_one", &args),
                    _ => t_with("team.sessions_ended", &args),
                });
                team.reload();
            }
            Err(e) => toasts.error(t_with(
                "team.end_failed",
                &[("name", &t.name), ("error", &reason(&e))],
            )),
        }
    });
    let end_message = ending.text(|m| {
        t_with(
            "team.end_message",
            &[("name", &m.name), ("email", &m.email)],
        )
    });
    let end_title = ending.text(|m| t_with("team.end_title", &[("name", &m.name)]));

    // New one-time password: confirm, then show it once.
    let resetting = Pending::new();
    let on_reset = resetting.on_confirm(move |t| async move {
        match api::new_one_time_password(t.id).await {
            Ok(issued) => {
                replaced.set(Some(issued));
                team.reload();
            }
            Err(e) => toasts.error(t_with(
                "team.reset_failed",
                &[("name", &t.name), ("error", &reason(&e))],
            )),
        }
    });
    let reset_message = resetting.text(|m| {
        t_with(
            "team.reset_message",
            &[("name", &m.name), ("email", &m.email)],
        )
    });
    let reset_title = resetting.text(|m| t_with("team.reset_title", &[("name", &m.name)]));

    view! {
        <div class="table-wrap">
            <table data-testid="team-table">
                <caption class="visually-hidden">{tx!("team.members_caption")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{tx!("team.name")}</th>
                        <th scope="col">{tx!("team.email")}</th>
                        <th scope="col">{tx!("team.role")}</th>
                        <th scope="col">{tx!("team.podero_member")}</th>
                        <th scope="col">{tx!("team.last_seen")}</th>
                        <th scope="col" class="num">{tx!("team.sessions")}</th>
                        <th scope="col">{tx!("team.actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|m| {
                        let target = Target {
                            id: m.id,
                            name: m.display_name.clone(),
                            email: m.email.clone(),
                            podero: m.podero_user_id,
                        };
                        let own = me == Some(m.id);
                        let (role, last_seen, linked) = (m.role, m.last_seen_at, m.podero_user_id.is_some());
                        let actions = if own {
                            view! { <span class="badge" data-testid="own-account">{tx!("team.you")}</span> }.into_any()
                        } else {
                            view! {
                                <MemberActions member=m.clone() team
                                    on_end=ending.ask(&target)
                                    on_new_password=resetting.ask(&target)
                                    on_remove=removing.ask(&target)/>
                            }.into_any()
                        };
                        let name = match m.podero_user_id {
                            Some(u) => view! { <a href=format!("/users/{u}") title=tx!("team.their_podero_user")>{m.display_name.clone()}</a> }.into_any(),
                            None => view! { <span>{m.display_name.clone()}</span> }.into_any(),
                        };
                        let validity = m
                            .one_time_password_expires_at
                            .filter(|_| m.must_change_password)
                            .map(|until| view! { <OneTimePasswordValidity until/> });
                        view! {
                            <tr data-testid="team-row" data-member-id=m.id.to_string() data-email=m.email.clone()
                                data-role=m.role.as_str() data-user-id=m.podero_user_id.map(|u| u.to_string())>
                                <td>
                                    {name}
                                    {m.must_change_password.then(|| view! {
                                        " " <span class="badge warn" data-testid="must-change-password"
                                            title=tx!("team.must_change_title")>{tx!("team.must_change")}</span>
                                    })}
                                    {validity}
                                </td>
                                <td>{m.email.clone()}</td>
                                <td><span class=format!("badge role-{}", m.role.as_str())>{move || role.label_in(lang())}</span></td>
                                <td>{move || if linked { t("common.yes") } else { t("common.no") }}</td>
                                <td title=move || stamp(last_seen)>{move || ago(last_seen)}</td>
                                <td class="num" data-testid="active-sessions">{m.active_sessions.to_string()}</td>
                                <td class="member-actions">{actions}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <ConfirmDialog open=removing.open title=remove_title message=remove_message
            confirm_label=tx!("team.remove_confirm") on_confirm=on_remove/>
        <ConfirmDialog open=ending.open title=end_title message=end_message
            confirm_label=tx!("team.end_confirm") on_confirm=on_end/>
        <ConfirmDialog open=resetting.open title=reset_title message=reset_message
            confirm_label=tx!("team.reset_confirm") on_confirm=on_reset/>
    }
}

/// Role select and Save, End sessions, New one-time password, Remove: for
/// a colleague's row.
#[component]
fn MemberActions(
    member: TeamMember,
    team: Team,
    on_end: Callback<()>,
    on_new_password: Callback<()>,
    on_remove: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let id = member.id;
    let name = StoredValue::new(member.display_name.clone());
    let current = member.role;
    let chosen = RwSignal::new(current.as_str().to_string());
    let saving = RwSignal::new(false);
    let unchanged = move || saving.get() || chosen.get() == current.as_str();
    let save_role = move |_| {
        let Some(role) = StaffRole::parse(&chosen.get_untracked()) else {
            return;
        };
        if role == current {
            return;
        }
        saving.set(true);
        let name = name.get_value();
        spawn_local(async move {
            match api::change_role(id, RoleChange { role }).await {
                Ok(m) => {
                    toasts.success(t_with(
                        "team.role_changed",
                        &[("name", &name), ("role", &m.role.label_in(lang()))],
                    ));
                    team.reload();
                }
                Err(e) => {
                    toasts.error(t_with(
                        "team.role_failed",
                        &[("name", &name), ("error", &reason(&e))],
                    ));
                    saving.set(false);
                }
            }
        });
    };
    let select_id = format!("role-{id}");
    view! {
        <label class="visually-hidden" for=select_id.clone()>{move || t_with("team.role_of", &[("name", &name.get_value())])}</label>
        <select id=select_id data-testid="role-select" prop:value=move || chosen.get()
                on:change=move |ev| chosen.set(event_target_value(&ev))>
            {StaffRole::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{move || r.label_in(lang())}</option> }).collect_view()}
        </select>
        <button type="button" data-testid="save-role" on:click=save_role disabled=unchanged
                aria-label=move || t_with("team.save_role_label", &[("name", &name.get_value())])>{tx!("team.save_role")}</button>
        <button type="button" data-testid="end-sessions" on:click=move |_| on_end.run(())
                aria-label=move || t_with("team.end_label", &[("name", &name.get_value())])>{tx!("team.end_sessions")}</button>
        <button type="button" data-testid="new-one-time-password" on:click=move |_| on_new_password.run(())
                aria-label=move || t_with("team.reset_label", &[("name", &name.get_value())])>{tx!("team.new_password")}</button>
        <button type="button" class="danger" data-testid="remove-member" on:click=move |_| on_remove.run(())
                aria-label=move || t_with("team.remove_label", &[("name", &name.get_value())])>{tx!("team.remove")}</button>
    }
}

/// The organisation's Podero admins and staff whom no member is linked to,
/// with "Give access" to fill the invite form for them.
#[component]
fn PoderoOnly(team: Team, fields: InviteFields) -> impl IntoView {
    let body = move || match team.list.get() {
        // The team's own error panel (above) offers Retry.
        Some(Err(_)) => view! { <p class="muted">{tx!("team.podero_only_waiting")}</p> }.into_any(),
        None => view! { <Loading text=tx!("team.podero_only_loading")/> }.into_any(),
        Some(Ok(list)) => {
            // The table holds no state: built anew on a language switch.
            lang();
            view! { <PoderoOnlyTable users=list.without_access fields/> }.into_any()
        }
    };
    view! {
        <section class="podero-only" aria-labelledby="podero-only-h">
            <h2 id="podero-only-h">{tx!("team.podero_only_title")}</h2>
            <p class="muted">{tx!("team.podero_only_intro")}</p>
            {body}
        </section>
    }
}

#[component]
fn PoderoOnlyTable(users: Vec<User>, fields: InviteFields) -> impl IntoView {
    if users.is_empty() {
        return view! {
            <p class="empty" data-testid="podero-only-empty">{t("team.podero_only_empty")}</p>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table data-testid="podero-only">
                <caption class="visually-hidden">{t("team.podero_only_caption")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t("team.name")}</th>
                        <th scope="col">{t("team.email")}</th>
                        <th scope="col">{t("team.podero_role")}</th>
                        <th scope="col">{t("team.actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    {users.into_iter().map(|u| {
                        let name = u.display_name();
                        let label = t_with("team.give_access_label", &[("name", &name)]);
                        let user = StoredValue::new(u.clone());
                        view! {
                            <tr data-testid="podero-only-row" data-user-id=u.id.to_string()
                                data-email=u.email.clone() data-role=u.role.as_str()>
                                <td><a href=format!("/users/{}", u.id) title=t("team.their_podero_user")>{name}</a></td>
                                <td>{u.email.clone()}</td>
                                <td><span class=format!("badge role-{}", u.role.as_str())>{u.role.label_in(lang())}</span></td>
                                <td>
                                    <button type="button" data-testid="give-access" aria-label=label
                                            on:click=move |_| user.with_value(|u| fields.fill_for(u))>{t("team.give_access")}</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
