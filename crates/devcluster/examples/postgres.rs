//! A throw-away PostgreSQL until stdin closes or a line is entered:
//!
//! ```sh
//! cargo run -p devcluster --example postgres
//! # TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres
//! ```
//!
//! For running the PostgreSQL tests without `cargo xtask test`: export
//! the printed line in another terminal, then `cargo test -p gateway`.

fn main() {
    let pg = match devcluster::Postgres::start() {
        Ok(pg) => pg,
        Err(e) => {
            eprintln!("could not start PostgreSQL: {e}");
            std::process::exit(1);
        }
    };
    println!("TEST_DATABASE_URL={}", pg.url());
    println!("(data and log in {}; Enter stops it)", pg.dir().display());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(pg);
}
