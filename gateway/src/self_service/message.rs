//! The e-mail that carries a self-service link: subject, greeting, the
//! devices that need reconnecting, the link and its expiry, in German or
//! English (the texts are the shared catalog's `self_service_mail.*`).
//! Plain text: it reads the same in every mail program and cannot carry
//! markup from a customer's name.

use chrono::{DateTime, Utc};
use shared::{tr, Lang};

use super::{day, LostDevice};

/// A rendered message.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// The message to `first_name` about `devices`, with `url` until `expires`.
pub fn render(
    lang: Lang,
    first_name: Option<&str>,
    devices: &[LostDevice],
    url: &str,
    expires: DateTime<Utc>,
) -> Rendered {
    let t = |key: &str, args: &[(&str, &str)]| tr(lang, key, args);
    let mut body = String::new();
    let name = first_name.map(str::trim).filter(|n| !n.is_empty());
    body.push_str(&match name {
        Some(n) => t("self_service_mail.greeting", &[("name", n)]),
        None => t("self_service_mail.greeting_anonymous", &[]),
    });
    body.push_str("\n\n");
    if devices.is_empty() {
        body.push_str(&t("self_service_mail.intro_none", &[]));
        body.push('\n');
    } else {
        body.push_str(&t("self_service_mail.intro", &[]));
        body.push('\n');
        for d in devices {
            let name = d.name(lang);
            let line = match d.since {
                Some(since) => t(
                    "self_service_mail.device_line",
                    &[("device", &name), ("since", &day(lang, since))],
                ),
                None => t(
                    "self_service_mail.device_line_unknown",
                    &[("device", &name)],
                ),
            };
            body.push_str(&line);
            body.push('\n');
        }
    }
    body.push('\n');
    body.push_str(&t("self_service_mail.action", &[]));
    body.push_str("\n\n");
    body.push_str(url);
    body.push_str("\n\n");
    body.push_str(&t(
        "self_service_mail.expires",
        &[("date", &day(lang, expires))],
    ));
    body.push_str("\n\n");
    body.push_str(&t("self_service_mail.closing", &[]).replace("\\n", "\n"));
    body.push('\n');
    Rendered {
        subject: t("self_service_mail.subject", &[]),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::DeviceKind;
    use uuid::Uuid;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn german_and_english_name_the_devices_the_link_and_the_expiry() {
        let devices = [LostDevice {
            kind: DeviceKind::HeatPump,
            id: Uuid::nil(),
            model: Some("Vaillant aroTHERM".into()),
            since: Some(at("2026-11-26T10:00:00Z")),
        }];
        let url = "https://backoffice.example/self-service/abc";
        let de = render(
            Lang::De,
            Some("Anna"),
            &devices,
            url,
            at("2026-12-05T08:00:00Z"),
        );
        assert_eq!(de.subject, "Bitte verbinden Sie Ihre Geräte erneut");
        assert!(de.body.starts_with("Hallo Anna,"), "{}", de.body);
        assert!(
            de.body
                .contains("- Vaillant aroTHERM (nicht verbunden seit 26.11.2026)"),
            "{}",
            de.body
        );
        assert!(de.body.contains(url) && de.body.contains("gilt bis 5.12.2026"));
        assert!(de.body.contains("Freundliche Grüße\nIhr Kundenservice"));
        let en = render(Lang::En, None, &[], url, at("2026-12-05T08:00:00Z"));
        assert_eq!(en.subject, "Please reconnect your devices");
        assert!(en.body.starts_with("Hello,"));
        assert!(en.body.contains("works until 5 Dec 2026"), "{}", en.body);
    }
}
