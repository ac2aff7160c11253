//! Sessions: a token is only honoured while its session is live, so logging out takes effect
//! before the token's own expiry.
//!
//! PostgreSQL records every session (`user_sessions`); Redis caches the answer to "is this
//! session live?" for a few minutes, so a request normally costs one Redis GET. Redis keeps
//! nothing on disk: after a restart or FLUSHALL the answers are read again from PostgreSQL, and
//! while Redis is unreachable every check goes to PostgreSQL. Nobody is signed out by a Redis
//! incident, and an ended session never comes back.

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use shared_model::auth::SESSION_TTL_SECONDS;
use shared_model::ids::{SessionId, UserId};
use sqlx::PgPool;

use crate::error::ApiError;
use crate::kv::Redis;

/// How long a cached answer may be used: also the longest a logout whose cache eviction
/// failed (Redis flapping at that very moment) can go unnoticed by other processes.
const CACHE_SECONDS: i64 = 300;
/// Cached for a session that is not live (ended, expired or unknown).
const NOT_LIVE: i64 = 0;

fn key(redis: &Redis, session: SessionId) -> String {
    redis.key(&format!("session:{session}"))
}

/// Records a new session; the caller signs a token for it.
pub async fn create(
    db: &PgPool,
    redis: &Redis,
    session: SessionId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let expires_at = now + chrono::Duration::seconds(SESSION_TTL_SECONDS);
    sqlx::query(
        "INSERT INTO user_sessions (session_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(session.0)
    .bind(user.get())
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    cache(redis, session, user.get()).await;
    Ok(())
}

/// Whether the session is live and belongs to `user`.
pub async fn is_live(
    db: &PgPool,
    redis: &Redis,
    session: SessionId,
    user: UserId,
) -> Result<bool, ApiError> {
    if let Some(owner) = cached(redis, session).await {
        return Ok(owner == user.get());
    }
    let owner: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM user_sessions
          WHERE session_id = $1 AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(session.0)
    .fetch_optional(db)
    .await?;
    cache(redis, session, owner.unwrap_or(NOT_LIVE)).await;
    Ok(owner == Some(user.get()))
}

/// Ends a session everywhere: recorded first, then the cached answer is replaced.
pub async fn revoke(db: &PgPool, redis: &Redis, session: SessionId) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE user_sessions SET revoked_at = now() WHERE session_id = $1 AND revoked_at IS NULL",
    )
    .bind(session.0)
    .execute(db)
    .await?;
    cache(redis, session, NOT_LIVE).await;
    Ok(())
}

/// Forgets sessions that expired more than a day ago (the table's housekeeping).
pub async fn purge_expired(db: &PgPool) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM user_sessions WHERE expires_at < now() - interval '1 day'")
        .execute(db)
        .await
        .map(|done| done.rows_affected())
}

/// The cached owner of a session (`NOT_LIVE` when it is not live); `None` when there is no
/// cached answer or Redis cannot be asked.
async fn cached(redis: &Redis, session: SessionId) -> Option<i64> {
    let mut conn = redis.connection().await.map_err(cache_failed).ok()?;
    conn.get::<_, Option<i64>>(key(redis, session))
        .await
        .map_err(cache_failed)
        .ok()
        .flatten()
}

/// Caches an answer; a failure only costs the next check a PostgreSQL read.
async fn cache(redis: &Redis, session: SessionId, owner: i64) {
    let Ok(mut conn) = redis.connection().await.map_err(cache_failed) else {
        return;
    };
    let _ = conn
        .set_ex::<_, _, ()>(key(redis, session), owner, CACHE_SECONDS as u64)
        .await
        .map_err(cache_failed);
}

fn cache_failed(err: redis::RedisError) {
    metrics::counter!("auth_session_cache_failures_total").increment(1);
    tracing::debug!(error = %err, "session cache unavailable; using PostgreSQL");
}
