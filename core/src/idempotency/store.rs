//! The `idempotency_keys` table: claim a key, complete it with the response, or let it go.

use sqlx::PgPool;

use super::KEY_TTL_HOURS;

/// A claim on a key that is still running longer than this is presumed dead (its process
/// crashed) and may be taken over; handlers behind keys are themselves idempotent.
const IN_PROGRESS_LEASE_SECONDS: i64 = 120;

// Claims and stored responses are committed without waiting for the disk (`synchronous_commit
// = off`, set inside each statement): a checkout request writes four of them, and waiting for
// a WAL flush on each was most of a request's commit time. The WAL is one ordered log, so a
// database crash can only lose its latest commits: a claim is durable as soon as any effect of
// its handler is (the handler commits synchronously after it); what a crash in the next few
// hundred milliseconds can lose is a stored response, which leaves the key IN_PROGRESS until
// its lease expires, the same state a core crash between the handler and `complete` leaves.

#[derive(Debug)]
pub enum Claim {
    /// First use (or a dead claim taken over): run the request.
    Proceed,
    /// The same request finished before: answer with its stored response.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_hash: String,
    status: String,
    response_status: Option<i16>,
    response_headers: Option<serde_json::Value>,
    response_body: Option<Vec<u8>>,
    lease_expired: bool,
}

/// A request's key, as the middleware claims it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::FromRow)]
pub struct KeyOf {
    /// Who asked and where: keys are per caller and route.
    pub scope: String,
    #[sqlx(rename = "idempotency_key")]
    pub key: String,
}

