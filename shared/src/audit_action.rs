//! The actions of the audit trail: every code the gateway writes into a
//! record (`user.update`, `session.sign_in`, …), once, with its label in
//! German and English.
//!
//! The gateway names each record's action by an [`AuditAction`], never by
//! a string of its own, so a new action cannot reach the trail without a
//! label here (and `every_action_has_a_label_in_both_languages` fails
//! until both catalogs have it). The app shows [`action_label`]: the label
//! of a known code, the code itself for one it does not know (a record of
//! a newer gateway). The codes stay as they are in the trail's JSON and
//! CSV, which machines read.

use crate::i18n::{tr, Lang};

/// Defines [`AuditAction`] from one table: variant, code, catalog key.
macro_rules! actions {
    ($($variant:ident => $code:literal, $key:literal;)*) => {
        /// What one operation of the audit trail was.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            /// Every action, in the table's order.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The code in the trail, e.g. `user.update`.
            pub const fn code(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $code,)*
                }
            }

            /// The catalog key of the label (`shared/locales`).
            const fn key(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $key,)*
                }
            }
        }
    };
}

actions! {
    SessionSignIn => "session.sign_in", "audit_action.session_sign_in";
    SessionSignOut => "session.sign_out", "audit_action.session_sign_out";
    SessionRead => "session.read", "audit_action.session_read";
    SessionPasswordChange => "session.password_change", "audit_action.session_password_change";
    SessionLanguage => "session.language", "audit_action.session_language";
    AppInfo => "app.info", "audit_action.app_info";
    UsersSearch => "users.search", "audit_action.users_search";
    UsersList => "users.list", "audit_action.users_list";
    UsersExport => "users.export", "audit_action.users_export";
    UsersRefresh => "users.refresh", "audit_action.users_refresh";
    UsersReconnectionReport => "users.reconnection_report", "audit_action.users_reconnection_report";
    UsersReconnectionScan => "users.reconnection_scan", "audit_action.users_reconnection_scan";
    UserCreate => "user.create", "audit_action.user_create";
    UserFindByExternalId => "user.find_by_external_id", "audit_action.user_find_by_external_id";
    UserRead => "user.read", "audit_action.user_read";
    UserUpdate => "user.update", "audit_action.user_update";
    UserArchive => "user.archive", "audit_action.user_archive";
    DeviceList => "device.list", "audit_action.device_list";
    DeviceRegister => "device.register", "audit_action.device_register";
    DeviceRead => "device.read", "audit_action.device_read";
    DeviceUpdate => "device.update", "audit_action.device_update";
    DeviceDelete => "device.delete", "audit_action.device_delete";
    DeviceReconnectionLink => "device.reconnection_link", "audit_action.device_reconnection_link";
    DeviceSelfServiceLink => "device.self_service_link", "audit_action.device_self_service_link";
    DeviceSelfServiceEmail => "device.self_service_email", "audit_action.device_self_service_email";
    DeviceSelfServiceLinks => "device.self_service_links", "audit_action.device_self_service_links";
    DeviceSelfServiceRevoke => "device.self_service_revoke", "audit_action.device_self_service_revoke";
    DeviceSelfServiceOutbox => "device.self_service_outbox", "audit_action.device_self_service_outbox";
    DeviceSelfServiceOpen => "device.self_service_open", "audit_action.device_self_service_open";
    DeviceSelfServiceReconnect => "device.self_service_reconnect", "audit_action.device_self_service_reconnect";
    DeviceSelfServiceRefused => "device.self_service_refused", "audit_action.device_self_service_refused";
    BuildingList => "building.list", "audit_action.building_list";
    BuildingCreate => "building.create", "audit_action.building_create";
    BuildingRead => "building.read", "audit_action.building_read";
    BuildingUpdate => "building.update", "audit_action.building_update";
    BuildingDelete => "building.delete", "audit_action.building_delete";
    TeamList => "team.list", "audit_action.team_list";
    TeamInvite => "team.invite", "audit_action.team_invite";
    TeamRoleChange => "team.role_change", "audit_action.team_role_change";
    TeamRemove => "team.remove", "audit_action.team_remove";
    TeamEndSessions => "team.end_sessions", "audit_action.team_end_sessions";
    TeamPasswordReset => "team.password_reset", "audit_action.team_password_reset";
    AuditRead => "audit.read", "audit_action.audit_read";
    AuditExport => "audit.export", "audit_action.audit_export";
    AuditUserHistory => "audit.user_history", "audit_action.audit_user_history";
    CaseList => "case.list", "audit_action.case_list";
    CaseOpen => "case.open", "audit_action.case_open";
    CaseRead => "case.read", "audit_action.case_read";
    CaseUpdate => "case.update", "audit_action.case_update";
    CaseComment => "case.comment", "audit_action.case_comment";
    CaseResolve => "case.resolve", "audit_action.case_resolve";
    CaseExport => "case.export", "audit_action.case_export";
    CaseSummary => "case.summary", "audit_action.case_summary";
    CaseAssignees => "case.assignees", "audit_action.case_assignees";
    CaseWatchStatus => "case.watch_status", "audit_action.case_watch_status";
    CaseWatchUser => "case.watch_user", "audit_action.case_watch_user";
    CaseWebhookDeliveries => "case.webhook_deliveries", "audit_action.case_webhook_deliveries";
    SyncDryRun => "sync.dry_run", "audit_action.sync_dry_run";
    SyncQuality => "sync.quality", "audit_action.sync_quality";
    SyncRuns => "sync.runs", "audit_action.sync_runs";
    SyncStart => "sync.start", "audit_action.sync_start";
    SyncRun => "sync.run", "audit_action.sync_run";
    SyncReport => "sync.report", "audit_action.sync_report";
    SyncPause => "sync.pause", "audit_action.sync_pause";
    SyncResume => "sync.resume", "audit_action.sync_resume";
    ApiRefused => "api.refused", "audit_action.api_refused";
}

