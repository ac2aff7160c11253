//! Sessions in Redis: a token is only honoured while its session exists, so logging out (or
//! an admin suspending an account) takes effect before the token's own expiry.

use redis::AsyncCommands;
use shared_model::auth::SESSION_TTL_SECONDS;
use shared_model::ids::{SessionId, UserId};

use crate::error::ApiError;
use crate::kv::Redis;

fn key(redis: &Redis, session: SessionId) -> String {
    redis.key(&format!("session:{session}"))
}

pub async fn create(redis: &Redis, session: SessionId, user: UserId) -> Result<(), ApiError> {
    let mut conn = redis.connection().await.map_err(unavailable)?;
    conn.set_ex::<_, _, ()>(key(redis, session), user.get(), SESSION_TTL_SECONDS as u64)
        .await
        .map_err(unavailable)
}

/// Whether the session is live and belongs to `user`.
pub async fn is_live(redis: &Redis, session: SessionId, user: UserId) -> Result<bool, ApiError> {
    let mut conn = redis.connection().await.map_err(unavailable)?;
    let owner: Option<i64> = conn.get(key(redis, session)).await.map_err(unavailable)?;
    Ok(owner == Some(user.get()))
}

pub async fn revoke(redis: &Redis, session: SessionId) -> Result<(), ApiError> {
    let mut conn = redis.connection().await.map_err(unavailable)?;
    conn.del::<_, ()>(key(redis, session))
        .await
        .map_err(unavailable)
}

fn unavailable(err: redis::RedisError) -> ApiError {
    tracing::warn!(error = %err, "session store unavailable");
    ApiError::unavailable(
        "session_store_unavailable",
        "sign-in cannot be checked right now; try again shortly",
    )
}
