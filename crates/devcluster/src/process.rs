//! Child processes that die with their guard, temporary directories,
//! free ports, an HTTP probe and polling with a deadline.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A child process whose output goes to a log file; killed (SIGKILL) and
/// reaped when dropped, so a failing test or a returning error leaves no
/// process behind.
pub struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Start `command` with stdin closed and stdout and stderr appended to
    /// `log` (created if missing).
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> io::Result<Proc> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("{name}: could not start {:?}: {e}", command.get_program()),
                )
            })?;
        Ok(Proc {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
            status: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id (0 once reaped).
    pub fn id(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of its log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Its exit status if it has ended (reaps it), `None` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            if let Some(child) = self.child.as_mut() {
                self.status = child.try_wait()?;
            }
        }
        Ok(self.status)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// `kill -9`: SIGKILL now, then reap it.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(child) = self.child.as_mut() {
            if self.status.is_none() {
                // Fails only when it has already ended; wait tells.
                let _ = child.kill();
                self.status = Some(child.wait()?);
            }
        }
        Ok(())
    }

    /// Send a signal by name (`TERM`, `INT`, `QUIT`, ...) through the
    /// shell's `kill`: the standard library only sends SIGKILL.
    pub fn signal(&mut self, signal: &str) -> io::Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let status = Command::new("sh")
            .args([
                "-c",
                "kill -s \"$1\" \"$2\"",
                "sh",
                signal,
                &self.id().to_string(),
            ])
            .stderr(Stdio::null())
            .status()?;
        if status.success() || !self.is_running() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{}: kill -s {signal} failed ({status})",
                self.name
            )))
        }
    }

    /// Wait until it ends, at most `timeout`; `None` if it still runs.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Ask it to stop with `signal`, give it `grace`, then SIGKILL.
    pub fn stop(&mut self, signal: &str, grace: Duration) -> io::Result<ExitStatus> {
        let _ = self.signal(signal);
        if let Some(status) = self.wait_timeout(grace)? {
            return Ok(status);
        }
        self.kill()?;
        self.try_wait()?
            .ok_or_else(|| io::Error::other(format!("{} did not end", self.name)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// The last `lines` lines of a text file ("" if unreadable).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Poll `check` until it answers `Ok(Some(value))`, failing at once on
/// `Err` and after `timeout` with "timed out waiting for {what}". Pauses
/// grow from 5 ms to 100 ms between checks.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>, String>,
) -> io::Result<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        match check() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => return Err(io::Error::other(format!("waiting for {what}: {e}"))),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out after {timeout:?} waiting for {what}"),
            ));
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound, then released).
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `GET path` over HTTP/1.1 with `Connection: close`: status and body.
/// Enough for a health probe; not a general client (no TLS, no chunking).
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: `write!` on the socket itself would send each formatted
    // piece as a packet of its own.
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP answer"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Wait until `GET path` on `addr` answers 200, failing early (with the
/// end of its log) if `proc` ends first.
pub fn wait_for_http(
    proc: &mut Proc,
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> io::Result<Duration> {
    let started = Instant::now();
    wait_until(
        &format!("{} to answer {path}", proc.name()),
        timeout,
        || {
            if let Some(status) = proc.try_wait().map_err(|e| e.to_string())? {
                return Err(format!(
                    "{} ended ({status}); the end of {}:\n{}",
                    proc.name(),
                    proc.log_path().display(),
                    proc.log_tail(30)
                ));
            }
            Ok(match http_get(addr, path, Duration::from_secs(2)) {
                Ok((200, _)) => Some(()),
                _ => None,
            })
        },
    )
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "{e}\nthe end of {}:\n{}",
                proc.log_path().display(),
                proc.log_tail(30)
            ),
        )
    })?;
    Ok(started.elapsed())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(m) => m.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false),
    }
}

/// `bytes` random bytes from the kernel, hex-encoded (passwords, secrets,
/// database names).
pub fn random_hex(bytes: usize) -> io::Result<String> {
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// A directory removed (with its contents) when dropped.
///
/// Named `devcluster-<kind>-<pid>-<n>`; creating one also removes such
/// directories in the same parent whose process no longer exists (left
/// behind by a run stopped with Ctrl-C or killed).
pub struct TempDir {
    path: PathBuf,
    keep: bool,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TempDir {
    /// A new directory in the system's temporary directory.
    pub fn new(kind: &str) -> io::Result<TempDir> {
        Self::new_in(&std::env::temp_dir(), kind)
    }

    /// A new directory in `parent` (created if missing).
    pub fn new_in(parent: &Path, kind: &str) -> io::Result<TempDir> {
        std::fs::create_dir_all(parent)?;
        sweep_stale(parent);
        let pid = std::process::id();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!("devcluster-{kind}-{pid}-{n}"));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path, keep: false }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leave the directory in place when dropped (e.g. to read its logs).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Remove `devcluster-*-<pid>-*` directories in `parent` whose process is
/// gone (Linux: no `/proc/<pid>`).
fn sweep_stale(parent: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("devcluster-")) else {
            continue;
        };
        let parts: Vec<&str> = rest.rsplitn(3, '-').collect();
        let [_n, pid, _kind] = parts.as_slice() else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dir_is_removed_and_stale_ones_swept() {
        let parent = TempDir::new("unit").unwrap();
        let dir = TempDir::new_in(parent.path(), "x").unwrap();
        let path = dir.path().to_path_buf();
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists());
        // A directory of a process that cannot exist (pid above pid_max).
        let stale = parent.path().join("devcluster-pg-4294967295-0");
        std::fs::create_dir(&stale).unwrap();
        let other = parent.path().join("unrelated");
        std::fs::create_dir(&other).unwrap();
        let _dir = TempDir::new_in(parent.path(), "x").unwrap();
        assert!(!stale.exists());
        assert!(other.exists());
    }

    #[test]
    fn proc_is_killed_on_drop_and_probe_answers() {
        let dir = TempDir::new("unit").unwrap();
        let log = dir.path().join("sleep.log");
        let mut p = Proc::spawn("sleep", Command::new("sleep").arg("600"), &log).unwrap();
        assert!(p.is_running());
        let status = p.stop("TERM", Duration::from_secs(5)).unwrap();
        assert!(!status.success());
        assert!(!p.is_running());

        // A one-shot HTTP server on a thread answers the probe.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // The whole request head, however it arrives.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the probe closed before its request ended");
                head.extend_from_slice(&buf[..n]);
            }
            assert!(head.starts_with(b"GET /healthz HTTP/1.1\r\n"));
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        });
        let (status, body) = http_get(addr, "/healthz", Duration::from_secs(5)).unwrap();
        server.join().unwrap();
        assert_eq!((status, body.as_str()), (200, "ok"));
        assert_eq!(random_hex(8).unwrap().len(), 16);
    }
}
