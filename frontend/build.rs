//! Compiles the app's texts, `locales/en.yml` and `de.yml`, into
//! `$OUT_DIR/catalog.rs` (`static CATALOG: shared::i18n::Catalog`,
//! included by `src/i18n.rs`) with `shared`'s generator, and rebuilds when
//! a translation file changes.

#[path = "../shared/src/i18n/source.rs"]
mod source;

fn main() {
    println!("cargo:rerun-if-changed=../shared/src/i18n/source.rs");
    source::write_catalog("shared::i18n::Catalog");
}
