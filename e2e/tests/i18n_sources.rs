//! Every text of the browser app comes from its translation files
//! (`frontend/locales/en.yml` and `de.yml`, which a translator edits), read
//! from the sources without a browser:
//!
//! 1. both files have the same keys, and each text the same `%{name}`
//!    placeholders;
//! 2. no page or component shows a string written into the Rust code: the
//!    test reads every `frontend/src/**/*.rs`, finds each `view!` and
//!    lists (file:line) the string literals a person would see there —
//!    text children (`<p>"Save"</p>`), the values of the attributes and
//!    properties that are shown or read out (`aria-label`, `title`,
//!    `placeholder`, `alt`, and the components' `label`, `message`,
//!    `note`, `text`, `hint`, `confirm_label`), and words inside the Rust
//!    expressions placed as children or as such values (`{if busy { "Saving…" }
//!    else { "Save" }}`); and, outside `view!`, words handed straight to a
//!    toast, an error or a shown message (`toasts.success("…")`,
//!    `ApiError::message("…")`, `Text::Plain("…")`, `FieldError::new(_, "…")`);
//! 3. every key the code names (`t("…")`, `t_with("…", …)`, `tx!("…")`,
//!    `Text::Key("…")`, `field_error(_, "…")`, and any literal that looks
//!    like a key of the catalog's groups) is in `en.yml`, and every key of
//!    `en.yml` is named somewhere in the code.
//!
//! Strings without a letter ("·", "—", "×", "✓", "← {name}") are not
//! words and pass; so do the values of attributes nobody reads (`class`,
//! `href`, `data-testid`, `id`, `type`, ...). Inside Rust expressions only
//! text that looks like prose counts (a space, a capital or a non-ASCII
//! letter, or closing punctuation), so CSS classes, routes, field names
//! and keys are not reported. [`ALLOWED`] names the few strings that may
//! stay as written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use shared::i18n::{flat_entries, flat_keys};

/// Strings that may be written into the code although they contain a
/// letter: none today. (Symbols such as "·", "—", "×", "✓" need no entry:
/// without a letter they are not words.)
const ALLOWED: &[&str] = &[];

/// Attributes and component properties whose value a person sees or a
/// screen reader reads out.
const SHOWN_ATTRIBUTES: &[&str] = &[
    "aria-label",
    "aria-description",
    "aria-placeholder",
    "aria-roledescription",
    "aria-valuetext",
    "title",
    "placeholder",
    "alt",
    "label",
    "message",
    "note",
    "text",
    "hint",
    "confirm_label",
];

/// Calls outside `view!` whose arguments end up on screen.
const SHOWN_CALLS: &[&str] = &[
    ".success(",
    ".error(",
    "ApiError::message(",
    "Text::Plain(",
    "FieldError::new(",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn catalog(file: &str) -> String {
    read(&root().join("frontend/locales").join(file))
}

/// Every `.rs` file under `frontend/src`, with its path from the workspace.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root().join("frontend/src"), &mut paths);
    paths.sort();
    assert!(!paths.is_empty(), "no sources under frontend/src");
    let root = root();
    paths
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            (name, read(&p))
        })
        .collect()
}

// ---------------------------------------------------------------------
// A small Rust lexer: enough to tell strings, comments and brackets apart.
// ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A string literal's value (escapes left as written).
    Str(String),
    Ident(String),
    Punct(char),
    /// Whitespace or a comment.
    Space,
    /// A character literal or a lifetime.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    line: usize,
}

fn lex(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let count_lines = |from: usize, to: usize, chars: &[char]| {
        chars[from..to].iter().filter(|c| **c == '\n').count()
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let start_line = line;
        let kind = if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            Kind::Space
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            Kind::Space
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            Kind::Space
        } else if c == 'r' && matches!(chars.get(i + 1), Some('"') | Some('#')) && {
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            chars.get(j) == Some(&'"')
        } {
            // Raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            let body_start = j;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    break;
                }
                j += 1;
            }
            let value: String = chars[body_start..j.min(chars.len())].iter().collect();
            i = (j + 1 + hashes).min(chars.len());
            Kind::Str(value)
        } else if c == '"' || (c == 'b' && chars.get(i + 1) == Some(&'"')) {
            let mut j = if c == 'b' { i + 2 } else { i + 1 };
            let body_start = j;
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            let value: String = chars[body_start..j.min(chars.len())].iter().collect();
            i = (j + 1).min(chars.len());
            Kind::Str(value)
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{..}') or a lifetime ('a).
            if chars.get(i + 1) == Some(&'\\') {
                // Past the backslash and the escaped character.
                let mut j = i + 3;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            Kind::Other
        } else if c.is_alphanumeric() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            Kind::Ident(chars[start..i].iter().collect())
        } else {
            i += 1;
            Kind::Punct(c)
        };
        line += count_lines(start, i.min(chars.len()), &chars);
        out.push(Token {
            kind,
            line: start_line,
        });
    }
    out
}

