//! The middleware that puts every POST behind its `Idempotency-Key`.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::key::IdempotencyKey;
use super::store::{self, Claim, KeyOf, StoredResponse};
use crate::auth::guards::verified_claims;
use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Bodies larger than this are refused before they are hashed.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
const MAX_STORED_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Headers worth replaying; the correlation id belongs to the new request.
const STORED_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::LOCATION];

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    match run(state, req, next).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

/// The key of a request: the `Idempotency-Key` header, or else an `idempotencyKey` field of a
/// JSON body (for clients that cannot set headers, as the seed's pay request does).
fn key_of(
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    if let Some(raw) = parts.headers.get(HEADER) {
        return IdempotencyKey::parse(raw).map(Some);
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json || !body.windows(14).any(|w| w == b"idempotencyKey") {
        return Ok(None);
    }
    let field = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("idempotencyKey")
                .and_then(|k| k.as_str())
                .map(str::to_owned)
        });
    match field {
        Some(text) => HeaderValue::from_str(&text)
            .map_err(|_| {
                ApiError::bad_request(
                    "invalid_idempotency_key",
                    "idempotencyKey must be visible ASCII",
                )
            })
            .and_then(|v| IdempotencyKey::parse(&v))
            .map(Some),
        None => Ok(None),
    }
}

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let Some(key) = key_of(&parts, &bytes)? else {
        return Ok(next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await);
    };
    let Some(principal) = principal(&state, &parts) else {
        // A token is present but invalid: the handler will refuse it; nothing to remember.
        return Ok(next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await);
    };
    let claimed = KeyOf {
        scope: format!("{principal} {} {}", parts.method, parts.uri.path()),
        key: key.as_str().to_owned(),
    };
    let request_hash = hash_request(&parts.method, &parts.uri, &bytes);
    match state
        .idempotency_keys
        .claim(claimed.clone(), request_hash)
        .await?
    {
        Claim::Proceed => {}
        Claim::Replay(stored) => return Ok(replay(stored)),
        Claim::Mismatch => {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ));
        }
        Claim::InFlight => {
            return Err(ApiError::conflict(
                "idempotency_key_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ));
        }
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (response_parts, response_body) = response.into_parts();
    let body = match to_bytes(response_body, MAX_STORED_RESPONSE_BYTES).await {
        Ok(body) => body,
        Err(err) => {
            store::release(&state.db, &claimed.scope, &claimed.key).await?;
            return Err(ApiError::Internal(anyhow::anyhow!(
                "reading a response to store it: {err}"
            )));
        }
    };
    if is_final(response_parts.status) {
        let stored = StoredResponse {
            status: response_parts.status.as_u16(),
            headers: STORED_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = response_parts.headers.get(name)?.to_str().ok()?;
                    Some((name.as_str().to_owned(), value.to_owned()))
                })
                .collect(),
            body: body.to_vec(),
        };
        state.idempotency_keys.complete(claimed, stored).await?;
    } else {
        store::release(&state.db, &claimed.scope, &claimed.key).await?;
    }
    Ok(Response::from_parts(response_parts, Body::from(body)))
}

/// Whether a response is the request's settled outcome, worth replaying. Failures on our side
/// and answers that depend on the moment (rate limits, sign-in state) are not.
fn is_final(status: StatusCode) -> bool {
    !(status.is_server_error()
        // 202: accepted but undecided (a payment whose outcome is unknown); a retry asks again.
        || status == StatusCode::ACCEPTED
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::REQUEST_TIMEOUT)
}

/// Who sent the request: keys are per caller, so two clients cannot collide or read each
/// other's answers. `None` when a token is present but not valid.
fn principal(state: &AppState, parts: &axum::http::request::Parts) -> Option<String> {
    match verified_claims(state, &parts.headers) {
        Ok(Some(claims)) => Some(format!("user:{}", claims.sub)),
        Ok(None) => Some("anonymous".to_owned()),
        Err(_) => None,
    }
}

fn hash_request(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(
        uri.path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("")
            .as_bytes(),
    );
    hasher.update(b"\n");
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}
