//! Stripe-style idempotency: a key is scoped to one endpoint and remembered with a SHA-256 of the
//! request (method, path, canonical body) and the answer it got. The same key and request
//! replays that answer; the same key with another request is refused.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;

/// Keys are per endpoint: the same key may be used once for a charge and once for a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Charges,
    Refunds,
}

/// The status and body a key answers with from now on.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub body: Value,
}

impl StoredResponse {
    /// The answer to the request that created the record.
    pub fn first(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }

    /// The answer to a retry: the same status and body, marked as a replay.
    pub fn replay(self) -> Response {
        let mut response = self.first();
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        response
    }
}

#[derive(Debug)]
struct Record {
    fingerprint: [u8; 32],
    response: StoredResponse,
}

/// Records never expire (Stripe keeps them 24 h); they live as long as the process.
#[derive(Debug, Default)]
pub struct IdempotencyStore {
    records: HashMap<(Scope, String), Record>,
}

impl IdempotencyStore {
    /// `Ok(None)`: a new key, go ahead. `Ok(Some(_))`: replay this. `Err`: the key was used for
    /// a different request.
    pub fn lookup(
        &self,
        scope: Scope,
        key: &str,
        fingerprint: &[u8; 32],
    ) -> Result<Option<StoredResponse>, ApiError> {
        match self.records.get(&(scope, key.to_owned())) {
            None => Ok(None),
            Some(record) if record.fingerprint == *fingerprint => Ok(Some(record.response.clone())),
            Some(_) => Err(ApiError::IdempotencyKeyReused),
        }
    }

    pub fn remember(
        &mut self,
        scope: Scope,
        key: String,
        fingerprint: [u8; 32],
        response: StoredResponse,
    ) {
        self.records.insert(
            (scope, key),
            Record {
                fingerprint,
                response,
            },
        );
    }
}

/// The `Idempotency-Key` header: required, exactly one, 1-255 visible ASCII characters.
pub fn key_from_headers(headers: &HeaderMap) -> Result<String, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let value = values.next().ok_or(ApiError::IdempotencyKeyMissing)?;
    if values.next().is_some() {
        return Err(ApiError::IdempotencyKeyInvalid);
    }
    let bytes = value.as_bytes();
    let visible = bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN || !visible {
        return Err(ApiError::IdempotencyKeyInvalid);
    }
    // All visible ASCII, so this cannot fail; map rather than unwrap anyway.
    value
        .to_str()
        .map(str::to_owned)
        .map_err(|_| ApiError::IdempotencyKeyInvalid)
}

/// SHA-256 of method, path and the canonical form of the (validated, normalised) body, so
/// that key order, whitespace, "12.3" vs "12.30" or an explicit null do not count as changes.
pub fn fingerprint(method: &str, path: &str, canonical_body: &Value) -> [u8; 32] {
    let mut text = String::new();
    write_canonical(canonical_body, &mut text);
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(text.as_bytes());
    hasher.finalize().into()
}

/// Compact JSON with object keys sorted. Written by hand because `serde_json::Map` keeps
/// insertion order when another crate in the build enables `preserve_order`.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_fingerprint() {
        let a = json!({"a": "1", "b": {"x": null, "y": ["z"]}});
        let b = json!({"b": {"y": ["z"], "x": null}, "a": "1"});
        assert_eq!(
            fingerprint("POST", "/v1/charges", &a),
            fingerprint("POST", "/v1/charges", &b)
        );
        assert_ne!(
            fingerprint("POST", "/v1/charges", &a),
            fingerprint("POST", "/v1/refunds", &a)
        );
    }
}
