//! Serving the Trunk-built browser app from the frontend directory.
//!
//! Files are served by `tower-http`'s `ServeDir`. Hashed assets (Trunk
//! names them `frontend-3f2a9c1b2e4d5f60.js`, `..._bg.wasm`,
//! `style-<hash>.css`) never change under their name and are sent with
//! `Cache-Control: public, max-age=31536000, immutable`; everything else,
//! `index.html` in particular, with `no-cache` so a new build is picked up at
//! once. Paths that are no file get `index.html` (client-side routes such as
//! `/users/<id>`). When the directory has no `index.html` (the app was not
//! built), `/` and the fallback answer `503` with a short page saying how to
//! build it. Compression is added for all responses in [`crate::startup`].
//!
//! The hashed scripts, styles and the WebAssembly are also served
//! **precompressed**: when the gateway starts, [`precompress`] writes a
//! `<file>.br` next to each one that has none yet, compressed once at
//! Brotli's best quality (11), and `ServeDir` sends it to browsers that
//! accept `br`. The on-the-fly compression of every other answer uses
//! tower-http's default Brotli quality (4), which is fast but makes the
//! app's WebAssembly about a quarter larger on the wire. Until the files
//! are written (or when the directory is read-only), the same assets are
//! compressed on the fly as before.

use std::convert::Infallible;
use std::io::Write;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::MethodRouter;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Frontend not built</title></head><body>\n<h1>The frontend is not built</h1>\n\
<p>The gateway found no <code>index.html</code> in its frontend directory \
(<code>GATEWAY_FRONTEND_DIR</code>). Build and start everything with \
<code>cargo xtask run</code>.</p>\n</body></html>\n";

/// Whether a file name carries a Trunk content hash: `name-<16 hex>` then
/// an optional `_bg` and the extension.
pub fn is_hashed_asset(file_name: &str) -> bool {
    let Some((_, after_dash)) = file_name.rsplit_once('-') else {
        return false;
    };
    let hash: &str = after_dash.split(['_', '.']).next().unwrap_or("");
    hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()) && after_dash.len() > hash.len()
}

/// The service answering every path no other route takes: `GET` and
/// `HEAD` get the app's files; any other method the gateway's JSON 405
/// (axum's own would be an empty body).
pub fn service(frontend_dir: PathBuf) -> MethodRouter<()> {
    axum::routing::get(move |request: Request| serve(frontend_dir.clone(), request))
        .fallback(super::get_only)
}

async fn serve(dir: PathBuf, request: Request) -> Result<Response, Infallible> {
    let index = dir.join("index.html");
    if !is_file(&index).await {
        let mut r = (StatusCode::SERVICE_UNAVAILABLE, Html(NOT_BUILT)).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, NO_CACHE);
        return Ok(r);
    }
    let file_name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    let mut response = if can_be_a_file(request.uri().path()) {
        let files = ServeDir::new(&dir)
            .precompressed_br()
            .append_index_html_on_directories(true)
            .fallback(ServeFile::new(&index));
        let mut response = files.oneshot(request).await?.map(Body::new);
        // `ServeDir` chooses between a file and its `.br` by the request's
        // `Accept-Encoding`; caches must know (the compression layer adds
        // this only to what it compresses itself, not to a `.br` sent as
        // it is).
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        response
    } else {
        ServeFile::new(&index)
            .oneshot(request)
            .await?
            .map(Body::new)
    };
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let cache = if response.status().is_success() && !html && is_hashed_asset(&file_name) {
        IMMUTABLE
    } else {
        NO_CACHE
    };
    response.headers_mut().insert(header::CACHE_CONTROL, cache);
    Ok(response)
}

/// Longest file name (one segment) the file system takes (255) less the
/// `.br` that `ServeDir` appends for a browser accepting Brotli, and a
/// bound on the whole path well below the file system's.
const NAME_MAX: usize = 255 - ".br".len();
const PATH_MAX: usize = 1024;