fn is_open(k: &Kind) -> bool {
    matches!(k, Kind::Punct('(' | '[' | '{'))
}

fn is_close(k: &Kind) -> bool {
    matches!(k, Kind::Punct(')' | ']' | '}'))
}

/// The index of the bracket closing the one at `open`.
fn matching(toks: &[Token], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if is_open(&t.kind) {
            depth += 1;
        } else if is_close(&t.kind) {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    toks.len()
}

/// The next token that is not space, from `i`.
fn next_solid(toks: &[Token], mut i: usize, end: usize) -> usize {
    while i < end && toks[i].kind == Kind::Space {
        i += 1;
    }
    i
}

/// `view!{ … }` starting at `i`: the range of its body.
fn view_at(toks: &[Token], i: usize) -> Option<(usize, usize)> {
    if toks[i].kind != Kind::Ident("view".into()) || toks.get(i + 1)?.kind != Kind::Punct('!') {
        return None;
    }
    let open = next_solid(toks, i + 2, toks.len());
    if !is_open(&toks.get(open)?.kind) {
        return None;
    }
    Some((open + 1, matching(toks, open)))
}

/// Text without `{…}` format placeholders and `%{…}` catalog placeholders.
fn without_placeholders(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Contains a letter: a word, not a symbol.
fn has_word(s: &str) -> bool {
    without_placeholders(s).chars().any(char::is_alphabetic)
}

/// Looks like a catalog key: `users.title`, `user_form.field.email`.
fn looks_like_key(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// The class names the app's stylesheets (`frontend/**/*.css`) define.
fn css_classes() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if !path.ends_with("src") {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "css") {
                let css = read(&path);
                for piece in css.split('.').skip(1) {
                    let name: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect();
                    if name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                        out.insert(name);
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&root().join("frontend"), &mut out);
    out
}

/// Looks like words for a person (inside Rust code, where CSS classes,
/// routes and field names are also written): a letter and a space, a
/// capital, a non-ASCII letter or closing punctuation; and not only
/// class names of the stylesheets (`"toast good"`).
fn looks_like_prose(s: &str, css: &BTreeSet<String>) -> bool {
    let text = without_placeholders(s);
    let text = text.trim();
    has_word(text)
        && !looks_like_key(text)
        && !text.split_whitespace().all(|w| css.contains(w))
        && (text.contains(' ')
            || text
                .chars()
                .any(|c| c.is_uppercase() || (c.is_alphabetic() && !c.is_ascii()))
            || text.ends_with(['.', ':', '!', '?', '…']))
}

/// One string a person would see, written into the code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    file: String,
    line: usize,
    text: String,
    what: &'static str,
}

struct Scan<'a> {
    file: &'a str,
    toks: &'a [Token],
    css: &'a BTreeSet<String>,
    out: &'a mut BTreeSet<Finding>,
}

impl Scan<'_> {
    fn report(&mut self, i: usize, text: &str, what: &'static str) {
        if ALLOWED.contains(&text) {
            return;
        }
        self.out.insert(Finding {
            file: self.file.to_string(),
            line: self.toks[i].line,
            text: text.to_string(),
            what,
        });
    }

    /// The body of a `view!`: tags, text children, child expressions.
    fn view(&mut self, start: usize, end: usize) {
        let mut i = start;
        while i < end {
            match &self.toks[i].kind {
                Kind::Punct('<') => i = self.tag(i, end),
                Kind::Str(s) => {
                    if has_word(s) {
                        let s = s.clone();
                        self.report(i, &s, "text child");
                    }
                    i += 1;
                }
                Kind::Punct('{') => {
                    let close = matching(self.toks, i);
                    self.expr(i + 1, close.min(end), "child expression");
                    i = close + 1;
                }
                _ => i += 1,
            }
        }
    }

    /// One tag from its `<`; returns the index after its `>`.
    fn tag(&mut self, lt: usize, end: usize) -> usize {
        let mut i = next_solid(self.toks, lt + 1, end);
        if matches!(
            self.toks.get(i).map(|t| &t.kind),
            Some(Kind::Punct('/' | '>'))
        ) {
            // A closing tag or a fragment.
            while i < end && self.toks[i].kind != Kind::Punct('>') {
                i += 1;
            }
            return i + 1;
        }
        // The element's or component's name.
        while i < end
            && matches!(
                self.toks[i].kind,
                Kind::Ident(_) | Kind::Punct(':' | '-' | '_')
            )
        {
            i += 1;
        }
        loop {
            i = next_solid(self.toks, i, end);
            if i >= end {
                return end;
            }
            match &self.toks[i].kind {
                Kind::Punct('>') => return i + 1,
                Kind::Punct('/') => i += 1,
                Kind::Punct('{') => i = matching(self.toks, i) + 1,
                Kind::Ident(_) => {
                    let (name, after) = self.attribute_name(i, end);
                    i = next_solid(self.toks, after, end);
                    let is_value = self.toks.get(i).map(|t| &t.kind) == Some(&Kind::Punct('='));
                    if is_value {
                        let from = next_solid(self.toks, i + 1, end);
                        let to = self.value_end(from, end);
                        if SHOWN_ATTRIBUTES.contains(&name.as_str()) {
                            self.shown_value(from, to);
                        }
                        i = to;
                    } else {
                        i = after.max(i);
                    }
                }
                _ => i += 1,
            }
        }
    }

    /// `aria-label`, `on:click`, `prop:value`: adjacent name tokens.
    fn attribute_name(&self, mut i: usize, end: usize) -> (String, usize) {
        let mut name = String::new();
        while i < end {
            match &self.toks[i].kind {
                Kind::Ident(s) => name.push_str(s),
                Kind::Punct(c @ (':' | '-')) => name.push(*c),
                _ => break,
            }
            i += 1;
        }
        (name, i)
    }

    /// Where an attribute's value that starts at `from` ends: after a
    /// literal or a bracketed group; an expression runs until the tag
    /// ends or the next attribute (`name=`) starts.
    fn value_end(&self, from: usize, end: usize) -> usize {
        let toks = self.toks;
        if from >= end {
            return end;
        }
        match &toks[from].kind {
            Kind::Str(_) => return from + 1,
            k if is_open(k) && {
                // A group followed by the next attribute or the tag's end.
                let after = next_solid(toks, matching(toks, from) + 1, end);
                after >= end
                    || matches!(toks[after].kind, Kind::Punct('>' | '/'))
                    || self.attribute_follows(after, end)
            } =>
            {
                return matching(toks, from) + 1
            }
            _ => {}
        }
        let mut i = from;
        while i < end {
            let k = &toks[i].kind;
            if is_open(k) {
                i = matching(toks, i) + 1;
                continue;
            }
            match k {
                Kind::Punct('>') => {
                    let arrow = i > 0 && matches!(toks[i - 1].kind, Kind::Punct('-' | '='));
                    if !arrow {
                        return i;
                    }
                }
                Kind::Punct('/') if toks.get(i + 1).map(|t| &t.kind) == Some(&Kind::Punct('>')) => {
                    return i;
                }
                Kind::Space if self.attribute_follows(i + 1, end) => return i + 1,
                _ => {}
            }
            i += 1;
        }
        end
    }

    /// `name=` (not `==`) starts at `i`.
    fn attribute_follows(&self, i: usize, end: usize) -> bool {
        if !matches!(self.toks.get(i).map(|t| &t.kind), Some(Kind::Ident(_))) {
            return false;
        }
        let (_, after) = self.attribute_name(i, end);
        self.toks.get(after).map(|t| &t.kind) == Some(&Kind::Punct('='))
            && self.toks.get(after + 1).map(|t| &t.kind) != Some(&Kind::Punct('='))
    }

    /// The value of an attribute that is shown.
    fn shown_value(&mut self, from: usize, to: usize) {
        if to == from + 1 {
            if let Kind::Str(s) = &self.toks[from].kind {
                if has_word(s) {
                    let s = s.clone();
                    self.report(from, &s, "shown attribute");
                }
                return;
            }
        }
        self.expr(from, to, "shown attribute");
    }

    /// Rust code placed in a view: words in it (not in a nested `view!`,
    /// which is read on its own).
    fn expr(&mut self, from: usize, to: usize, what: &'static str) {
        let mut i = from;
        while i < to {
            if let Some((_, close)) = view_at(self.toks, i) {
                i = close + 1;
                continue;
            }
            if let Kind::Str(s) = &self.toks[i].kind {
                if looks_like_prose(s, self.css) {
                    let s = s.clone();
                    self.report(i, &s, what);
                }
            }
            i += 1;
        }
    }

    /// Words handed to a toast, an error or a shown message outside
    /// `view!`.
    fn shown_calls(&mut self) {
        let toks = self.toks;
        // The calls' names are matched on the tokens: `.success(`,
        // `ApiError::message(`, ...
        let names: Vec<Vec<Kind>> = SHOWN_CALLS.iter().map(|c| lex_names(c)).collect();
        for i in 0..toks.len() {
            for name in &names {
                let fits = name
                    .iter()
                    .enumerate()
                    .all(|(k, kind)| toks.get(i + k).map(|t| &t.kind) == Some(kind));
                if !fits {
                    continue;
                }
                let open = i + name.len() - 1;
                let close = matching(toks, open);
                let mut k = open + 1;
                while k < close {
                    if let Some((_, c)) = view_at(toks, k) {
                        k = c + 1;
                        continue;
                    }
                    if let Kind::Str(s) = &toks[k].kind {
                        if looks_like_prose(s, self.css) {
                            let s = s.clone();
                            self.report(k, &s, "shown message");
                        }
                    }
                    k += 1;
                }
            }
        }
    }
}

