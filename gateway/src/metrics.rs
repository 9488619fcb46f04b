//! Prometheus metrics: every metric's name, what it counts, and the small
//! server that answers `GET /metrics` on its own listen address.
//!
//! The gateway records with the [`metrics`] crate's macros; the recorder is
//! `metrics-exporter-prometheus`'s, installed once per process by
//! [`install`] (only when `GATEWAY_METRICS_LISTEN` is set: without it
//! nothing is installed and every recording is a no-op). [`Listener`] answers
//! `GET /metrics` in the Prometheus text format (`text/plain;
//! version=0.0.4`) on that separate address, so the numbers are not
//! public: the main listener has no `/metrics` route. Labels are bounded:
//! never a raw path, a user id or a client address.
//!
//! Requests to the gateway (a middleware around every route, [`track`]):
//! - `gateway_http_requests_total{method, route, status}` (counter): answered
//!   requests. `method` is the HTTP method (`other` for unusual ones);
//!   `status` the answer's status code; `route` the route *pattern*: the
//!   axum route of the gateway's own endpoints (`/api/team/{id}`,
//!   `/healthz`...); for the forwarded Partner API the audit action of the
//!   allow-listed route (`users.list`, `device.update`...; see
//!   [`crate::podero::ApiRoute::action`]), or `/api/{*rest}` when the
//!   request was answered before its route was known (not signed in, a
//!   path that is not on the allow-list...); `static` for the browser app's
//!   files (and the `index.html` fallback).
//! - `gateway_http_request_duration_seconds{method, route}` (histogram,
//!   seconds): from the request's arrival until its answer's head is ready
//!   (a streamed body, such as a CSV export, may take longer).
//! - `gateway_http_requests_in_flight` (gauge): requests being answered.
//!
//! Calls to Podero (all go through [`crate::podero::Podero`]; the token
//! endpoint through [`crate::podero::TokenManager`]):
//! - `gateway_upstream_requests_total{action, status}` (counter): every
//!   attempt (a retry after a `401` is a second one). `action` is the audit
//!   action of the route called (`users.list`, `user.read`, ...;
//!   `oauth2.token` for the token endpoint); `status` Podero's status code,
//!   or `timeout`, `connect_failed`, `failed` when no answer came.
//! - `gateway_upstream_errors_total{action, status}` (counter): the attempts
//!   that failed: no answer (`timeout`, `connect_failed`, `failed`) or a
//!   `5xx`. Podero's `4xx` answers to a browser's request are answers, not
//!   errors (they are in the counter above).
//! - `gateway_upstream_request_duration_seconds{action}` (histogram,
//!   seconds): until Podero's answer head arrived (or the attempt failed).
//! - `gateway_token_renewals_total{trigger, result}` (counter): requests for
//!   a new access token. `trigger` is `due` (none yet, or about to expire)
//!   or `rejected` (Podero answered `401` to the current one); `result` is
//!   `ok`, `credentials_rejected` (the token endpoint refused the client
//!   id/secret: 400/401/403) or `failed` (anything else).
//!
//! The users read model ([`crate::directory`]):
//! - `gateway_users_snapshot_users` (gauge): users (archived too) in the
//!   snapshot being served — its size.
//! - `gateway_users_snapshot_timestamp_seconds` (gauge, Unix seconds): when
//!   that snapshot was taken.
//! - `gateway_users_snapshot_age_seconds` (gauge, seconds): how old it is,
//!   computed when `/metrics` is read (absent before the first snapshot).
//! - `gateway_users_snapshot_build_duration_seconds` (histogram, seconds):
//!   fetching and indexing one snapshot.
//!
//! The audit trail ([`crate::audit`]):
//! - `gateway_audit_write_duration_seconds` (histogram, seconds): one
//!   append of an audit record, until it is on disk (or failed): the wait
//!   for the writer and the commit of the batch it joined.
//!
//! Background jobs (`job`: `users_refresh`, `audit_refusal_flush`, and
//! whatever [`job_state`] / [`job_run`] are called with):
//! - `gateway_job_leader{job}` (gauge, 0 or 1): whether this instance runs
//!   the job now (holds its lease, where there is one).
//! - `gateway_job_runs_total{job, result}` (counter): finished runs,
//!   `result` `ok` or `failed`.
//! - `gateway_job_last_success_timestamp_seconds{job}` (gauge, Unix
//!   seconds): when a run last succeeded.
//!
//! Histograms have fixed buckets (see [`REQUEST_BUCKETS`],
//! [`AUDIT_BUCKETS`]). The recorder is process-wide: several gateways in one
//! process (the tests) share it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::podero::ApiRoute;

