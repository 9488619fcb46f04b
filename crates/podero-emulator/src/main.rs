//! `podero-emulator`: run the local Podero Partner API emulator on its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use podero_emulator::{spawn, EmulatorConfig, DEFAULT_CHURN_PER_HOUR, MAX_CHURN_PER_HOUR};

const USAGE: &str = "\
podero-emulator: a local, stateful emulator of the Podero Partner API v2.0

USAGE: podero-emulator [OPTIONS]

OPTIONS (each also from the environment variable in brackets):
  --listen ADDR          address to serve on [EMULATOR_LISTEN] (default 127.0.0.1:9000)
  --data-dir DIR         where its state is kept [EMULATOR_DATA_DIR] (default data/emulator)
  --users N              users to seed into a fresh data dir [EMULATOR_USERS] (default 300)
  --seed N               demo-data seed [EMULATOR_SEED] (default 42)
  --token-ttl-secs N     expires_in of tokens [EMULATOR_TOKEN_TTL_SECS] (default 36000)
  --client-id ID         accepted OAuth client id [EMULATOR_CLIENT_ID] (default podero-emulator)
  --client-secret S      accepted OAuth client secret [EMULATOR_CLIENT_SECRET] (default emulator-secret)
  --public-url URL       base of links it hands out [EMULATOR_PUBLIC_URL] (default http://ADDR)
  --churn-per-hour N     device connections lost or regained by themselves, per 1,000
                         devices per hour; 0 switches it off [EMULATOR_CHURN_PER_HOUR] (default 3)
  -h, --help             this text
";

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return;
    }
    let opt = |flag: &str, env: &str| -> Option<String> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
            .or_else(|| {
                args.iter()
                    .find_map(|a| a.strip_prefix(&format!("{flag}=")).map(str::to_string))
            })
            .or_else(|| std::env::var(env).ok())
    };
    if let Some(bad) = args
        .iter()
        .find(|a| a.starts_with('-') && !USAGE.contains(a.split('=').next().unwrap_or(a)))
    {
        eprintln!("unknown option {bad}\n\n{USAGE}");
        std::process::exit(2);
    }
    let fail = |msg: String| -> ! {
        eprintln!("{msg}");
        std::process::exit(2);
    };
    let listen: SocketAddr = opt("--listen", "EMULATOR_LISTEN")
        .unwrap_or_else(|| "127.0.0.1:9000".into())
        .parse()
        .unwrap_or_else(|e| {
            fail(format!(
                "--listen: {e}; give an address like 127.0.0.1:9000"
            ))
        });
    let mut config = EmulatorConfig::new(
        opt("--data-dir", "EMULATOR_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("data/emulator")),
    );
    let num = |flag: &str, env: &str| -> Option<u64> {
        opt(flag, env).map(|v| {
            v.parse()
                .unwrap_or_else(|_| fail(format!("{flag}: '{v}' is not a whole number")))
        })
    };
    if let Some(n) = num("--users", "EMULATOR_USERS") {
        config.seed_users = n as usize;
    }
    if let Some(n) = num("--seed", "EMULATOR_SEED") {
        config.seed = n;
    }
    if let Some(n) = num("--token-ttl-secs", "EMULATOR_TOKEN_TTL_SECS") {
        config.token_ttl = Duration::from_secs(n.max(1));
    }
    if let Some(v) = opt("--client-id", "EMULATOR_CLIENT_ID") {
        config.client_id = v;
    }
    if let Some(v) = opt("--client-secret", "EMULATOR_CLIENT_SECRET") {
        config.client_secret = v;
    }
    config.public_url =
        opt("--public-url", "EMULATOR_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
    config.churn_per_hour = match opt("--churn-per-hour", "EMULATOR_CHURN_PER_HOUR") {
        None => DEFAULT_CHURN_PER_HOUR,
        Some(v) => match v.parse::<f64>() {
            Ok(n) if (0.0..=MAX_CHURN_PER_HOUR).contains(&n) => n,
            _ => fail(format!(
                "--churn-per-hour: '{v}' is not a number from 0 (off) to {MAX_CHURN_PER_HOUR}"
            )),
        },
    };
    let client_id = config.client_id.clone();
    let churn = config.churn_per_hour;
    // The default secret guards only a local emulator: show it; never a chosen one.
    let shown_secret = if config.client_secret == podero_emulator::DEFAULT_CLIENT_SECRET {
        config.client_secret.clone()
    } else {
        "<secret>".to_string()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e.to_string()));
    runtime.block_on(async move {
        let emu = spawn(config, listen).await.unwrap_or_else(|e| fail(format!("could not start the emulator: {e}")));
        println!("Podero emulator listening on {}", emu.base_url);
        println!("  organisation: {}", emu.org_id);
        println!("  client id:    {client_id}");
        println!("  churn:        {churn} connection losses/regains per 1,000 devices per hour (--churn-per-hour; 0 = off)");
        println!("  get a token:  curl -s -X POST {}/oauth2/token/ -u {client_id}:{shown_secret} -H 'Content-Type: application/json' -d '{{\"grant_type\": \"client_credentials\"}}'", emu.base_url);
        println!("  list users:   curl -s {}/api/partners/v2.0/org/{}/users -H 'Authorization: Bearer <token>'", emu.base_url, emu.org_id);
        let _ = tokio::signal::ctrl_c().await;
        emu.shutdown().await;
    });
}