/// Whether the decoded `path` could name a file at all: no NUL, no
/// segment longer than a file name may be, not longer than a path may be.
/// Any other path is a client route, answered with `index.html` (`ServeDir`
/// would answer the file system's error, "name too long", as a bare 500).
fn can_be_a_file(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).collect::<Vec<u8>>();
    decoded.len() <= PATH_MAX
        && !decoded.contains(&0)
        && decoded
            .split(|b| *b == b'/')
            .all(|seg| seg.len() <= NAME_MAX)
}

/// The extensions of the files worth precompressing (text and WebAssembly;
/// images are compressed already).
const PRECOMPRESSED: [&str; 3] = ["wasm", "js", "css"];

/// Brotli's best quality, what a browser's first visit then downloads.
const BROTLI_QUALITY: i32 = 11;

/// Write `<file>.br` (Brotli, quality 11) next to every hashed `.wasm`,
/// `.js` and `.css` file directly in `dir` that has none yet; returns how
/// many were written. Their names carry a content hash, so an existing
/// `.br` is always the same content. Each is written under a temporary
/// name and renamed, so a gateway starting at the same moment never sends
/// half a file. Blocking (a second or two of CPU for the WebAssembly):
/// the gateway runs it on the blocking pool at start. Errors (a read-only
/// directory) are logged; the files are then compressed on the fly.
pub fn precompress(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut written = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| PRECOMPRESSED.contains(&e));
        if !wanted || !is_hashed_asset(&name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let target = dir.join(format!("{name}.br"));
        if target.exists() {
            continue;
        }
        match write_brotli(&path, &target) {
            Ok(bytes) => {
                tracing::info!("precompressed {name}: {bytes} bytes (brotli)");
                written += 1;
            }
            Err(e) => {
                tracing::warn!("could not precompress {name} (it is compressed on the fly): {e}")
            }
        }
    }
    written
}

fn write_brotli(source: &Path, target: &Path) -> std::io::Result<usize> {
    let raw = std::fs::read(source)?;
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        ..Default::default()
    };
    let mut compressed = Vec::with_capacity(raw.len() / 3);
    brotli::BrotliCompress(&mut raw.as_slice(), &mut compressed, &params)?;
    let partial = target.with_extension(format!("br.partial-{}", std::process::id()));
    let result = std::fs::File::create(&partial)
        .and_then(|mut f| f.write_all(&compressed))
        .and_then(|()| std::fs::rename(&partial, target));
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|()| compressed.len())
}

async fn is_file(path: &Path) -> bool {
    tokio::fs::metadata(path).await.is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::{can_be_a_file, is_hashed_asset};

    #[test]
    fn paths_that_cannot_name_a_file() {
        assert!(can_be_a_file("/frontend-3f2a9c1b2e4d5f60.js"));
        assert!(can_be_a_file("/users/123/"));
        assert!(can_be_a_file(&format!("/{}", "a".repeat(252))));
        assert!(!can_be_a_file(&format!("/{}", "a".repeat(253))));
        assert!(!can_be_a_file(&format!("/x/%{}", "41".repeat(300))));
        assert!(!can_be_a_file(&"/a".repeat(600)));
        assert!(!can_be_a_file("/%00/"));
        assert!(!can_be_a_file("/a%00.js"));
    }

    #[test]
    fn hashed_names() {
        assert!(is_hashed_asset("frontend-3f2a9c1b2e4d5f60.js"));
        assert!(is_hashed_asset("frontend-3f2a9c1b2e4d5f60_bg.wasm"));
        assert!(is_hashed_asset("style-0123456789abcdef.css"));
        assert!(!is_hashed_asset("index.html"));
        assert!(!is_hashed_asset("favicon.ico"));
        assert!(!is_hashed_asset("my-style.css"));
        assert!(!is_hashed_asset("abc"));
    }
}
