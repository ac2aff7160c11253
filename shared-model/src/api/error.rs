//! The one error body every endpoint answers with.

use serde::{Deserialize, Serialize};

/// `{"error": {"code": "...", "message": "..."}}`: `code` is stable and meant for programs to
/// branch on; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    #[cfg_attr(feature = "openapi", schema(example = "validation_failed"))]
    pub code: String,
    pub message: String,
    /// The offending field, in the request's camelCase, when one field is to blame.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    /// Structured detail for the codes that have some (the short lines of `out_of_stock`, the
    /// moved prices of `price_changed`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub details: Option<serde_json::Value>,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                field: None,
                details: None,
            },
        }
    }
}
