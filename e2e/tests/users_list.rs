//! The users list in a real browser: search and open a user, the view kept
//! in the address (reload and Back restore it), find by customer number, and
//! the CSV export of everything a filter matches, and a search too long to
//! send explained next to the box. The harness seeds 60 users, so with 50
//! rows a page paging is real.

use e2e::Harness;
use fantoccini::Locator;
use shared::directory::{fold, UserPage};
use shared::User;

async fn page_data(h: &Harness, query: &str) -> UserPage {
    let resp = h
        .http
        .get(h.url(&format!("/api/directory/users?{query}")))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    resp.json().await.unwrap()
}

/// Names in the table, once it shows `n` rows.
async fn row_names(h: &Harness, n: usize) -> Vec<String> {
    h.eventually(&format!("{n} rows in the table"), || async {
        let links = h.all("[data-testid=user-link]").await;
        if links.len() != n {
            return None;
        }
        let mut names = Vec::new();
        for l in links {
            names.push(l.text().await.ok()?);
        }
        Some(names)
    })
    .await
}

#[tokio::test]
async fn search_and_open_a_user() {
    let h = Harness::start().await;
    h.open("/").await;
    h.wait_for("[data-testid=users-table]").await;
    let org = h.text("[data-testid=org-id]").await;
    assert_eq!(org, h.gateway.org_id().to_string());

    // The first page: 50 of the active users, and the total.
    let users: Vec<User> = h.api("/users").await;
    assert!(users.len() > 50);
    row_names(&h, 50).await;
    h.eventually("the total", || async {
        let t = h.text("[data-testid=result-count]").await;
        t.starts_with(&format!("{} users", users.len()))
            .then_some(())
    })
    .await;

    // A customer with devices, by surname typed in capitals without accents.
    let target = users
        .iter()
        .find(|u| u.num_devices() > 0 && u.last_name.as_deref().is_some_and(|l| l.len() > 3))
        .expect("a seeded customer with devices")
        .clone();
    let typed = fold(target.last_name.as_deref().unwrap()).to_uppercase();
    let matching = users
        .iter()
        .filter(|u| {
            [
                u.first_name.as_deref(),
                u.last_name.as_deref(),
                Some(u.email.as_str()),
                u.external_user_id.as_deref(),
                u.town.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|f| fold(f).contains(&typed.to_lowercase()))
        })
        .count();
    h.wait_for("[data-testid=user-search]")
        .await
        .send_keys(&typed)
        .await
        .unwrap();
    let names = row_names(&h, matching).await;
    assert!(names.contains(&target.display_name()), "{names:?}");
    // Typing replaced the history entry: the address has the search.
    assert!(h.path_and_query().await.contains("q="));

    let row = h
        .wait_for(&format!(
            "[data-testid=user-row][data-user-id='{}']",
            target.id
        ))
        .await;
    row.find(Locator::Css("[data-testid=user-link]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        h.text("[data-testid=user-name]").await,
        target.display_name()
    );
    // Back returns to the searched list.
    h.browser.back().await.unwrap();
    let names = row_names(&h, matching).await;
    assert!(names.contains(&target.display_name()));
    let value = h
        .wait_for("[data-testid=user-search]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(value, typed);
    h.finish().await;
}

#[tokio::test]
async fn filters_sort_and_page_live_in_the_address() {
    let h = Harness::start().await;
    h.open("/").await;
    row_names(&h, 50).await;

    // Sort by e-mail, descending (two clicks on the header).
    h.wait_for("[data-testid=sort-email]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("sorted by e-mail", || async {
        h.path_and_query()
            .await
            .contains("sort=email")
            .then_some(())
    })
    .await;
    h.wait_for("th[aria-sort=ascending] [data-testid=sort-email]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("descending", || async {
        h.path_and_query().await.contains("dir=desc").then_some(())
    })
    .await;
    let expected = page_data(&h, "sort=email&dir=desc").await;
    let first_email = expected.rows[0].user.display_name();
    h.eventually("the table in that order", || async {
        let names = h.all("[data-testid=user-link]").await;
        let first = names.first()?.text().await.ok()?;
        (first == first_email).then_some(())
    })
    .await;

    // Next page.
    h.wait_for("[data-testid=page-next]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("page 2", || async {
        h.path_and_query().await.contains("page=2").then_some(())
    })
    .await;
    let page2 = page_data(&h, "sort=email&dir=desc&page=2").await;
    let remaining = page2.rows.len();
    assert!(remaining > 0 && remaining < 50);
    let names = row_names(&h, remaining).await;
    assert_eq!(names[0], page2.rows[0].user.display_name());
    assert_eq!(
        h.text("[data-testid=page-status]").await,
        format!("Page 2 of {}", page2.pages())
    );

    // Reload restores the exact view.
    let before = h.path_and_query().await;
    h.browser.refresh().await.unwrap();
    let names_after = row_names(&h, remaining).await;
    assert_eq!(names_after, names);
    assert_eq!(h.path_and_query().await, before);

    // A filter: only the team; the page goes back to 1.
    let role = h.wait_for("[data-testid=filter-role]").await;
    role.select_by_value("admin,staff").await.unwrap();
    let team = page_data(&h, "role=admin,staff&sort=email&dir=desc").await;
    let team_names = row_names(&h, team.total).await;
    assert_eq!(
        team_names,
        team.rows
            .iter()
            .map(|r| r.user.display_name())
            .collect::<Vec<_>>()
    );
    assert!(!h.path_and_query().await.contains("page=2"));

    // Back: page 2 of everyone again, with the role filter cleared.
    h.browser.back().await.unwrap();
    let names_back = row_names(&h, remaining).await;
    assert_eq!(names_back, names);
    let role_value = h
        .wait_for("[data-testid=filter-role]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(role_value, "");
    h.finish().await;
}

