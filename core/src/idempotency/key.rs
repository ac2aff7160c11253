use axum::http::HeaderValue;

use crate::error::ApiError;

/// A client-chosen key: 1-255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &HeaderValue) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
        };
        let text = value.to_str().map_err(|_| invalid())?;
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid());
        }
        Ok(IdempotencyKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse(&HeaderValue::from_static("idem_abc123")).is_ok());
        assert!(IdempotencyKey::parse(&HeaderValue::from_static("")).is_err());
        assert!(IdempotencyKey::parse(&HeaderValue::from_static("has space")).is_err());
        let long = HeaderValue::from_str(&"k".repeat(256)).unwrap();
        assert!(IdempotencyKey::parse(&long).is_err());
    }
}
