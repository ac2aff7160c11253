//! Hot stock counters in Redis: the fast, atomic front of the reservation path (seed 6.3).
//!
//! Redis is a cache of PostgreSQL here, never the truth: a counter holds what was available when
//! it was loaded, minus what was reserved through it since. Counters are created only by
//! loading from PostgreSQL (never by an increment on a missing key), so after a restart or a
//! FLUSHALL every counter is rebuilt from the database before it takes a reservation. Every key
//! shares the `{stock}` hash tag, so the multi-key scripts also run on Redis Cluster.

use std::collections::HashMap;

use redis::{Script, Value};
use shared_model::ids::{InventoryId, SagaId};

use crate::kv::Redis;

static RESERVE: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("lua/reserve.lua")));
static RELEASE: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("lua/release.lua")));
static CONFIRM: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("lua/confirm.lua")));

/// Key names under the shop's prefix.
#[derive(Clone)]
pub struct StockKeys {
    redis: Redis,
}

impl StockKeys {
    pub fn new(redis: Redis) -> Self {
        StockKeys { redis }
    }

    pub fn counter_prefix(&self) -> String {
        self.redis.key("{stock}:avail:")
    }

    pub fn counter(&self, inventory: InventoryId) -> String {
        self.redis.key(&format!("{{stock}}:avail:{inventory}"))
    }

    pub fn hold(&self, saga: SagaId) -> String {
        self.redis.key(&format!("{{stock}}:hold:{saga}"))
    }

    pub fn expiry(&self) -> String {
        self.redis.key("{stock}:expiry")
    }
}

/// One line to reserve: how many, and the stock rows that may supply it, nearest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDemand {
    pub quantity: u32,
    pub candidates: Vec<InventoryId>,
}

/// What the reserve script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterReservation {
    /// Reserved now (or, on a retry, earlier): quantity per stock row.
    Held(Vec<(InventoryId, u32)>),
    /// Nothing reserved; per short line (0-based), the units that were free.
    Short(Vec<(usize, u32)>),
    /// These stock rows have no counter yet: load them and try again.
    Missing(Vec<InventoryId>),
}

pub async fn reserve(
    keys: &StockKeys,
    saga: SagaId,
    expires_at_ms: i64,
    lines: &[LineDemand],
) -> redis::RedisResult<CounterReservation> {
    // Every candidate row once, in first-seen order; lines refer to them by position.
    let mut rows: Vec<InventoryId> = Vec::new();
    let mut position: HashMap<InventoryId, usize> = HashMap::new();
    for line in lines {
        for row in &line.candidates {
            position.entry(*row).or_insert_with(|| {
                rows.push(*row);
                rows.len()
            });
        }
    }
    let mut invocation = RESERVE.prepare_invoke();
    invocation.key(keys.hold(saga)).key(keys.expiry());
    for row in &rows {
        invocation.key(keys.counter(*row));
    }
    invocation
        .arg(saga.to_string())
        .arg(expires_at_ms)
        .arg(lines.len());
    for line in lines {
        invocation.arg(line.quantity).arg(line.candidates.len());
        for row in &line.candidates {
            invocation.arg(position[row]);
        }
    }
    let mut conn = keys.redis.connection().await?;
    let reply: Value = invocation.invoke_async(&mut conn).await?;
    parse_reservation(reply, &rows)
}

