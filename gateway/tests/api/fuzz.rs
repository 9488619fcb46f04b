//! Property tests of the whole `/api` surface with generated requests.
//!
//! Two properties, each over [`CASES`] generated requests, every request
//! sent twice — as a signed-in admin and without a session:
//!
//! * `own_endpoints_answer_every_request`: the gateway's own endpoints
//!   (session, password, app-info, directory, team, audit) with generated
//!   methods, ids, query strings, bodies and content types;
//! * `forwarded_routes_answer_every_request`: the Partner API routes below
//!   `/api/partners/v2.0/org/{org}` with generated path segments (path
//!   tricks, invalid ids, unicode, very long segments, extra segments),
//!   query strings and bodies.
//!
//! Requests also carry generated `Content-Type`, `Accept-Encoding` (mostly
//! a browser's `gzip, deflate, br`) and framing (`Content-Length` or
//! chunked). For every answer: a whole HTTP response arrived (the
//! connection was not dropped, the body is complete by its framing and,
//! when compressed, decodes), the status is not 5xx
//! except 502/504 carrying an upstream error code (a 500 is always a
//! failure), every non-2xx answer is JSON with a `code` string (the one
//! documented exception: Podero's own 4xx answers on forwarded routes pass
//! through as `{"detail": …}`), and nothing carries the client secret.
//!
//! Requests are written byte-exact on a raw TCP connection, so `..`,
//! `%2e%2e`, `%2f` and invalid escapes reach the gateway as generated.
//! Generation uses proptest's strategies and a `TestRunner` driven by hand
//! with a fixed ChaCha seed (the same requests on every run; set
//! `GATEWAY_FUZZ_SEED` to a number to explore others, `GATEWAY_FUZZ_CASES`
//! for more cases, `GATEWAY_FUZZ_LOG` to print every exchange). Failures
//! are all collected and grouped, and the first failure of each kind is
//! shrunk to a smaller request, before the test fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, TEST_SECRET};

/// Generated requests per property (each sent as admin and anonymously).
const CASES: u32 = 256;
/// The fixed seed: CI sends the same requests every run.
const SEED: u64 = 0x005e_ed0f_9a7e_3a11;
/// Longest a single exchange may take (the gateway's own bound is the
/// upstream timeout, 10 s in tests, plus 5 s).
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(30);
/// Admin sessions signed in before the run, each given up by one
/// generated `DELETE /api/session` (sign-out) as admin.
const SPARE_SESSIONS: usize = 6;
/// Shrinking steps for the first failure of a kind.
const SHRINK_STEPS: usize = 64;
/// Kinds of failure shrunk at most.
const MAX_SHRUNK: usize = 4;

// ---------------------------------------------------------------------------
// Raw HTTP
// ---------------------------------------------------------------------------

/// A request as generated (the path is sent exactly as written).
#[derive(Debug, Clone)]
struct Case {
    /// Which route (template) the case aims at, for grouping failures.
    label: String,
    method: &'static str,
    /// Path and query, raw.
    target: String,
    content_type: Option<String>,
    body: Vec<u8>,
    /// `Transfer-Encoding: chunked` instead of `Content-Length`.
    chunked: bool,
    /// Anti-forgery header of the anonymous variant.
    anon_csrf: Option<String>,
    /// `Accept-Encoding` (browsers always send `gzip, deflate, br`).
    accept_encoding: Option<&'static str>,
}

impl Case {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn summary(&self) -> String {
        format!(
            "{} {}, accept-encoding {:?}, content-type {:?}, body ({} bytes{}) {}",
            self.method,
            preview(self.target.as_bytes(), 240),
            self.accept_encoding,
            self.content_type,
            self.body.len(),
            if self.chunked { ", sent chunked" } else { "" },
            preview(&self.body, 160)
        )
    }
}

fn preview(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned();
    if bytes.len() > max {
        format!("{text:?}… ({} bytes)", bytes.len())
    } else {
        format!("{text:?}")
    }
}

/// A response read to the end of the connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decode a chunked body; `Err` if its last chunk never arrived.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or_else(|| {
            format!(
                "chunked body cut off after {} bytes (no chunk-size line)",
                body.len()
            )
        })?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size line {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailers (none expected), then the empty line.
            return if rest.starts_with(b"\r\n") || find(rest, b"\r\n\r\n").is_some() {
                Ok(body)
            } else {
                Err(format!(
                    "chunked body: last chunk without its closing line after {} bytes",
                    body.len()
                ))
            };
        }
        if rest.len() < size + 2 {
            return Err(format!(
                "chunked body cut off inside a chunk of {size} bytes (after {} bytes)",
                body.len()
            ));
        }
        body.extend_from_slice(&rest[..size]);
        if &rest[size..size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        rest = &rest[size + 2..];
    }
}

/// Parse what arrived; `Err` says why it is not one whole response.
/// `clean_eof`: the server closed the connection normally (needed for a
/// body delimited by the close).
fn parse_response(buf: &[u8], clean_eof: bool) -> Result<RawResponse, String> {
    let end = find(buf, b"\r\n\r\n").ok_or_else(|| {
        if buf.is_empty() {
            "the connection closed without any response".to_string()
        } else {
            format!("no complete response head: {}", preview(buf, 200))
        }
    })?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &buf[end + 4..];
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let bodiless = status == 204 || status == 304 || (100..200).contains(&status);
    let body = if bodiless {
        Vec::new()
    } else if get("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    {
        dechunk(rest)?
    } else if let Some(len) = get("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad content-length {len:?}"))?;
        if rest.len() < len {
            return Err(format!(
                "body cut off: {} of {len} bytes (content-length) arrived",
                rest.len()
            ));
        }
        rest[..len].to_vec()
    } else if clean_eof {
        rest.to_vec()
    } else {
        return Err(format!(
            "close-delimited body ended by a connection error after {} bytes",
            rest.len()
        ));
    };
    let encoding = headers
        .iter()
        .find(|(n, _)| n == "content-encoding")
        .map(|(_, v)| v.to_ascii_lowercase());
    let body = match encoding.as_deref() {
        // A 204 never has a body, whatever `content-encoding` says (the
        // gateway says `br` on forwarded 204s: the compression layer
        // wraps Podero's streamed empty body before hyper drops it).
        _ if bodiless => body,
        None | Some("identity") => body,
        Some(e) => decode(e, &body)?,
    };
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