pub const HTTP_REQUESTS: &str = "gateway_http_requests_total";
pub const HTTP_DURATION: &str = "gateway_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "gateway_http_requests_in_flight";
pub const UPSTREAM_REQUESTS: &str = "gateway_upstream_requests_total";
pub const UPSTREAM_ERRORS: &str = "gateway_upstream_errors_total";
pub const UPSTREAM_DURATION: &str = "gateway_upstream_request_duration_seconds";
pub const TOKEN_RENEWALS: &str = "gateway_token_renewals_total";
pub const SNAPSHOT_USERS: &str = "gateway_users_snapshot_users";
pub const SNAPSHOT_TIMESTAMP: &str = "gateway_users_snapshot_timestamp_seconds";
pub const SNAPSHOT_AGE: &str = "gateway_users_snapshot_age_seconds";
pub const SNAPSHOT_BUILD: &str = "gateway_users_snapshot_build_duration_seconds";
pub const AUDIT_WRITE: &str = "gateway_audit_write_duration_seconds";
pub const JOB_LEADER: &str = "gateway_job_leader";
pub const JOB_RUNS: &str = "gateway_job_runs_total";
pub const JOB_LAST_SUCCESS: &str = "gateway_job_last_success_timestamp_seconds";

/// Job name of the users read model's refresh loop.
pub const JOB_USERS_REFRESH: &str = "users_refresh";
/// Job name of the loop that writes folded refusals to the audit trail.
pub const JOB_REFUSAL_FLUSH: &str = "audit_refusal_flush";

/// The `Content-Type` of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Buckets (seconds) of the request, upstream and snapshot histograms:
/// 5 ms to 60 s (the upstream timeout is 30 s by default).
pub const REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Buckets (seconds) of the audit write histogram: 0.5 ms to 5 s.
pub const AUDIT_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// How often histogram samples are folded into their buckets between
/// scrapes (so they do not pile up when nobody scrapes).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// When the served users snapshot was taken (Unix ms; `i64::MIN`: none).
static SNAPSHOT_AT_MS: AtomicI64 = AtomicI64::new(i64::MIN);

/// Install the Prometheus recorder for this process (the first call does;
/// later calls return the same handle) and describe every metric.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), REQUEST_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(UPSTREAM_DURATION.into()),
                        REQUEST_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(SNAPSHOT_BUILD.into()), REQUEST_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(AUDIT_WRITE.into()), AUDIT_BUCKETS)
                })
                .expect("the bucket lists are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                // Someone else's recorder is installed: `/metrics` answers,
                // but only with what this (unused) one records: nothing.
                tracing::warn!("could not install the Prometheus recorder: {e}");
            }
            describe();
            handle
        })
        .clone()
}

/// Help texts (the `# HELP` lines).
fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Answered requests, by method, route pattern and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time until a request's answer head was ready, by method and route pattern."
    );
    describe_gauge!(HTTP_IN_FLIGHT, "Requests being answered now.");
    describe_counter!(
        UPSTREAM_REQUESTS,
        "Requests to Podero (each attempt), by action and status (or timeout, connect_failed, failed)."
    );
    describe_counter!(
        UPSTREAM_ERRORS,
        "Requests to Podero that got no answer or a 5xx, by action and status."
    );
    describe_histogram!(
        UPSTREAM_DURATION,
        metrics::Unit::Seconds,
        "Time until Podero's answer head arrived, by action."
    );
    describe_counter!(
        TOKEN_RENEWALS,
        "Requests for a new access token, by trigger (due, rejected) and result (ok, credentials_rejected, failed)."
    );
    describe_gauge!(SNAPSHOT_USERS, "Users in the users snapshot being served.");
    describe_gauge!(
        SNAPSHOT_TIMESTAMP,
        metrics::Unit::Seconds,
        "When the users snapshot being served was taken (Unix time)."
    );
    describe_gauge!(
        SNAPSHOT_AGE,
        metrics::Unit::Seconds,
        "Age of the users snapshot being served."
    );
    describe_histogram!(
        SNAPSHOT_BUILD,
        metrics::Unit::Seconds,
        "Time to fetch and index one users snapshot."
    );
    describe_histogram!(
        AUDIT_WRITE,
        metrics::Unit::Seconds,
        "Time to append one audit record."
    );
    describe_gauge!(
        JOB_LEADER,
        "1 while this instance runs the background job (holds its lease), else 0."
    );
    describe_counter!(JOB_RUNS, "Finished runs of a background job, by result.");
    describe_gauge!(
        JOB_LAST_SUCCESS,
        metrics::Unit::Seconds,
        "When a background job last ran successfully (Unix time)."
    );
}

