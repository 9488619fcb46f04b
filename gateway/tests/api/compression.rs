//! Compressed downloads arrive whole and decode to the same bytes.
//!
//! Browsers always send `Accept-Encoding: gzip, deflate, br`, so every
//! streamed or large answer — the audit CSV (streamed from the database in
//! 64 KiB chunks), the users CSV, a 500-row users page, the forwarded
//! users list (streamed from Podero) and a large static file — is fetched
//! with `gzip`, with `br` and with the browser's header by a client that
//! does not decompress (reqwest without its compression features; the
//! `content-encoding` header proves it), decoded here, and compared with
//! the same download fetched without `Accept-Encoding`. A connection that
//! drops mid-body is reported as such (the gateway panicked or gave up
//! while streaming).
//!
//! Each test collects every problem of every download before failing, so
//! one run names all the broken combinations.

use std::io::Read;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, Options, TestApp};

/// The encodings asked for, besides none.
const ENCODINGS: [&str; 3] = ["gzip", "br", "gzip, deflate, br"];

/// A download: its `content-encoding`, the bytes as they came over the
/// wire and the decoded bytes.
struct Download {
    encoding: Option<String>,
    wire: usize,
    body: Vec<u8>,
}

/// The chain of causes of an error, for messages.
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn decode(encoding: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = match encoding {
        "gzip" => flate2::read::GzDecoder::new(bytes).read_to_end(&mut out),
        "br" => brotli_decompressor::Decompressor::new(bytes, 4096).read_to_end(&mut out),
        other => return Err(format!("unexpected content-encoding {other:?}")),
    };
    result.map(|_| out).map_err(|e| {
        format!(
            "the {encoding} stream of {} bytes does not decode ({e}): it is cut off or corrupt",
            bytes.len()
        )
    })
}

/// GET `url` (with `Accept-Encoding: accept` if given), read the body to
/// its end and decode it. `Err` says what went wrong, in words.
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    accept: Option<&str>,
) -> Result<Download, String> {
    let what = format!("GET {url} with Accept-Encoding {accept:?}");
    let mut req = http.get(url).timeout(Duration::from_secs(30));
    if let Some(a) = accept {
        req = req.header(ACCEPT_ENCODING, a);
    }
    let r = req.send().await.map_err(|e| {
        format!(
            "{what}: no response — the connection closed before a response head arrived \
                 (the gateway dropped it; see its log for a panic): {}",
            causes(&e)
        )
    })?;
    if r.status() != 200 {
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        return Err(format!("{what}: status {status}: {text}"));
    }
    let encoding = r
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let length: Option<usize> = r
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let wire = r.bytes().await.map_err(|e| {
        format!(
            "{what}: status 200 and headers arrived (content-encoding {encoding:?}), \
             but the connection dropped before the body was whole — the gateway failed \
             while streaming it (see its log for a panic): {}",
            causes(&e)
        )
    })?;
    if let Some(n) = length {
        if n != wire.len() {
            return Err(format!(
                "{what}: content-length {n} but {} bytes arrived",
                wire.len()
            ));
        }
    }
    let body = match &encoding {
        None => wire.to_vec(),
        Some(e) => decode(e, &wire).map_err(|why| format!("{what}: {why}"))?,
    };
    Ok(Download {
        encoding,
        wire: wire.len(),
        body,
    })
}

/// How to compare a decoded download with the plain one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Same {
    /// Byte for byte.
    Bytes,
    /// A CSV: the same header line and number of lines (and, since
    /// nothing changes between the downloads, the same bytes).
    Csv,
    /// JSON equal once `freshness` and `scan` (which may tick between two
    /// downloads) are removed.
    JsonWithoutFreshness,
}

fn csv_shape(body: &[u8]) -> (String, usize) {
    let text = String::from_utf8_lossy(body);
    (
        text.lines().next().unwrap_or("").to_string(),
        text.lines().count(),
    )
}