/// Decode a `gzip` or `br` body; `Err` if it is cut off or corrupt.
fn decode(encoding: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    let result = match encoding {
        "gzip" => flate2::read::GzDecoder::new(bytes).read_to_end(&mut out),
        "br" => brotli_decompressor::Decompressor::new(bytes, 4096).read_to_end(&mut out),
        other => return Err(format!("answered with content-encoding {other:?}")),
    };
    result.map(|_| out).map_err(|e| {
        format!(
            "the {encoding} body of {} bytes does not decode ({e}): cut off or corrupt",
            bytes.len()
        )
    })
}

/// Send `head` + `body` on a new connection (`Connection: close`) and read
/// until the server closes it. Writing and reading run together, so an
/// early answer (e.g. 413 before the body is read) is not lost.
async fn exchange(host: &str, head: &[u8], body: &[u8]) -> Result<RawResponse, String> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(host)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut rd, mut wr) = stream.into_split();
        let writer = async {
            wr.write_all(head).await?;
            wr.write_all(body).await?;
            wr.flush().await
        };
        let reader = async {
            let mut buf = Vec::new();
            let r = rd.read_to_end(&mut buf).await;
            (buf, r)
        };
        let (written, (buf, read)) = tokio::join!(writer, reader);
        match parse_response(&buf, read.is_ok()) {
            Ok(r) => Ok(r),
            Err(why) => {
                // What did arrive: the status line and content-encoding.
                let head = String::from_utf8_lossy(&buf[..buf.len().min(4096)]).into_owned();
                let status = head.lines().next().unwrap_or("").to_string();
                let encoding = head
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("content-encoding:"))
                    .unwrap_or("no content-encoding");
                Err(format!(
                    "{why}; {} bytes arrived (status line {status:?}, {encoding}); \
                     write: {written:?}, read: {:?}",
                    buf.len(),
                    read.map(|_| "closed by the server")
                ))
            }
        }
    };
    tokio::time::timeout(EXCHANGE_DEADLINE, work)
        .await
        .unwrap_or_else(|_| Err(format!("no whole response within {EXCHANGE_DEADLINE:?}")))
}

// ---------------------------------------------------------------------------
// The app under test and who calls it
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Admin,
    Anonymous,
}

/// Ids the generators draw from besides random ones, so that generated
/// requests also reach real objects.
#[derive(Debug, Clone)]
struct Known {
    org: String,
    admin_account: String,
    member_account: String,
    users: Vec<String>,
    devices: Vec<(String, &'static str, String)>,
    buildings: Vec<(String, String)>,
}

struct World {
    app: TestApp,
    host: String,
    admin: Session,
    spares: Vec<Session>,
    /// Sign-outs sent with a wrong anti-forgery token because no spare
    /// session was left.
    kept_sign_outs: usize,
}

async fn sign_in(address: &str) -> Session {
    let r = reqwest::Client::new()
        .post(format!("{address}/api/session"))
        .header(shared::staff::CSRF_HEADER, "sign-in")
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "admin sign-in");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let v: Value = r.json().await.unwrap();
    Session {
        cookie,
        csrf: v["csrf_token"].as_str().unwrap().to_string(),
    }
}

impl World {
    async fn new() -> (World, Known) {
        let app = spawn_app().await;
        let c = &app.client;
        let me = c.send(c.get(&format!("{}/api/session", app.address))).await;
        assert_eq!(me.status, 200, "{}", me.text());
        let admin_account = me.json()["account"]["id"].as_str().unwrap().to_string();
        let (_, member) = app.member("staff").await;
        let member_account = member["id"].as_str().unwrap().to_string();

        // Real users, some of their devices and buildings.
        let r = c.send(c.get(&app.api("/users?include_deleted=true"))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let users: Vec<shared::User> = serde_json::from_slice(&r.body).unwrap();
        assert!(!users.is_empty());
        let mut devices = Vec::new();
        for u in users.iter().filter(|u| u.deleted_at.is_none()).take(12) {
            for kind in shared::DeviceKind::ALL {
                if u.count_of(kind) == 0 || devices.len() >= 8 {
                    continue;
                }
                let r = c
                    .send(c.get(&app.api(&format!("/users/{}/{}", u.id, kind.path_segment()))))
                    .await;
                if let Ok(list) = serde_json::from_slice::<Vec<Value>>(&r.body) {
                    for d in list.iter().take(2) {
                        if let Some(id) = d["id"].as_str() {
                            devices.push((u.id.to_string(), kind.path_segment(), id.to_string()));
                        }
                    }
                }
            }
        }
        let mut buildings = Vec::new();
        for u in users.iter().take(6) {
            let r = c
                .send(c.get(&app.api(&format!("/users/{}/buildings", u.id))))
                .await;
            if let Ok(list) = serde_json::from_slice::<Vec<Value>>(&r.body) {
                for b in list.iter().take(2) {
                    if let Some(id) = b["id"].as_str() {
                        buildings.push((u.id.to_string(), id.to_string()));
                    }
                }
            }
        }
        let known = Known {
            org: app.org_id.to_string(),
            admin_account,
            member_account,
            users: users.iter().take(10).map(|u| u.id.to_string()).collect(),
            devices,
            buildings,
        };

        let host = app.address.trim_start_matches("http://").to_string();
        let admin = sign_in(&app.address).await;
        let mut spares = Vec::new();
        for _ in 0..SPARE_SESSIONS {
            spares.push(sign_in(&app.address).await);
        }
        (
            World {
                app,
                host,
                admin,
                spares,
                kept_sign_outs: 0,
            },
            known,
        )
    }

    /// The bytes of `case` as sent by `caller`.
    fn request(&mut self, case: &Case, caller: Caller) -> (Vec<u8>, Vec<u8>) {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: gateway-fuzz\r\n",
            case.method, case.target, self.host
        );
        match caller {
            Caller::Admin => {
                let signs_out = case.method == "DELETE" && case.path() == "/api/session";
                let (cookie, csrf) = if signs_out {
                    // A sign-out ends the session it is sent with: use a
                    // spare one so the later cases still run as admin.
                    match self.spares.pop() {
                        Some(s) => (s.cookie, s.csrf),
                        None => {
                            self.kept_sign_outs += 1;
                            (self.admin.cookie.clone(), "0".repeat(64))
                        }
                    }
                } else {
                    (self.admin.cookie.clone(), self.admin.csrf.clone())
                };
                let _ = write!(head, "Cookie: {cookie}\r\nX-Podero-CSRF: {csrf}\r\n");
            }
            Caller::Anonymous => {
                if let Some(csrf) = &case.anon_csrf {
                    let _ = write!(head, "X-Podero-CSRF: {csrf}\r\n");
                }
            }
        }
        if let Some(ct) = &case.content_type {
            let _ = write!(head, "Content-Type: {ct}\r\n");
        }
        if let Some(ae) = case.accept_encoding {
            let _ = write!(head, "Accept-Encoding: {ae}\r\n");
        }
        let body = if case.chunked {
            head.push_str("Transfer-Encoding: chunked\r\n");
            let mut b = Vec::new();
            for piece in case.body.chunks(4096) {
                b.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                b.extend_from_slice(piece);
                b.extend_from_slice(b"\r\n");
            }
            b.extend_from_slice(b"0\r\n\r\n");
            b
        } else {
            let _ = write!(head, "Content-Length: {}\r\n", case.body.len());
            case.body.clone()
        };
        head.push_str("\r\n");
        (head.into_bytes(), body)
    }

