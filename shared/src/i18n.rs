//! German and English: the language type and the catalog of the texts the
//! browser app and the gateway share (validation messages, roles, device
//! kinds, country names, CSV headers, the emulator's customer page).
//!
//! The translations live in `shared/locales/en.yml` and `de.yml`, files a
//! translator edits; `rust-i18n` compiles them into the binary. German is
//! chosen for `de` and `de-*`, English otherwise. A key missing in one
//! language fails `every_key_in_both_languages`.

use serde::{Deserialize, Serialize};

/// A language of the back-office.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// `en` or `de` (the catalog's locale, the `lang` attribute).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language's own name, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    /// A language tag (`de`, `de-AT`, `en-US`, `EN`): German for `de` and
    /// `de-*`, English for `en` and `en-*`, `None` otherwise.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first of a browser's preferred languages that the back-office
    /// has (an `Accept-Language` header, by its `q` weights, or the
    /// `navigator.languages` list joined with commas); English otherwise.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut tags: Vec<(f32, usize, &str)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && q > 0.0).then_some((q, i, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        tags.iter()
            .find_map(|(_, _, tag)| Lang::parse(tag))
            .unwrap_or_default()
    }
}

/// The text of `key` in `lang`, with `%{name}` placeholders replaced by
/// `args`. A key the catalog lacks comes back as the key itself (and fails
/// the catalog tests).
pub fn tr(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let text: std::borrow::Cow<str> = rust_i18n::t!(key, locale = lang.code());
    if args.is_empty() {
        return text.into_owned();
    }
    // One pass, so a value that itself looks like `%{name}` stays as it is.
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest: &str = &text;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        match args.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The dotted keys and texts of a locale file in the catalog's YAML
/// subset (`key:` lines nested by two spaces, `key: "text"` leaves), for
/// the tests that compare the two languages' files and look up expected
/// texts (here, in the app and in the browser tests).
#[doc(hidden)]
pub fn flat_entries(yaml: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    for line in yaml.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("_version") {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let Some((key, rest)) = trimmed.split_once(':') else {
            continue;
        };
        while path.last().is_some_and(|(i, _)| *i >= indent) {
            path.pop();
        }
        let key = key.trim().trim_matches('"').to_string();
        let rest = rest.trim();
        if rest.is_empty() {
            path.push((indent, key));
        } else {
            let mut full: Vec<&str> = path.iter().map(|(_, k)| k.as_str()).collect();
            full.push(&key);
            let text = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .map(unescape)
                .unwrap_or_else(|| rest.to_string());
            out.insert(full.join("."), text);
        }
    }
    out
}

/// A double-quoted YAML string's text: `\"`, `\\` and `\n` unescaped.
fn unescape(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The dotted keys of a locale file (see [`flat_entries`]).
#[doc(hidden)]
pub fn flat_keys(yaml: &str) -> std::collections::BTreeSet<String> {
    flat_entries(yaml).into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_from_tags_and_headers() {
        assert_eq!(Lang::parse("de-AT"), Some(Lang::De));
        assert_eq!(Lang::parse("EN_us"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(
            Lang::from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Lang::De
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, en;q=0.5, de;q=0.7"),
            Lang::De
        );
        assert_eq!(Lang::from_accept_language("fr, it"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::from_accept_language("en-US,de;q=0.9"), Lang::En);
    }

    /// The catalog files a translator edits: the same keys in both.
    #[test]
    fn every_key_in_both_languages() {
        fn keys(file: &str) -> std::collections::BTreeSet<String> {
            let path = format!("{}/locales/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            crate::i18n::flat_keys(&text)
        }
        let en = keys("en.yml");
        let de = keys("de.yml");
        let only_en: Vec<_> = en.difference(&de).collect();
        let only_de: Vec<_> = de.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_de.is_empty(),
            "only in en.yml: {only_en:?}; only in de.yml: {only_de:?}"
        );
        assert!(!en.is_empty());
    }

    #[test]
    fn placeholders_are_filled() {
        let args = [("max", "100"), ("count", "%{max}")];
        assert_eq!(
            tr(Lang::En, "validation.text.too_long", &args),
            "At most 100 characters are allowed here; this has %{max}. Shorten it."
        );
        assert_eq!(
            tr(Lang::De, "validation.text.too_long", &args),
            "Hier sind höchstens 100 Zeichen erlaubt; dieser Text hat %{max}. Bitte kürzen Sie ihn."
        );
        assert_eq!(tr(Lang::De, "role.user", &[]), "Endkunde");
    }

    /// Every text has its placeholders in both languages (a translator
    /// cannot drop or misspell one), and the German file is not a copy.
    #[test]
    fn placeholders_match_in_both_languages() {
        fn entries(file: &str) -> std::collections::BTreeMap<String, String> {
            let path = format!("{}/locales/{file}", env!("CARGO_MANIFEST_DIR"));
            crate::i18n::flat_entries(&std::fs::read_to_string(&path).unwrap())
        }
        fn names(text: &str) -> std::collections::BTreeSet<&str> {
            text.split("%{")
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n))
                .collect()
        }
        let en = entries("en.yml");
        let de = entries("de.yml");
        for (key, text) in &en {
            assert_eq!(names(text), names(&de[key]), "{key}");
            assert_eq!(
                tr(Lang::En, key, &[]),
                *text,
                "{key}: rust-i18n reads en.yml"
            );
            assert_eq!(
                tr(Lang::De, key, &[]),
                de[key],
                "{key}: rust-i18n reads de.yml"
            );
        }
        let texts: Vec<_> = en
            .iter()
            .filter(|(k, _)| !k.starts_with("country."))
            .collect();
        let same = texts.iter().filter(|(k, t)| de[*k] == **t).count();
        assert!(
            same * 8 < texts.len(),
            "{same} of {} texts untranslated",
            texts.len()
        );
    }
}
