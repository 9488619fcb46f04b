//! "Sync" (`/sync`): bring the utility's customer file into Podero, and the
//! data-quality report.
//!
//! The agent picks a CSV file; the gateway compares it with the
//! organisation (the dry run) and the page shows the counts, each row's
//! changes from → to, invalid cells with the validator's message, conflicts
//! and the users missing from the file, filtered by kind. The column
//! mapping the gateway guessed can be changed per field (the dry run runs
//! again); a file the gateway refuses for its mapping (no column it
//! recognises as the e-mail) gets the same choice, from the file's columns
//! the refusal carries, open at once. The full diff, unchanged rows too, downloads as CSV (the same
//! dry run, answered as a file). "Apply" starts a run that the gateway works through in the
//! background; its progress bar is read from the gateway, so it survives a
//! reload of the page, and the run can be paused, resumed and its report
//! downloaded. Below, the data-quality report lists the users whose data
//! will hurt optimisation or support, each with a link to the edit form.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::sync::{
    ColumnMapping, DiffKind, DiffRow, DryRun, FileColumns, QualityProblem, QualityReport, RunState,
    SyncField, SyncRun,
};
use shared::FieldError;
use wasm_bindgen::JsCast;

use crate::api;
use crate::components::feedback::ErrorPanel;
use crate::components::form::server_field_errors;
use crate::download;
use crate::format::count;
use crate::i18n::{field_message, lang, t, t_with, tx};
use crate::session::use_session;
use crate::timer::sleep;

/// The file's bytes, read in the browser.
async fn read_file(input: web_sys::HtmlInputElement) -> Option<(String, Vec<u8>)> {
    let file = input.files()?.get(0)?;
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .ok()?;
    Some((file.name(), js_sys::Uint8Array::new(&buffer).to_vec()))
}