    async fn send(&mut self, case: &Case, caller: Caller) -> Result<RawResponse, String> {
        let (head, body) = self.request(case, caller);
        exchange(&self.host, &head, &body).await
    }

    /// The admin's session still works (the run really ran as admin).
    async fn admin_still_signed_in(&mut self) -> bool {
        let head = format!(
            "GET /api/session HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nCookie: {}\r\n\r\n",
            self.host, self.admin.cookie
        );
        matches!(exchange(&self.host, head.as_bytes(), b"").await, Ok(r) if r.status == 200)
    }
}

// ---------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------

/// Error codes a 502/504 may carry: Podero (or the way to it) failed.
const UPSTREAM_CODES: [&str; 4] = [
    "upstream_unreachable",
    "upstream_timeout",
    "upstream_bad_response",
    "podero_refused",
];

/// What is wrong with `outcome` as an answer to `case`, if anything.
fn problem(case: &Case, outcome: &Result<RawResponse, String>) -> Option<String> {
    let r = match outcome {
        Err(_) => return Some("the connection was dropped: no whole response".into()),
        Ok(r) => r,
    };
    let text = String::from_utf8_lossy(&r.body);
    if text.contains(TEST_SECRET)
        || r.headers
            .iter()
            .any(|(_, v)| v.contains(TEST_SECRET) || v.to_ascii_lowercase().contains("bearer "))
    {
        return Some("the answer carries the client secret or a token".into());
    }
    if (200..300).contains(&r.status) {
        return None;
    }
    let json: Option<Value> = serde_json::from_slice(&r.body).ok();
    let code = json
        .as_ref()
        .and_then(|j| j.get("code"))
        .and_then(Value::as_str);
    if r.status >= 500 {
        let upstream =
            matches!(r.status, 502 | 504) && code.is_some_and(|c| UPSTREAM_CODES.contains(&c));
        if !upstream {
            return Some(format!("server error {} (code {code:?})", r.status));
        }
    }
    if code.is_none() {
        // Podero's own refusals on forwarded routes pass through as
        // `{"detail": …}` (README, "Errors").
        let forwarded = case.path().starts_with("/api/partners/");
        let podero_shaped = json.as_ref().is_some_and(|j| j.get("detail").is_some());
        if forwarded && podero_shaped && (400..500).contains(&r.status) {
            return None;
        }
        return Some(if json.is_some() {
            format!("{} answer is JSON without a `code` string", r.status)
        } else {
            format!(
                "{} answer is not JSON (content-type {:?})",
                r.status,
                r.header("content-type")
            )
        });
    }
    None
}

/// One failing exchange.
struct Failure {
    caller: Caller,
    case: Case,
    problem: String,
    status: Option<u16>,
    body: String,
}

impl Failure {
    fn new(
        caller: Caller,
        case: &Case,
        problem: String,
        outcome: &Result<RawResponse, String>,
    ) -> Self {
        let (status, body) = match outcome {
            Ok(r) => (Some(r.status), preview(&r.body, 300)),
            Err(e) => (None, e.clone()),
        };
        Failure {
            caller,
            case: case.clone(),
            problem,
            status,
            body,
        }
    }

    /// Failures of one kind: the same problem, status and caller.
    fn kind(&self) -> (String, Option<u16>, Caller) {
        (self.problem.clone(), self.status, self.caller)
    }

    fn route(&self) -> String {
        format!("{} {}", self.case.method, self.case.label)
    }

    fn describe(&self) -> String {
        format!(
            "{}\n      -> {} {}",
            self.case.summary(),
            self.status
                .map_or("(no response)".to_string(), |s| s.to_string()),
            self.body
        )
    }
}