/// Whether this process records metrics ([`install`] was called).
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The metrics in the Prometheus text format, the snapshot age brought up
/// to date first.
pub fn render(handle: &PrometheusHandle) -> String {
    let at = SNAPSHOT_AT_MS.load(Ordering::Relaxed);
    if at != i64::MIN {
        let age_ms = Utc::now().timestamp_millis().saturating_sub(at).max(0);
        gauge!(SNAPSHOT_AGE).set(age_ms as f64 / 1000.0);
    }
    handle.render()
}

/// The metrics listener's router: `GET /metrics`, nothing else.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
                    render(&handle),
                )
            }
        }),
    )
}

/// The metrics listener, bound (so a busy address fails the start) but
/// not serving yet.
#[derive(Debug)]
pub struct Listener {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    handle: PrometheusHandle,
}

impl Listener {
    /// Install the recorder ([`install`]) and bind `addr` (port 0: any).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let handle = install();
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(Self {
            addr: listener.local_addr()?,
            listener,
            handle,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve `/metrics` until `signal` completes, folding histogram
    /// samples every few seconds meanwhile.
    pub async fn serve(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let upkeep = {
            let handle = self.handle.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
                loop {
                    tick.tick().await;
                    handle.run_upkeep();
                }
            })
        };
        // Served like the app (a time limit for a request's head).
        let result = serve::serve(
            self.listener,
            router(self.handle),
            serve::Limits::default(),
            signal,
        )
        .await;
        upkeep.abort();
        result
    }
}

/// A bounded `method` label.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Route label of a request under the forwarding catch-all, set once its
/// allow-listed route is known ([`label_partner_call`]).
#[derive(Debug, Clone, Default)]
struct PartnerRoute(Arc<OnceLock<&'static str>>);

/// Route label of the browser app's files and the `index.html` fallback.
pub const STATIC_ROUTE: &str = "static";

/// Lowers [`HTTP_IN_FLIGHT`] again when the request ends (also when its
/// connection is dropped mid-way).
struct InFlight;

impl InFlight {
    fn start() -> Self {
        gauge!(HTTP_IN_FLIGHT).increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(HTTP_IN_FLIGHT).decrement(1.0);
    }
}

/// The middleware around every route: counts and times each request by
/// method, route pattern and status (nothing without a recorder).
pub async fn track(mut req: Request, next: Next) -> Response {
    if !enabled() {
        return next.run(req).await;
    }
    let started = Instant::now();
    let _in_flight = InFlight::start();
    let method = method_label(req.method());
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let partner = PartnerRoute::default();
    req.extensions_mut().insert(partner.clone());
    let response = next.run(req).await;
    let route = match (partner.0.get(), matched) {
        (Some(action), _) => (*action).to_owned(),
        (None, Some(path)) => path,
        (None, None) => STATIC_ROUTE.to_owned(),
    };
    let status = response.status().as_u16().to_string();
    counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The middleware on the forwarding catch-all, inside the guard: labels
/// the request with its allow-listed route's action (parsed by the guard).
pub async fn label_partner_call(req: Request, next: Next) -> Response {
    if let (Some(route), Some(slot)) = (
        req.extensions().get::<ApiRoute>(),
        req.extensions().get::<PartnerRoute>(),
    ) {
        let _ = slot.0.set(route.action(req.method()).code());
    }
    next.run(req).await
}

/// Why an attempt towards Podero got no answer, as a `status` label.
pub fn transport_failure(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect_failed"
    } else {
        "failed"
    }
}

/// One attempt towards Podero: its answer's status, or why none came.
pub fn upstream_call(
    action: &'static str,
    elapsed: Duration,
    outcome: Result<StatusCode, &reqwest::Error>,
) {
    if !enabled() {
        return;
    }
    let (status, error) = match outcome {
        Ok(s) => (s.as_u16().to_string(), s.is_server_error()),
        Err(e) => (transport_failure(e).to_owned(), true),
    };
    if error {
        counter!(UPSTREAM_ERRORS, "action" => action, "status" => status.clone()).increment(1);
    }
    counter!(UPSTREAM_REQUESTS, "action" => action, "status" => status).increment(1);
    histogram!(UPSTREAM_DURATION, "action" => action).record(elapsed.as_secs_f64());
}

/// Why a new access token was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTrigger {
    /// None yet, or the cached one is about to expire.
    Due,
    /// Podero answered `401` to the cached one.
    Rejected,
}

