//! The error body of the Partner API, which the gateway uses too.
//!
//! Podero does not document its error envelope. REFERENCE.md's best guess
//! (Django-Ninja defaults) is `{"detail": "message"}` for HTTP errors and
//! `{"detail": [{"type", "loc", "msg"}]}` for validation errors; the emulator
//! and the gateway both answer in that shape, the gateway adding a
//! machine-readable `code` (e.g. `upstream_timeout`).

use serde::{Deserialize, Serialize};

/// `{"detail": ..., "code": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub detail: ErrorDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Only in the gateway's refusal of a customer file's column mapping
    /// (`/api/sync/…`, `invalid_query`): the file's header row and the
    /// columns that could be used, to choose the missing one from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<crate::sync::FileColumns>,
}

/// A plain message or a list of validation issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ErrorDetail {
    Message(String),
    Validation(Vec<ValidationIssue>),
}

/// One rejected field: `loc` is the path to it, e.g. `["body", "email"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationIssue {
    #[serde(rename = "type")]
    pub kind: String,
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
}

impl ValidationIssue {
    /// The field name this issue is about: the last string of `loc`.
    pub fn field(&self) -> Option<&str> {
        self.loc.iter().rev().find_map(|v| v.as_str())
    }
}

impl ApiError {
    pub fn message(detail: impl Into<String>) -> Self {
        Self {
            detail: ErrorDetail::Message(detail.into()),
            code: None,
            columns: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Validation errors for request-body fields.
    pub fn validation(errors: &[crate::FieldError]) -> Self {
        let issues = errors
            .iter()
            .map(|e| ValidationIssue {
                kind: "value_error".into(),
                loc: vec!["body".into(), e.field.clone().into()],
                msg: e.message.clone(),
            })
            .collect();
        Self {
            detail: ErrorDetail::Validation(issues),
            code: None,
            columns: None,
        }
    }

    /// One human-readable sentence for a toast or a log line.
    pub fn summary(&self) -> String {
        match &self.detail {
            ErrorDetail::Message(m) => m.clone(),
            ErrorDetail::Validation(issues) => issues
                .iter()
                .map(|i| match i.field() {
                    Some(f) => format!("{f}: {}", i.msg),
                    None => i.msg.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// The message for one field, if the error names it.
    pub fn field_message(&self, field: &str) -> Option<&str> {
        match &self.detail {
            ErrorDetail::Validation(issues) => issues
                .iter()
                .find(|i| i.field() == Some(field))
                .map(|i| i.msg.as_str()),
            ErrorDetail::Message(_) => None,
        }
    }
}