fn runner() -> TestRunner {
    let seed = std::env::var("GATEWAY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(SEED);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

fn cases() -> u32 {
    std::env::var("GATEWAY_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CASES)
}

/// Send every generated case as admin and anonymously; fail with every
/// distinct failure (the first one shrunk).
async fn check_property(name: &str, strategy: BoxedStrategy<Case>, world: &mut World) {
    let started = Instant::now();
    let mut runner = runner();
    let mut failures: Vec<Failure> = Vec::new();
    // The first failure of each kind of problem, shrunk.
    let mut shrunk: BTreeMap<String, String> = BTreeMap::new();
    let mut statuses: BTreeMap<(Caller, u16), usize> = BTreeMap::new();
    let mut codes: BTreeMap<(Caller, u16, String), usize> = BTreeMap::new();
    // Every exchange on stderr, to see what the generators produce.
    let verbose = std::env::var_os("GATEWAY_FUZZ_LOG").is_some();
    for _ in 0..cases() {
        let mut tree = strategy
            .new_tree(&mut runner)
            .expect("the strategy generates");
        let case = tree.current();
        for caller in [Caller::Admin, Caller::Anonymous] {
            let outcome = world.send(&case, caller).await;
            if verbose {
                match &outcome {
                    Ok(r) => eprintln!(
                        "{caller:?} {} -> {} {}",
                        case.summary(),
                        r.status,
                        preview(&r.body, 300)
                    ),
                    Err(e) => eprintln!("{caller:?} {} -> {e}", case.summary()),
                }
            }
            if let Ok(r) = &outcome {
                *statuses.entry((caller, r.status)).or_default() += 1;
                let code = serde_json::from_slice::<Value>(&r.body)
                    .ok()
                    .and_then(|j| j.get("code").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                *codes.entry((caller, r.status, code)).or_default() += 1;
            }
            let Some(p) = problem(&case, &outcome) else {
                continue;
            };
            let failure = Failure::new(caller, &case, p, &outcome);
            if !shrunk.contains_key(&failure.problem) && shrunk.len() < MAX_SHRUNK {
                let s = shrink(&mut tree, caller, world, &failure).await;
                shrunk.insert(failure.problem.clone(), s);
            }
            failures.push(failure);
        }
    }
    eprintln!(
        "{name}: {} cases x 2 callers in {:.1?}; answers (caller, status, code): {codes:?}",
        cases(),
        started.elapsed()
    );

    // The run really ran as admin and as nobody.
    let admin_ok: usize = statuses
        .iter()
        .filter(|((c, s), _)| *c == Caller::Admin && (200..300).contains(s))
        .map(|(_, n)| n)
        .sum();
    let anon_401: usize = statuses
        .iter()
        .filter(|((c, s), _)| *c == Caller::Anonymous && *s == 401)
        .map(|(_, n)| n)
        .sum();
    assert!(
        admin_ok > 0,
        "{name}: no admin request succeeded: {statuses:?}"
    );
    assert!(
        anon_401 > 0,
        "{name}: no anonymous request got 401: {statuses:?}"
    );
    assert!(
        world.admin_still_signed_in().await,
        "{name}: the admin's session ended during the run"
    );

    if failures.is_empty() {
        return;
    }
    let mut groups: BTreeMap<_, Vec<&Failure>> = BTreeMap::new();
    for f in &failures {
        groups.entry(f.kind()).or_default().push(f);
    }
    let mut report = format!(
        "{name}: {} of {} exchanges failed; {} kind(s) of failure:\n",
        failures.len(),
        cases() * 2,
        groups.len()
    );
    for ((problem, status, caller), fs) in &groups {
        let routes: std::collections::BTreeSet<String> = fs.iter().map(|f| f.route()).collect();
        let _ = writeln!(
            report,
            "\n  [{}x] as {caller:?}: {problem} (status {})\n    routes: {}",
            fs.len(),
            status.map_or("none".to_string(), |s| s.to_string()),
            routes.into_iter().collect::<Vec<_>>().join(", ")
        );
        for f in fs.iter().take(2) {
            let _ = writeln!(report, "    e.g. {}", f.describe());
        }
    }
    for (problem, s) in shrunk {
        let _ = writeln!(report, "\n  first \"{problem}\", shrunk: {s}");
    }
    panic!("{report}");
}

/// Simplify the failing case while it still fails the same way (bounded).
async fn shrink(
    tree: &mut BoxedValueTree,
    caller: Caller,
    world: &mut World,
    first: &Failure,
) -> String {
    let mut best = first.describe();
    let mut steps = 0;
    if !tree.simplify() {
        return best;
    }
    loop {
        steps += 1;
        if steps > SHRINK_STEPS {
            break;
        }
        let case = tree.current();
        let outcome = world.send(&case, caller).await;
        let still = match problem(&case, &outcome) {
            Some(p) if p == first.problem => {
                best = Failure::new(caller, &case, p, &outcome).describe();
                true
            }
            _ => false,
        };
        let more = if still {
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !more {
            break;
        }
    }
    best
}

type BoxedValueTree = Box<dyn ValueTree<Value = Case>>;

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/// Percent-encode every byte that is not an RFC 3986 unreserved character.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn uuid_s() -> BoxedStrategy<String> {
    any::<u128>()
        .prop_map(|n| Uuid::from_u128(n).to_string())
        .boxed()
}

/// Strings that look like UUIDs but are not quite (or are in another
/// accepted spelling).
fn near_uuid() -> BoxedStrategy<String> {
    (any::<u128>(), 0u8..11, 0usize..36, any::<char>())
        .prop_map(|(n, how, at, ch)| {
            let u = Uuid::from_u128(n).to_string();
            match how {
                0 => format!("{}{}", &u[..at], &u[at + 1..]),
                1 => format!("{}{}{}", &u[..at], encode(&ch.to_string()), &u[at..]),
                2 => format!("{}g{}", &u[..at], &u[at + 1..]),
                3 => u.to_uppercase(),
                4 => format!("%7B{u}%7D"),
                5 => format!("urn:uuid:{u}"),
                6 => u.replace('-', ""),
                7 => format!("{u}0"),
                8 => u[..35].to_string(),
                9 => format!("%20{u}"),
                _ => format!("{u}%00"),
            }
        })
        .boxed()
}

/// Path segments that try to escape, confuse the decoder, or are not UTF-8.
fn junk_segment() -> BoxedStrategy<String> {
    prop::sample::select(vec![
        "..",
        ".",
        "%2e%2e",
        "%2E%2E",
        "%2e",
        ".%2e",
        "%2e.",
        "...",
        "%2f",
        "%2F",
        "a%2fb",
        "%5c",
        "%5C",
        "%00",
        "%0a",
        "%0d%0a",
        "%7f",
        "%",
        "%z",
        "%zz",
        "%f",
        "%ff",
        "%FF%FE",
        "%c3%28",
        "%e2%82",
        "%ed%a0%80",
        "%25",
        "%252e%252e",
        "%u002e",
        "+",
        "%20",
        "~",
        "!$&'()*+,;=:@",
        "users",
        "by-ext-id",
        "auth_session",
        "buildings",
        "org",
        "v2.0",
        "null",
        "0",
        "-1",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    ])
    .prop_map(str::to_string)
    .boxed()
}

/// Percent-encoded unicode text.
fn unicode_segment() -> BoxedStrategy<String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 1..12)
            .prop_map(|cs| encode(&cs.into_iter().collect::<String>())),
        prop::sample::select(vec![
            "Müller",
            "ß",
            "😀",
            "\u{202e}gnp.exe",
            "\u{feff}",
            "日本語",
            "\u{0}",
            "a\u{301}",
            "\u{1F469}\u{200D}\u{1F4BB}",
        ])
        .prop_map(encode),
    ]
    .boxed()
}

fn long_segment() -> BoxedStrategy<String> {
    prop_oneof![
        (256usize..20_000).prop_map(|n| "a".repeat(n)),
        (2usize..200).prop_map(|n| Uuid::nil().to_string().repeat(n)),
        (100usize..3_000).prop_map(|n| "%ff".repeat(n)),
        (100usize..3_000).prop_map(|n| "%2e".repeat(n)),
    ]
    .boxed()
}

/// Any id-like path segment: real, random, near-UUID, junk, unicode, long
/// or empty.
fn id_segment(real: Vec<String>) -> BoxedStrategy<String> {
    let real = if real.is_empty() {
        vec![Uuid::nil().to_string()]
    } else {
        real
    };
    prop_oneof![
        4 => prop::sample::select(real),
        3 => uuid_s(),
        3 => near_uuid(),
        3 => junk_segment(),
        1 => unicode_segment(),
        1 => long_segment(),
        1 => Just(String::new()),
    ]
    .boxed()
}

fn printable(max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(0x20u8..0x7f, 0..max)
        .prop_map(|b| String::from_utf8(b).unwrap())
        .boxed()
}

/// A query string (without `?`): pairs of the keys the gateway knows and
/// random ones, with valid, boundary, malformed and very long values.
fn query() -> BoxedStrategy<String> {
    let key = prop_oneof![
        6 => prop::sample::select(vec![
            "q", "role", "device", "onboarded", "lost", "archived", "include_deleted", "sort",
            "dir", "page", "per_page", "actor", "user", "action", "changes_only", "from", "to",
        ])
        .prop_map(str::to_string),
        1 => printable(12).prop_map(|s| encode(&s)),
        1 => junk_segment(),
    ];
    let value = prop_oneof![
        4 => prop::sample::select(vec![
            "true", "false", "TRUE", "True", "1", "0", "yes", "", "admin", "staff,user",
            "admin,,x", "any", "none", "heat-pumps", "inverters", "hide", "include", "only",
            "name", "email", "customer_number", "devices", "joined", "last_login", "asc", "desc",
            "user", "team.invite", "session", "x.y.z", "2024-01-01", "2024-13-45",
            "2024-01-01T00:00:00Z", "2024-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59Z",
            "0000-01-01", "%2B275760-09-13", "-1-01-01", "admin%40backoffice.local",
        ])
        .prop_map(str::to_string),
        3 => prop::sample::select(vec![
            "-1", "500", "501", "4294967295", "4294967296", "18446744073709551615",
            "18446744073709551616", "9223372036854775807", "-9223372036854775808",
            "99999999999999999999999", "1e3", "0x10", "%201", "1.5", "NaN", "+1",
        ])
        .prop_map(str::to_string),
        2 => junk_segment(),
        1 => uuid_s(),
        1 => near_uuid(),
        1 => unicode_segment(),
        1 => (1usize..16_000).prop_map(|n| "q".repeat(n)),
        1 => (1usize..1_500).prop_map(|n| vec!["word"; n].join("+")),
        1 => (1usize..1_000).prop_map(|n| vec!["m%C3%BCller"; n].join("%20")),
        1 => printable(40).prop_map(|s| encode(&s)),
    ];
    let pair = (key, value, 0u8..8).prop_map(|(k, v, how)| match how {
        0 => k,
        1 => format!("{k}={v}={v}"),
        2 => format!("{k}=={v}"),
        _ => format!("{k}={v}"),
    });
    (prop::collection::vec(pair, 0..6), 0u8..8)
        .prop_map(|(pairs, how)| match how {
            0 => pairs.join("&&"),
            1 => format!("&{}&", pairs.join("&")),
            2 => pairs.join(";"),
            _ => pairs.join("&"),
        })
        .boxed()
}

/// Text values for JSON fields.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => printable(40),
        2 => prop::collection::vec(any::<char>(), 0..40).prop_map(|cs| cs.into_iter().collect()),
        1 => prop::sample::select(vec![
            "", " ", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "<script>alert(1)</script>",
            "'; DROP TABLE audit; --", "\u{0}", "\r\n", "Müller", "\u{202e}", "null",
        ])
        .prop_map(str::to_string),
        1 => (any::<char>(), 1usize..65_536)
            .prop_map(|(c, n)| c.to_string().repeat((n / c.len_utf8()).max(1))),
    ]
    .boxed()
}

