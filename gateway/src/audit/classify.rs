//! What an `/api` request is, for the audit trail: its action name, the
//! end-user it concerns (from the path), and whether it is a change (as
//! opposed to a read, a sign-in or a refresh). One table for every route
//! of the gateway, so no handler can forget to name its action.

use axum::http::Method;
use shared::audit_action::AuditAction;
use shared::cases::{
    CASES_ASSIGNEES_PATH, CASES_CSV_PATH, CASES_PATH, CASES_SUMMARY_PATH, WATCH_PATH,
    WEBHOOK_DELIVERIES_PATH,
};
use shared::directory::{
    DIRECTORY_CSV_PATH, DIRECTORY_RECONNECTION_PATH, DIRECTORY_REFRESH_PATH, DIRECTORY_USERS_PATH,
};
use shared::self_service::OUTBOX_PATH;
use shared::staff::{
    AUDIT_CSV_PATH, AUDIT_PATH, LANGUAGE_PATH, PASSWORD_PATH, SESSION_PATH, TEAM_PATH,
};
use uuid::Uuid;

use crate::podero::ApiRoute;
use crate::request::is_write;

/// The audit view of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub action: AuditAction,
    pub target_user_id: Option<Uuid>,
    /// Changes data (users, devices, buildings, the team, a password).
    pub is_change: bool,
}

fn c(action: AuditAction, target_user_id: Option<Uuid>, is_change: bool) -> Classified {
    Classified {
        action,
        target_user_id,
        is_change,
    }
}

/// Classify `method path` (the path without its query); `route` is the
/// Partner API route the guard parsed from it, if it is one.
pub fn classify(method: &Method, path: &str, route: Option<&ApiRoute>) -> Classified {
    let get = !is_write(method);
    match path {
        SESSION_PATH => match *method {
            Method::POST => c(AuditAction::SessionSignIn, None, false),
            Method::DELETE => c(AuditAction::SessionSignOut, None, false),
            _ => c(AuditAction::SessionRead, None, false),
        },
        PASSWORD_PATH => c(AuditAction::SessionPasswordChange, None, !get),
        LANGUAGE_PATH => c(AuditAction::SessionLanguage, None, !get),
        "/api/app-info" => c(AuditAction::AppInfo, None, false),
        DIRECTORY_USERS_PATH => c(AuditAction::UsersSearch, None, false),
        DIRECTORY_CSV_PATH => c(AuditAction::UsersExport, None, false),
        DIRECTORY_REFRESH_PATH => c(AuditAction::UsersRefresh, None, false),
        DIRECTORY_RECONNECTION_PATH if get => c(AuditAction::UsersReconnectionReport, None, false),
        DIRECTORY_RECONNECTION_PATH => c(AuditAction::UsersReconnectionScan, None, false),
        TEAM_PATH if get => c(AuditAction::TeamList, None, false),
        TEAM_PATH => c(AuditAction::TeamInvite, None, true),
        AUDIT_PATH => c(AuditAction::AuditRead, None, false),
        AUDIT_CSV_PATH => c(AuditAction::AuditExport, None, false),
        CASES_PATH if get => c(AuditAction::CaseList, None, false),
        CASES_PATH => c(AuditAction::CaseOpen, None, true),
        CASES_CSV_PATH => c(AuditAction::CaseExport, None, false),
        CASES_SUMMARY_PATH => c(AuditAction::CaseSummary, None, false),
        CASES_ASSIGNEES_PATH => c(AuditAction::CaseAssignees, None, false),
        WATCH_PATH => c(AuditAction::CaseWatchStatus, None, false),
        WEBHOOK_DELIVERIES_PATH => c(AuditAction::CaseWebhookDeliveries, None, false),
        OUTBOX_PATH => c(AuditAction::DeviceSelfServiceOutbox, None, false),
        _ => classify_nested(method, get, path, route),
    }
}

fn classify_nested(m: &Method, get: bool, path: &str, route: Option<&ApiRoute>) -> Classified {
    if let Some(rest) = path.strip_prefix("/api/team/") {
        return if rest.ends_with("/sessions") {
            c(AuditAction::TeamEndSessions, None, !get)
        } else if rest.ends_with("/password") {
            c(AuditAction::TeamPasswordReset, None, !get)
        } else if *m == Method::DELETE {
            c(AuditAction::TeamRemove, None, true)
        } else {
            c(AuditAction::TeamRoleChange, None, !get)
        };
    }
    if let Some(rest) = path.strip_prefix("/api/cases/") {
        return if rest.ends_with("/comments") {
            c(AuditAction::CaseComment, None, !get)
        } else if get {
            c(AuditAction::CaseRead, None, false)
        } else {
            c(AuditAction::CaseUpdate, None, true)
        };
    }
    if let Some(rest) = path.strip_prefix("/api/watch/users/") {
        return c(
            AuditAction::CaseWatchUser,
            Uuid::parse_str(rest).ok(),
            false,
        );
    }
    if let Some(rest) = path.strip_prefix("/api/users/") {
        return classify_self_service(m, rest);
    }
    if let Some(rest) = path.strip_prefix("/api/sync/") {
        return classify_sync(get, rest);
    }
    if let Some(rest) = path.strip_prefix("/api/audit/users/") {
        return c(
            AuditAction::AuditUserHistory,
            Uuid::parse_str(rest).ok(),
            false,
        );
    }
    let Some(route) = route else {
        return c(AuditAction::ApiRefused, None, false);
    };
    // A method the route does not have is refused, not a change.
    let change = !get && route.methods().contains(m);
    c(route.action(m), route.user_id(), change)
}