/// Claims every key of `claims` that is new (or expired) in one statement, in the order
/// given; answers those it claimed. A key not answered is in use: [`claim`] tells how. No key
/// may appear twice.
pub async fn claim_new(
    db: impl sqlx::PgExecutor<'_>,
    claims: &[(&KeyOf, &str)],
) -> Result<Vec<KeyOf>, sqlx::Error> {
    let scopes: Vec<&str> = claims.iter().map(|(k, _)| k.scope.as_str()).collect();
    let keys: Vec<&str> = claims.iter().map(|(k, _)| k.key.as_str()).collect();
    let hashes: Vec<&str> = claims.iter().map(|(_, hash)| *hash).collect();
    sqlx::query_as(
        "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, status, expires_at)
         SELECT c.scope, c.idempotency_key, c.request_hash, 'IN_PROGRESS',
                now() + make_interval(hours => $4)
           FROM UNNEST($1::text[], $2::text[], $3::text[]) AS c (scope, idempotency_key, request_hash),
                (SELECT set_config('synchronous_commit', 'off', true) AS setting) AS async_commit
          WHERE async_commit.setting = 'off'
         ON CONFLICT (scope, idempotency_key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, status = 'IN_PROGRESS',
               response_status = NULL, response_headers = NULL, response_body = NULL,
               created_at = now(), expires_at = EXCLUDED.expires_at
           WHERE idempotency_keys.expires_at < now()
         RETURNING scope, idempotency_key",
    )
    .bind(&scopes)
    .bind(&keys)
    .bind(&hashes)
    .bind(KEY_TTL_HOURS as i32)
    .fetch_all(db)
    .await
}

/// Stores the responses of claimed keys in one statement; answers the keys it completed. No
/// key may appear twice.
pub async fn complete_many(
    db: impl sqlx::PgExecutor<'_>,
    completed: &[(&KeyOf, &StoredResponse)],
) -> Result<Vec<KeyOf>, sqlx::Error> {
    let scopes: Vec<&str> = completed.iter().map(|(k, _)| k.scope.as_str()).collect();
    let keys: Vec<&str> = completed.iter().map(|(k, _)| k.key.as_str()).collect();
    let statuses: Vec<i16> = completed.iter().map(|(_, r)| r.status as i16).collect();
    let headers: Vec<serde_json::Value> = completed
        .iter()
        .map(|(_, r)| serde_json::to_value(&r.headers).unwrap_or_default())
        .collect();
    let bodies: Vec<&[u8]> = completed.iter().map(|(_, r)| r.body.as_slice()).collect();
    sqlx::query_as(
        "UPDATE idempotency_keys k
            SET status = 'COMPLETED', response_status = c.response_status,
                response_headers = c.response_headers, response_body = c.response_body
           FROM UNNEST($1::text[], $2::text[], $3::int2[], $4::jsonb[], $5::bytea[])
                  AS c (scope, idempotency_key, response_status, response_headers, response_body),
                (SELECT set_config('synchronous_commit', 'off', true) AS setting) AS async_commit
          WHERE async_commit.setting = 'off'
            AND k.scope = c.scope AND k.idempotency_key = c.idempotency_key
         RETURNING k.scope, k.idempotency_key",
    )
    .bind(&scopes)
    .bind(&keys)
    .bind(&statuses)
    .bind(&headers)
    .bind(&bodies)
    .fetch_all(db)
    .await
}

pub async fn claim(
    db: &PgPool,
    scope: &str,
    key: &str,
    request_hash: &str,
) -> Result<Claim, sqlx::Error> {
    let this = KeyOf {
        scope: scope.to_owned(),
        key: key.to_owned(),
    };
    // Two attempts: a key that expires or is released between our statements is simply claimed
    // again on the second pass.
    for _ in 0..2 {
        let claimed = claim_new(db, &[(&this, request_hash)]).await?;
        if !claimed.is_empty() {
            return Ok(Claim::Proceed);
        }
        let existing: Option<KeyRow> = sqlx::query_as(
            "SELECT request_hash, status, response_status, response_headers, response_body,
                        created_at < now() - make_interval(secs => $3) AS lease_expired
                   FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(IN_PROGRESS_LEASE_SECONDS as f64)
        .fetch_optional(db)
        .await?;
        let Some(row) = existing else {
            continue;
        };
        if row.request_hash != request_hash {
            return Ok(Claim::Mismatch);
        }
        if row.status == "COMPLETED" {
            return Ok(Claim::Replay(StoredResponse {
                status: row.response_status.map(|s| s as u16).unwrap_or(200),
                headers: row
                    .response_headers
                    .and_then(|h| serde_json::from_value(h).ok())
                    .unwrap_or_default(),
                body: row.response_body.unwrap_or_default(),
            }));
        }
        if !row.lease_expired {
            return Ok(Claim::InFlight);
        }
        let taken: Option<bool> = sqlx::query_scalar(
            "UPDATE idempotency_keys SET created_at = now()
              WHERE scope = $1 AND idempotency_key = $2 AND status = 'IN_PROGRESS'
                AND created_at < now() - make_interval(secs => $3)
             RETURNING true",
        )
        .bind(scope)
        .bind(key)
        .bind(IN_PROGRESS_LEASE_SECONDS as f64)
        .fetch_optional(db)
        .await?;
        return Ok(if taken.is_some() {
            Claim::Proceed
        } else {
            Claim::InFlight
        });
    }
    Ok(Claim::InFlight)
}

pub async fn complete(
    db: &PgPool,
    scope: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<(), sqlx::Error> {
    let this = KeyOf {
        scope: scope.to_owned(),
        key: key.to_owned(),
    };
    complete_one(db, &this, response).await.map(|_| ())
}

/// Stores the response of one claimed key: one statement in a transaction of its own, found
/// by the primary key whatever the plan. Answers whether the key was claimed.
pub async fn complete_one(
    db: impl sqlx::PgExecutor<'_>,
    key: &KeyOf,
    response: &StoredResponse,
) -> Result<bool, sqlx::Error> {
    let completed = sqlx::query(
        "UPDATE idempotency_keys
            SET status = 'COMPLETED', response_status = $3, response_headers = $4,
                response_body = $5
          WHERE scope = $1 AND idempotency_key = $2
            AND set_config('synchronous_commit', 'off', true) = 'off'",
    )
    .bind(&key.scope)
    .bind(&key.key)
    .bind(response.status as i16)
    .bind(serde_json::to_value(&response.headers).unwrap_or_default())
    .bind(response.body.as_slice())
    .execute(db)
    .await?;
    Ok(completed.rows_affected() == 1)
}

/// Forgets a claim whose request failed on our side, so a retry runs afresh.
pub async fn release(db: &PgPool, scope: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND status = 'IN_PROGRESS'",
    )
    .bind(scope)
    .bind(key)
    .execute(db)
    .await
    .map(|_| ())
}

/// Deletes expired keys; run periodically.
pub async fn purge_expired(db: &PgPool) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE expires_at < now()")
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