fn email() -> BoxedStrategy<String> {
    prop_oneof![
        4 => ("[a-z0-9._+-]{1,20}", "[a-z0-9-]{1,12}\\.(de|com|at|local)")
            .prop_map(|(l, d)| format!("fuzz.{l}@{d}")),
        1 => prop::sample::select(vec![
            "", "a@", "@b.de", "a b@c.de", "MÜLLER@BÜCHER.DE", " spaced@example.com ",
            "x@y", "no-at-sign", "a@b@c.de", "\u{0}@x.de",
        ])
        .prop_map(str::to_string),
        1 => (65usize..400).prop_map(|n| format!("{}@example.com", "l".repeat(n))),
        1 => text(),
    ]
    .boxed()
}

/// Any JSON value (nested a little).
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A field value: mostly of the expected type, sometimes anything.
fn field(expected: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        6 => expected.prop_map(Some),
        2 => json_value().prop_map(Some),
        2 => Just(None::<Value>),
    ]
    .boxed()
}

fn text_v() -> BoxedStrategy<Value> {
    text().prop_map(Value::from).boxed()
}

fn email_v() -> BoxedStrategy<Value> {
    email().prop_map(Value::from).boxed()
}

fn role_v(roles: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::sample::select(roles).prop_map(Value::from),
        1 => prop::sample::select(vec!["ADMIN", "owner", "", "viewer ", "guest"]).prop_map(Value::from),
    ]
    .boxed()
}

fn number_v() -> BoxedStrategy<Value> {
    prop_oneof![
        (-90.0f64..90.0).prop_map(|f| json!(f)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(1e308)),
        Just(json!("48.2")),
    ]
    .boxed()
}

