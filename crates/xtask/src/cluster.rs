//! `cargo xtask cluster`: PostgreSQL, the Podero emulator, N gateway
//! replicas on that database and nginx in front, until Ctrl-C.
//!
//! Ctrl-C reaches every process in the terminal's foreground group. So
//! that this one outlives it and can clean up, it re-runs itself (after
//! building) through `sh -c "trap '' INT; exec ..."`: SIGINT stays ignored
//! across `exec` for this process, while the services install their own
//! handlers and stop. When nginx, the emulator, PostgreSQL or the last
//! replica has ended, the rest is stopped and the throw-away PostgreSQL
//! removed. One replica ending (e.g. `kill -9` to watch the fail-over)
//! leaves the cluster running.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use devcluster::{free_port, random_hex, wait_for_http, wait_until, Nginx, Postgres, Proc};

/// Set in the re-run that ignores SIGINT.
const SUPERVISED: &str = "XTASK_CLUSTER_SUPERVISED";

/// The emulator's client id (its default, `podero_emulator::DEFAULT_CLIENT_ID`).
const CLIENT_ID: &str = "podero-emulator";

struct Options {
    replicas: usize,
    release: bool,
    users: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut opts = Options {
            replicas: 2,
            release: false,
            users: 300,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f, Some(v.to_string())),
                None => (arg.as_str(), None),
            };
            let mut value = |name: &str| -> Result<usize, String> {
                let v = inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{name} needs a number"))?;
                v.parse()
                    .map_err(|_| format!("{name}: '{v}' is not a whole number"))
            };
            match flag {
                "--replicas" => opts.replicas = value("--replicas")?,
                "--users" => opts.users = value("--users")?,
                "--release" => opts.release = true,
                other => return Err(format!("cluster: unknown option '{other}'")),
            }
        }
        if !(1..=26).contains(&opts.replicas) {
            return Err("--replicas: give 1 to 26".into());
        }
        Ok(opts)
    }
}

pub fn cluster(args: &[String]) -> Result<(), String> {
    let opts = Options::parse(args)?;
    if std::env::var_os(SUPERVISED).is_none() {
        crate::install(false)?;
        crate::install_system_packages(false, true)?;
        crate::build_frontend()?;
        let mut build = vec![
            "build",
            "--package",
            "gateway",
            "--package",
            "podero-emulator",
        ];
        if opts.release {
            build.insert(1, "--release");
        }
        crate::step("build gateway and emulator", "cargo", &build)?;
        crate::summary();
        let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
        let err = Command::new("sh")
            .arg("-c")
            .arg("trap '' INT; exec \"$0\" \"$@\"")
            .arg(exe)
            .arg("cluster")
            .args(args)
            .env(SUPERVISED, "1")
            .exec();
        return Err(format!("could not re-run under sh: {err}"));
    }
    run(&opts)
}

/// A gateway replica: its name (the lease holder), address and process.
struct Replica {
    id: String,
    addr: SocketAddr,
    /// Its Prometheus metrics (`GET /metrics`).
    metrics: SocketAddr,
    proc: Proc,
    ended: bool,
}