#[tokio::test]
async fn find_by_customer_number() {
    let h = Harness::start().await;
    let users: Vec<User> = h.api("/users").await;
    let target = users
        .iter()
        .find(|u| u.external_user_id.is_some())
        .unwrap()
        .clone();
    h.open("/").await;
    let input = h.wait_for("[data-testid=ext-id-input]").await;
    input.send_keys("NO-SUCH-CUSTOMER-1").await.unwrap();
    h.wait_for("[data-testid=ext-id-open]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("the not-found message", || async {
        let el = h.wait_for("[data-testid=ext-id-not-found]").await;
        let text = el.text().await.ok()?;
        text.contains("No customer with number “NO-SUCH-CUSTOMER-1”")
            .then_some(())
    })
    .await;
    // What was typed is still there.
    let value = input.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(value, "NO-SUCH-CUSTOMER-1");

    input.clear().await.unwrap();
    input
        .send_keys(target.external_user_id.as_deref().unwrap())
        .await
        .unwrap();
    h.wait_for("[data-testid=ext-id-open]")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(
        h.text("[data-testid=user-name]").await,
        target.display_name()
    );
    assert!(h.path_and_query().await.ends_with(&target.id.to_string()));

    // An archived customer is found only with "include archived".
    let everyone: Vec<User> = h.api("/users?include_deleted=true").await;
    let archived = everyone
        .iter()
        .find(|u| u.deleted_at.is_some() && u.external_user_id.is_some())
        .expect("the demo data has an archived customer with a number")
        .clone();
    let number = archived.external_user_id.as_deref().unwrap();
    h.open("/").await;
    let input = h.wait_for("[data-testid=ext-id-input]").await;
    input.send_keys(number).await.unwrap();
    h.wait_for("[data-testid=ext-id-open]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("not found while archived users are excluded", || async {
        let el = h.wait_for("[data-testid=ext-id-not-found]").await;
        let text = el.text().await.ok()?;
        text.contains(number).then_some(())
    })
    .await;
    h.wait_for("[data-testid=ext-id-include-archived]")
        .await
        .click()
        .await
        .unwrap();
    h.wait_for("[data-testid=ext-id-open]")
        .await
        .click()
        .await
        .unwrap();
    h.eventually("the archived customer's page", || async {
        h.path_and_query()
            .await
            .ends_with(&archived.id.to_string())
            .then_some(())
    })
    .await;
    assert_eq!(
        h.text("[data-testid=user-name]").await,
        archived.display_name()
    );
    h.wait_for("[data-testid=archived-badge]").await;
    h.finish().await;
}

#[tokio::test]
async fn csv_export_has_every_matching_user() {
    let h = Harness::start().await;
    h.open("/").await;
    row_names(&h, 50).await;
    let link = h.wait_for("[data-testid=csv-export]").await;
    let href = link.attr("href").await.unwrap().unwrap();
    let csv = h
        .http
        .get(h.url(&href))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let total = page_data(&h, "").await.total;
    assert!(total > 50);
    assert_eq!(csv.lines().count() - 1, total, "every user, not one page");

    // With a filter the link follows it.
    h.wait_for("[data-testid=filter-device]")
        .await
        .select_by_value("heat-pumps")
        .await
        .unwrap();
    let expected = page_data(&h, "device=heat-pumps").await.total;
    let href = h
        .eventually("the export link to follow the filter", || async {
            let href = h
                .wait_for("[data-testid=csv-export]")
                .await
                .attr("href")
                .await
                .ok()??;
            href.contains("device=heat-pumps").then_some(href)
        })
        .await;
    let csv = h
        .http
        .get(h.url(&href))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count() - 1, expected);
    h.finish().await;
}