/// An object with `fields`, each present or not.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let names: Vec<&'static str> = fields.iter().map(|(n, _)| *n).collect();
    let values: Vec<BoxedStrategy<Option<Value>>> =
        fields.into_iter().map(|(_, s)| field(s)).collect();
    values
        .prop_map(move |vs| {
            let mut m = serde_json::Map::new();
            for (n, v) in names.iter().zip(vs) {
                if let Some(v) = v {
                    m.insert((*n).to_string(), v);
                }
            }
            Value::Object(m)
        })
        .boxed()
}

/// A user body that passes the shared validation more often than not, so
/// that creates and updates reach Podero; `create`: role and e-mail are
/// (nearly) always there.
fn plausible_user(create: bool) -> BoxedStrategy<Value> {
    let p = if create { 0.98 } else { 0.4 };
    (
        prop::option::weighted(
            p,
            prop::sample::select(vec!["user", "guest", "admin", "staff"]),
        ),
        prop::option::weighted(p, ("[a-z0-9]{1,12}", "[a-z]{1,8}")),
        prop::option::weighted(0.6, "[A-Za-zÄÖÜäöüß' -]{1,30}"),
        prop::option::weighted(0.6, "[A-Za-zÄÖÜäöüß' -]{1,30}"),
        prop::option::weighted(0.4, "[0-9]{4,5}"),
        prop::option::weighted(0.4, prop::sample::select(vec!["DE", "AT", "CH", "NL"])),
        prop::option::weighted(0.4, (-90.0f64..90.0, -180.0f64..180.0)),
        prop::option::weighted(0.4, "[A-Za-z0-9-]{1,20}"),
    )
        .prop_map(
            |(role, email, first, last, zip, country, position, external)| {
                let mut m = serde_json::Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                };
                put("role", role.map(Value::from));
                put(
                    "email",
                    email.map(|(l, d)| Value::from(format!("fuzz.{l}@{d}.de"))),
                );
                put("first_name", first.map(Value::from));
                put("last_name", last.map(Value::from));
                put("zip_code", zip.map(Value::from));
                put("country_iso2", country.map(Value::from));
                put("latitude", position.map(|p| json!(p.0)));
                put("longitude", position.map(|p| json!(p.1)));
                put("external_user_id", external.map(Value::from));
                Value::Object(m)
            },
        )
        .boxed()
}

fn user_body() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => plausible_user(true),
        1 => plausible_user(false),
        3 => fuzzed_user(),
    ]
    .boxed()
}

fn fuzzed_user() -> BoxedStrategy<Value> {
    object(vec![
        ("role", role_v(&["user", "guest", "admin", "staff"])),
        ("email", email_v()),
        ("external_user_id", text_v()),
        ("first_name", text_v()),
        ("last_name", text_v()),
        ("street_and_number", text_v()),
        ("street_add_info", text_v()),
        ("zip_code", text_v()),
        ("town", text_v()),
        (
            "country_iso2",
            prop::sample::select(vec!["DE", "AT", "de", "XX", "", "DEU"])
                .prop_map(Value::from)
                .boxed(),
        ),
        ("latitude", number_v()),
        ("longitude", number_v()),
    ])
}

fn device_body() -> BoxedStrategy<Value> {
    object(vec![
        ("name", text_v()),
        ("device_model", json_value()),
        ("building", uuid_s().prop_map(Value::from).boxed()),
        ("vin", text_v()),
        ("price_zone", text_v()),
        ("redirect_url", text_v()),
    ])
}

fn building_body() -> BoxedStrategy<Value> {
    object(vec![
        ("name", text_v()),
        ("street_and_number", text_v()),
        ("zip_code", text_v()),
        ("town", text_v()),
        ("country_iso2", text_v()),
        ("latitude", number_v()),
        ("longitude", number_v()),
    ])
}

fn sign_in_body() -> BoxedStrategy<Value> {
    object(vec![("email", email_v()), ("password", text_v())])
}

fn password_body() -> BoxedStrategy<Value> {
    object(vec![
        ("current_password", text_v()),
        (
            "new_password",
            prop_oneof![
                (12usize..300).prop_map(|n| Value::from("p".repeat(n))),
                text_v(),
            ]
            .boxed(),
        ),
    ])
}

fn invite_body() -> BoxedStrategy<Value> {
    object(vec![
        ("email", email_v()),
        ("first_name", text_v()),
        ("last_name", text_v()),
        ("role", role_v(&["admin", "staff", "viewer"])),
    ])
}

fn role_change_body() -> BoxedStrategy<Value> {
    object(vec![("role", role_v(&["admin", "staff", "viewer"]))])
}

/// A request body: the expected shape with random values, or random
/// bytes, invalid UTF-8, deep nesting, huge strings, wrong shapes.
fn body(shaped: BoxedStrategy<Value>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        10 => shaped.prop_map(|v| v.to_string().into_bytes()),
        2 => Just(Vec::new()),
        2 => prop::collection::vec(any::<u8>(), 1..4096),
        1 => (text(), prop::collection::vec(128u8..=255, 1..8)).prop_map(|(t, bad)| {
            let mut b = format!("{{\"email\":\"{}", t.replace(['"', '\\'], "")).into_bytes();
            b.extend(bad);
            b.extend_from_slice(b"\",\"password\":\"x\"}");
            b
        }),
        1 => (1usize..30_000, any::<bool>()).prop_map(|(depth, arrays)| {
            if arrays {
                format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
            } else {
                format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes()
            }
        }),
        1 => (
            prop::sample::select(vec!["email", "password", "first_name", "role", "q", "x"]),
            1usize..65_536,
        )
            .prop_map(|(k, n)| format!("{{\"{k}\":\"{}\"}}", "x".repeat(n)).into_bytes()),
        2 => prop::sample::select(vec![
            "null", "1", "\"text\"", "[]", "[{}]", "{}", "true", "{\"email\":1,\"password\":[]}",
            "{\"role\":{\"admin\":true}}", "{\"email\":\"a@b.de\"", "{'email': 'a@b.de'}",
            "email=a%40b.de&password=x", "{\"email\":\"a@b.de\",\"email\":\"c@d.de\"}",
            "\u{feff}{}", "{\"__proto__\":{}}", "1e999999",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
    ]
    .boxed()
}

fn content_type() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        4 => Just(Some("application/json".to_string())),
        2 => Just(None),
        3 => prop::sample::select(vec![
            "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=----fuzz", "application/xml", "application/json; charset=latin1",
            "*/*", "", "application/vnd.api+json", "a/b/c;;;=", "text/csv",
        ])
        .prop_map(|s| Some(s.to_string())),
        1 => printable(60).prop_map(Some),
    ]
    .boxed()
}