/// The tokens of a call's name, without spaces.
fn lex_names(call: &str) -> Vec<Kind> {
    lex(call)
        .into_iter()
        .map(|t| t.kind)
        .filter(|k| *k != Kind::Space)
        .collect()
}

/// Every string a person would see that is written into the code.
fn hard_coded_texts() -> BTreeSet<Finding> {
    let mut out = BTreeSet::new();
    let css = css_classes();
    assert!(css.contains("badge"), "the stylesheets were not read");
    for (file, src) in sources() {
        let toks = lex(&src);
        let mut scan = Scan {
            file: &file,
            toks: &toks,
            css: &css,
            out: &mut out,
        };
        for i in 0..toks.len() {
            if let Some((start, end)) = view_at(&toks, i) {
                scan.view(start, end);
            }
        }
        scan.shown_calls();
    }
    out
}

/// The keys the code names, with where (file:line).
fn keys_in_code(groups: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    for (file, src) in sources() {
        let toks = lex(&src);
        let solid: Vec<&Token> = toks.iter().filter(|t| t.kind != Kind::Space).collect();
        for (i, tok) in solid.iter().enumerate() {
            let Kind::Str(s) = &tok.kind else { continue };
            let before = |n: usize| i.checked_sub(n).map(|k| &solid[k].kind);
            let called = |name: &str| {
                before(1) == Some(&Kind::Punct('('))
                    && before(2) == Some(&Kind::Ident(name.to_string()))
            };
            let macro_called = |name: &str| {
                before(1) == Some(&Kind::Punct('('))
                    && before(2) == Some(&Kind::Punct('!'))
                    && before(3) == Some(&Kind::Ident(name.to_string()))
            };
            let named = called("t")
                || called("t_with")
                || macro_called("tx")
                || called("Key")
                || (before(1) == Some(&Kind::Punct(','))
                    && before(3) == Some(&Kind::Punct('('))
                    && before(4) == Some(&Kind::Ident("field_error".to_string())));
            let grouped =
                looks_like_key(s) && groups.contains(s.split('.').next().unwrap_or_default());
            if named || grouped {
                keys.entry(s.clone())
                    .or_insert_with(|| format!("{file}:{}", tok.line));
            }
        }
    }
    keys
}

