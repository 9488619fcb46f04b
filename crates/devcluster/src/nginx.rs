//! nginx as a round-robin load balancer in front of gateway replicas, and
//! as a token-injecting reverse proxy (the forwarding benchmark's yardstick).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, wait_until, Proc, TempDir};

/// A running nginx in the foreground (`daemon off`, one process:
/// `master_process off`, so [`Proc::kill`] stops all of it), listening on
/// 127.0.0.1 and a free port, balancing round-robin over the upstreams
/// with no session affinity. Its configuration, logs and temporary files
/// live in [`Nginx::dir`], removed when dropped.
pub struct Nginx {
    proc: Proc,
    addr: SocketAddr,
    dir: TempDir,
}

impl Nginx {
    /// Start in front of `upstreams` (in the system's temporary directory).
    pub fn start(upstreams: &[SocketAddr]) -> io::Result<Nginx> {
        Self::start_in(&std::env::temp_dir(), upstreams)
    }

    /// Start in front of `upstreams`, with its files in a new directory
    /// below `parent`.
    pub fn start_in(parent: &Path, upstreams: &[SocketAddr]) -> io::Result<Nginx> {
        if upstreams.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no upstreams"));
        }
        Self::start_with(parent, |dir, listen| config(dir, listen, upstreams))
    }

    /// A reverse proxy to `upstream` that sends every request on with
    /// `Authorization: Bearer <token>` (whatever the client sent), over
    /// kept-alive upstream connections, without an access log: what a
    /// plain proxy holding a token does, for the forwarding benchmark.
    pub fn start_token_proxy(
        parent: &Path,
        upstream: SocketAddr,
        token: &str,
    ) -> io::Result<Nginx> {
        if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic() && c != '"') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the token must be printable ASCII without quotes",
            ));
        }
        Self::start_with(parent, |dir, listen| {
            token_proxy_config(dir, listen, upstream, token)
        })
    }

    /// Start with the configuration `make(dir, listen)`.
    fn start_with(parent: &Path, make: impl Fn(&Path, SocketAddr) -> String) -> io::Result<Nginx> {
        let bin = Self::binary()?;
        let dir = TempDir::new_in(parent, "nginx")?;
        let mut last_error = None;
        // A port free a moment ago may be taken by the time nginx binds.
        for _ in 0..3 {
            let port = free_port()?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, make(dir.path(), addr))?;
            let mut proc = Proc::spawn(
                "nginx",
                Command::new(&bin)
                    .arg("-p")
                    .arg(dir.path())
                    .arg("-c")
                    .arg(&conf)
                    // Before reading the configuration nginx would open
                    // its compiled-in error log; point it here too.
                    .arg("-e")
                    .arg(dir.path().join("error.log")),
                &dir.path().join("nginx.out"),
            )?;
            let result = wait_until("nginx to listen", Duration::from_secs(20), || {
                if let Some(status) = proc.try_wait().map_err(|e| e.to_string())? {
                    return Err(format!(
                        "nginx ended ({status}):\n{}\n{}",
                        proc.log_tail(20),
                        crate::process::log_tail(&dir.path().join("error.log"), 20)
                    ));
                }
                Ok(TcpStream::connect_timeout(&addr, Duration::from_secs(1))
                    .is_ok()
                    .then_some(()))
            });
            match result {
                Ok(()) => return Ok(Nginx { proc, addr, dir }),
                Err(e) => {
                    let busy = e.to_string().contains("Address already in use");
                    last_error = Some(e);
                    if !busy {
                        break;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("nginx did not start")))
    }

    /// Debian's nginx (`/usr/sbin/nginx`, or `$NGINX_BIN`).
    pub fn binary() -> io::Result<PathBuf> {
        if let Some(bin) = std::env::var_os("NGINX_BIN") {
            return Ok(PathBuf::from(bin));
        }
        let bin = PathBuf::from("/usr/sbin/nginx");
        if bin.exists() {
            Ok(bin)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "nginx is not installed (no /usr/sbin/nginx): run `cargo xtask install`, \
                 or `apt-get install nginx-light`",
            ))
        }
    }

    /// Whether nginx is installed.
    pub fn available() -> bool {
        Self::binary().is_ok()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its directory: `nginx.conf`, `error.log`, `access.log` (one line
    /// per request, ending `upstream=<replica address>`; more than one,
    /// comma-separated, when it tried another replica).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its process id (one process: `master_process off`).
    pub fn pid(&self) -> u32 {
        self.proc.id()
    }

    /// The process (to check it still runs, or stop it early).
    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }

    /// The access log's text so far.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir().join("access.log")).unwrap_or_default()
    }

    /// Keep its directory (configuration and logs) after it stops.
    pub fn keep_files(&mut self) {
        self.dir.keep();
    }
}

