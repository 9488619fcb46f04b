//! `cargo xtask`: the project's two everyday commands and their parts.
//!
//! * `cargo xtask run`: install what is missing, build the browser app,
//!   start the gateway (with the embedded Podero emulator unless
//!   `PODERO_BASE_URL` is set) and print the URL to open.
//! * `cargo xtask test`: install what is missing (a browser, axe-core,
//!   PostgreSQL and nginx too), build the browser app, then formatting,
//!   lints (native and wasm32), a wasm32 check of `shared`, and every test:
//!   unit, integration (the gateway's storage on SQLite and PostgreSQL, the
//!   cluster test) and browser.
//! * `cargo xtask cluster [--replicas N] [--users N] [--release]`: several
//!   gateway replicas on one PostgreSQL behind nginx, as in production with
//!   N replicas: a throw-away PostgreSQL cluster (Debian's `postgresql`, in
//!   a temporary directory, as the `postgres` user when run as root), the
//!   Podero emulator on its own, N gateways (`replica-a`, `replica-b`, ...)
//!   started one after the other, nginx round-robin in front. Prints the
//!   URL, the admin's one-time password, the PostgreSQL URL and every
//!   replica's address and pid; Ctrl-C stops and removes it all (see
//!   `cluster.rs`).
//! * `cargo xtask bench [forwarding]`: the benchmarks (`crates/bench`):
//!   the users list at fleet scale, or forwarding against nginx and the
//!   upstream (installs `wrk` and nginx when missing).
//! * `cargo xtask install`, `cargo xtask frontend`: the first steps alone.
//!
//! `test` runs the tests step with a throw-away PostgreSQL: it exports
//! `TEST_DATABASE_URL` (a superuser URL; tests create their own databases)
//! and `CI_REQUIRE_POSTGRES=1` (tests needing PostgreSQL fail instead of
//! skipping). The services come from the `devcluster` crate.
//!
//! Every install step checks first and skips what is already there, so a
//! second run starts at once. Only the standard library is used, so this
//! builds in seconds on a fresh machine.

mod cluster;

use std::path::{Path, PathBuf};
use std::process::{exit, Command};
use std::sync::Mutex;
use std::time::Instant;

/// (step, seconds, ok) of every step run so far, for the closing summary.
static TIMINGS: Mutex<Vec<(String, f64, bool)>> = Mutex::new(Vec::new());

pub(crate) fn summary() {
    let timings = TIMINGS.lock().unwrap_or_else(|e| e.into_inner());
    if timings.is_empty() {
        return;
    }
    println!("\nxtask steps:");
    for (name, secs, ok) in timings.iter() {
        println!(
            "  {:<40} {:>7.1}s  {}",
            name,
            secs,
            if *ok { "ok" } else { "FAILED" }
        );
    }
}

const TRUNK_VERSION: &str = "0.21.14";

