//! A throw-away PostgreSQL cluster: `initdb` in a temporary directory,
//! the server on 127.0.0.1 and a free port, trust authentication, stopped
//! and removed when dropped.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::process::{free_port, is_root, wait_until, Proc, TempDir};

/// The cluster's superuser (trust authentication: no password).
pub const SUPERUSER: &str = "postgres";

/// A running throw-away PostgreSQL server.
///
/// As root, the data directory belongs to the `postgres` system user and
/// the server runs as that user (PostgreSQL refuses to run as root);
/// otherwise it runs as the current user. Its log is `postgres.log` in
/// [`Postgres::dir`].
pub struct Postgres {
    server: Option<Proc>,
    bin: PathBuf,
    port: u16,
    started_in: Duration,
    // Last: removed after the server has stopped.
    dir: TempDir,
}

impl Postgres {
    /// Start a cluster in the system's temporary directory.
    pub fn start() -> io::Result<Postgres> {
        Self::start_in(&std::env::temp_dir())
    }

    /// Start a cluster in a new directory below `parent`. As root, the
    /// `postgres` user must be able to reach `parent`.
    pub fn start_in(parent: &Path) -> io::Result<Postgres> {
        Self::start_with(parent, false)
    }

    /// [`Postgres::start_in`], with the server in a process group of its
    /// own when `own_process_group`: Ctrl-C in the terminal then does not
    /// reach it, so it outlives the processes that use it until the caller
    /// stops it (a caller that itself survives Ctrl-C, or it stays
    /// running). Otherwise Ctrl-C stops it with everything else.
    pub fn start_with(parent: &Path, own_process_group: bool) -> io::Result<Postgres> {
        let started = Instant::now();
        let bin = Self::bin_dir()?;
        let dir = TempDir::new_in(parent, "pg")?;
        let run_as = if is_root() {
            let ids = system_user(SUPERUSER).ok_or_else(|| {
                io::Error::other(
                    "running as root, and there is no `postgres` user to run PostgreSQL as \
                     (install Debian's `postgresql` package: cargo xtask install)",
                )
            })?;
            std::os::unix::fs::chown(dir.path(), Some(ids.0), Some(ids.1))?;
            Some(ids)
        } else {
            None
        };
        let data = dir.path().join("data");
        let init = as_user(Command::new(bin.join("initdb")), run_as, dir.path())
            .arg("--pgdata")
            .arg(&data)
            .args([
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ])
            .output()?;
        check("initdb", &init)?;

        // A port free a moment ago may be taken by the time the server
        // binds: try a few.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            let log = dir.path().join("postgres.log");
            let mut server = Proc::spawn(
                "postgres",
                as_user(server_command(&bin, own_process_group), run_as, dir.path())
                    .arg("-D")
                    .arg(&data)
                    .args(["-p", &port.to_string()])
                    .args(["-c", "listen_addresses=127.0.0.1"])
                    .arg("-c")
                    .arg(format!("unix_socket_directories={}", dir.path().display()))
                    // Throw-away data: durability buys nothing here.
                    .args(["-c", "fsync=off"])
                    .args(["-c", "synchronous_commit=off"])
                    .args(["-c", "full_page_writes=off"])
                    // Tests open many pools at once.
                    .args(["-c", "max_connections=300"]),
                &log,
            )?;
            let ready = bin.join("pg_isready");
            let result = wait_until(
                "PostgreSQL to accept connections",
                Duration::from_secs(60),
                || {
                    if let Some(status) = server.try_wait().map_err(|e| e.to_string())? {
                        return Err(format!(
                            "postgres ended ({status}):\n{}",
                            server.log_tail(20)
                        ));
                    }
                    let ok = Command::new(&ready)
                        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", SUPERUSER])
                        .args(["-d", "postgres", "-t", "2"])
                        .output()
                        .map_err(|e| format!("could not run pg_isready: {e}"))?
                        .status
                        .success();
                    Ok(ok.then_some(()))
                },
            );
            match result {
                Ok(()) => {
                    return Ok(Postgres {
                        server: Some(server),
                        bin,
                        port,
                        started_in: started.elapsed(),
                        dir,
                    })
                }
                Err(e) => {
                    let busy = server.log_tail(20).contains("could not bind");
                    drop(server);
                    last_error = Some(e);
                    if !busy {
                        break;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("PostgreSQL did not start")))
    }

    /// Debian's server binaries: the newest `/usr/lib/postgresql/*/bin`
    /// with `initdb` and `postgres` (or `$PG_BIN_DIR`).
    pub fn bin_dir() -> io::Result<PathBuf> {
        if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
            return Ok(PathBuf::from(dir));
        }
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
                let bin = e.path().join("bin");
                (bin.join("initdb").exists() && bin.join("postgres").exists())
                    .then_some((version, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): \
                 run `cargo xtask install`, or `apt-get install postgresql`",
            )
        })
    }

    /// Whether the server binaries are installed.
    pub fn available() -> bool {
        Self::bin_dir().is_ok()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL of the `postgres` database.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The superuser's URL of database `db`.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    /// The cluster's directory (data in `data/`, the log `postgres.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// How long `initdb` and the start took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Create database `name` (letters, digits and `_`); its URL.
    pub fn create_database(&self, name: &str) -> io::Result<String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("database name {name:?}: use letters, digits and _"),
            ));
        }
        let out = Command::new(self.bin.join("createdb"))
            .args(self.connection_args())
            .arg(name)
            .output()?;
        check("createdb", &out)?;
        Ok(self.url_for(name))
    }

    /// Run `sql` with psql in database `db`; rows as `|`-separated lines.
    pub fn psql(&self, db: &str, sql: &str) -> io::Result<String> {
        let out = Command::new(self.bin.join("psql"))
            .args(self.connection_args())
            .args([
                "-d",
                db,
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()?;
        check("psql", &out)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    fn connection_args(&self) -> Vec<String> {
        vec![
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            SUPERUSER.into(),
        ]
    }

    /// The server's exit status if it has ended, `None` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        match self.server.as_mut() {
            Some(server) => server.try_wait(),
            None => Ok(None),
        }
    }

    /// Immediate shutdown (SIGQUIT: no checkpoint; the data is thrown
    /// away anyway), SIGKILL if it has not ended after 10 s.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.stop("QUIT", Duration::from_secs(10));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `postgres` server command, in a new process group if asked.
fn server_command(bin: &Path, own_process_group: bool) -> Command {
    let mut command = Command::new(bin.join("postgres"));
    if own_process_group {
        command.process_group(0);
    }
    command
}

/// `command` running as `(uid, gid)` (when given) in `dir`.
fn as_user(mut command: Command, run_as: Option<(u32, u32)>, dir: &Path) -> Command {
    if let Some((uid, gid)) = run_as {
        // std drops root's supplementary groups before setuid.
        command.uid(uid).gid(gid);
        command.env("HOME", dir).env("USER", SUPERUSER);
    }
    command.current_dir(dir);
    command
}

fn check(what: &str, out: &Output) -> io::Result<()> {
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// uid and gid of a system user, from `/etc/passwd`.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup() {
        assert_eq!(system_user("root"), Some((0, 0)));
        assert_eq!(system_user("no-such-user-here"), None);
    }

    /// Starts a real server when Debian's PostgreSQL is installed (CI:
    /// `cargo xtask test` installs it and sets CI_REQUIRE_POSTGRES=1).
    #[test]
    fn starts_creates_a_database_and_cleans_up() {
        if !Postgres::available() {
            assert!(
                std::env::var("CI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CI_REQUIRE_POSTGRES=1 but PostgreSQL is not installed"
            );
            eprintln!("skipped: PostgreSQL is not installed (cargo xtask install)");
            return;
        }
        let pg = Postgres::start().unwrap();
        let dir = pg.dir().to_path_buf();
        let url = pg.create_database("unit_test_db").unwrap();
        assert_eq!(
            url,
            format!("postgres://postgres@127.0.0.1:{}/unit_test_db", pg.port())
        );
        assert_eq!(pg.psql("unit_test_db", "SELECT 40 + 2").unwrap(), "42");
        assert!(pg.create_database("bad-name").is_err());
        let port = pg.port();
        drop(pg);
        assert!(!dir.exists());
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
