//! Request bodies: read as bytes and parsed here so that every malformed, oversized or
//! mistyped body becomes a 400 `body_invalid` in the gateway's own error shape, never axum's
//! plain-text rejection.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        ApiError::BodyInvalid(format!("could not read the request body: {rejection}"))
    })?;
    if bytes.is_empty() {
        return Err(ApiError::BodyInvalid(
            "the request body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::BodyInvalid(format!("invalid JSON body: {err}")))
}
