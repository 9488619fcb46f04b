//! Security headers on every response.
//!
//! The Content-Security-Policy allows scripts only from the gateway itself,
//! plus WebAssembly compilation (`'wasm-unsafe-eval'`) and the one inline
//! start-up script Trunk writes into `index.html`, by its SHA-256 — the
//! hashes are read from the served `index.html` and recomputed when that
//! file changes (checked when a page is served, not on API answers). No
//! inline styles, no frames (`frame-ancestors 'none'`), no plugins,
//! connections only to the gateway. Also `nosniff`, no referrer,
//! a same-origin opener policy, `no-store` on every `/api` answer
//! (customer data stays out of caches), and `Strict-Transport-Security`
//! when the gateway is reached over HTTPS (its session cookie is Secure).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The headers' settings (cheap to clone).
#[derive(Debug, Clone)]
pub struct Security {
    csp: Arc<Csp>,
    hsts: bool,
}

impl Security {
    /// For the app in `frontend_dir`; `https`: the gateway is reached over
    /// HTTPS (then browsers are told to keep to it).
    pub fn new(frontend_dir: &Path, https: bool) -> Self {
        Self {
            csp: Arc::new(Csp::new(frontend_dir)),
            hsts: https,
        }
    }
}

/// The policy, given the `'sha256-…'` sources of the inline scripts.
pub fn policy(script_hashes: &[String]) -> String {
    let hashes: String = script_hashes.iter().map(|h| format!(" '{h}'")).collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `sha256-…` of the content of every inline `<script>` in `html`.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let tag = &rest[start..];
        let Some(open_end) = tag.find('>') else { break };
        let attrs = &tag[..open_end];
        let body = &tag[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !attrs.contains(" src=") {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            out.push(format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &body[close..];
    }
    out
}

/// The policy for the app in `frontend_dir`, kept current with its
/// `index.html`.
#[derive(Debug)]
pub struct Csp {
    index: PathBuf,
    current: RwLock<(Option<SystemTime>, HeaderValue)>,
}

impl Csp {
    pub fn new(frontend_dir: &Path) -> Self {
        let csp = Self {
            index: frontend_dir.join("index.html"),
            current: RwLock::new((None, HeaderValue::from_static(""))),
        };
        csp.refresh(csp.modified());
        csp
    }

    fn refresh(&self, modified: Option<SystemTime>) -> HeaderValue {
        let html = std::fs::read_to_string(&self.index).unwrap_or_default();
        let value = HeaderValue::from_str(&policy(&inline_script_hashes(&html)))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (modified, value.clone());
        value
    }

    fn modified(&self) -> Option<SystemTime> {
        std::fs::metadata(&self.index)
            .and_then(|m| m.modified())
            .ok()
    }

    /// The header value as last computed (for answers that run no script).
    pub fn cached(&self) -> HeaderValue {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// The header value for an HTML page, re-reading `index.html` if it
    /// changed since (one `stat` per page load, none per API call).
    pub fn value(&self) -> HeaderValue {
        let modified = self.modified();
        {
            let current = self.current.read().unwrap_or_else(|p| p.into_inner());
            if current.0 == modified {
                return current.1.clone();
            }
        }
        self.refresh(modified)
    }
}

/// Middleware adding the headers to every response.
pub async fn headers(State(security): State<Security>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api");
    let mut response = next.run(req).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let csp = if html {
        security.csp.value()
    } else {
        security.csp.cached()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if security.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = r#"<html><head><script src="/a.js"></script><script type="module">init();</script></head></html>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init();"));
        assert_eq!(hashes[0], format!("sha256-{expected}"));
        let p = policy(&hashes);
        assert!(p.contains("frame-ancestors 'none'") && p.contains(&hashes[0]));
    }
}