/// A token renewal finished: `ok`, `credentials_rejected` or `failed`.
pub fn token_renewal(trigger: TokenTrigger, result: &'static str) {
    let trigger = match trigger {
        TokenTrigger::Due => "due",
        TokenTrigger::Rejected => "rejected",
    };
    counter!(TOKEN_RENEWALS, "trigger" => trigger, "result" => result).increment(1);
}

/// A new users snapshot is served: its size, time and build time.
pub fn users_snapshot(users: usize, taken_at: DateTime<Utc>, build: Duration) {
    SNAPSHOT_AT_MS.store(taken_at.timestamp_millis(), Ordering::Relaxed);
    gauge!(SNAPSHOT_USERS).set(users as f64);
    gauge!(SNAPSHOT_TIMESTAMP).set(taken_at.timestamp_millis() as f64 / 1000.0);
    histogram!(SNAPSHOT_BUILD).record(build.as_secs_f64());
}

/// Times one audit write: records the elapsed time when dropped.
#[must_use = "the write is timed until this is dropped"]
pub struct AuditWriteTimer(Instant);

impl Drop for AuditWriteTimer {
    fn drop(&mut self) {
        audit_write(self.0.elapsed());
    }
}

/// Start timing an audit write (`let _timer = audit_write_timer();` at
/// the top of the write).
pub fn audit_write_timer() -> AuditWriteTimer {
    AuditWriteTimer(Instant::now())
}

/// One audit write took `elapsed`.
pub fn audit_write(elapsed: Duration) {
    histogram!(AUDIT_WRITE).record(elapsed.as_secs_f64());
}

/// Whether this instance runs `job` now (holds its lease, where the job
/// has one).
pub fn job_state(job: &'static str, leader: bool) {
    gauge!(JOB_LEADER, "job" => job).set(if leader { 1.0 } else { 0.0 });
}

/// A run of `job` finished.
pub fn job_run(job: &'static str, ok: bool) {
    counter!(JOB_RUNS, "job" => job, "result" => if ok { "ok" } else { "failed" }).increment(1);
    if ok {
        gauge!(JOB_LAST_SUCCESS, "job" => job).set(Utc::now().timestamp_millis() as f64 / 1000.0);
    }
}

/// Marks `job` as running here until dropped (for the loops every
/// instance runs, which have no lease).
pub struct JobRunning(&'static str);

impl JobRunning {
    pub fn start(job: &'static str) -> Self {
        job_state(job, true);
        Self(job)
    }
}

impl Drop for JobRunning {
    fn drop(&mut self) {
        job_state(self.0, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }

    #[test]
    fn installing_twice_is_harmless() {
        let a = install();
        let b = install();
        counter!(JOB_RUNS, "job" => "unit_test_job", "result" => "ok").increment(1);
        let text = render(&a);
        assert!(
            text.contains(r#"gateway_job_runs_total{job="unit_test_job",result="ok"} 1"#),
            "{text}"
        );
        assert_eq!(text.lines().count(), render(&b).lines().count());
    }
}