impl AuditAction {
    /// The action of a code in the trail; `None` for one this build does
    /// not know.
    pub fn parse(code: &str) -> Option<AuditAction> {
        AuditAction::ALL.iter().copied().find(|a| a.code() == code)
    }

    /// The label in `lang`, e.g. "User changed" / "Benutzer geändert".
    pub fn label_in(self, lang: Lang) -> String {
        tr(lang, self.key(), &[])
    }
}

/// The label of the action `code` in `lang`; the code itself when it is
/// not one of [`AuditAction::ALL`] (written by a newer gateway).
pub fn action_label(code: &str, lang: Lang) -> String {
    AuditAction::parse(code).map_or_else(|| code.to_string(), |a| a.label_in(lang))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::i18n::flat_entries;

    #[test]
    fn every_action_has_a_label_in_both_languages() {
        let en = flat_entries(include_str!("../locales/en.yml"));
        let de = flat_entries(include_str!("../locales/de.yml"));
        for a in AuditAction::ALL {
            let (Some(english), Some(german)) = (en.get(a.key()), de.get(a.key())) else {
                panic!(
                    "{} ({}) lacks a label in en.yml or de.yml",
                    a.code(),
                    a.key()
                );
            };
            assert!(!english.trim().is_empty() && !german.trim().is_empty());
            assert_eq!(a.label_in(Lang::En), *english);
            assert_eq!(a.label_in(Lang::De), *german);
        }
        // The catalogs have no label of an action that is gone.
        let keys: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.key()).collect();
        for key in en.keys().chain(de.keys()) {
            if key.starts_with("audit_action.") {
                assert!(keys.contains(key.as_str()), "{key} names no action");
            }
        }
    }

    #[test]
    fn codes_and_keys_are_unique_and_parse_back() {
        let codes: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.code()).collect();
        let keys: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.key()).collect();
        assert_eq!(codes.len(), AuditAction::ALL.len());
        assert_eq!(keys.len(), AuditAction::ALL.len());
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.code()), Some(*a));
            // `group.name`, the group being the part the filter offers.
            let (group, name) = a.code().split_once('.').expect("group.name");
            assert!(!group.is_empty() && !name.is_empty(), "{}", a.code());
        }
    }

    #[test]
    fn labels_follow_the_language_and_unknown_codes_stay_raw() {
        assert_eq!(action_label("user.create", Lang::En), "User created");
        assert_eq!(action_label("user.create", Lang::De), "Benutzer angelegt");
        assert_eq!(action_label("user.update", Lang::De), "Benutzer geändert");
        assert_eq!(action_label("robot.dance", Lang::De), "robot.dance");
        assert_eq!(action_label("", Lang::En), "");
    }
}
