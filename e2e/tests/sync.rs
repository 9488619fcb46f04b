//! The sync journey in a real browser: upload a customer file, the dry
//! run shows one new, one changed (with its from → to) and one invalid
//! row, its full comparison downloads as CSV, apply it, the users list
//! shows the change, and applying the same file again has nothing to do.
//! At 375 px the comparison scrolls in its frame, not the page. A file
//! whose e-mail column has a name the gateway does not know gets the
//! column choice at once. A run paused and resumed with the keyboard keeps
//! the focus on its button and finishes, followed by one polling loop.

use std::time::Duration;

use e2e::{app_texts, Harness};
use fantoccini::key::Key;
use shared::sync::SyncRun;
use shared::{Lang, Role, User};

/// Open the Sync page and choose the file `path` in the field labelled
/// `label` (the file field's label in the browser's language).
async fn upload(h: &Harness, label: &str, path: &std::path::Path) {
    h.open("/sync").await;
    h.by_label(label)
        .await
        .send_keys(&path.display().to_string())
        .await
        .expect("choose the file");
}

async fn count_of(h: &Harness, kind: &str) -> String {
    h.text(&format!("[data-testid=count-{kind}]")).await
}

#[tokio::test]
async fn upload_dry_run_apply_and_nothing_left_to_do() {
    let en = app_texts(Lang::En);
    let h = Harness::start_with(|c| c.sync_rps = 50).await;
    let users: Vec<User> = h.api("/users").await;
    let u = users
        .iter()
        .find(|u| u.role == Role::User && u.external_user_id.is_some() && u.deleted_at.is_none())
        .expect("an end-user with a customer number");
    let ext = u.external_user_id.clone().unwrap();
    // Semicolons, a German decimal comma, Windows-1252 umlauts.
    let text = format!(
        "Kundennummer;E-Mail;Vorname;Nachname;PLZ;Ort;Land;Breitengrad;Längengrad\r\n\
         {ext};{email};{first};Synchronträger;{zip};{town};{country};{lat};{lon}\r\n\
         E2E-NEU-1;e2e.neu@example.at;Neu;Kunde;1010;Wien;AT;48,2082;16,3738\r\n\
         E2E-BAD-1;keine-adresse;Falsch;Kunde;1010;Wien;AT;48,2;16,3\r\n",
        email = u.email,
        first = u.first_name.clone().unwrap_or_default(),
        zip = u.zip_code.clone().unwrap_or_default(),
        town = u.town.clone().unwrap_or_default(),
        country = u.country.clone().unwrap_or_default(),
        lat = u
            .latitude
            .map(|v| v.to_string().replace('.', ","))
            .unwrap_or_default(),
        lon = u
            .longitude
            .map(|v| v.to_string().replace('.', ","))
            .unwrap_or_default(),
    );
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| match c {
            'ä' => 0xE4,
            'ü' => 0xFC,
            c => c as u8,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kunden.csv");
    std::fs::write(&path, &bytes).unwrap();

    upload(&h, &en["sync.file"], &path).await;
    h.eventually("the dry run's counts", || async {
        let new = count_of(&h, "new").await;
        (new.ends_with(": 1")).then_some(())
    })
    .await;
    assert!(count_of(&h, "changed").await.ends_with(": 1"));
    assert!(count_of(&h, "invalid").await.ends_with(": 1"));
    // The change, from → to, and the invalid row's reason.
    let changed = h.text("tr[data-kind=changed]").await;
    assert!(
        changed.contains(&format!(
            "{} → Synchronträger",
            u.last_name.clone().unwrap_or_default()
        )),
        "{changed}"
    );
    let invalid = h.text("tr[data-kind=invalid]").await;
    assert!(
        invalid.contains("E-Mail:") && invalid.contains("@"),
        "{invalid}"
    );
    // In a phone-sized window the comparison scrolls in its frame.
    let size = h.browser.get_window_size().await.unwrap();
    h.browser.set_window_size(375, 800).await.unwrap();
    h.assert_fits_window("the dry run at 375 px").await;
    h.browser
        .set_window_size(size.0 as u32, size.1 as u32)
        .await
        .unwrap();

    // The full comparison as a CSV file: every row, each with its result.
    let downloads = tempfile::tempdir().unwrap();
    h.allow_downloads(downloads.path()).await;
    h.click("[data-testid=sync-diff-csv]").await;
    let (name, csv) = h
        .downloaded(downloads.path(), "sync-dry-run-", ".csv")
        .await;
    let csv = String::from_utf8(csv).expect("UTF-8");
    for expected in [
        "\"Result\"",
        "\"new\"",
        "\"changed\"",
        "\"invalid\"",
        "\"missing\"",
        "E2E-NEU-1",
        "Synchronträger",
    ] {
        assert!(csv.contains(expected), "{name} lacks {expected}: {csv}");
    }
    assert!(
        csv.contains(&format!("\"{ext}\"")),
        "{name} lacks the changed customer {ext}"
    );

    // Apply: the run's progress ends done.
    h.click("[data-testid=sync-apply]").await;
    h.eventually("the run done", || async {
        let state = h.text("[data-testid=sync-run-state]").await;
        (state == "Done").then_some(())
    })
    .await;
    let progress = h.text("[data-testid=sync-progress]").await;
    assert!(
        progress.starts_with("2 of 2 written: 1 created, 1 updated"),
        "{progress}"
    );

    // The users list shows the change.
    h.open(&format!("/?q={ext}")).await;
    h.eventually("the changed name in the users list", || async {
        h.text("main")
            .await
            .contains("Synchronträger")
            .then_some(())
    })
    .await;

    // The same file again: nothing to do.
    upload(&h, &en["sync.file"], &path).await;
    h.eventually("a dry run without changes", || async {
        let changed = count_of(&h, "changed").await;
        let new = count_of(&h, "new").await;
        (changed.ends_with(": 0") && new.ends_with(": 0")).then_some(())
    })
    .await;
    h.click("[data-testid=sync-apply]").await;
    h.eventually("nothing to do", || async {
        h.text("[data-testid=sync-run-state]")
            .await
            .contains("Nothing to do")
            .then_some(())
    })
    .await;
    h.finish().await;
}

/// A file the gateway refuses (no column it can take for the e-mail, no
/// header row at all) is explained at the file field, in the browser's
/// language and in words: the field by its label, not `email:` or
/// `file:`, no HTTP status, no "Something went wrong" with a Retry that
/// would send the same file again. A good file then clears the message.
#[tokio::test]
async fn a_refused_file_is_explained_at_the_file_field_in_words() {
    let de = e2e::app_texts(shared::Lang::De);
    let h = Harness::start_with_language("de-DE").await;
    let dir = tempfile::tempdir().unwrap();
    let without_email = dir.path().join("ohne-mail.csv");
    std::fs::write(&without_email, "Kundennummer;Name\r\nK-1;Anna Huber\r\n").unwrap();
    let empty = dir.path().join("leer.csv");
    std::fs::write(&empty, "").unwrap();

    h.open("/sync").await;
    let file = h.by_label(&de["sync.file"]).await;
    file.send_keys(&without_email.display().to_string())
        .await
        .unwrap();
    let css = "#sync-file-error:not([hidden])";
    let message = h.text(css).await;
    assert!(
        message.starts_with(&format!("{}: ", de["sync.field.email"])),
        "{message}"
    );
    assert!(message.contains("E-Mail-Adresse"), "{message}");
    for raw in ["email:", "HTTP", "400"] {
        assert!(!message.contains(raw), "{raw} in {message}");
    }
    assert_eq!(
        file.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    let described = file.attr("aria-describedby").await.unwrap().unwrap();
    assert!(described.contains("sync-file-error"), "{described}");
    assert!(h.all("[data-testid=error-panel]").await.is_empty());

    upload(&h, &de["sync.file"], &empty).await;
    let message = h
        .eventually("the message about the header row", || async {
            let m = h.text(css).await;
            m.contains("Kopfzeile").then_some(m)
        })
        .await;
    assert!(!message.contains("file:"), "{message}");
    assert!(!message.contains("HTTP"), "{message}");

    // A good file: the comparison, and the message goes.
    let good = dir.path().join("gut.csv");
    std::fs::write(&good, "Kundennummer;E-Mail\r\nK-9;k9@example.at\r\n").unwrap();
    h.wait_for("#sync-file")
        .await
        .send_keys(&good.display().to_string())
        .await
        .unwrap();
    h.wait_for("[data-testid=count-new]").await;
    h.wait_for("#sync-file-error[hidden]").await;
    // Its "archive the missing" choice is found by its label too.
    let missing = h
        .eventually("the archive choice's label", || async {
            for label in h.all("label[for=sync-archive-missing]").await {
                let text = label.text().await.ok()?;
                if !text.is_empty() {
                    return Some(text);
                }
            }
            None
        })
        .await;
    let archive = h.by_label(&missing).await;
    assert_eq!(
        archive.attr("type").await.unwrap().as_deref(),
        Some("checkbox")
    );
    h.finish().await;
}

/// A file whose e-mail column has a name the gateway does not recognise
/// (`Kontakt`) is refused, said at the file field, and the column
/// choice opens at once with the file's own columns: the agent picks the
/// column for E-mail, the check passes, and the other columns stay as
/// they were guessed.
#[tokio::test]
async fn a_file_with_an_unknown_email_column_offers_the_column_choice() {
    let en = app_texts(Lang::En);
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kunden.csv");
    std::fs::write(
        &path,
        "Kundennummer;Kontakt;Vorname\r\nE2E-MAP-1;map.kunde@example.at;Anna\r\n",
    )
    .unwrap();
    upload(&h, &en["sync.file"], &path).await;
    let message = h.text("#sync-file-error:not([hidden])").await;
    assert!(
        message.starts_with(&format!("{}: ", en["sync.field.email"])),
        "{message}"
    );
    assert!(message.contains("e-mail address"), "{message}");

    // The choice is there, open, with the file's columns.
    let email = h.by_label(&en["sync.field.email"]).await;
    assert!(email.is_displayed().await.unwrap(), "the choice is hidden");
    let mut offered = Vec::new();
    for option in email
        .find_all(fantoccini::Locator::Css("option"))
        .await
        .unwrap()
    {
        offered.push(option.text().await.unwrap());
    }
    assert_eq!(
        offered,
        [
            en["sync.not_in_file"].as_str(),
            "Kundennummer",
            "Kontakt",
            "Vorname"
        ]
    );
    assert_eq!(email.prop("value").await.unwrap().as_deref(), Some(""));
    email.select_by_label("Kontakt").await.unwrap();

    // The check passes; what was chosen and guessed stays chosen.
    h.eventually("the dry run with the chosen column", || async {
        count_of(&h, "new").await.ends_with(": 1").then_some(())
    })
    .await;
    h.wait_for("#sync-file-error[hidden]").await;
    for (field, column) in [
        ("sync.field.email", "Kontakt"),
        ("sync.field.external_user_id", "Kundennummer"),
        ("sync.field.first_name", "Vorname"),
    ] {
        let choice = h.by_label(&en[field]).await;
        assert_eq!(
            choice.prop("value").await.unwrap().as_deref(),
            Some(column),
            "{field}"
        );
    }
    h.finish().await;
}

/// The start times (ms, the page's clock) of the page's requests for the
/// run's progress since the timings were last cleared.
async fn progress_reads(h: &Harness, id: uuid::Uuid) -> Vec<f64> {
    let starts = h
        .browser
        .execute(
            "return performance.getEntriesByType('resource')\
               .filter(e => e.name.endsWith('/api/sync/runs/' + arguments[0]))\
               .map(e => e.startTime);",
            vec![serde_json::json!(id.to_string())],
        )
        .await
        .expect("script runs");
    serde_json::from_value(starts).expect("numbers")
}

/// A run large enough to pause (24 new customers at 3 writes per second):
/// Pause pressed with the keyboard pauses it and the focus stays on the
/// button, which now reads Resume; Enter on it resumes the run, the focus
/// stays on it (reading Pause), and the run finishes. After Resume the run
/// is followed by one polling loop: its progress is read at least 500 ms
/// apart (two loops would read it twice per turn).
#[tokio::test]
async fn pause_and_resume_with_the_keyboard_keep_the_focus_and_the_run_finishes() {
    let en = app_texts(Lang::En);
    let h = Harness::start_with(|c| c.sync_rps = 3).await;
    let rows = 24;
    let mut file = String::from("customer_number,email,first_name,last_name\n");
    for i in 0..rows {
        file.push_str(&format!(
            "E2E-PAUSE-{i},e2e.pause.{i}@example.at,Neu,Kunde {i}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pause.csv");
    std::fs::write(&path, file).unwrap();
    upload(&h, &en["sync.file"], &path).await;
    h.eventually("the dry run's counts", || async {
        count_of(&h, "new")
            .await
            .ends_with(&format!(": {rows}"))
            .then_some(())
    })
    .await;
    h.click("[data-testid=sync-apply]").await;
    let state_is = |key: &'static str| {
        let h = &h;
        let text = en[key].clone();
        async move {
            h.eventually(&format!("the run {text}"), || async {
                (h.text("[data-testid=sync-run-state]").await == text).then_some(())
            })
            .await
        }
    };
    let focus_on = |key: &'static str| {
        let h = &h;
        let text = en[key].clone();
        async move {
            h.eventually(&format!("the focus on {text}"), || async {
                (h.focused_text().await == text).then_some(())
            })
            .await
        }
    };
    state_is("sync.run_running").await;

    // Pause, pressed with the keyboard (the button focused, Enter).
    h.eventually("Enter on Pause", || async {
        h.action(&en["sync.pause"])
            .await?
            .send_keys(&Key::Enter.to_string())
            .await
            .ok()
    })
    .await;
    state_is("sync.run_paused").await;
    focus_on("sync.resume").await;
    let runs: Vec<SyncRun> = h.get_json("/api/sync/runs").await;
    let run = &runs[0];
    assert!(run.written < rows, "paused after {} rows", run.written);

    // Resume: Enter where the focus is.
    h.browser
        .execute(
            "performance.setResourceTimingBufferSize(1000); performance.clearResourceTimings();",
            vec![],
        )
        .await
        .expect("script runs");
    h.type_at_focus(&Key::Enter.to_string()).await;
    focus_on("sync.pause").await;
    // One loop follows the resumed run: three reads of its progress, each
    // at least the loop's pause (500 ms, less a margin for the clock)
    // after the one before.
    let reads = h
        .eventually("three reads of the run's progress", || async {
            let reads = progress_reads(&h, run.id).await;
            (reads.len() >= 3).then_some(reads)
        })
        .await;
    let closest = reads
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    assert!(
        closest >= Duration::from_millis(450).as_secs_f64() * 1000.0,
        "the run's progress was read {closest} ms after a read before: {reads:?}"
    );

    // It finishes.
    state_is("sync.run_done").await;
    let progress = h.text("[data-testid=sync-progress]").await;
    assert!(
        progress.starts_with(&format!("{rows} of {rows} written: {rows} created")),
        "{progress}"
    );
    h.finish().await;
}
