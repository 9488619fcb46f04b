//! Every form field of the list pages (users, cases, audit trail, and the
//! top bar's language choice) is found by its label's text alone, as a
//! person reading the page names it: a `<label for>` holding only that
//! text. The filters used to wrap their select in the label, so the
//! label's text ran on into every option ("Kind All kinds Device
//! connection …") and a search for the label "Kind" found nothing.

use e2e::Harness;
use shared::i18n::Lang;

/// Each visible field on the page without a `<label for>` whose text is
/// only the label's (no select or text area inside, whose options or text
/// would run on into it), described.
const UNLABELLED: &str = r#"
const bad = [];
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden' || !(el.offsetWidth || el.offsetHeight)) continue;
  const label = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
  if (!label || label.querySelector('select, textarea') || !label.textContent.trim()) {
    bad.push(el.outerHTML.slice(0, 120));
  }
}
return bad;
"#;

async fn assert_labelled(h: &Harness, what: &str) {
    let bad = h
        .browser
        .execute(UNLABELLED, vec![])
        .await
        .expect("script runs");
    assert_eq!(
        bad,
        serde_json::json!([]),
        "fields on {what} without a label of their own"
    );
}

#[tokio::test]
async fn the_filters_are_found_by_their_labels_in_english_and_german() {
    for (tag, lang) in [("en-US", Lang::En), ("de-DE", Lang::De)] {
        let texts = e2e::app_texts(lang);
        let h = Harness::start_with_language(tag).await;
        for (path, ready, labels) in [
            (
                "/",
                "[data-testid=filter-role]",
                &[
                    "users.filter_role",
                    "users.filter_devices",
                    "users.filter_onboarding",
                    "users.filter_show",
                    "users.filter_lost",
                    "users.find_label",
                    "users.rows_per_page",
                ][..],
            ),
            (
                "/cases",
                "[data-testid=filter-kind]",
                &[
                    "cases.filter_kind",
                    "cases.filter_assignee",
                    "cases.filter_age",
                    "cases.filter_sort",
                ][..],
            ),
            (
                "/audit",
                "#audit-action",
                &[
                    "audit.filter_actor",
                    "audit.filter_user",
                    "audit.filter_action",
                    "audit.filter_from",
                    "audit.filter_to",
                ][..],
            ),
        ] {
            h.open(path).await;
            h.wait_for(ready).await;
            h.wait_for("[data-testid=page-size], [data-testid=cases-count], #audit-to")
                .await;
            for key in labels {
                let field = h.by_label(&texts[*key]).await;
                let tag = field.tag_name().await.unwrap();
                assert!(
                    ["input", "select"].contains(&tag.as_str()),
                    "{key} on {path} labels a {tag}"
                );
            }
            assert_labelled(&h, &format!("{path} ({tag})")).await;
        }
        // The top bar's language choice (its label is for screen readers).
        let switch = h.by_label(&texts["app.language"]).await;
        assert_eq!(
            switch.attr("data-testid").await.unwrap().as_deref(),
            Some("language-switch")
        );
        h.finish().await;
    }
}