/// `%{name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    text.split("%{")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

#[test]
fn both_languages_have_the_same_keys_and_placeholders() {
    let en = flat_entries(&catalog("en.yml"));
    let de = flat_entries(&catalog("de.yml"));
    let en_keys = flat_keys(&catalog("en.yml"));
    let de_keys = flat_keys(&catalog("de.yml"));
    assert!(!en_keys.is_empty(), "frontend/locales/en.yml has no keys");
    let only_en: Vec<_> = en_keys.difference(&de_keys).collect();
    let only_de: Vec<_> = de_keys.difference(&en_keys).collect();
    assert!(
        only_en.is_empty() && only_de.is_empty(),
        "frontend/locales: only in en.yml: {only_en:?}; only in de.yml: {only_de:?}"
    );
    let differing: Vec<String> = en
        .iter()
        .filter_map(|(key, text)| {
            let (mine, theirs) = (placeholders(text), placeholders(&de[key]));
            (mine != theirs).then(|| format!("{key}: en {mine:?}, de {theirs:?}"))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "placeholders differ between en.yml and de.yml:\n{}",
        differing.join("\n")
    );
    let empty: Vec<&String> = en
        .iter()
        .chain(de.iter())
        .filter(|(_, text)| text.trim().is_empty())
        .map(|(key, _)| key)
        .collect();
    assert!(empty.is_empty(), "empty texts: {empty:?}");
}

#[test]
fn pages_show_no_text_written_into_the_code() {
    let found = hard_coded_texts();
    let list: Vec<String> = found
        .iter()
        .map(|f| format!("  {}:{}: {:?} ({})", f.file, f.line, f.text, f.what))
        .collect();
    assert!(
        list.is_empty(),
        "{} strings a person would see are written into the code instead of \
         coming from frontend/locales/*.yml (use t(\"key\") / t_with(\"key\", …)):\n{}",
        list.len(),
        list.join("\n")
    );
}

#[test]
fn every_key_the_code_uses_is_in_the_catalog_and_back() {
    let en = flat_keys(&catalog("en.yml"));
    let groups: BTreeSet<String> = en
        .iter()
        .filter_map(|k| k.split('.').next().map(str::to_string))
        .collect();
    let used = keys_in_code(&groups);
    assert!(!used.is_empty(), "no t(\"…\") found in frontend/src");
    let missing: Vec<String> = used
        .iter()
        .filter(|(key, _)| !en.contains(*key))
        .map(|(key, at)| format!("  {at}: {key}"))
        .collect();
    assert!(
        missing.is_empty(),
        "keys used in frontend/src but missing in frontend/locales/en.yml:\n{}",
        missing.join("\n")
    );
    let unused: Vec<&String> = en.iter().filter(|k| !used.contains_key(*k)).collect();
    assert!(
        unused.is_empty(),
        "keys in frontend/locales/en.yml that no code names (remove them, or \
         name them as a literal): {unused:?}"
    );
}

/// The scanner itself: what it reports and what it lets pass.
#[test]
fn the_scanner_finds_written_texts() {
    let src = r##"
        fn page() -> impl IntoView {
            toasts.success("Saved it.");
            let ok = t("users.title");
            view! {
                <section class="auth big" data-testid="x-y" aria-labelledby="h">
                    // A comment with "quotes" and an apostrophe's.
                    <h1 id="h">"Sign in"</h1>
                    <p>{move || t("sign_in.intro")}" · "</p>
                    <button aria-label="Close" title=move || t("common.dismiss")>"×"</button>
                    <input placeholder=format!("Search {}", n) on:input=move |_| go("x")/>
                    <Panel message="Nothing here" note=move || t("a.b") class="c d"/>
                    {move || if busy.get() { "Saving…" } else { "saved" }}
                    {move || if busy.get() { "toast good" } else { "Just now" }}
                    {move || view! { <span>"Nested"</span> }}
                </section>
            }
        }
    "##;
    let toks = lex(src);
    let mut out = BTreeSet::new();
    let css = ["toast", "good"].map(String::from).into_iter().collect();
    let mut scan = Scan {
        file: "x.rs",
        toks: &toks,
        css: &css,
        out: &mut out,
    };
    for i in 0..toks.len() {
        if let Some((start, end)) = view_at(&toks, i) {
            scan.view(start, end);
        }
    }
    scan.shown_calls();
    let texts: Vec<&str> = out.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(
        texts.iter().copied().collect::<BTreeSet<_>>(),
        [
            "Saved it.",
            "Sign in",
            "Close",
            "Search {}",
            "Nothing here",
            "Saving…",
            "Just now",
            "Nested"
        ]
        .into_iter()
        .collect::<BTreeSet<_>>(),
        "{out:#?}"
    );
    assert!(out.iter().any(|f| f.text == "Sign in" && f.line == 8));
}