/// `/api/users/{id}/self-service-…`: a user's self-service links.
fn classify_self_service(m: &Method, rest: &str) -> Classified {
    let (user, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let user = Uuid::parse_str(user).ok();
    match (tail, m) {
        ("self-service-link", &Method::POST) => c(AuditAction::DeviceSelfServiceLink, user, true),
        ("self-service-email", &Method::POST) => c(AuditAction::DeviceSelfServiceEmail, user, true),
        ("self-service-links", &Method::GET) => c(AuditAction::DeviceSelfServiceLinks, user, false),
        (t, &Method::DELETE) if t.starts_with("self-service-links/") => {
            c(AuditAction::DeviceSelfServiceRevoke, user, true)
        }
        _ => c(AuditAction::ApiRefused, None, false),
    }
}

/// `/api/sync/{rest}`: the dry run and the data-quality report read;
/// starting, pausing and resuming a run are changes (each write of a run
/// has its own record, made by the run).
fn classify_sync(get: bool, rest: &str) -> Classified {
    match rest {
        "dry-run" => c(AuditAction::SyncDryRun, None, false),
        "quality" | "quality.csv" => c(AuditAction::SyncQuality, None, false),
        "runs" if get => c(AuditAction::SyncRuns, None, false),
        "runs" => c(AuditAction::SyncStart, None, true),
        _ if rest.ends_with("/report.csv") => c(AuditAction::SyncReport, None, false),
        _ if get => c(AuditAction::SyncRun, None, false),
        _ if rest.ends_with("/pause") => c(AuditAction::SyncPause, None, true),
        _ if rest.ends_with("/resume") => c(AuditAction::SyncResume, None, true),
        _ => c(AuditAction::ApiRefused, None, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_route() {
        let org = Uuid::from_u128(1);
        let u = Uuid::from_u128(2);
        let classify = |m: &Method, path: &str, org: Uuid| {
            let route = crate::podero::parse_path(path, org).ok();
            classify(m, path, route.as_ref())
        };
        let d = Uuid::from_u128(3);
        let api = |rest: &str| format!("/api/partners/v2.0/org/{org}{rest}");
        let cases = [
            (
                Method::POST,
                SESSION_PATH.to_string(),
                "session.sign_in",
                None,
                false,
            ),
            (
                Method::PUT,
                LANGUAGE_PATH.to_string(),
                "session.language",
                None,
                true,
            ),
            (
                Method::GET,
                "/api/directory/users".into(),
                "users.search",
                None,
                false,
            ),
            (Method::POST, api("/users"), "user.create", None, true),
            (
                Method::PUT,
                api(&format!("/users/{u}")),
                "user.update",
                Some(u),
                true,
            ),
            (
                Method::DELETE,
                api(&format!("/users/{u}")),
                "user.archive",
                Some(u),
                true,
            ),
            (
                Method::GET,
                api(&format!("/users/{u}/wallboxes/{d}")),
                "device.read",
                Some(u),
                false,
            ),
            (
                Method::POST,
                api(&format!("/users/{u}/wallboxes/{d}/auth_session")),
                "device.reconnection_link",
                Some(u),
                true,
            ),
            (
                Method::PUT,
                api(&format!("/users/{u}/buildings/{d}")),
                "building.update",
                Some(u),
                true,
            ),
            (
                Method::DELETE,
                format!("/api/team/{u}/sessions"),
                "team.end_sessions",
                None,
                true,
            ),
            (
                Method::PATCH,
                format!("/api/team/{u}"),
                "team.role_change",
                None,
                true,
            ),
            (
                Method::GET,
                format!("/api/audit/users/{u}"),
                "audit.user_history",
                Some(u),
                false,
            ),
            (
                Method::POST,
                format!("/api/team/{u}/password"),
                "team.password_reset",
                None,
                true,
            ),
            (
                Method::PATCH,
                api(&format!("/users/{u}")),
                "user.update",
                Some(u),
                false,
            ),
            (
                Method::GET,
                "/api/nothing".into(),
                "api.refused",
                None,
                false,
            ),
            (
                Method::POST,
                format!("/api/users/{u}/self-service-link"),
                "device.self_service_link",
                Some(u),
                true,
            ),
            (
                Method::DELETE,
                format!("/api/users/{u}/self-service-links/7"),
                "device.self_service_revoke",
                Some(u),
                true,
            ),
            (
                Method::POST,
                format!("/api/users/{u}/self-service-email"),
                "device.self_service_email",
                Some(u),
                true,
            ),
            (
                Method::GET,
                format!("/api/users/{u}/self-service-links"),
                "device.self_service_links",
                Some(u),
                false,
            ),
            (
                Method::PUT,
                format!("/api/users/{u}/self-service-link"),
                "api.refused",
                None,
                false,
            ),
        ];
        for (m, path, action, target, change) in cases {
            let got = classify(&m, &path, org);
            assert_eq!(
                (got.action.code(), got.target_user_id, got.is_change),
                (action, target, change),
                "{m} {path}"
            );
        }
    }
}
