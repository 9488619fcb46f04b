//! The language of a request's answers: German or English.
//!
//! The signed-in account's own choice (`PUT /api/session/language`, kept
//! in `accounts.language`) if it made one, else the browser's
//! `Accept-Language` (German for `de` and `de-*`), else English. The guard
//! decides it once ([`for_request`]) and runs the rest of the request in
//! [`scope`], so an error answer ([`crate::error::GatewayError`]), a field
//! message and a CSV header built anywhere below read it with [`current`].
//! The texts are the shared catalog's (`shared/locales/`), the same the
//! browser app uses; the log stays English.

use std::future::Future;

use axum::http::{header, HeaderMap};
use shared::Lang;

tokio::task_local! {
    static LANG: Lang;
}

/// The language the browser asks for (`Accept-Language`), English if it
/// names none the back-office has.
pub fn from_headers(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

/// The language of a request: the account's stored choice, else the
/// browser's.
pub fn for_request(account_choice: Option<Lang>, headers: &HeaderMap) -> Lang {
    account_choice.unwrap_or_else(|| from_headers(headers))
}

/// Run `f` answering in `lang`.
pub async fn scope<F: Future>(lang: Lang, f: F) -> F::Output {
    LANG.scope(lang, f).await
}

/// The language of the request being answered (English outside one, e.g.
/// in the log or a background task).
pub fn current() -> Lang {
    LANG.try_with(|l| *l).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_account_wins_over_the_browser() {
        let mut headers = HeaderMap::new();
        assert_eq!(for_request(None, &headers), Lang::En);
        headers.insert(header::ACCEPT_LANGUAGE, "de-AT,de;q=0.9".parse().unwrap());
        assert_eq!(for_request(None, &headers), Lang::De);
        assert_eq!(for_request(Some(Lang::En), &headers), Lang::En);
        assert_eq!(current(), Lang::En);
        assert_eq!(scope(Lang::De, async { current() }).await, Lang::De);
    }
}
