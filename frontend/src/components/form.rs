//! Form building blocks: a labelled field whose error sits right under it
//! (`aria-invalid`, `aria-describedby`), and the country list as a select
//! (names in the language of the moment, sorted in it).
//!
//! Errors are one `RwSignal<Vec<FieldError>>` per form, keyed by the field
//! names the `shared` validation and the Partner API use (`email`,
//! `external_user_id`, `country_iso2`...), so a message from the browser's
//! own check and one from the server land in the same place
//! ([`server_field_errors`] reads the server's). Typing in a field clears
//! its error; leaving it runs `on_blur` (the form re-checks), except for
//! the form's submit button: a message appearing then would push the
//! button away from under the pointer, so the click that caused the blur
//! would miss it (the submit checks every field anyway). Nor when the
//! field leaves because its page does (Chromium blurs a focused input as
//! it is removed, e.g. after Enter saved the form): the form's signals are
//! disposed by then, and reading them would panic and stop the app.

use leptos::html;
use leptos::prelude::*;
use shared::country::{name_in, sorted_in};
use shared::{ApiError, ErrorDetail, FieldError};

use crate::api::ApiFailure;
use crate::i18n::{field_message, lang, t, tx};

/// Whether the focus leaves for a submit button (pressed with the mouse).
fn to_submit_button(ev: &leptos::ev::FocusEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.related_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| el.matches("button[type=submit]").unwrap_or(false))
}

/// Focus the first of the inputs `ids` (in the order of the form) that
/// the page shows: after a refused submit, the first wrong field.
pub fn focus_first_present<I: AsRef<str>>(ids: impl IntoIterator<Item = I>) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let input = ids
        .into_iter()
        .find_map(|id| document.get_element_by_id(id.as_ref()))
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = input {
        let _ = el.focus();
    }
}

/// Focus the input of the first field with an error in the order of the
/// form: `fields` are its fields' names (as the errors name them) with
/// their input's `id`, in the order on screen (the errors come in the
/// order they were checked, which is not the order on screen).
pub fn focus_first_error(fields: &[(&str, &str)], errors: &[FieldError]) {
    focus_first_present(
        fields
            .iter()
            .filter(|(name, _)| errors.iter().any(|e| e.field == *name))
            .map(|(_, id)| *id),
    );
}

/// Field errors of a server answer (409 duplicates, 422), else `None`.
pub fn server_field_errors(e: &ApiFailure) -> Option<Vec<FieldError>> {
    let ApiFailure::Api {
        error:
            ApiError {
                detail: ErrorDetail::Validation(issues),
                ..
            },
        ..
    } = e
    else {
        return None;
    };
    let errors: Vec<FieldError> = issues
        .iter()
        .filter_map(|i| {
            let field = match i.field()? {
                "country" => "country_iso2",
                f => f,
            };
            Some(FieldError::new(field, i.msg.clone()))
        })
        .collect();
    (!errors.is_empty()).then_some(errors)
}

/// The message for `field`, if any, in the language of the moment
/// (tracked).
pub fn error_for(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == field || (field == "country_iso2" && e.field == "country"))
        .map(field_message)
}

/// Remove the error of `field` (the person is fixing it).
pub fn clear_error(errors: RwSignal<Vec<FieldError>>, field: &'static str) {
    if errors.with_untracked(|e| e.iter().any(|e| e.field == field)) {
        errors.update(|e| e.retain(|e| e.field != field));
    }
}

/// A labelled text input bound to `value`.
#[component]
pub fn TextField(
    /// Field name (API name; also `data-testid="field-<name>"`).
    name: &'static str,
    #[prop(into)] label: Signal<String>,
    value: RwSignal<String>,
    errors: RwSignal<Vec<FieldError>>,
    #[prop(optional, into)] hint: Option<Signal<String>>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] required: bool,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] on_blur: Option<Callback<()>>,
    /// The keyboard to offer (`decimal`, ...); the input type's when `None`.
    #[prop(optional_no_strip)]
    inputmode: Option<&'static str>,
    /// The input's `id`; `f-<name>` unless given.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    let id = id.map_or_else(|| format!("f-{name}"), str::to_string);
    let err_id = format!("err-{name}");
    let hint_id = format!("hint-{name}");
    let message = move || errors.with(|e| error_for(e, name));
    let described = format!("{err_id} {hint_id}");
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}{required.then_some(view! { <span class="req" aria-hidden="true">" *"</span> })}</label>
            <input
                id=id
                type=input_type
                data-testid=format!("field-{name}")
                name=name
                required=required
                autocomplete=autocomplete
                inputmode=inputmode
                aria-invalid=move || message().is_some().to_string()
                aria-describedby=described
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    clear_error(errors, name);
                }
                on:blur=move |ev| {
                    if let Some(cb) = on_blur {
                        // Blurred while its page goes: the form is gone.
                        if !to_submit_button(&ev) && !errors.is_disposed() {
                            cb.run(());
                        }
                    }
                }
            />
            {hint.map(|hint| view! {
                <p class="hint" id=hint_id.clone() hidden=move || hint.with(String::is_empty)>{hint}</p>
            })}
            <p class="field-error" id=err_id data-testid=format!("error-{name}") role="alert" hidden=move || message().is_none()>
                {message}
            </p>
        </div>
    }
}

/// A labelled select of every country (value: ISO alpha-2), with an empty
/// "not set" choice; names in the language of the moment, sorted in it.
#[component]
pub fn CountrySelect(value: RwSignal<String>, errors: RwSignal<Vec<FieldError>>) -> impl IntoView {
    let name = "country_iso2";
    let message = move || errors.with(|e| error_for(e, name));
    let select = NodeRef::<html::Select>::new();
    // The options are built anew in the new order on a switch: the choice
    // is put back once they are in place.
    Effect::new(move |_| {
        lang();
        let chosen = value.get_untracked();
        if let Some(select) = select.get() {
            set_timeout(move || select.set_value(&chosen), std::time::Duration::ZERO);
        }
    });
    let options = move || {
        let lang = lang();
        let chosen = value.get_untracked();
        let mut list = vec![view! {
            <option value="" selected=chosen.is_empty()>{t("user_form.country_not_set")}</option>
        }
        .into_any()];
        list.extend(sorted_in(lang).into_iter().map(|code| {
            let n = name_in(code, lang).unwrap_or_default();
            view! { <option value=code selected=chosen == code>{format!("{n} ({code})")}</option> }
                .into_any()
        }));
        list
    };
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for="f-country_iso2">{tx!("user_form.field.country")}</label>
            <select id="f-country_iso2" data-testid="field-country_iso2" node_ref=select
                    aria-invalid=move || message().is_some().to_string()
                    aria-describedby="err-country_iso2"
                    prop:value=move || value.get()
                    on:change=move |ev| {
                        value.set(event_target_value(&ev));
                        clear_error(errors, name);
                    }>
                {options}
            </select>
            <p class="field-error" id="err-country_iso2" data-testid="error-country_iso2" role="alert" hidden=move || message().is_none()>
                {message}
            </p>
        </div>
    }
}