/// The query of a mapping.
fn mapping_query(mapping: &[ColumnMapping]) -> String {
    mapping
        .iter()
        .map(|m| {
            format!(
                "{}={}",
                m.field.as_str(),
                shared::directory::percent_encode(m.column.as_deref().unwrap_or(""))
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
pub fn SyncPage() -> impl IntoView {
    let session = use_session();
    let may_sync = move || session.can_change_users();
    let file = RwSignal::new(None::<Arc<Vec<u8>>>);
    let file_name = RwSignal::new(String::new());
    let mapping = RwSignal::new(None::<Vec<ColumnMapping>>);
    // The file's header row, once the gateway has read it (from a dry run
    // or from the refusal of its mapping): what each field's column is
    // chosen from. Set only when it changes, so the choice is not made
    // again (and keeps the focus) while the agent picks columns.
    let headers = RwSignal::new(None::<Vec<String>>);
    let dry = RwSignal::new(None::<DryRun>);
    let error = RwSignal::new(None::<String>);
    // The gateway's refusal of the file or of its mapping (no header, no
    // e-mail column, ...), shown at the file field in words.
    let file_errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let downloading = RwSignal::new(false);
    let archive_missing = RwSignal::new(false);
    let run = RwSignal::new(None::<SyncRun>);
    // Which call of `follow` may poll: each call (and leaving the page)
    // ends the loop before it, so a run is followed by one loop at most.
    let following = Arc::new(AtomicU64::new(0));
    {
        let following = following.clone();
        on_cleanup(move || {
            following.fetch_add(1, Ordering::Relaxed);
        });
    }
    // Follow a run until it is done (also one found at page load).
    let follow = {
        let following = following.clone();
        move |id: uuid::Uuid| {
            let following = following.clone();
            let turn = following.fetch_add(1, Ordering::Relaxed) + 1;
            let current = move || following.load(Ordering::Relaxed) == turn;
            spawn_local(async move {
                while current() {
                    let answer = api::sync_run(id).await;
                    if !current() {
                        return;
                    }
                    match answer {
                        Ok(r) => {
                            let state = r.state;
                            run.set(Some(r));
                            if state != RunState::Running {
                                return;
                            }
                        }
                        Err(e) => {
                            error.set(Some(e.message()));
                            return;
                        }
                    }
                    sleep(Duration::from_millis(500)).await;
                }
            });
        }
    };
    let follow = StoredValue::new(follow);
    let run_id = Memo::new(move |_| run.with(|r| r.as_ref().map(|r| r.id)));
    spawn_local(async move {
        if let Ok(runs) = api::sync_runs().await {
            if let Some(latest) = runs.into_iter().next() {
                let active = latest.state != RunState::Done;
                let id = latest.id;
                run.set(Some(latest));
                if active {
                    follow.with_value(|f| f(id));
                }
            }
        }
    });
    // The chosen file and the query of its column mapping.
    let chosen = move || {
        let bytes = file.get_untracked()?;
        let query = mapping
            .get_untracked()
            .map(|m| mapping_query(&m))
            .unwrap_or_default();
        Some((bytes, query))
    };
    // The file's columns and the mapping, from a dry run or a refusal.
    let offer = move |columns: FileColumns| {
        if headers.with_untracked(|h| h.as_ref() != Some(&columns.headers)) {
            headers.set(Some(columns.headers));
        }
        mapping.set(Some(columns.mapping));
    };
    let check = move || {
        let Some((bytes, query)) = chosen() else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match api::sync_dry_run(bytes.to_vec(), &query).await {
                Ok(d) => {
                    error.set(None);
                    file_errors.set(Vec::new());
                    offer(d.columns.clone());
                    dry.set(Some(d));
                }
                Err(e) => match server_field_errors(&e) {
                    // The file or a column choice is refused: said at the
                    // file; a comparison shown stays (its column choices
                    // can be changed back). A refused mapping comes with
                    // the file's columns: the choice is offered.
                    Some(list) => {
                        error.set(None);
                        file_errors.set(list);
                        if let Some(columns) = e.file_columns() {
                            offer(columns.clone());
                        }
                    }
                    None => {
                        dry.set(None);
                        error.set(Some(e.message()));
                    }
                },
            }
            busy.set(false);
        });
    };
    let check = StoredValue::new(check);
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        spawn_local(async move {
            if let Some((name, bytes)) = read_file(input).await {
                file_name.set(name);
                file.set(Some(Arc::new(bytes)));
                mapping.set(None);
                headers.set(None);
                dry.set(None);
                check.with_value(|c| c());
            }
        });
    };
    let apply = move |_| {
        let Some((bytes, mut query)) = chosen() else {
            return;
        };
        if archive_missing.get_untracked() {
            query.push_str("&archive_missing=true");
        }
        busy.set(true);
        spawn_local(async move {
            match api::sync_start(bytes.to_vec(), &query).await {
                Ok(r) => {
                    let id = r.id;
                    let running = r.state == RunState::Running;
                    run.set(Some(r));
                    error.set(None);
                    if running {
                        follow.with_value(|f| f(id));
                    }
                }
                Err(e) => error.set(Some(e.message())),
            }
            busy.set(false);
        });
    };
    // The full diff as a CSV file: the same dry run, answered as CSV.
    let download_csv = move |_| {
        let Some((bytes, query)) = chosen() else {
            return;
        };
        downloading.set(true);
        spawn_local(async move {
            match api::sync_dry_run_csv(bytes.to_vec(), &query).await {
                Ok((name, csv)) => {
                    if !download::save(&name, "text/csv", &csv) {
                        error.set(Some(t("sync.diff_csv_failed")));
                    }
                }
                Err(e) => error.set(Some(e.message())),
            }
            downloading.set(false);
        });
    };
    view! {
        <section aria-labelledby="sync-h">
            <div class="page-head">
                <h1 id="sync-h">{tx!("sync.title")}</h1>
            </div>
            <p class="muted">{tx!("sync.intro")}</p>
            <Show when=may_sync>
                <div class="field">
                    <label for="sync-file">{tx!("sync.file")}</label>
                    <input id="sync-file" type="file" accept=".csv,text/csv,text/plain"
                           aria-invalid=move || file_errors.with(|e| !e.is_empty()).to_string()
                           aria-describedby="sync-file-hint sync-file-error"
                           on:change=on_file/>
                    <p class="muted" id="sync-file-hint">{tx!("sync.file_hint")}</p>
                    <p class="field-error" id="sync-file-error" data-testid="sync-file-error" role="alert"
                       hidden=move || file_errors.with(|e| e.is_empty())>
                        {move || file_errors.with(|e| e.iter().map(file_error).collect::<Vec<_>>().join(" "))}
                    </p>
                </div>
            </Show>
            {move || error.get().map(|e| view! {
                <ErrorPanel message=e retry=Callback::new(move |_| check.with_value(|c| c()))/>
            })}
            {move || busy.get().then(|| view! { <p role="status">{tx!("sync.checking")}</p> })}
            // Made once per run: its parts follow the run, so the focus
            // stays where it is (on Pause / Resume) while the run goes on.
            {move || run_id.get().map(|id| view! {
                <RunPanel id=id run=run follow=Callback::new(move |id| follow.with_value(|f| f(id))) error=error/>
            })}
            {move || headers.get().map(|h| {
                // Open at once when the file is refused for its mapping.
                let open = file_errors.with_untracked(|e| !e.is_empty());
                view! {
                    <h2>{move || t_with("sync.heading", &[("title", &t("sync.dry_run")), ("file", &file_name.get())])}</h2>
                    <MappingEditor headers=h mapping=mapping open=open recheck=Callback::new(move |_| check.with_value(|c| c()))/>
                }
            })}
            {move || dry.get().map(|d| {
                let missing = d.counts.missing;
                let writes = d.counts.writes();
                view! {
                    <div class="actions">
                        <button type="button" data-testid="sync-diff-csv"
                                disabled=move || busy.get() || downloading.get()
                                on:click=download_csv>
                            {tx!("sync.diff_csv")}
                        </button>
                    </div>
                    <DiffView dry=d/>
                    <Show when=may_sync>
                        <div class="actions">
                            <label for="sync-archive-missing">
                                <input id="sync-archive-missing" type="checkbox"
                                       prop:checked=move || archive_missing.get()
                                       on:change=move |ev| archive_missing.set(event_target_checked(&ev))/>
                                {t_with("sync.archive_missing", &[("count", &count(missing))])}
                            </label>
                            <button type="button" class="primary" data-testid="sync-apply"
                                    disabled=move || busy.get() || run.get().is_some_and(|r| r.state != RunState::Done)
                                    on:click=apply>
                                {t_with("sync.apply", &[("count", &count(writes))])}
                            </button>
                        </div>
                    </Show>
                }
            })}
            <QualitySection/>
        </section>
    }
}

/// A run's progress bar, counts, pause/resume and report: made once per
/// run, its texts following `run` (so Pause, which becomes Resume, keeps
/// the focus).
#[component]
fn RunPanel(
    id: uuid::Uuid,
    run: RwSignal<Option<SyncRun>>,
    follow: Callback<uuid::Uuid>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let current = Memo::new(move |_| run.get().filter(|r| r.id == id));
    let state = move || current.with(|r| r.as_ref().map(|r| r.state));
    // A press is sent once: another while it is under way does nothing.
    let pressed = RwSignal::new(false);
    let toggle = move |_| {
        let Some(from) = current.with_untracked(|r| r.as_ref().map(|r| r.state)) else {
            return;
        };
        if from == RunState::Done || pressed.get_untracked() {
            return;
        }
        pressed.set(true);
        spawn_local(async move {
            match api::sync_pause(id, from == RunState::Running).await {
                Ok(r) => run.set(Some(r)),
                Err(e) => error.set(Some(e.message())),
            }
            // Followed from here (a resumed run until it is done, a paused
            // one for its state): this ends the loop that followed it
            // before, which could still show the state before the press.
            follow.run(id);
            pressed.set(false);
        });
    };
    let state_text = move || {
        current.with(|r| match r {
            None => String::new(),
            Some(r) => match r.state {
                RunState::Running => t("sync.run_running"),
                RunState::Paused => t("sync.run_paused"),
                RunState::Done if r.writes == 0 => t("sync.nothing_to_do"),
                RunState::Done => t("sync.run_done"),
            },
        })
    };
    let progress = move || {
        current.with(|r| {
            let Some(run) = r else { return String::new() };
            t_with(
                "sync.progress",
                &[
                    ("written", &count(run.written)),
                    ("writes", &count(run.writes)),
                    ("created", &count(run.created)),
                    ("updated", &count(run.updated)),
                    ("archived", &count(run.archived)),
                    ("failed", &count(run.failed)),
                    ("skipped", &count(run.skipped)),
                    ("rate", &run.rate.to_string()),
                ],
            )
        })
    };
    let writes = move || current.with(|r| r.as_ref().map_or(1, |r| r.writes.max(1)));
    let written = move || current.with(|r| r.as_ref().map_or(0, |r| r.written));
    let active = move || matches!(state(), Some(RunState::Running | RunState::Paused));
    view! {
        <div class="panel" data-testid="sync-run">
            <h2>{tx!("sync.run")}</h2>
            <p data-testid="sync-run-state" aria-live="polite">{state_text}</p>
            <progress max=writes value=written aria-label=move || t("sync.run")></progress>
            <p data-testid="sync-progress">{progress}</p>
            <div class="actions">
                // One button for both: pressing it keeps the focus on it.
                <Show when=active>
                    <button type="button" on:click=toggle>
                        {move || t(if state() == Some(RunState::Paused) { "sync.resume" } else { "sync.pause" })}
                    </button>
                </Show>
                <a href=api::sync_report_url(id) download="">{tx!("sync.report")}</a>
            </div>
        </div>
    }
}

/// The column of each field, chosen from the file's `headers`; changing
/// one runs the dry run again. Each choice shows `mapping` (what the
/// gateway used, or what it refused the file with), so a new answer does
/// not make the choice again.
#[component]
fn MappingEditor(
    headers: Vec<String>,
    mapping: RwSignal<Option<Vec<ColumnMapping>>>,
    open: bool,
    recheck: Callback<()>,
) -> impl IntoView {
    let column_of = move |field: SyncField| {
        mapping.with(|m| {
            m.as_ref()
                .and_then(|m| m.iter().find(|c| c.field == field))
                .and_then(|c| c.column.clone())
        })
    };
    view! {
        <details class="mapping" open=open>
            <summary>{tx!("sync.mapping")}</summary>
            <div class="mapping-grid">
                {SyncField::ALL.into_iter().map(|field| {
                    let id = format!("map-{}", field.as_str());
                    let headers = headers.clone();
                    view! {
                        <label for=id.clone()>{field_label(field.as_str())}</label>
                        <select id=id on:change=move |ev| {
                            let value = event_target_value(&ev);
                            mapping.update(|m| {
                                if let Some(m) = m {
                                    if let Some(c) = m.iter_mut().find(|c| c.field == field) {
                                        c.column = (!value.is_empty()).then_some(value.clone());
                                    }
                                }
                            });
                            recheck.run(());
                        }>
                            <option value="" prop:selected=move || column_of(field).is_none()>{tx!("sync.not_in_file")}</option>
                            {headers.into_iter().map(|h| {
                                let value = h.clone();
                                let label = h.clone();
                                let chosen = move || column_of(field).as_deref() == Some(h.as_str());
                                view! { <option value=value prop:selected=chosen>{label}</option> }
                            }).collect_view()}
                        </select>
                    }
                }).collect_view()}
            </div>
        </details>
    }
}

fn kind_label(kind: DiffKind) -> String {
    t(match kind {
        DiffKind::New => "sync.kind.new",
        DiffKind::Changed => "sync.kind.changed",
        DiffKind::Unchanged => "sync.kind.unchanged",
        DiffKind::Invalid => "sync.kind.invalid",
        DiffKind::Conflict => "sync.kind.conflict",
        DiffKind::Missing => "sync.kind.missing",
    })
}

/// A user field's label, by its wire name (a mapped column or a changed
/// field); an unknown name is shown as it is.
fn field_label(name: &str) -> String {
    let key = match name {
        "external_user_id" => "sync.field.external_user_id",
        "email" => "sync.field.email",
        "first_name" => "sync.field.first_name",
        "last_name" => "sync.field.last_name",
        "street_and_number" => "sync.field.street_and_number",
        "street_add_info" => "sync.field.street_add_info",
        "zip_code" => "sync.field.zip_code",
        "town" => "sync.field.town",
        "country_iso2" => "sync.field.country_iso2",
        "latitude" => "sync.field.latitude",
        "longitude" => "sync.field.longitude",
        "role" => "sync.field.role",
        other => return other.to_string(),
    };
    t(key)
}

/// A refusal of the file in words: the message, after the label of the
/// field it is about ("E-Mail: …"; the file itself needs no name).
fn file_error(e: &FieldError) -> String {
    match e.field.as_str() {
        "file" | "" => field_message(e),
        field => format!("{}: {}", field_label(field), field_message(e)),
    }
}

/// Counts (each a filter) and the rows of the chosen kind.
#[component]
fn DiffView(dry: DryRun) -> impl IntoView {
    let filter = RwSignal::new(None::<DiffKind>);
    let counts = dry.counts;
    let rows = StoredValue::new(dry.rows);
    view! {
        <div class="counts" role="group" aria-label=t("sync.counts")>
            {DiffKind::ALL.into_iter().map(|k| view! {
                <button type="button" data-testid=format!("count-{}", k.as_str())
                        aria-pressed=move || (filter.get() == Some(k)).to_string()
                        on:click=move |_| filter.update(|f| *f = if *f == Some(k) { None } else { Some(k) })>
                    {move || t_with("sync.count", &[("label", &kind_label(k)), ("count", &count(counts.get(k)))])}
                </button>
            }).collect_view()}
        </div>
        <div class="table-wrap">
            <table class="diff">
                <thead><tr>
                    <th>{tx!("sync.col_line")}</th>
                    <th>{tx!("sync.col_kind")}</th>
                    <th>{tx!("sync.col_customer")}</th>
                    <th>{tx!("sync.col_email")}</th>
                    <th>{tx!("sync.col_details")}</th>
                </tr></thead>
                <tbody>
                    {move || rows.with_value(|rows| rows.iter()
                        .filter(|r| filter.get().is_none_or(|k| r.kind == k))
                        .take(500)
                        .map(|r| view! { <DiffLine row=r.clone()/> })
                        .collect_view())}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DiffLine(row: DiffRow) -> impl IntoView {
    let line = if row.line == 0 {
        String::new()
    } else {
        row.line.to_string()
    };
    let user_link = row.user_id.map(|id| format!("/users/{id}"));
    view! {
        <tr data-kind=row.kind.as_str()>
            <td>{line}</td>
            <td>{kind_label(row.kind)}</td>
            <td>{match user_link {
                Some(href) => view! { <a href=href>{row.external_user_id.clone().unwrap_or_default()}</a> }.into_any(),
                None => view! { <span>{row.external_user_id.clone().unwrap_or_default()}</span> }.into_any(),
            }}</td>
            <td>{row.email.clone().unwrap_or_default()}</td>
            <td>
                <ul class="plain">
                    {row.changes.iter().map(|c| view! {
                        <li>{t_with("sync.change", &[("field", &field_label(&c.field)), ("from", &show(&c.from)), ("to", &show(&c.to))])}</li>
                    }).collect_view()}
                    {row.problems.iter().map(|p| {
                        let text = if p.column.is_empty() { p.error.message.clone() } else { format!("{}: {}", p.column, p.error.message) };
                        view! { <li class="error">{text}</li> }
                    }).collect_view()}
                    {row.quality.iter().map(|q| view! {
                        <li class="muted">{quality_label(&q.problem)}</li>
                    }).collect_view()}
                </ul>
            </td>
        </tr>
    }
}

/// A data-quality problem's name (from the shared catalog).
fn quality_label(p: &QualityProblem) -> String {
    shared::tr(lang(), &p.label_key(), &[])
}

/// A JSON value as text ("—" for none).
fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The data-quality report: counts per problem, a filter, the users.
#[component]
fn QualitySection() -> impl IntoView {
    let problem = RwSignal::new(String::new());
    let q = RwSignal::new(String::new());
    let query = move || {
        format!(
            "problem={}&q={}&per_page=100",
            problem.get(),
            shared::directory::percent_encode(&q.get())
        )
    };
    let report = LocalResource::new(move || {
        let query = query();
        async move { api::quality(&query).await }
    });
    view! {
        <section aria-labelledby="quality-h">
            <h2 id="quality-h">{tx!("sync.quality_title")}</h2>
            <p class="muted">{tx!("sync.quality_intro")}</p>
            <div class="filters">
                <label for="quality-problem">{tx!("sync.quality_problem")}</label>
                <select id="quality-problem" on:change=move |ev| problem.set(event_target_value(&ev))>
                    <option value="">{tx!("sync.quality_all")}</option>
                    {QualityProblem::ALL.into_iter().map(|p| view! {
                        <option value=p.as_str()>{quality_label(&p)}</option>
                    }).collect_view()}
                </select>
                <label for="quality-q">{tx!("sync.quality_search")}</label>
                <input id="quality-q" type="search" on:change=move |ev| q.set(event_target_value(&ev))/>
                <a href=move || api::quality_csv_url(&query()) download="">{tx!("sync.quality_csv")}</a>
            </div>
            {move || report.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.message()}</p> }.into_any(),
                Ok(r) => view! { <QualityTable report=r/> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn QualityTable(report: QualityReport) -> impl IntoView {
    view! {
        <ul class="counts">
            {report.counts.iter().map(|c| view! {
                <li>{t_with("sync.count", &[("label", &quality_label(&c.problem)), ("count", &count(c.count))])}</li>
            }).collect_view()}
        </ul>
        <p class="muted">{t_with("sync.quality_total", &[("total", &count(report.total)), ("checked", &count(report.checked))])}</p>
        <div class="table-wrap">
            <table>
                <thead><tr>
                    <th>{tx!("sync.col_name")}</th>
                    <th>{tx!("sync.col_customer")}</th>
                    <th>{tx!("sync.col_address")}</th>
                    <th>{tx!("sync.col_problems")}</th>
                </tr></thead>
                <tbody>
                    {report.rows.into_iter().map(|r| {
                        let problems = r.issues.iter().map(|i| {
                            let label = quality_label(&i.problem);
                            if i.detail.is_empty() { label } else { format!("{label} ({})", i.detail) }
                        }).collect::<Vec<_>>().join("; ");
                        let address = [r.zip_code.clone(), r.town.clone(), r.country.clone()]
                            .into_iter().flatten().collect::<Vec<_>>().join(" ");
                        view! {
                            <tr>
                                <td><a href=format!("/users/{}/edit", r.user_id)>{r.name.clone()}</a></td>
                                <td>{r.external_user_id.clone().unwrap_or_default()}</td>
                                <td>{address}</td>
                                <td>{problems}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
