//! Compiles `locales/en.yml` and `de.yml` into `$OUT_DIR/catalog.rs`
//! (`static CATALOG: Catalog`, included by `src/i18n.rs`), and rebuilds
//! when a translation file changes.

#[path = "src/i18n/source.rs"]
mod source;

fn main() {
    println!("cargo:rerun-if-changed=src/i18n/source.rs");
    source::write_catalog("Catalog");
}
