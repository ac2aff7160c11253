//! Product data at the edge (seed Part 9, cache-aside): a product is fetched from the core and
//! kept in the edge cache. A copy younger than [`FRESH_FOR`] is served as it is, so an edit in
//! the core shows at the edge within that; an older copy is fetched again, and only if the core
//! cannot answer is it served stale (up to the seed's 30 minutes), marked so that no stale
//! copy ever claims "in stock" on the buy box.

pub mod routes;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use shared_model::api::catalog::ProductDetail;
use shared_model::ids::ProductId;

use crate::config::EdgeConfig;
use crate::core_client;
use crate::error::EdgeError;
use crate::host::Host;

/// How long a cached product is served without asking the core.
pub const FRESH_FOR: TimeDelta = TimeDelta::seconds(2);
/// How long a copy is kept for when the core cannot answer (the seed's product-details TTL).
pub const KEEP_FOR: Duration = Duration::from_secs(30 * 60);

/// A product as the edge knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedProduct {
    pub product: ProductDetail,
    pub fetched_at: DateTime<Utc>,
    /// The core could not be asked; `product` may be out of date, its stock unknown.
    pub stale: bool,
}

impl CachedProduct {
    /// Whether the buy box may say "in stock": only from a fresh copy.
    pub fn shows_in_stock(&self) -> bool {
        !self.stale && self.product.in_stock
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    fetched_at: DateTime<Utc>,
    product: ProductDetail,
}

fn cache_key(id: ProductId) -> String {
    format!("product:{id}")
}

/// The product, `None` when the core says it does not exist (or is not for sale).
pub async fn product(
    host: &impl Host,
    config: &EdgeConfig,
    id: ProductId,
) -> Result<Option<CachedProduct>, EdgeError> {
    let now = host.now();
    let cached: Option<Entry> = host
        .cache_get(&cache_key(id))
        .await
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if let Some(entry) = &cached
        && now - entry.fetched_at < FRESH_FOR
    {
        return Ok(Some(CachedProduct {
            product: entry.product.clone(),
            fetched_at: entry.fetched_at,
            stale: false,
        }));
    }
    match fetch(host, config, id).await {
        Ok(Some(product)) => {
            let entry = Entry {
                fetched_at: now,
                product,
            };
            if let Ok(bytes) = serde_json::to_vec(&entry) {
                host.cache_put(&cache_key(id), bytes, KEEP_FOR).await;
            }
            Ok(Some(CachedProduct {
                product: entry.product,
                fetched_at: now,
                stale: false,
            }))
        }
        Ok(None) => Ok(None),
        Err(err) => match cached {
            Some(entry) => Ok(Some(CachedProduct {
                product: entry.product,
                fetched_at: entry.fetched_at,
                stale: true,
            })),
            None => Err(err),
        },
    }
}

async fn fetch(
    host: &impl Host,
    config: &EdgeConfig,
    id: ProductId,
) -> Result<Option<ProductDetail>, EdgeError> {
    let response = core_client::get(host, config, &format!("/api/products/{id}")).await?;
    match response.status {
        200 => serde_json::from_slice(&response.body)
            .map(Some)
            .map_err(|e| EdgeError::CoreAnswer(format!("product {id}: {e}"))),
        404 => Ok(None),
        other => Err(EdgeError::CoreAnswer(format!(
            "product {id}: status {other}"
        ))),
    }
}