const USAGE: &str = "\
usage: cargo xtask <command>

  run        install missing tools, build the frontend, start the gateway (http://127.0.0.1:8080)
  test       install missing tools, build the frontend, check formatting and lints, run every test
  cluster    PostgreSQL, the emulator, N gateway replicas and nginx in front, until Ctrl-C
             (--replicas N, default 2; --users N emulator users, default 300; --release)
  install    install missing tools only (Rust wasm target, trunk, wasm-bindgen-cli, wasm-opt,
             Chromium, axe-core, PostgreSQL, nginx)
  frontend   build the frontend into dist/ only
  bench      users-list benchmark: release emulator with 100,000 users (--users N to change),
             release gateway in front of it; prints latency and memory against the targets
  bench watch
             the fleet watch at 100,000 users with connection churn (--users N, --rps R
             budget, default 300; --churn C per 1,000 devices and hour, default 30)
  bench forwarding
             forwarded reads through the gateway, nginx injecting the token and the upstream
             directly, under the same wrk load (32 and 1 connections; --secs N per run);
             installs wrk and nginx if missing; prints req/s and p50/p99 side by side
  bench emulator-seed
             the emulator alone seeding 1,000,000 users (--users N), its whole users list and
             a restart; prints time and memory against the targets
  bench bundle
             build the frontend, then what a first visit downloads from the release gateway
             (each file stored and on the wire) against the 250 KiB target
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)
        .unwrap_or_else(|e| fail(&format!("cannot enter {}: {e}", root.display())));
    prepend_cargo_bin_to_path();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("install") => install(true),
        Some("cluster") => cluster::cluster(&args[1..]),
        Some("frontend") => install(false).and_then(|_| build_frontend()),
        Some("bench") => bench(&args[1..]),
        Some("-h") | Some("--help") | Some("help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    };
    summary();
    if let Err(e) = result {
        fail(&e);
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("\nxtask: {msg}");
    exit(1);
}

fn workspace_root() -> PathBuf {
    // crates/xtask -> workspace root
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn prepend_cargo_bin_to_path() {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(bin) = home.map(|h| h.join("bin")) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut parts: Vec<PathBuf> = std::env::split_paths(&path).collect();
        if !parts.contains(&bin) {
            parts.insert(0, bin);
            if let Ok(joined) = std::env::join_paths(parts) {
                std::env::set_var("PATH", joined);
            }
        }
    }
}

/// Run a step, print its header and duration, fail with its name.
pub(crate) fn step(name: &str, program: &str, args: &[&str]) -> Result<(), String> {
    println!("\n==> {name}: {program} {}", args.join(" "));
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("step '{name}' could not start {program}: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "<== {name}: {} in {secs:.1}s",
        if status.success() { "ok" } else { "FAILED" },
    );
    TIMINGS.lock().unwrap_or_else(|e| e.into_inner()).push((
        name.to_string(),
        secs,
        status.success(),
    ));
    if status.success() {
        Ok(())
    } else {
        Err(format!("step '{name}' failed ({status})"))
    }
}

/// stdout of a command, if it runs and succeeds.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

pub(crate) fn install(with_browser: bool) -> Result<(), String> {
    println!("==> checking tools");
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if targets
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        println!("    wasm32-unknown-unknown target: present");
    } else {
        step(
            "install wasm32 target",
            "rustup",
            &["target", "add", "wasm32-unknown-unknown"],
        )?;
    }

    let trunk = output("trunk", &["--version"]).unwrap_or_default();
    if trunk.contains(TRUNK_VERSION) {
        println!("    trunk {TRUNK_VERSION}: present");
    } else {
        println!(
            "    trunk {TRUNK_VERSION}: missing (found '{}'); installing, about 10 minutes",
            trunk.trim()
        );
        step(
            "install trunk",
            "cargo",
            &["install", "trunk", "--version", TRUNK_VERSION, "--locked"],
        )?;
    }

    let wanted = wasm_bindgen_version()?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(wanted.as_str()) {
        println!("    wasm-bindgen-cli {wanted}: present");
    } else {
        println!(
            "    wasm-bindgen-cli {wanted}: missing (found '{}'); installing, about 4 minutes",
            have.trim()
        );
        // Not --locked: the registry mirror lacks some of its pinned versions.
        step(
            "install wasm-bindgen-cli",
            "cargo",
            &[
                "install",
                "wasm-bindgen-cli",
                "--version",
                &wanted,
                "--force",
            ],
        )?;
    }

    if output("wasm-opt", &["--version"]).is_some() {
        println!("    wasm-opt: present");
    } else if output("npm", &["--version"]).is_some() {
        step(
            "install wasm-opt (binaryen)",
            "npm",
            &["install", "-g", "binaryen"],
        )?;
    } else {
        return Err("wasm-opt is missing and npm is not installed: install Node.js/npm, or binaryen's wasm-opt, and run again".into());
    }

    if with_browser {
        install_system_packages(true, true)?;
        install_axe()?;
    }
    Ok(())
}

/// axe-core for the browser tests' accessibility check, at the version in
/// `e2e/package-lock.json`, into `e2e/node_modules`.
fn install_axe() -> Result<(), String> {
    if Path::new("e2e/node_modules/axe-core/axe.min.js").exists() {
        println!("    axe-core (e2e/node_modules): present");
        return Ok(());
    }
    if output("npm", &["--version"]).is_none() {
        return Err("axe-core is missing and npm is not installed: install Node.js/npm and run again (the browser tests run axe-core from e2e/node_modules)".into());
    }
    step(
        "install axe-core (e2e/package-lock.json)",
        "npm",
        &[
            "ci",
            "--prefix",
            "e2e",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
        ],
    )
}

/// Debian packages, with apt-get (as root, or with sudo), only those
/// missing: Chromium and chromedriver for the browser tests (`browser`),
/// PostgreSQL and nginx for the storage and cluster tests and `cargo
/// xtask cluster` (`services`).
pub(crate) fn install_system_packages(browser: bool, services: bool) -> Result<(), String> {
    let have = |p: &str| Path::new(p).exists() || output("which", &[p]).is_some();
    let mut missing: Vec<&str> = Vec::new();
    if browser {
        if (have("/usr/bin/chromium") || std::env::var_os("CHROME_BIN").is_some())
            && (have("/usr/bin/chromedriver") || std::env::var_os("CHROMEDRIVER").is_some())
        {
            println!("    chromium + chromedriver: present");
        } else {
            missing.extend(["chromium", "chromium-driver"]);
        }
    }
    if services {
        match devcluster::Postgres::bin_dir() {
            Ok(bin) => println!("    postgresql: present ({})", bin.display()),
            Err(_) => missing.push("postgresql"),
        }
        match devcluster::Nginx::binary() {
            Ok(bin) => println!("    nginx: present ({})", bin.display()),
            Err(_) => missing.push("nginx-light"),
        }
    }
    apt_get_install(&missing)
}