/// The search in the browser's address, trimmed (`None`: no search).
async fn address_search(h: &Harness) -> Option<String> {
    let url = reqwest::Url::parse(&h.url(&h.path_and_query().await)).ok()?;
    let q = url.query_pairs().find(|(k, _)| k == "q")?.1;
    Some(q.trim().to_string())
}

/// The `q` of every request for a page of users the browser has made.
async fn searches_sent(h: &Harness) -> Vec<String> {
    let names = h
        .browser
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .expect("resource timing");
    names
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|n| reqwest::Url::parse(n.as_str()?).ok())
        .filter(|u| u.path() == shared::directory::DIRECTORY_USERS_PATH)
        .filter_map(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "q")
                .map(|(_, q)| q.into_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_search_of_more_than_twelve_words_is_explained_and_not_sent() {
    let h = Harness::start().await;
    h.open("/").await;
    row_names(&h, 50).await;
    // Every keystroke may be a request: room for all their timing entries
    // (the browser keeps 250 by default and drops the rest).
    h.browser
        .execute("performance.setResourceTimingBufferSize(100000)", vec![])
        .await
        .expect("resource timing buffer");
    let users: Vec<User> = h.api("/users").await;
    let word = users
        .iter()
        .find_map(|u| {
            u.last_name
                .as_deref()
                .filter(|l| l.len() > 3 && !l.contains(char::is_whitespace))
        })
        .map(fold)
        .expect("a seeded surname");
    let twelve = [word.as_str(); 12].join(" ");

    // Twelve words are a search: sent, and in the address.
    let input = h.wait_for("[data-testid=user-search]").await;
    input.send_keys(&twelve).await.unwrap();
    h.eventually("the twelve-word search answered", || async {
        if address_search(&h).await? != twelve {
            return None;
        }
        let text = h.text("[data-testid=result-count]").await;
        (!text.contains("loading")).then_some(text)
    })
    .await;
    // The count may show while the last request's timing entry is not
    // recorded yet: poll for it.
    h.eventually("the twelve-word search among the requests", || async {
        searches_sent(&h)
            .await
            .iter()
            .any(|q| q.trim() == twelve)
            .then_some(())
    })
    .await;
    let count = h
        .eventually("the twelve-word count shown", || async {
            let text = h.text("[data-testid=result-count]").await;
            (!text.contains("loading")).then_some(text)
        })
        .await;

    // A thirteenth word: explained next to the box, before any request.
    input.send_keys(&format!(" {word}")).await.unwrap();
    let error = "[data-testid=user-search-error]";
    let msg = h
        .eventually("the message next to the search box", || async {
            let el = h.wait_for(error).await;
            if el.attr("hidden").await.ok()?.is_some() {
                return None;
            }
            el.text().await.ok().filter(|t| !t.is_empty())
        })
        .await;
    assert!(msg.contains("12 words"), "{msg}");
    let thirteen = format!("{twelve} {word}");
    assert_eq!(
        input.prop("value").await.unwrap().as_deref(),
        Some(thirteen.as_str())
    );
    assert_eq!(
        input.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    let described = input
        .attr("aria-describedby")
        .await
        .unwrap()
        .unwrap_or_default();
    let error_id = h
        .wait_for(error)
        .await
        .attr("id")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        described.split_whitespace().any(|id| id == error_id),
        "{described}"
    );
    // The list, its count and the address stay those of the last search sent.
    assert_eq!(address_search(&h).await.as_deref(), Some(twelve.as_str()));
    assert_eq!(h.text("[data-testid=result-count]").await, count);
    for q in searches_sent(&h).await {
        assert!(q.split_whitespace().count() <= 12, "sent: {q}");
    }

    // Back to twelve words: the message goes.
    for _ in 0..=word.chars().count() {
        input.send_keys("\u{E003}").await.unwrap();
    }
    h.eventually("the message gone", || async {
        let hidden = h.wait_for(error).await.attr("hidden").await.ok()?.is_some();
        let valid = input.attr("aria-invalid").await.ok()?.as_deref() == Some("false");
        (hidden && valid).then_some(())
    })
    .await;
    h.finish().await;
}
