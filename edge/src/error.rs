//! The edge's one error type, and the one place it becomes an HTTP answer.

use shared_model::ModelError;
use shared_model::api::error::ErrorBody;

use crate::host::HostError;
use crate::http::Response;

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// A value in the request broke a rule; `field` names it in camelCase.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("{0} not found")]
    NotFound(String),
    #[error("sign in first")]
    Unauthenticated,
    #[error("the sign-in token was refused: {0}")]
    BadToken(&'static str),
    #[error("the queue ticket was refused: {0}")]
    BadTicket(&'static str),
    #[error("too many requests; try again in a moment")]
    TooManyRequests,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the shop is not answering right now; please try again shortly")]
    CoreUnavailable(#[source] HostError),
    #[error("the shop answered something unexpected: {0}")]
    CoreAnswer(String),
    #[error("carts are unavailable right now: {0}")]
    Store(HostError),
    #[error("the edge is misconfigured: {0}")]
    Config(String),
}

impl EdgeError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        EdgeError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            EdgeError::Invalid { .. } | EdgeError::MalformedJson(_) => 400,
            EdgeError::BodyTooLarge { .. } => 413,
            EdgeError::NotFound(_) => 404,
            EdgeError::Unauthenticated | EdgeError::BadToken(_) => 401,
            EdgeError::BadTicket(_) => 403,
            EdgeError::TooManyRequests => 429,
            EdgeError::MethodNotAllowed => 405,
            EdgeError::CoreUnavailable(HostError::Timeout(_)) => 504,
            EdgeError::CoreUnavailable(_) | EdgeError::CoreAnswer(_) => 502,
            EdgeError::Store(_) => 503,
            EdgeError::Config(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            EdgeError::Invalid { .. } => "validation_failed",
            EdgeError::MalformedJson(_) => "malformed_json",
            EdgeError::BodyTooLarge { .. } => "body_too_large",
            EdgeError::NotFound(_) => "not_found",
            EdgeError::Unauthenticated => "unauthenticated",
            EdgeError::BadToken(_) => "invalid_token",
            EdgeError::BadTicket(_) => "invalid_ticket",
            EdgeError::TooManyRequests => "rate_limited",
            EdgeError::MethodNotAllowed => "method_not_allowed",
            EdgeError::CoreUnavailable(HostError::Timeout(_)) => "core_timeout",
            EdgeError::CoreUnavailable(_) | EdgeError::CoreAnswer(_) => "core_unavailable",
            EdgeError::Store(_) => "cart_store_unavailable",
            EdgeError::Config(_) => "misconfigured",
        }
    }

    /// The JSON answer (`{"error": {"code", "message", "field"}}`).
    pub fn to_response(&self) -> Response {
        let mut body = ErrorBody::new(self.code(), self.public_message());
        if let EdgeError::Invalid { field, .. } = self {
            body.error.field = Some(field.clone());
        }
        let response = Response::json(self.status(), &body);
        match self {
            EdgeError::TooManyRequests => response.with_header("retry-after", "1"),
            _ => response,
        }
    }

    /// What a buyer may read: internal details of the core and the runtime stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            EdgeError::CoreUnavailable(_) | EdgeError::CoreAnswer(_) => {
                "the shop is not answering right now; please try again shortly".into()
            }
            EdgeError::Store(_) => "carts are unavailable right now; please try again".into(),
            EdgeError::Config(_) => "the storefront is misconfigured".into(),
            other => other.to_string(),
        }
    }
}

impl From<ModelError> for EdgeError {
    fn from(err: ModelError) -> Self {
        match err {
            ModelError::Invalid { field, message } => EdgeError::Invalid { field, message },
            ModelError::UnknownCartLine(item) => EdgeError::NotFound(format!("cart item {item}")),
            ModelError::Token(reason) => EdgeError::BadToken(reason),
            other => EdgeError::invalid("cart", other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_timeout_is_a_gateway_timeout_without_internal_detail() {
        let err = EdgeError::CoreUnavailable(HostError::Timeout(std::time::Duration::from_secs(3)));
        let response = err.to_response();
        assert_eq!(response.status, 504);
        let body: ErrorBody = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body.error.code, "core_timeout");
        assert!(!body.error.message.contains("3s"), "{}", body.error.message);
    }

    #[test]
    fn a_bad_field_names_itself() {
        let response = EdgeError::invalid("quantity", "must be at least 1").to_response();
        assert_eq!(response.status, 400);
        let body: ErrorBody = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body.error.field.as_deref(), Some("quantity"));
    }
}