/// Install Debian packages with apt-get (as root, or with sudo).
fn apt_get_install(missing: &[&str]) -> Result<(), String> {
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    let root = devcluster::is_root();
    let (program, prefix): (&str, Vec<&str>) = if root {
        ("apt-get", vec![])
    } else {
        ("sudo", vec!["apt-get"])
    };
    if !root && output("which", &["sudo"]).is_none() {
        return Err(format!("{list}: missing, and this user cannot install them: run `apt-get install -y {list}` as root"));
    }
    let mut update = prefix.clone();
    update.push("update");
    step("apt-get update", program, &update)?;
    let mut inst = prefix;
    inst.extend(["install", "-y", "--no-install-recommends"]);
    inst.extend(missing.iter().copied());
    std::env::set_var("DEBIAN_FRONTEND", "noninteractive");
    step(&format!("install {list}"), program, &inst)
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must be the same.
fn wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string("Cargo.lock")
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock names no wasm-bindgen version".into())
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

pub(crate) fn build_frontend() -> Result<(), String> {
    step(
        "build frontend",
        "trunk",
        &["build", "--release", "--offline"],
    )
}

fn run(extra: &[String]) -> Result<(), String> {
    install(false)?;
    build_frontend()?;
    println!(
        "\nStarting the gateway. Open http://127.0.0.1:8080 in your browser (Ctrl-C stops it)."
    );
    let mut args = vec!["run", "--release", "--package", "gateway", "--"];
    args.extend(extra.iter().map(String::as_str));
    step("gateway", "cargo", &args)
}

/// Build the release binaries, then run the benchmark (it prints the
/// figures): the users list, or with `forwarding` the forwarding
/// benchmark, which needs `wrk` and nginx (installed here when missing).
/// `bench emulator-seed` measures the emulator alone, so the gateway is
/// not built.
fn bench(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("forwarding") {
        let mut missing = Vec::new();
        match output("which", &["wrk"]) {
            Some(path) => println!("    wrk: present ({})", path.trim()),
            None => missing.push("wrk"),
        }
        match devcluster::Nginx::binary() {
            Ok(bin) => println!("    nginx: present ({})", bin.display()),
            Err(_) => missing.push("nginx-light"),
        }
        apt_get_install(&missing)?;
    }
    if args.first().map(String::as_str) == Some("bundle") {
        install(false)?;
        build_frontend()?;
    }
    let mut build = vec![
        "build",
        "--release",
        "--package",
        "podero-emulator",
        "--package",
        "bench",
    ];
    if args.first().map(String::as_str) != Some("emulator-seed") {
        build.extend(["--package", "gateway"]);
    }
    step("build release binaries", "cargo", &build)?;
    let bin = target_dir().join("release").join("bench");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    step("benchmark", &bin.to_string_lossy(), &args)
}

fn test() -> Result<(), String> {
    let started = Instant::now();
    install(true)?;
    build_frontend()?;
    step("format", "cargo", &["fmt", "--all", "--", "--check"])?;
    step(
        "lint (native)",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--exclude",
            "frontend",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step(
        "lint (browser)",
        "cargo",
        &[
            "clippy",
            "--package",
            "frontend",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step(
        "shared builds for the browser",
        "cargo",
        &[
            "check",
            "--package",
            "shared",
            "--target",
            "wasm32-unknown-unknown",
        ],
    )?;
    // The secret-leak test scans the bundle built above; make it required.
    std::env::set_var("PODERO_REQUIRE_DIST", "1");
    // A throw-away PostgreSQL for the tests that need one (storage on
    // PostgreSQL, the cluster test); they fail rather than skip without it.
    let pg = devcluster::Postgres::start()
        .map_err(|e| format!("could not start PostgreSQL for the tests: {e}"))?;
    println!(
        "\n    PostgreSQL for the tests: {} (started in {:.1}s)",
        pg.url(),
        pg.started_in().as_secs_f64()
    );
    std::env::set_var("TEST_DATABASE_URL", pg.url());
    std::env::set_var("CI_REQUIRE_POSTGRES", "1");
    let tests = step(
        "tests: unit, integration, browser",
        "cargo",
        // The frontend's unit tests run natively too (every field the
        // gateway records has a label in both languages).
        &["test", "--workspace"],
    );
    drop(pg);
    tests?;
    println!(
        "\nAll checks passed in {:.0}s.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
