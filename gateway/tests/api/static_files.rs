//! The browser app: cache headers, client-side route fallback, compression.

use std::io::Read;

use std::time::Duration;

use crate::helpers::{eventually, spawn_app, spawn_app_with, Options, TestApp};

const JS: &str = "frontend-0123456789abcdef.js";
const WASM: &str = "frontend-0123456789abcdef_bg.wasm";

fn write_dist() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let index = format!(
        "<!doctype html><html><head><title>Back-Office</title><script type=\"module\" src=\"/{JS}\"></script></head><body>{}</body></html>",
        "<!-- padding -->".repeat(20)
    );
    std::fs::write(dir.path().join("index.html"), index).unwrap();
    std::fs::write(
        dir.path().join(JS),
        "export function hello() { return 'hello'; }\n".repeat(50),
    )
    .unwrap();
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(dir.path().join(WASM), wasm).unwrap();
    dir
}

/// A gateway serving the app of [`write_dist`] (the directory lives as
/// long as the first part).
async fn spawn_with_dist() -> (tempfile::TempDir, TestApp) {
    let dist = write_dist();
    let app = spawn_app_with(Options {
        frontend_dir: Some(dist.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    (dist, app)
}

#[tokio::test]
async fn serves_the_app_with_cache_headers_and_fallback() {
    let (_dist, app) = spawn_with_dist().await;
    let c = &app.client;

    let r = c.send(c.get(&format!("{}/", app.address))).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<title>Back-Office</title>"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));

    let r = c.send(c.get(&format!("{}/{JS}", app.address))).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().contains("javascript"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    for route in ["/users/abc", "/users/3f1e/devices", "/settings"] {
        let r = c.send(c.get(&format!("{}{route}", app.address))).await;
        assert_eq!(r.status, 200, "{route}");
        assert!(r.text().contains("<title>Back-Office</title>"), "{route}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{route}");
    }

    // The API never falls back to the app.
    let r = c.send(c.get(&format!("{}/api/unknown", app.address))).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "route_not_allowed");
    let r = c.send(c.get(&format!("{}/healthz", app.address))).await;
    assert_eq!(r.json()["status"], "ok");
    app.shutdown().await;
}

#[tokio::test]
async fn compresses_html_js_and_wasm() {
    let (dist, app) = spawn_with_dist().await;
    let c = &app.client;
    for (path, ct) in [
        ("/", "text/html"),
        (&format!("/{JS}") as &str, "javascript"),
        (&format!("/{WASM}"), "application/wasm"),
    ] {
        let r = c
            .send(
                c.get(&format!("{}{path}", app.address))
                    .header("accept-encoding", "gzip"),
            )
            .await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().contains(ct),
            "{path}: {:?}",
            r.header("content-type")
        );
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{path}");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&r.body[..])
            .read_to_end(&mut plain)
            .unwrap();
        let file = if path == "/" {
            "index.html"
        } else {
            path.trim_start_matches('/')
        };
        assert_eq!(
            plain,
            std::fs::read(dist.path().join(file)).unwrap(),
            "{path}"
        );
        let r = c
            .send(
                c.get(&format!("{}{path}", app.address))
                    .header("accept-encoding", "br"),
            )
            .await;
        assert_eq!(r.header("content-encoding"), Some("br"), "{path}");
    }
    // JSON from the gateway is compressed too.
    let r = c
        .send(c.get(&app.api("/users")).header("accept-encoding", "gzip"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    app.shutdown().await;
}

#[tokio::test]
async fn hashed_assets_are_served_precompressed_at_brotli_best() {
    let (dist, app) = spawn_with_dist().await;
    // The gateway writes `<file>.br` for the hashed script and WebAssembly
    // when it starts (not for index.html, which is no-cache and small).
    for file in [JS, WASM] {
        let br = dist.path().join(format!("{file}.br"));
        eventually(Duration::from_secs(30), || async {
            br.exists().then_some(())
        })
        .await;
    }
    assert!(!dist.path().join("index.html.br").exists());
    let c = &app.client;
    for file in [JS, WASM] {
        let url = format!("{}/{file}", app.address);
        let precompressed = std::fs::read(dist.path().join(format!("{file}.br"))).unwrap();
        let r = c.send(c.get(&url).header("accept-encoding", "br")).await;
        assert_eq!(r.status, 200, "{file}");
        assert_eq!(r.header("content-encoding"), Some("br"), "{file}");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{file}"
        );
        // The very bytes written at start, not a fresh on-the-fly stream.
        assert_eq!(r.body, precompressed, "{file}");
        let mut plain = Vec::new();
        brotli_decompressor::Decompressor::new(&r.body[..], 4096)
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(
            plain,
            std::fs::read(dist.path().join(file)).unwrap(),
            "{file}"
        );
        // Without `br` accepted, the file itself (or gzip made on the fly).
        let r = c.send(c.get(&url)).await;
        assert_eq!(r.header("content-encoding"), None, "{file}");
        assert_eq!(
            r.body,
            std::fs::read(dist.path().join(file)).unwrap(),
            "{file}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn unbuilt_frontend_gives_a_503_page() {
    let app = spawn_app().await;
    let c = &app.client;
    for path in ["/", "/users/abc"] {
        let r = c.send(c.get(&format!("{}{path}", app.address))).await;
        assert_eq!(r.status, 503, "{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.text().contains("cargo xtask run"));
    }
    app.shutdown().await;
}

/// A path that cannot name a file (a segment longer than a file name may
/// be, also with the `.br` of a precompressed file, a path longer than a
/// path may be, a NUL) is a client route like any other: the app's page,
/// with GET and HEAD and compressed. It was a bare 500 (the file system's
/// "name too long" from `ServeDir`).
#[tokio::test]
async fn paths_that_cannot_name_a_file_get_the_app() {
    let (_dist, app) = spawn_with_dist().await;
    let c = &app.client;
    for path in [
        format!("/{}", "a".repeat(300)),
        // Short enough for a file name, but not with the `.br` looked for.
        format!("/{}", "a".repeat(255)),
        format!("/{}/%2F", "a".repeat(254)),
        format!("/users/{}.js", "b".repeat(300)),
        "/a/".repeat(2100),
        "/%00/".to_string(),
        "/users/%00/".to_string(),
    ] {
        for method in ["GET", "HEAD"] {
            let r = c
                .send(
                    c.http
                        .request(method.parse().unwrap(), format!("{}{path}", app.address))
                        .header("accept-encoding", "gzip, br"),
                )
                .await;
            assert_eq!(r.status, 200, "{method} {path:.60}: {}", r.text());
            assert!(
                r.header("content-type").unwrap().starts_with("text/html"),
                "{method} {path:.60}"
            );
            assert_eq!(r.header("cache-control"), Some("no-cache"), "{path:.60}");
        }
        // Plainly (this client does not decompress): the app's page.
        let r = c.send(c.get(&format!("{}{path}", app.address))).await;
        assert!(
            r.text().contains("<title>Back-Office</title>"),
            "{path:.60}"
        );
    }
    app.shutdown().await;
}

/// A hashed asset is sent as its `.br` to a browser accepting Brotli and
/// as the file (or gzip made on the fly) to any other: every variant says
/// `Vary: Accept-Encoding`, so a cache in between never hands the Brotli
/// bytes to a browser that did not ask for them. The `.br` one had no
/// `Vary` (the compression layer adds it only to what it compresses).
#[tokio::test]
async fn every_variant_of_a_precompressed_asset_varies_by_encoding() {
    let (dist, app) = spawn_with_dist().await;
    let br = dist.path().join(format!("{JS}.br"));
    eventually(Duration::from_secs(30), || async {
        br.exists().then_some(())
    })
    .await;
    let c = &app.client;
    let url = format!("{}/{JS}", app.address);
    for method in ["GET", "HEAD"] {
        for (accept, encoding) in [
            ("gzip, deflate, br", Some("br")),
            ("br", Some("br")),
            ("gzip", Some("gzip")),
            ("gzip;q=0", None),
            ("identity", None),
        ] {
            let r = c
                .send(
                    c.http
                        .request(method.parse().unwrap(), &url)
                        .header("accept-encoding", accept),
                )
                .await;
            assert_eq!(r.status, 200, "{method} {accept}");
            if method == "GET" {
                assert_eq!(r.header("content-encoding"), encoding, "{accept}");
            }
            let vary: Vec<_> = r
                .headers
                .get_all("vary")
                .iter()
                .map(|v| v.to_str().unwrap().to_ascii_lowercase())
                .collect();
            assert_eq!(vary, ["accept-encoding"], "{method} {accept}");
        }
    }
    app.shutdown().await;
}

/// A method other than `GET`/`HEAD` on the app's files, a client route or
/// the customer page's stylesheet is the gateway's JSON 405 naming the
/// methods there are, like on its API. It was axum's 405 with an empty
/// body.
#[tokio::test]
async fn other_methods_on_the_app_files_get_a_json_405() {
    let (_dist, app) = spawn_with_dist().await;
    let c = &app.client;
    for path in [
        "/".to_string(),
        "/index.html".into(),
        format!("/{JS}"),
        "/users/abc".into(),
        // Not below `/api/`: a client route, not an API path.
        "//api/cases/1".into(),
        "/self-service.css".into(),
    ] {
        for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let r = c
                .send(
                    c.http
                        .request(method.parse().unwrap(), format!("{}{path}", app.address))
                        .header("content-type", "application/json")
                        .body("{}"),
                )
                .await;
            assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
            assert_eq!(r.code(), "method_not_allowed", "{method} {path}");
            assert!(
                !r.json()["detail"].as_str().unwrap_or_default().is_empty(),
                "{method} {path}: {}",
                r.text()
            );
            assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method} {path}");
        }
    }
    app.shutdown().await;
}
