//! Rebuild when a migration is added or changed (sqlx embeds them).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