/// The configuration: one server on `listen`, round-robin over
/// `upstreams`, no affinity.
fn config(dir: &Path, listen: SocketAddr, upstreams: &[SocketAddr]) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|u| format!("        server {u} max_fails=1 fail_timeout=5s;\n"))
        .collect();
    format!(
        r#"# Written by devcluster: a local load balancer for gateway replicas.
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    # Which replica answered each request: the last field.
    log_format balanced '$remote_addr "$request" $status $request_time upstream=$upstream_addr';
    access_log {d}/access.log balanced;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;

    # Larger than the gateway's own body limit, so the gateway decides.
    client_max_body_size 16m;

    # Round-robin (nginx's default), no sticky sessions: any replica
    # answers any request. A replica that refuses connections is left
    # out for fail_timeout.
    upstream gateways {{
{servers}        keepalive 16;
    }}

    server {{
        listen {listen};

        location / {{
            proxy_pass http://gateways;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            # The gateway believes this from GATEWAY_TRUSTED_PROXIES only.
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # Another replica when one cannot be reached; nginx repeats a
            # POST, PATCH or LOCK only if it was not sent yet.
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
            # Stream answers (the audit CSV) as they come.
            proxy_buffering off;
        }}
    }}
}}
"#
    )
}

/// The token-injecting proxy: one server on `listen`, everything to
/// `upstream` with the bearer token set, no access log.
fn token_proxy_config(dir: &Path, listen: SocketAddr, upstream: SocketAddr, token: &str) -> String {
    let d = dir.display();
    format!(
        r#"# Written by devcluster: a reverse proxy that injects a bearer token.
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;

    upstream podero {{
        server {upstream};
        keepalive 64;
    }}

    server {{
        listen {listen};

        location / {{
            proxy_pass http://podero;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer {token}";
        }}
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::process::http_get;

    /// A tiny upstream answering every request with its name and the
    /// X-Forwarded-For it saw.
    fn upstream(name: &'static str, requests: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            for _ in 0..requests {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).to_lowercase();
                let xff = req
                    .lines()
                    .find_map(|l| l.strip_prefix("x-forwarded-for: "))
                    .unwrap_or("-")
                    .trim()
                    .to_string();
                let body = format!("{name} {xff}");
                write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
        });
        (addr, handle)
    }

    #[test]
    fn balances_round_robin_and_forwards_the_client() {
        if !Nginx::available() {
            assert!(
                std::env::var("CI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CI_REQUIRE_POSTGRES=1 but nginx is not installed"
            );
            eprintln!("skipped: nginx is not installed (cargo xtask install)");
            return;
        }
        let (a, ta) = upstream("a", 2);
        let (b, tb) = upstream("b", 2);
        let nginx = Nginx::start(&[a, b]).unwrap();
        let dir = nginx.dir().to_path_buf();
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (status, body) = http_get(nginx.addr(), "/", Duration::from_secs(5)).unwrap();
            assert_eq!(status, 200);
            seen.push(body);
        }
        ta.join().unwrap();
        tb.join().unwrap();
        seen.sort();
        assert_eq!(
            seen,
            ["a 127.0.0.1", "a 127.0.0.1", "b 127.0.0.1", "b 127.0.0.1"]
        );
        drop(nginx);
        assert!(!dir.exists());
    }
}
