//! Every refusal the gateway can answer, and the one place that turns it into Stripe-shaped
//! JSON: `{"error":{"type":...,"code":...,"message":...}}` plus `decline_code`/`charge` for
//! card errors. Handlers return `ApiError`; the status code and body are decided here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Why a card was declined; each maps to a Stripe `decline_code` and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    Generic,
    InsufficientFunds,
}

impl Decline {
    pub fn decline_code(self) -> &'static str {
        match self {
            Decline::Generic => "generic_decline",
            Decline::InsufficientFunds => "insufficient_funds",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Decline::Generic => "Your card was declined.",
            Decline::InsufficientFunds => "Your card has insufficient funds.",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Invalid API Key provided: send `Authorization: Bearer <secret key>`.")]
    InvalidApiKey,
    #[error("This endpoint requires an `Idempotency-Key` header.")]
    IdempotencyKeyMissing,
    #[error("The `Idempotency-Key` header must be 1-255 visible ASCII characters.")]
    IdempotencyKeyInvalid,
    #[error(
        "Keys for idempotent requests can only be used with the same parameters they were first used with."
    )]
    IdempotencyKeyReused,
    #[error("{0}")]
    BodyInvalid(String),
    #[error("{0}")]
    AmountInvalid(String),
    #[error("{0}")]
    CurrencyInvalid(String),
    #[error("{0}")]
    InvalidSource(String),
    #[error("{0}")]
    ParameterInvalid(String),
    #[error("{0}")]
    ResourceMissing(String),
    #[error("{0}")]
    AmountTooLarge(String),
    #[error("Charge {0} has already been refunded.")]
    ChargeAlreadyRefunded(String),
    #[error("Charge {0} failed and cannot be refunded.")]
    ChargeNotRefundable(String),
    #[error("{}", .decline.message())]
    CardDeclined { decline: Decline, charge: String },
    #[error("{0}")]
    Internal(String),
    #[error("Method not allowed on this URL.")]
    MethodNotAllowed,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidApiKey => StatusCode::UNAUTHORIZED,
            CardDeclined { .. } => StatusCode::PAYMENT_REQUIRED,
            ResourceMissing(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            IdempotencyKeyMissing
            | IdempotencyKeyInvalid
            | IdempotencyKeyReused
            | BodyInvalid(_)
            | AmountInvalid(_)
            | CurrencyInvalid(_)
            | InvalidSource(_)
            | ParameterInvalid(_)
            | AmountTooLarge(_)
            | ChargeAlreadyRefunded(_)
            | ChargeNotRefundable(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// Stripe's `(type, code)` pair.
    fn kind(&self) -> (&'static str, &'static str) {
        use ApiError::*;
        match self {
            InvalidApiKey => ("authentication_error", "invalid_api_key"),
            IdempotencyKeyMissing => ("invalid_request_error", "idempotency_key_missing"),
            IdempotencyKeyInvalid => ("invalid_request_error", "idempotency_key_invalid"),
            IdempotencyKeyReused => ("idempotency_error", "idempotency_key_reused"),
            BodyInvalid(_) => ("invalid_request_error", "body_invalid"),
            AmountInvalid(_) => ("invalid_request_error", "amount_invalid"),
            CurrencyInvalid(_) => ("invalid_request_error", "currency_invalid"),
            InvalidSource(_) => ("invalid_request_error", "invalid_source"),
            ParameterInvalid(_) => ("invalid_request_error", "parameter_invalid"),
            ResourceMissing(_) => ("invalid_request_error", "resource_missing"),
            AmountTooLarge(_) => ("invalid_request_error", "amount_too_large"),
            ChargeAlreadyRefunded(_) => ("invalid_request_error", "charge_already_refunded"),
            ChargeNotRefundable(_) => ("invalid_request_error", "charge_not_refundable"),
            CardDeclined { .. } => ("card_error", "card_declined"),
            Internal(_) => ("api_error", "internal_error"),
            MethodNotAllowed => ("invalid_request_error", "method_not_allowed"),
        }
    }

    /// The JSON body; also what the idempotency store keeps for a stored decline.
    pub fn body(&self) -> Value {
        let (kind, code) = self.kind();
        let mut error = Map::new();
        error.insert("type".into(), kind.into());
        error.insert("code".into(), code.into());
        error.insert("message".into(), self.to_string().into());
        if let ApiError::CardDeclined { decline, charge } = self {
            error.insert("decline_code".into(), decline.decline_code().into());
            error.insert("charge".into(), charge.clone().into());
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
