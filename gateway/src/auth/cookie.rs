//! The session cookie, read and written with the `cookie` crate.
//!
//! Over HTTPS it is `__Host-podero_session` (the browser refuses it unless
//! it is Secure, has `Path=/` and no `Domain`); on plain-HTTP loopback
//! development (`GATEWAY_COOKIE_SECURE=auto` on a loopback listener, or
//! `false`) it is `podero_session` without `Secure`. Always HttpOnly and
//! `SameSite=Strict`.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

/// Name of the session cookie over HTTPS.
pub const SECURE_COOKIE: &str = "__Host-podero_session";
/// Name on plain-HTTP loopback development (see `GATEWAY_COOKIE_SECURE`).
pub const PLAIN_COOKIE: &str = "podero_session";

#[derive(Debug, Clone)]
pub struct SessionCookie {
    secure: bool,
    max_age: Duration,
}

impl SessionCookie {
    pub fn new(secure: bool, max_age: Duration) -> Self {
        Self { secure, max_age }
    }

    /// Whether the cookie is `Secure` (the gateway is reached over HTTPS;
    /// then `Strict-Transport-Security` is sent too).
    pub fn secure(&self) -> bool {
        self.secure
    }

    pub fn name(&self) -> &'static str {
        if self.secure {
            SECURE_COOKIE
        } else {
            PLAIN_COOKIE
        }
    }

    /// The session token the request's `Cookie` headers carry, if any.
    pub fn read<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == self.name())
            .and_then(|c| c.value_raw())
    }

    /// `Set-Cookie` for a session token (`None`: remove the cookie).
    pub fn set(&self, token: Option<&str>) -> HeaderValue {
        let (value, max_age) = match token {
            Some(t) => (t.to_string(), self.max_age.as_secs()),
            None => (String::new(), 0),
        };
        let cookie = Cookie::build((self.name(), value))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .secure(self.secure)
            .max_age(cookie::time::Duration::seconds(
                max_age.try_into().unwrap_or(i64::MAX),
            ))
            .build();
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_its_own_cookie() {
        let c = SessionCookie::new(false, Duration::from_secs(60));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            "a=1; podero_session=tok%2Fen".parse().unwrap(),
        );
        assert_eq!(c.read(&h), Some("tok%2Fen"));
        let secure = SessionCookie::new(true, Duration::from_secs(60));
        assert_eq!(secure.read(&h), None);
        assert_eq!(c.read(&HeaderMap::new()), None);
    }

    #[test]
    fn attributes() {
        let set = SessionCookie::new(true, Duration::from_secs(60)).set(Some("t"));
        let set = set.to_str().unwrap();
        for part in [
            "__Host-podero_session=t",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Secure",
            "Max-Age=60",
        ] {
            assert!(set.contains(part), "{set}");
        }
        let gone = SessionCookie::new(false, Duration::from_secs(60)).set(None);
        let gone = gone.to_str().unwrap();
        assert!(
            gone.contains("Max-Age=0") && !gone.contains("Secure"),
            "{gone}"
        );
    }
}
