//! Rate limits on the checkout routes (seed 8.2 layer 4, seed 16.7): per buyer (1 request a
//! second per action: initiate, pay, join the queue), per client IP (10 a second across them)
//! and a global cap on checkouts in flight across every core process. Over a limit the answer
//! is 429 with `Retry-After`. The counters live in Redis; when Redis is unreachable the limits
//! are skipped rather than the shop closed (stock stays safe without them).

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use redis::Script;

use crate::auth::guards::{from_the_edge, verified_claims};
use crate::error::error_response;
use crate::kv::Redis;
use crate::state::AppState;

static WINDOW: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/window.lua")));
static SLOTS: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/slots.lua")));

const WINDOW_MS: i64 = 1_000;

/// The limits, from configuration; 0 turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_buyer_per_second: u32,
    pub per_ip_per_second: u32,
    pub max_concurrent_checkouts: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_buyer_per_second: 1,
            per_ip_per_second: 10,
            max_concurrent_checkouts: 1_000,
        }
    }
}

/// The limited action a request is, if any.
fn action(method: &Method, path: &str) -> Option<&'static str> {
    if method != Method::POST {
        return None;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["", "api", "checkout", "initiate"] => Some("initiate"),
        ["", "api", "checkout", _, "pay"] => Some("pay"),
        ["", "api", "flash-sales", _, "queue"] => Some("queue"),
        _ => None,
    }
}

pub async fn checkout_limits(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(action) = action(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let limits = state.config.rate_limits;
    let now_ms = Utc::now().timestamp_millis();
    if limits.per_buyer_per_second > 0
        && let Some(user) = buyer(&state, &request)
        && !allowed(
            &state.redis,
            &format!("rl:buyer:{action}:{user}"),
            limits.per_buyer_per_second,
            now_ms,
        )
        .await
    {
        return too_many(
            "rate_limited",
            "one request a second per buyer; slow down",
            now_ms,
        );
    }
    if limits.per_ip_per_second > 0 {
        let ip = client_ip(&state, &request);
        if !allowed(
            &state.redis,
            &format!("rl:ip:{ip}"),
            limits.per_ip_per_second,
            now_ms,
        )
        .await
        {
            return too_many(
                "rate_limited",
                "too many checkout requests from this address",
                now_ms,
            );
        }
    }
    if limits.max_concurrent_checkouts == 0 || action == "queue" {
        return next.run(request).await;
    }
    let slots = state.redis.key("rl:checkouts-in-flight");
    let slot = uuid::Uuid::new_v4().to_string();
    let stale_before = now_ms - state.config.request_timeout.as_millis() as i64;
    match take_slot(
        &state.redis,
        &slots,
        &slot,
        now_ms,
        stale_before,
        limits.max_concurrent_checkouts,
    )
    .await
    {
        Some(false) => too_many(
            "checkout_busy",
            "too many checkouts are in progress; try again in a moment",
            now_ms,
        ),
        taken => {
            let response = next.run(request).await;
            if taken == Some(true) {
                free_slot(&state.redis, &slots, &slot).await;
            }
            response
        }
    }
}

/// The signed-in buyer, from a token that verifies (the route's own guard checks the session).
fn buyer(state: &AppState, request: &Request) -> Option<i64> {
    // Read as the guard reads it, so no spelling of the header slips past the limit.
    let claims = verified_claims(state, request.headers()).ok()??;
    Some(claims.sub.get())
}

/// The buyer's address: the one the edge reports when the edge is the caller, else the peer.
fn client_ip(state: &AppState, request: &Request) -> String {
    if from_the_edge(request.headers(), state.config.edge_secret.as_deref())
        && let Some(forwarded) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return forwarded.trim().to_owned();
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// One more request against a sliding one-second window of `limit`.
async fn allowed(redis: &Redis, name: &str, limit: u32, now_ms: i64) -> bool {
    let window = now_ms.div_euclid(WINDOW_MS);
    let previous_weight = 1_000 - now_ms.rem_euclid(WINDOW_MS) * 1_000 / WINDOW_MS;
    let answer: redis::RedisResult<i64> = async {
        let mut conn = redis.connection().await?;
        WINDOW
            .key(redis.key(&format!("{name}:{window}")))
            .key(redis.key(&format!("{name}:{}", window - 1)))
            .arg(previous_weight)
            .arg(limit)
            .arg(WINDOW_MS)
            .invoke_async(&mut conn)
            .await
    }
    .await;
    match answer {
        Ok(allowed) => allowed == 1,
        Err(err) => {
            tracing::warn!(error = %err, "rate limits skipped: Redis unreachable");
            true
        }
    }
}

/// Takes a checkout slot: `Some(true)` taken, `Some(false)` all busy, `None` Redis unreachable.
async fn take_slot(
    redis: &Redis,
    slots: &str,
    slot: &str,
    now_ms: i64,
    stale_before: i64,
    cap: u32,
) -> Option<bool> {
    let answer: redis::RedisResult<i64> = async {
        let mut conn = redis.connection().await?;
        SLOTS
            .key(slots)
            .arg(now_ms)
            .arg(stale_before)
            .arg(cap)
            .arg(slot)
            .invoke_async(&mut conn)
            .await
    }
    .await;
    match answer {
        Ok(taken) => Some(taken == 1),
        Err(err) => {
            tracing::warn!(error = %err, "checkout cap skipped: Redis unreachable");
            None
        }
    }
}

async fn free_slot(redis: &Redis, slots: &str, slot: &str) {
    let freed: redis::RedisResult<()> = async {
        let mut conn = redis.connection().await?;
        redis::cmd("ZREM")
            .arg(slots)
            .arg(slot)
            .query_async(&mut conn)
            .await
    }
    .await;
    if let Err(err) = freed {
        tracing::warn!(error = %err, "a checkout slot stays taken until it goes stale");
    }
}

fn too_many(code: &str, message: &str, now_ms: i64) -> Response {
    metrics::counter!("rate_limited_requests_total", "code" => code.to_owned()).increment(1);
    // The current window ends within the second.
    let wait = ((WINDOW_MS - now_ms.rem_euclid(WINDOW_MS)).max(1) + 999) / 1_000;
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, code, message).into_response();
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_checkout_commands_are_limited() {
        assert_eq!(
            action(&Method::POST, "/api/checkout/initiate"),
            Some("initiate")
        );
        assert_eq!(action(&Method::POST, "/api/checkout/abc/pay"), Some("pay"));
        assert_eq!(
            action(&Method::POST, "/api/flash-sales/7/queue"),
            Some("queue")
        );
        assert_eq!(action(&Method::GET, "/api/checkout/abc"), None);
        assert_eq!(action(&Method::POST, "/api/auth/login"), None);
        assert_eq!(action(&Method::POST, "/api/checkout/a/b/pay"), None);
    }
}
