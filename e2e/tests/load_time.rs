//! How long a cold first visit takes until the users table can be used,
//! in headless Chromium on loopback (issue 17: at most 400 ms).
//!
//! The gateway precompresses the app's files when it starts (a few seconds
//! of CPU for the WebAssembly); the test waits until it has, as a visitor
//! of a gateway that has been up for a while would. Signed in (the
//! harness's session cookie), with the browser's cache
//! emptied before every load (`Network.clearBrowserCache`), the test opens
//! `/` three times. A script added to every new document
//! (`Page.addScriptToEvaluateOnNewDocument`) watches the page and notes
//! `performance.now()` (milliseconds since the navigation started) the
//! moment the first user's link is in the table: the app renders its
//! handlers with the rows, so that is when the table is interactive.
//! The Navigation and Resource Timing APIs give the parts: the
//! WebAssembly's download (`responseEnd`, and its `transferSize`, the bytes
//! that came over the wire), the users page's answer, the total
//! transferred.
//!
//! It prints every load and the median; it asserts a generous bound
//! (2 s), so a slow or busy CI machine does not fail it. The figure on an
//! idle machine is recorded in BENCHMARKS.md.

use e2e::Harness;

/// Installed into every new document: notes when the first row appears.
const WATCH_TABLE: &str = r#"
(() => {
  const seen = () => document.querySelector('[data-testid=users-table] [data-testid=user-link]');
  const note = () => {
    if (window.__tableAt === undefined && seen()) {
      window.__tableAt = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(note);
  observer.observe(document, { childList: true, subtree: true });
})();
"#;

/// The figures of the load just made, once the table is there.
const READ_TIMINGS: &str = r#"
if (window.__tableAt === undefined) { return null; }
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
const wasm = res.find(r => r.name.endsWith('.wasm'));
const users = res.find(r => r.name.includes('/api/directory/users'));
const sum = (k) => res.reduce((n, r) => n + (r[k] || 0), 0) + (nav[k] || 0);
return {
  table: window.__tableAt,
  dom_content_loaded: nav.domContentLoadedEventEnd,
  wasm_end: wasm ? wasm.responseEnd : null,
  wasm_transfer: wasm ? wasm.transferSize : null,
  wasm_encoded: wasm ? wasm.encodedBodySize : null,
  users_start: users ? users.startTime : null,
  users_end: users ? users.responseEnd : null,
  transferred: sum('transferSize'),
};
"#;

/// Generous: a cold load on this machine takes a fraction of it.
const BOUND_MS: f64 = 2000.0;

#[tokio::test]
async fn cold_load_to_an_interactive_users_table() {
    let h = Harness::start().await;
    let dist = e2e::dist_dir();
    h.eventually(
        "the gateway's precompressed WebAssembly and script",
        || async {
            let files = std::fs::read_dir(&dist).ok()?;
            files
                .flatten()
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".wasm") || name.ends_with(".js"))
                .all(|name| dist.join(format!("{name}.br")).exists())
                .then_some(())
        },
    )
    .await;
    // The harness signed in on the sign-in page: the app is cached now.
    h.cdp("Page.enable", serde_json::json!({})).await;
    h.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        serde_json::json!({ "source": WATCH_TABLE }),
    )
    .await;
    let mut tables = Vec::new();
    for run in 1..=3 {
        h.cdp("Network.clearBrowserCache", serde_json::json!({}))
            .await;
        h.open("/").await;
        let t = h
            .eventually("the users table's first row", || async {
                let v = h.browser.execute(READ_TIMINGS, vec![]).await.ok()?;
                (!v.is_null()).then_some(v)
            })
            .await;
        let ms = |k: &str| t[k].as_f64().unwrap_or(f64::NAN);
        let table = ms("table");
        println!(
            "cold load {run}: users table interactive at {table:.0} ms \
             (DOMContentLoaded {:.0} ms; WebAssembly downloaded at {:.0} ms, \
             {:.0} bytes over the wire; users page requested at {:.0} ms, answered at {:.0} ms; \
             {:.0} bytes transferred in all)",
            ms("dom_content_loaded"),
            ms("wasm_end"),
            ms("wasm_transfer"),
            ms("users_start"),
            ms("users_end"),
            ms("transferred"),
        );
        // Cold: the WebAssembly came over the network, not from a cache.
        assert!(
            ms("wasm_transfer") > 0.0,
            "run {run}: the WebAssembly came from a cache: {t}"
        );
        tables.push(table);
    }
    tables.sort_by(f64::total_cmp);
    let median = tables[tables.len() / 2];
    println!("cold load to an interactive users table: median {median:.0} ms of {tables:?} (issue 17 target: 400 ms)");
    assert!(
        median <= BOUND_MS,
        "a cold load took {median:.0} ms to an interactive users table (bound {BOUND_MS} ms)"
    );
    h.finish().await;
}
