//! The core's one error type and its mapping to HTTP, in one place.
//!
//! Handlers return `ApiError`; every variant becomes `{"error": {"code", "message"}}` with a
//! stable `code`. Database constraint violations are translated by constraint name, so the
//! schema's own rules speak in the API's language instead of surfacing as 500s.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared_model::ModelError;
use shared_model::api::{ErrorBody, ErrorDetail};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApiError {
    /// The request could not be read (malformed JSON, a bad header, a bad path segment).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The request was read but a value broke a rule.
    #[error(transparent)]
    Validation(#[from] ModelError),
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// A refusal that carries structured detail (the short lines of an out-of-stock checkout).
    #[error("{message}")]
    Detailed {
        status: StatusCode,
        code: &'static str,
        message: String,
        details: serde_json::Value,
    },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unavailable {
            code,
            message: message.into(),
        }
    }

    /// Status, code, message and the blamed field, as the client will see them.
    fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        match self {
            ApiError::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, code, message.clone(), None)
            }
            ApiError::Validation(err) => validation_parts(err),
            ApiError::Unauthorized { code, message } => {
                (StatusCode::UNAUTHORIZED, code, message.clone(), None)
            }
            ApiError::Forbidden { code, message } => {
                (StatusCode::FORBIDDEN, code, message.clone(), None)
            }
            ApiError::NotFound { code, message } => {
                (StatusCode::NOT_FOUND, code, message.clone(), None)
            }
            ApiError::Conflict { code, message } => {
                (StatusCode::CONFLICT, code, message.clone(), None)
            }
            ApiError::Unprocessable { code, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                message.clone(),
                None,
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large".into(),
                None,
            ),
            ApiError::UnsupportedMediaType { message } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message.clone(),
                None,
            ),
            ApiError::Unavailable { code, message } => {
                (StatusCode::SERVICE_UNAVAILABLE, code, message.clone(), None)
            }
            ApiError::Database(err) => database_parts(err),
            ApiError::Detailed {
                status,
                code,
                message,
                ..
            } => (*status, code, message.clone(), None),
            ApiError::Internal(_) => internal(),
        }
    }
}

fn internal() -> (StatusCode, &'static str, String, Option<String>) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "something went wrong on our side; it has been logged".into(),
        None,
    )
}

fn validation_parts(err: &ModelError) -> (StatusCode, &'static str, String, Option<String>) {
    match err {
        ModelError::Invalid { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field} {message}"),
            Some(field.clone()),
        ),
        ModelError::CurrencyMismatch { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "currency_mismatch",
            err.to_string(),
            None,
        ),
        ModelError::IllegalTransition { .. } => (
            StatusCode::CONFLICT,
            "illegal_transition",
            err.to_string(),
            None,
        ),
        ModelError::ReturnWindowClosed(_) => (
            StatusCode::CONFLICT,
            "return_window_closed",
            err.to_string(),
            None,
        ),
        ModelError::UnknownCartLine(_) => (
            StatusCode::NOT_FOUND,
            "cart_item_not_found",
            err.to_string(),
            None,
        ),
        ModelError::Token(_) => (
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            err.to_string(),
            None,
        ),
        ModelError::Overflow(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
            err.to_string(),
            None,
        ),
    }
}

/// Known constraints, by name, and what they mean to a client.
const CONSTRAINTS: &[(&str, StatusCode, &str, &str)] = &[
    (
        "users_email_key",
        StatusCode::CONFLICT,
        "email_taken",
        "an account with this email already exists",
    ),
    (
        "products_sku_key",
        StatusCode::CONFLICT,
        "sku_taken",
        "a product with this SKU already exists",
    ),
    (
        "product_variants_sku_key",
        StatusCode::CONFLICT,
        "sku_taken",
        "a variant with this SKU already exists",
    ),
    (
        "products_category_id_fkey",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_category",
        "categoryId names no category",
    ),
    (
        "products_seller_id_fkey",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_seller",
        "sellerId names no seller",
    ),
    (
        "inventory_warehouse_id_fkey",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_warehouse",
        "warehouseId names no warehouse",
    ),
    (
        "inventory_product_id_fkey",
        StatusCode::NOT_FOUND,
        "product_not_found",
        "productId names no product",
    ),
    (
        "inventory_variant_of_product",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_variant",
        "variantId is not a variant of this product",
    ),
    (
        "inventory_reserved_within_total",
        StatusCode::CONFLICT,
        "stock_below_reserved",
        "the new total is below the units already reserved by buyers",
    ),
    (
        "inventory_total_non_negative",
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "stock cannot be negative",
    ),
    (
        "products_sale_price_check",
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "salePrice must not be above basePrice",
    ),
];

fn database_parts(err: &sqlx::Error) -> (StatusCode, &'static str, String, Option<String>) {
    let Some(db) = err.as_database_error() else {
        return match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database is not reachable right now; try again shortly".into(),
                None,
            ),
            _ => internal(),
        };
    };
    if let Some(name) = db.constraint()
        && let Some((_, status, code, message)) = CONSTRAINTS.iter().find(|(n, ..)| *n == name)
    {
        return (*status, code, (*message).to_owned(), None);
    }
    // Unnamed but recognisable rule violations are still the client's, not ours.
    match db.code().as_deref() {
        Some("23505") => (
            StatusCode::CONFLICT,
            "conflict",
            "this would duplicate an existing record".into(),
            None,
        ),
        Some("23503") => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reference",
            "the request refers to a record that does not exist".into(),
            None,
        ),
        Some("23514") | Some("22003") | Some("22001") => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "a value is out of the allowed range".into(),
            None,
        ),
        Some("40001") | Some("40P01") => (
            StatusCode::SERVICE_UNAVAILABLE,
            "retry",
            "the request collided with another; try again".into(),
            None,
        ),
        _ => internal(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = self.parts();
        let details = match &self {
            ApiError::Detailed { details, .. } => Some(details.clone()),
            _ => None,
        };
        if status.is_server_error() {
            // Details stay in the log (with the request's correlation id), never in the answer.
            tracing::error!(error = ?self, "request failed");
        } else {
            tracing::debug!(%status, code, %message, "request refused");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                field,
                details,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Renders an error body for layers that work outside handlers (timeouts, panics, 404s).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody::new(code, message);
    (status, axum::Json(body)).into_response()
}