fn run(opts: &Options) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: std::io::Error| format!("{what}: {err}")
    };
    let root = std::env::current_dir().map_err(e("current directory"))?;
    let bin_dir = crate::target_dir().join(if opts.release { "release" } else { "debug" });
    let run_dir = crate::target_dir().join("cluster");
    // Logs of the previous run go; this run's stay after it for reading.
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir).map_err(e("run directory"))?;

    println!("\n==> PostgreSQL (throw-away cluster)");
    // Out of reach of Ctrl-C: the replicas release their leases while
    // they stop, then it is stopped last.
    let mut pg = Postgres::start_with(&std::env::temp_dir(), true).map_err(e("PostgreSQL"))?;
    let database_url = pg.create_database("backoffice").map_err(e("createdb"))?;
    println!(
        "    {database_url} (started in {:.1}s)",
        pg.started_in().as_secs_f64()
    );

    println!("==> Podero emulator ({} users)", opts.users);
    let secret = random_hex(24).map_err(e("random"))?;
    let emulator_addr = SocketAddr::from(([127, 0, 0, 1], free_port().map_err(e("port"))?));
    let emulator_log = run_dir.join("emulator.log");
    let mut emulator = Proc::spawn(
        "emulator",
        Command::new(bin_dir.join("podero-emulator"))
            .arg("--listen")
            .arg(emulator_addr.to_string())
            .arg("--data-dir")
            .arg(run_dir.join("emulator"))
            .args(["--users", &opts.users.to_string(), "--client-id", CLIENT_ID])
            .env("EMULATOR_CLIENT_SECRET", &secret),
        &emulator_log,
    )
    .map_err(e("emulator"))?;
    let org_id = wait_until("the emulator", Duration::from_secs(120), || {
        if let Some(status) = emulator.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("it ended ({status}):\n{}", emulator.log_tail(30)));
        }
        let log = std::fs::read_to_string(&emulator_log).unwrap_or_default();
        Ok(log.lines().find_map(|l| {
            l.trim()
                .strip_prefix("organisation:")
                .map(|id| id.trim().to_string())
        }))
    })
    .map_err(e("emulator"))?;
    println!("    http://{emulator_addr} (organisation {org_id})");

    let admin_email =
        std::env::var("GATEWAY_ADMIN_EMAIL").unwrap_or_else(|_| "admin@backoffice.local".into());
    let admin_password = format!("cluster-{}", random_hex(8).map_err(e("random"))?);
    let mut replicas: Vec<Replica> = Vec::new();
    for i in 0..opts.replicas {
        let id = format!("replica-{}", (b'a' + i as u8) as char);
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port().map_err(e("port"))?));
        let metrics = SocketAddr::from(([127, 0, 0, 1], free_port().map_err(e("port"))?));
        println!("==> {id} on {addr}");
        let mut proc = Proc::spawn(
            &id,
            Command::new(bin_dir.join("gateway"))
                .env("DATABASE_URL", &database_url)
                .env("GATEWAY_REPLICA_ID", &id)
                .env("GATEWAY_LISTEN", addr.to_string())
                .env("GATEWAY_METRICS_LISTEN", metrics.to_string())
                .env("GATEWAY_DATA_DIR", run_dir.join(&id))
                .env("GATEWAY_FRONTEND_DIR", root.join("dist"))
                .env("GATEWAY_ADMIN_EMAIL", &admin_email)
                .env("GATEWAY_ADMIN_PASSWORD", &admin_password)
                .env("GATEWAY_TRUSTED_PROXIES", "127.0.0.1")
                .env("PODERO_BASE_URL", format!("http://{emulator_addr}"))
                .env("PODERO_CLIENT_ID", CLIENT_ID)
                .env("PODERO_CLIENT_SECRET", &secret)
                .env("PODERO_ORG_ID", &org_id),
            &run_dir.join(format!("{id}.log")),
        )
        .map_err(e(&id))?;
        // One after the other, so a failing start names its replica.
        let took =
            wait_for_http(&mut proc, addr, "/healthz", Duration::from_secs(120)).map_err(e(&id))?;
        println!("    healthy after {:.1}s", took.as_secs_f64());
        replicas.push(Replica {
            id,
            addr,
            metrics,
            proc,
            ended: false,
        });
    }

    println!("==> nginx in front");
    let upstreams: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
    let mut nginx = Nginx::start_in(&run_dir, &upstreams).map_err(e("nginx"))?;
    nginx.keep_files();
    print_summary(
        &nginx,
        &admin_email,
        &admin_password,
        &database_url,
        emulator_addr,
        &org_id,
        &replicas,
        &run_dir,
    );

    let reason = supervise(&mut nginx, &mut emulator, &mut pg, &mut replicas);
    println!("\n==> stopping the cluster ({reason})");
    let stopping = std::time::Instant::now();
    // Replicas first (they give up their leases), nginx, the emulator,
    // PostgreSQL last; each gets a few seconds before SIGKILL.
    for r in replicas.iter_mut() {
        let _ = r.proc.stop("TERM", Duration::from_secs(10));
    }
    let _ = nginx.proc().stop("TERM", Duration::from_secs(5));
    let _ = emulator.stop("INT", Duration::from_secs(5));
    pg.stop();
    drop(pg);
    println!("    took {:.1}s", stopping.elapsed().as_secs_f64());
    println!("    stopped; logs in {}", run_dir.display());
    Ok(())
}

/// Wait until a service or every replica has ended; why.
fn supervise(
    nginx: &mut Nginx,
    emulator: &mut Proc,
    pg: &mut Postgres,
    replicas: &mut [Replica],
) -> String {
    loop {
        // The services first: after Ctrl-C everything ends at once.
        if let Ok(Some(status)) = nginx.proc().try_wait() {
            return format!("nginx ended, {status}");
        }
        if let Ok(Some(status)) = emulator.try_wait() {
            return format!("the emulator ended, {status}");
        }
        if let Ok(Some(status)) = pg.try_wait() {
            return format!("PostgreSQL ended, {status}");
        }
        let mut ended = Vec::new();
        for r in replicas.iter_mut().filter(|r| !r.ended) {
            if let Ok(Some(status)) = r.proc.try_wait() {
                r.ended = true;
                ended.push(format!("{} ({status})", r.id));
            }
        }
        if replicas.iter().all(|r| r.ended) {
            return "every replica has ended".into();
        }
        if !ended.is_empty() {
            println!(
                "[{}] ended: {}; nginx sends everything to the others",
                clock(),
                ended.join(", ")
            );
        }
        // Watching, not synchronising: how soon an ended process is noticed.
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    nginx: &Nginx,
    admin_email: &str,
    admin_password: &str,
    database_url: &str,
    emulator_addr: SocketAddr,
    org_id: &str,
    replicas: &[Replica],
    run_dir: &Path,
) {
    println!(
        "\nThe cluster runs; Ctrl-C stops it.\n\n  open        {}   (nginx, round-robin over {} replica{}, no sticky sessions)",
        nginx.url(),
        replicas.len(),
        if replicas.len() == 1 { "" } else { "s" }
    );
    println!("  sign in     {admin_email} / {admin_password}   (one-time: choose a new password at the first sign-in)");
    println!("  PostgreSQL  {database_url}   (psql {database_url})");
    println!("  emulator    http://{emulator_addr}   (organisation {org_id})");
    for r in replicas {
        println!(
            "  {:<11} http://{}   pid {}   metrics http://{}/metrics   log {}",
            r.id,
            r.addr,
            r.proc.id(),
            r.metrics,
            r.proc.log_path().display()
        );
    }
    println!("  nginx       {}", nginx.dir().join("nginx.conf").display());
    println!("  logs        {}", run_dir.display());
    println!(
        "\n  Fail-over: `kill -9 <pid>` of a replica; the others keep serving and one of them takes the\n  housekeeping lease within 15 s: psql {database_url} -c 'SELECT * FROM leases'"
    );
}

/// The time of day, UTC (`HH:MM:SS`), for the messages while it runs.
fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}
