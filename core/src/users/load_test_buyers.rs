//! `edgeshop-core user load-test-buyers`: many signed-in customers at once, for a load test.
//! Registering 100,000 buyers through the API would spend its time hashing passwords, which is
//! not what a flash-sale test measures: here they share one password hash, get an address and
//! a live session each, and their tokens are written to a file the load tool reads
//! (`userId,addressId,token` per line). Refused in production.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::Utc;
use shared_model::auth::{Claims, Role, SESSION_TTL_SECONDS};
use shared_model::ids::{SessionId, UserId};
use sqlx::PgPool;

use crate::auth::{TokenKeys, password};
use crate::config::{Config, Environment};

const BATCH: usize = 1_000;

pub async fn create(
    db: &PgPool,
    config: &Config,
    count: usize,
    prefix: &str,
    out: &Path,
) -> anyhow::Result<usize> {
    if config.environment == Environment::Production {
        bail!("load-test buyers are refused in production");
    }
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        bail!("--prefix must be letters, digits and dashes");
    }
    let keys = TokenKeys::load(&config.jwt_key, config.environment)?;
    let hash = password::hash(
        shared_model::users::Password::parse("load-test-buyer-password")
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    )
    .await?;
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
    );
    let now = Utc::now();
    let mut written = 0;
    for start in (0..count).step_by(BATCH) {
        let end = (start + BATCH).min(count);
        let emails: Vec<String> = (start..end)
            .map(|i| format!("{prefix}-{i}@loadtest.edgeshop.local"))
            .collect();
        let mut tx = db.begin().await?;
        let users: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, first_name, last_name, role)
             SELECT email, $2, 'Load', 'Tester', 'CUSTOMER' FROM unnest($1::TEXT[]) AS email
             RETURNING user_id",
        )
        .bind(&emails)
        .bind(&hash)
        .fetch_all(&mut *tx)
        .await
        .context("creating buyers (does the prefix exist already?)")?;
        let addresses: std::collections::HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
            "INSERT INTO addresses (user_id, street_address, city, state, postal_code, country, is_default)
             SELECT id, '1 Load Test Way', 'Austin', 'TX', '73301', 'US', true
               FROM unnest($1::BIGINT[]) AS id
             RETURNING user_id, address_id",
        )
        .bind(&users)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let sessions: Vec<uuid::Uuid> = users.iter().map(|_| uuid::Uuid::new_v4()).collect();
        sqlx::query(
            "INSERT INTO user_sessions (session_id, user_id, created_at, expires_at)
             SELECT s, u, $3, $4 FROM unnest($1::UUID[], $2::BIGINT[]) AS t(s, u)",
        )
        .bind(&sessions)
        .bind(&users)
        .bind(now)
        .bind(now + chrono::Duration::seconds(SESSION_TTL_SECONDS))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        for (user, session) in users.iter().zip(&sessions) {
            let address = *addresses.get(user).context("an address for every buyer")?;
            let claims = Claims::new(
                UserId::new(*user),
                Role::Customer,
                SessionId(*session),
                now.timestamp(),
            );
            let token = keys.sign(&claims).map_err(|e| anyhow::anyhow!("{e}"))?;
            writeln!(file, "{user},{address},{token}")?;
            written += 1;
        }
    }
    file.flush()?;
    Ok(written)
}
