//! Loading the listing index from PostgreSQL, sharing it between requests, and keeping it
//! fresh. Freshness is tied to the catalog cache generation: an index loaded after reading
//! generation G holds every write up to G (writes bump the generation after they commit), so
//! a listing computed from it may be cached under G.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_model::ids::{CategoryId, ProductId};
use sqlx::PgPool;

use super::cache;
use super::listing_index::{IndexedCategory, IndexedProduct, ListingIndex, is_fresh_for};
use crate::error::ApiError;
use crate::kv::Redis;

/// How often a server checks whether the catalog changed, so shoppers rarely wait for a reload.
const REFRESH_EVERY: Duration = Duration::from_millis(500);

/// The current index of one process, replaced whole on reload.
#[derive(Default)]
pub struct SharedListingIndex {
    current: RwLock<Option<Arc<ListingIndex>>>,
    /// One reload at a time; requests that need the same reload wait for it.
    reloading: tokio::sync::Mutex<()>,
}

impl SharedListingIndex {
    pub fn current(&self) -> Option<Arc<ListingIndex>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// An index that includes every write up to `generation`, loading one if needed.
    pub async fn fresh(&self, db: &PgPool, generation: i64) -> Result<Arc<ListingIndex>, ApiError> {
        if let Some(index) = self.current().filter(|i| is_fresh_for(i, generation)) {
            return Ok(index);
        }
        let _one_at_a_time = self.reloading.lock().await;
        if let Some(index) = self.current().filter(|i| is_fresh_for(i, generation)) {
            return Ok(index);
        }
        let index = Arc::new(load(db, generation).await?);
        metrics::counter!("catalog_listing_index_loads_total").increment(1);
        metrics::gauge!("catalog_listing_index_products").set(index.len() as f64);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(index.clone());
        Ok(index)
    }
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    product_id: i64,
    category_id: i64,
    brand: String,
    effective_price: Decimal,
    avg_rating: Decimal,
    review_count: i32,
    created_at: DateTime<Utc>,
}

async fn load(db: &PgPool, generation: i64) -> Result<ListingIndex, ApiError> {
    let started = std::time::Instant::now();
    let categories: Vec<(i64, String)> = sqlx::query_as("SELECT category_id, path FROM categories")
        .fetch_all(db)
        .await?;
    let products: Vec<ProductRow> = sqlx::query_as(
        "SELECT product_id, category_id, brand, effective_price, avg_rating, review_count, created_at
           FROM products WHERE status <> 'INACTIVE'",
    )
    .fetch_all(db)
    .await?;
    // Sorting the three orders of a large catalog is CPU work: keep it off the async threads.
    let index = tokio::task::spawn_blocking(move || {
        ListingIndex::build(
            generation,
            products
                .into_iter()
                .map(|p| IndexedProduct {
                    product_id: ProductId::new(p.product_id),
                    category_id: CategoryId::new(p.category_id),
                    brand: p.brand,
                    effective_price: p.effective_price,
                    avg_rating: p.avg_rating,
                    review_count: p.review_count,
                    created_at: p.created_at.timestamp_micros(),
                })
                .collect(),
            categories
                .into_iter()
                .map(|(id, path)| IndexedCategory {
                    category_id: CategoryId::new(id),
                    path,
                })
                .collect(),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("building the listing index: {e}")))?;
    tracing::debug!(
        products = index.len(),
        generation,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "listing index loaded"
    );
    Ok(index)
}

/// Keeps the index of a serving process fresh: after a catalog write anywhere, the next
/// listing request finds the new index already built.
pub fn spawn_refresher(index: Arc<SharedListingIndex>, db: PgPool, redis: Redis) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(generation) = cache::listing_generation(&redis).await else {
                continue;
            };
            if let Err(err) = index.fresh(&db, generation).await {
                tracing::warn!(error = %err, "could not refresh the listing index");
            }
        }
    });
}
