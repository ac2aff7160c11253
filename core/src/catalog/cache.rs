//! Cache-aside for catalog reads in Redis (seed Part 9: catalog 1 h, product details 30 min,
//! category tree 6 h), invalidated on change by generation counters.
//!
//! Each cached value carries the generation it was read under; a write bumps the generation
//! after its transaction commits. A reader that loaded the database before a write therefore
//! stores its value under the old generation, where no later reader will accept it: a stale
//! fill can never outlive an invalidation. Redis being down only costs speed: every read falls
//! through to PostgreSQL.

use std::time::Duration;

use bytes::Bytes;
use redis::AsyncCommands;
use shared_model::ids::ProductId;

use crate::kv::Redis;

pub const LIST_TTL: Duration = Duration::from_secs(60 * 60);
pub const DETAIL_TTL: Duration = Duration::from_secs(30 * 60);
pub const CATEGORY_TREE_TTL: Duration = Duration::from_secs(6 * 60 * 60);
/// Generation counters outlive every value cached under them (the longest TTL is 6 h), then
/// expire, so counters of products nobody edits do not pile up.
const GENERATION_TTL_SECONDS: i64 = 24 * 60 * 60;

/// A cache entry: where it lives, the counter that invalidates it, and its lifetime.
/// Both keys share a hash tag, so the pair is one slot on Redis Cluster (MGET needs that).
pub struct Entry {
    key: String,
    generation_key: String,
    ttl: Duration,
}

impl Entry {
    /// A page of the product listing, keyed by its canonical query.
    pub fn listing(redis: &Redis, canonical_query: &str) -> Self {
        Entry {
            key: redis.key(&format!("{{catalog}}:list:{canonical_query}")),
            generation_key: redis.key("{catalog}:generation"),
            ttl: LIST_TTL,
        }
    }

    pub fn product(redis: &Redis, product: ProductId) -> Self {
        Entry {
            key: redis.key(&format!("{{product:{product}}}:detail")),
            generation_key: redis.key(&format!("{{product:{product}}}:generation")),
            ttl: DETAIL_TTL,
        }
    }

    pub fn category_tree(redis: &Redis) -> Self {
        Entry {
            key: redis.key("{categories}:tree"),
            generation_key: redis.key("{categories}:generation"),
            ttl: CATEGORY_TREE_TTL,
        }
    }
}

pub enum Lookup {
    Hit(Bytes),
    /// Not cached (or stale): load, then `fill` with this generation.
    Miss {
        generation: i64,
    },
    /// Redis did not answer: load and do not try to fill.
    Unavailable,
}

pub async fn lookup(redis: &Redis, entry: &Entry) -> Lookup {
    match try_lookup(redis, entry).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(error = %err, "catalog cache unavailable; reading PostgreSQL");
            metrics::counter!("catalog_cache_total", "outcome" => "unavailable").increment(1);
            Lookup::Unavailable
        }
    }
}

async fn try_lookup(redis: &Redis, entry: &Entry) -> redis::RedisResult<Lookup> {
    let mut conn = redis.connection().await?;
    let (value, generation): (Option<Vec<u8>>, Option<i64>) = redis::pipe()
        .get(&entry.key)
        .get(&entry.generation_key)
        .query_async(&mut conn)
        .await?;
    let generation = match generation {
        Some(g) => g,
        // A missing counter (first use, or evicted) restarts from the clock, above any
        // generation an old entry could carry.
        None => {
            let (generation, ()): (i64, ()) = redis::pipe()
                .incr(&entry.generation_key, chrono::Utc::now().timestamp_micros())
                .expire(&entry.generation_key, GENERATION_TTL_SECONDS)
                .query_async(&mut conn)
                .await?;
            generation
        }
    };
    if let Some(value) = value
        && value.len() >= 8
        && value[..8] == generation.to_be_bytes()
    {
        metrics::counter!("catalog_cache_total", "outcome" => "hit").increment(1);
        return Ok(Lookup::Hit(Bytes::from(value).slice(8..)));
    }
    metrics::counter!("catalog_cache_total", "outcome" => "miss").increment(1);
    Ok(Lookup::Miss { generation })
}

/// The current catalog generation, if Redis knows one (it is created by the first lookup).
pub async fn listing_generation(redis: &Redis) -> Option<i64> {
    let key = Entry::listing(redis, "").generation_key;
    let mut conn = redis.connection().await.ok()?;
    conn.get::<_, Option<i64>>(key).await.ok().flatten()
}

/// Stores a freshly loaded value under the generation its lookup saw.
pub async fn fill(redis: &Redis, entry: &Entry, generation: i64, json: &[u8]) {
    let mut value = Vec::with_capacity(8 + json.len());
    value.extend_from_slice(&generation.to_be_bytes());
    value.extend_from_slice(json);
    let result: redis::RedisResult<()> = async {
        let mut conn = redis.connection().await?;
        conn.set_ex(&entry.key, value, entry.ttl.as_secs()).await
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "could not fill the catalog cache");
    }
}

/// Invalidates a product's detail and every listing page (any page may show it).
pub async fn invalidate_product(redis: &Redis, product: ProductId) {
    let product_entry = Entry::product(redis, product);
    let listing = Entry::listing(redis, "");
    bump(
        redis,
        &[&product_entry.generation_key, &listing.generation_key],
    )
    .await;
}

pub async fn invalidate_category_tree(redis: &Redis) {
    bump(redis, &[&Entry::category_tree(redis).generation_key]).await;
}

async fn bump(redis: &Redis, generation_keys: &[&String]) {
    let result: redis::RedisResult<()> = async {
        let mut conn = redis.connection().await?;
        let mut pipe = redis::pipe();
        for key in generation_keys {
            pipe.incr(*key, 1)
                .ignore()
                .expire(*key, GENERATION_TTL_SECONDS)
                .ignore();
        }
        pipe.query_async(&mut conn).await
    }
    .await;
    if let Err(err) = result {
        // The write is committed; cached copies now live until their TTL. The outbox event of
        // the change lets a consumer retry the invalidation.
        tracing::error!(error = %err, "could not invalidate catalog caches");
        metrics::counter!("catalog_cache_invalidation_failures_total").increment(1);
    }
}
