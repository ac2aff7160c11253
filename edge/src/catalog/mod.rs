//! Product data at the edge (seed Part 9, cache-aside): a product is fetched from the core and
//! kept in the edge cache. A copy younger than [`FRESH_FOR`] is served as it is, so an edit in
//! the core shows at the edge within that; an older copy is fetched again, and only if the core
//! cannot answer is it served stale (up to the seed's 30 minutes), marked so that no stale
//! copy ever claims "in stock" on the buy box.

pub mod cache;
pub mod routes;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use shared_model::api::catalog::{ProductDetail, ProductList};
use shared_model::catalog::CategoryNode;
use shared_model::ids::ProductId;

use cache::{Cached, Policy};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;

/// How long a cached product is served without asking the core.
pub const FRESH_FOR: TimeDelta = TimeDelta::seconds(2);
/// How long a copy is kept for when the core cannot answer (the seed's product-details TTL).
pub const KEEP_FOR: Duration = Duration::from_secs(30 * 60);

const PRODUCT: Policy = Policy {
    fresh_for: FRESH_FOR,
    keep_for: KEEP_FOR,
};
/// Listings show prices, so they refresh as fast as products; kept as long as the seed's
/// catalog TTL for when the core is down.
const LISTING: Policy = Policy {
    fresh_for: FRESH_FOR,
    keep_for: Duration::from_secs(60 * 60),
};
/// The category tree changes rarely (the seed caches it for 6 hours).
const CATEGORIES: Policy = Policy {
    fresh_for: TimeDelta::minutes(5),
    keep_for: Duration::from_secs(6 * 60 * 60),
};

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

/// The product, `None` when the core says it does not exist (or is not for sale).
pub async fn product(
    host: &impl Host,
    config: &EdgeConfig,
    id: ProductId,
) -> Result<Option<CachedProduct>, EdgeError> {
    let found = cache::get::<ProductDetail>(
        host,
        config,
        &format!("product:{id}"),
        &format!("/api/products/{id}"),
        PRODUCT,
    )
    .await?;
    Ok(found.map(|c| CachedProduct {
        product: c.value,
        fetched_at: c.fetched_at,
        stale: c.stale,
    }))
}

/// A page of a listing; `query` is the core's listing query (`category=3&sort=price_asc`).
pub async fn listing(
    host: &impl Host,
    config: &EdgeConfig,
    query: &str,
) -> Result<Cached<ProductList>, EdgeError> {
    cache::get::<ProductList>(
        host,
        config,
        &format!("listing:{query}"),
        &format!("/api/products?{query}"),
        LISTING,
    )
    .await?
    .ok_or_else(|| EdgeError::NotFound("listing".into()))
}

pub async fn categories(
    host: &impl Host,
    config: &EdgeConfig,
) -> Result<Cached<Vec<CategoryNode>>, EdgeError> {
    cache::get::<Vec<CategoryNode>>(host, config, "categories", "/api/categories", CATEGORIES)
        .await?
        .ok_or_else(|| EdgeError::NotFound("categories".into()))
}