fn without_freshness(body: &[u8]) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    if let Some(o) = v.as_object_mut() {
        o.remove("freshness");
        o.remove("scan");
    }
    Some(v)
}

/// Download `url` plainly and with every encoding; the problems found.
/// `min_len`: the plain body must be at least this long (the test's
/// premise: a large, multi-chunk answer).
async fn check_download(
    http: &reqwest::Client,
    url: &str,
    same: Same,
    min_len: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let plain = match fetch(http, url, None).await {
        Ok(d) => d,
        Err(e) => return vec![e],
    };
    if let Some(e) = &plain.encoding {
        problems.push(format!(
            "GET {url} without Accept-Encoding came back {e}-encoded"
        ));
    }
    if plain.body.len() < min_len {
        problems.push(format!(
            "GET {url}: only {} bytes, the test needs at least {min_len}",
            plain.body.len()
        ));
    }
    for accept in ENCODINGS {
        let d = match fetch(http, url, Some(accept)).await {
            Ok(d) => d,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let what = format!("GET {url} with Accept-Encoding {accept:?}");
        match (accept, d.encoding.as_deref()) {
            (_, None) => {
                problems.push(format!(
                    "{what}: no content-encoding (not compressed, or the client decompressed it)"
                ));
                continue;
            }
            ("gzip", Some(e)) | ("br", Some(e)) if e != accept => {
                problems.push(format!("{what}: answered with content-encoding {e:?}"));
            }
            _ => {}
        }
        if d.wire >= d.body.len() && d.body.len() > 4096 {
            problems.push(format!(
                "{what}: {} bytes on the wire for {} decoded bytes: not compressed",
                d.wire,
                d.body.len()
            ));
        }
        let mismatch = match same {
            Same::Bytes => (d.body != plain.body).then(|| {
                format!(
                    "{} decoded bytes differ from the {} plain bytes",
                    d.body.len(),
                    plain.body.len()
                )
            }),
            Same::Csv => {
                let (head, lines) = csv_shape(&d.body);
                let (plain_head, plain_lines) = csv_shape(&plain.body);
                if head != plain_head {
                    Some(format!("header {head:?} instead of {plain_head:?}"))
                } else if lines != plain_lines {
                    Some(format!("{lines} lines instead of {plain_lines}"))
                } else if d.body != plain.body {
                    Some("the same lines count but different bytes".to_string())
                } else {
                    None
                }
            }
            Same::JsonWithoutFreshness => {
                let a = without_freshness(&d.body);
                let b = without_freshness(&plain.body);
                match (a, b) {
                    (Some(a), Some(b)) if a == b => None,
                    (None, _) => Some("the decoded body is not JSON".to_string()),
                    _ => Some("the decoded JSON differs from the plain one".to_string()),
                }
            }
        };
        if let Some(m) = mismatch {
            problems.push(format!("{what}: {m}"));
        }
    }
    problems
}

/// The admin's client, but a new connection for every request, so a
/// connection the gateway dropped cannot take the next download with it.
fn downloader(app: &TestApp) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        app.client.cookie.as_deref().unwrap().parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn assert_no_problems(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// Now as an RFC 3339 time (UTC, `Z`, milliseconds), `:` encoded for a
/// query string.
fn now_query_time() -> String {
    chrono::Utc::now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .replace(':', "%3A")
}

/// Audit records with long routes: each request below adds one of about
/// 400 bytes to the CSV.
async fn fill_audit_trail(app: &TestApp, records: usize) {
    let long = "x".repeat(285);
    let c = &app.client;
    let statuses: Vec<u16> = futures::stream::iter(0..records)
        .map(|i| {
            let url = format!("{}/api/{long}{i}", app.address);
            async move { c.send(c.get(&url)).await.status.as_u16() }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 404), "{statuses:?}");
}

#[tokio::test]
async fn audit_csv_arrives_whole_compressed() {
    let app = spawn_app().await;
    fill_audit_trail(&app, 600).await;
    // Only the records so far: the downloads themselves add records, and
    // every download must see the same ones.
    let url = format!("{}/api/audit.csv?to={}", app.address, now_query_time());
    let http = downloader(&app);
    let problems = check_download(&http, &url, Same::Csv, 192 * 1024).await;
    // And the whole trail (growing by one line a download), by its shape.
    let all = format!("{}/api/audit.csv", app.address);
    let mut more = Vec::new();
    for accept in ENCODINGS {
        match fetch(&http, &all, Some(accept)).await {
            Ok(d) => {
                let (head, lines) = csv_shape(&d.body);
                if !head.starts_with("\u{feff}\"id\",\"at\",\"actor_email\"") || lines < 600 {
                    more.push(format!(
                        "GET {all} with Accept-Encoding {accept:?}: header {head:?}, {lines} lines"
                    ));
                }
            }
            Err(e) => more.push(e),
        }
    }
    app.shutdown().await;
    assert_no_problems("audit.csv", &[problems, more].concat());
}

#[tokio::test]
async fn users_csv_page_and_forwarded_list_arrive_whole_compressed() {
    let app = spawn_app_with(Options {
        seed_users: 2000,
        ..Default::default()
    })
    .await;
    let http = &downloader(&app);
    let mut problems = Vec::new();
    problems.extend(
        check_download(
            http,
            &format!("{}/api/directory/users.csv", app.address),
            Same::Csv,
            200 * 1024,
        )
        .await,
    );
    problems.extend(
        check_download(
            http,
            &format!(
                "{}/api/directory/users.csv?archived=include&sort=email&dir=desc",
                app.address
            ),
            Same::Csv,
            200 * 1024,
        )
        .await,
    );
    problems.extend(
        check_download(
            http,
            &format!("{}/api/directory/users?per_page=500", app.address),
            Same::JsonWithoutFreshness,
            100 * 1024,
        )
        .await,
    );
    problems.extend(check_download(http, &app.api("/users"), Same::Bytes, 500 * 1024).await);
    problems.extend(
        check_download(
            http,
            &app.api("/users?include_deleted=true"),
            Same::Bytes,
            500 * 1024,
        )
        .await,
    );
    app.shutdown().await;
    assert_no_problems("users CSV, page and forwarded list", &problems);
}

#[tokio::test]
async fn large_static_files_arrive_whole_compressed() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        format!(
            "<!doctype html><html><head><title>Back-Office</title></head><body>{}</body></html>",
            "<p>padding</p>".repeat(4000)
        ),
    )
    .unwrap();
    // About 600 KiB of script that compresses, but not to nothing.
    let js: String = (0..12_000u32)
        .map(|i| {
            format!(
                "export const v{i} = {};\n",
                i.wrapping_mul(2_654_435_761) % 100_000
            )
        })
        .collect::<String>()
        .repeat(2);
    let js_name = "frontend-0123456789abcdef.js";
    std::fs::write(dist.path().join(js_name), &js).unwrap();
    let app = spawn_app_with(Options {
        frontend_dir: Some(dist.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let http = &downloader(&app);
    let mut problems = Vec::new();
    let js_url = format!("{}/{js_name}", app.address);
    problems.extend(check_download(http, &js_url, Same::Bytes, 500 * 1024).await);
    problems
        .extend(check_download(http, &format!("{}/", app.address), Same::Bytes, 50 * 1024).await);
    // The decoded script is the file itself.
    match fetch(http, &js_url, Some("br")).await {
        Ok(d) if d.body == js.as_bytes() => {}
        Ok(d) => problems.push(format!(
            "GET {js_url} (br): {} decoded bytes are not the {}-byte file",
            d.body.len(),
            js.len()
        )),
        Err(e) => problems.push(e),
    }
    app.shutdown().await;
    assert_no_problems("static files", &problems);
}
