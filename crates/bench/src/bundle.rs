//! The browser-bundle benchmark (`cargo xtask bench bundle`): what a first
//! visit downloads, byte for byte as the gateway serves it.
//!
//! Copies the built app (`dist/`, `cargo xtask bench bundle` builds it
//! first) into a fresh temporary directory and starts the release gateway
//! binary on it (with its embedded emulator), so the gateway's own start-up
//! precompression runs as it does after a deployment. Once every hashed
//! asset has its `.br`, it fetches `/` as Chromium does (`Accept-Encoding:
//! gzip, deflate, br, zstd`), then every file the page names (the script,
//! the WebAssembly, the styles: each quoted `/<name>.<ext>` in the HTML),
//! and prints each file's size as stored and on the wire, and the total on
//! the wire against the target (250 KiB). The client does not decompress
//! (reqwest without its compression features), so the bytes counted are
//! the bytes sent.
//!
//! Exits non-zero when the target is missed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::{free_port, release_bin, wait_for_gateway};

/// Everything a first visit loads, compressed as served, at most this.
const TARGET_KIB: f64 = 250.0;

/// What Chromium sends.
const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Extensions the gateway precompresses (gateway/src/routes/frontend.rs).
const PRECOMPRESSED: [&str; 3] = ["wasm", "js", "css"];

fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist")
}

/// The files the page loads: every quoted absolute path with an extension
/// in the HTML (Trunk's `<link>`s, its module script's import and the
/// WebAssembly it passes to `init`), in order, once each.
fn assets(html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for quote in ['"', '\''] {
        for (i, part) in html.split(quote).enumerate() {
            let looks_like_file = i % 2 == 1
                && part.starts_with('/')
                && !part.starts_with("//")
                && !part.contains(char::is_whitespace)
                && part.rsplit_once('.').is_some_and(|(_, ext)| {
                    !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric())
                });
            if looks_like_file && !found.iter().any(|f| f == part) {
                found.push(part.to_string());
            }
        }
    }
    found
}

pub async fn run() {
    let dist = dist_dir();
    let index = std::fs::read_to_string(dist.join("index.html")).unwrap_or_else(|e| {
        eprintln!(
            "{}: {e}: build the app first (`cargo xtask bench bundle` does)",
            dist.join("index.html").display()
        );
        std::process::exit(2);
    });
    let data = std::env::temp_dir().join(format!("podero-bench-bundle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let served = data.join("dist");
    std::fs::create_dir_all(&served).expect("temp dir");
    let mut hashed = Vec::new();
    for entry in std::fs::read_dir(&dist).expect("dist").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Only the build's own files, not `.br` left by a gateway run.
        if name.ends_with(".br") || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        std::fs::copy(entry.path(), served.join(&name)).expect("copy dist");
        let ext = name.rsplit('.').next().unwrap_or("");
        if PRECOMPRESSED.contains(&ext) && name.contains('-') {
            hashed.push(name);
        }
    }
    println!(
        "Browser bundle: the first visit as the gateway serves it (release gateway, loopback)\n"
    );

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut gateway = Command::new(release_bin("gateway"))
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_FRONTEND_DIR", &served)
        .env("GATEWAY_DATA_DIR", data.join("gateway"))
        .env("GATEWAY_ADMIN_PASSWORD", "bench-first-admin-password")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the gateway");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    wait_for_gateway(&http, &base, Duration::from_secs(60)).await;
    // The gateway's start-up precompression, done.
    let waiting = Instant::now();
    while !hashed
        .iter()
        .all(|name| served.join(format!("{name}.br")).exists())
    {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "the gateway did not precompress {hashed:?} within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "  gateway started; its precompression of {} files done {:.1} s after it answered\n",
        hashed.len(),
        waiting.elapsed().as_secs_f64()
    );

    let mut paths = vec!["/".to_string()];
    paths.extend(assets(&index));
    println!(
        "  {:<44} {:>10} {:>10}  encoding",
        "file", "stored", "on wire"
    );
    let (mut stored_total, mut wire_total) = (0usize, 0usize);
    for path in &paths {
        let r = http
            .get(format!("{base}{path}"))
            .header("accept-encoding", ACCEPT_ENCODING)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let encoding = r
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_string();
        let wire = r.bytes().await.expect("body").len();
        let file = if path == "/" { "/index.html" } else { path };
        let stored = std::fs::metadata(served.join(&file[1..]))
            .map(|m| m.len() as usize)
            .unwrap_or(0);
        stored_total += stored;
        wire_total += wire;
        println!("  {file:<44} {stored:>10} {wire:>10}  {encoding}");
    }
    let kib = wire_total as f64 / 1024.0;
    let ok = kib <= TARGET_KIB;
    println!(
        "\n  {:<44} {stored_total:>10} {wire_total:>10}  = {kib:.1} KiB on the wire, target <= {TARGET_KIB} KiB  {}",
        "first visit, total",
        if ok { "ok" } else { "MISSED" }
    );
    let _ = gateway.kill().await;
    let _ = std::fs::remove_dir_all(&data);
    if !ok {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::assets;

    #[test]
    fn finds_the_files_trunk_links() {
        let html = r#"<link rel="modulepreload" href="/frontend-0123456789abcdef.js" crossorigin="anonymous">
<link rel="preload" href="/frontend-0123456789abcdef_bg.wasm" as="fetch" type="application/wasm">
<link rel="stylesheet" href="/style-0123456789abcdef.css">
<script type="module">import init, * as bindings from '/frontend-0123456789abcdef.js';
init({ module_or_path: '/frontend-0123456789abcdef_bg.wasm' });</script>
<meta name="description" content="Users / devices. Links."><a href="/users">"#;
        assert_eq!(
            assets(html),
            [
                "/frontend-0123456789abcdef.js",
                "/frontend-0123456789abcdef_bg.wasm",
                "/style-0123456789abcdef.css"
            ]
        );
    }
}