fn anon_csrf() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("sign-in".to_string())),
        "[0-9a-f]{64}".prop_map(Some),
        printable(30).prop_map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty())),
    ]
    .boxed()
}

/// Mostly a method the route answers, sometimes any.
fn method(
    allowed: &'static [&'static str],
    all: &'static [&'static str],
) -> BoxedStrategy<&'static str> {
    if allowed.is_empty() {
        return prop::sample::select(all).boxed();
    }
    prop_oneof![
        7 => prop::sample::select(allowed),
        3 => prop::sample::select(all),
    ]
    .boxed()
}

/// What a case has besides its method and path.
#[derive(Debug, Clone)]
struct Extras {
    query: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
    chunked: bool,
    anon_csrf: Option<String>,
    accept_encoding: Option<&'static str>,
}

/// Assemble a case from its parts. `GET` and `OPTIONS` carry no body:
/// browsers send none, and a body the server never reads makes it close
/// the connection with unread data, which the kernel turns into a reset
/// that can cut off a long answer (a finding of its own, not what this
/// property is about).
fn case(label: impl Into<String>, method: &'static str, path: String, x: Extras) -> Case {
    let target = match x.query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let body = if matches!(method, "GET" | "OPTIONS") {
        Vec::new()
    } else {
        x.body
    };
    Case {
        label: label.into(),
        method,
        target,
        content_type: x.content_type,
        body,
        chunked: x.chunked,
        anon_csrf: x.anon_csrf,
        accept_encoding: x.accept_encoding,
    }
}

fn accept_encoding() -> BoxedStrategy<Option<&'static str>> {
    prop_oneof![
        3 => Just(Some("gzip, deflate, br")),
        2 => Just(None),
        1 => prop::sample::select(vec!["gzip", "br", "identity", "deflate", "*", "br;q=0, gzip;q=0.5", "zstd", "gzip;q=x"])
            .prop_map(Some),
    ]
    .boxed()
}

/// The parts every case shares: query, content type, body, framing, the
/// anonymous caller's anti-forgery header, the accepted encodings.
fn extras(shaped: BoxedStrategy<Value>) -> BoxedStrategy<Extras> {
    (
        prop::option::weighted(0.5, query()),
        content_type(),
        body(shaped),
        prop::bool::weighted(0.15),
        anon_csrf(),
        accept_encoding(),
    )
        .prop_map(
            |(query, content_type, body, chunked, anon_csrf, accept_encoding)| Extras {
                query,
                content_type,
                body,
                chunked,
                anon_csrf,
                accept_encoding,
            },
        )
        .boxed()
}

// ---------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------

const OWN_METHODS: &[&str] = &["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"];

/// A gateway endpoint: path template, what follows `{id}` (if it has
/// one), the methods it answers.
type Endpoint = (&'static str, Option<&'static str>, &'static [&'static str]);

const ENDPOINTS: &[Endpoint] = &[
    ("/api/session", None, &["GET", "POST", "DELETE"]),
    ("/api/session/password", None, &["POST"]),
    ("/api/app-info", None, &["GET"]),
    ("/api/directory/users", None, &["GET"]),
    ("/api/directory/users.csv", None, &["GET"]),
    ("/api/directory/refresh", None, &["POST"]),
    ("/api/directory/reconnection", None, &["GET", "POST"]),
    ("/api/team", None, &["GET", "POST"]),
    ("/api/team/{id}", Some(""), &["PATCH", "DELETE"]),
    ("/api/team/{id}/sessions", Some("/sessions"), &["DELETE"]),
    ("/api/team/{id}/password", Some("/password"), &["POST"]),
    ("/api/audit", None, &["GET"]),
    ("/api/audit.csv", None, &["GET"]),
    ("/api/audit/users/{id}", Some(""), &["GET"]),
];

/// The gateway's own endpoints.
fn own_endpoint_case(known: &Known) -> BoxedStrategy<Case> {
    let ids = id_segment(vec![
        known.admin_account.clone(),
        known.member_account.clone(),
        known.users.first().cloned().unwrap_or_default(),
    ]);
    let endpoint = prop::sample::select(ENDPOINTS);
    (endpoint, ids, 0u8..12)
        .prop_flat_map(move |((template, tail, allowed), id, twist)| {
            let path = match tail {
                Some(tail) if template.starts_with("/api/team") => format!("/api/team/{id}{tail}"),
                Some(_) => format!("/api/audit/users/{id}"),
                None => template.to_string(),
            };
            // Sometimes a trailing slash or an extra segment.
            let path = match twist {
                0 => format!("{path}/"),
                1 => format!("{path}/extra"),
                _ => path,
            };
            let shaped = match template {
                "/api/session" => sign_in_body(),
                "/api/session/password" => password_body(),
                "/api/team" => invite_body(),
                "/api/team/{id}" => role_change_body(),
                _ => json_value(),
            };
            (method(allowed, OWN_METHODS), extras(shaped))
                .prop_map(move |(method, x)| case(template, method, path.clone(), x))
        })
        .boxed()
}

const FORWARD_METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

fn kind_segment() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(vec!["heat-pumps", "electric-vehicles", "wallboxes", "inverters"])
            .prop_map(str::to_string),
        2 => prop::sample::select(vec![
            "unknown", "heat-pump", "HEAT-PUMPS", "devices", "energy-contracts", "%68eat-pumps",
            "heat-pumps%00", "heat%2dpumps", "buildings",
        ])
        .prop_map(str::to_string),
        1 => junk_segment(),
    ]
    .boxed()
}