fn parse_reservation(reply: Value, rows: &[InventoryId]) -> redis::RedisResult<CounterReservation> {
    let unexpected = || {
        redis::RedisError::from((
            redis::ErrorKind::TypeError,
            "unexpected reply from the reserve script",
        ))
    };
    let Value::Array(parts) = reply else {
        return Err(unexpected());
    };
    let (Some(tag), Some(Value::Array(items))) = (parts.first(), parts.get(1)) else {
        return Err(unexpected());
    };
    let numbers: Vec<i64> = items
        .iter()
        .map(integer)
        .collect::<Option<_>>()
        .ok_or_else(unexpected)?;
    let tag: String = redis::from_redis_value(tag)?;
    Ok(match tag.as_str() {
        "OK" | "HELD" => CounterReservation::Held(
            numbers
                .chunks(2)
                .map(|p| (InventoryId::new(p[0]), p[1].max(0) as u32))
                .collect(),
        ),
        "SHORT" => CounterReservation::Short(
            numbers
                .chunks(2)
                .map(|p| ((p[0] - 1).max(0) as usize, p[1].max(0) as u32))
                .collect(),
        ),
        "LOAD" => CounterReservation::Missing(
            numbers
                .iter()
                .filter_map(|p| rows.get((*p - 1).max(0) as usize).copied())
                .collect(),
        ),
        _ => return Err(unexpected()),
    })
}

/// A reply element as an integer, whether Redis sent it as a number or as text.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        Value::SimpleString(text) => text.parse().ok(),
        _ => None,
    }
}

/// Gives a saga's held units back (release, expiry, compensation). Idempotent.
pub async fn release(keys: &StockKeys, saga: SagaId) -> redis::RedisResult<u32> {
    let mut conn = keys.redis.connection().await?;
    RELEASE
        .key(keys.hold(saga))
        .key(keys.expiry())
        .arg(saga.to_string())
        .arg(keys.counter_prefix())
        .invoke_async(&mut conn)
        .await
}

/// Forgets a sold saga's hold without giving units back. Idempotent.
pub async fn confirm(keys: &StockKeys, saga: SagaId) -> redis::RedisResult<bool> {
    let mut conn = keys.redis.connection().await?;
    let existed: i64 = CONFIRM
        .key(keys.hold(saga))
        .key(keys.expiry())
        .arg(saga.to_string())
        .invoke_async(&mut conn)
        .await?;
    Ok(existed > 0)
}

/// Creates counters that do not exist yet, from PostgreSQL's figures. An existing counter is
/// kept: it already carries reservations PostgreSQL may not have committed yet.
pub async fn load_missing(
    keys: &StockKeys,
    available: &[(InventoryId, i32)],
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for (row, units) in available {
        pipe.cmd("SET")
            .arg(keys.counter(*row))
            .arg(*units)
            .arg("NX")
            .ignore();
    }
    let mut conn = keys.redis.connection().await?;
    pipe.query_async(&mut conn).await
}

/// Overwrites counters with PostgreSQL's figures, after the database refused what Redis
/// allowed (the counter had drifted) or after stock was changed by an admin.
pub async fn resync(keys: &StockKeys, available: &[(InventoryId, i32)]) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for (row, units) in available {
        pipe.set(keys.counter(*row), *units).ignore();
    }
    let mut conn = keys.redis.connection().await?;
    pipe.query_async(&mut conn).await
}

/// Held sagas with their expiry (ms), soonest first, at most `limit` (for the orphan sweep).
pub async fn holds(keys: &StockKeys, limit: usize) -> redis::RedisResult<Vec<(SagaId, i64)>> {
    let mut conn = keys.redis.connection().await?;
    let members: Vec<(String, i64)> = redis::cmd("ZRANGE")
        .arg(keys.expiry())
        .arg(0)
        .arg(limit.saturating_sub(1))
        .arg("WITHSCORES")
        .query_async(&mut conn)
        .await?;
    Ok(members
        .into_iter()
        .filter_map(|(m, score)| Some((SagaId::parse(&m).ok()?, score)))
        .collect())
}

/// The current counter of a row, if loaded (tests and diagnostics).
pub async fn counter(keys: &StockKeys, row: InventoryId) -> redis::RedisResult<Option<i64>> {
    let mut conn = keys.redis.connection().await?;
    redis::cmd("GET")
        .arg(keys.counter(row))
        .query_async(&mut conn)
        .await
}
