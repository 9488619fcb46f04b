//! The customer's page, rendered by the gateway: plain HTML with one
//! stylesheet and no script, so it loads at once on a phone, needs no
//! WebAssembly and keeps to the gateway's Content-Security-Policy
//! (`style-src 'self'`, `form-action 'self'`; nothing inline). Each
//! "Reconnect" is a form posting to the page's own address; its answer
//! sends the browser on to the manufacturer's sign-in with a meta refresh
//! and a visible link (a redirect of a form post to another site would be
//! blocked by `form-action 'self'`). Every text is escaped; every text is
//! the shared catalog's `self_service.*` in the customer's language.

use chrono::{DateTime, Utc};
use shared::self_service::PAGE_PREFIX;
use shared::{tr, Lang};

use super::{day, LostDevice, Token};

/// Where the page's stylesheet is served (routed in
/// [`crate::routes::customer::routes`]).
pub const STYLESHEET_PATH: &str = "/self-service.css";

/// The stylesheet (small, phone first).
pub const STYLESHEET: &str = include_str!("page.css");

/// `s` safe inside HTML text and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn t(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    escape(&tr(lang, key, args))
}

/// Whom the customer asks: `GATEWAY_SELF_SERVICE_CONTACT` (e.g. "0800 123 456,
/// service@utility.example"), else the customer service in general.
fn contact(lang: Lang, who: Option<&str>) -> String {
    match who.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => t(lang, "self_service.contact_named", &[("contact", w)]),
        None => t(lang, "self_service.contact", &[]),
    }
}

/// A whole page: `head_extra` goes into `<head>` (already safe HTML).
fn document(lang: Lang, who: Option<&str>, title: &str, head_extra: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">{head_extra}\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\"></head>\
         <body><main>{main}<p class=\"contact\">{contact}</p></main></body></html>\n",
        lang = lang.code(),
        contact = contact(lang, who),
    )
}

/// The address the page's forms post to.
pub fn reconnect_action(token: &Token) -> String {
    format!("{PAGE_PREFIX}{}/reconnect", token.expose())
}

/// The page of a valid link: the devices to reconnect, or that all are
/// connected; `notice`: a message above the list (a failed reconnect).
pub fn devices(
    lang: Lang,
    who: Option<&str>,
    first_name: Option<&str>,
    lost: &[LostDevice],
    expires: DateTime<Utc>,
    token: &Token,
    notice: Option<&str>,
) -> String {
    let title = t(lang, "self_service.title", &[]);
    let mut main = format!("<h1>{title}</h1>");
    let greeting = match first_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => t(lang, "self_service.greeting", &[("name", n)]),
        None => t(lang, "self_service.greeting_anonymous", &[]),
    };
    main.push_str(&format!("<p>{greeting}</p>"));
    if let Some(n) = notice {
        main.push_str(&format!(
            "<p class=\"notice\" role=\"alert\">{}</p>",
            escape(n)
        ));
    }
    if lost.is_empty() {
        main.push_str(&format!(
            "<p class=\"done\" role=\"status\">{}</p>",
            t(lang, "self_service.all_connected", &[])
        ));
    } else {
        main.push_str(&format!(
            "<p>{}</p><ul class=\"devices\">",
            t(lang, "self_service.intro", &[])
        ));
        let action = escape(&reconnect_action(token));
        for d in lost {
            let name = d.name(lang);
            let since = match d.since {
                Some(s) => t(
                    lang,
                    "self_service.device_since",
                    &[("since", &day(lang, s))],
                ),
                None => t(lang, "self_service.device_since_unknown", &[]),
            };
            main.push_str(&format!(
                "<li><div class=\"device\"><strong>{name}</strong><span>{kind}</span>\
                 <span>{since}</span></div>\
                 <form method=\"post\" action=\"{action}\">\
                 <input type=\"hidden\" name=\"kind\" value=\"{kind_segment}\">\
                 <input type=\"hidden\" name=\"device\" value=\"{id}\">\
                 <button type=\"submit\" aria-label=\"{label}\">{reconnect}</button></form></li>",
                name = escape(&name),
                kind = escape(&d.kind.label_in(lang)),
                kind_segment = d.kind.path_segment(),
                id = d.id,
                label = t(lang, "self_service.reconnect_label", &[("device", &name)]),
                reconnect = t(lang, "self_service.reconnect", &[]),
            ));
        }
        main.push_str("</ul>");
    }
    main.push_str(&format!(
        "<p class=\"expires\">{}</p>",
        t(
            lang,
            "self_service.expires",
            &[("date", &day(lang, expires))]
        )
    ));
    document(lang, who, &title, "", &main)
}

/// The step between "Reconnect" and the manufacturer's sign-in at `url`.
pub fn continue_to(
    lang: Lang,
    who: Option<&str>,
    device: &str,
    url: &str,
    token: &Token,
) -> String {
    let title = t(lang, "self_service.continue_title", &[]);
    let url = escape(url);
    let refresh = format!("<meta http-equiv=\"refresh\" content=\"0; url={url}\">");
    let main = format!(
        "<h1>{title}</h1><p>{text}</p><p><a class=\"button\" href=\"{url}\">{go}</a></p>\
         <p><a href=\"{back}\">{back_text}</a></p>",
        text = t(lang, "self_service.continue_text", &[("device", device)]),
        go = t(lang, "self_service.continue", &[]),
        back = escape(&format!("{PAGE_PREFIX}{}", token.expose())),
        back_text = t(lang, "self_service.back", &[]),
    );
    document(lang, who, &title, &refresh, &main)
}

/// A page that says why there is nothing to show (the `*_title` and
/// `*_text` keys of the catalog), with `args` for the text.
pub fn refusal(
    lang: Lang,
    who: Option<&str>,
    title_key: &str,
    text_key: &str,
    args: &[(&str, &str)],
) -> String {
    let title = t(lang, title_key, &[]);
    let main = format!("<h1>{title}</h1><p>{}</p>", t(lang, text_key, args));
    document(lang, who, &title, "", &main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::DeviceKind;
    use uuid::Uuid;

    #[test]
    fn names_are_escaped_and_nothing_is_inline() {
        let token = Token::parse(&"a".repeat(43)).unwrap();
        let lost = [LostDevice {
            kind: DeviceKind::Wallbox,
            id: Uuid::nil(),
            model: Some("<script>alert(1)</script>".into()),
            since: None,
        }];
        let html = devices(
            Lang::En,
            Some("0800 <123>"),
            Some("\"Anna\" <b>"),
            &lost,
            "2026-12-05T00:00:00Z".parse().unwrap(),
            &token,
            None,
        );
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(html.contains("Hello &quot;Anna&quot; &lt;b&gt;,"));
        assert!(!html.contains("style=") && !html.contains("<style"));
        assert!(html.contains(">Reconnect</button>"));
        assert!(html.contains(&format!(
            "action=\"/self-service/{}/reconnect\"",
            "a".repeat(43)
        )));
        assert!(html.contains("0800 &lt;123&gt;"), "the contact, escaped");
        let none = devices(
            Lang::De,
            None,
            None,
            &[],
            "2026-12-05T00:00:00Z".parse().unwrap(),
            &token,
            None,
        );
        assert!(none.contains("Alle Ihre Geräte sind verbunden"), "{none}");
        assert!(none.contains("lang=\"de\""));
    }
}