/// The Partner API routes below the organisation.
fn forwarded_case(known: &Known) -> BoxedStrategy<Case> {
    // One route has up to three ids: mostly valid ones, so that most
    // requests get past the path checks to Podero.
    let mostly_valid = |real: Vec<String>| {
        let real = if real.is_empty() {
            vec![Uuid::nil().to_string()]
        } else {
            real
        };
        prop_oneof![
            5 => prop::sample::select(real),
            4 => uuid_s(),
            1 => id_segment(Vec::new()),
        ]
        .boxed()
    };
    let external_id = prop_oneof![
        6 => printable(40).prop_map(|s| encode(&s)),
        1 => id_segment(Vec::new()),
    ];
    let users = mostly_valid(known.users.clone());
    let devices = mostly_valid(known.devices.iter().map(|d| d.2.clone()).collect());
    let buildings = mostly_valid(known.buildings.iter().map(|b| b.1.clone()).collect());
    let real_device = if known.devices.is_empty() {
        Just(None).boxed()
    } else {
        prop::option::weighted(0.3, prop::sample::select(known.devices.clone())).boxed()
    };
    let real_building = if known.buildings.is_empty() {
        Just(None).boxed()
    } else {
        prop::option::weighted(0.3, prop::sample::select(known.buildings.clone())).boxed()
    };
    let org = known.org.clone();
    let org_segment = prop_oneof![
        12 => Just(org),
        1 => uuid_s(),
        1 => id_segment(Vec::new()),
    ];
    let prefix = prop_oneof![
        12 => Just("/api/partners/v2.0/org/"),
        1 => prop::sample::select(vec![
            "/api/partners/v1.0/org/", "/api//partners/v2.0/org/", "/api/partners/v2.0/org//",
            "/api/partners/%2e%2e/v2.0/org/", "/api/partners/v2.0/ORG/", "/api/partners/v2%2E0/org/",
        ]),
    ];
    let extra = prop_oneof![
        8 => Just(Vec::new()),
        1 => prop::collection::vec(
            prop_oneof![junk_segment(), uuid_s(), Just("auth_session".to_string()), Just(String::new())],
            1..4
        ),
    ];
    let random_route = prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec!["users", "by-ext-id", "buildings", "auth_session", "heat-pumps", "devices"])
                .prop_map(str::to_string),
            2 => uuid_s(),
            1 => junk_segment(),
        ],
        1..7,
    );
    (
        (prefix, org_segment, 0u8..10),
        (users, kind_segment(), devices, buildings),
        (real_device, real_building, external_id),
        (extra, random_route),
        (prop::bool::weighted(0.1), 0u8..10),
    )
        .prop_flat_map(
            move |(
                (prefix, org, route),
                (user, kind, device, building),
                (real_device, real_building, ext),
                (extra, random_route),
                (trailing_slash, include_deleted),
            )| {
                let (user_d, kind_d, device_d) = match real_device {
                    Some((u, k, d)) => (u, k.to_string(), d),
                    None => (user.clone(), kind.clone(), device.clone()),
                };
                let (user_b, building_b) =
                    real_building.unwrap_or((user.clone(), building.clone()));
                const LIST: &[&str] = &["GET", "POST"];
                const ITEM: &[&str] = &["GET", "PUT", "DELETE"];
                let allowed: &'static [&'static str] = match route {
                    0 | 4 | 7 => LIST,
                    1 => &["GET"],
                    2 | 3 | 5 | 8 => ITEM,
                    6 => &["POST"],
                    _ => &[],
                };
                let (label, mut segs): (&str, Vec<String>) = match route {
                    0 => ("users", vec!["users".into()]),
                    1 => (
                        "users/by-ext-id/{ext}",
                        vec!["users".into(), "by-ext-id".into(), ext],
                    ),
                    2 | 3 => ("users/{user}", vec!["users".into(), user]),
                    4 => ("users/{user}/{kind}", vec!["users".into(), user_d, kind_d]),
                    5 => (
                        "users/{user}/{kind}/{device}",
                        vec!["users".into(), user_d, kind_d, device_d],
                    ),
                    6 => (
                        "users/{user}/{kind}/{device}/auth_session",
                        vec![
                            "users".into(),
                            user_d,
                            kind_d,
                            device_d,
                            "auth_session".into(),
                        ],
                    ),
                    7 => (
                        "users/{user}/buildings",
                        vec!["users".into(), user_b, "buildings".into()],
                    ),
                    8 => (
                        "users/{user}/buildings/{building}",
                        vec!["users".into(), user_b, "buildings".into(), building_b],
                    ),
                    _ => ("{random}", random_route.clone()),
                };
                let label = if prefix == "/api/partners/v2.0/org/" {
                    format!("{{org}}/{label}")
                } else {
                    format!("{prefix}{{org}}/{label}")
                };
                if route != 9 {
                    segs.extend(extra);
                }
                let mut path = format!("{prefix}{org}/{}", segs.join("/"));
                if trailing_slash {
                    path.push('/');
                }
                let shaped = match route {
                    0 | 2 | 3 => user_body(),
                    4..=6 => device_body(),
                    7 | 8 => building_body(),
                    _ => json_value(),
                };
                let forced_query = match include_deleted {
                    0 => Some("include_deleted=true".to_string()),
                    1 => Some("include_deleted=maybe&include_deleted=false".to_string()),
                    _ => None,
                };
                (method(allowed, FORWARD_METHODS), extras(shaped)).prop_map(
                    move |(method, mut x)| {
                        x.query = match (&forced_query, x.query) {
                            (Some(f), Some(q)) => Some(format!("{q}&{f}")),
                            (Some(f), None) => Some(f.clone()),
                            (None, q) => q,
                        };
                        case(label.clone(), method, path.clone(), x)
                    },
                )
            },
        )
        .boxed()
}

#[tokio::test]
async fn own_endpoints_answer_every_request() {
    let (mut world, known) = World::new().await;
    let strategy = own_endpoint_case(&known);
    check_property("own endpoints", strategy, &mut world).await;
    eprintln!(
        "own endpoints: {} sign-out(s) sent with a wrong CSRF token (no spare session left)",
        world.kept_sign_outs
    );
    world.app.shutdown().await;
}

#[tokio::test]
async fn forwarded_routes_answer_every_request() {
    let (mut world, known) = World::new().await;
    let strategy = forwarded_case(&known);
    check_property("forwarded routes", strategy, &mut world).await;
    world.app.shutdown().await;
}
