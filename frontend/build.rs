//! Compiles the app's texts, `locales/en.yml` and `de.yml`, into
//! `$OUT_DIR/catalog.rs` (`static CATALOG: shared::i18n::Catalog`,
//! included by `src/i18n.rs`) with `shared`'s generator, and rebuilds when
//! a translation file changes.

#[path = "../shared/src/i18n/source.rs"]
mod source;

fn main() {
    println!("cargo:rerun-if-changed=locales");
    println!("cargo:rerun-if-changed=../shared/src/i18n/source.rs");
    let read = |file: &str| {
        std::fs::read_to_string(format!("locales/{file}"))
            .unwrap_or_else(|e| panic!("locales/{file}: {e}"))
    };
    let code = source::catalog_source(&read("en.yml"), &read("de.yml"), "shared::i18n::Catalog");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("catalog.rs"), code).expect("write catalog.rs");
}
