//! Throw-away services for a local cluster of gateways: a PostgreSQL
//! cluster ([`Postgres`]), an nginx load balancer ([`Nginx`]), and the
//! small pieces both need: guarded child processes ([`Proc`], killed when
//! dropped), temporary directories ([`TempDir`], removed when dropped),
//! free loopback ports, a minimal HTTP probe and polling with a deadline.
//!
//! Used by `cargo xtask cluster` (PostgreSQL, the Podero emulator, N
//! gateway replicas and nginx in front), by `cargo xtask test` (a
//! PostgreSQL for the storage tests) and by the gateway's cluster test.
//!
//! Only the standard library is used, so `xtask` keeps building in
//! seconds. Everything binds to 127.0.0.1 only. Nothing sleeps to
//! synchronise: every wait polls a condition until a deadline.
//!
//! The binaries come from Debian's packages: `postgresql`
//! (`/usr/lib/postgresql/<version>/bin`) and `nginx-light`
//! (`/usr/sbin/nginx`); `cargo xtask install` installs them.

mod nginx;
mod postgres;
mod process;

pub use nginx::Nginx;
pub use postgres::Postgres;
pub use process::{
    free_port, http_get, is_root, random_hex, wait_for_http, wait_until, Proc, TempDir,
};
